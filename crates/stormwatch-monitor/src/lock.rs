//! One monitor run at a time per state file: runs that overlap (a slow cron job and the
//! next one, two projects sharing a state) would each see the same change and each send it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::{FileExt, TryLockError};

use crate::StateError;

/// Held for the whole run; the lock is released when dropped (or when the process dies).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// The lock file beside the state: `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock on `state`, waiting up to `wait` for another run to finish.
pub fn lock(state: &Path, wait: Duration) -> Result<StateLock, StateError> {
    let path = lock_path(state);
    let invalid = |message: String| StateError::Invalid {
        path: path.clone(),
        message,
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| invalid(e.to_string()))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| invalid(format!("cannot open the lock file: {e}")))?;
    let start = Instant::now();
    loop {
        // Named explicitly: std's inherent `File::try_lock` is newer than the supported
        // toolchain.
        match FileExt::try_lock(&file) {
            Ok(()) => return Ok(StateLock { _file: file }),
            Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StateError::Busy {
                    path: state.to_path_buf(),
                    waited: wait.as_secs(),
                })
            }
            Err(TryLockError::Error(e)) => return Err(invalid(format!("cannot lock: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("monitor.db");
        let held = lock(&state, Duration::ZERO).unwrap();
        let err = lock(&state, Duration::from_millis(200)).unwrap_err();
        assert!(
            err.to_string().contains("another monitor run holds"),
            "{err}"
        );
        drop(held);
        lock(&state, Duration::ZERO).unwrap();
    }
}
