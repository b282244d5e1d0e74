//! Other projects' code copied into a repository, recognised by what Python's packaging and
//! import system leave there rather than by a folder name:
//! - an installation target: a directory holding `*.dist-info` metadata, which installers
//!   write only beside what they install (`pip install --target lib3`), so every package
//!   there is someone else's; or `*.egg-info` metadata with no `setup.py`, `setup.cfg` or
//!   `pyproject.toml` in that directory or above it (setuptools writes an in-tree
//!   `*.egg-info` when it builds the enclosing project: `src/app.egg-info` is the
//!   application's own develop install). The scanned root is the application's own;
//! - a package carrying its own licence file, directly inside a directory that the
//!   application puts on `sys.path` (`sys.path.insert(0, "lib")`): a library it imports by
//!   its own top-level name, as it was distributed;
//! - a copy of Tornado: a package named `tornado` holding `web.py` and `ioloop.py`, whatever
//!   the directories above it make its module name.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Files whose name marks a project's own packaging (its metadata there is not an install).
const PROJECT_FILES: &[&str] = &["setup.py", "setup.cfg", "pyproject.toml"];

/// What a directory listing says about vendoring.
fn listing(dir: &Path) -> Vec<(String, bool)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (e.file_name().to_string_lossy().into_owned(), is_dir)
        })
        .collect()
}

fn is_licence(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING"]
        .iter()
        .any(|l| upper.starts_with(l))
}

/// Where other projects' code is, relative to the scanned root.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Installation targets: every top-level package or module inside is a library.
    pub targets: Vec<PathBuf>,
    /// Directories that are one library each (a package with its own licence).
    pub packages: Vec<PathBuf>,
    /// Copies of Tornado.
    pub tornado: Vec<PathBuf>,
}

/// Where vendored code and copies of Tornado are, relative to `root`. `files`: every Python
/// file, relative to `root`; `sys_path`: directories (relative) that the application adds
/// to `sys.path`.
pub(crate) fn directories(root: &Path, files: &[&Path], sys_path: &HashSet<PathBuf>) -> Found {
    let packages: HashSet<&Path> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "__init__.py"))
        .filter_map(|f| f.parent())
        .collect();
    // Every directory holding Python code, each once (the root excluded: it is the
    // application's own).
    let mut dirs: HashSet<&Path> = HashSet::new();
    for f in files {
        for a in f.ancestors().skip(1) {
            if a.as_os_str().is_empty() || !dirs.insert(a) {
                break;
            }
        }
    }
    let mut found = Found::default();
    let mut sorted: Vec<&Path> = dirs.into_iter().collect();
    sorted.sort();
    let project_file = |entries: &[(String, bool)]| {
        entries
            .iter()
            .any(|(n, d)| !d && PROJECT_FILES.contains(&n.as_str()))
    };
    // Directories with a project file of their own or above them (parents sort first).
    let mut in_project: HashSet<&Path> = HashSet::new();
    let root_project = project_file(&listing(root));
    for dir in sorted {
        let entries = listing(&root.join(dir));
        let has = |name: &str| entries.iter().any(|(n, _)| n == name);
        let above = root_project || dir.parent().is_some_and(|p| in_project.contains(p));
        if above || project_file(&entries) {
            in_project.insert(dir);
        }
        let wheel = entries.iter().any(|(n, d)| *d && n.ends_with(".dist-info"));
        let egg = entries.iter().any(|(n, d)| *d && n.ends_with(".egg-info"));
        let installed = wheel || (egg && !in_project.contains(dir));
        if installed {
            found.targets.push(dir.to_path_buf());
            continue;
        }
        if dir.file_name().is_some_and(|n| n == "tornado")
            && packages.contains(dir)
            && has("web.py")
            && has("ioloop.py")
        {
            found.tornado.push(dir.to_path_buf());
        }
        let on_path = dir.parent().is_some_and(|p| sys_path.contains(p));
        if on_path && packages.contains(dir) && entries.iter().any(|(n, d)| !d && is_licence(n)) {
            found.packages.push(dir.to_path_buf());
        }
    }
    found
}

/// The directories (relative to the scanned root) that the files add to `sys.path`:
/// `literals` gives, per file, the path literals of its `sys.path` calls.
pub(crate) fn sys_path_dirs<'a>(
    files: &[&Path],
    literals: impl Iterator<Item = (&'a Path, &'a [String])>,
) -> HashSet<PathBuf> {
    let mut known: HashSet<&Path> = HashSet::new();
    for f in files {
        for a in f.ancestors().skip(1) {
            if a.as_os_str().is_empty() || !known.insert(a) {
                break;
            }
        }
    }
    let mut out = HashSet::new();
    for (rel, lits) in literals {
        for lit in lits {
            resolve_sys_path(rel, lit, &known, &mut out);
        }
    }
    out
}

/// The directories (relative to the scanned root) that a `sys.path` literal written in the
/// file `rel` can name: the literal resolved against the file's directory and each directory
/// above it (`os.path.join(os.path.dirname(__file__), "..", "lib")` names `lib` beside an
/// ancestor), kept only where such a directory holds Python code.
fn resolve_sys_path(rel: &Path, literal: &str, known: &HashSet<&Path>, out: &mut HashSet<PathBuf>) {
    let lit = Path::new(literal.trim_start_matches("./"));
    let plain = lit
        .components()
        .all(|c| matches!(c, Component::Normal(_)) && !c.as_os_str().is_empty());
    if !plain || lit.as_os_str().is_empty() {
        return;
    }
    for base in rel.ancestors().skip(1) {
        let candidate = base.join(lit);
        if known.contains(candidate.as_path()) {
            out.insert(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_path_literals_resolve_against_the_file_and_its_ancestors() {
        let known: HashSet<&Path> = ["lib", "app/lib", "app"].iter().map(Path::new).collect();
        let mut out = HashSet::new();
        resolve_sys_path(Path::new("app/boot/start.py"), "lib", &known, &mut out);
        resolve_sys_path(Path::new("app/start.py"), "../etc", &known, &mut out);
        resolve_sys_path(Path::new("app/start.py"), "/usr/lib", &known, &mut out);
        let mut got: Vec<_> = out.into_iter().collect();
        got.sort();
        assert_eq!(got, [PathBuf::from("app/lib"), PathBuf::from("lib")]);
    }
}
