//! Running the project's tests and the locking tools: in the project directory, in their
//! own process group (so a timeout or Ctrl-C stops everything they started), with their
//! output kept for the report.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Passed,
    Failed {
        code: Option<i32>,
    },
    TimedOut,
    /// Stopped because the user interrupted stormwatch.
    Interrupted,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub ended: Ended,
    /// The last lines of its output (standard output and error together).
    pub tail: String,
}

const TAIL_LINES: usize = 30;

fn tail_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Runs `program args` in `dir`; stops it (and its children) after `timeout` or when `stop`
/// is set.
pub fn run(
    program: &str,
    args: &[String],
    dir: &Path,
    timeout: Duration,
    stop: &AtomicBool,
) -> std::io::Result<Outcome> {
    use std::os::unix::process::CommandExt;
    let log = tempfile::tempfile()?;
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?)
        .process_group(0)
        .spawn()?;
    let pgid = child.id() as i32;
    let start = Instant::now();
    let ended = loop {
        if let Some(status) = child.try_wait()? {
            break if status.success() {
                Ended::Passed
            } else {
                Ended::Failed {
                    code: status.code(),
                }
            };
        }
        let kill = if stop.load(Ordering::SeqCst) {
            Some(Ended::Interrupted)
        } else if start.elapsed() > timeout {
            Some(Ended::TimedOut)
        } else {
            None
        };
        if let Some(ended) = kill {
            // SAFETY: signals the process group the child leads; no memory is involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            break ended;
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    let mut log = log;
    let mut out = Vec::new();
    use std::io::Seek;
    log.seek(std::io::SeekFrom::Start(0))?;
    log.take(16 * 1024 * 1024).read_to_end(&mut out)?;
    Ok(Outcome {
        ended,
        tail: tail_of(&out),
    })
}

/// Runs a shell command line (`--verify "pytest -q"`).
pub fn shell(
    command: &str,
    dir: &Path,
    timeout: Duration,
    stop: &AtomicBool,
) -> std::io::Result<Outcome> {
    run(
        "sh",
        &["-c".to_string(), command.to_string()],
        dir,
        timeout,
        stop,
    )
}

/// Whether `program` is on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            std::fs::metadata(&p).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let stop = AtomicBool::new(false);
        let long = Duration::from_secs(30);
        assert_eq!(
            shell("true", dir.path(), long, &stop).unwrap().ended,
            Ended::Passed
        );
        let failed = shell("echo boom; exit 3", dir.path(), long, &stop).unwrap();
        assert_eq!(failed.ended, Ended::Failed { code: Some(3) });
        assert_eq!(failed.tail, "boom");
        // The whole group goes: a background child does not outlive the timeout.
        let timed = shell(
            "sleep 30 & sleep 30",
            dir.path(),
            Duration::from_millis(200),
            &stop,
        )
        .unwrap();
        assert_eq!(timed.ended, Ended::TimedOut);
        stop.store(true, Ordering::SeqCst);
        assert_eq!(
            shell("sleep 30", dir.path(), long, &stop).unwrap().ended,
            Ended::Interrupted
        );
        assert!(on_path("sh"));
        assert!(!on_path("no-such-tool-anywhere"));
    }
}
