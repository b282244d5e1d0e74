//! Every file a fix touches, as it was before: restored byte for byte when verification
//! fails or the run is interrupted, and kept in a journal (`.stormwatch/fix-journal.json`,
//! git-ignored) so that `stormwatch fix --rollback` can undo the last fix later, refusing
//! when a file changed since.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The journal's directory, under the project root.
pub const DIR: &str = ".stormwatch";
const JOURNAL: &str = "fix-journal.json";
const BACKUPS: &str = "fix-backup";

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

fn io(path: &Path) -> impl Fn(std::io::Error) -> TxnError + '_ {
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

/// Replaces `path` with `bytes` through a temporary file beside it, keeping its permissions.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.stormwatch-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions()).map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The files of one fix, as they were before it.
#[derive(Debug, Default)]
pub struct Txn {
    /// path -> original bytes (`None`: the file did not exist).
    originals: BTreeMap<PathBuf, Option<Vec<u8>>>,
}

impl Txn {
    /// Remembers `path` as it is now, unless already remembered.
    pub fn keep(&mut self, path: &Path) -> Result<(), TxnError> {
        if self.originals.contains_key(path) {
            return Ok(());
        }
        let original = match std::fs::read(path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(path)(e)),
        };
        self.originals.insert(path.to_path_buf(), original);
        Ok(())
    }

    /// Writes `bytes` to `path`, remembering it first.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<(), TxnError> {
        self.keep(path)?;
        write_atomically(path, bytes)
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
                        write_atomically(path, bytes)?;
                    }
                }
                None => {
                    let _ = std::fs::remove_file(path);
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
    }

    /// A snapshot of the remembered originals of `paths`, to restore part of a fix.
    pub fn originals_of(&self, paths: &[PathBuf]) -> Txn {
        Txn {
            originals: paths
                .iter()
                .filter_map(|p| self.originals.get(p).map(|b| (p.clone(), b.clone())))
                .collect(),
        }
    }

    /// Records the fix in the project's journal: each changed file's original (a backup
    /// copy) and the digest of what the fix left, so `rollback` can tell a later edit.
    pub fn save_journal(&self, root: &Path, summary: &[String]) -> Result<(), TxnError> {
        let dir = root.join(DIR);
        let backups = dir.join(BACKUPS);
        let _ = std::fs::remove_dir_all(&backups);
        std::fs::create_dir_all(&backups).map_err(io(&backups))?;
        // Never committed: the journal is this checkout's.
        write_atomically(&dir.join(".gitignore"), b"*\n")?;
        let mut files = Vec::new();
        for (i, path) in self.changed().into_iter().enumerate() {
            let before = &self.originals[&path];
            let after = std::fs::read(&path).ok();
            let backup = match before {
                Some(bytes) => {
                    let name = format!("{i}");
                    write_atomically(&backups.join(&name), bytes)?;
                    Some(name)
                }
                None => None,
            };
            files.push(JournalFile {
                path: path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned(),
                backup,
                after: after.as_deref().map(digest),
            });
        }
        let journal = Journal {
            version: 1,
            created: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            fixes: summary.to_vec(),
            files,
        };
        let text = serde_json::to_string_pretty(&journal).expect("journal serializes");
        write_atomically(&dir.join(JOURNAL), text.as_bytes())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub created: String,
    /// One line per package fixed ("tornado 6.1 -> 6.5.9").
    pub fixes: Vec<String>,
    pub files: Vec<JournalFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JournalFile {
    /// Relative to the project root.
    pub path: String,
    /// The original's copy under `fix-backup/`; `None` when the fix created the file.
    pub backup: Option<String>,
    /// Digest of the file as the fix left it; `None` when the fix removed it.
    pub after: Option<String>,
}

/// Undoes the last fix recorded in `root`'s journal. Refuses, changing nothing, when a
/// file differs from what the fix left (edited since), naming it.
pub fn rollback(root: &Path) -> Result<Journal, TxnError> {
    let dir = root.join(DIR);
    let path = dir.join(JOURNAL);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            TxnError::Refused(format!(
                "{}: no fix to roll back (no journal)",
                path.display()
            ))
        } else {
            io(&path)(e)
        }
    })?;
    let journal: Journal = serde_json::from_str(&text)
        .map_err(|e| TxnError::Refused(format!("{}: unreadable journal: {e}", path.display())))?;
    let mut changed = Vec::new();
    for f in &journal.files {
        let now = std::fs::read(root.join(&f.path)).ok();
        if now.as_deref().map(digest) != f.after {
            changed.push(f.path.clone());
        }
    }
    if !changed.is_empty() {
        return Err(TxnError::Refused(format!(
            "refusing to roll back: changed since the fix of {}: {} (restore them or edit by hand; the backups are in {})",
            journal.created,
            changed.join(", "),
            dir.join(BACKUPS).display()
        )));
    }
    for f in &journal.files {
        let target = root.join(&f.path);
        match &f.backup {
            Some(name) => {
                let backup = dir.join(BACKUPS).join(name);
                let bytes = std::fs::read(&backup).map_err(io(&backup))?;
                write_atomically(&target, &bytes)?;
            }
            None => {
                let _ = std::fs::remove_file(&target);
            }
        }
    }
    std::fs::remove_file(&path).map_err(io(&path))?;
    let _ = std::fs::remove_dir_all(dir.join(BACKUPS));
    Ok(journal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_journal_and_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let a = root.join("requirements.txt");
        std::fs::write(&a, b"a==1\r\n# keep\n").unwrap();
        let mut txn = Txn::default();
        txn.write(&a, b"a==2\r\n# keep\n").unwrap();
        txn.write(&root.join("new.lock"), b"x").unwrap();
        assert_eq!(txn.changed().len(), 2);
        txn.restore().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"a==1\r\n# keep\n");
        assert!(!root.join("new.lock").exists());

        txn.write(&a, b"a==2\r\n# keep\n").unwrap();
        txn.save_journal(root, &["a 1 -> 2".into()]).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join(".stormwatch/.gitignore")).unwrap(),
            "*\n"
        );
        // Edited since: refused, nothing changed.
        std::fs::write(&a, b"a==3\n").unwrap();
        let err = rollback(root).unwrap_err().to_string();
        assert!(err.contains("requirements.txt"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"a==3\n");
        std::fs::write(&a, b"a==2\r\n# keep\n").unwrap();
        let journal = rollback(root).unwrap();
        assert_eq!(journal.fixes, ["a 1 -> 2"]);
        assert_eq!(std::fs::read(&a).unwrap(), b"a==1\r\n# keep\n");
        assert!(rollback(root).is_err(), "the journal is used once");
    }
}
