//! Advisory records from a server are untrusted too: a range they cannot state in PEP 440
//! must never make an advisory stop applying.

use super::cost::{bounded, bounded_json};
use super::*;

/// An advisory whose `fixed` version does not parse still applies, from its `introduced` on,
/// with the fix reported unknown; an unparsable `introduced` means from the first version.
#[test]
fn advisories_with_unparsable_versions_still_apply() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "osv/PYSEC-9999-1.json",
        br#"{"id": "PYSEC-9999-1", "modified": "2026-01-01T00:00:00Z",
  "summary": "Remote code execution in somepkg",
  "affected": [{"package": {"name": "somepkg", "ecosystem": "PyPI"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "TBD"}]}]}]}"#,
    );
    write(
        tmp.path(),
        "osv/PYSEC-9999-2.json",
        br#"{"id": "PYSEC-9999-2", "modified": "2026-01-01T00:00:00Z",
  "summary": "Path traversal in otherpkg",
  "affected": [{"package": {"name": "otherpkg", "ecosystem": "PyPI"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "~legacy~"}, {"fixed": "1.5"}]}]}]}"#,
    );
    write(
        tmp.path(),
        "requirements.txt",
        b"somepkg==1.9\nsomepkg==7.1\notherpkg==0.1\notherpkg==1.5\n",
    );
    // Imported into a database, and read directly as a directory of OSV files.
    let db = tmp.path().join("adv.db");
    bounded(tmp.path())
        .args(["db", "import", "osv", "--db"])
        .arg(&db)
        .assert()
        .success();
    for source in [db.to_str().unwrap(), "osv"] {
        let v = bounded_json(
            tmp.path(),
            &[
                "deps",
                "requirements.txt",
                "--format",
                "json",
                "--db",
                source,
            ],
            1,
        );
        let findings = v["findings"].as_array().unwrap();
        let mut hits: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| {
                (
                    f["package"].as_str().unwrap(),
                    f["version"].as_str().unwrap(),
                )
            })
            .collect();
        hits.sort_unstable();
        assert_eq!(
            hits,
            [("otherpkg", "0.1"), ("somepkg", "7.1")],
            "{source}: {findings:#?}"
        );
        let some = findings.iter().find(|f| f["package"] == "somepkg").unwrap();
        assert!(
            some["summary"].as_str().unwrap().contains(
                "fixed version unknown: advisory lists `TBD` which is not a PEP 440 version"
            ),
            "{some}"
        );
        assert_eq!(some["fixed_versions"], serde_json::json!([]));
    }
}
