//! The scanned repository is untrusted: files, journals, headers and symbolic links planted
//! in it must never steer `stormwatch fix` or `--rollback` into writing, copying or deleting
//! anything outside the project, and a fix killed outright must stay recoverable.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{json_of, sw};
use serde_json::Value;

fn advisory(id: &str, package: &str, fixed: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2026-10-01T00:00:00Z","affected":[{{"package":{{"name":"{package}","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
    )
}

/// A temporary directory holding the project (`app/`), the advisories (`osv/`), the user's
/// state directory (`state/`) and a directory outside the project (`outside/`).
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        for d in ["app", "osv", "state", "outside"] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        fs::write(
            dir.path().join("osv/SHOP-1.json"),
            advisory("SHOP-1", "shoplib", "1.5"),
        )
        .unwrap();
        fs::write(
            dir.path().join("osv/TORN-1.json"),
            advisory("TORN-1", "tornado", "6.5"),
        )
        .unwrap();
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn root(&self) -> PathBuf {
        self.path("app")
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn fix(&self, args: &[&str]) -> std::process::Output {
        sw(self.dir.path())
            .env("STORMWATCH_STATE_DIR", self.path("state"))
            .arg("fix")
            .arg(self.root())
            .arg("--db")
            .arg(self.path("osv"))
            .args(["--no-bundled", "--offline"])
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    }

    /// Every file and link under `rel` (links not followed), with its bytes or target.
    fn snapshot(&self, rel: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.path(rel)];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let meta = fs::symlink_metadata(&p).unwrap();
                if meta.file_type().is_symlink() {
                    let target = fs::read_link(&p).unwrap();
                    out.push((p, target.as_os_str().as_encoded_bytes().to_vec()));
                } else if meta.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    /// The journal of the last fix, in the state directory.
    fn journal(&self) -> (PathBuf, Value) {
        let mut runs = Vec::new();
        let mut stack = vec![self.path("state")];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.ends_with("journal.json") {
                    runs.push(p);
                }
            }
        }
        assert_eq!(runs.len(), 1, "{runs:?}");
        let v = serde_json::from_str(&fs::read_to_string(&runs[0]).unwrap()).unwrap();
        (runs.pop().unwrap(), v)
    }
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn a_journal_planted_in_the_tree_is_ignored() {
    let s = Setup::new();
    s.write("app/requirements.txt", "shoplib==1.5\n");
    s.write("outside/victim.txt", "precious\n");
    // What older versions trusted: a journal and backups committed to the repository.
    let victim = s.path("outside/victim.txt");
    s.write(
        "app/.stormwatch/fix-journal.json",
        &format!(
            r#"{{"version":1,"created":"x","fixes":[],"files":[
                {{"path":"{}","backup":"0","after":null}},
                {{"path":"copied-passwd","backup":"../../../../../../../etc/passwd","after":null}},
                {{"path":"../outside/victim.txt","backup":null,"after":null}}]}}"#,
            victim.display()
        ),
    );
    s.write("app/.stormwatch/fix-backup/0", "attacker content\n");
    let app = s.snapshot("app");
    let outside = s.snapshot("outside");
    let out = s.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("no fix to roll back"), "{err}");
    assert!(
        err.contains(".stormwatch/fix-journal.json in the project is ignored"),
        "{err}"
    );
    assert_eq!(s.snapshot("app"), app);
    assert_eq!(s.snapshot("outside"), outside);
}

/// Each way a journal entry could point outside the project is refused (exit 2, the entry
/// named) before anything is restored: even the legitimate entry stays as the fix left it.
#[test]
fn journal_entries_outside_the_project_are_refused_and_nothing_changes() {
    let s = Setup::new();
    s.write("app/requirements.txt", "shoplib==1.2\n");
    s.write("outside/victim.txt", "precious\n");
    symlink(s.path("outside"), s.root().join("link")).unwrap();
    let out = s.fix(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (path, journal) = s.journal();
    assert_eq!(journal["files"][0]["path"], "requirements.txt");
    let victim = s.path("outside/victim.txt").display().to_string();
    for bad in [
        "../outside/victim.txt",
        victim.as_str(),
        "link/victim.txt",
        "sub/../../outside/victim.txt",
    ] {
        let mut j = journal.clone();
        let mut entry = j["files"][0].clone();
        entry["path"] = bad.into();
        j["files"].as_array_mut().unwrap().push(entry);
        fs::write(&path, serde_json::to_string(&j).unwrap()).unwrap();
        let app = s.snapshot("app");
        let outside = s.snapshot("outside");
        let out = s.fix(&["--rollback"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains(bad), "{bad}: {err}");
        assert!(err.contains("nothing changed"), "{err}");
        assert_eq!(s.snapshot("app"), app, "{bad}");
        assert_eq!(s.snapshot("outside"), outside, "{bad}");
    }
    // A backup name that is not the run's own (a path) is refused the same way.
    let mut j = journal.clone();
    j["files"][0]["backup"] = "../../../../../../etc/passwd".into();
    fs::write(&path, serde_json::to_string(&j).unwrap()).unwrap();
    let out = s.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not one of the run's own"));
    assert_eq!(
        fs::read_to_string(s.root().join("requirements.txt")).unwrap(),
        "shoplib==1.5\n"
    );
    // The genuine journal still works.
    fs::write(&path, serde_json::to_string(&journal).unwrap()).unwrap();
    let out = s.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(s.root().join("requirements.txt")).unwrap(),
        "shoplib==1.2\n"
    );
}

const COMPILED: &str = "#\n# This file is autogenerated by pip-compile with Python 3.11\n# by the following command:\n#\n";

/// Options in a pip-compile header are the repository's words: only the allow-listed ones
/// reach the tool, the output is the lock itself, and the dry run shows the exact command.
#[test]
fn a_pip_compile_header_cannot_choose_the_tools_options() {
    let s = Setup::new();
    s.write("app/requirements.in", "tornado\n");
    s.write(
        "app/requirements.txt",
        &format!(
            "{COMPILED}#    pip-compile --generate-hashes --pip-args='--src ../../outside' -c ../outside/c.txt --find-links=./evil --output-file=../outside/owned.txt --cache-dir=/tmp/x requirements.in ../outside/x.in\n#\ntornado==6.4.2\n"
        ),
    );
    let out = s.fix(&["--dry-run", "--only-binary"]);
    // The bare name in requirements.in admits vulnerable releases: fix does not edit it.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Not fixed: tornado (any version) at ")
            && stdout.contains("requirements.in:1: a version range"),
        "{stdout}"
    );
    let run = stdout
        .lines()
        .find(|l| l.starts_with("Would run: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        run.ends_with(
            "pip-compile --no-config --generate-hashes --pip-args=--only-binary=:all: --output-file=requirements.txt requirements.in --upgrade-package tornado==6.5"
        ),
        "{run}"
    );
    let err = text(&out.stderr);
    for dropped in [
        "--pip-args=--src ../../outside",
        "-c=../outside/c.txt",
        "--find-links=./evil",
        "--cache-dir=/tmp/x",
        "../outside/x.in",
    ] {
        assert!(err.contains(dropped), "{dropped}: {err}");
    }
    assert!(err.contains("not on the allow-list"), "{err}");
    // The same in JSON: the report lists the command and the warning.
    let out = s.fix(&["--dry-run", "--format", "json"]);
    let report = json_of(&out.stdout);
    assert!(
        report["commands"][0]
            .as_str()
            .unwrap()
            .contains("--output-file=requirements.txt requirements.in"),
        "{report}"
    );
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .contains("--find-links=./evil"),
        "{report}"
    );
}

/// A committed `.stormwatch` symbolic link, and links at the temporary names older versions
/// used, lead nowhere: the fix writes only the project's own files.
#[test]
fn planted_symlinks_are_never_followed() {
    let s = Setup::new();
    s.write("app/requirements.txt", "shoplib==1.2\n");
    s.write("outside/fix-backup/keep.txt", "keep\n");
    s.write("outside/.gitignore", "mine\n");
    s.write("outside/target.txt", "precious\n");
    symlink(s.path("outside"), s.root().join(".stormwatch")).unwrap();
    // `.NAME.stormwatch-PID`: the next process ids this test is likely to hand out.
    let me = std::process::id();
    for pid in me..me + 2000 {
        symlink(
            s.path("outside/target.txt"),
            s.root().join(format!(".requirements.txt.stormwatch-{pid}")),
        )
        .unwrap();
    }
    let outside = s.snapshot("outside");
    let out = s.fix(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(s.root().join("requirements.txt")).unwrap(),
        "shoplib==1.5\n"
    );
    assert_eq!(s.snapshot("outside"), outside);
    assert!(fs::symlink_metadata(s.root().join(".stormwatch"))
        .unwrap()
        .file_type()
        .is_symlink());
    // The rollback does not go through it either.
    let out = s.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(s.snapshot("outside"), outside);
    assert_eq!(
        fs::read_to_string(s.root().join("requirements.txt")).unwrap(),
        "shoplib==1.2\n"
    );
}

/// A pin file reached through a symbolic link is not written (a link may lead anywhere),
/// and a pin file that was not read at all is reported: never "Nothing to fix", exit 1.
#[test]
fn skipped_or_refused_inputs_fail_the_run() {
    let s = Setup::new();
    s.write("app/requirements.txt", "six==1.0\n");
    s.write("outside/requirements.txt", "shoplib==1.2\n");
    symlink(
        s.path("outside/requirements.txt"),
        s.root().join("requirements-prod.txt"),
    )
    .unwrap();
    let app = s.snapshot("app");
    let out = s.fix(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("Nothing to fix"), "{stdout}");
    assert!(
        stdout.contains("Skipped: ") && stdout.contains("requirements-prod.txt"),
        "{stdout}"
    );
    let out = s.fix(&["--format", "json"]);
    let report = json_of(&out.stdout);
    assert!(
        report["skipped"][0]["path"]
            .as_str()
            .unwrap()
            .contains("requirements-prod.txt"),
        "{report}"
    );
    assert_eq!(s.snapshot("app"), app);

    // A link inside the project to a file inside it: read, but never written through.
    let s = Setup::new();
    s.write("app/real/reqs.txt", "shoplib==1.2\n");
    symlink("real/reqs.txt", s.root().join("requirements.txt")).unwrap();
    let app = s.snapshot("app");
    let out = s.fix(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Not fixed: shoplib"), "{stdout}");
    assert!(stdout.contains("is a symbolic link"), "{stdout}");
    assert_eq!(s.snapshot("app"), app);
}

fn alive(pid: u32) -> bool {
    // A zombie has finished: only its exit status is left.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

fn wait_for(what: impl Fn() -> bool, secs: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    what()
}

/// `kill -9` during the tests: the test command (and what it started) dies with stormwatch,
/// the journal written before the first edit lets `--rollback` restore the files exactly,
/// and a new fix refuses to start on top of the half-done one.
#[test]
fn sigkill_mid_verify_leaves_no_orphan_and_rollback_recovers() {
    let s = Setup::new();
    let original = "shoplib==1.2  # pinned\r\n";
    s.write("app/requirements.txt", original);
    let pidfile = s.path("verify.pid");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stormwatch"))
        .arg("fix")
        .arg(s.root())
        .arg("--db")
        .arg(s.path("osv"))
        .args(["--no-bundled", "--offline", "--verify"])
        .arg(format!(
            "sleep 60 & echo $! > {}.tmp && mv {0}.tmp {0}; wait",
            pidfile.display()
        ))
        .env("STORMWATCH_DB", s.path("none.db"))
        .env("STORMWATCH_STATE_DIR", s.path("state"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(|| pidfile.exists(), 20),
        "the verify command never started"
    );
    let sleeper: u32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(sleeper));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        wait_for(|| !alive(sleeper), 10),
        "the verify command's process {sleeper} outlived stormwatch"
    );
    assert_eq!(
        fs::read_to_string(s.root().join("requirements.txt")).unwrap(),
        "shoplib==1.5  # pinned\r\n",
        "killed with the upgrade applied"
    );
    let out = s.fix(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("was interrupted and not rolled back"),
        "{}",
        text(&out.stderr)
    );
    let out = s.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("interrupted fix"));
    assert_eq!(
        fs::read(s.root().join("requirements.txt")).unwrap(),
        original.as_bytes()
    );
    assert!(!Path::new(&s.path("app/.stormwatch")).exists());
}

/// A range that admits a vulnerable version is reported by `deps`; `fix` edits exact pins
/// only, so it leaves the range as it is, says so with the floor to raise it to, and fails
/// the run: never "Nothing to fix" while the audit of the same files finds something.
#[test]
fn a_vulnerable_range_fix_cannot_edit_fails_the_run() {
    for spec in ["==6.1.*", ">=6.1,<=6.1", "~=6.1.0"] {
        let s = Setup::new();
        s.write("app/requirements.txt", &format!("tornado{spec}\n"));
        let app = s.snapshot("app");
        let deps = sw(s.dir.path())
            .env("STORMWATCH_STATE_DIR", s.path("state"))
            .arg("deps")
            .arg(s.root())
            .arg("--db")
            .arg(s.path("osv"))
            .arg("--no-bundled")
            .output()
            .unwrap();
        assert_eq!(
            deps.status.code(),
            Some(1),
            "{spec}: {}",
            text(&deps.stdout)
        );

        let out = s.fix(&[]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{spec}: {stdout}");
        assert!(!stdout.contains("Nothing to fix"), "{spec}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.starts_with("Not fixed: tornado "))
            .unwrap_or_else(|| panic!("{spec}: {stdout}"));
        assert!(
            line.contains("requirements.txt:1: a version range"),
            "{line}"
        );
        assert!(
            line.contains("raise the range's lower bound to 6.5"),
            "{line}"
        );

        let out = s.fix(&["--format", "json", "--dry-run"]);
        assert_eq!(out.status.code(), Some(1), "{spec}");
        let report = json_of(&out.stdout);
        let remaining = report["remaining"].as_array().unwrap();
        assert_eq!(remaining.len(), 1, "{report}");
        assert_eq!(remaining[0]["package"], "tornado", "{report}");
        assert!(
            remaining[0]["location"]
                .as_str()
                .unwrap()
                .ends_with("requirements.txt:1"),
            "{report}"
        );
        assert_eq!(s.snapshot("app"), app, "{spec}: a range is never edited");
    }

    // A pin fixed next to the range does not hide it; a safe range adds nothing.
    let s = Setup::new();
    s.write("app/requirements.txt", "shoplib==1.2\ntornado~=6.1.0\n");
    let out = s.fix(&[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Fixed: shoplib 1.2 -> 1.5"), "{stdout}");
    assert!(stdout.contains("Not fixed: tornado ~=6.1.0"), "{stdout}");

    let out = s.fix(&["--ignore-unpinned"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    let s = Setup::new();
    s.write("app/requirements.txt", "tornado>=6.5\n");
    let out = s.fix(&[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Nothing to fix"), "{stdout}");
}
