//! The fix journal, kept where the scanned repository cannot plant or redirect it: the
//! user's state directory (`$STORMWATCH_STATE_DIR`, else the platform's state or local data
//! directory) under `stormwatch/fix/<key>/`, key = sha256 of the project's canonical path.
//!
//! Each fix run gets its own directory there (random name, created exclusively, mode 0700)
//! holding `journal.json` and one backup per file. The journal is written and fsynced
//! before the first file changes, and again as each new file is taken in, so a fix killed
//! at any moment can still be rolled back. A journal found in the project tree is never read.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::txn::{digest, io, write_atomically, TxnError};

const JOURNAL: &str = "journal.json";
const RUN_PREFIX: &str = "run-";
/// Where versions before this one kept the journal, inside the project: never read now.
pub const LEGACY_IN_TREE: &str = ".stormwatch/fix-journal.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub created: String,
    /// The project's canonical path.
    pub root: String,
    /// False while the fix runs (or when it was killed): the files may be half-changed.
    pub complete: bool,
    /// One line per package fixed ("tornado 6.1 -> 6.5.9").
    pub fixes: Vec<String>,
    pub files: Vec<JournalFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalFile {
    /// Relative to the project root.
    pub path: String,
    /// The original's copy in the run's directory; `None` when the fix created the file.
    pub backup: Option<String>,
    /// Digest of the file as the fix left it; `None` when unknown (an interrupted fix).
    pub after: Option<String>,
}

/// The state directory of one project.
#[derive(Debug, Clone)]
pub struct State {
    pub root: PathBuf,
    pub dir: PathBuf,
}

fn base_dir() -> Result<PathBuf, TxnError> {
    std::env::var_os("STORMWATCH_STATE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::state_dir().or_else(dirs::data_local_dir))
        .ok_or_else(|| {
            TxnError::Refused(
                "no state directory for the fix journal: set STORMWATCH_STATE_DIR".into(),
            )
        })
}

fn refuse_symlink(path: &Path) -> Result<(), TxnError> {
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(TxnError::Refused(format!(
            "{}: not a plain directory (a symbolic link?); refusing to keep the fix journal there",
            path.display()
        )));
    }
    Ok(())
}

impl State {
    /// The state of the project at `root` (not created yet).
    pub fn of(root: &Path) -> Result<State, TxnError> {
        let root = root.canonicalize().map_err(io(root))?;
        // The first 128 bits of the sha256 of the canonical path, in hex.
        let mut key = crate::index::sha256_hex(root.as_os_str().as_encoded_bytes());
        key.truncate(32);
        let dir = base_dir()?.join("stormwatch").join("fix").join(key);
        Ok(State { root, dir })
    }

    /// Creates the directory, one component at a time below the user's base directory,
    /// refusing any that is a symbolic link.
    fn ensure(&self) -> Result<(), TxnError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = self
            .dir
            .ancestors()
            .nth(3)
            .expect("base/stormwatch/fix/key");
        std::fs::create_dir_all(base).map_err(io(base))?;
        let mut at = base.to_path_buf();
        for part in self
            .dir
            .strip_prefix(base)
            .expect("below base")
            .components()
        {
            at.push(part);
            match std::fs::DirBuilder::new().mode(0o700).create(&at) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(&at)(e)),
            }
            refuse_symlink(&at)?;
        }
        Ok(())
    }

    /// A new run directory (random name, exclusive create, mode 0700).
    pub fn new_run(&self) -> Result<PathBuf, TxnError> {
        self.ensure()?;
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{RUN_PREFIX}{nanos:020}-"))
            .tempdir_in(&self.dir)
            .map_err(io(&self.dir))?;
        Ok(dir.keep())
    }

    /// Run directories with a readable journal, oldest first.
    pub fn runs(&self) -> Vec<(PathBuf, Journal)> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut runs: Vec<(PathBuf, Journal)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(RUN_PREFIX))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path().join(JOURNAL)).ok()?;
                Some((e.path(), serde_json::from_str(&text).ok()?))
            })
            .collect();
        runs.sort_by(|a, b| a.0.cmp(&b.0));
        runs
    }

    /// An interrupted fix that was never rolled back, if any.
    pub fn interrupted(&self) -> Option<(PathBuf, Journal)> {
        self.runs().into_iter().rev().find(|(_, j)| !j.complete)
    }
}

/// Writes `journal` into `run` and makes it durable (file and directory).
pub fn save(run: &Path, journal: &Journal) -> Result<(), TxnError> {
    let text = serde_json::to_string_pretty(journal).expect("journal serializes");
    write_atomically(&run.join(JOURNAL), text.as_bytes())
}

/// Removes a run directory: only the files its journal names, then the directory itself
/// (never a recursive delete).
pub fn remove_run(run: &Path, journal: &Journal) {
    for f in &journal.files {
        if let Some(b) = f.backup.as_deref().filter(|b| plain_name(b)) {
            let _ = std::fs::remove_file(run.join(b));
        }
    }
    let _ = std::fs::remove_file(run.join(JOURNAL));
    let _ = std::fs::remove_dir(run);
}

fn plain_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit())
}

/// Where a journal entry points, once proven inside `root`: relative, no `..`, no
/// symbolic link on the way, not a directory.
pub fn inside(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let path = Path::new(rel);
    if rel.is_empty() || path.is_absolute() {
        return Err("an absolute or empty path".into());
    }
    let mut at = root.to_path_buf();
    let parts: Vec<Component> = path.components().collect();
    for (i, part) in parts.iter().enumerate() {
        let Component::Normal(name) = part else {
            return Err("a path with `..` or `.`".into());
        };
        at.push(name);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!("{} is a symbolic link", at.display()))
            }
            Ok(m) if i + 1 < parts.len() && !m.is_dir() => {
                return Err(format!("{} is not a directory", at.display()))
            }
            Ok(m) if i + 1 == parts.len() && !m.is_file() => {
                return Err(format!("{} is not a regular file", at.display()))
            }
            Ok(_) => {}
            // A file the fix created and someone removed, or a directory gone with it:
            // nothing below can be a link.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(at)
}

/// What `--rollback` did.
pub struct RolledBack {
    pub journal: Journal,
    /// The fix had been killed before it finished.
    pub interrupted: bool,
}

/// Undoes the last fix of the project at `root`: an interrupted one first, else the last
/// complete one. Every entry is checked before anything changes: a path outside the project
/// (absolute, `..`, through a symbolic link), a backup that is not the run's own, or (for a
/// complete fix) a file edited since makes it refuse, naming the entry.
pub fn rollback(root: &Path) -> Result<RolledBack, TxnError> {
    let state = State::of(root)?;
    let runs = state.runs();
    let picked = runs
        .iter()
        .rev()
        .find(|(_, j)| !j.complete)
        .or_else(|| runs.last());
    let Some((run, journal)) = picked.cloned() else {
        return Err(TxnError::Refused(format!(
            "{}: no fix to roll back (no journal in {})",
            state.root.display(),
            state.dir.display()
        )));
    };
    let jpath = run.join(JOURNAL);
    if Path::new(&journal.root) != state.root {
        return Err(TxnError::Refused(format!(
            "{}: the journal is for {}, not {}; nothing changed",
            jpath.display(),
            journal.root,
            state.root.display()
        )));
    }
    let mut targets = Vec::new();
    let mut changed = Vec::new();
    for f in &journal.files {
        let target = inside(&state.root, &f.path).map_err(|why| {
            TxnError::Refused(format!(
                "{}: refusing to roll back: entry `{}` is {why}; nothing changed",
                jpath.display(),
                f.path.escape_debug()
            ))
        })?;
        let backup = match &f.backup {
            Some(b) if plain_name(b) => {
                let p = run.join(b);
                let bytes = std::fs::read(&p).map_err(io(&p))?;
                Some(bytes)
            }
            Some(b) => {
                return Err(TxnError::Refused(format!(
                    "{}: refusing to roll back: entry `{}` names backup `{}`, not one of the run's own; nothing changed",
                    jpath.display(),
                    f.path.escape_debug(),
                    b.escape_debug()
                )))
            }
            None => None,
        };
        if journal.complete {
            let now = std::fs::read(&target).ok();
            if now.as_deref().map(digest) != f.after {
                changed.push(f.path.clone());
            }
        }
        targets.push((target, backup));
    }
    if !changed.is_empty() {
        return Err(TxnError::Refused(format!(
            "refusing to roll back: changed since the fix of {}: {} (restore them or edit by hand; the backups are in {})",
            journal.created,
            changed.join(", "),
            run.display()
        )));
    }
    for (target, backup) in &targets {
        match backup {
            Some(bytes) => {
                if std::fs::read(target).ok().as_ref() != Some(bytes) {
                    write_atomically(target, bytes)?;
                }
            }
            None => {
                let _ = std::fs::remove_file(target);
            }
        }
    }
    remove_run(&run, &journal);
    Ok(RolledBack {
        interrupted: !journal.complete,
        journal,
    })
}
