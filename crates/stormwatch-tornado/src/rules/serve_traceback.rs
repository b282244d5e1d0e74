//! TW003: `serve_traceback=True` reaches `tornado.web.Application`.

use stormwatch_findings::Severity;

use super::{setting_rule, Hit, RuleInfo};
use crate::engine::AppSite;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW003",
    name: "serve-traceback",
    severity: Severity::High,
    summary: "Tracebacks sent to clients",
    docs: r#"## What it catches

The `serve_traceback` application setting set to a true value (also implied by `debug`).

## Why

The default `write_error` then renders the full Python traceback into the error page:
file paths, source lines, and sometimes secrets in local values, for any request that
raises.

## Example

```python
from tornado.web import Application

app = Application(handlers, serve_traceback=True)
```

## Fix

Remove the setting; log exceptions server-side instead.
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    setting_rule(
        &RULE,
        app,
        "serve_traceback",
        true,
        "error pages include full tracebacks",
        hits,
    );
}
