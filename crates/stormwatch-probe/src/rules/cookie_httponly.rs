//! TW305: a session-like cookie without `HttpOnly`.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{cookie_finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW305",
    name: "session-cookie-not-httponly",
    severity: Severity::Medium,
    summary: "a session or identity cookie is readable by page scripts (no HttpOnly)",
    docs: r#"## What it catches

A cookie that carries a session or identity (a name like `session`, `sid`, `user`,
`token`, or a value signed with `set_signed_cookie`) set without the `HttpOnly`
attribute. Other cookies (preferences, Tornado's `_xsrf`, which scripts may need to read)
are not reported.

## Why

Any script running in the page, including one injected through a cross-site scripting
bug, can read the cookie and send the session elsewhere. `HttpOnly` keeps it out of
`document.cookie`.

## Example

```python
self.set_signed_cookie("session", sid)
```

## Fix

```python
self.set_signed_cookie("session", sid, httponly=True, secure=True, samesite="Lax")
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    for (c, request) in &seen.cookies {
        if c.http_only || !c.is_session_like() {
            continue;
        }
        out.push(cookie_finding(
            &RULE,
            RULE.severity,
            seen,
            c,
            request,
            format!(
                "session cookie `{}` is set without HttpOnly: page scripts can read it",
                c.name
            ),
        ));
    }
}
