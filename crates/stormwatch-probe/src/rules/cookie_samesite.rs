//! TW306: a cookie without a `SameSite` attribute.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{cookie_finding, Seen};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW306",
    name: "cookie-no-samesite",
    severity: Severity::Low,
    summary: "a cookie is set without a SameSite attribute",
    docs: r#"## What it catches

A `Set-Cookie` without `SameSite` (Tornado's `_xsrf` cookie is TW307). Also reported:
`SameSite=None` without `Secure`, which browsers reject.

## Why

Browsers now default a missing `SameSite` to `Lax`, but not all of them, and not for
the first two minutes after a cookie is set in some. Saying it keeps the cross-site
behaviour explicit, and `Strict` or `Lax` is the defence against cross-site request
forgery that does not depend on the XSRF token being checked everywhere.

## Example

```python
self.set_cookie("session", sid, httponly=True, secure=True)
```

## Fix

```python
self.set_cookie("session", sid, httponly=True, secure=True, samesite="Lax")
```
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    for (c, request) in seen.cookies.iter().filter(|(c, _)| !c.is_xsrf()) {
        let problem = match c.same_site.as_deref() {
            None => "without SameSite",
            Some(v) if v.eq_ignore_ascii_case("none") && !c.secure => {
                "with SameSite=None but without Secure (browsers reject it)"
            }
            Some(_) => continue,
        };
        out.push(cookie_finding(
            &RULE,
            RULE.severity,
            seen,
            c,
            request,
            format!("cookie `{}` is set {problem}", c.name),
        ));
    }
}
