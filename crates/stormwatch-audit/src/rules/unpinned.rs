//! TW201: a version range that still admits a vulnerable release.

use stormwatch_findings::{RuleInfo, Severity};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW201",
    name: "unpinned-vulnerable-range",
    // Each finding takes the severity of the worst advisory the range admits.
    severity: Severity::Medium,
    summary: "a version range admits a release that known advisories affect",
    docs: r#"## What it catches

A requirement given as a range (`tornado>=5`, `tornado~=6.4`, a bare `tornado`) whose range
still contains at least one version that a known advisory affects. The finding names a
concrete vulnerable version the range allows, the advisories that affect it, and the lowest
floor that excludes all of them. Its severity is that of the worst advisory.

## Why

Whatever the resolver picks today, the manifest allows an install of a vulnerable release:
an old lockfile, a constrained environment or a pip cache can bring it back. A floor above
the last fixed version makes the manifest itself safe.

## Example

```text
tornado>=6.0        # admits 6.0, affected by PYSEC-2020-213 and others
```

Reported at high: the worst of the advisories the range admits.

## Fix

Raise the floor to the version the finding gives (`tornado>=6.5.5`), or pin exactly in a
lockfile that stormwatch also reads. `--ignore-unpinned` turns these findings off when only
locked versions matter.
"#,
};
