//! OSV affected-range semantics over PEP 440 versions.
//!
//! An `ECOSYSTEM` range is a list of events; sorted by version, `introduced` opens an
//! affected interval, `fixed` closes it (exclusive) and `last_affected` closes it
//! (inclusive). `limit` caps evaluation. An explicit `versions` list is affected as well.
//! An event version that is not PEP 440 is read as its longest PEP 440 prefix (real records
//! say `last_affected: 2.9.0-NA` meaning 2.9.0; dropping such a range would hide every
//! affected version). A range with an event that has no such prefix is unusable; the
//! `versions` list still applies.

use std::cmp::Ordering;

use pep440_rs::Version;
use serde::{Deserialize, Serialize};
use stormwatch_manifest::normalize_name;

use crate::model::{Affected, Range};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Upper {
    Unbounded,
    Exclusive(Version),
    Inclusive(Version),
}

/// `[lo, hi)` or `[lo, hi]`; `lo = None` means from the beginning of time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    lo: Option<Version>,
    hi: Upper,
}

impl Interval {
    pub fn contains(&self, v: &Version) -> bool {
        if let Some(lo) = &self.lo {
            if v < lo {
                return false;
            }
        }
        match &self.hi {
            Upper::Unbounded => true,
            Upper::Exclusive(hi) => v < hi,
            Upper::Inclusive(hi) => v <= hi,
        }
    }

    pub fn lower(&self) -> Option<&Version> {
        self.lo.as_ref()
    }

    /// The version that ends this interval when it was ended by a fix.
    pub fn fixed(&self) -> Option<&Version> {
        match &self.hi {
            Upper::Exclusive(v) => Some(v),
            _ => None,
        }
    }

    pub fn upper_inclusive(&self) -> Option<&Version> {
        match &self.hi {
            Upper::Inclusive(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
}

/// Builds the affected intervals of one range, or `None` if an event version is not PEP 440.
pub fn compile_range(range: &Range) -> Option<(Vec<Interval>, Vec<Version>)> {
    let mut events: Vec<(Option<Version>, Kind)> = Vec::new();
    let mut limits = Vec::new();
    for e in &range.events {
        if let Some(v) = &e.introduced {
            let v = v.trim();
            // "0" is OSV's "since the first version", below every PEP 440 version
            // (including `0.dev0`), so it is not compared as a version.
            let parsed = if v == "0" {
                None
            } else {
                Some(event_version(v)?)
            };
            events.push((parsed, Kind::Introduced));
        }
        if let Some(v) = &e.fixed {
            events.push((Some(event_version(v)?), Kind::Fixed));
        }
        if let Some(v) = &e.last_affected {
            events.push((Some(event_version(v)?), Kind::LastAffected));
        }
        if let Some(v) = &e.limit {
            if v.trim() != "*" {
                limits.push(event_version(v)?);
            }
        }
    }
    let sorted_order = |a: &(Option<Version>, Kind), b: &(Option<Version>, Kind)| match (&a.0, &b.0)
    {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    };
    let already_sorted = events
        .windows(2)
        .all(|w| sorted_order(&w[0], &w[1]) != Ordering::Greater);
    let mut sorted = events.clone();
    sorted.sort_by(sorted_order);
    if already_sorted || !well_formed_pairs(&events) {
        return Some((walk(&sorted), limits));
    }
    let mut intervals = walk(&events);
    {
        // The spec evaluates events in version order, but records written as unsorted
        // introduced/fixed pairs (e.g. `2.11..2.11.7, 0..2.11.6`) mean those pairs; a
        // security audit takes the union of both readings.
        for i in walk(&sorted) {
            if !intervals.contains(&i) {
                intervals.push(i);
            }
        }
    }
    Some((intervals, limits))
}

/// Whether every range event of `affected` is PEP 440 as written (or OSV's `0`): ranges read
/// by a version prefix (`fixed: 7.2.0-12.1`) cannot be checked against OSV's enumerations.
pub fn events_are_pep440(affected: &crate::model::Affected) -> bool {
    affected.ranges.iter().flat_map(|r| &r.events).all(|e| {
        [&e.introduced, &e.fixed, &e.last_affected]
            .into_iter()
            .flatten()
            .all(|v| v == "0" || v.trim().parse::<Version>().is_ok())
    })
}

/// An event's version: PEP 440 as written, else its longest PEP 440 prefix (`2.9.0-NA` is
/// 2.9.0, `4.6.0.stable11` is 4.6.0), else none.
pub fn event_version(raw: &str) -> Option<Version> {
    let raw = raw.trim();
    if let Ok(v) = raw.parse() {
        return Some(v);
    }
    raw.char_indices()
        .rev()
        .filter(|&(i, c)| i > 0 && !c.is_ascii_alphanumeric())
        .find_map(|(i, _)| raw[..i].parse().ok())
}

/// Whether unsorted events read as deliberate pairs: each `introduced` directly followed
/// by a closing event at a higher version.
fn well_formed_pairs(events: &[(Option<Version>, Kind)]) -> bool {
    let mut it = events.iter();
    while let Some((lo, kind)) = it.next() {
        if *kind != Kind::Introduced {
            return false;
        }
        match it.next() {
            Some((Some(hi), Kind::Fixed | Kind::LastAffected)) => {
                if lo.as_ref().is_some_and(|lo| lo >= hi) {
                    return false;
                }
            }
            None => {}
            _ => return false,
        }
    }
    true
}

/// Walks events in the given order: `introduced` opens, `fixed`/`last_affected` close.
fn walk(events: &[(Option<Version>, Kind)]) -> Vec<Interval> {
    let mut intervals = Vec::new();
    let mut open: Option<Option<Version>> = None;
    for (v, kind) in events {
        match kind {
            Kind::Introduced => {
                if open.is_none() {
                    open = Some(v.clone());
                }
            }
            Kind::Fixed | Kind::LastAffected => {
                if let Some(lo) = open.take() {
                    let v = v.clone().expect("fixed and last_affected carry a version");
                    let hi = if *kind == Kind::Fixed {
                        Upper::Exclusive(v)
                    } else {
                        Upper::Inclusive(v)
                    };
                    intervals.push(Interval { lo, hi });
                }
            }
        }
    }
    if let Some(lo) = open {
        intervals.push(Interval {
            lo,
            hi: Upper::Unbounded,
        });
    }
    intervals
}

/// The key under which two spellings of one PEP 440 version compare equal as strings:
/// the normalized form with trailing zero release segments removed (`1.0.0` -> `1`).
pub fn canonical_key(v: &Version) -> String {
    let release = v.release();
    let keep = release.iter().rposition(|&n| n != 0).map_or(1, |i| i + 1);
    if keep == release.len() {
        v.to_string()
    } else {
        v.clone().with_release(release[..keep].to_vec()).to_string()
    }
}

/// A version to check against many advisories, with its lookup key computed once, when
/// an explicit version list is first consulted (a range often decides first).
/// `parsed` is `None` for versions that are not PEP 440; those can only match explicit
/// version lists, by exact string.
#[derive(Debug, Clone)]
pub struct Probe {
    pub parsed: Option<Version>,
    key: std::cell::OnceCell<String>,
    raw: String,
}

impl Probe {
    pub fn new(parsed: Option<&Version>, raw: &str) -> Self {
        Self {
            parsed: parsed.cloned(),
            key: std::cell::OnceCell::new(),
            raw: raw.trim().to_string(),
        }
    }

    fn key(&self) -> &str {
        self.key.get_or_init(|| match &self.parsed {
            // A local build (`6.1+ubuntu1`) carries the upstream code of its public version.
            Some(v) if v.local().is_empty() => canonical_key(v),
            Some(v) => canonical_key(&v.clone().without_local()),
            None => String::new(),
        })
    }
}

/// One `affected` entry for a PyPI package, ready for fast matching. Serializable, so a
/// database can store entries compiled once at import time (in a compact binary encoding
/// where every field is always present, so no field may be skipped when serializing).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompiledAffected {
    /// PEP 503 normalized package name.
    pub package: String,
    pub intervals: Vec<Interval>,
    limits: Vec<Version>,
    /// Canonical keys ([`canonical_key`]) of the explicit versions, sorted and joined by
    /// spaces (which no version contains and JSON need not escape): loading is one
    /// allocation and matching a pin never parses a version (lists run to hundreds of
    /// versions per advisory); lookups are binary searches over the string itself.
    versions: String,
    /// The highest explicit version.
    max_listed: Option<Version>,
    /// Explicit versions that are not PEP 440, exactly as written.
    raw_versions: Vec<String>,
    /// Ranges skipped because an event was not PEP 440.
    pub unusable_ranges: usize,
}

impl CompiledAffected {
    /// Compiles a PyPI `affected` entry; entries for other ecosystems return `None`.
    pub fn compile(affected: &Affected) -> Option<Self> {
        let pkg = affected.package.as_ref()?;
        if !pkg.ecosystem.eq_ignore_ascii_case("pypi") || pkg.name.trim().is_empty() {
            return None;
        }
        let mut intervals = Vec::new();
        let mut limits = Vec::new();
        let mut unusable = 0;
        for range in &affected.ranges {
            if !(range.kind.eq_ignore_ascii_case("ECOSYSTEM")
                || range.kind.eq_ignore_ascii_case("SEMVER"))
            {
                continue;
            }
            match compile_range(range) {
                Some((i, l)) => {
                    intervals.extend(i);
                    limits.extend(l);
                }
                None => unusable += 1,
            }
        }
        let mut versions = Vec::new();
        let mut raw_versions = Vec::new();
        let mut max_listed: Option<Version> = None;
        for raw in &affected.versions {
            match raw.trim().parse::<Version>() {
                Ok(v) => {
                    versions.push(canonical_key(&v));
                    if max_listed.as_ref().is_none_or(|m| &v > m) {
                        max_listed = Some(v);
                    }
                }
                Err(_) => raw_versions.push(raw.trim().to_string()),
            }
        }
        versions.sort();
        versions.dedup();
        let versions = versions.join(" ");
        Some(Self {
            package: normalize_name(&pkg.name),
            intervals,
            limits,
            versions,
            max_listed,
            raw_versions,
            unusable_ranges: unusable,
        })
    }

    fn within_limits(&self, v: &Version) -> bool {
        self.limits.is_empty() || self.limits.iter().any(|l| v < l)
    }

    /// Whether this version is affected.
    pub fn affects(&self, parsed: Option<&Version>, raw: &str) -> bool {
        self.affects_probe(&Probe::new(parsed, raw))
    }

    /// [`affects`](Self::affects) for a version prepared once for many checks.
    pub fn affects_probe(&self, probe: &Probe) -> bool {
        match &probe.parsed {
            Some(v) => {
                if self.within_limits(v) && self.intervals.iter().any(|i| i.contains(v)) {
                    return true;
                }
                // Above the highest listed version nothing can be listed (a local build is
                // looked up by its public version, which may equal it).
                let above_list =
                    v.local().is_empty() && self.max_listed.as_ref().is_some_and(|max| v > max);
                !self.versions.is_empty() && !above_list && self.listed(probe.key())
            }
            None => self.raw_versions.contains(&probe.raw),
        }
    }

    /// Binary search of the sorted, space-separated keys, directly over byte offsets: each
    /// probe is snapped back to the start of its key, so no index is built per entry.
    fn listed(&self, key: &str) -> bool {
        let text = &self.versions;
        let (mut lo, mut hi) = (0, text.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let start = text[lo..mid].rfind(' ').map_or(lo, |i| lo + i + 1);
            let end = text[start..].find(' ').map_or(text.len(), |i| start + i);
            match text[start..end].cmp(key) {
                Ordering::Equal => return true,
                Ordering::Less => lo = end + 1,
                Ordering::Greater => hi = start,
            }
        }
        false
    }

    /// Every `fixed` version mentioned, sorted.
    pub fn fixed_versions(&self) -> Vec<&Version> {
        let mut out: Vec<&Version> = self.intervals.iter().filter_map(Interval::fixed).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether every affected version of this entry is below `floor`, so that requiring
    /// `>= floor` excludes all of them. Open-ended intervals never are.
    pub fn entirely_below(&self, floor: &Version) -> bool {
        let intervals_below = self.intervals.iter().all(|i| match &i.hi {
            Upper::Unbounded => self.limits.iter().any(|l| l <= floor),
            Upper::Exclusive(h) => h <= floor,
            Upper::Inclusive(h) => h < floor,
        });
        intervals_below && self.max_listed.as_ref().is_none_or(|v| v < floor)
    }

    /// Known affected versions from the explicit list (parsed on demand; used only for
    /// range analysis, which is not on the pinned-version hot path).
    pub fn listed_versions(&self) -> Vec<Version> {
        self.versions
            .split(' ')
            .filter_map(|k| k.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(a.unusable_ranges, 0);
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
    fn explicit_versions_and_invalid_events() {
        let a = affected(
            vec![ev("i", "0"), ev("l", "not-a-version")],
            &["1.0", "banana"],
        );
        assert_eq!(a.unusable_ranges, 1);
        assert!(hit(&a, "1.0"));
        assert!(
            hit(&a, "1.0.0"),
            "1.0 and 1.0.0 are the same PEP 440 version"
        );
        assert!(!hit(&a, "1.1"));
        assert!(a.affects(None, "banana"));
        assert!(!a.affects(None, "apple"));
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
        let back: CompiledAffected =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
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
}
