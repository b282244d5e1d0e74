//! Pipenv's Pipfile (TOML, hand-written ranges) and Pipfile.lock (JSON, exact pins).

use std::path::Path;

use crate::text::{read_text, LineIndex};
use crate::tomlfile::{str_field, TomlFile};
use crate::{normalize_name, Dependency, Inputs, ManifestError, Origin, Source, Spec};

/// Pipfile tables that are not package categories.
const NON_CATEGORY: &[&str] = &["source", "requires", "pipenv", "scripts"];

pub(crate) fn parse_pipfile(path: &Path) -> Result<Inputs, ManifestError> {
    let file = TomlFile::open(path)?;
    let mut out = Inputs::default();
    for (category, item) in file.root().iter() {
        if NON_CATEGORY.contains(&category) {
            continue;
        }
        let Some(table) = item.as_table_like() else {
            continue;
        };
        let group = (category != "packages").then(|| category.replace("dev-packages", "dev"));
        for (name, value) in table.iter() {
            let line = file.line(value.span());
            let spec = if let Some(s) = value.as_str() {
                pipenv_version(s).map_err(|e| file.error(line, e))?
            } else if let Some(t) = value.as_table_like() {
                if let Some(v) = str_field(t, "git") {
                    Spec::unauditable("VCS source", v)
                } else if let Some(v) = str_field(t, "path").or_else(|| str_field(t, "file")) {
                    Spec::unauditable("local path", v)
                } else {
                    match str_field(t, "version") {
                        Some(v) => pipenv_version(v).map_err(|e| file.error(line, e))?,
                        None => Spec::any(),
                    }
                }
            } else {
                return Err(file.error(line, format!("unsupported value for package `{name}`")));
            };
            out.dependencies.push(Dependency {
                name: normalize_name(name),
                spec,
                source: file.source_at(line),
                origin: Origin::Manifest,
                marker: value
                    .as_table_like()
                    .and_then(|t| str_field(t, "markers"))
                    .map(str::to_string),
                group: group.clone(),
            });
        }
    }
    Ok(out)
}

fn pipenv_version(s: &str) -> Result<Spec, String> {
    let s = s.trim();
    if s.is_empty() || s == "*" {
        return Ok(Spec::any());
    }
    s.parse()
        .map(Spec::from_specifiers)
        .map_err(|e| format!("invalid version specifier `{s}`: {e}"))
}

pub(crate) fn parse_lock(path: &Path) -> Result<Inputs, ManifestError> {
    let text = read_text(path)?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ManifestError::new(path, e.line(), format!("invalid JSON: {e}")))?;
    let Some(root) = json.as_object() else {
        return Err(ManifestError::new(path, 1, "expected a JSON object"));
    };
    let lines = LineIndex::new(&text);
    let mut out = Inputs::default();
    for (category, section) in root {
        if category.starts_with('_') {
            continue;
        }
        let Some(section) = section.as_object() else {
            continue;
        };
        let section_at = find_key(&text, category, 0).unwrap_or(0);
        let group = (category != "default").then(|| category.replace("develop", "dev"));
        for (name, entry) in section {
            let line = find_key(&text, name, section_at)
                .map(|o| lines.line(o))
                .unwrap_or(0);
            let field = |k: &str| entry.get(k).and_then(|v| v.as_str());
            let spec = if let Some(git) = field("git") {
                Spec::unauditable("VCS source", git)
            } else if let Some(p) = field("path").or_else(|| field("file")) {
                Spec::unauditable("local path", p)
            } else if let Some(v) = field("version") {
                pipenv_version(v).map_err(|e| ManifestError::new(path, line, e))?
            } else {
                return Err(ManifestError::new(
                    path,
                    line,
                    format!("entry `{name}` has no version, git, path or file"),
                ));
            };
            let spec = match spec {
                Spec::Range {
                    ref alternatives, ..
                } if alternatives.is_empty() => Spec::unauditable("no version recorded", ""),
                s => s,
            };
            out.dependencies.push(Dependency {
                name: normalize_name(name),
                spec,
                source: Source {
                    path: path.to_path_buf(),
                    line,
                },
                origin: Origin::Lockfile,
                marker: field("markers").map(str::to_string),
                group: group.clone(),
            });
        }
    }
    Ok(out)
}

/// Byte offset of `"key":` at or after `from` (JSON offers no positions, and Pipfile.lock
/// is machine-formatted so the first match after the section is the entry).
fn find_key(text: &str, key: &str, from: usize) -> Option<usize> {
    let needle = format!("\"{key}\"");
    let mut start = from;
    while let Some(i) = text.get(start..)?.find(&needle) {
        let at = start + i;
        let rest = text[at + needle.len()..].trim_start();
        if rest.starts_with(':') {
            return Some(at);
        }
        start = at + needle.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipfile_lock_lines_and_sources() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Pipfile.lock");
        std::fs::write(
            &p,
            r#"{
    "_meta": {"hash": {"sha256": "x"}, "pipfile-spec": 6, "requires": {}, "sources": []},
    "default": {
        "tornado": {
            "hashes": ["sha256:abc"],
            "index": "pypi",
            "markers": "python_version >= '3.8'",
            "version": "==6.1"
        },
        "mylib": {"editable": true, "path": "."}
    },
    "develop": {
        "pytest": {"version": "==7.0.0"}
    }
}"#,
        )
        .unwrap();
        let inputs = parse_lock(&p).unwrap();
        let d = &inputs.dependencies;
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name, "tornado");
        assert_eq!(d[0].source.line, 4);
        assert!(d[0].spec.is_pinned());
        assert!(matches!(d[1].spec, Spec::Unauditable { .. }));
        assert_eq!(d[2].group.as_deref(), Some("dev"));
        assert_eq!(d[2].source.line, 13);

        std::fs::write(&p, "{\n  \"default\": {\n    \"x\": \n").unwrap();
        let err = parse_lock(&p).unwrap_err();
        assert!(err.message.starts_with("invalid JSON"));
        assert!(err.line >= 3);
    }
}
