//! How one handler class of TW008 stands: its state-changing methods as Python finds them,
//! how it knows its user (a cookie, or not), whether it checks the request's origin itself,
//! and whether browsers would send its cookie cross-site at all.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use crate::engine::{ClassId, FileId, Project};
use crate::eval::Scope;
use crate::value::Val;
use crate::walk::{calls_in, str_lit};

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

/// The name a cookie write gives, as far as it is known.
pub(super) enum WrittenName {
    Exact(String),
    /// `"prefix_" + x`, `f"prefix_{x}"`: only names that start so.
    Prefix(String),
    Unknown,
}

impl WrittenName {
    fn of(project: &Project, file: FileId, e: &Expr) -> Self {
        if let Some(n) = cookie_name(project, file, e) {
            return WrittenName::Exact(n);
        }
        let prefix = match e {
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
                cookie_name(project, file, &b.left)
            }
            Expr::FString(f) => f.value.iter().next().and_then(|part| match part {
                ast::FStringPart::Literal(l) => Some(l.value.to_string()),
                ast::FStringPart::FString(f) => f.elements.iter().next().and_then(|el| match el {
                    ast::InterpolatedStringElement::Literal(l) => Some(l.value.to_string()),
                    _ => None,
                }),
            }),
            _ => None,
        };
        match prefix {
            Some(p) if !p.is_empty() => WrittenName::Prefix(p),
            _ => WrittenName::Unknown,
        }
    }

    /// Whether this write may set the cookie `name`.
    fn may_be(&self, name: &str) -> bool {
        match self {
            WrittenName::Exact(n) => n == name,
            WrittenName::Prefix(p) => name.starts_with(p.as_str()),
            WrittenName::Unknown => true,
        }
    }
}

/// A cookie the repository sets: its name and the `samesite` it passes (lower case; `None`
/// when absent or not a literal).
pub(super) type CookieWrite = (WrittenName, Option<String>);

/// Every cookie write of the repository, read once per application, on demand.
pub(super) type CookieWrites = std::cell::OnceCell<Vec<CookieWrite>>;

fn cookie_writes<'w>(project: &Project, cache: &'w CookieWrites) -> &'w [CookieWrite] {
    cache.get_or_init(|| {
        let mut out = Vec::new();
        project.each_call(&mut |file, call| {
            let Expr::Attribute(a) = &*call.func else {
                return;
            };
            if !COOKIE_WRITES.contains(&a.attr.as_str()) {
                return;
            }
            let name = match call.arguments.args.first() {
                Some(n) => WrittenName::of(project, file, n),
                None => WrittenName::Unknown,
            };
            let policy = call
                .arguments
                .find_keyword("samesite")
                .and_then(|k| str_lit(&k.value))
                .map(|p| p.to_ascii_lowercase());
            out.push((name, policy));
        });
        out
    })
}

/// Whether browsers keep every authentication cookie out of cross-site requests of this
/// kind: each cookie is set somewhere in the repository, and every place that sets it passes
/// `samesite="Strict"` (or `"Lax"`, which still sends it with cross-site top-level `GET`s, so
/// it does not cover a write method that is `get` itself). The value names the policy.
fn same_site(writes: &[CookieWrite], auth: &CookieAuth, write_is_get: bool) -> Option<String> {
    let mut policies: Vec<&str> = Vec::new();
    for name in &auth.names {
        let name = name.as_deref()?;
        let mut set = false;
        // A write of a cookie whose name is not known may be this one.
        for (n, policy) in writes.iter().filter(|(n, _)| n.may_be(name)) {
            set |= matches!(n, WrittenName::Exact(_));
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

/// How a WebSocket handler knows its user by a cookie, if it does: `get_current_user` or
/// `prepare` (and what they call), a decorator of `open`, or `open` reading a cookie itself.
/// Browsers send cookies with cross-site handshakes, so only such a socket can be hijacked.
pub(super) fn websocket_cookie_user(project: &Project, class: ClassId) -> Option<String> {
    let open = project.method_in_mro(class, "open");
    if let Some(auth) = cookie_auth(project, class, open.map(|(_, d)| d)) {
        return Some(auth.how);
    }
    let (owner, def) = open?;
    let mut reads = false;
    calls_in(&def.body, &mut |call| {
        if let Expr::Attribute(a) = &*call.func {
            reads |= COOKIE_READS.contains(&a.attr.as_str());
        }
    });
    reads.then(|| format!("{}.open reads a cookie", project.class(owner).def.name))
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
pub(super) enum Verdict {
    /// A cookie-authenticated state-changing method with no origin check of its own.
    Exposed { method: String, how: String },
    /// A state-changing method acting for nobody known by a cookie.
    NoCookieUser(String),
    /// Nothing to judge: no state-changing method, or one that checks the origin itself.
    Fine,
    /// Cookie-authenticated writes whose cookie browsers keep out of cross-site requests.
    SameSite(String),
}

pub(super) fn judge(project: &Project, class: ClassId, writes: &CookieWrites) -> Verdict {
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

/// Where code writes `xsrf_cookies` into an application's settings after construction:
/// `x.settings["xsrf_cookies"] = ...` (taken in by the applications of its own file only), and
/// `self.settings.update(xsrf_cookies=...)` (by none). Test code is left out. Found once per
/// project; see [`LateWrites::reaching`].
pub struct LateWrites(Vec<(FileId, usize, bool)>);

impl LateWrites {
    pub fn of(project: &Project) -> Self {
        const KEY: &str = "xsrf_cookies";
        let mut out = Vec::new();
        for i in 0..project.files.len() {
            let file = FileId(i);
            if super::is_test_file(&project.files[file].rel) {
                continue;
            }
            for assign in project.settings_writes(file) {
                let hit = assign.targets.iter().any(|t| {
                    matches!(t, Expr::Subscript(s) if str_lit(&s.slice).as_deref() == Some(KEY))
                });
                if hit {
                    out.push((file, assign.range().start().to_usize(), false));
                }
            }
        }
        project.each_call(&mut |file, call| {
            let Expr::Attribute(a) = &*call.func else {
                return;
            };
            if a.attr.as_str() != "update" {
                return;
            }
            let Expr::Attribute(settings) = &*a.value else {
                return;
            };
            if settings.attr.as_str() != "settings"
                || super::is_test_file(&project.files[file].rel)
            {
                return;
            }
            let on_self = matches!(&*settings.value, Expr::Name(n) if n.id.as_str() == "self");
            let by_keyword = call.arguments.find_keyword(KEY).is_some();
            let by_dict = call.arguments.args.iter().any(|d| {
                matches!(d, Expr::Dict(d) if d.items.iter().any(|i| i.key.as_ref().and_then(str_lit).as_deref() == Some(KEY)))
            });
            if by_keyword || by_dict {
                out.push((file, call.range().start().to_usize(), on_self));
            }
        });
        LateWrites(out)
    }

    /// A write the application built in `app_file` does not take in at its own site, which
    /// may reach it: so "not set" cannot be claimed.
    pub(super) fn reaching(&self, app_file: FileId) -> Option<(FileId, usize)> {
        self.0
            .iter()
            .find(|(file, _, on_self)| *file != app_file || *on_self)
            .map(|&(file, at, _)| (file, at))
    }
}
