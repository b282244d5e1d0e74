//! TW401: an inline suppression comment where the policy denies them.

use stormwatch_findings::{RuleInfo, Severity};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW401",
    name: "inline-suppression-denied",
    severity: Severity::Medium,
    summary: "inline suppression not allowed by policy",
    docs: r#"## What it catches

A `# stormwatch: ignore[RULE] reason` comment on the line of a finding, when the policy sets
`inline-ignores = "deny"` (or the run is given `--inline-ignores deny`). The comment does
not suppress anything: the finding it names is reported as usual, and the comment itself is
this finding, at its line, with the reason it gives.

## Why

An inline comment lives in the code under review: a pull request can add one beside the
`debug=True` it introduces and pass the gate. A team that wants the policy, not the pull
request, to decide what is accepted denies inline suppressions and records accepted
findings as `[[ignore]]` entries of a policy file kept outside the scanned tree
(`--config`), with a reason and an expiry, reviewed like any other policy change.

## Example

```python
app = tornado.web.Application(handlers, debug=True)  # stormwatch: ignore[TW001] local only
```

## Fix

Remove the comment and fix the finding, or accept it in the policy:

```toml
[[ignore]]
id = "TW001"
path = "tools/dev_server.py"
reason = "a local development server, never deployed"
expires = "2027-06-30"
```
"#,
};
