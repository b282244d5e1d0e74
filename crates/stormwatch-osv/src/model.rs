//! The OSV schema (<https://ossf.github.io/osv-schema/>), as much of it as auditing needs.
//! Deserialization is lenient about scalar types because YAML writers differ in quoting.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(default, deserialize_with = "lenient_opt")]
    pub modified: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt")]
    pub published: Option<String>,
    #[serde(
        default,
        deserialize_with = "withdrawn_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub withdrawn: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    #[serde(
        default,
        deserialize_with = "lenient_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, deserialize_with = "null_vec")]
    pub affected: Vec<Affected>,
    #[serde(
        default,
        deserialize_with = "null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "lenient")]
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default)]
    pub package: Option<Package>,
    #[serde(
        default,
        deserialize_with = "null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    #[serde(
        default,
        deserialize_with = "version_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<SeverityEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_vec")]
    pub events: Vec<Event>,
}

/// One OSV range event; exactly one field is set in valid data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Event {
    #[serde(
        default,
        deserialize_with = "version_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub introduced: Option<String>,
    #[serde(
        default,
        deserialize_with = "version_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed: Option<String>,
    #[serde(
        default,
        deserialize_with = "version_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_affected: Option<String>,
    #[serde(
        default,
        deserialize_with = "version_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
}

impl Advisory {
    /// Withdrawn when `withdrawn` holds a date (OSV: an RFC 3339 timestamp). Any other value
    /// is reported by [`Advisory::problems`] and the record stays in force: a typo must not
    /// silently stop an advisory from matching.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.as_deref().is_some_and(is_date)
    }

    /// What in this record cannot be read as written, each naming its field: a `withdrawn`
    /// that is not a date, a range event version that is not PEP 440 (that range is read at
    /// its widest). Loaders report these with the file; matching never drops them.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(w) = self.withdrawn.as_deref() {
            if !is_date(w) {
                out.push(format!(
                    "withdrawn: {w:?} is not a date; the advisory is treated as in force"
                ));
            }
        }
        for (i, affected) in self.affected.iter().enumerate() {
            let pypi = affected
                .package
                .as_ref()
                .is_some_and(|p| p.ecosystem.eq_ignore_ascii_case("pypi"));
            if !pypi {
                continue;
            }
            for (j, range) in affected.ranges.iter().enumerate() {
                if !(range.kind.eq_ignore_ascii_case("ECOSYSTEM")
                    || range.kind.eq_ignore_ascii_case("SEMVER"))
                {
                    continue;
                }
                for (k, e) in range.events.iter().enumerate() {
                    let fields = [
                        ("introduced", &e.introduced),
                        ("fixed", &e.fixed),
                        ("last_affected", &e.last_affected),
                        ("limit", &e.limit),
                    ];
                    for (field, value) in fields {
                        let Some(v) = value.as_deref() else { continue };
                        let special = (field == "introduced" && v.trim() == "0")
                            || (field == "limit" && v.trim() == "*");
                        if !special && crate::ranges::event_version(v).is_none() {
                            let reading = match field {
                                "introduced" => {
                                    "the range is read as affecting every version from the first"
                                }
                                "limit" => "the limit is ignored",
                                _ => "the range is read as having no known fix",
                            };
                            out.push(format!(
                                "affected[{i}].ranges[{j}].events[{k}].{field}: {v:?} is not a \
                                 PEP 440 version; {reading}"
                            ));
                        }
                    }
                }
            }
        }
        out
    }

    /// The id and every alias, the names this vulnerability is known by.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// A one-line description: the summary, else the first sentence of the details.
    pub fn headline(&self) -> String {
        if let Some(s) = self.summary.as_deref().filter(|s| !s.trim().is_empty()) {
            return s.trim().to_string();
        }
        let details = self.details.as_deref().unwrap_or("").trim();
        let first = details
            .split_terminator(['\n'])
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("");
        let sentence = match first.find(". ") {
            Some(i) => &first[..=i],
            None => first,
        };
        let mut out: String = sentence.chars().take(160).collect();
        if sentence.chars().count() > 160 {
            out.push('…');
        }
        out
    }
}

/// Accepts a string, number or boolean where a string is expected (YAML may leave versions
/// like `1.0` unquoted).
fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(scalar_to_string(serde_json::Value::deserialize(d)?))
}

fn lenient_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.filter(|v| !v.is_null()).map(scalar_to_string))
}

fn lenient_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<Vec<serde_json::Value>>::deserialize(d)?;
    Ok(v.unwrap_or_default()
        .into_iter()
        .filter(|v| !v.is_null())
        .map(scalar_to_string)
        .collect())
}

/// `withdrawn: false` (or null, or empty) is "not withdrawn", not a withdrawal.
fn withdrawn_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(other) => Some(scalar_to_string(other)),
    })
}

/// A version: a string, or an integer (YAML's `introduced: 0`). A fractional number has lost
/// its text (`6.10` became 6.1), so it is refused rather than read as another version.
fn version_value<E: serde::de::Error>(v: serde_json::Value) -> Result<Option<String>, E> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        other => Err(E::custom(format!(
            "expected a version string, found {other}; a version written as a number loses its \
             text (6.10 reads as 6.1): quote it"
        ))),
    }
}

fn version_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        Some(v) => version_value(v),
        None => Ok(None),
    }
}

fn version_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Option::<Vec<serde_json::Value>>::deserialize(d)?;
    let mut out = Vec::new();
    for item in v.unwrap_or_default() {
        if let Some(s) = version_value(item)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// `YYYY-MM-DD` at the start: an RFC 3339 timestamp or a bare date.
fn is_date(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn null_vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn scalar_to_string(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
