//! Other projects' code copied into a repository, recognised by what Python's packaging and
//! import system leave there rather than by a folder name:
//! - an installation target: a directory holding `*.dist-info` or `*.egg-info` metadata.
//!   Installers write that metadata only beside what they install (`pip install --target
//!   lib3`), so every package there is someone else's. Metadata beside a `setup.py`,
//!   `setup.cfg` or `pyproject.toml` is the build output of that project (a develop install
//!   of the application itself), and the scanned root is the application's own;
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

fn is_metadata(name: &str, is_dir: bool) -> bool {
    is_dir && (name.ends_with(".dist-info") || name.ends_with(".egg-info"))
}

fn is_licence(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING"]
        .iter()
        .any(|l| upper.starts_with(l))
}

/// Where vendored code and copies of Tornado are, relative to `root`: (vendored
/// directories, Tornado copies). `files`: every Python file, relative to `root`;
/// `sys_path`: directories (relative) that the application adds to `sys.path`.
pub(crate) fn directories(
    root: &Path,
    files: &[&Path],
    sys_path: &HashSet<PathBuf>,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
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
    let mut vendored = Vec::new();
    let mut tornado = Vec::new();
    let mut sorted: Vec<&Path> = dirs.into_iter().collect();
    sorted.sort();
    for dir in sorted {
        let entries = listing(&root.join(dir));
        let has = |name: &str| entries.iter().any(|(n, _)| n == name);
        let installed = entries.iter().any(|(n, d)| is_metadata(n, *d))
            && !PROJECT_FILES.iter().any(|p| has(p));
        if installed {
            vendored.push(dir.to_path_buf());
            continue;
        }
        if dir.file_name().is_some_and(|n| n == "tornado")
            && packages.contains(dir)
            && has("web.py")
            && has("ioloop.py")
        {
            tornado.push(dir.to_path_buf());
        }
        let on_path = dir.parent().is_some_and(|p| sys_path.contains(p));
        if on_path && packages.contains(dir) && entries.iter().any(|(n, d)| !d && is_licence(n)) {
            vendored.push(dir.to_path_buf());
        }
    }
    (vendored, tornado)
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
