//! Running the project's tests and the locking tools: in the project directory, in their
//! own process group (so a timeout or Ctrl-C stops everything they started), with their
//! output kept for the report. The group also dies with stormwatch, even when stormwatch is
//! killed outright (SIGKILL): see [`spawn_guarded`].

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
    let log = tempfile::tempfile()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?);
    let (mut child, lifeline) = spawn_guarded(command)?;
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
    drop(lifeline);
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

/// Spawns `command` leading its own process group, tied to stormwatch's life: the child
/// gets SIGKILL when stormwatch dies (Linux `PR_SET_PDEATHSIG`), and a watchdog forked into
/// the group waits on a pipe only stormwatch writes to; when that pipe closes (stormwatch
/// exited or was killed) the watchdog kills the whole group, grandchildren included. The
/// returned file is the pipe's write end: drop it once the child is done.
pub fn spawn_guarded(
    mut command: Command,
) -> std::io::Result<(std::process::Child, std::fs::File)> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::process::CommandExt;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two descriptors; both close on exec.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptors were just created and are owned here.
    let (read, write) = unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    };
    let (r, w) = (read.as_raw_fd(), write.as_raw_fd());
    command.process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid,
    // fork, close, read, kill, _exit); no allocation, no locks.
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            }
            let group = libc::getpid();
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {
                    // The watchdog: in the group, holding only the read end. Every other
                    // descriptor goes, the write end and the one through which the spawning
                    // side learns that exec succeeded (it would wait for the watchdog).
                    let _ = w;
                    close_all_but(r);
                    let mut byte = 0u8;
                    loop {
                        let n = libc::read(r, (&mut byte as *mut u8).cast(), 1);
                        let interrupted =
                            std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
                        if n == -1 && interrupted {
                            continue;
                        }
                        break;
                    }
                    libc::kill(-group, libc::SIGKILL);
                    libc::_exit(0);
                }
                _ => {}
            }
            Ok(())
        });
    }
    let child = command.spawn();
    drop(read);
    Ok((child?, write))
}

/// Closes every descriptor except `keep` (async-signal-safe: system calls only).
unsafe fn close_all_but(keep: i32) {
    #[cfg(target_os = "linux")]
    {
        let below = if keep > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, (keep - 1) as u32, 0u32)
        } else {
            0
        };
        let above = libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
        if below == 0 && above == 0 {
            return;
        }
    }
    for fd in 0..4096 {
        if fd != keep {
            libc::close(fd);
        }
    }
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
