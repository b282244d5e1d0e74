//! TW012: a session-like cookie set without `secure` and `httponly`.

use stormwatch_findings::Severity;

use super::{hit_at, step_at, Hit, RuleInfo};
use crate::engine::{CallSite, Project};
use crate::value::Truth;
use crate::walk::str_lit;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW012",
    name: "cookie-flags",
    severity: Severity::Medium,
    summary: "Session cookie without secure/httponly",
    docs: r#"## What it catches

`self.set_cookie(...)`, `self.set_secure_cookie(...)` or `self.set_signed_cookie(...)` for a
cookie whose name suggests a session or credential (`session`, `sid`, `token`, `auth`,
`login`, `user`, `remember`) without both `secure=True` and `httponly=True`. Missing
`httponly` is medium; missing only `secure` is low, since it matters where the application is
served over HTTPS. One-time values are not credentials: names with a `state`, `nonce`,
`xsrf`/`csrf`, `next` or `redirect` part (an OAuth `state` cookie) are not reported, nor calls
passing their flags through `**kwargs`.

## Why

Without `secure`, the cookie is also sent over plain HTTP and can be captured; without
`httponly`, any script injected into a page can read it.

## Example

```python
import tornado.web

class LoginHandler(tornado.web.RequestHandler):
    def post(self):
        self.set_secure_cookie("session", session_id)
```

## Fix

```python
self.set_secure_cookie("session", session_id, secure=True, httponly=True, samesite="Lax")
```
"#,
};

const SESSION_WORDS: &[&str] = &[
    "session", "sid", "token", "auth", "login", "user", "remember",
];

/// Parts of a cookie name that make it a one-time value rather than a credential: an OAuth
/// `state`, a nonce, an XSRF token, where to go after logging in.
const NOT_SESSION: &[&str] = &[
    "state", "nonce", "xsrf", "csrf", "next", "redirect", "oauth",
];

/// Whether a cookie name looks like a session or credential.
fn session_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let parts: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    SESSION_WORDS.iter().any(|w| lower.contains(w))
        && !parts.iter().any(|p| NOT_SESSION.contains(p))
}

pub fn check(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    let method = match call.qualified.as_str() {
        "self.set_cookie" => "set_cookie",
        "self.set_secure_cookie" => "set_secure_cookie",
        "self.set_signed_cookie" => "set_signed_cookie",
        _ => return,
    };
    let Some(name) = call.call.arguments.args.first().and_then(str_lit) else {
        return;
    };
    // Flags passed through `**kwargs` cannot be judged.
    if !session_like(&name) || call.call.arguments.keywords.iter().any(|k| k.arg.is_none()) {
        return;
    }
    let flag = |key: &str| {
        call.call.arguments.keywords.iter().any(|k| {
            k.arg.as_ref().is_some_and(|a| a.as_str() == key)
                && project
                    .eval(call.file, &k.value, call.scope, usize::MAX, 0)
                    .truth()
                    == Truth::True
        })
    };
    let missing: Vec<&str> = ["secure", "httponly"]
        .into_iter()
        .filter(|f| !flag(f))
        .collect();
    if missing.is_empty() {
        return;
    }
    let step = step_at(
        project,
        call.file,
        call.call,
        &format!("self.{method}(\"{name}\", ...)"),
    );
    // Without `httponly` any injected script can read the credential; `secure` alone
    // matters only where the application is served over HTTPS, which the code does not say.
    let (severity, advice) = if missing.contains(&"httponly") {
        (RULE.severity, "")
    } else {
        (
            Severity::Low,
            " (add it where the application is served over HTTPS)",
        )
    };
    hits.push(hit_at(
        &RULE,
        severity,
        step,
        format!(
            "cookie `{name}` is set without {}{advice}",
            missing.join(" and ")
        ),
    ));
}
