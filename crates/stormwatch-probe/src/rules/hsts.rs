//! TW308: an HTTPS service without `Strict-Transport-Security`.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW308",
    name: "missing-hsts",
    severity: Severity::Low,
    summary: "an HTTPS service does not send Strict-Transport-Security",
    docs: r#"## What it catches

The service's page, fetched over HTTPS, has no `Strict-Transport-Security` header, or
one with `max-age=0`. Tornado sets no security headers by default; a proxy in front often
does, and the probe sees what the client sees.

## Why

Without HSTS a browser that is sent to `http://` (an old link, a typed hostname, an
attacker on the network) makes one plain-text request first, which can be intercepted and
kept on HTTP, cookies and all.

## Example

```text
GET https://app.example/ -> 200   (no Strict-Transport-Security)
```

## Fix

Send it from the proxy, or from every handler:

```python
class BaseHandler(tornado.web.RequestHandler):
    def set_default_headers(self):
        self.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    if !seen.https {
        return;
    }
    let Some(page) = seen.page() else { return };
    let value = page.exchange.header("strict-transport-security");
    let max_age_zero = value.is_some_and(|v| {
        v.split(';').any(|d| {
            let d = d.trim().to_ascii_lowercase();
            d.strip_prefix("max-age=")
                .is_some_and(|n| n.trim_matches('"').trim() == "0")
        })
    });
    if value.is_some() && !max_age_zero {
        return;
    }
    out.push(finding(
        &RULE,
        RULE.severity,
        seen.origin,
        "hsts",
        page.request,
        if max_age_zero {
            "Strict-Transport-Security has max-age=0, which turns HSTS off".into()
        } else {
            "the HTTPS service does not send Strict-Transport-Security".into()
        },
        value.map(|v| format!("Strict-Transport-Security: {v}")),
    ));
}
