//! Dependencies the fix plan does not take (ranges, pins it cannot read) that the
//! dependency audit still reports as vulnerable: they stay, and the run says so.

use std::collections::BTreeSet;

use stormwatch_audit::{audit, AuditOptions};
use stormwatch_findings::Detail;
use stormwatch_fix::plan::Remaining;
use stormwatch_manifest::{Dependency, Spec};
use stormwatch_osv::AdvisorySet;

/// One entry for each of `deps` that the audit (the judgement `deps` makes) finds
/// vulnerable: a range that admits an affected version, or an affected pin.
pub(super) fn remaining(
    deps: &[&Dependency],
    advisories: &AdvisorySet,
    options: AuditOptions,
) -> Vec<Remaining> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for dep in deps {
        if !seen.insert((&dep.source, &dep.name)) {
            continue;
        }
        let result = audit(std::slice::from_ref(*dep), advisories, options);
        let (version, reason) = match result
            .findings
            .iter()
            .map(|f| &f.detail)
            .find(|d| matches!(d, Detail::Unpinned(_) | Detail::Dependency(_)))
        {
            Some(Detail::Unpinned(u)) => {
                let by_hand = match u.fixed_versions.first() {
                    Some(floor) => format!("raise the range's lower bound to {floor} by hand"),
                    None => "no version is known to be free of the advisories".to_string(),
                };
                let range = if u.specifier.is_empty() {
                    "(any version)".to_string()
                } else {
                    u.specifier.clone()
                };
                (
                    range,
                    format!("a version range, not a pin: fix edits exact pins only; {by_hand}"),
                )
            }
            Some(Detail::Dependency(d)) => {
                let to = result.upgrades.iter().find_map(|u| u.to.clone());
                let by_hand = match to {
                    Some(to) => format!("upgrade to {to} by hand"),
                    None => "no version is known to be free of the advisories".to_string(),
                };
                let why = match &dep.spec {
                    Spec::Pinned { parsed: None, .. } => {
                        "not a PEP 440 version: fix does not edit it"
                    }
                    _ => "fix does not edit this pin",
                };
                (d.version.clone(), format!("{why}; {by_hand}"))
            }
            _ => continue,
        };
        out.push(Remaining {
            package: dep.name.clone(),
            version,
            location: dep.source.to_string(),
            reason,
            command: None,
        });
    }
    out
}
