//! TW304: a cookie set over HTTPS without `Secure`.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{cookie_finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW304",
    name: "cookie-not-secure",
    // Low for cookies that do not look like a session.
    severity: Severity::Medium,
    summary: "an HTTPS service sets a cookie without the Secure flag",
    docs: r#"## What it catches

A `Set-Cookie` from a service probed over HTTPS without the `Secure` attribute. Medium
for cookies that carry a session or identity (a name like `session`, `user`, `token`, or
a value signed by `set_signed_cookie`), low for others. Tornado's XSRF cookie is TW307.

## Why

Without `Secure` the browser also sends the cookie over plain HTTP, where anyone on the
network path reads it: one `http://` link or a downgraded request is enough to lose the
session.

## Example

```python
self.set_signed_cookie("user", name)          # no secure=True
```

## Fix

```python
self.set_signed_cookie("user", name, secure=True, httponly=True, samesite="Lax")
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    if !seen.https {
        return;
    }
    for (c, request) in seen
        .cookies
        .iter()
        .filter(|(c, _)| !c.secure && !c.is_xsrf())
    {
        let severity = if c.is_session_like() {
            Severity::Medium
        } else {
            Severity::Low
        };
        out.push(cookie_finding(
            &RULE,
            severity,
            seen,
            c,
            request,
            format!(
                "cookie `{}` is set without Secure on an HTTPS service",
                c.name
            ),
        ));
    }
}
