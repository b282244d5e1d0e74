//! The dependency audit: which advisories affect which declared dependencies.
//!
//! - A pinned dependency is affected when its exact version falls in an advisory's ranges
//!   or explicit version list. Advisories that name each other (PYSEC, GHSA and CVE ids of
//!   one vulnerability) become one finding listing every id.
//! - A range (`tornado>=5`) is reported as *unpinned* when it still admits a vulnerable
//!   version; the finding gives a concrete vulnerable version the range allows and the
//!   lowest floor that excludes every advisory.
//! - URLs, VCS checkouts and local paths cannot be audited by version and are reported as
//!   such, never silently dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use pep440_rs::{Operator, Version, VersionSpecifiers};
use rayon::prelude::*;
use stormwatch_findings::{
    Audit, DependencyFinding, Detail, Finding, Location, Notice, Severity, UnauditableFinding,
    UnpinnedFinding, Upgrade,
};

pub mod rules;
use stormwatch_manifest::{Dependency, Inputs, Spec};
use stormwatch_osv::{AdvisorySet, CompiledAdvisory, Probe};

#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions {
    /// Do not report ranges that admit vulnerable versions.
    pub ignore_unpinned: bool,
}

/// The findings of one dependency audit, most severe first.
#[derive(Debug, Default)]
pub struct DependencyAudit {
    pub findings: Vec<Finding>,
    /// Distinct packages audited.
    pub packages: usize,
    /// For each vulnerable pin, the smallest version that resolves all of its findings.
    pub upgrades: Vec<Upgrade>,
}

impl DependencyAudit {
    /// The audit in the shape every report is built from, with what `inputs` says about
    /// itself: the files read, their notes (notices) and the files that could not be read
    /// (incomplete).
    pub fn into_audit(self, inputs: &Inputs) -> Audit {
        let mut files: Vec<String> = Vec::new();
        for (path, _) in &inputs.files {
            let s = display(path);
            if !files.contains(&s) {
                files.push(s);
            }
        }
        let notice = |n: &stormwatch_manifest::Note| {
            Notice::at(
                Location::new(display(&n.source.path), n.source.line),
                &n.message,
            )
        };
        Audit {
            findings: self.findings,
            packages: self.packages,
            upgrades: self.upgrades,
            inputs: files,
            notices: inputs.notes.iter().map(notice).collect(),
            incomplete: inputs.unread.iter().map(notice).collect(),
            ..Audit::default()
        }
    }
}

fn display(path: &std::path::Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Audits `deps` against `advisories`.
pub fn audit(deps: &[Dependency], advisories: &AdvisorySet, opts: AuditOptions) -> DependencyAudit {
    // The same line reached twice (a file included by two others) is one dependency.
    // Keyed by the path's bytes: hashing a `Path` walks its components.
    let mut seen = HashSet::with_capacity(deps.len());
    let unique: Vec<&Dependency> = deps
        .iter()
        .filter(|dep| {
            seen.insert((
                dep.source.path.as_os_str().as_encoded_bytes(),
                dep.source.line,
                dep.name.as_str(),
                spec_key(&dep.spec),
            ))
        })
        .collect();
    let packages: HashSet<&str> = unique.iter().map(|d| d.name.as_str()).collect();
    // Each dependency is matched on its own, so large inputs are spread over the cores.
    let per_dep: Vec<(Vec<Finding>, Option<Upgrade>)> = unique
        .par_iter()
        .map(|dep| audit_one(dep, advisories, &opts))
        .collect();
    let mut findings = Vec::new();
    let mut upgrades = Vec::new();
    for (f, u) in per_dep {
        findings.extend(f);
        upgrades.extend(u);
    }
    sort_findings(&mut findings);
    DependencyAudit {
        findings,
        packages: packages.len(),
        upgrades,
    }
}

/// What distinguishes two requirements of one package on one line.
fn spec_key(spec: &Spec) -> (u8, &str) {
    match spec {
        Spec::Pinned { version, .. } => (0, version),
        Spec::Range { text, .. } => (1, text),
        Spec::Unauditable { reference, .. } => (2, reference),
    }
}

fn audit_one(
    dep: &Dependency,
    advisories: &AdvisorySet,
    opts: &AuditOptions,
) -> (Vec<Finding>, Option<Upgrade>) {
    let mut findings = Vec::new();
    // Built only for a dependency with a finding: most packages of a large lock have none.
    let location = || Location::new(display(&dep.source.path), dep.source.line);
    match &dep.spec {
        Spec::Pinned { version, parsed } => {
            // Group every advisory of the package first, so that a fix one record
            // claims but an alias record contradicts is not offered as a fix.
            let all: Vec<&Arc<CompiledAdvisory>> = advisories
                .for_package(&dep.name)
                .filter(|a| !a.withdrawn)
                .collect();
            if all.is_empty() {
                return (findings, None);
            }
            let probe = Probe::new(parsed.as_ref(), version);
            if !all.iter().any(|a| a.affects_probe(&dep.name, &probe)) {
                return (findings, None);
            }
            let location = location();
            for group in merge_aliases(&all)
                .into_iter()
                .filter(|g| g.iter().any(|a| a.affects_probe(&dep.name, &probe)))
            {
                findings.push(pinned_finding(
                    dep,
                    version,
                    parsed.as_ref(),
                    &group,
                    &location,
                ));
            }
            let upgrade = Upgrade {
                package: dep.name.clone(),
                from: version.clone(),
                to: minimal_upgrade(&dep.name, parsed.as_ref(), &all).map(|v| v.to_string()),
                resolves: findings.len(),
                source: location,
            };
            (findings, Some(upgrade))
        }
        Spec::Range { alternatives, text }
            if alternatives.iter().map(|a| a.len()).sum::<usize>() > MAX_RANGE_CLAUSES =>
        {
            // Checking a range costs its clauses times the candidate versions they yield:
            // past the limit it is reported for review, never dropped.
            let clauses: usize = alternatives.iter().map(|a| a.len()).sum();
            let reason = format!(
                "a range of {clauses} version clauses (more than {MAX_RANGE_CLAUSES}) is not analysed"
            );
            findings.push(unauditable_finding(dep, &reason, text, location()));
            (findings, None)
        }
        Spec::Range { alternatives, text } => {
            if !opts.ignore_unpinned {
                findings.extend(unpinned_finding(
                    dep,
                    alternatives,
                    text,
                    advisories,
                    &location(),
                ));
            }
            (findings, None)
        }
        Spec::Unauditable { reason, reference } => {
            findings.push(unauditable_finding(dep, reason, reference, location()));
            (findings, None)
        }
    }
}

/// More clauses than any real range has (a handful); see [`audit_one`].
const MAX_RANGE_CLAUSES: usize = 64;

fn unauditable_finding(
    dep: &Dependency,
    reason: &str,
    reference: &str,
    location: Location,
) -> Finding {
    let parts = [
        "unauditable",
        dep.name.as_str(),
        reference,
        location.file.as_str(),
    ];
    let detail = Detail::Unauditable(UnauditableFinding {
        package: dep.name.clone(),
        reason: reason.to_string(),
        reference: reference.to_string(),
    });
    Finding::new(
        detail,
        rules::unauditable::RULE.id,
        rules::unauditable::RULE.severity,
        location.clone(),
        &parts,
    )
}

/// Most severe first; then by package, file and line for stable output.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package().cmp(&b.package()))
            .then_with(|| a.location_key().cmp(&b.location_key()))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Groups advisories that share any id or alias (transitively). Union-find over ids, so
/// packages with hundreds of advisories stay linear.
pub fn merge_aliases(advisories: &[&Arc<CompiledAdvisory>]) -> Vec<Vec<Arc<CompiledAdvisory>>> {
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..advisories.len()).collect();
    let mut owner: HashMap<&str, usize> = HashMap::with_capacity(advisories.len() * 3);
    for (i, adv) in advisories.iter().enumerate() {
        for id in adv.all_ids() {
            match owner.get(id) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(id, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<Arc<CompiledAdvisory>>> = BTreeMap::new();
    for (i, adv) in advisories.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(Arc::clone(adv));
    }
    let mut out: Vec<Vec<Arc<CompiledAdvisory>>> = groups.into_values().collect();
    for g in &mut out {
        g.sort_by(|a, b| {
            id_rank(a.id())
                .cmp(&id_rank(b.id()))
                .then(a.id().cmp(b.id()))
        });
    }
    out.sort_by(|a, b| a[0].id().cmp(b[0].id()));
    out
}

/// Which id names a merged finding: the PyPA id, then GitHub's, then anything else, CVE last.
fn id_rank(id: &str) -> u8 {
    if id.starts_with("PYSEC-") {
        0
    } else if id.starts_with("GHSA-") {
        1
    } else if id.starts_with("CVE-") {
        3
    } else {
        2
    }
}

fn primary_and_aliases(group: &[Arc<CompiledAdvisory>]) -> (String, Vec<String>) {
    let mut all: BTreeSet<&str> = BTreeSet::new();
    for a in group {
        all.extend(a.all_ids());
    }
    let primary = all
        .iter()
        .min_by(|a, b| id_rank(a).cmp(&id_rank(b)).then(a.cmp(b)))
        .map(|s| s.to_string())
        .unwrap_or_default();
    let aliases = all
        .into_iter()
        .filter(|id| *id != primary)
        .map(str::to_string)
        .collect();
    (primary, aliases)
}

fn worst(group: &[Arc<CompiledAdvisory>]) -> (Severity, Option<stormwatch_findings::CvssScore>) {
    let severity = group
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let cvss = group
        .iter()
        .filter_map(|a| a.cvss.clone())
        .max_by(|a, b| a.score.total_cmp(&b.score));
    (severity, cvss)
}

fn pinned_finding(
    dep: &Dependency,
    version: &str,
    parsed: Option<&Version>,
    group: &[Arc<CompiledAdvisory>],
    location: &Location,
) -> Finding {
    let (id, aliases) = primary_and_aliases(group);
    let (severity, cvss) = worst(group);
    let mut summary = group
        .iter()
        .map(|a| a.headline.clone())
        .find(|h| !h.is_empty())
        .unwrap_or_default();
    // A fix the record gives in a form no version compares with: the advisory still applies
    // (from its start on), and the reader is told why no upgrade is offered.
    if let Some(raw) = parsed.and_then(|v| group.iter().find_map(|a| a.unknown_fix(&dep.name, v))) {
        let note =
            format!("fixed version unknown: advisory lists `{raw}` which is not a PEP 440 version");
        summary = if summary.is_empty() {
            note
        } else {
            format!("{summary} ({note})")
        };
    }
    // Deadlines count from the first publication of any record of the vulnerability.
    let published = group
        .iter()
        .filter_map(|a| a.published.as_deref())
        .filter_map(publication_date)
        .min()
        .map(str::to_string);
    let mut all_ids: Vec<&str> = aliases.iter().map(String::as_str).collect();
    all_ids.push(&id);
    all_ids.sort_unstable();
    let ids = all_ids.join(",");
    let parts = [
        "dependency",
        dep.name.as_str(),
        version,
        ids.as_str(),
        location.file.as_str(),
    ];
    let detail = Detail::Dependency(DependencyFinding {
        package: dep.name.clone(),
        version: version.to_string(),
        aliases: aliases.clone(),
        cvss,
        summary,
        fixed_versions: resolving_versions(&dep.name, parsed, group)
            .iter()
            .map(Version::to_string)
            .collect(),
        published,
        group: dep.group.clone(),
        marker: dep.marker.clone(),
        declared: Vec::new(),
    });
    Finding::new(detail, &id, severity, location.clone(), &parts)
}

/// The `YYYY-MM-DD` of an RFC 3339 timestamp, when it starts with one.
fn publication_date(timestamp: &str) -> Option<&str> {
    let date = timestamp.trim().get(..10)?;
    let b = date.as_bytes();
    let shape = b.iter().enumerate().all(|(i, c)| {
        if i == 4 || i == 7 {
            *c == b'-'
        } else {
            c.is_ascii_digit()
        }
    });
    shape.then_some(date)
}

/// The fixed versions above `current` that none of `advisories` affects, smallest first.
/// Lazy, so a caller wanting only the smallest checks no further candidates.
fn unaffected_fixes<'a>(
    package: &'a str,
    current: Option<&Version>,
    advisories: &'a [&'a CompiledAdvisory],
) -> impl Iterator<Item = Version> + 'a {
    let mut candidates: Vec<Version> = advisories
        .iter()
        .flat_map(|a| a.fixed_versions(package))
        .filter(|v| current.is_none_or(|c| v > c))
        .collect();
    candidates.sort();
    candidates.dedup();
    // Consecutive candidates are usually affected by the same advisory (one wide range
    // covering many fixes of others): trying the last one that matched first keeps a
    // package with hundreds of advisories from costing candidates x advisories.
    let mut last_hit = 0;
    candidates.into_iter().filter(move |c| {
        let probe = Probe::new(Some(c), "");
        if advisories
            .get(last_hit)
            .is_some_and(|a| a.affects_probe(package, &probe))
        {
            return false;
        }
        match advisories
            .iter()
            .position(|a| a.affects_probe(package, &probe))
        {
            Some(i) => {
                last_hit = i;
                false
            }
            None => true,
        }
    })
}

/// The smallest upgrades that resolve one finding (one per maintained release line).
pub fn resolving_versions(
    package: &str,
    current: Option<&Version>,
    group: &[Arc<CompiledAdvisory>],
) -> Vec<Version> {
    let advisories: Vec<&CompiledAdvisory> = group.iter().map(|a| a.as_ref()).collect();
    unaffected_fixes(package, current, &advisories).collect()
}

fn unpinned_finding(
    dep: &Dependency,
    alternatives: &[VersionSpecifiers],
    text: &str,
    advisories: &AdvisorySet,
    location: &Location,
) -> Option<Finding> {
    let all: Vec<&Arc<CompiledAdvisory>> = advisories
        .for_package(&dep.name)
        .filter(|a| !a.withdrawn)
        .collect();
    let mut allowed: Vec<(&Arc<CompiledAdvisory>, Version)> = Vec::new();
    for adv in &all {
        if let Some(example) = allowed_example(adv, &dep.name, alternatives) {
            allowed.push((adv, example));
        }
    }
    if allowed.is_empty() {
        return None;
    }
    let example = allowed.iter().map(|(_, v)| v).min().cloned()?;
    let allowed_advs: Vec<&Arc<CompiledAdvisory>> = allowed.iter().map(|(a, _)| *a).collect();
    let groups = merge_aliases(&allowed_advs);
    let flat: Vec<Arc<CompiledAdvisory>> = groups.iter().flatten().cloned().collect();
    let (severity, _) = worst(&flat);
    let ids: Vec<String> = groups.iter().map(|g| primary_and_aliases(g).0).collect();
    let floor = safe_floor(&dep.name, &all);
    let parts = ["unpinned", dep.name.as_str(), text, location.file.as_str()];
    let detail = Detail::Unpinned(UnpinnedFinding {
        package: dep.name.clone(),
        specifier: text.to_string(),
        ids,
        example_version: example.to_string(),
        fixed_versions: floor.into_iter().map(|v| v.to_string()).collect(),
        group: dep.group.clone(),
    });
    Some(Finding::new(
        detail,
        rules::unpinned::RULE.id,
        severity,
        location.clone(),
        &parts,
    ))
}

/// The smallest fixed version above `current` that no advisory of the package affects:
/// the minimal upgrade that clears the package.
pub fn minimal_upgrade(
    package: &str,
    current: Option<&Version>,
    advisories: &[&Arc<CompiledAdvisory>],
) -> Option<Version> {
    let advisories: Vec<&CompiledAdvisory> = advisories.iter().map(|a| a.as_ref()).collect();
    let first = unaffected_fixes(package, current, &advisories).next();
    first
}

/// The lowest version `F` such that `>= F` admits no version any advisory affects.
pub fn safe_floor(package: &str, advisories: &[&Arc<CompiledAdvisory>]) -> Option<Version> {
    let mut candidates: Vec<Version> = advisories
        .iter()
        .flat_map(|a| a.fixed_versions(package))
        .collect();
    candidates.sort();
    candidates.dedup();
    candidates.into_iter().find(|c| {
        advisories.iter().all(|a| {
            a.affected
                .iter()
                .filter(|e| e.package == package)
                .all(|e| e.entirely_below(c))
        })
    })
}

/// A version that both the advisory affects and one of the alternatives allows, if any.
///
/// The advisory's intervals and each specifier are unions of intervals of versions, so their
/// intersection, when not empty, starts where one of those intervals starts: at a bound, or
/// just above an exclusive one. Those points (plus the advisory's explicit version list) are
/// checked exactly, a constant number per bound, so the cost stays linear in the length of
/// the versions involved. Pre-releases are considered only when the specifier itself
/// mentions one, as pip does; otherwise a pre-release bound stands for its final release.
pub fn allowed_example(
    adv: &CompiledAdvisory,
    package: &str,
    alternatives: &[VersionSpecifiers],
) -> Option<Version> {
    let allow_pre = alternatives
        .iter()
        .any(|a| a.iter().any(|s| s.any_prerelease()));
    let mut candidates: Vec<Version> = Vec::new();
    for entry in adv.affected.iter().filter(|e| e.package == package) {
        for interval in &entry.intervals {
            let lo = interval
                .lower()
                .cloned()
                .unwrap_or_else(|| Version::new([0]));
            candidates.push(just_above(&lo));
            if lo.any_prerelease() {
                candidates.push(lo.only_release().with_epoch(lo.epoch()));
            }
            candidates.push(lo);
            if let Some(hi) = interval.upper_inclusive() {
                candidates.push(hi.clone());
            }
        }
        candidates.extend(entry.listed_versions());
    }
    for alt in alternatives {
        for s in alt.iter() {
            let v = s.version();
            match s.operator() {
                Operator::LessThan | Operator::LessThanEqual => continue,
                // `!= 1.2.*` allows versions again from 1.3 on.
                Operator::NotEqualStar => candidates.push(next_release(v)),
                _ => {}
            }
            candidates.push(just_above(v));
            candidates.push(v.clone());
        }
    }
    candidates.sort();
    candidates.dedup();
    candidates.into_iter().find(|c| {
        (allow_pre || !c.any_prerelease())
            && (alternatives.is_empty() || alternatives.iter().any(|a| a.contains(c)))
            && adv.affects(package, Some(c), &c.to_string())
    })
}

/// A final release just above `v` and its post-releases: 1.2.3 -> 1.2.3.0.1.
fn just_above(v: &Version) -> Version {
    let mut release = v.release().to_vec();
    release.extend([0, 1]);
    Version::new(release).with_epoch(v.epoch())
}

/// The first release after every `v.*`: 1.2 -> 1.3.
fn next_release(v: &Version) -> Version {
    let mut release = v.release().to_vec();
    if let Some(last) = release.last_mut() {
        *last = last.saturating_add(1);
    }
    Version::new(release).with_epoch(v.epoch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use stormwatch_manifest::{Origin, Source};
    use stormwatch_osv::Advisory;

    fn adv(json: serde_json::Value) -> Advisory {
        serde_json::from_value(json).unwrap()
    }

    fn simple(id: &str, aliases: &[&str], fixed: &str) -> Advisory {
        adv(serde_json::json!({
            "id": id, "aliases": aliases,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
        }))
    }

    fn dep(spec: Spec) -> Dependency {
        Dependency {
            name: "tornado".into(),
            spec,
            source: Source {
                path: PathBuf::from("requirements.txt"),
                line: 1,
            },
            origin: Origin::Manifest,
            marker: None,
            group: None,
        }
    }

    fn range(s: &str) -> Spec {
        Spec::from_specifiers(s.parse().unwrap())
    }

    #[test]
    fn aliases_merge_into_one_finding() {
        let mut set = AdvisorySet::new();
        set.insert(simple("GHSA-aaaa", &["CVE-1"], "6.3.2"));
        set.insert(simple("PYSEC-1", &["CVE-1"], "6.3.2"));
        set.insert(simple("GHSA-bbbb", &[], "6.5"));
        let out = audit(&[dep(Spec::pinned("6.1"))], &set, AuditOptions::default());
        assert_eq!(out.findings.len(), 2);
        let ids: Vec<_> = out
            .findings
            .iter()
            .map(|f| match &f.detail {
                Detail::Dependency(d) => {
                    (f.id.clone(), d.aliases.clone(), d.fixed_versions.clone())
                }
                _ => unreachable!(),
            })
            .collect();
        assert!(ids.contains(&(
            "PYSEC-1".into(),
            vec!["CVE-1".into(), "GHSA-aaaa".into()],
            vec!["6.3.2".into()]
        )));
        assert!(ids.contains(&("GHSA-bbbb".into(), vec![], vec!["6.5".into()])));
    }

    #[test]
    fn resolving_versions_skip_fixes_that_are_still_affected() {
        // Fixed on two release lines, but 5.1.1 is hit by a second, merged advisory.
        let mut set = AdvisorySet::new();
        set.insert(adv(serde_json::json!({
            "id": "PYSEC-A", "aliases": ["CVE-9"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"},
                "ranges": [{"type": "ECOSYSTEM", "events": [
                    {"introduced": "0"}, {"fixed": "5.1.1"}, {"introduced": "6.0"}, {"fixed": "6.0.3"}]}]}]
        })));
        set.insert(adv(serde_json::json!({
            "id": "GHSA-B", "aliases": ["CVE-9"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"}, "versions": ["5.1.1"]}]
        })));
        let out = audit(&[dep(Spec::pinned("5.0"))], &set, AuditOptions::default());
        assert_eq!(out.upgrades[0].to.as_deref(), Some("6.0.3"));
        assert_eq!(out.upgrades[0].resolves, 1);
        match &out.findings[0].detail {
            Detail::Dependency(d) => assert_eq!(d.fixed_versions, vec!["6.0.3".to_string()]),
            f => panic!("{f:?}"),
        }
        assert!(
            audit(&[dep(Spec::pinned("6.0.3"))], &set, AuditOptions::default())
                .findings
                .is_empty()
        );
    }

    #[test]
    fn unpinned_ranges() {
        let mut set = AdvisorySet::new();
        set.insert(simple("PYSEC-1", &[], "6.3.2"));
        set.insert(simple("PYSEC-2", &[], "6.5.5"));
        let run = |s: Spec| audit(&[dep(s)], &set, AuditOptions::default()).findings;

        let f = run(range(">=5"));
        assert_eq!(f[0].id, "TW201");
        match &f[0].detail {
            Detail::Unpinned(u) => {
                assert_eq!(u.example_version, "5");
                assert_eq!(u.ids, vec!["PYSEC-1", "PYSEC-2"]);
                assert_eq!(u.fixed_versions, vec!["6.5.5"]);
                assert_eq!(u.specifier, ">=5");
            }
            f => panic!("{f:?}"),
        }
        match &run(range(">6.3.2"))[0].detail {
            Detail::Unpinned(u) => {
                assert_eq!(u.ids, vec!["PYSEC-2"]);
                assert_eq!(u.example_version, "6.3.2.0.1");
            }
            f => panic!("{f:?}"),
        }
        assert!(run(range(">=6.5.5")).is_empty());
        assert!(run(range("~=6.5.5")).is_empty());
        assert!(
            run(range("<2,>=1!0")).is_empty(),
            "epoch 1 is above every fix"
        );
        assert_eq!(run(Spec::any()).len(), 1);
        // `!=` exclusions and wildcards are honoured exactly.
        assert!(run(range("==6.5.*,!=6.5.0,!=6.5.1,!=6.5.2,!=6.5.3,!=6.5.4")).len() == 1);
        assert!(
            run(range(">=6.5.4,!=6.5.4")).len() == 1,
            "6.5.4.0.1 is still below 6.5.5"
        );
        assert!(audit(
            &[dep(range(">=5"))],
            &set,
            AuditOptions {
                ignore_unpinned: true
            }
        )
        .findings
        .is_empty());
    }

    #[test]
    fn prereleases_only_when_asked_for() {
        let mut set = AdvisorySet::new();
        set.insert(adv(serde_json::json!({
            "id": "PRE", "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"},
                "versions": ["7.0b1"]}]
        })));
        let run = |s: Spec| audit(&[dep(s)], &set, AuditOptions::default()).findings;
        assert!(run(range(">=6.9")).is_empty());
        assert_eq!(run(range(">=7.0b1")).len(), 1);
    }

    #[test]
    fn unauditable_is_reported_not_dropped() {
        let set = AdvisorySet::new();
        let out = audit(
            &[dep(Spec::unauditable("VCS source", "git+https://x"))],
            &set,
            AuditOptions::default(),
        );
        let f = &out.findings[0];
        assert!(matches!(&f.detail, Detail::Unauditable(u) if u.reference == "git+https://x"));
        assert_eq!((f.id.as_str(), f.severity), ("TW202", Severity::Info));
    }

    #[test]
    fn fingerprints_ignore_line_moves_and_follow_version_and_aliases() {
        let mut set = AdvisorySet::new();
        set.insert(adv(serde_json::json!({
            "id": "PYSEC-1", "aliases": ["CVE-1"], "published": "2024-05-01T10:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.5"}]}]}]
        })));
        set.insert(adv(serde_json::json!({
            "id": "GHSA-x", "aliases": ["CVE-1"], "published": "2024-04-02T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "tornado"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.5"}]}]}]
        })));
        let at = |version: &str, line: usize| {
            let mut d = dep(Spec::pinned(version));
            d.source.line = line;
            audit(&[d], &set, AuditOptions::default()).findings
        };
        let first = &at("6.1", 1)[0];
        assert_eq!(first.fingerprint.len(), 32);
        assert_eq!(first.fingerprint, at("6.1", 40)[0].fingerprint);
        assert_ne!(first.fingerprint, at("6.2", 1)[0].fingerprint);
        assert_eq!(first.location.line, 1);
        match &first.detail {
            // The earliest publication among the aliases.
            Detail::Dependency(d) => assert_eq!(d.published.as_deref(), Some("2024-04-02")),
            f => panic!("{f:?}"),
        }
        assert_eq!(publication_date("2024-13"), None);
        assert_eq!(publication_date("20x4-01-01T00:00:00Z"), None);
    }
}
