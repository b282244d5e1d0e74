//! Finding a project's dependency inputs in a directory tree.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// The input formats stormwatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Requirements,
    Pyproject,
    Pipfile,
    PipfileLock,
    PoetryLock,
    UvLock,
    PdmLock,
    Pylock,
    Installed,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Requirements => "requirements",
            Format::Pyproject => "pyproject.toml",
            Format::Pipfile => "Pipfile",
            Format::PipfileLock => "Pipfile.lock",
            Format::PoetryLock => "poetry.lock",
            Format::UvLock => "uv.lock",
            Format::PdmLock => "pdm.lock",
            Format::Pylock => "pylock.toml",
            Format::Installed => "installed distribution",
        }
    }
}

/// Directories that hold other projects' code or build output, never this project's.
const SKIP_DIRS: &[&str] = &[
    "node_modules",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "__pypackages__",
    "venv",
    "virtualenv",
    "vendor",
    "third_party",
];

/// The files of the project under `root`, sorted: `.gitignore` honoured; hidden directories,
/// virtual environments (any directory with a `pyvenv.cfg`), `node_modules`, `site-packages`
/// and vendored code skipped. Hidden files (`.env`) are included, and so are symbolic links,
/// FIFOs and devices, so that whoever reads them reports a broken link or refuses a FIFO.
pub fn project_files(root: &Path) -> Vec<PathBuf> {
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            if !is_dir || e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !name.starts_with('.')
                && !SKIP_DIRS.contains(&name.as_ref())
                && !e.path().join("pyvenv.cfg").exists()
        })
        .build();
    let mut files: Vec<PathBuf> = walker
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| !t.is_dir()))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files
}

/// The format a file name implies, or `None` for names stormwatch does not recognise.
/// Requirements files are recognised by name: `requirements*.txt|in`, `*-requirements.txt`,
/// `constraints*.txt`, or any `.txt`/`.in` inside a `requirements/` directory.
pub fn detect_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    let format = match name {
        "pyproject.toml" => Format::Pyproject,
        "Pipfile" => Format::Pipfile,
        "Pipfile.lock" => Format::PipfileLock,
        "poetry.lock" => Format::PoetryLock,
        "uv.lock" => Format::UvLock,
        "pdm.lock" => Format::PdmLock,
        "pylock.toml" => Format::Pylock,
        _ if name.starts_with("pylock.") && name.ends_with(".toml") => Format::Pylock,
        _ => {
            let lower = name.to_ascii_lowercase();
            let is_text = lower.ends_with(".txt") || lower.ends_with(".in");
            let in_req_dir = path
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.eq_ignore_ascii_case("requirements"));
            if is_text
                && (lower.contains("requirements")
                    || lower.starts_with("constraints")
                    || in_req_dir)
            {
                Format::Requirements
            } else {
                return None;
            }
        }
    };
    Some(format)
}

/// Every dependency input under `root`, sorted, honouring `.gitignore` and skipping hidden
/// directories, virtual environments and vendored packages.
pub fn discover(root: &Path) -> Vec<(PathBuf, Format)> {
    project_files(root)
        .into_iter()
        .filter_map(|p| detect_format(&p).map(|f| (p, f)))
        .collect()
}

/// [`discover`], leaving out (with a note each) inputs that are not regular files (a FIFO or
/// a device would block or never end). Links out of `root` are refused by [`crate::parse_in`].
pub fn discover_checked(root: &Path) -> (Vec<(PathBuf, Format)>, Vec<crate::Note>) {
    let mut notes = Vec::new();
    let files = discover(root)
        .into_iter()
        .filter(|(path, _)| {
            let message = if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
                "not a regular file (a FIFO, socket or device); not read"
            } else {
                return true;
            };
            notes.push(crate::Note {
                source: crate::Source {
                    path: path.clone(),
                    line: 0,
                },
                message: message.to_string(),
            });
            false
        })
        .collect();
    (files, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn names_map_to_formats() {
        let f = |s: &str| detect_format(Path::new(s));
        assert_eq!(f("requirements.txt"), Some(Format::Requirements));
        assert_eq!(f("requirements-dev.txt"), Some(Format::Requirements));
        assert_eq!(f("dev-requirements.in"), Some(Format::Requirements));
        assert_eq!(f("requirements/base.txt"), Some(Format::Requirements));
        assert_eq!(f("constraints.txt"), Some(Format::Requirements));
        assert_eq!(f("pylock.prod.toml"), Some(Format::Pylock));
        assert_eq!(f("uv.lock"), Some(Format::UvLock));
        assert_eq!(f("notes.txt"), None);
        assert_eq!(f("Cargo.lock"), None);
    }

    #[test]
    fn discovery_skips_venvs_hidden_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(p.join("requirements.txt"), "").unwrap();
        fs::write(p.join("pyproject.toml"), "").unwrap();
        fs::create_dir_all(p.join("svc/requirements")).unwrap();
        fs::write(p.join("svc/requirements/prod.txt"), "").unwrap();
        fs::create_dir_all(p.join(".venv/lib")).unwrap();
        fs::write(p.join(".venv/lib/requirements.txt"), "").unwrap();
        fs::create_dir_all(p.join("env2")).unwrap();
        fs::write(p.join("env2/pyvenv.cfg"), "").unwrap();
        fs::write(p.join("env2/requirements.txt"), "").unwrap();
        fs::create_dir_all(p.join("node_modules/x")).unwrap();
        fs::write(p.join("node_modules/x/requirements.txt"), "").unwrap();
        fs::write(p.join(".gitignore"), "ignored/\n").unwrap();
        fs::create_dir_all(p.join("ignored")).unwrap();
        fs::write(p.join("ignored/requirements.txt"), "").unwrap();
        let found: Vec<_> = discover(p)
            .into_iter()
            .map(|(f, _)| f.strip_prefix(p).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            found,
            [
                "pyproject.toml",
                "requirements.txt",
                "svc/requirements/prod.txt"
            ]
        );
    }
}
