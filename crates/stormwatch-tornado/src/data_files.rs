//! Configuration data files an application reads at run time (`json.load(open("config.json"))`,
//! `yaml.safe_load(...)`), read as values with the line of every key, so that a `debug: true`
//! there is followed into `Application` like a literal in the code.
//!
//! The files come from the scanned repository, which is untrusted: only regular files inside
//! the scanned root are read, at most [`MAX_BYTES`], through the bounded YAML reader (JSON is
//! read by it too: every JSON document is YAML).

use std::path::{Path, PathBuf};

use stormwatch_yaml::{Node, Value};

use crate::value::{Step, Tracked, Val};

/// Larger files are not configuration.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// How the code reads a data file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// `json.load`, `yaml.safe_load`: see [`load`].
    Structured,
    /// `configparser`: see [`load_ini`].
    Ini,
}

impl DataFormat {
    pub fn load(self, path: &Path) -> Option<Tracked> {
        match self {
            DataFormat::Structured => load(path),
            DataFormat::Ini => load_ini(path),
        }
    }
}

/// The file a path written in the code names: absolute, or relative to the reading file's
/// directory or to the scanned root (where the process is usually started). Only regular
/// files inside `root`.
pub fn resolve(root: &Path, from_dir: &Path, path: &str) -> Option<PathBuf> {
    let canonical_root = root.canonicalize().ok()?;
    let candidates = if Path::new(path).is_absolute() {
        vec![PathBuf::from(path)]
    } else {
        vec![from_dir.join(path), root.join(path)]
    };
    candidates
        .into_iter()
        .find(|c| regular_inside(c, &canonical_root, MAX_BYTES))
}

/// Whether `path` is a regular file (not a symbolic link) of at most `max` bytes whose real
/// location is inside `canonical_root`: the only repository files the audit reads as data.
pub fn regular_inside(path: &Path, canonical_root: &Path, max: u64) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() <= max)
        && path
            .canonicalize()
            .is_ok_and(|p| p.starts_with(canonical_root))
}

/// The first document of a JSON or YAML file as a value; `None` when it does not parse.
pub fn load(path: &Path) -> Option<Tracked> {
    let text = std::fs::read_to_string(path).ok()?;
    let docs = stormwatch_yaml::parse(&text);
    let doc = docs.documents.into_iter().next()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(to_tracked(path, &name, &doc, ""))
}

/// An INI file as `configparser` reads it: sections of `key = value` (or `key: value`)
/// entries, keys lower-cased, `#`/`;` comment lines skipped; every value a string.
pub fn load_ini(path: &Path) -> Option<Tracked> {
    let text = std::fs::read_to_string(path).ok()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let step = |line: usize, note: String| Step {
        file: path.to_path_buf(),
        line,
        column: 1,
        note,
    };
    let mut sections: Vec<(String, Tracked)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim().to_string();
            let at = step(i + 1, format!("[{section}] in {name}"));
            sections.push((section, Tracked::new(Val::Dict(Vec::new()), at)));
            continue;
        }
        let Some(split) = line.find(['=', ':']) else {
            continue;
        };
        let (key, value) = (
            line[..split].trim().to_lowercase(),
            line[split + 1..].trim(),
        );
        let Some((
            section,
            Tracked {
                val: Val::Dict(items),
                ..
            },
        )) = sections.last_mut()
        else {
            continue;
        };
        let at = step(i + 1, format!("`{key}` in [{section}] of {name}"));
        items.retain(|(k, _)| *k != key);
        items.push((key, Tracked::new(Val::Str(value.to_string()), at)));
    }
    Some(Tracked::new(
        Val::Dict(sections),
        step(1, format!("read from {name}")),
    ))
}

/// PyYAML's reading of a plain scalar (YAML 1.1: `yes`/`on` are true), which is also right for
/// JSON, where only `true`/`false`/`null` and numbers are plain.
fn plain(text: &str) -> Val {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Val::None,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Val::Bool(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            Val::Bool(false)
        }
        _ => text
            .parse::<i64>()
            .map_or_else(|_| Val::Str(text.to_string()), Val::Int),
    }
}

fn to_tracked(path: &Path, file_name: &str, node: &Node, key: &str) -> Tracked {
    let val = match &node.value {
        Value::Scalar { text, plain: true } => plain(text),
        Value::Scalar { text, plain: false } => Val::Str(text.clone()),
        Value::Seq(items) => Val::List(
            items
                .iter()
                .map(|i| to_tracked(path, file_name, i, key))
                .collect(),
        ),
        Value::Map(_) => Val::Dict(
            node.entries()
                .into_iter()
                .filter_map(|(k, v)| {
                    let k = k.as_str()?.to_string();
                    let inner = to_tracked(path, file_name, v, &k);
                    Some((k, inner))
                })
                .collect(),
        ),
    };
    let note = if key.is_empty() {
        format!("read from {file_name}")
    } else {
        format!("`{key}` in {file_name}")
    };
    Tracked::new(
        val,
        Step {
            file: path.to_path_buf(),
            line: node.line,
            column: node.column,
            note,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_yaml_values_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("config.json");
        std::fs::write(
            &json,
            "{\n  \"port\": 8888,\n  \"debug\": true,\n  \"name\": \"x\"\n}\n",
        )
        .unwrap();
        let v = load(&json).unwrap();
        let Val::Dict(items) = v.val else { panic!() };
        let debug = &items.iter().find(|(k, _)| k == "debug").unwrap().1;
        assert_eq!(debug.val, Val::Bool(true));
        assert_eq!(debug.chain[0].line, 3);
        let yaml = dir.path().join("app.yml");
        std::fs::write(&yaml, "server:\n  debug: yes\n  secret: 'on'\n").unwrap();
        let Val::Dict(items) = load(&yaml).unwrap().val else {
            panic!()
        };
        let Val::Dict(server) = &items[0].1.val else {
            panic!()
        };
        assert_eq!(server[0].1.val, Val::Bool(true));
        assert_eq!(server[1].1.val, Val::Str("on".into()));
    }

    #[test]
    fn ini_sections_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let ini = dir.path().join("app.ini");
        std::fs::write(
            &ini,
            "; comment\n[server]\nPort = 80\ndebug: yes\n\n[db]\nurl=x\n",
        )
        .unwrap();
        let Val::Dict(sections) = load_ini(&ini).unwrap().val else {
            panic!()
        };
        let Val::Dict(server) = &sections[0].1.val else {
            panic!()
        };
        assert_eq!(server[0].0, "port");
        assert_eq!(server[1].1.val, Val::Str("yes".into()));
        assert_eq!(server[1].1.chain[0].line, 4);
        assert_eq!(sections[1].0, "db");
    }

    #[test]
    fn only_regular_files_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(dir.path().join("outside.json"), "{}").unwrap();
        std::fs::write(root.join("inside.json"), "{}").unwrap();
        assert!(resolve(&root, &root, "inside.json").is_some());
        assert!(resolve(&root, &root, "../outside.json").is_none());
        let outside = dir.path().join("outside.json");
        assert!(resolve(&root, &root, outside.to_str().unwrap()).is_none());
        assert!(resolve(&root, &root, "missing.json").is_none());
    }
}
