//! What a cookie set by a handler carries, judged from the application's code rather than the
//! cookie's name: whether the application authenticates requests with it (Tornado's
//! `get_current_user`/`prepare` read it, or a signed value is read back), whether the value is
//! generated (a nonce, a random id, a timestamp), fixed (a preference), or derived from a
//! credential or identity (a user name or id, a password, a token, an API key).

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::engine::{CallSite, FileId, Project};
use crate::eval::Scope;
use crate::value::Val;
use crate::walk::{for_each_stmt, short, text_of};

/// Where a handler's cookies are read, by cookie (the name's value, or its source text when
/// the name is computed).
#[derive(Default)]
pub struct Reads<'a> {
    /// Read where Tornado authenticates a request (`get_current_user`, `prepare`, or a
    /// function they call), with the function that reads it.
    pub authenticating: HashMap<String, String>,
    /// Read back with `get_secure_cookie`/`get_signed_cookie` and tested
    /// (`get_secure_cookie(name) == AUTHENTICATED`, `if self.get_secure_cookie(name):`): a
    /// signed value the application decides on, as a login flag.
    pub signed: HashSet<String>,
    /// Names assigned in each scope body, built once per body (keeps classification linear).
    pub assignments: Assignments<'a>,
    /// Flags each repository override of a cookie method adds, by its definition.
    pub overrides: std::cell::RefCell<HashMap<usize, Vec<&'static str>>>,
}

/// The last value assigned to each name directly in a scope body (blocks included, nested
/// functions and classes not), indexed once per body.
#[derive(Default)]
pub struct Assignments<'a>(
    std::cell::RefCell<HashMap<usize, std::rc::Rc<HashMap<String, &'a Expr>>>>,
);

impl<'a> Assignments<'a> {
    fn of(&self, body: &'a [Stmt]) -> std::rc::Rc<HashMap<String, &'a Expr>> {
        let key = body.as_ptr() as usize;
        if let Some(found) = self.0.borrow().get(&key) {
            return found.clone();
        }
        let mut names: HashMap<String, &'a Expr> = HashMap::new();
        for_each_stmt(body, None, &mut |s, _| match s {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        names.insert(n.id.to_string(), &a.value);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                    names.insert(n.id.to_string(), v);
                }
            }
            _ => {}
        });
        let names = std::rc::Rc::new(names);
        self.0.borrow_mut().insert(key, names.clone());
        names
    }
}

/// Methods in which Tornado code decides who the user is.
const AUTH_METHODS: &[&str] = &["get_current_user", "prepare", "current_user"];

/// A cookie name as the application computes it.
pub fn cookie_key(project: &Project, call: &CallSite, name: &Expr) -> String {
    let at = name.range_start();
    match project.eval(call.file, name, call.scope, at, 0).val {
        Val::Str(s) => s,
        _ => format!("`{}`", short(text_of(&project.files[call.file], name))),
    }
}

trait Start {
    fn range_start(&self) -> usize;
}

impl Start for Expr {
    fn range_start(&self) -> usize {
        ruff_text_size::Ranged::range(self).start().to_usize()
    }
}

impl<'a> Reads<'a> {
    pub fn collect(project: &Project<'a>, calls: &[CallSite<'a>]) -> Reads<'a> {
        let mut reads = Reads::default();
        let mut tested_by_body: HashMap<usize, HashSet<usize>> = HashMap::new();
        // Functions the authenticating methods call (`self._user_from_cookie()`,
        // `is_authenticated(self)`): reading a cookie there is authenticating too.
        let in_auth = |c: &CallSite| {
            c.scope
                .function
                .is_some_and(|f| AUTH_METHODS.contains(&f.name.as_str()))
        };
        let helpers: HashSet<usize> = calls
            .iter()
            .filter(|c| in_auth(c))
            .filter_map(|c| project.callee(c.file, &c.call.func, c.scope))
            .map(|(def, _, _)| def as *const _ as usize)
            .collect();
        for call in calls {
            let method = call.qualified.rsplit('.').next().unwrap_or("");
            let signed = match method {
                "get_secure_cookie" | "get_signed_cookie" => true,
                "get_cookie" => false,
                _ => continue,
            };
            let Some(name) = call.call.arguments.args.first() else {
                continue;
            };
            let key = cookie_key(project, call, name);
            if let Some(f) = call.scope.function.filter(|f| {
                AUTH_METHODS.contains(&f.name.as_str())
                    || helpers.contains(&(*f as *const _ as usize))
            }) {
                reads
                    .authenticating
                    .entry(key.clone())
                    .or_insert_with(|| f.name.to_string());
            }
            if signed {
                let body: &'a [Stmt] = match call.scope.function {
                    Some(f) => &f.body,
                    None => &project.files[call.file].ast.body,
                };
                let tested = tested_by_body
                    .entry(body.as_ptr() as usize)
                    .or_insert_with(|| tested_calls(body));
                if tested.contains(&ruff_text_size::Ranged::range(call.call).start().to_usize()) {
                    reads.signed.insert(key);
                }
            }
        }
        reads
    }
}

/// Where the calls of a body are used as a test (by their start offset): an operand of a
/// comparison, an `if`/`while`/`assert` or conditional-expression test, under `not`, or an
/// operand of `and`/`or` in one of those.
fn tested_calls(body: &[Stmt]) -> HashSet<usize> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Tests(HashSet<usize>);
    impl Tests {
        fn test(&mut self, e: &Expr) {
            match e {
                Expr::Call(c) => {
                    self.0
                        .insert(ruff_text_size::Ranged::range(c).start().to_usize());
                }
                Expr::BoolOp(b) => b.values.iter().for_each(|v| self.test(v)),
                Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => self.test(&u.operand),
                Expr::Await(a) => self.test(&a.value),
                _ => {}
            }
        }
    }
    impl<'b> Visitor<'b> for Tests {
        fn visit_stmt(&mut self, s: &'b Stmt) {
            match s {
                Stmt::If(i) => {
                    self.test(&i.test);
                    for c in &i.elif_else_clauses {
                        if let Some(t) = &c.test {
                            self.test(t);
                        }
                    }
                }
                Stmt::While(w) => self.test(&w.test),
                Stmt::Assert(a) => self.test(&a.test),
                _ => {}
            }
            visitor::walk_stmt(self, s);
        }
        fn visit_expr(&mut self, e: &'b Expr) {
            match e {
                Expr::Compare(c) => {
                    self.test(&c.left);
                    c.comparators.iter().for_each(|x| self.test(x));
                }
                Expr::If(i) => self.test(&i.test),
                Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => self.test(&u.operand),
                _ => {}
            }
            visitor::walk_expr(self, e);
        }
    }
    let mut t = Tests(HashSet::new());
    t.visit_body(body);
    t.0
}

/// What flows into a cookie's value.
#[derive(Debug, PartialEq)]
pub enum Carries {
    /// Identity or a credential, with what shows it (`email`, `settings.API_KEY`), and whether
    /// it is a secret (a password, a token, a key) rather than who the user is.
    Credential { what: String, secret: bool },
    /// Generated per request: a nonce, a random id, a timestamp.
    Generated(String),
    /// A fixed value written in the code.
    Fixed,
    /// Nothing the analysis could classify.
    Unknown,
}

/// Parts of an identifier that name identity or a credential.
const CREDENTIAL_WORDS: &[&str] = &[
    "user",
    "username",
    "userid",
    "uid",
    "email",
    "login",
    "password",
    "passwd",
    "pwd",
    "token",
    "apikey",
    "secret",
    "session",
    "sid",
    "auth",
    "credential",
    "credentials",
    "jwt",
    "account",
];

/// Parts that make a name about the user rather than the user's identity (`user_agent`,
/// `user_prefs`, `login_time`, `session_count`), or a one-time value (`csrf_token`,
/// `oauth_state`, `login_next`).
const NOT_IDENTITY: &[&str] = &[
    "csrf",
    "xsrf",
    "state",
    "nonce",
    "next",
    "redirect",
    "url",
    "agent",
    "pref",
    "prefs",
    "preference",
    "preferences",
    "setting",
    "settings",
    "theme",
    "lang",
    "language",
    "locale",
    "timezone",
    "count",
    "visit",
    "visits",
    "time",
    "timestamp",
    "date",
    "expires",
    "expiry",
];

/// An identifier's lower-case words (`user_email`, `API_KEY`, `apiKey`).
fn name_parts(id: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in id.chars() {
        if !c.is_ascii_alphanumeric() {
            prev_lower = false;
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // camelCase boundary
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            parts.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// Parts that name a secret rather than who the user is.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "token",
    "apikey",
    "secret",
    "session",
    "sid",
    "credential",
    "credentials",
    "jwt",
];

/// Whether an identifier names identity or a credential (`user_email`, `API_KEY`, `apiKey`).
fn credential_name(id: &str) -> bool {
    let parts = name_parts(id);
    let describes = parts.iter().any(|p| NOT_IDENTITY.contains(&p.as_str()));
    !describes
        && (parts.iter().any(|p| CREDENTIAL_WORDS.contains(&p.as_str()))
            || parts.windows(2).any(|w| w[0] == "api" && w[1] == "key"))
}

/// Calls whose result is fresh per call: random values and clocks.
fn generator(qualified: &str) -> bool {
    const PREFIXES: &[&str] = &["secrets.", "random.", "uuid.uuid", "os.urandom", "time."];
    PREFIXES.iter().any(|p| qualified.starts_with(p))
        || qualified.starts_with("datetime.")
            && ["now", "utcnow", "today"]
                .iter()
                .any(|m| qualified.ends_with(&format!(".{m}")) || qualified.ends_with(m))
}

/// Most expressions one classification visits; values built from more are unknown.
const MAX_NODES: usize = 200;

/// Most names one classification follows to their assignments.
const MAX_NAMES: usize = 16;

struct Walk<'p, 'a> {
    project: &'p Project<'a>,
    assignments: &'p Assignments<'a>,
    file: FileId,
    scope: Scope<'a>,
    nodes: usize,
    followed: HashSet<String>,
    credential: Option<String>,
    /// Whether the credential found is a secret (a password, a token, a key) rather than who
    /// the user is.
    secret: bool,
    generated: Option<String>,
    other: bool,
}

/// Classifies the value of a cookie set at `call`.
pub fn classify<'a>(
    project: &Project<'a>,
    assignments: &Assignments<'a>,
    call: &CallSite<'a>,
    value: &'a Expr,
) -> Carries {
    let at = value.range_start();
    let evaluated = project.eval(call.file, value, call.scope, at, 0);
    if matches!(evaluated.val, Val::Str(_) | Val::Int(_) | Val::Bool(_)) {
        return Carries::Fixed;
    }
    let mut w = Walk {
        project,
        assignments,
        file: call.file,
        scope: call.scope,
        nodes: 0,
        followed: HashSet::new(),
        credential: None,
        secret: false,
        generated: None,
        other: false,
    };
    w.expr(value);
    match (w.credential, w.generated, w.other) {
        (Some(what), _, _) => Carries::Credential {
            what,
            secret: w.secret,
        },
        (None, Some(what), false) => Carries::Generated(what),
        (None, None, false) if w.nodes <= MAX_NODES => Carries::Fixed,
        _ => Carries::Unknown,
    }
}

impl<'a> Walk<'_, 'a> {
    /// A credential or identity shown by the identifier `id` (in `shown`).
    fn found(&mut self, id: &str, shown: String) {
        self.secret = name_parts(id)
            .iter()
            .any(|p| SECRET_WORDS.contains(&p.as_str()))
            || name_parts(id)
                .windows(2)
                .any(|w| w[0] == "api" && w[1] == "key");
        self.credential = Some(shown);
    }

    fn text(&self, e: &Expr) -> String {
        short(text_of(&self.project.files[self.file], e))
    }

    fn expr(&mut self, e: &'a Expr) {
        self.nodes += 1;
        if self.nodes > MAX_NODES || self.credential.is_some() {
            self.other = true;
            return;
        }
        match e {
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::NumberLiteral(_)
            | Expr::BooleanLiteral(_)
            | Expr::NoneLiteral(_) => {}
            Expr::Name(n) => self.name(e, n.id.as_str()),
            Expr::Attribute(a) => {
                // Tornado's XSRF token is meant to be read by the page's scripts.
                if matches!(a.attr.as_str(), "xsrf_token" | "_xsrf_token") {
                    self.generated = Some(self.text(e));
                    return;
                }
                if credential_name(a.attr.as_str()) {
                    self.found(a.attr.as_str(), self.text(e));
                    return;
                }
                if let Some(q) = self.project.qualify(self.file, e) {
                    if generator(&q) {
                        self.generated = Some(self.text(e));
                        return;
                    }
                }
                self.expr(&a.value);
            }
            Expr::Subscript(s) => {
                if let Expr::StringLiteral(k) = &*s.slice {
                    if credential_name(k.value.to_str()) {
                        self.found(k.value.to_str(), self.text(e));
                        return;
                    }
                }
                self.expr(&s.value);
            }
            Expr::Call(c) => {
                let q = self.project.qualify(self.file, &c.func).unwrap_or_default();
                if generator(&q) {
                    self.generated = Some(self.text(e));
                    return;
                }
                let last = q.rsplit('.').next().unwrap_or("");
                if credential_name(last) {
                    self.found(last, self.text(e));
                    return;
                }
                // A conversion or method of the value passes it on (`str(email)`,
                // `uuid4().hex.encode()`); any other call of unknown meaning is not classified.
                let passes_on = matches!(
                    last,
                    "str"
                        | "bytes"
                        | "int"
                        | "encode"
                        | "decode"
                        | "format"
                        | "hex"
                        | "lower"
                        | "upper"
                        | "strip"
                        | "join"
                        | "dumps"
                        | "b64encode"
                        | "urlsafe_b64encode"
                        | "hexdigest"
                        | "hexlify"
                        | "escape"
                        | "quote"
                );
                if !passes_on {
                    self.other = true;
                }
                if let Expr::Attribute(a) = &*c.func {
                    self.expr(&a.value);
                }
                for a in c.arguments.args.iter() {
                    self.expr(a);
                }
                for k in c.arguments.keywords.iter() {
                    self.expr(&k.value);
                }
            }
            Expr::BinOp(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::BoolOp(b) => b.values.iter().for_each(|v| self.expr(v)),
            Expr::If(i) => {
                self.expr(&i.body);
                self.expr(&i.orelse);
            }
            Expr::Await(a) => self.expr(&a.value),
            Expr::FString(f) => {
                for el in f.value.elements() {
                    if let ast::InterpolatedStringElement::Interpolation(i) = el {
                        self.expr(&i.expression);
                    }
                }
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|v| self.expr(v)),
            Expr::List(t) => t.elts.iter().for_each(|v| self.expr(v)),
            _ => self.other = true,
        }
    }

    /// A name: what it was last assigned in the function (or module), else what it is called.
    fn name(&mut self, e: &'a Expr, id: &str) {
        if !self.followed.insert(id.to_string()) {
            return;
        }
        // A few names are enough for any real value.
        if self.followed.len() > MAX_NAMES {
            self.other = true;
            return;
        }
        // Assigned in the function, else at module level (a constant).
        let module: &'a [Stmt] = &self.project.files[self.file].ast.body;
        let assigned = self
            .scope
            .function
            .map(|f| f.body.as_slice())
            .into_iter()
            .chain([module])
            .find_map(|body| self.assignments.of(body).get(id).copied());
        if let Some(v) = assigned {
            return self.expr(v);
        }
        // A module constant or an imported name the evaluator can read.
        let at = e.range_start();
        let v = self.project.eval(self.file, e, self.scope, at, 0);
        if matches!(v.val, Val::Str(_) | Val::Int(_) | Val::Bool(_)) {
            return;
        }
        if credential_name(id) {
            self.found(id, id.to_string());
        } else {
            self.other = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::credential_name;

    #[test]
    fn credential_names() {
        for id in [
            "email",
            "user_email",
            "API_KEY",
            "apiKey",
            "session_id",
            "access_token",
        ] {
            assert!(credential_name(id), "{id}");
        }
        for id in [
            "theme",
            "state",
            "nonce",
            "lang",
            "users_count",
            "User-Agent",
            "login_time",
            "user_prefs",
        ] {
            assert!(!credential_name(id), "{id}");
        }
    }
}
