//! Conformance against the real PyPA advisory database snapshot (`shared/advisory-db/`
//! beside the repository, or `STORMWATCH_PYPA_VULNS`). Skipped when the snapshot is absent.
//!
//! The expectations are derived independently of our range logic: PyPA records carry an
//! explicit `versions` list enumerated from PyPI by OSV's tooling, so evaluating the
//! `ranges` alone must reproduce exactly that list for every listed version, and every
//! `fixed` version must evaluate as unaffected.

use std::path::PathBuf;
use std::sync::Arc;

use pep440_rs::Version;
use stormwatch_audit::{audit, AuditOptions};
use stormwatch_findings::Detail;
use stormwatch_manifest::{Dependency, Origin, Source, Spec};
use stormwatch_osv::{load_path, AdvisorySet, CompiledAdvisory, LoadOptions};

fn snapshot() -> Option<PathBuf> {
    let p = std::env::var_os("STORMWATCH_PYPA_VULNS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/advisory-db/pypa-vulns")
        });
    if p.is_dir() {
        return Some(p);
    }
    // A green run must mean these ran: without the snapshot they fail unless skipping was
    // asked for.
    assert!(
        std::env::var("STORMWATCH_SKIP_SNAPSHOT").is_ok_and(|v| v == "1"),
        "PyPA advisory snapshot not found at {}: set STORMWATCH_PYPA_VULNS to a checkout of \
         github.com/pypa/advisory-database's vulns directory, or STORMWATCH_SKIP_SNAPSHOT=1",
        p.display()
    );
    eprintln!("skipped (STORMWATCH_SKIP_SNAPSHOT=1): PyPA advisory snapshot conformance");
    None
}

#[test]
#[ignore = "needs the PyPA advisory snapshot (STORMWATCH_PYPA_VULNS, else ../shared/advisory-db/pypa-vulns)"]
fn ranges_reproduce_the_explicit_version_lists() {
    let Some(dir) = snapshot() else { return };
    let loaded = load_path(&dir, LoadOptions::default()).expect("snapshot loads");
    assert!(
        loaded.advisories.len() > 6000,
        "{}",
        loaded.advisories.len()
    );

    let mut checked_versions = 0usize;
    let mut checked_fixes = 0usize;
    let mut mismatches = Vec::new();
    for adv in &loaded.advisories {
        for affected in &adv.affected {
            // Compile the ranges alone, without the explicit list.
            let mut ranges_only = affected.clone();
            ranges_only.versions.clear();
            let Some(compiled) = stormwatch_osv::ranges::CompiledAffected::compile(&ranges_only)
            else {
                continue;
            };
            if compiled.widened_ranges > 0 || compiled.intervals.is_empty() {
                continue;
            }
            // Ranges with malformed event versions (`fixed: 7.2.0-12.1`, a Debian version)
            // are read by their PEP 440 prefix; the list OSV enumerated for them can only
            // be a guess, so they are not a test of range semantics.
            if !stormwatch_osv::ranges::events_are_pep440(affected) {
                continue;
            }
            for v in &affected.versions {
                let Ok(parsed) = v.parse::<Version>() else {
                    continue;
                };
                checked_versions += 1;
                // OSV's enumeration lists pre-releases of an `introduced` version (3.2a1 for
                // `introduced: 3.2`), which PEP 440 orders before it. The explicit list is
                // matched as well, so such versions are still reported; only the range
                // reading differs.
                let prerelease_of_introduced = parsed.any_prerelease()
                    && compiled
                        .intervals
                        .iter()
                        .any(|i| i.lower().is_some_and(|lo| lo.release() == parsed.release()));
                if !compiled.affects(Some(&parsed), v) && !prerelease_of_introduced {
                    mismatches.push(format!(
                        "{} {}: listed {v} not in ranges",
                        adv.id, compiled.package
                    ));
                }
            }
            for fixed in compiled.fixed_versions() {
                checked_fixes += 1;
                let listed = affected
                    .versions
                    .iter()
                    .any(|v| v.parse::<Version>().ok().as_ref() == Some(fixed));
                if compiled.affects(Some(fixed), &fixed.to_string()) && !listed {
                    mismatches.push(format!("{}: fixed {fixed} evaluates as affected", adv.id));
                }
            }
        }
    }
    eprintln!(
        "checked {checked_versions} listed versions and {checked_fixes} fixed versions; {} mismatches",
        mismatches.len()
    );
    assert!(checked_versions > 100_000, "{checked_versions}");
    let mut advisories: Vec<&str> = mismatches
        .iter()
        .map(|m| m.split([' ', ':']).next().unwrap_or(""))
        .collect();
    advisories.dedup();
    assert!(
        mismatches.is_empty(),
        "{} advisories: {advisories:?}\n{:#?}",
        advisories.len(),
        &mismatches[..mismatches.len().min(20)]
    );
}

fn pin(name: &str, version: &str) -> Dependency {
    Dependency {
        name: name.into(),
        spec: Spec::pinned(version),
        source: Source {
            path: PathBuf::from("requirements.txt"),
            line: 1,
        },
        origin: Origin::Manifest,
        marker: None,
        group: None,
    }
}

#[test]
#[ignore = "needs the PyPA advisory snapshot (STORMWATCH_PYPA_VULNS, else ../shared/advisory-db/pypa-vulns)"]
fn audit_results_match_version_lists_and_skip_withdrawn() {
    let Some(dir) = snapshot() else { return };
    let loaded = load_path(&dir, LoadOptions::default()).unwrap();
    let withdrawn: Vec<String> = loaded
        .advisories
        .iter()
        .filter(|a| a.is_withdrawn())
        .map(|a| a.id.clone())
        .collect();
    assert!(!withdrawn.is_empty());
    let mut set = AdvisorySet::new();
    set.extend(loaded.advisories.iter().cloned());

    // For a sample of packages and listed versions, the audit must report exactly the
    // non-withdrawn advisories whose explicit list contains that version (alias-merged).
    let mut sampled = 0;
    for adv in loaded.advisories.iter().step_by(37) {
        let Some(aff) = adv.affected.first() else {
            continue;
        };
        let Some(pkg) = aff.package.as_ref() else {
            continue;
        };
        let Some(version) = aff.versions.last() else {
            continue;
        };
        let name = stormwatch_manifest::normalize_name(&pkg.name);
        // Independent expectation: straight from the raw records' explicit lists.
        let expected: std::collections::BTreeSet<String> = loaded
            .advisories
            .iter()
            .filter(|a| !a.is_withdrawn())
            .filter(|a| {
                a.affected.iter().any(|e| {
                    e.package
                        .as_ref()
                        .map(|p| stormwatch_manifest::normalize_name(&p.name))
                        == Some(name.clone())
                        && e.versions.contains(version)
                })
            })
            .map(|a| a.id.clone())
            .collect();
        let out = audit(&[pin(&name, version)], &set, AuditOptions::default());
        let mut reported = std::collections::BTreeSet::new();
        for f in &out.findings {
            let Detail::Dependency(d) = &f.detail else {
                continue;
            };
            assert!(!withdrawn.contains(&f.id), "withdrawn {} reported", f.id);
            reported.insert(f.id.clone());
            reported.extend(d.aliases.iter().cloned());
        }
        for id in &expected {
            assert!(
                reported.contains(id),
                "{name}=={version}: {id} not reported"
            );
        }
        sampled += 1;
    }
    assert!(sampled > 100);
}

#[test]
#[ignore = "needs the PyPA advisory snapshot (STORMWATCH_PYPA_VULNS, else ../shared/advisory-db/pypa-vulns)"]
fn bundled_tornado_set_covers_the_snapshot() {
    let Some(dir) = snapshot() else { return };
    let loaded = load_path(&dir.join("tornado"), LoadOptions::default()).unwrap();
    let bundled = stormwatch_osv::bundled::bundled();
    for adv in loaded.advisories.iter().filter(|a| !a.is_withdrawn()) {
        let ours = bundled
            .advisories
            .iter()
            .find(|b| b.id == adv.id)
            .unwrap_or_else(|| panic!("{} missing from the bundled set", adv.id));
        for alias in &adv.aliases {
            assert!(
                ours.aliases.contains(alias),
                "{}: alias {alias} missing",
                adv.id
            );
        }
        let theirs = Arc::new(CompiledAdvisory::new(adv.clone()));
        let mine = CompiledAdvisory::new(ours.clone());
        assert_eq!(
            theirs.fixed_versions("tornado"),
            mine.fixed_versions("tornado"),
            "{}: fixed versions differ",
            adv.id
        );
        if theirs.cvss.is_some() {
            assert_eq!(
                theirs.severity, mine.severity,
                "{}: severity differs",
                adv.id
            );
        }
    }
}

#[test]
#[ignore = "needs the PyPA advisory snapshot (STORMWATCH_PYPA_VULNS, else ../shared/advisory-db/pypa-vulns)"]
fn database_round_trip_gives_the_same_findings() {
    let Some(dir) = snapshot() else { return };
    let loaded = load_path(&dir, LoadOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db_path = tmp.path().join("advisories.db");
    let summary =
        stormwatch_db::import(&loaded, "pypa snapshot", &db_path, Default::default()).unwrap();
    assert!(summary.packages > 1000);

    let deps = vec![
        pin("tornado", "6.1"),
        pin("jinja2", "2.10"),
        pin("django", "3.2"),
    ];
    let mut direct = AdvisorySet::new();
    direct.extend(loaded.advisories.iter().cloned());
    let mut from_db = AdvisorySet::new();
    let db = stormwatch_db::Database::open(&db_path).unwrap();
    db.load_for(deps.iter().map(|d| d.name.as_str()), &mut from_db)
        .unwrap();
    let a = audit(&deps, &direct, AuditOptions::default()).findings;
    let b = audit(&deps, &from_db, AuditOptions::default()).findings;
    assert!(a.len() > 20, "{}", a.len());
    assert_eq!(a, b);
}
