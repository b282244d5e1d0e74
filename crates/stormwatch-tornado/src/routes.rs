//! Route tables: the handlers an application sends requests to, read from the evaluated value
//! of its `handlers` argument. A table is read as far as it can be: the entries that name a
//! handler are routes, and every part that cannot be read (a list spliced in from code the
//! analysis cannot follow, an entry that is not a route) is kept with where it is, so that a
//! rule can judge from what is known and say what is not.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::engine::{FileId, Project};
use crate::source::PyFile;
use crate::value::{Step, Tracked, Val};
use crate::walk::short;

/// A route of an application: the handler class it sends requests to.
#[derive(Debug, Clone)]
pub struct Route {
    /// The handler's dotted name (`app.handlers.LoginHandler`).
    pub handler: String,
    pub step: Step,
}

/// What an application's route table is known to hold.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    /// The parts that could not be followed, each where it is in the code.
    pub unfollowed: Vec<Step>,
}

impl RouteTable {
    /// A table nothing is known of, for the reason `note`, at `step`.
    pub fn unknown(mut step: Step, note: &str) -> Self {
        step.note = note.to_string();
        RouteTable {
            routes: Vec::new(),
            unfollowed: vec![step],
        }
    }

    pub fn extend(&mut self, other: RouteTable) {
        self.routes.extend(other.routes);
        self.unfollowed.extend(other.unfollowed);
    }
}

/// The note of a route whose handler could not be followed (a class made by a factory
/// function, an attribute of an object).
pub const UNKNOWN_HANDLER: &str = "a route whose handler is not followed";

/// The note a list gets for a part spliced into it that the analysis cannot read
/// (`[*other]`, `a + other`, `a.extend(other)`): a list element standing for zero or more
/// unknown elements.
pub(crate) const SPLICED: &str = "spliced in, not followed";

/// A list element standing for the unknown elements `expr` adds to a list.
pub(crate) fn spliced(step: Step) -> Tracked {
    Tracked::new(Val::Opaque(SPLICED.into()), step)
}

/// Whether a list element stands for unknown spliced elements rather than one element.
pub(crate) fn is_spliced(t: &Tracked) -> bool {
    matches!(&t.val, Val::Opaque(r) if r == SPLICED)
}

impl<'a> Project<'a> {
    /// The routes of a route table value. `at` is where the table is used, for the parts
    /// whose own place is not recorded.
    pub(crate) fn routes_of(&self, table: &Tracked, at: &Step) -> RouteTable {
        let mut out = RouteTable::default();
        self.table_into(table, at, &mut out, 0);
        out
    }

    /// A list element standing for what the code `e` splices into a list.
    pub(crate) fn spliced_from(&self, file: FileId, e: &Expr) -> Tracked {
        spliced(self.step(file, e, short(self.text(file, e))))
    }

    /// `left + right` as lists: both lists, or a list and a part the analysis cannot read
    /// (spliced in where it stands).
    pub(crate) fn list_sum(
        &self,
        file: FileId,
        b: &ast::ExprBinOp,
        left: Val,
        right: Val,
    ) -> Option<Vec<Tracked>> {
        let unknown = |v: &Val| matches!(v, Val::Unknown | Val::Opaque(_));
        match (left, right) {
            (Val::List(mut a), Val::List(b2)) => {
                a.extend(b2);
                Some(a)
            }
            (Val::List(mut a), r) if unknown(&r) => {
                a.push(self.spliced_from(file, &b.right));
                Some(a)
            }
            (l, Val::List(b2)) if unknown(&l) => {
                let mut a = vec![self.spliced_from(file, &b.left)];
                a.extend(b2);
                Some(a)
            }
            _ => None,
        }
    }

    /// `name.append(...)`/`.extend(...)`/`+= ...`: the list with `items` added.
    pub(crate) fn extend_list(
        &self,
        file: FileId,
        current: Option<Tracked>,
        items: Vec<Tracked>,
        stmt: &Stmt,
        name: &str,
    ) -> Tracked {
        let step = self.step(file, stmt, format!("{name} extended"));
        match current.map(|c| c.val) {
            Some(Val::List(mut list)) => {
                list.extend(items);
                Tracked::new(Val::List(list), step)
            }
            // A list the analysis cannot read, extended: what it held, then the new items.
            None | Some(Val::Unknown | Val::Opaque(_)) => {
                let mut list = vec![spliced(self.step(file, stmt, name.to_string()))];
                list.extend(items);
                Tracked::new(Val::List(list), step)
            }
            _ => Tracked::unknown(),
        }
    }

    fn table_into(&self, table: &Tracked, at: &Step, out: &mut RouteTable, depth: usize) {
        match &table.val {
            Val::List(entries) => {
                for entry in entries {
                    entry_into(entry, at, out);
                }
            }
            // Routes chosen by a condition: either branch may be the one served.
            Val::Cond {
                condition,
                then,
                orelse,
            } if depth < 8 => {
                let mut when = at.clone();
                when.note = format!("{} if {condition}", at.note);
                self.table_into(then, &when, out, depth + 1);
                when.note = format!("{} unless {condition}", at.note);
                self.table_into(orelse, &when, out, depth + 1);
            }
            Val::Env { unset, .. } if depth < 8 => self.table_into(unset, at, out, depth + 1),
            // `at` names the table by its code.
            _ => out.unfollowed.push(at.clone()),
        }
    }
}

fn entry_into(entry: &Tracked, at: &Step, out: &mut RouteTable) {
    if is_spliced(entry) {
        // Its step names the spliced code.
        out.unfollowed.extend(entry.chain.first().cloned());
        return;
    }
    let unknown = || {
        let mut step = entry.chain.first().unwrap_or(at).clone();
        if entry.chain.is_empty() {
            step.note = format!("an entry of {}", step.note);
        }
        step
    };
    let Val::List(parts) = &entry.val else {
        out.unfollowed.push(unknown());
        return;
    };
    let route = |handler: &str| {
        let mut step = entry.chain.last().unwrap_or(at).clone();
        step.note = format!("route to {}", handler.rsplit('.').next().unwrap_or(handler));
        Route {
            handler: handler.to_string(),
            step,
        }
    };
    match parts.get(1).map(|p| &p.val) {
        Some(Val::Ref(q)) => out.routes.push(route(q)),
        // Tornado imports a handler named by a string (`"pkg.handlers.Main"`).
        Some(Val::Str(s)) if s.contains('.') => out.routes.push(route(s)),
        // A nested router or application: its own routes are judged on their own.
        Some(Val::List(_)) => {}
        _ => {
            let mut step = entry.chain.first().unwrap_or(at).clone();
            step.note = UNKNOWN_HANDLER.into();
            out.unfollowed.push(step);
        }
    }
}

/// The name or attribute each call's value is assigned to (`app = Application(...)`,
/// `self.app = Application(...)`), by one walk over the file.
pub(crate) fn bound_names(file: &PyFile, calls: &[&ast::ExprCall]) -> Vec<Option<String>> {
    struct V<'c> {
        calls: &'c [&'c ast::ExprCall],
        out: Vec<Option<(usize, usize)>>,
    }
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            let found = match stmt {
                Stmt::Assign(a) if a.targets.len() == 1 => Some((&a.targets[0], &*a.value)),
                Stmt::AnnAssign(a) => a.value.as_deref().map(|v| (&*a.target, v)),
                _ => None,
            };
            if let Some((target, Expr::Call(call))) = found {
                if let Some(i) = self.calls.iter().position(|c| c.range() == call.range()) {
                    self.out[i] = Some((
                        target.range().start().to_usize(),
                        target.range().end().to_usize(),
                    ));
                }
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    let mut v = V {
        calls,
        out: vec![None; calls.len()],
    };
    if !calls.is_empty() {
        v.visit_body(&file.ast.body);
    }
    v.out
        .into_iter()
        .map(|r| r.and_then(|(a, b)| file.text.get(a..b).map(str::to_string)))
        .collect()
}
