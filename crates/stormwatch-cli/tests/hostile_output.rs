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
#[path = "common/fix_project.rs"]
mod fix_project;
#[path = "common/server.rs"]
mod server;

use common::sw;
use server::{Reply, Server};

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

// ---- item 15 (probe): tokens in a probed URL never reach a report ----

/// `stormwatch probe` without proxies from the environment.
fn probe(dir: &Path) -> Command {
    let mut cmd = run(dir);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.arg("probe");
    cmd
}

#[test]
fn query_values_of_the_probed_url_are_redacted_in_every_output() {
    let home = tempfile::tempdir().unwrap();
    // A Tornado that discloses its version, sends tracebacks, and redirects its login page
    // to another host with a code in the query.
    let server = Server::start(None, |r| {
        let server = ("Server", "TornadoServer/6.4.2");
        if r.path.starts_with("/?token=") {
            Reply::ok(
                b"<html>home</html>".to_vec(),
                &[server, ("Content-Type", "text/html")],
            )
        } else if r.path.starts_with("/login") {
            Reply::Send {
                status: 302,
                headers: vec![(
                    "Location".into(),
                    "http://localhost:9/cb?code=SEKRIT-REDIRECT".into(),
                )],
                body: vec![],
            }
        } else {
            Reply::Send {
                status: 500,
                headers: vec![(server.0.into(), server.1.into())],
                body: b"Traceback (most recent call last):\n  File \"/app/tornado/web.py\", line 1, in f\nKeyError: 'x'\n".to_vec(),
            }
        }
    });
    let url = format!("{}/?token=SEKRIT-TOKEN&user=alice", server.url);
    for format in ["table", "json", "markdown", "sarif", "junit", "github"] {
        let out = probe(home.path())
            .args([
                url.as_str(),
                "--path",
                "/login?next=SEKRIT-PATH",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains("SEKRIT"),
            "{format} shows a query value:\n{text}"
        );
        if format == "json" {
            assert!(text.contains("token=REDACTED"), "{text}");
        }
    }
    // The requests themselves were sent as given.
    assert!(server
        .requests()
        .iter()
        .any(|r| r.path == "/?token=SEKRIT-TOKEN&user=alice"));
    // Nor in an error: a service that does not answer.
    let silent = Server::start(None, |_| Reply::Hang);
    let err = stderr_of(
        probe(home.path()).args([
            format!("{}/?token=SEKRIT-TOKEN", silent.url).as_str(),
            "--timeout",
            "1",
            "--total-timeout",
            "2",
        ]),
        2,
    );
    assert!(err.contains("did not answer"), "{err}");
    assert!(!err.contains("SEKRIT"), "{err}");
}

// ---- item 6: names and contents from the tree cannot drive the terminal or forge lines ----

/// A file name that hides what follows it, breaks the line and starts a GitHub Actions
/// workflow command.
const EVIL_PY: &str = "app\u{1b}[8m\n::error file=x::forged.py";
const EVIL_REQ: &str = "requirements\u{1b}[2J\r\n::error::x.txt";

/// A repository whose file names and contents carry escape sequences and line breaks.
fn hostile_tree(p: &Path) {
    write(
        p,
        EVIL_PY,
        "import os\nimport tornado.web\n\n\
         settings = {\"debug\": os.environ.get(\"D\u{1b}[8mEBUG\", \"1\")}\n\
         app = tornado.web.Application([], **settings)\n\
         other = tornado.web.Application([], serve_traceback=True)  # stormwatch: ignore[TW003] demo \u{1b}[8m hidden\n",
    );
    write(p, EVIL_REQ, "tornado==6.1  # \u{1b}[8m\n");
}

/// No raw control character but the line breaks of the output itself, and no line that a
/// CI log would take as a workflow command.
fn assert_inert(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "{what}: raw ESC in the output:\n{text}"
    );
    assert!(
        !text.contains('\r'),
        "{what}: raw CR in the output:\n{text}"
    );
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line forged from a name: {line:?}\n{text}"
        );
    }
}

#[test]
fn names_and_contents_with_escapes_and_newlines_are_shown_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    hostile_tree(p);
    for format in ["table", "markdown"] {
        for verbose in [false, true] {
            let mut cmd = run(p);
            cmd.args(["check", "--format", format]);
            if verbose {
                cmd.arg("--verbose");
            }
            let out = cmd.output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert_inert(format, &text);
            assert_inert(format, &String::from_utf8(out.stderr).unwrap());
            // The names are still there, escaped, so the reader can find the file.
            assert!(text.contains("forged.py"), "{format}: {text}");
            assert!(text.contains("\\u{1b}"), "{format}: {text}");
            assert!(text.contains("\\n::error"), "{format}: {text}");
        }
    }
    // The checklist quotes evidence from the same findings.
    let text = stdout_of(run(p).args(["checklist"]), 1);
    assert_inert("checklist", &text);
    // JSON stays faithful: the real name, as JSON escapes it.
    let v: Value =
        serde_json::from_str(&stdout_of(run(p).args(["check", "--format", "json"]), 1)).unwrap();
    let files: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&EVIL_PY), "{files:?}");
    assert!(files.contains(&EVIL_REQ), "{files:?}");
}

#[test]
fn error_messages_quote_names_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    for args in [
        vec!["check", "missing\u{1b}[8m\n::error::forged"],
        vec!["deps", "missing\u{1b}[8m\n::error::forged.txt"],
    ] {
        let err = stderr_of(run(p).args(&args), 2);
        assert_inert("error", &err);
        assert!(err.contains("\\n::error::forged"), "{err}");
    }
    // A policy in the tree whose values carry escapes, printed by `init --process`.
    write(
        p,
        "stormwatch.toml",
        "[owners]\n\"tornado\" = \"@web\\u001b[8m\\n::error::x\"\n\n[[ignore]]\nid = \"TW001\"\nreason = \"ok\\r\\n::error::forged\"\n",
    );
    let page = stdout_of(run(p).args(["init", "--process"]), 0);
    assert_inert("init --process", &page);
}

// ---- item 7: inline suppressions in the pull request versus the team's policy ----

/// A pull request turning debug on, with a comment that suppresses the finding.
fn suppressed_debug(p: &Path) {
    write(
        p,
        "app.py",
        "import tornado.web\n\napp = tornado.web.Application([], debug=True)  # stormwatch: ignore[TW001] reviewed\n",
    );
}

/// The JSON report, checked against the published schema.
fn report(cmd: &mut Command, code: i32) -> Value {
    let v: Value = serde_json::from_str(&stdout_of(cmd.args(["--format", "json"]), code)).unwrap();
    let text = fs::read_to_string(common::repo_root().join("docs/report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
    v
}

fn ids(v: &Value) -> Vec<(String, bool)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f.get("suppression").is_some(),
            )
        })
        .collect()
}

#[test]
fn inline_suppressions_are_listed_and_honoured_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    suppressed_debug(p);
    let v = report(run(p).arg("config"), 0);
    assert_eq!(ids(&v), [("TW001".to_string(), true)]);
    let listed = &v["inline_suppressions"][0];
    assert_eq!(listed["location"]["file"], "app.py");
    assert_eq!(listed["location"]["line"], 3);
    assert_eq!(listed["ids"][0], "TW001");
    assert_eq!(listed["reason"], "reviewed");
    assert_eq!(listed["outcome"], "honoured");
    let table = stdout_of(run(p).arg("config"), 0);
    assert!(
        table.contains("Inline suppressions (1)")
            && table.contains("app.py:3 ignore[TW001] (honoured): reviewed"),
        "{table}"
    );
    let md = stdout_of(run(p).args(["config", "--format", "markdown"]), 0);
    assert!(md.contains("1 inline suppression"), "{md}");
    assert!(md.contains("`app.py:3` ignore"), "{md}");
    let gh = stdout_of(run(p).args(["config", "--format", "github"]), 0);
    assert!(
        gh.contains("stormwatch: inline suppression app.py:3"),
        "{gh}"
    );
    let sarif = stdout_of(run(p).args(["config", "--format", "sarif"]), 0);
    assert!(
        sarif.contains("inline suppression ignore[TW001] (honoured): reviewed"),
        "{sarif}"
    );
    let junit = stdout_of(run(p).args(["config", "--format", "junit"]), 0);
    assert!(
        junit.contains("<property name=\"inline suppression\" value=\"app.py:3 ignore[TW001] (honoured): reviewed\"/>"),
        "{junit}"
    );
}

#[test]
fn a_policy_outside_the_tree_denies_inline_suppressions() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    suppressed_debug(p);
    // The pull request also ships a policy that allows them: --config wins.
    write(p, "stormwatch.toml", "inline-ignores = \"allow\"\n");
    let team = tempfile::tempdir().unwrap();
    let policy = team.path().join("policy.toml");
    fs::write(&policy, "fail-on = \"medium\"\ninline-ignores = \"deny\"\n").unwrap();
    let v = report(run(p).arg("config").arg("--config").arg(&policy), 1);
    let found = ids(&v);
    assert!(found.contains(&("TW001".into(), false)), "{found:?}");
    assert!(found.contains(&("TW401".into(), false)), "{found:?}");
    let tw401 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "TW401")
        .unwrap();
    assert_eq!(tw401["severity"], "medium");
    assert_eq!(tw401["location"]["file"], "app.py");
    assert_eq!(tw401["location"]["line"], 3);
    assert!(tw401["message"].as_str().unwrap().contains("reviewed"));
    assert_eq!(v["inline_suppressions"][0]["outcome"], "denied");
    // The team's policy may still accept the finding itself.
    fs::write(
        &policy,
        "inline-ignores = \"deny\"\n\n[[ignore]]\nid = \"TW001\"\npath = \"app.py\"\nreason = \"accepted by the team\"\n",
    )
    .unwrap();
    let v = report(run(p).arg("config").arg("--config").arg(&policy), 1);
    assert_eq!(
        ids(&v),
        [("TW001".to_string(), true), ("TW401".to_string(), false)]
    );
}

#[test]
fn report_only_and_the_flag_over_the_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    suppressed_debug(p);
    let v = report(
        run(p).args(["config", "--inline-ignores", "report-only"]),
        1,
    );
    assert_eq!(ids(&v), [("TW001".to_string(), false)]);
    assert_eq!(v["inline_suppressions"][0]["outcome"], "not-honoured");
    let table = stdout_of(
        run(p).args(["config", "--inline-ignores", "report-only"]),
        1,
    );
    assert!(table.contains("(not honoured): reviewed"), "{table}");
    write(p, "stormwatch.toml", "inline-ignores = \"deny\"\n");
    run(p).arg("config").assert().code(1);
    run(p)
        .args(["config", "--inline-ignores", "allow"])
        .assert()
        .code(0);
    run(p)
        .args(["config", "--inline-ignores", "sometimes"])
        .assert()
        .code(2);
    write(p, "stormwatch.toml", "inline-ignores = \"never\"\n");
    let err = stderr_of(run(p).arg("config"), 2);
    assert!(err.contains("stormwatch.toml:1: inline-ignores"), "{err}");
}

#[test]
fn tw401_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let list = stdout_of(run(tmp.path()).arg("rules"), 0);
    assert!(list.contains("TW401"), "{list}");
    let doc = stdout_of(run(tmp.path()).args(["explain", "TW401"]), 0);
    for section in ["## What it catches", "## Why", "## Example", "## Fix"] {
        assert!(doc.contains(section), "{doc}");
    }
}

/// `fix --dry-run` shows the diff, the plan and the commands it would run: the file's
/// name and its lines come from the tree, so a "hidden text" escape in either must be
/// shown, not obeyed (it made the following `Would run:` line invisible).
#[test]
fn fix_dry_run_shows_names_and_lines_escaped() {
    // A directory name with a newline and a workflow command: joined into the diff header
    // raw, it would start a `::error` line of its own in a CI log.
    let name = "sub\u{1b}[8m\n::error::x/requirements\u{1b}[8m.txt";
    let p = fix_project::Project::new(&[(
        name,
        "# \u{1b}[8mhidden\u{1b}[0m\nshoplib==1.2\r\n# next\u{1b}]0;title\u{7}\n",
    )]);
    let out = p.fix(&["--offline", "--dry-run"]);
    let stdout = fix_project::text(&out.stdout);
    let stderr = fix_project::text(&out.stderr);
    assert!(stdout.contains("+shoplib==1.5.1"), "{stdout}{stderr}");
    for (what, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains('\u{1b}'), "raw ESC on {what}: {text:?}");
        assert!(!text.contains('\u{7}'), "raw BEL on {what}: {text:?}");
        assert!(!text.contains('\r'), "raw CR on {what}: {text:?}");
    }
    assert!(
        stdout.contains("+++ b/sub\\u{1b}[8m\\n::error::x/requirements\\u{1b}[8m.txt"),
        "{stdout}"
    );
    assert!(
        !stdout
            .lines()
            .chain(stderr.lines())
            .any(|l| l.starts_with("::")),
        "a name started a workflow command: {stdout}{stderr}"
    );
    assert!(stdout.contains("\\u{1b}[8mhidden"), "{stdout}");
}
