//! TW310: an HTML page that any site may frame.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW310",
    name: "missing-frame-protection",
    severity: Severity::Low,
    summary: "HTML pages send neither X-Frame-Options nor a CSP frame-ancestors directive",
    docs: r#"## What it catches

The service's HTML page is served without `X-Frame-Options` (`DENY` or `SAMEORIGIN`) and
without a `Content-Security-Policy` holding `frame-ancestors`. Only HTML responses are
judged: an API answering JSON cannot be framed usefully.

## Why

Any site can load the page in an invisible frame and trick a logged-in user into clicking
its buttons (clickjacking).

## Example

```text
GET https://app.example/ -> 200  Content-Type: text/html  (no X-Frame-Options)
```

## Fix

```python
def set_default_headers(self):
    self.set_header("X-Frame-Options", "DENY")
    # or: self.set_header("Content-Security-Policy", "frame-ancestors 'none'")
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    let Some(page) = seen.page() else { return };
    let e = page.exchange;
    let html = e
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    if !html {
        return;
    }
    let xfo = e.header("x-frame-options").is_some_and(|v| {
        let v = v.trim().to_ascii_uppercase();
        v == "DENY" || v == "SAMEORIGIN"
    });
    let csp = e
        .all("content-security-policy")
        .any(|v| v.to_ascii_lowercase().contains("frame-ancestors"));
    if xfo || csp {
        return;
    }
    out.push(finding(
        &RULE,
        RULE.severity,
        seen.origin,
        "frame",
        page.request,
        "the HTML page can be framed by any site (no X-Frame-Options or CSP frame-ancestors)"
            .into(),
        None,
    ));
}
