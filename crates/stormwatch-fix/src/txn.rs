//! Every file a fix touches, as it was before: restored byte for byte when verification
//! fails or the run is interrupted, and recorded (see [`crate::journal`]) before the first
//! change so that `stormwatch fix --rollback` can undo the fix later, even a killed one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::journal::{self, Journal, JournalFile, State};

#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Refused(String),
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> TxnError + '_ {
    move |source| TxnError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// FNV-1a 128 of the bytes, hex: tells whether a file changed since the fix.
pub fn digest(bytes: &[u8]) -> String {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in bytes {
        h ^= *b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("{h:032x}")
}

/// Replaces `path` with `bytes` through a new temporary file beside it (random name,
/// created exclusively, so a planted file or link is never written through), keeping its
/// permissions, renamed over it and made durable.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".stormwatch-")
        .tempfile_in(dir)
        .map_err(io(dir))?;
    tmp.write_all(bytes).map_err(io(tmp.path()))?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_file() {
            std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io(tmp.path()))?;
        }
    }
    tmp.as_file().sync_all().map_err(io(tmp.path()))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Makes a rename or a new file in `dir` durable (best effort: not every file system can).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates `path` (never existing before) with `bytes`, durably.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

/// `path` relative to the canonical `root` (its directory resolved; the file itself may
/// not exist yet).
fn relative(path: &Path, root: &Path) -> Option<String> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let full = parent.canonicalize().ok()?.join(path.file_name()?);
    Some(full.strip_prefix(root).ok()?.to_string_lossy().into_owned())
}

/// The journal of the fix in progress, shared by every [`Txn`] of one run.
#[derive(Debug)]
struct Recorder {
    run: PathBuf,
    journal: Journal,
}

/// The files of one fix, as they were before it.
#[derive(Debug, Default)]
pub struct Txn {
    /// path -> original bytes (`None`: the file did not exist).
    originals: BTreeMap<PathBuf, Option<Vec<u8>>>,
    recorder: Option<Arc<Mutex<Recorder>>>,
}

impl Txn {
    /// A transaction whose every file is journalled (backup and journal fsynced) in a new
    /// run directory of `state` before it changes.
    pub fn journalled(state: &State) -> Result<Txn, TxnError> {
        let run = state.new_run()?;
        let journal = Journal {
            version: 2,
            created: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            root: state.root.to_string_lossy().into_owned(),
            complete: false,
            fixes: Vec::new(),
            files: Vec::new(),
        };
        journal::save(&run, &journal)?;
        Ok(Txn {
            originals: BTreeMap::new(),
            recorder: Some(Arc::new(Mutex::new(Recorder { run, journal }))),
        })
    }

    /// An empty transaction recording into the same journal.
    pub fn child(&self) -> Txn {
        Txn {
            originals: BTreeMap::new(),
            recorder: self.recorder.clone(),
        }
    }

    /// Remembers `path` as it is now, unless already remembered; journalled first.
    pub fn keep(&mut self, path: &Path) -> Result<(), TxnError> {
        if self.originals.contains_key(path) {
            return Ok(());
        }
        let original = match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(path)(e)),
        };
        if let Some(rec) = &self.recorder {
            let mut rec = rec.lock().unwrap_or_else(|e| e.into_inner());
            let root = PathBuf::from(&rec.journal.root);
            let rel = relative(path, &root).ok_or_else(|| {
                TxnError::Refused(format!(
                    "{}: outside the project {}; not changed",
                    path.display(),
                    root.display()
                ))
            })?;
            if !rec.journal.files.iter().any(|f| f.path == rel) {
                let backup = match &original {
                    Some(bytes) => {
                        let name = rec.journal.files.len().to_string();
                        write_new(&rec.run.join(&name), bytes)?;
                        Some(name)
                    }
                    None => None,
                };
                rec.journal.files.push(JournalFile {
                    path: rel,
                    backup,
                    after: None,
                });
                journal::save(&rec.run, &rec.journal)?;
            }
        }
        self.originals.insert(path.to_path_buf(), original);
        Ok(())
    }
    /// Writes `bytes` to `path`, remembering it first.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
        self.keep(path)?;
        self.guard(path)?;
        write_atomically(path, bytes)
    }

    /// Checked again right before each write: a lock tool (running the repository's build
    /// code) may have swapped a directory for a symbolic link since the plan was checked.
    fn guard(&self, path: &Path) -> Result<(), TxnError> {
        let Some(rec) = &self.recorder else {
            return Ok(());
        };
        let root = PathBuf::from(&rec.lock().unwrap_or_else(|e| e.into_inner()).journal.root);
        let rel = relative(path, &root).ok_or_else(|| {
            TxnError::Refused(format!(
                "{}: now outside the project; not written",
                path.display()
            ))
        })?;
        journal::inside(&root, &rel)
            .map(|_| ())
            .map_err(|why| TxnError::Refused(format!("{}: {why}; not written", path.display())))
    }

    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.originals.keys().map(PathBuf::as_path)
    }

    /// The files whose bytes differ from before.
    pub fn changed(&self) -> Vec<PathBuf> {
        self.originals
            .iter()
            .filter(|(p, before)| std::fs::read(p).ok() != **before)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Puts every remembered file back as it was (removing those that did not exist).
    pub fn restore(&self) -> Result<(), TxnError> {
        self.restore_only(|_| true)
    }

    /// Puts back the remembered files for which `which` holds.
    pub fn restore_only(&self, which: impl Fn(&Path) -> bool) -> Result<(), TxnError> {
        for (path, before) in self.originals.iter().filter(|(p, _)| which(p)) {
            match before {
                Some(bytes) => {
                    if std::fs::read(path).ok().as_ref() != Some(bytes) {
                        self.guard(path)?;
                        write_atomically(path, bytes)?;
                    }
                }
                None => {
                    if std::fs::symlink_metadata(path).is_ok() {
                        self.guard(path)?;
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
        }
        Ok(())
    }

    /// Takes over `other`'s files (the originals this one has already are older and stay).
    pub fn absorb(&mut self, other: Txn) {
        for (path, before) in other.originals {
            self.originals.entry(path).or_insert(before);
        }
        if self.recorder.is_none() {
            self.recorder = other.recorder;
        }
    }

    /// A snapshot of the remembered originals of `paths`, to restore part of a fix.
    pub fn originals_of(&self, paths: &[PathBuf]) -> Txn {
        Txn {
            originals: paths
                .iter()
                .filter_map(|p| self.originals.get(p).map(|b| (p.clone(), b.clone())))
                .collect(),
            recorder: None,
        }
    }

    /// Marks the journal complete: the files the fix changed, each with the digest of what
    /// it left, so `rollback` can tell a later edit. Older complete fixes of the project are
    /// forgotten (only the last one can be rolled back). Returns the journal's directory.
    pub fn finish(&self, summary: &[String]) -> Result<Option<PathBuf>, TxnError> {
        let Some(rec) = &self.recorder else {
            return Ok(None);
        };
        let mut rec = rec.lock().unwrap_or_else(|e| e.into_inner());
        let root = PathBuf::from(&rec.journal.root);
        let changed: Vec<String> = self
            .changed()
            .iter()
            .filter_map(|p| relative(p, &root))
            .collect();
        let (kept, dropped): (Vec<JournalFile>, Vec<JournalFile>) =
            std::mem::take(&mut rec.journal.files)
                .into_iter()
                .partition(|f| changed.contains(&f.path));
        rec.journal.files = kept
            .into_iter()
            .map(|f| JournalFile {
                after: std::fs::read(root.join(&f.path))
                    .ok()
                    .as_deref()
                    .map(digest),
                ..f
            })
            .collect();
        rec.journal.fixes = summary.to_vec();
        rec.journal.complete = true;
        journal::save(&rec.run, &rec.journal)?;
        for f in dropped {
            if let Some(b) = f.backup {
                let _ = std::fs::remove_file(rec.run.join(b));
            }
        }
        let state = State {
            root,
            dir: rec.run.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        for (run, journal) in state.runs() {
            if run != rec.run && journal.complete {
                journal::remove_run(&run, &journal);
            }
        }
        Ok(Some(rec.run.clone()))
    }

    /// Forgets the journal of a fix that left nothing changed (everything restored).
    pub fn discard(&self) {
        if let Some(rec) = &self.recorder {
            let rec = rec.lock().unwrap_or_else(|e| e.into_inner());
            journal::remove_run(&rec.run, &rec.journal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_journal_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir(&root).unwrap();
        let state = State {
            root: root.canonicalize().unwrap(),
            dir: dir.path().join("state"),
        };
        std::fs::create_dir(&state.dir).unwrap();
        let a = root.join("requirements.txt");
        std::fs::write(&a, b"a==1\r\n# keep\n").unwrap();
        let mut txn = Txn::journalled(&state).unwrap();
        txn.write(&a, b"a==2\r\n# keep\n").unwrap();
        txn.write(&root.join("new.lock"), b"x").unwrap();
        assert_eq!(txn.changed().len(), 2);
        // Journalled before the change finished: an interrupted fix can be undone.
        let (_, j) = state.interrupted().unwrap();
        assert_eq!(j.files.len(), 2);
        txn.restore().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"a==1\r\n# keep\n");
        assert!(!root.join("new.lock").exists());

        txn.write(&a, b"a==2\r\n# keep\n").unwrap();
        let run = txn.finish(&["a 1 -> 2".into()]).unwrap().unwrap();
        let (_, j) = state.runs().pop().unwrap();
        assert!(j.complete);
        assert_eq!(j.files.len(), 1, "only the changed file stays");
        assert!(run.join("0").exists() && !run.join("1").exists());
        assert!(state.interrupted().is_none());
    }

    #[test]
    fn journal_paths_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert!(journal::inside(&root, "d/requirements.txt").is_ok());
        for bad in [
            "/etc/passwd",
            "../x",
            "d/../../x",
            "link/passwd",
            "link",
            "d",
            "",
        ] {
            assert!(journal::inside(&root, bad).is_err(), "{bad}");
        }
    }
}
