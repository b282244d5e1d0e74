//! TW005: `static_hash_cache=False` reaches `tornado.web.Application`.

use stormwatch_findings::Severity;

use super::{setting_rule, Hit, RuleInfo};
use crate::engine::AppSite;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW005",
    name: "static-hash-cache-disabled",
    severity: Severity::Low,
    summary: "Static file hash cache disabled",
    docs: r#"## What it catches

The `static_hash_cache` setting set to a false value (also implied by `debug`).

## Why

Every `static_url()` call re-hashes the file on disk: extra I/O on each page render in
production.

## Example

```python
from tornado.web import Application

app = Application(handlers, static_path="static", static_hash_cache=False)
```

## Fix

Remove the setting (the cache is on by default).
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    setting_rule(
        &RULE,
        app,
        "static_hash_cache",
        false,
        "static file hashes are recomputed on every use",
        hits,
    );
}
