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
(`Server: TornadoServer/6.4.2`), while every pin of `tornado` in the repository's
requirements, lockfiles or installed environment names another version.

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

/// A finding when `served` is none of `pinned` (each with where it is pinned).
pub fn check(
    origin: &str,
    served: &str,
    request: &ProbeRequest,
    pinned: &[(String, String)],
) -> Option<Finding> {
    let same = |v: &str| v.trim_start_matches('v') == served;
    if pinned.is_empty() || pinned.iter().any(|(v, _)| same(v)) {
        return None;
    }
    let list: Vec<String> = pinned.iter().map(|(v, at)| format!("{v} ({at})")).collect();
    Some(finding(
        &RULE,
        RULE.severity,
        origin,
        "tornado-version",
        request,
        format!(
            "the service runs Tornado {served}, but the repository pins {}",
            list.join(", ")
        ),
        Some(format!("Server: TornadoServer/{served}")),
    ))
}
