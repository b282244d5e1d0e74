//! TW301: the running Tornado, as its `Server` header names it, is affected by an advisory.
//!
//! The matching is the dependency audit's, against the same advisory data as `deps`; the
//! caller reports one finding per advisory with the advisory's id and severity.

use stormwatch_findings::{RuleInfo, Severity};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW301",
    name: "served-tornado-vulnerable",
    // Each finding takes its advisory's severity.
    severity: Severity::High,
    summary: "the running service's Tornado version is affected by a known advisory",
    docs: r#"## What it catches

The service answers with `Server: TornadoServer/6.4.2`, and that version is affected by
one or more advisories in the advisory data (the same data and matching as
`stormwatch deps`). One finding per advisory, with its id, aliases, severity and fixed
versions; the location is the request whose response named the version.

## Why

What is pinned in the repository is not always what runs: an old image, a host that was
never redeployed, a virtual environment upgraded by hand. The version the service itself
reports is what an attacker sees too.

## Example

```text
GET https://app.example/ -> 200
Server: TornadoServer/6.4.2      -> GHSA-7cx3-6m66-7c5m (fixed in 6.5)
```

## Fix

Deploy a release that contains the fixed version, and make the pinned version and the
deployed one agree (`stormwatch check --probe URL` reports when they do not). Hide the
version as well (TW311).
"#,
};
