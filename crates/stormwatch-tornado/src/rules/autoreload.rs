//! TW002: `autoreload=True` reaches `tornado.web.Application`.

use stormwatch_findings::Severity;

use super::{setting_rule, Hit, RuleInfo};
use crate::engine::AppSite;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW002",
    name: "autoreload-setting",
    severity: Severity::High,
    summary: "Application autoreload enabled",
    docs: r#"## What it catches

The `autoreload` application setting set to a true value (it is also implied by `debug`,
which TW001 reports).

## Why

With `autoreload`, Tornado watches every imported module and re-executes the process when one
changes. In production a file write (a deploy in progress, a writable volume, an attacker
with limited write access) restarts the service with whatever code is on disk, drops
in-flight requests, and is incompatible with multi-process mode.

## Example

```python
from tornado.web import Application

app = Application(handlers, autoreload=True)
```

## Fix

Remove the setting (it defaults to off), or tie it to an explicit development flag.
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    setting_rule(
        &RULE,
        app,
        "autoreload",
        true,
        "the process restarts itself whenever a source file changes",
        hits,
    );
}
