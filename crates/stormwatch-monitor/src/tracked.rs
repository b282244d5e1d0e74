//! What of a report the monitor follows.

use std::collections::BTreeMap;

use stormwatch_findings::Severity;

use crate::Tracked;

/// The items a report gives the monitor to follow: every unsuppressed finding above info,
/// dependency findings merged per package and advisory (all pins and places together);
/// configuration findings only when `include_config`.
pub fn tracked(report: &stormwatch_findings::Report, include_config: bool) -> Vec<Tracked> {
    use stormwatch_findings::Detail;
    let mut out: Vec<Tracked> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| !f.is_suppressed()) {
        if f.severity == Severity::Info {
            continue;
        }
        let place = if f.location.line > 0 {
            format!("{}:{}", f.location.file, f.location.line)
        } else {
            f.location.file.clone()
        };
        let (kind, key, version, summary) = match &f.detail {
            Detail::Dependency(d) => (
                "dependency",
                format!("dependency:{}:{}", d.package, f.id),
                Some(d.version.clone()),
                d.summary.clone(),
            ),
            Detail::Unpinned(u) => (
                "unpinned",
                format!("unpinned:{}", f.fingerprint),
                Some(u.specifier.clone()),
                f.message(),
            ),
            Detail::Unauditable(_) => (
                "unauditable",
                format!("unauditable:{}", f.fingerprint),
                None,
                f.message(),
            ),
            Detail::Config(_) if include_config => (
                "config",
                format!("config:{}", f.fingerprint),
                None,
                f.message(),
            ),
            // The monitor audits the repository; a live probe is not part of its state.
            Detail::Config(_) | Detail::Probe(_) => continue,
        };
        if let Some(&i) = index.get(&key) {
            let t = &mut out[i];
            if let Some(v) = version {
                if !t.versions.contains(&v) {
                    t.versions.push(v);
                }
            }
            if !t.locations.contains(&place) {
                t.locations.push(place);
            }
            t.severity = t.severity.max(f.severity);
            if let Some(due) = &f.due {
                if t.due.as_ref().is_none_or(|d| due < d) {
                    t.due = Some(due.clone());
                }
            }
            continue;
        }
        let package = f.package().map(str::to_string);
        // An upgrade is of a pin; a range is fixed by raising its lower bound.
        let upgrade = package
            .as_deref()
            .filter(|_| kind == "dependency")
            .and_then(|p| {
                report
                    .upgrades
                    .iter()
                    .find(|u| u.package == p && u.source == f.location)
                    .or_else(|| report.upgrades.iter().find(|u| u.package == p))
            });
        let fix = match (kind, upgrade, package.as_deref(), f.fixed_versions().last()) {
            ("dependency", Some(u), _, _) => u.command(),
            ("unpinned", _, Some(p), Some(v)) => Some(format!(
                "raise the lower bound of {p} to a version without these advisories (e.g. >={v}) in {place}"
            )),
            _ => None,
        };
        let mut aliases: Vec<String> = f.ids().into_iter().map(str::to_string).collect();
        aliases.sort();
        aliases.dedup();
        index.insert(key.clone(), out.len());
        out.push(Tracked {
            key,
            kind: kind.to_string(),
            id: f.id.clone(),
            aliases: if kind == "dependency" {
                aliases
            } else {
                Vec::new()
            },
            package,
            versions: version.into_iter().collect(),
            severity: f.severity,
            fixed_versions: f.fixed_versions().to_vec(),
            upgrade_to: upgrade.and_then(|u| u.to.clone()),
            fix,
            summary,
            locations: vec![place],
            due: f.due.clone(),
            owner: f.owner.clone(),
        });
    }
    out
}
