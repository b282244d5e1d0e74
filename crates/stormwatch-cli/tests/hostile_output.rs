//! What a hostile repository, advisory source or probed service can put in front of a
//! reader, and what it can make the policy do: every test drives the built binary against
//! planted files and a local server, and checks that the output stays inert and the team's
//! policy, not the pull request, decides.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::sw;

/// Far above any real run on these inputs; only a hang or a crash loop reaches it.
const BOUND: Duration = Duration::from_secs(60);

fn run(dir: &Path) -> Command {
    let mut cmd = sw(dir);
    cmd.timeout(BOUND);
    cmd
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn stdout_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    String::from_utf8(out.stdout).unwrap()
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

/// An OSV directory with one advisory against `demo` below 2.0, published on `published`.
fn advisory(dir: &Path, published: &str) {
    write(
        dir,
        "vulns/PYSEC-9999-1.json",
        &format!(
            r#"{{"id":"PYSEC-9999-1","published":"{published}T00:00:00Z","modified":"{published}T00:00:00Z",
"summary":"a flaw","affected":[{{"package":{{"ecosystem":"PyPI","name":"demo"}},
"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"2.0"}}]}}]}}],
"database_specific":{{"severity":"HIGH"}}}}"#
        ),
    );
}

// ---- item 17: no panic on policy arithmetic or patterns ----

#[test]
fn an_advisory_dated_at_the_end_of_the_calendar_does_not_crash_deadlines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    advisory(p, "9999-12-31");
    write(p, "requirements.txt", "demo==1.0\n");
    write(p, "stormwatch.toml", "[deadlines]\nhigh = 3650\n");
    let out = stdout_of(
        run(p).args(["deps", "--db", "vulns", "--no-bundled", "--format", "json"]),
        1,
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["id"], "PYSEC-9999-1");
    assert!(f.get("due").is_none(), "no representable deadline: {f}");
    assert!(f.get("overdue").is_none());
    // The table too, and a `check` over the same tree.
    run(p)
        .args(["deps", "--db", "vulns", "--no-bundled"])
        .assert()
        .code(1);
}

#[test]
fn deeply_nested_policy_patterns_are_an_error_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(p, "requirements.txt", "demo==1.0\n");
    let nested = format!("{}a{}", "{".repeat(250), "}".repeat(250));
    write(
        p,
        "stormwatch.toml",
        &format!("fail-on = \"high\"\n\n[owners]\n\"{nested}\" = \"@team\"\n"),
    );
    let err = stderr_of(run(p).args(["deps", "--no-bundled"]), 2);
    assert!(
        err.contains("stormwatch.toml:4: pattern too deeply nested"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // An ignore's path, and a pattern past the length limit, in a policy given with --config.
    let outside = tempfile::tempdir().unwrap();
    let policy = outside.path().join("policy.toml");
    let long = "x".repeat(5000);
    fs::write(
        &policy,
        format!("[[ignore]]\nid = \"TW001\"\nreason = \"r\"\npath = \"{long}\"\n"),
    )
    .unwrap();
    fs::remove_file(p.join("stormwatch.toml")).unwrap();
    let err = stderr_of(run(p).args(["check", "--config"]).arg(&policy), 2);
    assert!(err.contains("policy.toml:4: pattern too long"), "{err}");
}
