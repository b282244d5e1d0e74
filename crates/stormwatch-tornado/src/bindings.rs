//! Which statements of a scope can change each name, in source order. Looking a name up
//! reads only those, and only from the last plain assignment before the lookup on (earlier
//! values are overwritten), instead of walking the whole scope: a module with thousands of
//! applications, each reading `settings`, stays linear.

use std::borrow::Cow;
use std::collections::HashMap;

use rayon::prelude::*;
use ruff_python_ast::{Expr, Stmt};
use ruff_text_size::Ranged;

use crate::source::PyFile;
use crate::walk::{for_each_stmt, is_name, Condition};

/// [`Bindings`] of the scope bodies (module, class, function) of a set of files that have more
/// than [`INDEXED_BODY`] statements, by the body's address: built once, in one pass over
/// each file. Smaller bodies, nearly all of them, are walked per lookup, which costs less
/// than building their index.
pub(crate) struct ScopeBindings<'a> {
    by_body: HashMap<(usize, usize), Bindings<'a>>,
}

/// Statements (nested blocks included) from which a scope body is indexed: walking this many
/// per lookup stays cheap, and a scope built to make lookups quadratic is far larger.
const INDEXED_BODY: usize = 512;

impl<'a> ScopeBindings<'a> {
    pub fn of(files: &'a [PyFile]) -> Self {
        let per_file: Vec<Vec<((usize, usize), Bindings<'a>)>> = files
            .par_iter()
            .map(|f| {
                let mut out = Vec::new();
                collect(&f.ast.body, &mut out);
                out
            })
            .collect();
        Self {
            by_body: per_file.into_iter().flatten().collect(),
        }
    }

    /// The events that decide `name`'s value at byte offset `at` of the scope `stmts`: those
    /// that start before it, from the last unconditional rebinding on.
    pub fn before(&self, stmts: &'a [Stmt], name: &str, at: usize) -> Cow<'_, [Event<'a>]> {
        if let Some(b) = self.by_body.get(&key(stmts)) {
            return Cow::Borrowed(b.before(name, at));
        }
        let mut events = Vec::new();
        for_each_stmt(stmts, None, &mut |stmt, cond| {
            if stmt.range().start().to_usize() < at && changes(stmt, name) {
                if cond.is_none() && rebinds(stmt, name) {
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

fn collect<'a>(stmts: &'a [Stmt], out: &mut Vec<((usize, usize), Bindings<'a>)>) {
    let mut count = 0;
    for_each_stmt(stmts, None, &mut |s, _| {
        count += 1;
        match s {
            Stmt::FunctionDef(d) => collect(&d.body, out),
            Stmt::ClassDef(c) => collect(&c.body, out),
            _ => {}
        }
    });
    if count > INDEXED_BODY {
        out.push((key(stmts), Bindings::of(stmts)));
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
    pub fn of(stmts: &'a [Stmt]) -> Self {
        let mut by_name: HashMap<&'a str, NameEvents<'a>> = HashMap::new();
        for_each_stmt(stmts, None, &mut |stmt, cond| {
            for name in changed_names(stmt) {
                let e = by_name.entry(name).or_default();
                let resets = cond.is_none() && rebinds(stmt, name);
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
/// statements: assigned (`x = `, `x: T = `, `x[k] = `, `x += `), defined (`def x`), or
/// mutated (`x.update(...)`).
fn changed_names(stmt: &Stmt) -> Vec<&str> {
    let mut names: Vec<&str> = match stmt {
        Stmt::Assign(a) => a.targets.iter().filter_map(name_of).collect(),
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
    names.sort_unstable();
    names.dedup();
    names
}

/// Whether `stmt` may change `name` (see [`changed_names`]), without allocating.
fn changes(stmt: &Stmt, name: &str) -> bool {
    let is = |e: &Expr| name_of(e) == Some(name);
    match stmt {
        Stmt::Assign(a) => a.targets.iter().any(is),
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

/// Whether `stmt` replaces `name`'s value whatever it was: `name = v`, `name: T = v`,
/// `def name`.
pub(crate) fn rebinds(stmt: &Stmt, name: &str) -> bool {
    match stmt {
        Stmt::Assign(a) => a.targets.iter().any(|t| is_name(t, name)),
        Stmt::AnnAssign(a) => a.value.is_some() && is_name(&a.target, name),
        Stmt::FunctionDef(d) => d.name.as_str() == name,
        _ => false,
    }
}
