//! End-to-end tests of the `stormwatch` binary: exit codes, the JSON contract, advisory
//! sources and bad input.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{fixtures, json_of, repo_root, sw};

#[test]
fn version_and_help_with_examples() {
    let tmp = tempfile::tempdir().unwrap();
    sw(tmp.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("stormwatch "));
    for args in [
        &["deps", "--help"][..],
        &["db", "import", "--help"],
        &["db", "status", "--help"],
    ] {
        sw(tmp.path())
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"));
    }
    sw(tmp.path()).arg("frobnicate").assert().code(2);
}

fn unpinned_id(findings: &[Value]) -> &str {
    findings
        .iter()
        .find(|f| f["kind"] == "unpinned")
        .and_then(|f| f["id"].as_str())
        .unwrap_or_default()
}

#[test]
fn example_project_fails_with_json_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sw(tmp.path())
        .args(["deps", "--format", "json"])
        .arg(repo_root().join("examples/tornado-app"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["version"], 2);
    let findings = v["findings"].as_array().unwrap();
    let pinned: Vec<&Value> = findings
        .iter()
        .filter(|f| f["kind"] == "dependency" && f["package"] == "tornado")
        .collect();
    assert_eq!(pinned.len(), 21, "every bundled advisory not fixed by 6.1");
    let redirect = pinned.iter().find(|f| f["id"] == "PYSEC-2023-75").unwrap();
    assert_eq!(redirect["version"], "6.1");
    assert_eq!(redirect["severity"], "medium");
    assert_eq!(redirect["fixed_versions"][0], "6.3.2");
    assert!(redirect["aliases"]
        .as_array()
        .unwrap()
        .contains(&Value::from("CVE-2023-28370")));
    assert!(redirect["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("requirements.txt"));
    assert_eq!(redirect["location"]["line"], 3);
    assert!(redirect.get("source").is_none(), "one location per finding");
    assert_eq!(redirect["published"], "2023-05-25");
    assert_eq!(redirect["fingerprint"].as_str().unwrap().len(), 32);
    assert_eq!(unpinned_id(findings), "TW201");
    // pyproject's `tornado>=5.1` still admits vulnerable releases.
    let unpinned = findings
        .iter()
        .find(|f| f["kind"] == "unpinned" && f["package"] == "tornado")
        .unwrap();
    assert_eq!(unpinned["example_version"], "5.1");
    assert_eq!(unpinned["fixed_versions"][0], "6.5.9");
    assert!(unpinned["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("pyproject.toml"));
    assert_eq!(v["upgrades"][0]["to"], "6.5.9");
    assert_eq!(v["advisory_data"]["advisories"], 23);
}

#[test]
fn fail_on_thresholds() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("requirements.txt"), "tornado==6.5.7\n").unwrap();
    // 6.5.7 has a high, a medium and a low advisory, none critical.
    sw(tmp.path()).arg("deps").assert().code(1);
    sw(tmp.path())
        .args(["deps", "--fail-on", "high"])
        .assert()
        .code(1);
    sw(tmp.path())
        .args(["deps", "--fail-on", "critical"])
        .assert()
        .code(0);
    sw(tmp.path())
        .args(["deps", "--fail-on", "none"])
        .assert()
        .code(0);
    sw(tmp.path())
        .args(["deps", "--fail-on", "bogus"])
        .assert()
        .code(2);
}

#[test]
fn clean_project_passes() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("requirements.txt"), "tornado==6.5.9\nsix\n").unwrap();
    sw(tmp.path())
        .arg("deps")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No known vulnerabilities"))
        .stdout(predicate::str::contains("bundled Tornado-only set"));
}

#[test]
fn output_file_and_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("requirements.txt"), "tornado==6.4\n").unwrap();
    sw(tmp.path())
        .args(["deps", "--format", "json", "--output", "out.json"])
        .assert()
        .code(1)
        .stdout("");
    let v = json_of(&fs::read(tmp.path().join("out.json")).unwrap());
    assert!(!v["findings"].as_array().unwrap().is_empty());
    let out = sw(tmp.path())
        .args(["deps", "-q"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("PYSEC-2026-1975"));
    assert!(!text.contains("Audited"));
}

fn write_osv_db(tmp: &Path) -> PathBuf {
    let db = tmp.join("data/advisories.db");
    sw(tmp)
        .args(["db", "import"])
        .arg(fixtures().join("osv"))
        .arg("--db")
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Imported 3 advisories for 1 packages",
        ))
        .stdout(predicate::str::contains(
            "1 records for other ecosystems skipped",
        ));
    db
}

#[test]
fn db_import_status_and_audit_with_aliases_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let db = write_osv_db(tmp.path());
    sw(tmp.path())
        .args(["db", "status", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 for 1 packages (1 withdrawn)"))
        .stdout(predicate::str::contains("Newest data:  2024-07-01"));

    fs::write(
        tmp.path().join("requirements.txt"),
        "jinja2==2.11.3\ntornado==6.5.9\n",
    )
    .unwrap();
    let out = sw(tmp.path())
        .args(["deps", "--format", "json", "--db"])
        .arg(&db)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "aliases merged, withdrawn skipped: {f:?}");
    assert_eq!(f[0]["id"], "TEST-2024-1");
    assert_eq!(
        f[0]["aliases"],
        serde_json::json!(["CVE-2099-0001", "TEST-2024-2"])
    );
    assert_eq!(f[0]["severity"], "critical");
    assert_eq!(f[0]["package"], "jinja2");

    // The same directory read directly with --db, without importing.
    let out = sw(tmp.path())
        .args(["deps", "--format", "json", "--db"])
        .arg(fixtures().join("osv"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert_eq!(json_of(&out)["findings"].as_array().unwrap().len(), 1);

    // The default location comes from STORMWATCH_DB.
    sw(tmp.path())
        .env("STORMWATCH_DB", &db)
        .args(["deps", "-q"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TEST-2024-1"));
}

#[test]
fn failed_import_keeps_the_old_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = write_osv_db(tmp.path());
    let before = fs::read(&db).unwrap();
    let bad = tmp.path().join("bad");
    fs::create_dir(&bad).unwrap();
    fs::write(
        bad.join("ok.yaml"),
        "id: X\naffected:\n- package: {name: a, ecosystem: PyPI}\n  versions: [\"1.0\"]\n",
    )
    .unwrap();
    fs::write(
        bad.join("broken.json"),
        "{\n  \"id\": \"Y\",\n  \"affected\": [\n",
    )
    .unwrap();
    sw(tmp.path())
        .args(["db", "import"])
        .arg(&bad)
        .arg("--db")
        .arg(&db)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.json:4"))
        .stderr(predicate::str::contains("unchanged"));
    assert_eq!(fs::read(&db).unwrap(), before);
    let names: Vec<_> = fs::read_dir(db.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file left behind");
    // --skip-invalid imports the rest and says what it skipped.
    sw(tmp.path())
        .args(["db", "import", "--skip-invalid"])
        .arg(&bad)
        .arg("--db")
        .arg(tmp.path().join("other.db"))
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped"));
}

#[test]
fn bad_inputs_exit_2_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "requirements.txt",
            b"six\ntornado=>6.1\n".to_vec(),
            "requirements.txt:2: invalid requirement",
        ),
        (
            "pyproject.toml",
            b"[project]\ndependencies = [\n  \"ok\",\n  7,\n]\n".to_vec(),
            "pyproject.toml:4",
        ),
        (
            "uv.lock",
            b"version = 1\n[[package]\nname = \"x\"\n".to_vec(),
            "uv.lock:2: invalid TOML",
        ),
        (
            "Pipfile.lock",
            b"{\"default\": {\"x\": }}".to_vec(),
            "Pipfile.lock:1: invalid JSON",
        ),
        (
            "poetry.lock",
            b"\x7fELF\x02\x01\x01\x00\x00\x00junk".to_vec(),
            "poetry.lock:1: binary data",
        ),
        (
            "requirements-dev.txt",
            b"ok==1.0\n\xff\xfe bad\n".to_vec(),
            "requirements-dev.txt:2: invalid UTF-8",
        ),
        (
            "pdm.lock",
            b"[metadata]\ngroups = []\n".to_vec(),
            "pdm.lock: no [[package]] entries",
        ),
    ];
    for (name, content, expected) in cases {
        let dir = p.join(name.replace('.', "_"));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        fs::write(&file, &content).unwrap();
        sw(p)
            .arg("deps")
            .arg(&file)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("panicked").not());
        assert_eq!(fs::read(&file).unwrap(), content, "input left untouched");
    }
    // Missing file, unknown format, empty directory, broken symlink, oversized file.
    sw(p)
        .args(["deps", "missing.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing.txt: no such file or directory",
        ));
    fs::write(p.join("deps.xyz"), "x").unwrap();
    sw(p)
        .args(["deps", "deps.xyz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown input format"));
    fs::create_dir(p.join("empty")).unwrap();
    sw(p)
        .args(["deps", "empty"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no dependency files found"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(p.join("nowhere.txt"), p.join("requirements-link.txt")).unwrap();
        sw(p)
            .args(["deps", "requirements-link.txt"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("broken symbolic link"));
    }
    let huge = fs::File::create(p.join("requirements-huge.txt")).unwrap();
    huge.set_len(65 * 1024 * 1024).unwrap();
    sw(p)
        .args(["deps", "requirements-huge.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than"));
    // Not a database.
    fs::write(p.join("fake.db"), "not sqlite").unwrap();
    sw(p)
        .args(["deps", "--db", "fake.db", "requirements-dev.txt"])
        .assert()
        .code(2);
    sw(p)
        .args(["db", "status", "--db", "fake.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("fake.db"));
}

#[test]
fn include_cycle_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("requirements.txt"),
        "-r requirements-b.txt\n",
    )
    .unwrap();
    fs::write(
        tmp.path().join("requirements-b.txt"),
        "six\n-r requirements.txt\n",
    )
    .unwrap();
    sw(tmp.path())
        .args(["deps", "requirements.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "requirements-b.txt:2: include cycle",
        ));
}

/// A universal lock (made by `uv lock` and `uv export --format pylock.toml` from the
/// fixture's pyproject) pins tornado 6.4.1 for Python < 3.10 and 6.5.9 above: the finding
/// says when it applies, and `--python-version`/`--platform` leave out forks that cannot.
#[test]
fn universal_lock_forks_carry_their_markers() {
    let fixtures = repo_root().join("crates/stormwatch-manifest/tests/fixtures/uv-forks");
    let tmp = tempfile::tempdir().unwrap();
    for lock in ["uv.lock", "pylock.toml"] {
        let out = sw(tmp.path())
            .args(["deps", "--format", "json"])
            .arg(fixtures.join(lock))
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let v = json_of(&out);
        let findings = v["findings"].as_array().unwrap();
        assert!(!findings.is_empty());
        for f in findings {
            assert_eq!(f["version"], "6.4.1", "{lock}: {f}");
            assert_eq!(f["marker"], "python_full_version < '3.10'", "{lock}: {f}");
        }
        sw(tmp.path())
            .arg("deps")
            .arg(fixtures.join(lock))
            .assert()
            .code(1)
            .stdout(predicate::str::contains(
                "applies when python_full_version < '3.10'",
            ));
        sw(tmp.path())
            .args(["deps", "--python-version", "3.12", "--platform", "linux"])
            .arg(fixtures.join(lock))
            .assert()
            .code(0)
            .stdout(predicate::str::contains(
                "cannot hold on Python 3.12 / linux: ",
            ))
            .stdout(predicate::str::contains(
                "tornado 6.4.1 (python_full_version < '3.10')",
            ));
        sw(tmp.path())
            .args(["deps", "--python-version", "3.9"])
            .arg(fixtures.join(lock))
            .assert()
            .code(1)
            .stdout(predicate::str::contains(
                "tornado 6.5.9 (python_full_version >= '3.10')",
            ));
    }
    sw(tmp.path())
        .args(["deps", "--python-version", "three"])
        .arg(fixtures.join("uv.lock"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a Python version"));
    sw(tmp.path())
        .args(["deps", "--platform", "beos"])
        .arg(fixtures.join("uv.lock"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown platform"));
}
