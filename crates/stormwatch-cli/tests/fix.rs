//! `stormwatch fix` from the binary: edits of every manifest kind compared byte for byte,
//! hashes from a local index directory, verification with exact rollback, bisection,
//! SIGTERM, the journal, commits. Advisories come from an OSV directory (`--db`), never the
//! network (`--offline` or a local `--index-url`).

mod common;
#[path = "common/fix_project.rs"]
mod fix_project;
#[path = "common/server.rs"]
mod server;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{json_of, sw};
use fix_project::{advisory, sha256_hex, text, Project};
use serde_json::Value;

const REQS: &str = "# app pins\r\nshoplib[fast] == 1.2 ; python_version >= \"3.8\"  # keep me\r\n-r base.txt\r\nflask>=2\r\n";
const BASE: &str = "authlib==1.0 \\\n    # continued comment\nsix==1.16.0\n";
const PEP621: &str = "[project]\nname = \"svc\"\nversion = \"0\"\ndependencies = [\n    'shoplib==1.2',  # pinned\n    \"authlib == 1.0; sys_platform != 'win32'\",\n]\n[project.optional-dependencies]\nextra = [\"six==1.16.0\"]\n";
const POETRY: &str = "[tool.poetry]\nname = \"svc\"\n\n[tool.poetry.dependencies]\npython = \"^3.9\"\nshoplib = \"1.2\"\nauthlib = { version = \"==1.0\", optional = true }\n";
const PIPFILE: &str = "[[source]]\nurl = \"https://pypi.org/simple\"\nname = \"pypi\"\n\n[packages]\nshoplib = \"==1.2\"\nauthlib = {version = \"==1.0\", extras = [\"x\"]}\n";

#[test]
fn every_manifest_kind_is_edited_byte_for_byte_except_the_version() {
    let p = Project::new(&[
        ("req/requirements.txt", REQS),
        ("req/base.txt", BASE),
        ("pep621/pyproject.toml", PEP621),
        ("poetry/pyproject.toml", POETRY),
        ("pipenv/Pipfile", PIPFILE),
    ]);
    let out = p.fix(&["--offline", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json_of(&out.stdout);
    let fixed: Vec<(&str, &str)> = report["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["package"].as_str().unwrap(), f["to"].as_str().unwrap()))
        .collect();
    // shoplib: 1.5 fixes SHOP-1 but SHOP-2 affects it; 1.5.1 is the smallest safe.
    assert_eq!(fixed, [("authlib", "2.0"), ("shoplib", "1.5.1")]);
    assert_eq!(
        p.read("req/requirements.txt"),
        REQS.replace("== 1.2 ;", "== 1.5.1 ;")
    );
    assert_eq!(
        p.read("req/base.txt"),
        BASE.replace("==1.0", "==2.0"),
        "the include is edited where the pin is written"
    );
    assert_eq!(
        p.read("pep621/pyproject.toml"),
        PEP621
            .replace("'shoplib==1.2'", "'shoplib==1.5.1'")
            .replace("== 1.0;", "== 2.0;")
    );
    assert_eq!(
        p.read("poetry/pyproject.toml"),
        POETRY
            .replace("\"1.2\"", "\"1.5.1\"")
            .replace("==1.0", "==2.0")
    );
    assert_eq!(
        p.read("pipenv/Pipfile"),
        PIPFILE
            .replace("==1.2", "==1.5.1")
            .replace("==1.0", "==2.0")
    );
    // The audit agrees: nothing left.
    let audit = sw(p.dir.path())
        .args(["deps", "app", "--no-bundled", "--db", "osv"])
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit.stdout));
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let p = Project::new(&[("requirements.txt", "shoplib==1.2\nsix==1.0\n")]);
    let before = p.snapshot();
    let out = p.fix(&["--offline", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("--- a/requirements.txt\n+++ b/requirements.txt\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-shoplib==1.2\n+shoplib==1.5.1\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Would fix: shoplib 1.2 -> 1.5.1"),
        "{stdout}"
    );
    assert_eq!(p.snapshot(), before);
    assert!(!p.root().join(".stormwatch").exists());
}

#[test]
fn hash_pinned_requirements_get_the_new_release_hashes() {
    let reqs = "shoplib==1.2 \\\n    --hash=sha256:1111111111111111111111111111111111111111111111111111111111111111 \\\n    --hash=sha256:2222222222222222222222222222222222222222222222222222222222222222\n    # via app\n";
    let p = Project::new(&[("requirements.txt", reqs)]);
    // Without an index the hashes are unknown: not edited, and the fix says what to run.
    let before = p.snapshot();
    let out = p.fix(&["--offline"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("pip-compile --generate-hashes"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(p.snapshot(), before);

    // A local index directory: a wheel and an sdist of 1.5.1 (and 1.5, which is affected).
    let index = p.dir.path().join("wheels");
    fs::create_dir_all(&index).unwrap();
    for (name, body) in [
        ("shoplib-1.5-py3-none-any.whl", &b"w15"[..]),
        ("shoplib-1.5.1-py3-none-any.whl", b"w151"),
        ("shoplib-1.5.1.tar.gz", b"s151"),
    ] {
        fs::write(index.join(name), body).unwrap();
    }
    let out = p.fix(&["--index-url", index.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mut hashes = [sha256_hex(b"w151"), sha256_hex(b"s151")];
    hashes.sort();
    assert_eq!(
        p.read("requirements.txt"),
        format!(
            "shoplib==1.5.1 \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\n    # via app\n",
            hashes[0], hashes[1]
        )
    );
}

#[test]
fn a_failing_verify_restores_every_file_byte_for_byte() {
    let p = Project::new(&[
        ("requirements.txt", "shoplib==1.2\r\n"),
        ("pyproject.toml", PEP621),
    ]);
    let before = p.snapshot();
    let out = p.fix(&["--offline", "--verify", "echo 'E   assert broken'; exit 1"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Verify `echo 'E   assert broken'; exit 1`: failed"),
        "{stdout}"
    );
    assert!(stdout.contains("| E   assert broken"), "{stdout}");
    assert!(stdout.contains("every file was restored"), "{stdout}");
    assert_eq!(p.snapshot(), before);
    assert!(!p.root().join(".stormwatch/fix-journal.json").exists());
    // A verify that runs too long counts as failed too.
    let out = p.fix(&["--offline", "--verify", "sleep 30", "--verify-timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("timed-out"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(p.snapshot(), before);
}

#[test]
fn bisect_keeps_the_upgrades_that_pass() {
    let p = Project::new(&[("requirements.txt", "shoplib==1.2\nauthlib==1.0\n")]);
    // The tests break with authlib 2.0 only.
    let out = p.fix(&[
        "--offline",
        "--verify",
        "! grep -q 'authlib==2.0' requirements.txt",
        "--bisect",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = json_of(&out.stdout);
    assert_eq!(report["fixed"][0]["package"], "shoplib");
    assert_eq!(report["fixed"].as_array().unwrap().len(), 1);
    assert_eq!(report["remaining"][0]["package"], "authlib");
    assert!(report["verify"]["result"]
        .as_str()
        .unwrap()
        .contains("bisect kept 1"));
    assert_eq!(p.read("requirements.txt"), "shoplib==1.5.1\nauthlib==1.0\n");
}

#[test]
fn sigterm_during_verify_restores_everything() {
    let p = Project::new(&[("requirements.txt", "shoplib==1.2\nauthlib==1.0\n")]);
    let before = p.snapshot();
    let started = p.dir.path().join("started");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_stormwatch"))
        .arg("fix")
        .arg(p.root())
        .arg("--db")
        .arg(p.dir.path().join("osv"))
        .args(["--no-bundled", "--offline", "--verify"])
        .arg(format!("touch {} && sleep 60", started.display()))
        .env("STORMWATCH_DB", p.dir.path().join("none.db"))
        .env("STORMWATCH_STATE_DIR", p.state())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the tests run, with the upgrade applied.
    for _ in 0..400 {
        if started.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(started.exists(), "the verify command never started");
    assert_ne!(
        p.snapshot(),
        before,
        "the upgrade is applied while the tests run"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("restored"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(p.snapshot(), before);
}

#[test]
fn what_cannot_be_fixed_is_said_and_fails_the_run() {
    let p = Project::new(&[("requirements.txt", "nofix==1.0\nshoplib==0.9\n")]);
    let before = p.snapshot();
    let out = p.fix(&["--offline", "--max-bump", "patch", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out.stdout);
    let reasons: Vec<(String, String)> = report["remaining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["package"].as_str().unwrap().into(),
                r["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{report}");
    assert!(
        reasons[0].1.contains("no known release is free"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].1.contains("1.5.1, is beyond --max-bump"),
        "{reasons:?}"
    );
    assert_eq!(p.snapshot(), before);
}

#[test]
fn rollback_undoes_the_last_fix_and_refuses_after_an_edit() {
    let p = Project::new(&[("requirements.txt", "shoplib==1.2\n"), ("Pipfile", PIPFILE)]);
    let before = p.snapshot();
    let out = p.fix(&["--offline", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    // The journal is kept outside the project, in the user's state directory.
    let run = PathBuf::from(json_of(&out.stdout)["journal"].as_str().unwrap());
    assert!(run.starts_with(p.state()), "{}", run.display());
    assert!(!p.root().join(".stormwatch").exists());
    let journal: Value =
        serde_json::from_str(&fs::read_to_string(run.join("journal.json")).unwrap()).unwrap();
    assert_eq!(journal["files"].as_array().unwrap().len(), 2);
    assert_eq!(journal["complete"], true);
    // Rollback restores both files.
    assert_eq!(p.fix(&["--rollback"]).status.code(), Some(0));
    assert_eq!(p.snapshot(), before);
    // Again, then a manual edit: refused, nothing touched.
    assert_eq!(p.fix(&["--offline"]).status.code(), Some(0));
    p.write(
        "Pipfile",
        &PIPFILE.replace("[packages]", "[packages]\nrequests = \"*\""),
    );
    let edited = p.snapshot();
    let out = p.fix(&["--rollback"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("changed since the fix"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("Pipfile"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(p.snapshot(), edited);
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn commit_package_filter_and_json() {
    let p = Project::new(&[
        ("requirements.txt", "shoplib==1.2\nauthlib==1.0\n"),
        ("notes.txt", "unrelated\n"),
    ]);
    let root = p.root();
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "start"]);
    // Something else staged must not ride along.
    p.write("notes.txt", "staged, not part of the fix\n");
    git(&root, &["add", "notes.txt"]);
    let out = sw(p.dir.path())
        .env("STORMWATCH_STATE_DIR", p.state())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .arg("fix")
        .arg(&root)
        .arg("--db")
        .arg(p.dir.path().join("osv"))
        .args([
            "--no-bundled",
            "--offline",
            "--package",
            "AuthLib",
            "--commit",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json_of(&out.stdout);
    assert_eq!(report["fixed"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["fixed"][0]["package"], "authlib");
    let sha = report["commit"].as_str().unwrap();
    let message = git(&root, &["log", "-1", "--format=%B", sha]);
    assert!(message.contains("authlib 1.0 -> 2.0: AUTH-1"), "{message}");
    let files = git(&root, &["show", "--name-only", "--format=", sha]);
    assert_eq!(files.trim(), "requirements.txt");
    assert_eq!(p.read("requirements.txt"), "shoplib==1.2\nauthlib==2.0\n");
    assert!(
        git(&root, &["status", "--short"]).contains("M  notes.txt"),
        "still staged"
    );
    // A package that is not a dependency is a usage error, not a quiet success.
    let out = p.fix(&["--offline", "--package", "no-such-package"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no-such-package"),
        "{}",
        text(&out.stderr)
    );
}

/// A lock whose tool is not installed: the pin in pyproject.toml is not edited alone (the
/// lock would disagree), and the fix names the command to run.
#[test]
fn a_missing_lock_tool_is_reported_with_the_command() {
    let fixture = common::repo_root().join("crates/stormwatch-manifest/tests/fixtures/uv-forks");
    let p = Project::new(&[
        (
            "pyproject.toml",
            &fs::read_to_string(fixture.join("pyproject.toml")).unwrap(),
        ),
        (
            "uv.lock",
            &fs::read_to_string(fixture.join("uv.lock")).unwrap(),
        ),
    ]);
    p.write(
        "../osv/TORN-1.json",
        &advisory("TORN-1", "tornado", "0", "6.4.2"),
    );
    let before = p.snapshot();
    let empty = tempfile::tempdir().unwrap();
    let out = sw(p.dir.path())
        .env("STORMWATCH_STATE_DIR", p.state())
        .env("PATH", empty.path())
        .arg("fix")
        .arg(p.root())
        .arg("--db")
        .arg(p.dir.path().join("osv"))
        .args(["--no-bundled", "--offline"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("uv is not installed"), "{stdout}");
    // The 6.5.9 fork is safe: uv is asked to upgrade, not to force a version everywhere.
    assert!(stdout.contains("instead: (in "), "{stdout}");
    assert!(
        stdout.contains("uv lock --upgrade-package tornado"),
        "{stdout}"
    );
    assert_eq!(
        p.snapshot(),
        before,
        "the pyproject edit is rolled back with the lock"
    );
}

/// A PEP 691 index over HTTP (on 127.0.0.1): its releases decide the version (a yanked one
/// is skipped) and its hashes go into the hash-pinned requirement.
#[test]
fn an_http_simple_index_gives_releases_yanked_ones_and_hashes() {
    let p = Project::new(&[(
        "requirements.txt",
        "shoplib==1.2 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    )]);
    // SHOP-1 affects < 1.5 and SHOP-2 1.5: the index has 1.5.1 (yanked) and 1.6.
    let page = r#"{"meta":{"api-version":"1.1"},"name":"shoplib","files":[
      {"filename":"shoplib-1.5.1-py3-none-any.whl","hashes":{"sha256":"aaaa"},"yanked":"broken metadata"},
      {"filename":"shoplib-1.6-py3-none-any.whl","hashes":{"sha256":"bbbb"},"requires-python":">=3.8"},
      {"filename":"shoplib-1.6.tar.gz","hashes":{"sha256":"cccc"}}]}"#;
    let index = server::Server::start(None, move |req| {
        if req.path == "/simple/shoplib/" {
            server::Reply::ok(
                page.as_bytes().to_vec(),
                &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
            )
        } else {
            server::Reply::status(404)
        }
    });
    let out = p.fix(&["--index-url", &format!("{}/simple", index.url)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        p.read("requirements.txt"),
        "shoplib==1.6 --hash=sha256:bbbb --hash=sha256:cccc\n"
    );
    let asked = &index.requests()[0];
    assert!(
        asked
            .header("accept")
            .unwrap()
            .contains("application/vnd.pypi.simple.v1+json"),
        "{asked:?}"
    );
}

/// The index server is not trusted: a redirect on the same kind of address is followed, one
/// to a link-local address (a cloud metadata service) is refused and named, never fetched.
/// (Before, the HTTP client followed any redirect of an index page.)
#[test]
fn index_redirects_are_checked() {
    let page = r#"{"meta":{"api-version":"1.1"},"name":"shoplib","files":[
      {"filename":"shoplib-1.6-py3-none-any.whl","hashes":{"sha256":"bbbb"}}]}"#;
    let to_metadata = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = to_metadata.clone();
    let index = server::Server::start(None, move |req| {
        if req.path == "/simple/shoplib/" && !flag.load(std::sync::atomic::Ordering::SeqCst) {
            return server::Reply::Send {
                status: 302,
                headers: vec![("Location".into(), "/mirror/shoplib/".into())],
                body: vec![],
            };
        }
        if req.path == "/simple/shoplib/" {
            return server::Reply::Send {
                status: 302,
                headers: vec![(
                    "Location".into(),
                    "http://169.254.169.254/latest/meta-data/".into(),
                )],
                body: vec![],
            };
        }
        if req.path == "/mirror/shoplib/" {
            return server::Reply::ok(
                page.as_bytes().to_vec(),
                &[("Content-Type", "application/vnd.pypi.simple.v1+json")],
            );
        }
        server::Reply::status(404)
    });
    let url = format!("{}/simple", index.url);

    let p = Project::new(&[("requirements.txt", "shoplib==1.2\n")]);
    let out = p.fix(&["--index-url", &url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(p.read("requirements.txt"), "shoplib==1.6\n");

    to_metadata.store(true, std::sync::atomic::Ordering::SeqCst);
    let p = Project::new(&[("requirements.txt", "shoplib==1.2\n")]);
    let out = p.fix(&["--index-url", &url]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("redirect to http://169.254.169.254/latest/meta-data/ refused"),
        "{stderr}"
    );
    // Without the index, the advisory data's fixed versions are used, as for any index
    // that cannot be read.
    assert!(
        stderr.contains("the advisory data's fixed versions are used"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(p.read("requirements.txt"), "shoplib==1.5.1\n");
}
