//! The policy file, deadlines, owners, ignores and baselines, end to end from the binary on
//! a copy of the bundled example (tornado 6.1 pinned in requirements.txt line 3).

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{copy_example, sw};

/// A project pinning tornado 6.1 (requirements.txt) with a Dockerfile passing --debug.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(tmp.path());
    // Without the pyproject's range: one vulnerable pin to reason about.
    fs::remove_file(tmp.path().join("pyproject.toml")).unwrap();
    tmp
}

fn policy(dir: &Path, text: &str) {
    fs::write(dir.join("stormwatch.toml"), text).unwrap();
}

fn json(dir: &Path, args: &[&str], code: i32) -> Value {
    let today: &[&str] = if args.contains(&"--today") {
        &[]
    } else {
        &["--today", "2026-11-30"]
    };
    let out = sw(dir)
        .args(["check", "--format", "json"])
        .args(today)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn fail_on_and_unknown_severity_from_the_policy_and_flags_over_it() {
    let tmp = project();
    let p = tmp.path();
    // No policy: the default gate (low) fails.
    sw(p).arg("check").assert().code(1);
    policy(p, "fail-on = \"none\"\n");
    sw(p).arg("check").assert().code(0);
    // The command line overrides the file.
    sw(p).args(["check", "--fail-on", "high"]).assert().code(1);
    // Only critical fails; the one unrated advisory counts as high, unless the policy says
    // it fails regardless.
    policy(p, "fail-on = \"critical\"\n");
    sw(p).arg("check").assert().code(0);
    policy(p, "fail-on = \"critical\"\nunknown-severity = \"fail\"\n");
    sw(p).arg("check").assert().code(1);
    sw(p)
        .args(["check", "--unknown-severity", "ignore"])
        .assert()
        .code(0);
}

#[test]
fn bad_policies_are_errors_with_file_and_line() {
    let tmp = project();
    let p = tmp.path();
    policy(p, "fail-on = \"high\"\n\n[deadlines]\ncritcal = 2\n");
    sw(p)
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "stormwatch.toml:4: unknown key `critcal` in [deadlines]",
        ));
    policy(p, "[[ignore]]\nid = \"PYSEC-2023-75\"\n");
    sw(p)
        .args(["deps"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "stormwatch.toml:2: the ignore of PYSEC-2023-75 needs a `reason`",
        ));
    // [tool.stormwatch] in pyproject.toml is read when there is no stormwatch.toml.
    fs::remove_file(p.join("stormwatch.toml")).unwrap();
    fs::write(
        p.join("pyproject.toml"),
        "[project]\nname = \"x\"\nversion = \"1\"\n\n[tool.stormwatch]\nfail-on = \"nope\"\n",
    )
    .unwrap();
    sw(p)
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pyproject.toml:6: fail-on: unknown threshold `nope`",
        ));
    fs::write(
        p.join("pyproject.toml"),
        "[project]\nname = \"x\"\nversion = \"1\"\n\n[tool.stormwatch]\nfail-on = \"none\"\n",
    )
    .unwrap();
    sw(p).arg("check").assert().code(0);
    // --config wins over both.
    fs::write(p.join("strict.toml"), "fail-on = \"low\"\n").unwrap();
    sw(p)
        .args(["check", "--config", "strict.toml"])
        .assert()
        .code(1);
    sw(p)
        .args(["check", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn ignores_expiry_unused_unknown_and_strict() {
    let tmp = project();
    let p = tmp.path();
    policy(
        p,
        r#"fail-on = "none"

[[ignore]]
id = "CVE-2023-28370"          # an alias of PYSEC-2023-75
package = "tornado"
reason = "no StaticFileHandler"
expires = "2026-12-10"

[[ignore]]
id = "TW101"
path = "Dockerfile"
reason = "the image is for local development"
expires = "2026-01-31"
"#,
    );
    let v = json(p, &[], 0);
    let pin = finding(&v, "PYSEC-2023-75");
    assert_eq!(pin["suppression"]["kind"], "policy");
    assert_eq!(pin["suppression"]["reason"], "no StaticFileHandler");
    assert_eq!(pin["suppression"]["expires"], "2026-12-10");
    // Expired: reported again, marked expired.
    let debug = finding(&v, "TW101");
    assert_eq!(debug["suppression"]["expired"], true);
    assert_eq!(v["summary"]["suppressed"], 1);
    let policy_notes: Vec<&str> = v["policy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap())
        .collect();
    assert!(
        policy_notes.contains(&"the ignore of CVE-2023-28370 expires on 2026-12-10 (in 10 days)")
    );
    assert!(policy_notes
        .iter()
        .any(|n| n.starts_with("the ignore of TW101 expired on 2026-01-31")));
    // After the expiry date the ignore no longer holds.
    let later = json(p, &["--today", "2026-12-11"], 0);
    assert_eq!(
        finding(&later, "PYSEC-2023-75")["suppression"]["expired"],
        true
    );

    // Unused and unknown ignores are reported; --strict fails on them.
    policy(
        p,
        "fail-on = \"none\"\n[[ignore]]\nid = \"GHSA-nope-nope-nope\"\nreason = \"typo\"\n\n[[ignore]]\nid = \"TW003\"\nreason = \"not used\"\n",
    );
    let v = json(p, &[], 0);
    let notes = v["policy"].to_string();
    assert!(
        notes.contains("GHSA-nope-nope-nope names an id that is neither"),
        "{notes}"
    );
    assert!(
        notes.contains("the ignore of TW003 matched no finding"),
        "{notes}"
    );
    sw(p)
        .args(["check", "--strict"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "2 ignores matched nothing or name an unknown id",
        ));
}

#[test]
fn deadlines_overdue_and_owners() {
    let tmp = project();
    let p = tmp.path();
    policy(
        p,
        r#"fail-on = "critical"
[deadlines]
high = 7
medium = 30
fail-on-overdue = true
[owners]
"tornado" = "@web-platform"
"*.py" = "@nobody"
"Dockerfile/**" = "@nobody"
"app/**" = "@app-team"
"#,
    );
    // PYSEC-2023-75 (medium) was published 2023-05-25: due 30 days later.
    let v = json(p, &[], 1);
    let pin = finding(&v, "PYSEC-2023-75");
    assert_eq!(pin["due"], "2023-06-24");
    assert_eq!(pin["overdue"], true);
    assert_eq!(pin["owner"], "@web-platform");
    assert!(v["summary"]["overdue"].as_u64().unwrap() > 0);
    // Overdue findings are listed first.
    assert_eq!(v["findings"][0]["overdue"], true);
    // A date before the deadline: nothing overdue, and critical is the gate.
    let early = json(p, &["--today", "2023-05-26"], 0);
    let pin = finding(&early, "PYSEC-2023-75");
    assert_eq!(pin["due"], "2023-06-24");
    assert_ne!(pin["overdue"], true, "left out when false");
    assert_eq!(early["summary"]["overdue"], 0);
    // The terminal leads with the package, its deadline and owner.
    sw(p)
        .args(["check", "--today", "2026-11-30"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("tornado 6.1 -> 6.5.9"))
        .stdout(predicate::str::contains("OVERDUE since"))
        .stdout(predicate::str::contains("owner @web-platform"));
}

#[test]
fn baseline_reports_new_unchanged_and_fixed_and_fails_only_on_new() {
    let tmp = project();
    let p = tmp.path();
    sw(p)
        .args(["check", "--write-baseline", "baseline.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("to the baseline baseline.json"));
    // Unchanged code: nothing new, the run passes.
    let v = json(p, &["--baseline", "baseline.json"], 0);
    assert_eq!(v["baseline"]["new"], 0);
    assert!(v["baseline"]["unchanged"].as_u64().unwrap() > 20);
    // Lines moved and a new problem: only the new one counts.
    let main = p.join("app/main.py");
    let text = fs::read_to_string(&main).unwrap();
    fs::write(
        &main,
        format!("# moved\n\n{text}\nother = tornado.web.Application([], serve_traceback=True)\n"),
    )
    .unwrap();
    let req = fs::read_to_string(p.join("requirements.txt")).unwrap();
    fs::write(p.join("requirements.txt"), format!("# moved\n{req}")).unwrap();
    let v = json(p, &["--baseline", "baseline.json"], 1);
    assert_eq!(v["baseline"]["new"], 1);
    assert_eq!(v["baseline"]["fixed"].as_array().unwrap().len(), 0);
    let new: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["baseline"] == "new")
        .collect();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0]["id"], "TW003");
    // The Dockerfile fixed: its finding is listed as fixed.
    fs::write(
        p.join("Dockerfile"),
        "FROM python:3.12\nCMD [\"python\", \"-m\", \"app.main\"]\n",
    )
    .unwrap();
    let v = json(p, &["--baseline", "baseline.json"], 1);
    let fixed = v["baseline"]["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0]["id"], "TW101");
    // A file that is not a baseline is an error naming it.
    fs::write(p.join("bad.json"), "[1, 2]").unwrap();
    sw(p)
        .args(["check", "--baseline", "bad.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json"));
}

#[test]
fn init_writes_a_starter_that_parses_and_a_process_page() {
    let tmp = project();
    let p = tmp.path();
    sw(p)
        .arg("init")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote"));
    let text = fs::read_to_string(p.join("stormwatch.toml")).unwrap();
    assert!(text.contains("fail-on = \"high\""));
    sw(p)
        .arg("init")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));
    // The starter is a working policy: fail-on high, overdue fails.
    let v = json(p, &[], 1);
    assert!(v["findings"][0]["due"].is_string());
    sw(p)
        .args(["init", "--process"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("| critical | 2 days |"));
    let empty = tempfile::tempdir().unwrap();
    sw(empty.path())
        .args(["init", "--process"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no policy found"));
}

#[test]
fn checklist_is_answered_from_the_results() {
    let tmp = project();
    let p = tmp.path();
    sw(p)
        .args(["checklist", "--today", "2026-11-30"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "## Production deployment checklist",
        ))
        .stdout(predicate::str::contains(
            "- [ ] debug mode is off in production — **fails**\n  - TW101 Dockerfile:6",
        ))
        // `--debug` turns autoreload on too: the item is not ticked.
        .stdout(predicate::str::contains(
            "- [ ] autoreload is off in production — **fails**\n  - TW101 Dockerfile:6",
        ))
        .stdout(predicate::str::contains(
            "tornado 6.1 at requirements.txt:3; smallest safe version 6.5.9: 21 advisories",
        ));
    let out = sw(p)
        .args(["checklist", "--today", "2026-11-30", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 12);
    let item = |id: &str| items.iter().find(|i| i["id"] == id).unwrap();
    assert_eq!(item("deployment-files-checked")["ok"], true);
    assert_eq!(item("debug-off")["ok"], false);

    // A hardened project ticks everything (with current data).
    let clean = tempfile::tempdir().unwrap();
    let c = clean.path();
    fs::write(c.join("requirements.txt"), "tornado==6.5.9\n").unwrap();
    fs::write(
        c.join("app.py"),
        "import os\nimport tornado.web\n\napp = tornado.web.Application([], cookie_secret=os.environ[\"SECRET\"], xsrf_cookies=True)\n",
    )
    .unwrap();
    fs::write(c.join("Procfile"), "web: python app.py\n").unwrap();
    sw(c)
        .args(["checklist", "--today", "2026-11-30"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("12 of 12 items hold"));
    // Old data does not count as current.
    sw(c)
        .args(["checklist", "--today", "2027-06-01"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("days old"));
}

#[test]
fn environment_version_scope_and_until_fixed_end_to_end() {
    let tmp = project();
    let p = tmp.path();
    // A Dockerfile named for production: its --debug is high there, info when the policy
    // judges the development environment (and the command line overrides the policy).
    fs::rename(p.join("Dockerfile"), p.join("Dockerfile.prod")).unwrap();
    let v = json(p, &[], 1);
    assert_eq!(finding(&v, "TW101")["severity"], "high");
    policy(p, "environment = \"development\"\n");
    let v = json(p, &[], 1);
    assert_eq!(finding(&v, "TW101")["severity"], "info");
    let v = json(p, &["--env", "production"], 1);
    assert_eq!(finding(&v, "TW101")["severity"], "high");

    // A version scope that does not hold leaves the finding alone (and the ignore unused).
    policy(
        p,
        "[[ignore]]\nid = \"PYSEC-2023-75\"\nversion = \">=6.2\"\nreason = \"only old releases\"\n",
    );
    let v = json(p, &[], 1);
    assert!(finding(&v, "PYSEC-2023-75")["suppression"].is_null());
    assert!(v["policy"].to_string().contains("matched no finding"));
    policy(
        p,
        "[[ignore]]\nid = \"PYSEC-2023-75\"\nversion = \"<6.2\"\nreason = \"only old releases\"\n",
    );
    let v = json(p, &[], 1);
    assert_eq!(
        finding(&v, "PYSEC-2023-75")["suppression"]["kind"],
        "policy"
    );

    // until-fixed: 6.3.2 fixes it, so the ignore no longer holds.
    policy(
        p,
        "[[ignore]]\nid = \"PYSEC-2023-75\"\nreason = \"waiting for a fix\"\nuntil-fixed = true\n",
    );
    let v = json(p, &[], 1);
    assert!(finding(&v, "PYSEC-2023-75")["suppression"].is_null());
    assert!(
        v["policy"].to_string().contains("6.3.2 fixes it"),
        "{}",
        v["policy"]
    );
}
