use super::*;
use crate::model::{Event, Package};

fn ev(kind: &str, v: &str) -> Event {
    let mut e = Event::default();
    match kind {
        "i" => e.introduced = Some(v.into()),
        "f" => e.fixed = Some(v.into()),
        "l" => e.last_affected = Some(v.into()),
        "m" => e.limit = Some(v.into()),
        _ => unreachable!(),
    }
    e
}

fn affected(events: Vec<Event>, versions: &[&str]) -> CompiledAffected {
    CompiledAffected::compile(&Affected {
        package: Some(Package {
            ecosystem: "PyPI".into(),
            name: "Some_Pkg".into(),
            purl: None,
        }),
        ranges: vec![Range {
            kind: "ECOSYSTEM".into(),
            repo: None,
            events,
        }],
        versions: versions.iter().map(|s| s.to_string()).collect(),
        severity: vec![],
        database_specific: None,
    })
    .unwrap()
}

fn hit(a: &CompiledAffected, v: &str) -> bool {
    a.affects(v.parse::<Version>().ok().as_ref(), v)
}

#[test]
fn listed_versions_above_the_highest_and_local_builds() {
    // A fixed range elsewhere, and an explicit list ending at 2.0.
    let a = affected(vec![ev("i", "5.0"), ev("f", "5.1")], &["1.0", "1.5", "2.0"]);
    assert!(hit(&a, "2.0"));
    assert!(hit(&a, "2.0.0"));
    assert!(hit(&a, "1.5"));
    assert!(!hit(&a, "2.0.1"));
    assert!(!hit(&a, "3.0"));
    // A local build above the highest listed public version is that version.
    assert!(hit(&a, "2.0+ubuntu1"));
    assert!(!hit(&a, "2.0.1+ubuntu1"));
    assert!(hit(&a, "5.0.1"));
}

#[test]
fn introduced_fixed() {
    let a = affected(vec![ev("i", "0"), ev("f", "6.3.2")], &[]);
    assert_eq!(a.package, "some-pkg");
    assert!(hit(&a, "0.1"));
    assert!(hit(&a, "0.0.dev0"));
    assert!(hit(&a, "6.3.1"));
    assert!(
        hit(&a, "6.3.2rc1"),
        "pre-releases of the fix are still affected"
    );
    assert!(!hit(&a, "6.3.2"));
    assert!(!hit(&a, "6.3.2.post1"));
    assert!(!hit(&a, "7.0"));
    assert!(hit(&a, "6.3.1+local"));
}

#[test]
fn multiple_intervals_unsorted_and_last_affected() {
    // Events given out of order, as some databases write them.
    let a = affected(
        vec![
            ev("f", "2.2.1"),
            ev("i", "2.0"),
            ev("i", "3.0"),
            ev("l", "3.1.1"),
        ],
        &[],
    );
    assert!(!hit(&a, "1.9"));
    assert!(hit(&a, "2.0"));
    assert!(hit(&a, "2.2"));
    assert!(!hit(&a, "2.2.1"));
    assert!(!hit(&a, "2.9"));
    assert!(hit(&a, "3.1.1"));
    assert!(!hit(&a, "3.1.2"));
    assert!(
        !hit(&a, "3.1.1.post1"),
        "a post-release is later than last_affected"
    );
}

#[test]
fn unsorted_pairs_are_read_both_ways() {
    // As in PYSEC-2021-114: pairs written out of version order.
    let a = affected(
        vec![
            ev("i", "2.11"),
            ev("f", "2.11.7"),
            ev("i", "0"),
            ev("f", "2.11.6"),
            ev("i", "2.12"),
            ev("f", "2.12.4"),
        ],
        &[],
    );
    assert!(hit(&a, "2.11.6"));
    assert!(hit(&a, "1.0"));
    assert!(!hit(&a, "2.11.7"));
    assert!(hit(&a, "2.12.3"));
    assert!(!hit(&a, "2.12.4"));
}

#[test]
fn open_ended_and_limit() {
    let a = affected(vec![ev("i", "1.0")], &[]);
    assert!(hit(&a, "99"));
    assert!(!hit(&a, "0.9"));
    let b = affected(vec![ev("i", "1.0"), ev("m", "2.0")], &[]);
    assert!(hit(&b, "1.5"));
    assert!(!hit(&b, "2.0"));
}

#[test]
fn epochs_and_prereleases_order() {
    let a = affected(vec![ev("i", "0"), ev("f", "1!1.0")], &[]);
    assert!(
        hit(&a, "2024.1"),
        "any version without epoch sorts before epoch 1"
    );
    assert!(!hit(&a, "1!1.0"));
    let b = affected(vec![ev("i", "2.0a1"), ev("f", "2.0")], &[]);
    assert!(hit(&b, "2.0b3"));
    assert!(hit(&b, "2.0rc1"));
    assert!(!hit(&b, "2.0.dev1"), "dev releases sort before alpha 1");
    assert!(!hit(&b, "1.9.post2"));
}

#[test]
fn listed_versions_binary_search_finds_every_entry_and_nothing_else() {
    let listed: Vec<String> = (0..300)
        .map(|i| format!("{}.{}.{}", i % 7, i % 13, i))
        .collect();
    let refs: Vec<&str> = listed.iter().map(String::as_str).collect();
    let a = affected(vec![], &refs);
    for v in &listed {
        assert!(hit(&a, v), "{v} is listed");
    }
    for v in [
        "0.0.0.1",
        "0.0.1",
        "6.12.299.1",
        "7",
        "99.0",
        "3.3.3.3",
        "1.1",
    ] {
        assert!(!hit(&a, v), "{v} is not listed");
    }
    let empty = affected(vec![], &[]);
    assert!(!hit(&empty, "1.0"));
}

#[test]
fn non_pep440_event_versions_read_as_their_pep440_prefix() {
    // As in PYSEC-2024-264 (apache-airflow): the record has no version list, so
    // dropping the range would hide every affected version.
    let a = affected(vec![ev("i", "0"), ev("l", "2.9.0-NA")], &[]);
    assert_eq!(a.widened_ranges, 0);
    assert!(hit(&a, "1.8.1"));
    assert!(hit(&a, "2.9.0"));
    assert!(!hit(&a, "2.9.1"));
    let b = affected(vec![ev("i", "4.0"), ev("f", "4.6.0.stable11")], &[]);
    assert!(hit(&b, "4.5.9"));
    assert!(!hit(&b, "4.6.0"));
    assert_eq!(
        event_version("1.0.0-beta.1-x"),
        Some("1.0.0b1".parse().unwrap())
    );
    assert_eq!(event_version("-1"), None);
}

#[test]
fn explicit_versions() {
    let a = affected(vec![], &["1.0", "banana"]);
    assert!(hit(&a, "1.0"));
    assert!(
        hit(&a, "1.0.0"),
        "1.0 and 1.0.0 are the same PEP 440 version"
    );
    assert!(!hit(&a, "1.1"));
    assert!(a.affects(None, "banana"));
    assert!(!a.affects(None, "apple"));
}

/// An unreadable event never makes a range stop applying: it is read at its widest.
#[test]
fn unreadable_events_widen_the_range() {
    let v = |s: &str| s.parse::<Version>().unwrap();
    // No known fix: every version from `introduced` on is affected.
    let a = affected(vec![ev("i", "1.2"), ev("f", "not-a-version")], &[]);
    assert_eq!(a.widened_ranges, 1);
    assert!(!hit(&a, "1.1"));
    assert!(hit(&a, "1.2") && hit(&a, "99"));
    assert_eq!(a.unknown_fix(&v("3.0")), Some("not-a-version"));
    assert_eq!(a.unknown_fix(&v("1.0")), None);
    assert!(a.fixed_versions().is_empty());
    assert!(!a.entirely_below(&v("100")));
    let l = affected(vec![ev("i", "0"), ev("l", "-x")], &[]);
    assert!(hit(&l, "0.1") && hit(&l, "5"));
    // An unreadable start is the first version; the readable end still closes it.
    let b = affected(vec![ev("i", "?"), ev("f", "2.0")], &[]);
    assert!(hit(&b, "0.0.1") && hit(&b, "1.9"));
    assert!(!hit(&b, "2.0"));
    assert_eq!(b.unknown_fix(&v("1.0")), None);
    // Several pairs: the hull of all of them.
    let c = affected(
        vec![ev("i", "1.0"), ev("f", "1.5"), ev("i", "?"), ev("l", "2.5")],
        &[],
    );
    assert!(hit(&c, "0.1") && hit(&c, "1.7") && hit(&c, "2.5"));
    assert!(!hit(&c, "2.5.1"));
    // An unreadable limit is no limit.
    let d = affected(vec![ev("i", "1.0"), ev("m", "?")], &[]);
    assert!(hit(&d, "7"));
    // Nothing introduced, nothing affected.
    assert!(!hit(&affected(vec![ev("f", "?")], &[]), "1"));
}

#[test]
fn canonical_keys() {
    let k = |s: &str| canonical_key(&s.parse().unwrap());
    assert_eq!(k("1.0.0"), "1");
    assert_eq!(k("1.0"), k("1"));
    assert_eq!(k("1.10"), "1.10");
    assert_eq!(k("2.0.0rc1"), "2rc1");
    assert_eq!(k("1!2.0.post1"), "1!2.post1");
    assert_eq!(k("0.0"), "0");
    assert_ne!(k("1.0.1"), k("1.1"));
}

#[test]
fn serde_round_trip_keeps_matching() {
    let a = affected(vec![ev("i", "1.0"), ev("f", "2.0")], &["0.5", "0.5.1"]);
    let back: CompiledAffected = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    for v in ["0.5", "0.5.0", "0.5.1", "1.5", "2.0", "0.4"] {
        assert_eq!(hit(&a, v), hit(&back, v), "{v}");
    }
    assert!(back.entirely_below(&"2.0".parse().unwrap()));
    assert!(!back.entirely_below(&"1.9".parse().unwrap()));
}

#[test]
fn other_ecosystems_are_not_compiled() {
    let mut aff = Affected {
        package: Some(Package {
            ecosystem: "npm".into(),
            name: "x".into(),
            purl: None,
        }),
        ranges: vec![],
        versions: vec![],
        severity: vec![],
        database_specific: None,
    };
    assert!(CompiledAffected::compile(&aff).is_none());
    aff.package.as_mut().unwrap().ecosystem = "PyPI".into();
    assert!(CompiledAffected::compile(&aff).is_some());
}
