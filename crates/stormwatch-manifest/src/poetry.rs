//! Poetry's version constraint language (`^1.2`, `~1.2.3`, `1.2.*`, `>=1,<2 || ^3`) and the
//! `[tool.poetry]` dependency tables.

use pep440_rs::{Version, VersionSpecifiers};
use toml_edit::{Item, Table};

use crate::tomlfile::TomlFile;
use crate::{normalize_name, Dependency, Inputs, ManifestError, Origin, Spec};

/// Converts a Poetry constraint into PEP 440 specifier sets, one per `||` alternative.
/// An empty result means "any version".
pub fn parse_poetry_constraint(constraint: &str) -> Result<Vec<VersionSpecifiers>, String> {
    let mut alternatives = Vec::new();
    for alt in constraint.split("||") {
        let mut parts: Vec<String> = Vec::new();
        // Tokens are separated by commas or whitespace; an operator may stand apart from its version.
        let mut tokens: Vec<String> = Vec::new();
        for raw in alt.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            if let Some(last) = tokens.last_mut() {
                if last.chars().all(|c| "<>=!~^".contains(c)) {
                    last.push_str(raw);
                    continue;
                }
            }
            tokens.push(raw.to_string());
        }
        for token in tokens {
            if let Some(spec) = convert_token(&token)? {
                parts.push(spec);
            }
        }
        if parts.is_empty() {
            // An alternative that allows anything makes the whole union unconstrained.
            return Ok(Vec::new());
        }
        let joined = parts.join(", ");
        let specs = joined
            .parse::<VersionSpecifiers>()
            .map_err(|e| format!("invalid constraint `{constraint}`: {e}"))?;
        alternatives.push(specs);
    }
    Ok(alternatives)
}

fn convert_token(token: &str) -> Result<Option<String>, String> {
    let token = token.trim();
    if token.is_empty() || token == "*" {
        return Ok(None);
    }
    if let Some(v) = token.strip_prefix('^') {
        let version = parse_version(v)?;
        let release = version.release();
        let idx = release
            .iter()
            .position(|&p| p != 0)
            .unwrap_or(release.len().saturating_sub(1));
        let mut upper: Vec<u64> = release[..=idx].to_vec();
        upper[idx] += 1;
        return Ok(Some(format!(">={v}, <{}", join(&upper))));
    }
    if let Some(v) = token.strip_prefix('~').filter(|v| !v.starts_with('=')) {
        let version = parse_version(v)?;
        let release = version.release();
        let upper = if release.len() == 1 {
            vec![release[0] + 1]
        } else {
            vec![release[0], release[1] + 1]
        };
        return Ok(Some(format!(">={v}, <{}", join(&upper))));
    }
    if token.starts_with(['<', '>', '=', '!', '~']) {
        return Ok(Some(token.to_string()));
    }
    // A bare version is an exact pin; a bare wildcard is a prefix match.
    Ok(Some(format!("=={token}")))
}

fn parse_version(v: &str) -> Result<Version, String> {
    v.parse::<Version>()
        .map_err(|e| format!("invalid version `{v}`: {e}"))
}

fn join(parts: &[u64]) -> String {
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A Poetry constraint as a dependency spec.
pub(crate) fn poetry_spec(constraint: &str) -> Result<Spec, String> {
    let alternatives = parse_poetry_constraint(constraint)?;
    if alternatives.len() == 1 {
        let spec = Spec::from_specifiers(alternatives[0].clone());
        if let Spec::Range { alternatives, .. } = spec {
            return Ok(Spec::Range {
                alternatives,
                text: constraint.to_string(),
            });
        }
        return Ok(spec);
    }
    Ok(Spec::Range {
        alternatives,
        text: constraint.to_string(),
    })
}

/// Reads `[tool.poetry.dependencies]`, `dev-dependencies` and `group.*.dependencies`.
pub(crate) fn read_tool_poetry(
    file: &TomlFile,
    poetry: &Table,
    out: &mut Inputs,
) -> Result<(), ManifestError> {
    let mut sections: Vec<(Option<String>, &Table)> = Vec::new();
    if let Some(t) = poetry.get("dependencies").and_then(Item::as_table) {
        sections.push((None, t));
    }
    if let Some(t) = poetry.get("dev-dependencies").and_then(Item::as_table) {
        sections.push((Some("dev".into()), t));
    }
    if let Some(groups) = poetry.get("group").and_then(Item::as_table) {
        for (name, group) in groups.iter() {
            if let Some(t) = group
                .as_table()
                .and_then(|g| g.get("dependencies"))
                .and_then(Item::as_table)
            {
                sections.push((Some(name.to_string()), t));
            }
        }
    }
    for (group, table) in sections {
        for (name, item) in table.iter() {
            if name.eq_ignore_ascii_case("python") {
                continue;
            }
            let entries: Vec<&dyn toml_edit::TableLike> = match item {
                Item::Value(toml_edit::Value::Array(arr)) => arr
                    .iter()
                    .filter_map(|v| v.as_inline_table().map(|t| t as _))
                    .collect(),
                Item::ArrayOfTables(arr) => arr.iter().map(|t| t as _).collect(),
                _ => match item.as_table_like() {
                    Some(t) => vec![t],
                    None => Vec::new(),
                },
            };
            let line = file.line(item.span());
            let source = file.source_at(line);
            let specs: Vec<Spec> = if let Some(s) = item.as_str() {
                vec![poetry_spec(s).map_err(|e| file.error(line, e))?]
            } else if entries.is_empty() {
                return Err(file.error(line, format!("unsupported value for dependency `{name}`")));
            } else {
                entries
                    .iter()
                    .map(|t| table_spec(t).map_err(|e| file.error(line, e)))
                    .collect::<Result<_, _>>()?
            };
            for spec in specs {
                out.dependencies.push(Dependency {
                    name: normalize_name(name),
                    spec,
                    source: source.clone(),
                    origin: Origin::Manifest,
                    marker: None,
                    group: group.clone(),
                });
            }
        }
    }
    Ok(())
}

fn table_spec(t: &&dyn toml_edit::TableLike) -> Result<Spec, String> {
    for key in ["git", "path", "url", "file"] {
        if let Some(v) = t.get(key).and_then(|i| i.as_str()) {
            let reason = if key == "git" {
                "VCS source"
            } else if key == "url" {
                "direct URL"
            } else {
                "local path"
            };
            return Ok(Spec::unauditable(reason, v));
        }
    }
    match t.get("version").and_then(|i| i.as_str()) {
        Some(v) => poetry_spec(v),
        None => Ok(Spec::any()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(s: &str) -> Vec<String> {
        parse_poetry_constraint(s)
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect()
    }

    #[test]
    fn caret_tilde_wildcard_and_unions() {
        assert_eq!(conv("^1.2.3"), [">=1.2.3, <2"]);
        assert_eq!(conv("^0.2.3"), [">=0.2.3, <0.3"]);
        assert_eq!(conv("^0.0.3"), [">=0.0.3, <0.0.4"]);
        assert_eq!(conv("^0.0"), [">=0.0, <0.1"]);
        assert_eq!(conv("^6"), [">=6, <7"]);
        assert_eq!(conv("~1.2.3"), [">=1.2.3, <1.3"]);
        assert_eq!(conv("~1"), [">=1, <2"]);
        assert_eq!(conv("~=1.2"), ["~=1.2"]);
        assert_eq!(conv("1.2.*"), ["==1.2.*"]);
        assert_eq!(conv("6.1"), ["==6.1"]);
        assert_eq!(conv(">= 5.0, < 6"), [">=5.0, <6"]);
        assert_eq!(conv(">=5 <6"), [">=5, <6"]);
        assert_eq!(conv("^5.1 || ^6.2"), [">=5.1, <6", ">=6.2, <7"]);
        assert!(conv("*").is_empty());
        assert!(conv("^1 || *").is_empty());
        assert!(parse_poetry_constraint("^banana").is_err());
    }

    #[test]
    fn bare_version_is_pinned() {
        assert!(poetry_spec("6.1").unwrap().is_pinned());
        assert!(poetry_spec("==6.1").unwrap().is_pinned());
        assert!(!poetry_spec("^6.1").unwrap().is_pinned());
    }
}
