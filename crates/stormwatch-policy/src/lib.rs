//! The team's policy: what fails the run, how long a vulnerability may stay unpatched, who
//! owns what, and which findings are accepted (with a reason, maybe until a date). Read from
//! `stormwatch.toml` in the scanned root, else `[tool.stormwatch]` in its `pyproject.toml`,
//! or a file named with `--config`; applied to an [`Audit`](stormwatch_findings::Audit)
//! before the report is built. Also the baseline: the fingerprints of accepted findings.
//!
//! Every key is checked: an unknown key or a bad value is an error naming the file and line,
//! never silently ignored (a typo in an ignore must not widen it, nor one in `fail-on`
//! quietly turn the gate off).

use std::path::{Path, PathBuf};

use globset::GlobMatcher;
use pep440_rs::VersionSpecifiers;
use stormwatch_findings::{Severity, Threshold, UnknownSeverity};
use stormwatch_manifest::text::{read_text, LineIndex};
use time::Date;
use toml_edit::{Document, Item, TableLike};

mod apply;
pub mod baseline;
pub mod inline;
pub mod monitor;
pub mod rules;
pub mod starter;

pub use apply::{apply, Applied, Facts};
pub use inline::InlineIgnores;

/// A policy file that cannot be used: always the file, and the line when known.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}: {message}", place(path, *line))]
pub struct PolicyError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

fn place(path: &Path, line: usize) -> String {
    if line > 0 {
        format!("{}:{line}", path.display())
    } else {
        path.display().to_string()
    }
}

/// Days to patch, by severity, counted from the advisory's first publication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deadlines {
    pub critical: Option<i64>,
    pub high: Option<i64>,
    pub medium: Option<i64>,
    pub low: Option<i64>,
    /// An overdue finding fails the run even below `fail-on`.
    pub fail_on_overdue: bool,
}

impl Deadlines {
    pub fn days(&self, severity: Severity) -> Option<i64> {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown | Severity::Info => None,
        }
    }

    pub fn any(&self) -> bool {
        self.critical
            .or(self.high)
            .or(self.medium)
            .or(self.low)
            .is_some()
    }
}

/// What an `[owners]` key matches: a package name, or a path (a key with a `/`).
#[derive(Debug, Clone)]
pub enum OwnerScope {
    Package(GlobMatcher),
    Path(GlobMatcher),
}

#[derive(Debug, Clone)]
pub struct Owner {
    pub pattern: String,
    pub scope: OwnerScope,
    pub owner: String,
    pub line: usize,
}

/// One `[[ignore]]` entry.
#[derive(Debug, Clone)]
pub struct Ignore {
    /// An advisory id or any alias, or a rule id.
    pub id: String,
    /// Normalized package name.
    pub package: Option<String>,
    pub version: Option<VersionSpecifiers>,
    pub path: Option<(String, GlobMatcher)>,
    pub reason: String,
    pub expires: Option<Date>,
    pub until_fixed: bool,
    pub line: usize,
}

/// A parsed policy. Every field is optional: what the file does not set keeps the default
/// or the command line's value.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The file it came from (for messages), `None` for the empty policy.
    pub path: Option<PathBuf>,
    pub fail_on: Option<Threshold>,
    pub unknown_severity: Option<UnknownSeverity>,
    /// `production` or `development`: which deployment files the config audit treats as
    /// the target.
    pub environment: Option<String>,
    /// What inline suppression comments in the scanned code may do.
    pub inline_ignores: Option<InlineIgnores>,
    pub deadlines: Deadlines,
    pub owners: Vec<Owner>,
    pub ignores: Vec<Ignore>,
    pub advisories: monitor::Advisories,
    pub monitor: monitor::Monitor,
}

const TOP_KEYS: &[&str] = &[
    "fail-on",
    "unknown-severity",
    "environment",
    "inline-ignores",
    "deadlines",
    "owners",
    "ignore",
    "advisories",
    "monitor",
];
const DEADLINE_KEYS: &[&str] = &["critical", "high", "medium", "low", "fail-on-overdue"];
const IGNORE_KEYS: &[&str] = &[
    "id",
    "package",
    "version",
    "path",
    "reason",
    "expires",
    "until-fixed",
];

/// The policy of the project at `root`: `explicit` when given (`--config`), else
/// `stormwatch.toml` in `root`, else `[tool.stormwatch]` in `root/pyproject.toml`, else
/// none.
pub fn discover(root: &Path, explicit: Option<&Path>) -> Result<Option<Policy>, PolicyError> {
    if let Some(path) = explicit {
        let pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
        let policy = load(path, pyproject)?;
        if policy.is_none() {
            return Err(PolicyError {
                path: path.to_path_buf(),
                line: 0,
                message: "no [tool.stormwatch] table".into(),
            });
        }
        return Ok(policy);
    }
    let own = root.join("stormwatch.toml");
    if std::fs::symlink_metadata(&own).is_ok() {
        return load(&own, false);
    }
    let pyproject = root.join("pyproject.toml");
    if std::fs::symlink_metadata(&pyproject).is_ok_and(|m| m.is_file()) {
        // A pyproject.toml that does not parse is the dependency audit's to report; the
        // policy in it is then simply absent.
        let text = match read_text(&pyproject) {
            Ok(t) => t,
            Err(_) => return Ok(None),
        };
        if !text.contains("stormwatch") {
            return Ok(None);
        }
        return parse(&text, &pyproject, true);
    }
    Ok(None)
}

/// Reads the policy at `path`; `None` when a `pyproject.toml` has no `[tool.stormwatch]`.
pub fn load(path: &Path, pyproject: bool) -> Result<Option<Policy>, PolicyError> {
    // A symbolic link could point anywhere (`/etc/passwd`): the policy is read only from a
    // regular file.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(PolicyError {
            path: path.to_path_buf(),
            line: 0,
            message: "is a symbolic link; the policy is read only from a regular file".into(),
        });
    }
    let text = read_text(path).map_err(|e| PolicyError {
        path: path.to_path_buf(),
        line: e.line,
        message: e.message,
    })?;
    parse(&text, path, pyproject)
}

struct Reader<'a> {
    path: &'a Path,
    lines: LineIndex,
}

impl Reader<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> usize {
        span.map(|s| self.lines.line(s.start)).unwrap_or(0)
    }

    fn error(&self, line: usize, message: impl Into<String>) -> PolicyError {
        PolicyError {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    fn item_line(&self, table: &dyn TableLike, key: &str, item: &Item) -> usize {
        let line = self.line(item.span());
        if line > 0 {
            return line;
        }
        self.line(table.key(key).and_then(|k| k.span()))
    }

    fn check_keys(
        &self,
        table: &dyn TableLike,
        allowed: &[&str],
        what: &str,
    ) -> Result<(), PolicyError> {
        for (key, item) in table.iter() {
            if !allowed.contains(&key) {
                let hint = allowed
                    .iter()
                    .find(|a| a.replace('-', "_") == key || a.replace('-', "") == key);
                let hint = match hint {
                    Some(h) => format!(" (did you mean `{h}`?)"),
                    None => format!(" (expected {})", allowed.join(", ")),
                };
                return Err(self.error(
                    self.item_line(table, key, item),
                    format!("unknown key `{key}` in {what}{hint}"),
                ));
            }
        }
        Ok(())
    }

    fn string<'i>(
        &self,
        table: &dyn TableLike,
        key: &str,
        item: &'i Item,
    ) -> Result<&'i str, PolicyError> {
        item.as_str().ok_or_else(|| {
            self.error(
                self.item_line(table, key, item),
                format!("`{key}` must be a string"),
            )
        })
    }
}

/// Parses policy text. `pyproject`: the policy is the `[tool.stormwatch]` table (`None`
/// when there is none); otherwise the whole document.
pub fn parse(text: &str, path: &Path, pyproject: bool) -> Result<Option<Policy>, PolicyError> {
    let r = Reader {
        path,
        lines: LineIndex::new(text),
    };
    let owned = text.to_string();
    // toml_edit can panic in its error recovery on some invalid documents (found by
    // fuzzing the manifest readers): such a panic is an invalid file.
    let doc: Document<String> = std::panic::catch_unwind(move || Document::parse(owned))
        .map_err(|_| r.error(0, "invalid TOML: the document does not parse"))?
        .map_err(|e| {
            let line = r.line(e.span());
            r.error(line, format!("invalid TOML: {}", e.message().trim()))
        })?;
    let table: &dyn TableLike = if pyproject {
        match doc
            .as_table()
            .get("tool")
            .and_then(|t| t.as_table_like())
            .and_then(|t| t.get("stormwatch"))
        {
            Some(item) => item
                .as_table_like()
                .ok_or_else(|| r.error(r.line(item.span()), "`tool.stormwatch` must be a table"))?,
            None => return Ok(None),
        }
    } else {
        doc.as_table()
    };
    let what = if pyproject {
        "[tool.stormwatch]"
    } else {
        "the policy"
    };
    r.check_keys(table, TOP_KEYS, what)?;
    let mut policy = Policy {
        path: Some(path.to_path_buf()),
        ..Policy::default()
    };
    for (key, item) in table.iter() {
        let line = r.item_line(table, key, item);
        match key {
            "fail-on" => {
                let s = r.string(table, key, item)?;
                policy.fail_on = Some(
                    s.parse()
                        .map_err(|e: String| r.error(line, format!("fail-on: {e}")))?,
                );
            }
            "unknown-severity" => {
                let s = r.string(table, key, item)?;
                policy.unknown_severity = Some(
                    s.parse()
                        .map_err(|e: String| r.error(line, format!("unknown-severity: {e}")))?,
                );
            }
            "environment" => {
                let s = r.string(table, key, item)?;
                if !matches!(s, "production" | "development") {
                    return Err(r.error(
                        line,
                        format!(
                            "environment: unknown value `{s}` (expected production or development)"
                        ),
                    ));
                }
                policy.environment = Some(s.to_string());
            }
            "inline-ignores" => {
                let s = r.string(table, key, item)?;
                policy.inline_ignores = Some(
                    s.parse()
                        .map_err(|e: String| r.error(line, format!("inline-ignores: {e}")))?,
                );
            }
            "deadlines" => policy.deadlines = deadlines(&r, item, line)?,
            "owners" => policy.owners = owners(&r, item, line)?,
            "ignore" => policy.ignores = ignores(&r, item, line)?,
            "advisories" => policy.advisories = monitor::advisories(&r, item, line)?,
            "monitor" => policy.monitor = monitor::monitor(&r, item, line)?,
            _ => unreachable!("keys checked above"),
        }
    }
    Ok(Some(policy))
}

fn deadlines(r: &Reader, item: &Item, line: usize) -> Result<Deadlines, PolicyError> {
    let table = item
        .as_table_like()
        .ok_or_else(|| r.error(line, "`deadlines` must be a table"))?;
    r.check_keys(table, DEADLINE_KEYS, "[deadlines]")?;
    let mut out = Deadlines::default();
    for (key, item) in table.iter() {
        let line = r.item_line(table, key, item);
        if key == "fail-on-overdue" {
            out.fail_on_overdue = item
                .as_bool()
                .ok_or_else(|| r.error(line, "`fail-on-overdue` must be true or false"))?;
            continue;
        }
        let days = item
            .as_integer()
            .filter(|d| (0..=3650).contains(d))
            .ok_or_else(|| {
                r.error(
                    line,
                    format!("deadlines.{key} must be a number of days from 0 to 3650"),
                )
            })?;
        match key {
            "critical" => out.critical = Some(days),
            "high" => out.high = Some(days),
            "medium" => out.medium = Some(days),
            "low" => out.low = Some(days),
            _ => unreachable!("keys checked above"),
        }
    }
    Ok(out)
}

/// Longest pattern and deepest `{...}` nesting a policy may use: the pattern compiler
/// recurses per nested group, and a hostile pattern must be an error, not a stack overflow.
const MAX_PATTERN_BYTES: usize = 1024;
const MAX_PATTERN_NESTING: usize = 16;

fn glob(r: &Reader, line: usize, pattern: &str) -> Result<GlobMatcher, PolicyError> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(r.error(
            line,
            format!(
                "pattern too long ({} bytes, at most {MAX_PATTERN_BYTES})",
                pattern.len()
            ),
        ));
    }
    let mut depth = 0usize;
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => {
                depth += 1;
                if depth > MAX_PATTERN_NESTING {
                    return Err(r.error(
                        line,
                        format!("pattern too deeply nested (more than {MAX_PATTERN_NESTING} levels of `{{`)"),
                    ));
                }
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| r.error(line, format!("invalid pattern `{pattern}`: {}", e.kind())))?;
    Ok(glob.compile_matcher())
}

fn owners(r: &Reader, item: &Item, line: usize) -> Result<Vec<Owner>, PolicyError> {
    let table = item
        .as_table_like()
        .ok_or_else(|| r.error(line, "`owners` must be a table of pattern = \"team\""))?;
    let mut out = Vec::new();
    for (key, item) in table.iter() {
        let line = r.item_line(table, key, item);
        let owner = r.string(table, key, item)?.trim();
        if owner.is_empty() {
            return Err(r.error(line, format!("owners.\"{key}\" is empty")));
        }
        let scope = if key.contains('/') {
            OwnerScope::Path(glob(r, line, key)?)
        } else {
            OwnerScope::Package(glob(
                r,
                line,
                &key.to_ascii_lowercase().replace(['_', '.'], "-"),
            )?)
        };
        out.push(Owner {
            pattern: key.to_string(),
            scope,
            owner: owner.to_string(),
            line,
        });
    }
    Ok(out)
}

/// A `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), format).ok()
}

pub fn format_date(d: Date) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    d.format(format).unwrap_or_default()
}

fn ignores(r: &Reader, item: &Item, line: usize) -> Result<Vec<Ignore>, PolicyError> {
    // `[[ignore]]` tables, or `ignore = [{...}, ...]`.
    let entries: Vec<(&dyn TableLike, usize)> = match item {
        Item::ArrayOfTables(a) => a
            .iter()
            .map(|t| (t as &dyn TableLike, r.line(t.span())))
            .collect(),
        Item::Value(toml_edit::Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_inline_table()
                    .map(|t| (t as &dyn TableLike, r.line(v.span())))
                    .ok_or_else(|| r.error(r.line(v.span()), "each ignore must be a table"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(r.error(line, "`ignore` must be [[ignore]] tables")),
    };
    let mut out = Vec::new();
    for (table, line) in entries {
        r.check_keys(table, IGNORE_KEYS, "[[ignore]]")?;
        let get = |key: &str| -> Result<Option<(String, usize)>, PolicyError> {
            match table.get(key) {
                Some(item) => Ok(Some((
                    r.string(table, key, item)?.trim().to_string(),
                    r.item_line(table, key, item).max(line),
                ))),
                None => Ok(None),
            }
        };
        let (id, id_line) = get("id")?.filter(|(s, _)| !s.is_empty()).ok_or_else(|| {
            r.error(
                line,
                "an ignore needs an `id` (advisory id, alias or rule id)",
            )
        })?;
        let line = id_line;
        let reason = get("reason")?
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| r.error(line, format!("the ignore of {id} needs a `reason`")))?;
        let package = get("package")?.map(|(s, _)| stormwatch_manifest::normalize_name(&s));
        let version = match get("version")? {
            Some((s, l)) => Some(s.parse::<VersionSpecifiers>().map_err(|e| {
                r.error(
                    l,
                    format!("version: `{s}` is not a PEP 440 specifier ({e})"),
                )
            })?),
            None => None,
        };
        let path = match get("path")? {
            Some((s, l)) => Some((s.clone(), glob(r, l, &s)?)),
            None => None,
        };
        let expires =
            match get("expires")? {
                Some((s, l)) => Some(parse_date(&s).ok_or_else(|| {
                    r.error(l, format!("expires: `{s}` is not a date (YYYY-MM-DD)"))
                })?),
                None => None,
            };
        let until_fixed = match table.get("until-fixed") {
            Some(item) => item.as_bool().ok_or_else(|| {
                r.error(
                    r.item_line(table, "until-fixed", item),
                    "`until-fixed` must be true or false",
                )
            })?,
            None => false,
        };
        out.push(Ignore {
            id,
            package,
            version,
            path,
            reason,
            expires,
            until_fixed,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
