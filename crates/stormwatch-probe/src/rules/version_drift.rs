//! TW320 (`check --probe`): the service runs another Tornado than the repository pins.

use stormwatch_findings::{Finding, ProbeRequest, RuleInfo, Severity};

use super::finding;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW320",
    name: "served-version-drift",
    severity: Severity::Medium,
    summary: "the running service's Tornado differs from the version the repository pins",
    docs: r#"## What it catches

Reported by `stormwatch check --probe URL`: the service says it runs one Tornado
(`Server: TornadoServer/6.4.2`), while no requirement on `tornado` in the repository
(pins in requirements files, lockfiles or an installed environment, and ranges such as
`tornado>=6.5`) allows that version.

## Why

The audit of the repository is only true of the service if the service was built from
it. A mismatch means an old image still runs, a deploy did not happen, or something
outside the repository installs Tornado: the dependency audit is judging the wrong code.

## Example

```text
requirements.txt:3   tornado==6.5.1
GET https://app.example/ -> 200   Server: TornadoServer/6.4.2
```

## Fix

Redeploy from the repository, or find what installs the other version. Until then, trust
the probe's advisories (TW301) over the dependency audit for Tornado.
"#,
};

/// One requirement on Tornado in the repository, judged against the served version.
pub struct Requirement {
    /// As written: `==6.5.1`, `>=6.4,<7`.
    pub written: String,
    /// Where: `requirements.txt:3`.
    pub at: String,
    /// Whether the served version satisfies it.
    pub admits: bool,
}

/// A finding when `served` satisfies none of `requirements` (none: nothing to compare).
pub fn check(
    origin: &str,
    served: &str,
    request: &ProbeRequest,
    requirements: &[Requirement],
) -> Option<Finding> {
    if requirements.is_empty() || requirements.iter().any(|r| r.admits) {
        return None;
    }
    let list: Vec<String> = requirements
        .iter()
        .map(|r| format!("tornado{} ({})", r.written, r.at))
        .collect();
    Some(finding(
        &RULE,
        RULE.severity,
        origin,
        "tornado-version",
        request,
        format!(
            "the service runs Tornado {served}, which the repository does not allow: {}",
            list.join(", ")
        ),
        Some(format!("Server: TornadoServer/{served}")),
    ))
}
