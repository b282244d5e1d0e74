//! TW004: `compiled_template_cache=False` reaches `tornado.web.Application`.

use stormwatch_findings::Severity;

use super::{setting_rule, Hit, RuleInfo};
use crate::engine::AppSite;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW004",
    name: "template-cache-disabled",
    severity: Severity::Low,
    summary: "Compiled template cache disabled",
    docs: r#"## What it catches

The `compiled_template_cache` setting set to a false value (also implied by `debug`).

## Why

Templates are re-read and recompiled on every request: a development convenience that costs
CPU in production and means template files changed on disk take effect immediately.

## Example

```python
from tornado.web import Application

app = Application(handlers, compiled_template_cache=False)
```

## Fix

Remove the setting (the cache is on by default).
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    setting_rule(
        &RULE,
        app,
        "compiled_template_cache",
        false,
        "templates are recompiled on every request",
        hits,
    );
}
