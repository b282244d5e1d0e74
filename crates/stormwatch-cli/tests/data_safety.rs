//! The advisory data is what every audit trusts: an import must never silently replace it
//! with less, overwrite a file that is not a database, or leave debris; OSV records must be
//! read as written or reported with the file and field.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;

fn sw(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("NO_COLOR", "1")
        .env("STORMWATCH_DB", dir.join("default.db"))
        .current_dir(dir)
        .timeout(Duration::from_secs(60));
    cmd
}

/// `n` advisories for package `pkg`, one file each.
fn advisories(dir: &Path, pkg: &str, n: usize) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        fs::write(
            dir.join(format!("PYSEC-{pkg}-{i}.json")),
            format!(
                r#"{{"id": "PYSEC-{pkg}-{i}", "modified": "2026-01-01T00:00:00Z", "affected": [{{"package": {{"name": "{pkg}", "ecosystem": "PyPI"}}, "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{}.0"}}]}}]}}]}}"#,
                i + 1
            ),
        )
        .unwrap();
    }
}

#[test]
fn imports_never_replace_the_database_with_less() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    advisories(&p.join("full"), "requests", 10);
    sw(p)
        .args(["db", "import", "full", "--db", "adv.db"])
        .assert()
        .code(0);
    let before = fs::read(p.join("adv.db")).unwrap();

    // A typo or a failed clone: an empty directory.
    fs::create_dir(p.join("empty")).unwrap();
    sw(p)
        .args(["db", "import", "empty", "--db", "adv.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds no current PyPI advisories"))
        .stderr(predicate::str::contains("unchanged"));
    assert_eq!(fs::read(p.join("adv.db")).unwrap(), before);

    // A truncated download: far fewer advisories than the database holds.
    advisories(&p.join("part"), "requests", 3);
    sw(p)
        .args(["db", "import", "part", "--db", "adv.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("fewer than half"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(fs::read(p.join("adv.db")).unwrap(), before);
    sw(p)
        .args(["db", "import", "part", "--db", "adv.db", "--force"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Imported 3 advisories"));

    // Only withdrawn records: nothing current to audit with.
    fs::create_dir(p.join("withdrawn")).unwrap();
    fs::write(
        p.join("withdrawn/W.json"),
        r#"{"id": "W", "withdrawn": "2026-02-01T00:00:00Z", "affected": [{"package": {"name": "a", "ecosystem": "PyPI"}, "versions": ["1.0"]}]}"#,
    )
    .unwrap();
    sw(p)
        .args(["db", "import", "withdrawn", "--db", "new.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no current PyPI advisories"));
    assert!(!p.join("new.db").exists());
}

#[test]
fn imports_never_overwrite_other_files_and_clean_up_after_killed_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    advisories(&p.join("full"), "requests", 2);
    fs::write(p.join("notes.txt"), "my notes\n").unwrap();
    sw(p)
        .args(["db", "import", "full", "--db", "notes.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a stormwatch advisory database",
        ));
    assert_eq!(
        fs::read_to_string(p.join("notes.txt")).unwrap(),
        "my notes\n"
    );

    // A temporary file of an import that was killed (its process is gone).
    let stale = p.join(".adv.db.tmp-4194304999");
    fs::write(&stale, "half-written").unwrap();
    let unrelated = p.join(".adv.db.tmp-notapid");
    fs::write(&unrelated, "x").unwrap();
    sw(p)
        .args(["db", "import", "full", "--db", "adv.db"])
        .assert()
        .code(0);
    if Path::new("/proc/self").exists() {
        assert!(!stale.exists(), "stale temporary file removed");
    }
    assert!(
        unrelated.exists(),
        "only files named like our temporary files are touched"
    );
    let leftovers: Vec<_> = fs::read_dir(p)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".adv.db.tmp-") && n != ".adv.db.tmp-notapid")
        .collect();
    if Path::new("/proc/self").exists() {
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn osv_fields_are_read_as_written_or_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    let osv = p.join("osv");
    fs::create_dir(&osv).unwrap();
    // `withdrawn: false` is not a withdrawal; an unquoted `fixed: 6.10` is 6.10, not 6.1.
    fs::write(
        osv.join("PYSEC-T-1.yaml"),
        "id: PYSEC-T-1\nwithdrawn: false\naffected:\n- package: {name: tornado, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 6.10\n",
    )
    .unwrap();
    // One unparsable version: reported with the file and field, the rest still read.
    fs::write(
        osv.join("PYSEC-T-2.json"),
        r#"{"id": "PYSEC-T-2", "withdrawn": "soon", "affected": [{"package": {"name": "tornado", "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not.a-version!"}]}], "versions": ["6.9"]}]}"#,
    )
    .unwrap();
    fs::write(p.join("requirements.txt"), "tornado==6.9\n").unwrap();
    let out = sw(p)
        .args(["deps", "--db", "osv", "--no-bundled", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{v}");
    assert!(
        ids.contains(&"PYSEC-T-1") && ids.contains(&"PYSEC-T-2"),
        "{ids:?}"
    );
    let notices = v["notices"].to_string();
    assert!(
        notices.contains("PYSEC-T-2.json")
            && notices.contains("affected[0].ranges[0].events[1].fixed")
            && notices.contains("withdrawn"),
        "{notices}"
    );
    sw(p)
        .args(["db", "import", "osv", "--db", "adv.db"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "PYSEC-T-2: affected[0].ranges[0].events[1].fixed: \"not.a-version!\" is not a PEP 440 version",
        ));
    sw(p)
        .args(["deps", "--db", "adv.db", "--no-bundled", "--verbose"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("PYSEC-T-1"))
        .stdout(predicate::str::contains("upgrade to 6.10"));

    // A JSON number has lost its text: refused with the file, never read as another version.
    fs::write(
        osv.join("PYSEC-T-3.json"),
        r#"{"id": "PYSEC-T-3", "affected": [{"package": {"name": "tornado", "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": 6.10}]}]}]}"#,
    )
    .unwrap();
    sw(p)
        .args(["deps", "--db", "osv", "--no-bundled"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PYSEC-T-3.json"))
        .stderr(predicate::str::contains("quote it"));
}
