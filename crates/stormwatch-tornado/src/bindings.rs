//! Which statements of a scope can change each name, in source order. Looking a name up
//! reads only those, and only from the last plain assignment before the lookup on (earlier
//! values are overwritten), instead of walking the whole scope: a module with thousands of
//! applications, each reading `settings`, stays linear.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::source::PyFile;
use crate::walk::{for_each_stmt, is_name, Condition};

/// [`Bindings`] of the scope bodies (module, class, function) of a set of files that have more
/// than [`INDEXED_BODY`] statements, by the body's address: built once, in one pass over
/// each file. Smaller bodies, nearly all of them, are walked per lookup, which costs less
/// than building their index.
pub(crate) struct ScopeBindings<'a> {
    by_body: HashMap<(usize, usize), Bindings<'a>>,
    /// The assignment expressions (`(x := v)`) of each statement that has any, by the
    /// statement's address: in its own expressions (an `if`/`while` test, a call, a
    /// comprehension), not in the statements nested in it.
    walrus: Walrus<'a>,
}

type Walrus<'a> = HashMap<usize, Vec<&'a ast::ExprNamed>>;

/// Statements (nested blocks included) from which a scope body is indexed: walking this many
/// per lookup stays cheap, and a scope built to make lookups quadratic is far larger.
const INDEXED_BODY: usize = 512;

impl<'a> ScopeBindings<'a> {
    pub fn of(files: &'a [PyFile]) -> Self {
        type Indexed<'a> = Vec<((usize, usize), Bindings<'a>)>;
        let per_file: Vec<(Indexed<'a>, Walrus<'a>)> = files
            .par_iter()
            .map(|f| {
                let mut walrus = WalrusScan::default();
                // Most files have none: the text says so without a walk.
                if f.text.contains(":=") {
                    walrus.visit_body(&f.ast.body);
                }
                let mut out = Vec::new();
                collect(&f.ast.body, &walrus.found, &mut out);
                (out, walrus.found)
            })
            .collect();
        let mut by_body = HashMap::new();
        let mut walrus = HashMap::new();
        for (bodies, w) in per_file {
            by_body.extend(bodies);
            walrus.extend(w);
        }
        Self { by_body, walrus }
    }

    /// The `(x := v)` expressions in a statement's own expressions.
    pub fn walrus_of(&self, stmt: &Stmt) -> &[&'a ast::ExprNamed] {
        self.walrus
            .get(&(stmt as *const Stmt as usize))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `stmt` replaces `name`'s value whatever it was.
    pub fn rebinds(&self, stmt: &Stmt, name: &str) -> bool {
        rebinds(stmt, name, &self.walrus)
    }

    /// The events that decide `name`'s value at byte offset `at` of the scope `stmts`: those
    /// that start before it, from the last unconditional rebinding on.
    pub fn before(&self, stmts: &'a [Stmt], name: &str, at: usize) -> Cow<'_, [Event<'a>]> {
        if let Some(b) = self.by_body.get(&key(stmts)) {
            return Cow::Borrowed(b.before(name, at));
        }
        let mut events = Vec::new();
        for_each_stmt(stmts, None, &mut |stmt, cond| {
            if stmt.range().start().to_usize() < at && changes(stmt, name, &self.walrus) {
                if cond.is_none() && rebinds(stmt, name, &self.walrus) {
                    events.clear();
                }
                events.push(Event { stmt, cond });
            }
        });
        Cow::Owned(events)
    }
}

fn key(stmts: &[Stmt]) -> (usize, usize) {
    (stmts.as_ptr() as usize, stmts.len())
}

fn collect<'a>(
    stmts: &'a [Stmt],
    walrus: &Walrus<'a>,
    out: &mut Vec<((usize, usize), Bindings<'a>)>,
) {
    let mut count = 0;
    for_each_stmt(stmts, None, &mut |s, _| {
        count += 1;
        match s {
            Stmt::FunctionDef(d) => collect(&d.body, walrus, out),
            Stmt::ClassDef(c) => collect(&c.body, walrus, out),
            _ => {}
        }
    });
    if count > INDEXED_BODY {
        out.push((key(stmts), Bindings::of(stmts, walrus)));
    }
}

/// Finds the `(x := v)` of every statement, with the innermost statement that holds it.
#[derive(Default)]
struct WalrusScan<'a> {
    current: Option<&'a Stmt>,
    found: Walrus<'a>,
}

impl<'a> Visitor<'a> for WalrusScan<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let saved = self.current.replace(stmt);
        visitor::walk_stmt(self, stmt);
        self.current = saved;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let (Expr::Named(n), Some(s)) = (expr, self.current) {
            self.found
                .entry(s as *const Stmt as usize)
                .or_default()
                .push(n);
        }
        visitor::walk_expr(self, expr);
    }
}

/// The names an assignment target binds: `x`, and each name of `x, (y, *z)`.
fn target_names<'e>(e: &'e Expr, out: &mut Vec<&'e str>) {
    match e {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(t) => t.elts.iter().for_each(|x| target_names(x, out)),
        Expr::List(l) => l.elts.iter().for_each(|x| target_names(x, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// Whether an unpacking target (`a, b`, `[a, *b]`) binds `name`.
fn unpacks(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Tuple(_) | Expr::List(_) => {
            let mut names = Vec::new();
            target_names(e, &mut names);
            names.contains(&name)
        }
        _ => false,
    }
}

/// A statement that may change a name, with the condition it runs under.
#[derive(Clone, Copy)]
pub(crate) struct Event<'a> {
    pub stmt: &'a Stmt,
    pub cond: Option<Condition<'a>>,
}

#[derive(Default)]
struct NameEvents<'a> {
    events: Vec<Event<'a>>,
    /// Byte offset of each event's statement (increasing: statements are visited in order).
    starts: Vec<usize>,
    /// For each event, the index of the last unconditional rebinding at or before it.
    reset: Vec<Option<usize>>,
}

/// The events of every name of one scope (see [`for_each_stmt`] for what a scope holds).
#[derive(Default)]
pub(crate) struct Bindings<'a> {
    by_name: HashMap<&'a str, NameEvents<'a>>,
}

impl<'a> Bindings<'a> {
    pub fn of(stmts: &'a [Stmt], walrus: &Walrus<'a>) -> Self {
        let mut by_name: HashMap<&'a str, NameEvents<'a>> = HashMap::new();
        for_each_stmt(stmts, None, &mut |stmt, cond| {
            for name in changed_names(stmt, walrus) {
                let e = by_name.entry(name).or_default();
                let resets = cond.is_none() && rebinds(stmt, name, walrus);
                let previous = e.reset.last().copied().flatten();
                e.reset.push(if resets {
                    Some(e.events.len())
                } else {
                    previous
                });
                e.starts.push(stmt.range().start().to_usize());
                e.events.push(Event { stmt, cond });
            }
        });
        Self { by_name }
    }

    /// The events that decide `name`'s value at byte offset `at`: those that start before
    /// it, from the last unconditional rebinding on.
    pub fn before(&self, name: &str, at: usize) -> &[Event<'a>] {
        let Some(e) = self.by_name.get(name) else {
            return &[];
        };
        let end = e.starts.partition_point(|&s| s < at);
        let begin = end
            .checked_sub(1)
            .and_then(|last| e.reset[last])
            .unwrap_or(0);
        &e.events[begin..end]
    }
}

/// The names a statement may change, each once, as `Project::binding_from` reads
/// statements: assigned (`x = `, `x, y = `, `x: T = `, `x[k] = `, `x += `, `(x := v)`),
/// defined (`def x`), or mutated (`x.update(...)`).
fn changed_names<'a>(stmt: &'a Stmt, walrus: &Walrus<'a>) -> Vec<&'a str> {
    let mut names: Vec<&str> = match stmt {
        Stmt::Assign(a) => {
            let mut names: Vec<&str> = a.targets.iter().filter_map(name_of).collect();
            for t in &a.targets {
                if matches!(t, Expr::Tuple(_) | Expr::List(_)) {
                    target_names(t, &mut names);
                }
            }
            names
        }
        Stmt::AnnAssign(a) => name_of(&a.target).into_iter().collect(),
        Stmt::AugAssign(a) => name_of(&a.target).into_iter().collect(),
        Stmt::FunctionDef(d) => vec![d.name.as_str()],
        Stmt::Expr(x) => match &*x.value {
            Expr::Call(call) => match &*call.func {
                Expr::Attribute(attr) => name_of(&attr.value).into_iter().collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if let Some(w) = walrus.get(&(stmt as *const Stmt as usize)) {
        names.extend(w.iter().filter_map(|n| name_of(&n.target)));
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether `stmt` may change `name` (see [`changed_names`]), without allocating.
fn changes(stmt: &Stmt, name: &str, walrus: &Walrus) -> bool {
    let is = |e: &Expr| name_of(e) == Some(name);
    if walrus_binds(stmt, name, walrus) {
        return true;
    }
    match stmt {
        Stmt::Assign(a) => a.targets.iter().any(|t| is(t) || unpacks(t, name)),
        Stmt::AnnAssign(a) => is(&a.target),
        Stmt::AugAssign(a) => is(&a.target),
        Stmt::FunctionDef(d) => d.name.as_str() == name,
        Stmt::Expr(x) => matches!(&*x.value, Expr::Call(call)
            if matches!(&*call.func, Expr::Attribute(attr) if is(&attr.value))),
        _ => false,
    }
}

/// `x` of `x` and of `x[k]`.
fn name_of(e: &Expr) -> Option<&str> {
    match e {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Subscript(s) => match &*s.value {
            Expr::Name(n) => Some(n.id.as_str()),
            _ => None,
        },
        _ => None,
    }
}

fn walrus_binds(stmt: &Stmt, name: &str, walrus: &Walrus) -> bool {
    walrus
        .get(&(stmt as *const Stmt as usize))
        .is_some_and(|w| w.iter().any(|n| is_name(&n.target, name)))
}

/// Whether `stmt` replaces `name`'s value whatever it was: `name = v`, `a, name = v`,
/// `name: T = v`, `def name`, `(name := v)`.
fn rebinds(stmt: &Stmt, name: &str, walrus: &Walrus) -> bool {
    if walrus_binds(stmt, name, walrus) {
        return true;
    }
    match stmt {
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| is_name(t, name) || unpacks(t, name)),
        Stmt::AnnAssign(a) => a.value.is_some() && is_name(&a.target, name),
        Stmt::FunctionDef(d) => d.name.as_str() == name,
        _ => false,
    }
}
