//! TW008: an application with state-changing handlers runs without `xsrf_cookies`.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr};
use stormwatch_findings::Severity;

use super::{app_step, Hit, RuleInfo};
use crate::engine::{AppSite, ClassId, Project};
use crate::value::Truth;
use crate::walk::calls_in;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW008",
    name: "xsrf-disabled",
    severity: Severity::Medium,
    summary: "XSRF protection off while handlers accept POST",
    docs: r#"## What it catches

An `Application` whose `xsrf_cookies` setting is absent or false, and whose own route table
sends requests to a handler that defines (or inherits) `post`, `put`, `patch` or `delete`
acting for the logged-in user (decorated with `@tornado.web.authenticated` or another
`auth`/`login_required` decorator, reading `self.current_user`, or behind a `prepare` that
does), where that user is known by a cookie: its `get_current_user` (or `prepare`, or a helper they
call) reads `get_secure_cookie`/`get_signed_cookie`/`get_cookie`. The finding names that
handler and method.

Judged per application, from the routes passed to it (lists and tuples, `url()`, `URLSpec`,
`Rule`, lists built up or imported from other modules, `add_handlers` in the same file).
Applications whose state-changing handlers authenticate with headers or tokens, or not at
all, are reported as info: a cross-site request carries cookies, not headers. When the
settings cannot all be followed (`**settings` from a source the analysis cannot read),
"not set" is not claimed; when the routes cannot be followed, the finding is info.

## Why

Without `xsrf_cookies`, Tornado does not check the `_xsrf` token, so any site a logged-in
user visits can submit forms to the application with the user's cookies (cross-site
request forgery).

## Example

```python
class CommentHandler(tornado.web.RequestHandler):
    def post(self): ...

app = tornado.web.Application([(r"/comment", CommentHandler)], cookie_secret=SECRET)
```

## Fix

```python
app = tornado.web.Application(handlers, cookie_secret=SECRET, xsrf_cookies=True)
```

and include `{% module xsrf_form_html() %}` in forms (or send the `X-XSRFToken` header).
"#,
};

const MUTATING: &[&str] = &["post", "put", "patch", "delete"];

/// Cookie reads that identify a user.
const COOKIE_READS: &[&str] = &["get_secure_cookie", "get_signed_cookie", "get_cookie"];

/// How a handler class authenticates with cookies: the method (its own or inherited, or a
/// helper it calls on `self`) that reads a cookie to find the current user.
fn cookie_auth(project: &Project, class: ClassId) -> Option<String> {
    for entry in ["get_current_user", "prepare"] {
        let Some((owner, def)) = project.method_in_mro(class, entry) else {
            continue;
        };
        let mut queue = vec![(owner, def)];
        let mut seen = 0;
        while let Some((c, def)) = queue.pop() {
            seen += 1;
            if seen > 8 {
                break;
            }
            let mut reads = false;
            let mut helpers = Vec::new();
            calls_in(&def.body, &mut |call| {
                let Expr::Attribute(a) = &*call.func else {
                    return;
                };
                let on_self = matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self");
                if COOKIE_READS.contains(&a.attr.as_str()) {
                    reads = true;
                } else if on_self {
                    helpers.push(a.attr.to_string());
                }
            });
            if reads {
                let name = project.class(c).def.name.as_str();
                return Some(format!("{name}.{} reads a cookie", def.name.as_str()));
            }
            for h in helpers {
                if let Some(found) = project.method_in_mro(class, &h) {
                    queue.push(found);
                }
            }
        }
    }
    None
}

/// Whether a function body reads the current user (`self.current_user`,
/// `self.get_current_user()`).
fn reads_current_user(def: &ast::StmtFunctionDef) -> bool {
    struct V(bool);
    impl<'a> Visitor<'a> for V {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Attribute(a) = e {
                if matches!(a.attr.as_str(), "current_user" | "get_current_user") {
                    self.0 = true;
                }
            }
            visitor::walk_expr(self, e);
        }
    }
    let mut v = V(false);
    v.visit_body(&def.body);
    v.0
}

/// Whether a decorator requires a logged-in user (`@tornado.web.authenticated`,
/// `@BaseHandler.auth(admin=True)`, `@login_required`).
fn auth_decorator(d: &ast::Decorator) -> bool {
    let target = match &d.expression {
        Expr::Call(c) => &*c.func,
        e => e,
    };
    let last = match target {
        Expr::Name(n) => n.id.as_str(),
        Expr::Attribute(a) => a.attr.as_str(),
        _ => return false,
    };
    let last = last.to_ascii_lowercase();
    last.contains("auth") || last.contains("login_required")
}

/// A state-changing method of a handler class (its own or inherited from the repository)
/// that acts for the logged-in user: decorated as requiring one, reading the current user,
/// or behind a `prepare` that does. The second value is any state-changing method at all.
fn mutating_methods(project: &Project, class: ClassId) -> (Option<String>, Option<String>) {
    let guarded_by_prepare = project
        .method_in_mro(class, "prepare")
        .is_some_and(|(_, def)| reads_current_user(def));
    let name = project.class(class).def.name.as_str();
    let mut any = None;
    for m in MUTATING {
        let Some((_, def)) = project.method_in_mro(class, m) else {
            continue;
        };
        let label = format!("{name}.{m}");
        if guarded_by_prepare
            || def.decorator_list.iter().any(auth_decorator)
            || reads_current_user(def)
        {
            return (Some(label), any.or(Some(String::new())));
        }
        any.get_or_insert(label);
    }
    (None, any)
}

pub fn check(project: &Project, app: &AppSite, hits: &mut Vec<Hit>) {
    let setting = app.settings.iter().find(|(k, _)| k == "xsrf_cookies");
    let state = match setting {
        None if !app.complete => return,
        None => "not set",
        Some((_, v)) if v.truth() == Truth::False => "false",
        Some(_) => return,
    };
    let step = app_step(app);
    let Some(routes) = &app.routes else {
        hits.push(super::hit_at(
            &RULE,
            Severity::Info,
            step,
            format!("`xsrf_cookies` is {state}; the application's routes could not be followed to tell whether it accepts cookie-authenticated state-changing requests"),
        ));
        return;
    };
    let mut exposed: Option<(String, String)> = None;
    let mut unauthenticated: Option<String> = None;
    for route in routes {
        let Some(class) = project.class_index(&route.handler) else {
            continue;
        };
        let (acting, any) = mutating_methods(project, class);
        match (acting, cookie_auth(project, class)) {
            (Some(method), Some(how)) => {
                exposed = Some((method, how));
                break;
            }
            (Some(method), None) => {
                unauthenticated.get_or_insert(method);
            }
            (None, _) => {
                if let Some(m) = any.filter(|m| !m.is_empty()) {
                    unauthenticated.get_or_insert(m);
                }
            }
        }
    }
    let (severity, message) = match (exposed, unauthenticated) {
        (Some((method, how)), _) => (
            RULE.severity,
            format!("`xsrf_cookies` is {state} but {method} accepts cookie-authenticated state-changing requests ({how}): any site a logged-in user visits can submit them"),
        ),
        (None, Some(method)) => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; {method} accepts state-changing requests, but no handler of this application acts for a user it knows by a cookie"),
        ),
        (None, None) => return,
    };
    hits.push(super::hit_at(&RULE, severity, step, message));
}
