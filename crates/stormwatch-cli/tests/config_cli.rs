//! `stormwatch config`, `rules` and `explain` from the built binary.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn sw(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(dir);
    cmd
}

fn app_fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stormwatch-tornado/tests/fixtures/multi-module-app")
}

#[test]
fn json_contract_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sw(tmp.path())
        .args(["config", "--format", "json"])
        .arg(app_fixture())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["version"], 2);
    let findings = v["findings"].as_array().unwrap();
    let f = findings.iter().find(|f| f["id"] == "TW002").unwrap();
    assert_eq!(f["kind"], "config");
    assert!(
        f.get("rule").is_none() && f.get("path").is_none(),
        "one id, one location"
    );
    assert_eq!(f["severity"], "high");
    let path = f["location"]["file"].as_str().unwrap();
    assert!(path.ends_with("/config/production.py"), "{path}");
    assert_eq!(f["location"]["line"], 3);
    assert_eq!(f["location"]["column"], 14);
    assert!(f["message"].as_str().unwrap().contains("autoreload"));
    assert!(f["trace"].as_array().unwrap().len() >= 3);
    assert!(findings
        .iter()
        .any(|f| f["suppression"]["kind"] == "inline" && f["suppression"]["reason"].is_string()));
    assert!(v["summary"]["suppressed"].as_u64().unwrap() >= 1);

    // Only the suppressed finding selected: nothing fails.
    sw(tmp.path())
        .args(["config", "--select", "TW001", "--ignore", "TW001"])
        .arg(app_fixture())
        .assert()
        .code(0);
    sw(tmp.path())
        .args(["config", "--fail-on", "critical"])
        .arg(app_fixture())
        .assert()
        .code(0);
    sw(tmp.path())
        .args(["config", "--select", "TW999"])
        .arg(app_fixture())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown rule id `TW999`"));
}

#[test]
fn table_shows_chain() {
    let tmp = tempfile::tempdir().unwrap();
    sw(&app_fixture())
        .arg("config")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("config/production.py:3:14"))
        .stdout(predicate::str::contains(
            "read by parse_config_file for options.autoreload",
        ))
        .stdout(predicate::str::contains("1 suppressed"));
    drop(tmp);
}

#[test]
fn broken_files_are_reported_and_the_scan_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    fs::write(
        p.join("app.py"),
        "import tornado.web\napp = tornado.web.Application([], debug=True)\n",
    )
    .unwrap();
    fs::write(p.join("broken.py"), "def f(:\n    pass\n").unwrap();
    fs::write(p.join("latin1.py"), b"x = '\xe9'\n").unwrap();
    fs::write(p.join("blob.py"), b"\x00\x01\x02").unwrap();
    let out = sw(p)
        .args(["config", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    // Files that could not be analysed make the audit incomplete, in every format.
    let notices = v["incomplete"].to_string();
    assert!(
        notices.contains("broken.py") && notices.contains("syntax error"),
        "{notices}"
    );
    assert!(
        notices.contains("latin1.py") && notices.contains("UTF-8"),
        "{notices}"
    );
    assert!(
        notices.contains("blob.py") && notices.contains("binary"),
        "{notices}"
    );
    sw(p)
        .args(["config"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("incomplete: broken.py:1"))
        .stdout(predicate::str::contains(
            "audit incomplete: 3 inputs not fully analysed",
        ));
    sw(p)
        .args(["config", "--strict", "--fail-on", "none"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "audit incomplete (--strict): 3 inputs",
        ));

    let empty = p.join("empty");
    fs::create_dir(&empty).unwrap();
    sw(p)
        .args(["config", "empty"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no Python or deployment files"));
    sw(p).args(["config", "nowhere"]).assert().code(2);
}

#[test]
fn env_development_swaps_which_files_count() {
    let out = sw(&app_fixture())
        .args([
            "config",
            "--format",
            "json",
            "--env",
            "development",
            "--select",
            "TW101,TW102",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let sev = |path: &str, rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["location"]["file"] == path && f["id"] == rule)
            .map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(
        sev("docker-compose.dev.yml", "TW102").as_deref(),
        Some("high")
    );
    assert_eq!(sev(".env.development", "TW102").as_deref(), Some("high"));
    assert_eq!(
        sev("Dockerfile", "TW101").as_deref(),
        Some("high"),
        "unmarked files always count"
    );
}

#[test]
fn rules_and_explain() {
    let tmp = tempfile::tempdir().unwrap();
    sw(tmp.path())
        .arg("rules")
        .assert()
        .success()
        .stdout(predicate::str::contains("TW001  debug-mode"))
        .stdout(predicate::str::contains("TW006"));
    sw(tmp.path())
        .args(["explain", "tw003"])
        .assert()
        .success()
        .stdout(predicate::str::contains("# TW003 serve-traceback"))
        .stdout(predicate::str::contains("## Fix"));
    sw(tmp.path()).args(["explain", "XX1"]).assert().code(2);
}

#[test]
fn check_combines_both_audits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = sw(&root)
        .args(["check", "examples/tornado-app", "--format", "json"])
        .env("STORMWATCH_DB", root.join("target/no-such.db"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"dependency") && kinds.contains(&"config") && kinds.contains(&"unpinned")
    );
    let config = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "config")
        .unwrap();
    assert_eq!(config["id"], "TW101");
    // Paths read like the dependency audit's: the scanned root in front.
    let path = config["location"]["file"].as_str().unwrap();
    assert!(
        path.ends_with("/Dockerfile") && path.len() > "/Dockerfile".len(),
        "{path}"
    );
    // 10 dependency highs, the unpinned `tornado>=5.1`, and TW101.
    assert_eq!(v["summary"]["high"].as_u64().unwrap(), 12);

    // A directory with Python code only: the dependency half is skipped with a notice.
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("app.py"), "import tornado.web\n").unwrap();
    sw(tmp.path())
        .arg("check")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("dependency audit skipped"));
}

#[test]
fn suppression_needs_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("app.py"),
        "import tornado.web\na = tornado.web.Application([], debug=True)  # stormwatch: ignore[TW001]\n\
         b = tornado.web.Application([], serve_traceback=True)  # stormwatch: ignore[TW001,TW003] demo only\n",
    )
    .unwrap();
    sw(tmp.path())
        .args(["config", "--verbose"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "suppression of TW001 without a reason is not honoured",
        ))
        .stdout(predicate::str::contains("inline: demo only"));
}

#[test]
fn test_and_example_code_is_info_unless_all_code() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let app = "import tornado.web\napp = tornado.web.Application([], debug=True)\n";
    for rel in [
        "app/server.py",
        "tests/test_server.py",
        "examples/demo.py",
        "scripts/serve.py",
    ] {
        let path = p.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, app).unwrap();
    }
    fs::write(p.join("Procfile"), "web: python scripts/serve.py\n").unwrap();
    let run = |extra: &[&str]| -> Vec<(String, String, String)> {
        let out = sw(p)
            .args(["config", ".", "--format", "json", "--fail-on", "none"])
            .args(extra)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        let mut found: Vec<_> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "TW001")
            .map(|f| {
                (
                    f["location"]["file"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                    f["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let default = run(&[]);
    let severities: Vec<(&str, &str)> = default
        .iter()
        .map(|(p, s, _)| (p.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        severities,
        [
            ("app/server.py", "high"),
            ("examples/demo.py", "info"),
            ("scripts/serve.py", "high"),
            ("tests/test_server.py", "info"),
        ],
        "a script the Procfile starts is production"
    );
    assert!(default[3].2.contains("test code"), "{}", default[3].2);
    assert!(default[1].2.contains("example code"), "{}", default[1].2);
    let all = run(&["--all-code"]);
    assert!(all.iter().all(|(_, s, _)| s == "high"), "{all:?}");
    assert_eq!(run(&["--include-tests"]), all);
}

#[test]
fn a_single_file_is_named_once() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("sf")).unwrap();
    fs::write(
        tmp.path().join("sf/app.py"),
        "import tornado.web\napp = tornado.web.Application([], debug=True)\n",
    )
    .unwrap();
    let out = sw(tmp.path())
        .args(["config", "sf/app.py"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("\n    sf/app.py:2:41\n"), "{out}");
    assert!(!out.contains("app.py/"), "{out}");
}
