//! TW202: a dependency that cannot be matched against advisories by version.

use stormwatch_findings::{RuleInfo, Severity};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW202",
    name: "unauditable-dependency",
    severity: Severity::Info,
    summary:
        "a dependency installed from a URL, VCS checkout or local path has no version to audit",
    docs: r#"## What it catches

Requirements such as `tornado @ git+https://github.com/tornadoweb/tornado@master`,
`./vendor/tornado`, an `-e` editable checkout or a direct archive URL. Advisories name
released versions; these name a source, so no advisory can be matched against them.

## Why

They are reported rather than dropped, so that a clean audit never hides a dependency
nobody checked.

## Example

```text
tornado @ git+https://github.com/tornadoweb/tornado@v6.5.2
```

## Fix

Depend on a released version where one exists, or audit the checkout by other means and
record that decision with an ignore in the policy file.
"#,
};
