//! What the gate says is true: an empty target fails, counts are labelled and deduplicated,
//! strict mode judges only the audits that ran, a fresh baseline passes, and coverage
//! warnings survive `--quiet`. Run from the built binary.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{copy_example, json_of, repo_root, sw};

const TODAY: &str = "2026-11-30";

/// The example without its pyproject: tornado 6.1 pinned once (requirements.txt:3), and a
/// Dockerfile that starts the app with --debug (TW101).
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(tmp.path());
    fs::remove_file(tmp.path().join("pyproject.toml")).unwrap();
    tmp
}

fn policy(dir: &Path, text: &str) {
    fs::write(dir.join("stormwatch.toml"), text).unwrap();
}

// Item 3: nothing to audit is a failure, unless asked to allow it.

#[test]
fn an_empty_directory_is_nothing_to_audit_for_every_audit_command() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["check", "config", "checklist", "deps"] {
        sw(tmp.path())
            .args([cmd, "--strict", "."])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("nothing to audit in ."));
        sw(tmp.path())
            .args([cmd, "."])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("nothing to audit in ."));
    }
    for cmd in ["check", "config", "deps"] {
        sw(tmp.path())
            .args([cmd, "--allow-empty", "."])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("nothing to audit"));
    }
    // The checklist still answers (its items cannot be ticked), but not as a usage error.
    let out = sw(tmp.path())
        .args(["checklist", "--allow-empty", "."])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn allow_empty_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    for cmd in ["check", "config", "checklist", "deps"] {
        sw(tmp.path())
            .args([cmd, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("--allow-empty"));
    }
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        readme.contains("--allow-empty"),
        "README documents --allow-empty"
    );
}

// Item 5: an ignore is unused only if the audit it belongs to ran.

#[test]
fn strict_judges_each_ignore_only_by_the_audit_it_belongs_to() {
    let tmp = project();
    let p = tmp.path();
    policy(
        p,
        "fail-on = \"none\"\n\n[[ignore]]\nid = \"TW101\"\nreason = \"dev image\"\n\n\
         [[ignore]]\nid = \"PYSEC-2023-75\"\nreason = \"not reachable\"\n",
    );
    for cmd in ["deps", "config", "check"] {
        sw(p)
            .args([cmd, "--strict", "--today", TODAY])
            .assert()
            .code(0)
            .stderr(predicate::str::contains("policy problems").not());
    }
    // An unused config ignore is still judged where the configuration audit ran.
    policy(
        p,
        "fail-on = \"none\"\n\n[[ignore]]\nid = \"TW003\"\nreason = \"not used\"\n",
    );
    sw(p)
        .args(["deps", "--strict", "--today", TODAY])
        .assert()
        .code(0);
    for cmd in ["config", "check"] {
        sw(p)
            .args([cmd, "--strict", "--today", TODAY])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("policy problems"));
    }
    // And an unused advisory ignore where the dependency audit ran.
    policy(
        p,
        "fail-on = \"none\"\n\n[[ignore]]\nid = \"GHSA-nope-nope-nope\"\nreason = \"typo\"\n",
    );
    sw(p)
        .args(["config", "--strict", "--today", TODAY])
        .assert()
        .code(0);
    for cmd in ["deps", "check"] {
        sw(p)
            .args([cmd, "--strict", "--today", TODAY])
            .assert()
            .code(2);
    }
}

// Item 6: a fresh baseline records every current finding.

#[test]
fn a_fresh_baseline_includes_findings_whose_ignore_expired() {
    let tmp = project();
    let p = tmp.path();
    policy(
        p,
        "[[ignore]]\nid = \"PYSEC-2023-75\"\nreason = \"was fine\"\nexpires = \"2026-01-31\"\n",
    );
    sw(p)
        .args([
            "check",
            "--today",
            TODAY,
            "--write-baseline",
            "baseline.json",
        ])
        .assert()
        .code(1);
    let out = sw(p)
        .args([
            "check",
            "--today",
            TODAY,
            "--baseline",
            "baseline.json",
            "--format",
            "json",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["baseline"]["new"], 0, "{}", v["baseline"]);
}

// Item 7: coverage warnings survive --quiet and lead every format.

#[test]
fn quiet_keeps_coverage_warnings_on_stderr() {
    let tmp = project();
    for cmd in ["deps", "check"] {
        sw(tmp.path())
            .args([cmd, "--quiet", "--today", TODAY])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("only Tornado was checked"));
    }
}

#[test]
fn coverage_warnings_lead_every_report_format() {
    let tmp = project();
    let p = tmp.path();
    for format in ["table", "markdown"] {
        let out = sw(p)
            .args(["deps", "--today", TODAY, "--format", format])
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        let warning = text
            .find("only Tornado was checked")
            .unwrap_or_else(|| panic!("{format}: no coverage warning:\n{text}"));
        let first_finding = text.find("GHSA-").unwrap();
        assert!(
            warning < first_finding,
            "{format}: warning after findings:\n{text}"
        );
    }
    let out = sw(p)
        .args(["deps", "--today", TODAY, "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = json_of(&out);
    let coverage = v["coverage"].as_array().expect("coverage field");
    assert!(
        coverage.iter().any(|c| c
            .as_str()
            .unwrap_or("")
            .contains("only Tornado was checked")),
        "{coverage:?}"
    );
}

#[test]
fn the_action_can_refresh_the_advisory_data_with_a_cache() {
    let action = fs::read_to_string(repo_root().join("action.yml")).unwrap();
    assert!(action.contains("update-db:"), "an update-db input");
    assert!(action.contains("db update"), "runs `stormwatch db update`");
    assert!(action.contains("actions/cache"), "caches the database");
}

// Item 4: one finding per (package, version, advisory), every place listed.

fn uv_project(dir: &Path) {
    fs::write(
        dir.join("pyproject.toml"),
        "[project]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"tornado==6.1\"]\n",
    )
    .unwrap();
    fs::write(
        dir.join("uv.lock"),
        "version = 1\nrequires-python = \">=3.8\"\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n\
         source = { editable = \".\" }\ndependencies = [{ name = \"tornado\" }]\n\n[[package]]\n\
         name = \"tornado\"\nversion = \"6.1\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
    )
    .unwrap();
}

#[test]
fn a_package_declared_and_locked_is_counted_once_with_both_places() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    uv_project(p);
    let out = sw(p)
        .args(["deps", "--today", TODAY, "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let findings = v["findings"].as_array().unwrap();
    let pysec: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "PYSEC-2023-75")
        .collect();
    assert_eq!(pysec.len(), 1, "{pysec:#?}");
    let places: Vec<&str> = pysec[0]["declared"]
        .as_array()
        .expect("declared places")
        .iter()
        .map(|l| l["file"].as_str().unwrap())
        .collect();
    assert_eq!(places, ["pyproject.toml", "uv.lock"]);
    let table = sw(p)
        .args(["deps", "--today", TODAY])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("Vulnerable packages (1)"), "{table}");
    assert!(table.contains("pyproject.toml:4, uv.lock:"), "{table}");
    let n = findings.len();
    assert!(
        table.contains(&format!("{n} findings")),
        "summary counts each advisory once: {table}"
    );
}

#[test]
fn the_data_date_is_never_later_than_today_and_counts_are_labelled() {
    let tmp = project();
    let out = sw(tmp.path())
        .args(["deps", "--today", "2026-01-01", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let as_of = v["advisory_data"]["as_of"].as_str().unwrap();
    assert!(as_of <= "2026-01-01", "as_of {as_of}");
    let table = sw(tmp.path())
        .args(["deps", "--today", "2026-01-01"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("later than today"), "{table}");
    assert!(table.contains("advisories loaded"), "{table}");
}

#[test]
fn monitor_of_an_empty_directory_is_nothing_to_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.db");
    for extra in [&[][..], &["--include-config"][..]] {
        sw(tmp.path())
            .args(["monitor", "--offline", "--state"])
            .arg(&state)
            .args(extra)
            .arg(tmp.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains("nothing to audit in"));
    }
}

#[test]
fn sarif_and_junit_carry_coverage_warnings_first() {
    let tmp = project();
    let p = tmp.path();
    let out = sw(p)
        .args(["deps", "--today", TODAY, "--format", "sarif"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let first = &v["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert!(
        first["message"]["text"]
            .as_str()
            .unwrap_or("")
            .contains("only Tornado was checked"),
        "{first}"
    );
    let out = sw(p)
        .args(["deps", "--today", TODAY, "--format", "junit"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let warning = text
        .find("only Tornado was checked")
        .expect("coverage property");
    assert!(warning < text.find("<testcase").unwrap(), "{text}");
}
