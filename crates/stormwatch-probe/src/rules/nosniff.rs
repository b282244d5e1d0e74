//! TW309: no `X-Content-Type-Options: nosniff`.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW309",
    name: "missing-nosniff",
    severity: Severity::Low,
    summary: "responses do not send X-Content-Type-Options: nosniff",
    docs: r#"## What it catches

The service's page has no `X-Content-Type-Options: nosniff` header. Tornado does not set
it by default, for pages or for static files.

## Why

Without it a browser may guess a response's type from its content: an uploaded file or a
JSON answer holding user text can be run as a script or rendered as HTML.

## Example

```text
GET https://app.example/ -> 200   (no X-Content-Type-Options)
```

## Fix

```python
class BaseHandler(tornado.web.RequestHandler):
    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")
```

(and the same in a `StaticFileHandler` subclass, or at the proxy).
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    let Some(page) = seen.page() else { return };
    let value = page.exchange.header("x-content-type-options");
    if value.is_some_and(|v| v.trim().eq_ignore_ascii_case("nosniff")) {
        return;
    }
    out.push(finding(
        &RULE,
        RULE.severity,
        seen.origin,
        "nosniff",
        page.request,
        "responses do not send X-Content-Type-Options: nosniff".into(),
        value.map(|v| format!("X-Content-Type-Options: {v}")),
    ));
}
