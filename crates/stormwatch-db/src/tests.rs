//! Import, query and status of the database.

use super::*;
use stormwatch_osv::LoadOptions;

fn write_vulns(dir: &Path, fixed: &str) {
    std::fs::create_dir_all(dir.join("tornado")).unwrap();
    std::fs::write(
        dir.join("tornado/PYSEC-1.yaml"),
        format!(
            "id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {{name: Tornado, ecosystem: PyPI}}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: '{fixed}'\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("tornado/PYSEC-2.yaml"),
        "id: PYSEC-2\nmodified: '2025-05-05T00:00:00Z'\nwithdrawn: '2025-06-01T00:00:00Z'\naffected:\n- package: {name: tornado, ecosystem: PyPI}\n  versions: ['1.0']\n",
    )
    .unwrap();
}

#[test]
fn import_query_status_and_atomic_failure() {
    let dir = tempfile::tempdir().unwrap();
    let vulns = dir.path().join("vulns");
    write_vulns(&vulns, "6.3.2");
    let db_path = dir.path().join("data/advisories.db");
    let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
    let summary = import(&loaded, "test", &db_path, ImportOptions::default()).unwrap();
    assert_eq!(
        summary.changes.new,
        ["PYSEC-1"],
        "withdrawn records are not news"
    );
    assert_eq!(summary.advisories, 2);
    assert_eq!(summary.packages, 1);
    assert_eq!(summary.withdrawn, 1);

    let db = Database::open(&db_path).unwrap();
    let status = db.status().unwrap();
    assert_eq!(status.advisories, 2);
    assert_eq!(status.withdrawn, 1);
    assert_eq!(status.newest_modified, "2025-05-05T00:00:00Z");
    assert_eq!(status.source, "test");
    let mut set = AdvisorySet::new();
    db.load_for(["tornado", "nothing"], &mut set).unwrap();
    assert_eq!(set.len(), 2);
    assert_eq!(
        set.get("PYSEC-1").unwrap().fixed_versions("tornado")[0].to_string(),
        "6.3.2"
    );
    assert!(set.get("PYSEC-2").unwrap().withdrawn);
    assert_eq!(db.record("PYSEC-1").unwrap().unwrap().id, "PYSEC-1");
    assert!(db.record("NOPE").unwrap().is_none());
    drop(db);

    // A failing import (here: the destination is a directory) leaves the old file.
    let before = std::fs::read(&db_path).unwrap();
    let bad_dest = dir.path().join("data");
    assert!(import(&loaded, "test", &bad_dest, ImportOptions::default()).is_err());
    assert_eq!(std::fs::read(&db_path).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
}

/// Each import records what changed against the database it replaced, and carries the
/// older records over.
#[test]
fn imports_record_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("advisories.db");
    let write = |records: &[(&str, &str, bool)]| {
        let vulns = dir.path().join("v");
        let _ = std::fs::remove_dir_all(&vulns);
        std::fs::create_dir_all(&vulns).unwrap();
        for (id, modified, withdrawn) in records {
            let w = if *withdrawn {
                ",\"withdrawn\":\"2025-01-01T00:00:00Z\""
            } else {
                ""
            };
            std::fs::write(
                vulns.join(format!("{id}.json")),
                format!("{{\"id\":\"{id}\",\"modified\":\"{modified}\",\"published\":\"2024-0{}-01T00:00:00Z\"{w},\"affected\":[{{\"package\":{{\"name\":\"tornado\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"1.0\"]}}]}}", modified.len() % 9 + 1),
            )
            .unwrap();
        }
        let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
        import(&loaded, "t", &db_path, ImportOptions::default()).unwrap()
    };
    let first = write(&[
        ("A", "2024-01-01", false),
        ("B", "2024-01-01", false),
        ("C", "2024-01-01", false),
    ]);
    assert_eq!(first.changes.new, ["A", "B", "C"]);
    let second = write(&[
        ("A", "2024-01-01", false),
        ("B", "2024-02-02", false),
        ("C", "2024-03-03", true),
        ("D", "2024-01-01", false),
    ]);
    assert_eq!(
        second.changes,
        Changes {
            new: vec!["D".into()],
            modified: vec!["B".into()],
            withdrawn: vec!["C".into()],
            removed: vec![],
        }
    );
    let third = write(&[
        ("A", "2024-01-01", false),
        ("B", "2024-02-02", false),
        ("D", "2024-01-01", false),
    ]);
    assert_eq!(third.changes.removed, ["C"]);
    let db = Database::open(&db_path).unwrap();
    let history = db.recent_imports(10).unwrap();
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(history[0].changes, third.changes);
    assert_eq!(history[1].changes, second.changes);
    assert_eq!(history[2].changes.new, ["A", "B", "C"]);
    assert!(db.newest_of("tornado").unwrap().is_some());
}

#[test]
fn refuses_non_databases() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.db");
    std::fs::write(&p, b"hello, not sqlite at all, definitely not").unwrap();
    let err = Database::open(&p).err().unwrap();
    assert!(err.to_string().contains("x.db"), "{err}");
    let err = Database::open(&dir.path().join("missing.db"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("db import"), "{err}");
}

/// Large package lists take the parallel path (one connection per core) and, above
/// KNOWN_PACKAGES_FIRST, the package-list prefilter: the same advisories either way.
#[test]
fn large_package_lists_load_the_same_advisories() {
    let dir = tempfile::tempdir().unwrap();
    let vulns = dir.path().join("vulns");
    std::fs::create_dir_all(&vulns).unwrap();
    let n = 3000;
    for i in 0..n {
        // Every 7th advisory also names the next package: shared advisories load once.
        let second = if i % 7 == 0 {
            format!(
                ",{{\"package\":{{\"name\":\"pkg-{}\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"2.0\"]}}",
                i + 1
            )
        } else {
            String::new()
        };
        std::fs::write(
            vulns.join(format!("ADV-{i}.json")),
            format!(
                "{{\"id\":\"ADV-{i}\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":[{{\"package\":{{\"name\":\"pkg-{i}\",\"ecosystem\":\"PyPI\"}},\"versions\":[\"1.0\"]}}{second}]}}"
            ),
        )
        .unwrap();
    }
    let db_path = dir.path().join("advisories.db");
    let loaded = stormwatch_osv::load_path(&vulns, LoadOptions::default()).unwrap();
    import(&loaded, "test", &db_path, ImportOptions::default()).unwrap();
    let db = Database::open(&db_path).unwrap();
    assert_eq!(db.packages().unwrap().len(), n);

    for (wanted, unknown) in [(500, 0), (n, 2000)] {
        let names: Vec<String> = (0..wanted)
            .map(|i| format!("pkg-{i}"))
            .chain((0..unknown).map(|i| format!("unknown-{i}")))
            .collect();
        let mut set = AdvisorySet::new();
        db.load_for(names.iter().map(String::as_str), &mut set)
            .unwrap();
        // Each wanted package's own advisory, shared ones once; none for unknown names.
        assert_eq!(set.len(), wanted, "{wanted} packages");
        for i in 0..wanted {
            let ids: Vec<&str> = set
                .for_package(&format!("pkg-{i}"))
                .map(|a| a.id())
                .collect();
            assert!(
                ids.contains(&format!("ADV-{i}").as_str()),
                "pkg-{i}: {ids:?}"
            );
            if i > 0 && (i - 1) % 7 == 0 {
                assert!(
                    ids.contains(&format!("ADV-{}", i - 1).as_str()),
                    "pkg-{i}: {ids:?}"
                );
            }
        }
    }
}
