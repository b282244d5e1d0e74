//! TW012: a session-like cookie set without `secure` and `httponly`.

use stormwatch_findings::Severity;

use super::{hit_at, step_at, Hit, RuleInfo};
use crate::engine::{str_lit, CallSite, Project};
use crate::value::Truth;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW012",
    name: "cookie-flags",
    severity: Severity::Medium,
    summary: "Session cookie without secure/httponly",
    docs: r#"## What it catches

`self.set_cookie(...)`, `self.set_secure_cookie(...)` or `self.set_signed_cookie(...)` for a
cookie whose name suggests a session or credential (`session`, `sid`, `token`, `auth`,
`login`, `user`, `remember`) without both `secure=True` and `httponly=True`.

## Why

Without `secure`, the cookie is also sent over plain HTTP and can be captured; without
`httponly`, any script injected into a page can read it.

## Example

```python
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
    let lower = name.to_ascii_lowercase();
    if !SESSION_WORDS.iter().any(|w| lower.contains(w)) {
        return;
    }
    let flag = |key: &str| {
        call.call.arguments.keywords.iter().any(|k| {
            k.arg.as_ref().is_some_and(|a| a.as_str() == key)
                && project
                    .eval(call.file, &k.value, call.function, usize::MAX, 0)
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
    hits.push(hit_at(
        &RULE,
        RULE.severity,
        step,
        format!("cookie `{name}` is set without {}", missing.join(" and ")),
    ));
}
