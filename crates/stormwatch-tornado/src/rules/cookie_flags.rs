//! TW012: a session-like cookie set without `secure` and `httponly`.

use stormwatch_findings::Severity;

use ruff_python_ast::{self as ast, Expr};

use super::{hit_at, step_at, Hit, RuleInfo};
use crate::cookies::{classify, cookie_key, Carries, Reads};
use crate::engine::{CallSite, Project};
use crate::value::{Tracked, Truth, Val};
use crate::walk::{short, text_of};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW012",
    name: "cookie-flags",
    severity: Severity::Medium,
    summary: "Session cookie without secure/httponly",
    docs: r#"## What it catches

`self.set_cookie(...)`, or `set_secure_cookie(...)`/`set_signed_cookie(...)` on a handler, for
a cookie that authenticates the user, set without both `secure=True` and `httponly=True`
(given directly or in a `**dict` the analysis can read; Tornado has no application-wide
default for them). What the cookie carries is judged from the code, not from its name (names
held in constants are followed):

- a session or auth cookie: `get_current_user` or `prepare` (or a function they call) reads
  it, or a signed cookie (`set_secure_cookie`) is tested when read back
  (`get_secure_cookie(name) == AUTHENTICATED`) and its value is not generated;
- a credential or identity: what flows into the value is a user name, id or email, a
  password, a token or an API key (`str(email)` after an OAuth exchange, `settings.API_KEY`).

Missing `httponly` is medium; missing only `secure` is low, since it matters where the
application is served over HTTPS. Who the user is (a name, an email) in a plain `set_cookie`
that no authentication in the code reads is low: it may be a label rather than a login. Not reported: clearing a cookie (an empty value, or
`expires_days`/`max_age` at or below zero), generated one-time values that no authentication
reads (an OAuth `state`, a nonce, a random id, a timestamp) and fixed values (a preference).
A cookie whose value the analysis cannot classify, or whose flags come through `**kwargs` it
cannot read, is reported at info, saying so.

## Why

Without `secure`, the cookie is also sent over plain HTTP and can be captured; without
`httponly`, any script injected into a page can read it.

## Example

```python
import tornado.web

class Login(tornado.web.RequestHandler):
    def post(self):
        user = self.check_password(self.get_argument("username"), self.get_argument("password"))
        self.set_secure_cookie("session", str(user.id))
```

## Fix

```python
self.set_secure_cookie("session", str(user.id), secure=True, httponly=True, samesite="Lax")
```
"#,
};

/// The cookie-setting methods of `RequestHandler`, with the position of `expires_days` among
/// their positional parameters.
fn method_of(call: &CallSite) -> Option<(&'static str, usize)> {
    let (receiver, method) = call.qualified.rsplit_once('.')?;
    match method {
        // `set_cookie` is also Flask's and `http.cookies`': only a handler's own.
        "set_cookie" if receiver == "self" => Some(("set_cookie", 5)),
        "set_secure_cookie" => Some(("set_secure_cookie", 2)),
        "set_signed_cookie" => Some(("set_signed_cookie", 2)),
        _ => None,
    }
}

/// An argument by keyword, else by position.
fn argument<'a>(call: &CallSite<'a>, name: &str, position: usize) -> Option<&'a Expr> {
    let args = &call.call.arguments;
    args.keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == name))
        .map(|k| &k.value)
        .or_else(|| args.args.get(position).filter(|a| !a.is_starred_expr()))
}

/// Whether the call expires the cookie instead of setting it: an empty value, or a lifetime
/// at or below zero.
fn clears(project: &Project, call: &CallSite, value: &Expr, expires_days: Option<&Expr>) -> bool {
    let eval = |e: &Expr| {
        let at = ruff_text_size::Ranged::range(e).start().to_usize();
        project.eval(call.file, e, call.scope, at, 0).val
    };
    let empty = match value {
        Expr::BytesLiteral(b) => b.value.is_empty(),
        _ => matches!(eval(value), Val::Str(s) if s.is_empty()),
    };
    let lifetime = |e: Option<&Expr>| {
        let e = e?;
        match e {
            Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => Some(true),
            _ => match eval(e) {
                Val::Int(i) => Some(i <= 0),
                _ => None,
            },
        }
    };
    let max_age = call
        .call
        .arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "max_age"))
        .map(|k| &k.value);
    empty || lifetime(expires_days) == Some(true) || lifetime(max_age) == Some(true)
}

/// Which of `secure`/`httponly` the call sets true, and the `**` arguments it could not read.
fn flags(project: &Project, call: &CallSite) -> (Vec<&'static str>, Vec<String>) {
    let mut set = Vec::new();
    let mut unread = Vec::new();
    let truth = |e: &Expr| {
        let at = ruff_text_size::Ranged::range(e).start().to_usize();
        project.eval(call.file, e, call.scope, at, 0)
    };
    for k in call.call.arguments.keywords.iter() {
        match &k.arg {
            Some(a) => {
                if let Some(f) = ["secure", "httponly"]
                    .into_iter()
                    .find(|f| a.as_str() == *f)
                {
                    if truth(&k.value).truth() == Truth::True {
                        set.push(f);
                    }
                }
            }
            None => match dict_flags(&truth(&k.value), 0) {
                Some((flags, complete)) => {
                    set.extend(flags);
                    if !complete {
                        unread.push(short(text_of(&project.files[call.file], &k.value)));
                    }
                }
                None => unread.push(short(text_of(&project.files[call.file], &k.value))),
            },
        }
    }
    (set, unread)
}

/// The flags a `**` dict sets true on every path, and whether it is known whole. A path on
/// which the name holds `None` cannot reach the call (`**None` raises), so it is skipped.
fn dict_flags(v: &Tracked, depth: usize) -> Option<(Vec<&'static str>, bool)> {
    match &v.val {
        Val::Dict(items) => {
            let flags = ["secure", "httponly"]
                .into_iter()
                .filter(|f| {
                    items
                        .iter()
                        .any(|(k, v)| k == f && v.truth() == Truth::True)
                })
                .collect();
            Some((flags, !items.iter().any(|(k, _)| k == crate::eval::OPEN)))
        }
        Val::Cond { then, orelse, .. } if depth < 8 => {
            let branches: Vec<_> = [then, orelse]
                .into_iter()
                .filter(|b| b.val != Val::None)
                .map(|b| dict_flags(b, depth + 1))
                .collect();
            let mut out: Option<(Vec<&'static str>, bool)> = None;
            for b in branches {
                let (flags, complete) = b?;
                out = Some(match out {
                    None => (flags, complete),
                    Some((prev, c)) => (
                        prev.into_iter().filter(|f| flags.contains(f)).collect(),
                        c && complete,
                    ),
                });
            }
            out
        }
        _ => None,
    }
}

/// Flags that the handler's own override of the method adds before calling Tornado's
/// (`kwargs.setdefault("httponly", True)`, `kwargs["secure"] = True`, or passing
/// `httponly=True` on to `super()`). Tornado's `set_secure_cookie` calls `self.set_cookie`, so
/// an override of `set_cookie` counts for the signed methods too.
fn override_flags(
    project: &Project,
    call: &CallSite,
    method: &str,
    reads: &Reads,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !call.qualified.starts_with("self.") {
        return out;
    }
    let Some(class) = call.scope.class.and_then(|c| project.class_of_def(c)) else {
        return out;
    };
    let names: &[&str] = if method == "set_cookie" {
        &["set_cookie"]
    } else {
        &[method, "set_cookie"]
    };
    for name in names {
        let Some((owner, def)) = project.method_in_mro(class, name) else {
            continue;
        };
        // Judged once per override, however many calls go through it.
        let key = def as *const _ as usize;
        if let Some(known) = reads.overrides.borrow().get(&key) {
            out.extend(known.iter().copied());
            continue;
        }
        let start = out.len();
        let info = project.class(owner);
        let scope = crate::eval::Scope {
            function: Some(def),
            class: Some(info.def),
        };
        let is_true = |e: &Expr| {
            let at = ruff_text_size::Ranged::range(e).start().to_usize();
            project.eval(info.file, e, scope, at, 0).truth() == Truth::True
        };
        let flag = |key: &str| ["secure", "httponly"].into_iter().find(|f| *f == key);
        crate::walk::calls_in(&def.body, &mut |c| {
            for k in c.arguments.keywords.iter() {
                if let Some(f) = k.arg.as_ref().and_then(|a| flag(a.as_str())) {
                    if is_true(&k.value) {
                        out.push(f);
                    }
                }
            }
            let is_setdefault =
                matches!(&*c.func, Expr::Attribute(a) if a.attr.as_str() == "setdefault");
            if let ([key, value], true) = (&c.arguments.args[..], is_setdefault) {
                if let Some(f) = crate::walk::str_lit(key).and_then(|k| flag(&k)) {
                    if is_true(value) {
                        out.push(f);
                    }
                }
            }
        });
        crate::walk::for_each_stmt(&def.body, None, &mut |st, _| {
            if let ruff_python_ast::Stmt::Assign(a) = st {
                for t in &a.targets {
                    if let Expr::Subscript(sub) = t {
                        if let Some(f) = crate::walk::str_lit(&sub.slice).and_then(|k| flag(&k)) {
                            if is_true(&a.value) {
                                out.push(f);
                            }
                        }
                    }
                }
            }
        });
        reads
            .overrides
            .borrow_mut()
            .insert(key, out[start..].to_vec());
    }
    out
}

pub fn check<'a>(
    project: &Project<'a>,
    call: &CallSite<'a>,
    reads: &Reads<'a>,
    hits: &mut Vec<Hit>,
) {
    let Some((method, expires_at)) = method_of(call) else {
        return;
    };
    // A wrapper of Tornado's own cookie methods (an override, Tornado's `set_secure_cookie`
    // calling `set_cookie`) passes its caller's cookie on: the caller is judged.
    if call.scope.function.is_some_and(|f| {
        matches!(
            f.name.as_str(),
            "set_cookie" | "set_secure_cookie" | "set_signed_cookie"
        )
    }) {
        return;
    }
    let (Some(name), Some(value)) = (argument(call, "name", 0), argument(call, "value", 1)) else {
        return;
    };
    if clears(
        project,
        call,
        value,
        argument(call, "expires_days", expires_at),
    ) {
        return;
    }
    let key = cookie_key(project, call, name);
    let signed = method != "set_cookie";
    let carries = classify(project, &reads.assignments, call, value);
    let read_signed = signed && reads.signed.contains(&key);
    let mut weak = false;
    let why = if let Some(reader) = reads.authenticating.get(&key) {
        format!("authenticates requests (`{reader}` reads it)")
    } else {
        match carries {
            // A nonce, a random id or a timestamp that no authentication reads (an OAuth
            // `state` read back once is checked, not trusted as a session).
            Carries::Generated(_) => return,
            Carries::Fixed if read_signed => {
                "is signed and tested when read back with `get_secure_cookie` (the application decides on it, as on a login)".to_string()
            }
            // A preference or a flag.
            Carries::Fixed => return,
            // A secret, or who the user is in a value the application signs: medium. Who the
            // user is in a plain cookie that nothing here authenticates by: low.
            Carries::Credential { what, secret } => {
                if !secret && !signed {
                    weak = true;
                }
                format!("carries `{what}`")
            }
            Carries::Unknown => String::new(),
        }
    };
    let (mut set, unread) = flags(project, call);
    set.extend(override_flags(project, call, method, reads));
    let missing: Vec<&str> = ["secure", "httponly"]
        .into_iter()
        .filter(|f| !set.contains(f))
        .collect();
    if missing.is_empty() {
        return;
    }
    let shown = key.trim_matches('`');
    let step = step_at(
        project,
        call.file,
        call.call,
        &format!("{method}(\"{shown}\", ...)"),
    );
    let missing_text = missing.join(" and ");
    let (severity, message) = if why.is_empty() {
        (
            Severity::Info,
            format!(
                "cookie `{shown}` is set without {missing_text}, and the analysis could not tell what it carries (`{}`); add both if it identifies the user",
                short(text_of(&project.files[call.file], value))
            ),
        )
    } else if !unread.is_empty() {
        (
            Severity::Info,
            format!(
                "cookie `{shown}` {why}; its flags come through `**{}`, which the analysis could not read: make sure it sets secure and httponly",
                unread.join("`, `**")
            ),
        )
    } else if weak {
        (
            Severity::Low,
            format!("cookie `{shown}` {why} and is set without {missing_text}; nothing here authenticates by it, so check whether it identifies the user"),
        )
    } else if missing.contains(&"httponly") {
        (
            RULE.severity,
            format!("cookie `{shown}` {why} and is set without {missing_text}"),
        )
    } else {
        // `secure` alone matters only where the application is served over HTTPS, which
        // the code does not say.
        (
            Severity::Low,
            format!(
                "cookie `{shown}` {why} and is set without {missing_text} (add it where the application is served over HTTPS)"
            ),
        )
    };
    hits.push(hit_at(&RULE, severity, step, message));
}
