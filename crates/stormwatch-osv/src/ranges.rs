//! OSV affected-range semantics over PEP 440 versions.
//!
//! An `ECOSYSTEM` range is a list of events; sorted by version, `introduced` opens an
//! affected interval, `fixed` closes it (exclusive) and `last_affected` closes it
//! (inclusive). `limit` caps evaluation. An explicit `versions` list is affected as well.
//! An event version that is not PEP 440 is read as its longest PEP 440 prefix (real records
//! say `last_affected: 2.9.0-NA` meaning 2.9.0; dropping such a range would hide every
//! affected version). An event with no such prefix never makes an advisory stop applying:
//! the range is read at its widest (an unreadable `introduced` is the first version, an
//! unreadable `fixed` or `last_affected` an unknown fix, so every later version is affected,
//! an unreadable `limit` no limit).

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
    /// Closed by an event whose version is not PEP 440 (kept as written): matched as
    /// unbounded. Last, so that databases written before it still decode.
    Unknown(String),
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
            Upper::Unbounded | Upper::Unknown(_) => true,
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

    /// The closing event as the record wrote it, when it is not a PEP 440 version.
    pub fn unknown_fix(&self) -> Option<&str> {
        match &self.hi {
            Upper::Unknown(raw) => Some(raw),
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

/// Builds the affected intervals of one range and its limits, and whether an event version
/// could not be read (the range is then read at its widest, see the module documentation).
pub fn compile_range(range: &Range) -> (Vec<Interval>, Vec<Version>, bool) {
    let mut events: Vec<(Option<Version>, Kind)> = Vec::new();
    let mut limits = Vec::new();
    let mut unread_start = false;
    let mut unknown_end: Option<String> = None;
    let mut unread_limit = false;
    for e in &range.events {
        if let Some(v) = &e.introduced {
            let v = v.trim();
            // "0" is OSV's "since the first version", below every PEP 440 version
            // (including `0.dev0`), so it is not compared as a version.
            let parsed = if v == "0" { None } else { event_version(v) };
            unread_start |= v != "0" && parsed.is_none();
            events.push((parsed, Kind::Introduced));
        }
        for (value, kind) in [
            (&e.fixed, Kind::Fixed),
            (&e.last_affected, Kind::LastAffected),
        ] {
            let Some(v) = value else { continue };
            match event_version(v) {
                Some(parsed) => events.push((Some(parsed), kind)),
                None => {
                    unknown_end.get_or_insert_with(|| v.trim().to_string());
                }
            }
        }
        if let Some(v) = &e.limit {
            if v.trim() != "*" {
                match event_version(v) {
                    Some(parsed) => limits.push(parsed),
                    None => unread_limit = true,
                }
            }
        }
    }
    if unread_limit {
        limits.clear();
    }
    let sorted_order = |a: &(Option<Version>, Kind), b: &(Option<Version>, Kind)| match (&a.0, &b.0)
    {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    };
    let mut sorted = events.clone();
    sorted.sort_by(sorted_order);
    if unread_start || unknown_end.is_some() {
        let hull = widest(&sorted, unknown_end);
        return (hull.into_iter().collect(), limits, true);
    }
    let already_sorted = events
        .windows(2)
        .all(|w| sorted_order(&w[0], &w[1]) != Ordering::Greater);
    if already_sorted || !well_formed_pairs(&events) {
        return (walk(&sorted), limits, unread_limit);
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
    (intervals, limits, unread_limit)
}

/// The one interval covering every version a range with an unreadable event may mean: from
/// its lowest `introduced` (unreadable ones sort first, as the first version) to its highest
/// closing event, or open when that is unreadable or an `introduced` comes last. A range
/// that introduces nothing affects nothing, as in [`walk`].
fn widest(sorted: &[(Option<Version>, Kind)], unknown_end: Option<String>) -> Option<Interval> {
    let lo = sorted
        .iter()
        .find(|(_, k)| *k == Kind::Introduced)?
        .0
        .clone();
    let hi = match (unknown_end, sorted.last()) {
        (Some(raw), _) => Upper::Unknown(raw),
        (None, Some((Some(v), Kind::Fixed))) => {
            // A `last_affected` at the same version keeps that version affected.
            let inclusive = sorted
                .iter()
                .any(|(w, k)| *k == Kind::LastAffected && w.as_ref() == Some(v));
            if inclusive {
                Upper::Inclusive(v.clone())
            } else {
                Upper::Exclusive(v.clone())
            }
        }
        (None, Some((Some(v), Kind::LastAffected))) => Upper::Inclusive(v.clone()),
        _ => Upper::Unbounded,
    };
    Some(Interval { lo, hi })
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
    /// Ranges read at their widest because an event version was not PEP 440.
    pub widened_ranges: usize,
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
        let mut widened = 0;
        for range in &affected.ranges {
            if !(range.kind.eq_ignore_ascii_case("ECOSYSTEM")
                || range.kind.eq_ignore_ascii_case("SEMVER"))
            {
                continue;
            }
            let (i, l, unread) = compile_range(range);
            intervals.extend(i);
            limits.extend(l);
            widened += usize::from(unread);
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
            widened_ranges: widened,
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
            Upper::Unbounded | Upper::Unknown(_) => self.limits.iter().any(|l| l <= floor),
            Upper::Exclusive(h) => h <= floor,
            Upper::Inclusive(h) => h < floor,
        });
        intervals_below && self.max_listed.as_ref().is_none_or(|v| v < floor)
    }

    /// The unreadable closing event (as written) of an interval that affects `v`: the
    /// fix of this vulnerability at `v` is unknown.
    pub fn unknown_fix(&self, v: &Version) -> Option<&str> {
        if !self.within_limits(v) {
            return None;
        }
        self.intervals
            .iter()
            .filter(|i| i.contains(v))
            .find_map(Interval::unknown_fix)
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
mod tests;
