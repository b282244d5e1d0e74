//! pyproject.toml: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
//! `[dependency-groups]`, Poetry's `[tool.poetry]` tables, and the dev-dependency lists of
//! uv and PDM.

use std::path::Path;

use toml_edit::{Item, Value};

use crate::poetry::read_tool_poetry;
use crate::requirements::parse_pep508;
use crate::tomlfile::{get_path, TomlFile};
use crate::{Inputs, ManifestError, Origin};

pub(crate) fn parse(path: &Path) -> Result<Inputs, ManifestError> {
    let file = TomlFile::open(path)?;
    let root = file.root();
    let mut out = Inputs::default();

    if let Some(item) = get_path(root, &["project", "dependencies"]) {
        read_pep508_array(&file, item, None, &mut out)?;
    }
    if let Some(extras) =
        get_path(root, &["project", "optional-dependencies"]).and_then(Item::as_table_like)
    {
        for (extra, item) in extras.iter() {
            read_pep508_array(&file, item, Some(extra.to_string()), &mut out)?;
        }
    }
    if let Some(groups) = root.get("dependency-groups").and_then(Item::as_table_like) {
        for (group, item) in groups.iter() {
            read_pep508_array(&file, item, Some(group.to_string()), &mut out)?;
        }
    }
    for (path, group) in [
        (&["tool", "uv", "dev-dependencies"][..], "dev"),
        (&["tool", "pdm", "dev-dependencies"][..], ""),
    ] {
        match get_path(root, path) {
            Some(item) if item.is_array() => {
                read_pep508_array(&file, item, Some(group.to_string()), &mut out)?
            }
            // PDM keys its dev dependencies by group name.
            Some(item) => {
                if let Some(t) = item.as_table_like() {
                    for (g, item) in t.iter() {
                        read_pep508_array(&file, item, Some(g.to_string()), &mut out)?;
                    }
                }
            }
            None => {}
        }
    }
    if let Some(poetry) = get_path(root, &["tool", "poetry"]).and_then(Item::as_table) {
        read_tool_poetry(&file, poetry, &mut out)?;
    }
    Ok(out)
}

/// An array of PEP 508 strings; PEP 735 `{include-group = ...}` tables are skipped because
/// every group is read anyway.
fn read_pep508_array(
    file: &TomlFile,
    item: &Item,
    group: Option<String>,
    out: &mut Inputs,
) -> Result<(), ManifestError> {
    let Some(array) = item.as_array() else {
        return Err(file.error(
            file.line(item.span()),
            "expected an array of requirement strings",
        ));
    };
    for value in array.iter() {
        match value {
            Value::String(s) => {
                let source = file.source_of_value(value);
                let dep = parse_pep508(
                    s.value(),
                    source,
                    Origin::Manifest,
                    group.clone(),
                    &mut out.unread,
                )?;
                out.dependencies.push(dep);
            }
            Value::InlineTable(t) if t.contains_key("include-group") => {}
            other => {
                return Err(file.error(file.line(other.span()), "expected a requirement string"))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Spec;

    fn parse_str(text: &str) -> Result<Inputs, ManifestError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pyproject.toml");
        std::fs::write(&p, text).unwrap();
        parse(&p)
    }

    #[test]
    fn pep621_pep735_and_poetry() {
        let inputs = parse_str(
            r#"
[project]
name = "app"
dependencies = [
    "tornado==6.1",
    "requests>=2.0",
]

[project.optional-dependencies]
docs = ["sphinx==4.0.0"]

[dependency-groups]
test = ["pytest==7.0.0", {include-group = "lint"}]
lint = ["ruff"]

[tool.poetry.dependencies]
python = "^3.9"
Jinja2 = "2.11.2"
urllib3 = { version = "^1.26", extras = ["socks"] }
mylib = { path = "../mylib", develop = true }

[tool.poetry.group.dev.dependencies]
black = "22.3.0"
"#,
        )
        .unwrap();
        let d = &inputs.dependencies;
        let get = |n: &str| d.iter().find(|x| x.name == n).unwrap();
        assert_eq!(get("tornado").source.line, 5);
        assert!(get("tornado").spec.is_pinned());
        assert_eq!(get("sphinx").group.as_deref(), Some("docs"));
        assert_eq!(get("pytest").group.as_deref(), Some("test"));
        assert_eq!(get("ruff").group.as_deref(), Some("lint"));
        assert!(get("jinja2").spec.is_pinned());
        assert_eq!(get("jinja2").source.line, 18);
        assert!(matches!(&get("urllib3").spec, Spec::Range { text, .. } if text == "^1.26"));
        assert!(matches!(get("mylib").spec, Spec::Unauditable { .. }));
        assert_eq!(get("black").group.as_deref(), Some("dev"));
        assert!(d.iter().all(|x| x.name != "python"));
        assert_eq!(d.len(), 9);
    }

    #[test]
    fn bad_toml_and_bad_requirement_have_lines() {
        let err =
            parse_str("[project]\ndependencies = [\n  \"tornado==6.1\",\n  \"torn ado\",\n]\n")
                .unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        let err = parse_str("[project]\nname = \"x\"\ndependencies = [\n").unwrap_err();
        assert!(err.message.starts_with("invalid TOML"), "{err}");
        assert!(err.line >= 3, "{err}");
    }
}
