//! Lockfiles written by resolvers: poetry.lock, uv.lock, pdm.lock and PEP 751 pylock.toml.
//! Every entry is an exact version, so these are the most precise inputs to an audit.

use std::path::Path;

use toml_edit::{ArrayOfTables, Item, Table, TableLike};

use crate::tomlfile::{str_field, TomlFile};
use crate::{normalize_name, Dependency, Inputs, ManifestError, Note, Origin, Spec};

/// The `[[key]]` entries of a document (or of one piece of a lockfile), if it has any.
fn entries<'a>(file: &'a TomlFile, key: &str) -> Result<Option<&'a ArrayOfTables>, ManifestError> {
    match file.root().get(key) {
        Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
        Some(other) => Err(file.error(
            file.line(other.span()),
            format!("`{key}` must be an array of tables ([[{key}]])"),
        )),
        None => Ok(None),
    }
}

fn no_entries(path: &Path, key: &str) -> ManifestError {
    ManifestError::new(
        path,
        0,
        format!("no [[{key}]] entries; is this really a lockfile?"),
    )
}

fn packages<'a>(file: &'a TomlFile, key: &str) -> Result<&'a ArrayOfTables, ManifestError> {
    entries(file, key)?.ok_or_else(|| no_entries(&file.path, key))
}

/// Every `[[key]]` entry of a lockfile, read by `entry` (`None` skips an entry).
fn read_entries(
    path: &Path,
    key: &str,
    entry: impl Fn(&TomlFile, &Table) -> Result<Option<Dependency>, ManifestError> + Sync,
) -> Result<Inputs, ManifestError> {
    // Per piece: how many entries it has, and the dependencies they give.
    let parts = TomlFile::map_parts(path, key, |file| {
        let Some(list) = entries(file, key)? else {
            return Ok((0, Vec::new()));
        };
        let mut deps = Vec::new();
        for pkg in list.iter() {
            deps.extend(entry(file, pkg)?);
        }
        Ok((list.len(), deps))
    })?;
    if parts.iter().all(|(count, _)| *count == 0) {
        return Err(no_entries(path, key));
    }
    let mut out = Inputs::default();
    for (_, deps) in parts {
        out.dependencies.extend(deps);
    }
    Ok(out)
}

fn entry_name(file: &TomlFile, pkg: &Table) -> Result<String, ManifestError> {
    str_field(pkg, "name")
        .map(normalize_name)
        .ok_or_else(|| file.error(file.line(pkg.span()), "package entry without a `name`"))
}

fn locked(
    file: &TomlFile,
    pkg: &Table,
    name: String,
    spec: Spec,
    marker: Option<String>,
    group: Option<String>,
) -> Dependency {
    Dependency {
        name,
        spec,
        source: file.source_at(file.table_line(pkg, "name")),
        origin: Origin::Lockfile,
        marker,
        group,
    }
}

fn version_spec(file: &TomlFile, pkg: &Table, name: &str) -> Result<Spec, ManifestError> {
    match str_field(pkg, "version") {
        Some(v) => Ok(Spec::pinned(v)),
        None => Err(file.error(
            file.table_line(pkg, "name"),
            format!("package `{name}` has no `version`"),
        )),
    }
}

/// poetry.lock (lock-version 1.x and 2.x).
pub(crate) fn parse_poetry_lock(path: &Path) -> Result<Inputs, ManifestError> {
    read_entries(path, "package", |file, pkg| {
        let name = entry_name(file, pkg)?;
        let source_type = pkg
            .get("source")
            .and_then(Item::as_table_like)
            .and_then(|s| s.get("type"))
            .and_then(Item::as_str);
        let spec = match source_type {
            Some(t @ ("git" | "directory" | "file" | "url")) => {
                let reference = pkg
                    .get("source")
                    .and_then(Item::as_table_like)
                    .and_then(|s| str_field(s, "url"))
                    .unwrap_or_default();
                let reason = match t {
                    "git" => "VCS source",
                    "url" => "direct URL",
                    _ => "local path",
                };
                Spec::unauditable(reason, reference)
            }
            _ => version_spec(file, pkg, &name)?,
        };
        let group = pkg
            .get("groups")
            .and_then(Item::as_array)
            .and_then(|a| a.get(0))
            .and_then(|v| v.as_str())
            .or_else(|| str_field(pkg, "category"))
            .map(str::to_string);
        Ok(Some(locked(file, pkg, name, spec, None, group)))
    })
}

/// uv.lock. Workspace members (`editable`/`virtual` sources) are the project itself and
/// are not audited; other non-registry sources are reported as not auditable.
pub(crate) fn parse_uv_lock(path: &Path) -> Result<Inputs, ManifestError> {
    read_entries(path, "package", |file, pkg| {
        let name = entry_name(file, pkg)?;
        let source = pkg.get("source").and_then(Item::as_table_like);
        let spec = match source {
            Some(s) if s.contains_key("editable") || s.contains_key("virtual") => return Ok(None),
            Some(s) if s.contains_key("registry") => version_spec(file, pkg, &name)?,
            Some(s) => unauditable_source(s),
            None => version_spec(file, pkg, &name)?,
        };
        Ok(Some(locked(file, pkg, name, spec, fork_marker(pkg), None)))
    })
}

/// A universal uv.lock pins a package once per resolution fork, each version listing the
/// forks it belongs to in `resolution-markers`: the version applies when any of them holds.
fn fork_marker(pkg: &dyn TableLike) -> Option<String> {
    let forks: Vec<&str> = pkg
        .get("resolution-markers")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|m| !m.trim().is_empty())
        .collect();
    match forks.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many => Some(
            many.iter()
                .map(|m| format!("({m})"))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
    }
}

fn unauditable_source(s: &dyn TableLike) -> Spec {
    for (key, reason) in [
        ("git", "VCS source"),
        ("url", "direct URL"),
        ("path", "local path"),
        ("directory", "local path"),
    ] {
        if let Some(v) = str_field(s, key) {
            return Spec::unauditable(reason, v);
        }
    }
    Spec::unauditable("unknown source", "")
}

/// pdm.lock.
pub(crate) fn parse_pdm_lock(path: &Path) -> Result<Inputs, ManifestError> {
    read_entries(path, "package", |file, pkg| {
        let name = entry_name(file, pkg)?;
        let spec = if let Some(git) = str_field(pkg, "git") {
            Spec::unauditable("VCS source", git)
        } else if let Some(p) = str_field(pkg, "path") {
            Spec::unauditable("local path", p)
        } else if let Some(u) = str_field(pkg, "url") {
            Spec::unauditable("direct URL", u)
        } else {
            version_spec(file, pkg, &name)?
        };
        let group = pkg
            .get("groups")
            .and_then(Item::as_array)
            .and_then(|a| a.get(0))
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let marker = str_field(pkg, "marker").map(str::to_string);
        Ok(Some(locked(file, pkg, name, spec, marker, group)))
    })
}

/// PEP 751 pylock.toml (`lock-version = "1.0"`).
pub(crate) fn parse_pylock(path: &Path) -> Result<Inputs, ManifestError> {
    let file = TomlFile::open(path)?;
    let mut out = Inputs::default();
    match file.root().get("lock-version").and_then(Item::as_str) {
        Some(v) if v.split('.').next() == Some("1") => {}
        Some(v) => {
            return Err(file.error(
                file.line(file.root().get("lock-version").and_then(Item::span)),
                format!("unsupported pylock lock-version {v} (this reader understands 1.x)"),
            ))
        }
        None => out.notes.push(Note {
            source: file.source_at(0),
            message: "no lock-version; read as PEP 751 version 1".into(),
        }),
    }
    for pkg in packages(&file, "packages")?.iter() {
        let name = entry_name(&file, pkg)?;
        let table_str = |key: &str, field: &str| {
            pkg.get(key).and_then(Item::as_table_like).map(|t| {
                str_field(t, field)
                    .or_else(|| str_field(t, "path"))
                    .unwrap_or("")
                    .to_string()
            })
        };
        let spec = if let Some(url) = table_str("vcs", "url") {
            Spec::unauditable("VCS source", url)
        } else if let Some(p) = table_str("directory", "path") {
            Spec::unauditable("local path", p)
        } else if let Some(v) = str_field(pkg, "version") {
            Spec::pinned(v)
        } else if let Some(url) = table_str("archive", "url") {
            Spec::unauditable("direct URL", url)
        } else {
            Spec::unauditable("no version recorded", "")
        };
        let marker = str_field(pkg, "marker").map(str::to_string);
        out.dependencies
            .push(locked(&file, pkg, name, spec, marker, None));
    }
    Ok(out)
}
