//! TW008: an application with state-changing handlers runs without `xsrf_cookies`.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr};
use stormwatch_findings::Severity;

use super::{app_step, Hit, RuleInfo};
use crate::engine::{AppSite, ClassId, FileId, Project};
use crate::eval::Scope;
use crate::value::Step;
use crate::value::Truth;
use crate::value::Val;
use crate::walk::{calls_in, str_lit};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW008",
    name: "xsrf-disabled",
    severity: Severity::Medium,
    summary: "XSRF protection off while handlers accept POST",
    docs: r#"## What it catches

An `Application` whose `xsrf_cookies` setting is absent or false, and whose own route table
sends requests to a handler that has `post`, `put`, `patch` or `delete` acting for the
logged-in user (decorated with `@tornado.web.authenticated` or another `auth`/`login_required`
decorator, reading `self.current_user`, or behind a `prepare` that does), where that user is
known by a cookie: its `get_current_user` (or `prepare`, or the write method's decorator, or a
helper they call) reads `get_secure_cookie`/`get_signed_cookie`/`get_cookie`. Methods are found as Python finds them:
in the class, its mixins and bases in C3 order across modules, and through class-body aliases
(`post = get`). The finding names that handler and method.

Judged per application, from the routes passed to it (lists and tuples, `url()`, `URLSpec`,
`Rule`, route kwargs, handlers named by dotted strings, lists joined with `+`, `extend`,
`append`, `list(...)`, built by helper functions or imported from other modules, and
`add_handlers`). Parts of a table the analysis cannot follow do not hide what the rest
proves: the finding names them. A handler that checks the request itself (its `prepare` or
method calls `check_xsrf_cookie`, or requires an `Origin`, `X-Requested-With` or token header)
is not reported, nor are writes whose cookie is only ever set `SameSite=Strict` (or `Lax`,
unless the write is a `get` alias: `Lax` cookies come with cross-site top-level `GET`s), which
browsers keep out of cross-site requests (info). Applications whose state-changing handlers authenticate with headers or
tokens, or not at all, are reported as info: a cross-site request carries cookies, not
headers. When the settings cannot all be followed (`**settings` from a source the analysis
cannot read), "not set" is not claimed; when no route can be followed, the finding is info.
An `xsrf_cookies` that is off unless the environment turns it on counts as off; one decided by
something the analysis cannot read gives a low finding when the routes prove an exposure.

## Why

Without `xsrf_cookies`, Tornado does not check the `_xsrf` token, so any site a logged-in
user visits can submit forms to the application with the user's cookies (cross-site
request forgery).

## Example

```python
import tornado.web

class BaseHandler(tornado.web.RequestHandler):
    def get_current_user(self):
        return self.get_signed_cookie("user")

class CommentHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self):
        save_comment(self.current_user, self.get_argument("text"))

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

/// A handler's cookie authentication: where it reads the cookie, and the cookies' names
/// (`None` for a name the analysis cannot read).
struct CookieAuth {
    how: String,
    names: Vec<Option<String>>,
}

/// Cookie writes, whose `samesite` decides whether browsers send the cookie cross-site.
const COOKIE_WRITES: &[&str] = &["set_secure_cookie", "set_signed_cookie", "set_cookie"];

/// Every cookie the repository sets by a literal name, with the `samesite` it passes
/// (lower case; `None` when absent or not a literal). Read once per application, on demand.
type CookieWrites = std::cell::OnceCell<Vec<(String, Option<String>)>>;

fn cookie_writes<'w>(project: &Project, cache: &'w CookieWrites) -> &'w [(String, Option<String>)] {
    cache.get_or_init(|| {
        let mut out = Vec::new();
        project.each_call(&mut |call| {
            let Expr::Attribute(a) = &*call.func else {
                return;
            };
            if !COOKIE_WRITES.contains(&a.attr.as_str()) {
                return;
            }
            if let Some(name) = call.arguments.args.first().and_then(str_lit) {
                let policy = call
                    .arguments
                    .find_keyword("samesite")
                    .and_then(|k| str_lit(&k.value))
                    .map(|p| p.to_ascii_lowercase());
                out.push((name, policy));
            }
        });
        out
    })
}

/// Whether browsers keep every authentication cookie out of cross-site requests of this
/// kind: each cookie is set somewhere in the repository, and every place that sets it passes
/// `samesite="Strict"` (or `"Lax"`, which still sends it with cross-site top-level `GET`s, so
/// it does not cover a write method that is `get` itself). The value names the policy.
fn same_site(
    writes: &[(String, Option<String>)],
    auth: &CookieAuth,
    write_is_get: bool,
) -> Option<String> {
    let mut policies: Vec<&str> = Vec::new();
    for name in &auth.names {
        let name = name.as_deref()?;
        let mut set = false;
        for (_, policy) in writes.iter().filter(|(n, _)| n == name) {
            set = true;
            match policy.as_deref() {
                Some(p @ "strict") => policies.push(p),
                Some(p @ "lax") if !write_is_get => policies.push(p),
                _ => return None,
            }
        }
        if !set {
            return None;
        }
    }
    policies.sort_unstable();
    policies.dedup();
    let shown: Vec<&str> = policies
        .iter()
        .map(|p| if *p == "strict" { "Strict" } else { "Lax" })
        .collect();
    Some(shown.join("/"))
}

/// How a handler class authenticates with cookies: the method (its own or inherited, or a
/// helper it calls on `self`) that reads a cookie to find the current user, or a decorator of
/// the write method `method` (or a function it calls) that reads one before calling it.
fn cookie_auth(
    project: &Project,
    class: ClassId,
    method: Option<&ast::StmtFunctionDef>,
) -> Option<CookieAuth> {
    let file = project.class(class).file;
    let mut queue: Vec<(FileId, Option<ClassId>, &ast::StmtFunctionDef)> = Vec::new();
    for entry in ["get_current_user", "prepare"] {
        if let Some((owner, def)) = project.method_in_mro(class, entry) {
            queue.push((project.class(owner).file, Some(owner), def));
        }
    }
    for d in method.map(|m| &m.decorator_list[..]).unwrap_or_default() {
        let target = match &d.expression {
            Expr::Call(c) => &*c.func,
            e => e,
        };
        if let Some((def, _, f)) = project.callee(file, target, Scope::default()) {
            queue.push((f, None, def));
        }
    }
    // Breadth first from the entries, in order: `get_current_user` decides before a helper.
    queue.reverse();
    let mut seen = 0;
    while let Some((f, owner, def)) = queue.pop() {
        seen += 1;
        if seen > 12 {
            break;
        }
        let mut names: Vec<Option<String>> = Vec::new();
        let mut next = Vec::new();
        calls_in(&def.body, &mut |call| {
            let (attr, on_self) = match &*call.func {
                Expr::Attribute(a) => (
                    a.attr.as_str(),
                    matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self"),
                ),
                _ => ("", false),
            };
            if COOKIE_READS.contains(&attr) {
                names.push(
                    call.arguments
                        .args
                        .first()
                        .and_then(|a| cookie_name(project, f, a)),
                );
            } else if on_self {
                if let Some((c, d)) = project.method_in_mro(class, attr) {
                    next.push((project.class(c).file, Some(c), d));
                }
            } else if let Some((d, _, df)) = project.callee(f, &call.func, Scope::default()) {
                next.push((df, None, d));
            }
        });
        if !names.is_empty() {
            let how = match owner {
                Some(c) => format!("{}.{} reads a cookie", project.class(c).def.name, def.name),
                None => format!("{}() reads a cookie", def.name),
            };
            return Some(CookieAuth { how, names });
        }
        for n in next.into_iter().rev() {
            queue.insert(0, n);
        }
    }
    None
}

/// A cookie's name: a string literal, or a module-level constant holding one.
fn cookie_name(project: &Project, file: FileId, e: &Expr) -> Option<String> {
    if let Some(s) = str_lit(e) {
        return Some(s);
    }
    let Expr::Name(n) = e else { return None };
    match project.module_binding(file, n.id.as_str(), 0).val {
        Val::Str(s) => Some(s),
        _ => None,
    }
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

/// A method that only raises (Tornado's own `post = _unimplemented_method`, a `405`): it
/// accepts no request.
fn only_raises(def: &ast::StmtFunctionDef) -> bool {
    let body = match def.body.split_first() {
        Some((ast::Stmt::Expr(e), rest)) if e.value.is_string_literal_expr() => rest,
        _ => &def.body[..],
    };
    matches!(body, [ast::Stmt::Raise(_)])
}

/// A state-changing method of a handler class (its own or inherited from the repository)
/// that acts for the logged-in user: decorated as requiring one, reading the current user,
/// or behind a `prepare` that does. The second value is any state-changing method at all.
fn mutating_methods<'a>(
    project: &Project<'a>,
    class: ClassId,
) -> (Option<(String, &'a ast::StmtFunctionDef)>, Option<String>) {
    let guarded_by_prepare = project
        .method_in_mro(class, "prepare")
        .is_some_and(|(_, def)| reads_current_user(def));
    let name = project.class(class).def.name.as_str();
    let mut any = None;
    for m in MUTATING {
        let Some((owner, def)) = project.method_in_mro(class, m) else {
            continue;
        };
        if only_raises(def) {
            continue;
        }
        // Where the method comes from, when it is not the handler's own `def` of that name.
        let from = project.class(owner).def.name.as_str();
        let label = match (owner == class, def.name.as_str() == *m) {
            (true, true) => format!("{name}.{m}"),
            (true, false) => format!("{name}.{m} (`{m} = {}`)", def.name),
            (false, true) => format!("{name}.{m} (from {from})"),
            (false, false) => format!("{name}.{m} (from {from}, `{m} = {}`)", def.name),
        };
        if guarded_by_prepare
            || def.decorator_list.iter().any(auth_decorator)
            || reads_current_user(def)
        {
            return (Some((label, def)), any);
        }
        any.get_or_insert(label);
    }
    (None, any)
}

/// Header names and form fields that only a same-origin page sends: a handler that reads
/// them on the way to a state-changing method checks the request's origin itself.
const OWN_CHECK_FIELDS: &[&str] = &[
    "origin",
    "x-requested-with",
    "x-xsrftoken",
    "x-csrftoken",
    "x-xsrf-token",
    "x-csrf-token",
    "_xsrf",
    "_csrf",
    "csrf_token",
];

/// Whether a body checks the request's origin itself: calls `check_xsrf_cookie` (Tornado's
/// check, which only runs by itself when `xsrf_cookies` is on), or reads an anti-forgery
/// header or field. The second value is the methods it calls on `self`, to follow.
fn checks_origin(body: &[ast::Stmt]) -> (bool, Vec<String>) {
    let mut found = false;
    let mut helpers = Vec::new();
    calls_in(body, &mut |call| {
        let Expr::Attribute(a) = &*call.func else {
            return;
        };
        let method = a.attr.as_str();
        let reads_field = || {
            call.arguments
                .args
                .first()
                .and_then(str_lit)
                .is_some_and(|f| OWN_CHECK_FIELDS.contains(&f.to_ascii_lowercase().as_str()))
        };
        let field_getter = matches!(
            method,
            "get" | "get_list" | "get_argument" | "get_body_argument" | "get_query_argument"
        );
        if method == "check_xsrf_cookie" || (field_getter && reads_field()) {
            found = true;
        } else if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") {
            helpers.push(method.to_string());
        }
    });
    struct Headers(bool);
    impl<'a> Visitor<'a> for Headers {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Subscript(s) = e {
                let on_headers =
                    matches!(&*s.value, Expr::Attribute(a) if a.attr.as_str() == "headers");
                if on_headers
                    && str_lit(&s.slice).is_some_and(|f| {
                        OWN_CHECK_FIELDS.contains(&f.to_ascii_lowercase().as_str())
                    })
                {
                    self.0 = true;
                }
            }
            visitor::walk_expr(self, e);
        }
    }
    let mut h = Headers(false);
    h.visit_body(body);
    (found || h.0, helpers)
}

/// Whether a handler checks the origin of `method`'s requests itself: in `prepare`, in the
/// method, in what they call on `self`, or by a decorator named for the check.
fn own_origin_check(project: &Project, class: ClassId, method: &ast::StmtFunctionDef) -> bool {
    let named = |d: &ast::Decorator| {
        let target = match &d.expression {
            Expr::Call(c) => &*c.func,
            e => e,
        };
        let last = match target {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        }
        .to_ascii_lowercase();
        last.contains("xsrf") || last.contains("csrf")
    };
    if method.decorator_list.iter().any(named) {
        return true;
    }
    let mut queue = vec![method];
    if let Some((_, prepare)) = project.method_in_mro(class, "prepare") {
        queue.push(prepare);
    }
    let mut seen: Vec<&str> = Vec::new();
    while let Some(def) = queue.pop() {
        if seen.len() > 16 {
            break;
        }
        seen.push(def.name.as_str());
        let (found, helpers) = checks_origin(&def.body);
        if found {
            return true;
        }
        for h in helpers {
            if seen.contains(&h.as_str()) {
                continue;
            }
            if let Some((_, d)) = project.method_in_mro(class, &h) {
                queue.push(d);
            }
        }
    }
    false
}

/// How one handler class stands: what it exposes, or why not.
enum Verdict {
    /// A cookie-authenticated state-changing method with no origin check of its own.
    Exposed { method: String, how: String },
    /// A state-changing method acting for nobody known by a cookie.
    NoCookieUser(String),
    /// Nothing to judge: no state-changing method, or one that checks the origin itself.
    Fine,
    /// Cookie-authenticated writes whose cookie browsers keep out of cross-site requests.
    SameSite(String),
}

fn judge(project: &Project, class: ClassId, writes: &CookieWrites) -> Verdict {
    let (acting, any) = mutating_methods(project, class);
    let method = acting.as_ref().map(|(_, def)| *def);
    match (acting, cookie_auth(project, class, method)) {
        (Some((label, def)), Some(auth)) if !own_origin_check(project, class, def) => {
            let writes = cookie_writes(project, writes);
            match same_site(writes, &auth, def.name.as_str() == "get") {
                Some(policy) => Verdict::SameSite(format!(
                    "{label} is cookie-authenticated, but every place that sets its cookie sets it SameSite={policy}, which browsers do not send with cross-site writes"
                )),
                None => Verdict::Exposed {
                    method: label,
                    how: auth.how,
                },
            }
        }
        (Some(_), Some(_)) => Verdict::Fine,
        (Some((label, _)), None) => Verdict::NoCookieUser(label),
        (None, _) => match any {
            Some(m) => Verdict::NoCookieUser(m),
            None => Verdict::Fine,
        },
    }
}

pub fn check(project: &Project, app: &AppSite, hits: &mut Vec<Hit>) {
    let setting = app.settings.iter().find(|(k, _)| k == "xsrf_cookies");
    // What the setting is, and how much an exposure found with it weighs: a setting decided
    // at run time only ever gives a finding when the routes prove an exposure.
    let (state, weight, decided) = match setting.map(|(_, v)| v.truth()) {
        None if !app.complete => return,
        None => ("not set".to_string(), RULE.severity, true),
        Some(Truth::False) => ("false".to_string(), RULE.severity, true),
        Some(Truth::Env {
            var,
            when_unset: false,
            condition,
        }) => (
            format!("false unless the environment sets ${var} (`{condition}`)"),
            RULE.severity,
            false,
        ),
        Some(Truth::Depends(condition)) => (
            format!("decided by `{condition}`, which the analysis cannot decide; when it is off,"),
            Severity::Low,
            false,
        ),
        Some(Truth::Unknown) => match setting.map(|(_, v)| &v.val) {
            Some(Val::Opaque(_)) | None => return,
            Some(_) => (
                "set to a value the analysis cannot read; when it is off,".to_string(),
                Severity::Low,
                false,
            ),
        },
        Some(_) => return,
    };
    let step = app_step(app);
    let mut exposed: Option<(String, String, Step)> = None;
    let mut unauthenticated: Option<String> = None;
    let mut same_site_only: Option<String> = None;
    let writes = CookieWrites::new();
    // What could not be followed: parts of the table, then handlers outside the repository.
    let mut unknown: Vec<Step> = app.routes.unfollowed.clone();
    for route in &app.routes.routes {
        let Some(class) = project.resolve_class(&route.handler) else {
            // Tornado's own handlers (static files, redirects) accept no user's writes.
            if !route.handler.starts_with("tornado.") {
                let mut s = route.step.clone();
                s.note = route.handler.clone();
                unknown.push(s);
            }
            continue;
        };
        match judge(project, class, &writes) {
            Verdict::Exposed { method, how } => {
                exposed.get_or_insert((method, how, route.step.clone()));
            }
            Verdict::NoCookieUser(m) => {
                unauthenticated.get_or_insert(m);
            }
            Verdict::SameSite(why) => {
                same_site_only.get_or_insert(why);
            }
            Verdict::Fine => {}
        }
    }
    let unknown_note = (!unknown.is_empty()).then(|| unfollowed_note(&unknown));
    if !decided && exposed.is_none() {
        return;
    }
    let (severity, mut message, mut trace) = match (exposed, unauthenticated) {
        (Some((method, how, at)), _) => (
            weight,
            format!(
                "`xsrf_cookies` is {state}{} {method} accepts cookie-authenticated state-changing requests ({how}): any site a logged-in user visits can submit them",
                if state.ends_with(',') { "" } else { " but" }
            ),
            vec![at],
        ),
        (None, _) if same_site_only.is_some() => (
            Severity::Info,
            format!(
                "`xsrf_cookies` is {state}; {}",
                same_site_only.unwrap_or_default()
            ),
            Vec::new(),
        ),
        (None, _) if unknown_note.is_some() && app.routes.routes.is_empty() => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; the application's routes could not be followed to tell whether it accepts cookie-authenticated state-changing requests"),
            Vec::new(),
        ),
        (None, _) if unknown_note.is_some() => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; the routes that could be followed show no cookie-authenticated state-changing handler"),
            Vec::new(),
        ),
        (None, Some(method)) => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; {method} accepts state-changing requests, but no handler of this application acts for a user it knows by a cookie"),
            Vec::new(),
        ),
        (None, None) => return,
    };
    if let Some(note) = unknown_note {
        message.push_str(&note);
        trace.extend(unknown);
    }
    // The application is the end of the trace: where the finding is judged.
    trace.push(step.clone());
    hits.push(Hit {
        rule: &RULE,
        severity,
        step,
        message,
        trace,
        stage: None,
    });
}

/// Names what could not be followed (the trace has where): route table parts by their code,
/// handlers by name.
fn unfollowed_note(unknown: &[Step]) -> String {
    let handlers = unknown
        .iter()
        .filter(|s| s.note == crate::routes::UNKNOWN_HANDLER)
        .count();
    let mut named: Vec<String> = unknown
        .iter()
        .filter(|s| s.note != crate::routes::UNKNOWN_HANDLER)
        .map(|s| format!("`{}`", s.note))
        .collect();
    named.dedup();
    let extra = named.len().saturating_sub(3);
    named.truncate(3);
    if extra > 0 {
        named.push(format!("{extra} more"));
    }
    match handlers {
        0 => {}
        1 => named.push("1 route handler".into()),
        n => named.push(format!("{n} route handlers")),
    }
    format!("; not followed: {}", named.join(", "))
}
