//! TW307: Tornado's XSRF cookie without `Secure` (on HTTPS) or `SameSite`.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{cookie_finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW307",
    name: "xsrf-cookie-flags",
    severity: Severity::Low,
    summary: "the _xsrf cookie lacks Secure (on HTTPS) or SameSite",
    docs: r#"## What it catches

The `_xsrf` cookie that `xsrf_cookies=True` sets, without `Secure` on an HTTPS service or
without `SameSite`. Its flags come from the `xsrf_cookie_kwargs` application setting.
`HttpOnly` is not required: pages often read the token from the cookie.

## Why

The XSRF token is only as good as its secrecy from other sites. Sent over plain HTTP it
can be read and replayed; without `SameSite` the cookie rides along on cross-site
requests, leaving the token check as the only defence.

## Example

```python
Application(handlers, xsrf_cookies=True)
```

## Fix

```python
Application(handlers, xsrf_cookies=True,
            xsrf_cookie_kwargs={"secure": True, "samesite": "Strict"})
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    for (c, request) in seen.cookies.iter().filter(|(c, _)| c.is_xsrf()) {
        let mut missing = Vec::new();
        if seen.https && !c.secure {
            missing.push("Secure");
        }
        if c.same_site.is_none() {
            missing.push("SameSite");
        }
        if missing.is_empty() {
            continue;
        }
        out.push(cookie_finding(
            &RULE,
            RULE.severity,
            seen,
            c,
            request,
            format!(
                "the XSRF cookie `{}` is set without {} (xsrf_cookie_kwargs)",
                c.name,
                missing.join(" and ")
            ),
        ));
    }
}
