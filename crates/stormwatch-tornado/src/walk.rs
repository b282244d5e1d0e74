//! One traversal per file over every node kind (`ruff_python_ast::visitor::Visitor`), keeping
//! the context each call runs in: its enclosing function and class, whether it sits under
//! `if __name__ == "__main__":`, and the innermost condition it depends on. Calls inside
//! lambdas, `match` cases, comprehensions, decorators and default values are all seen.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::source::PyFile;

/// A condition that code runs under, kept as syntax: it is worded only when a finding or a
/// conditional value needs it, not for every block the analysis walks.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// The body of `if <test>:` (or `elif <test>:`).
    If(&'a Expr),
    /// The `else:` of an `if` statement whose first test is this.
    Else(&'a Expr),
    /// One `case` of a `match` statement.
    Case(&'a ast::MatchCase),
    Exception,
    Loop,
}

impl Condition<'_> {
    /// How the condition reads in a message (`os.environ.get("DEBUG")`, `not (debug)`).
    pub fn text(&self, file: &PyFile) -> String {
        match self {
            Condition::If(test) => short(text_of(file, *test)),
            Condition::Else(test) => format!("not ({})", short(text_of(file, *test))),
            Condition::Case(case) => format!("case {}", short(text_of(file, &case.pattern))),
            Condition::Exception => "an exception".into(),
            Condition::Loop => "a loop".into(),
        }
    }
}

pub(crate) fn text_of<'a>(file: &'a PyFile, node: &impl Ranged) -> &'a str {
    let r = node.range();
    &file.text[r.start().to_usize()..r.end().to_usize()]
}

/// Source text on one line, cut at 80 characters.
pub(crate) fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

/// The branches of an `if` statement, each with the condition its body runs under (an `else`
/// reads as the negation of the `if` test).
pub(crate) fn if_branches(s: &ast::StmtIf) -> impl Iterator<Item = (Condition<'_>, &[Stmt])> {
    std::iter::once((Condition::If(&s.test), s.body.as_slice())).chain(
        s.elif_else_clauses.iter().map(|clause| {
            let c = clause
                .test
                .as_ref()
                .map_or(Condition::Else(&s.test), Condition::If);
            (c, clause.body.as_slice())
        }),
    )
}

/// Statements of a scope, including those nested in blocks (not in nested functions or
/// classes), with whether they run only conditionally and under what.
pub(crate) fn for_each_stmt<'a>(
    stmts: &'a [Stmt],
    cond: Option<Condition<'a>>,
    f: &mut dyn FnMut(&'a Stmt, Option<Condition<'a>>),
) {
    for stmt in stmts {
        f(stmt, cond);
        match stmt {
            Stmt::If(s) => {
                for (c, body) in if_branches(s) {
                    for_each_stmt(body, Some(c), f);
                }
            }
            Stmt::With(s) => for_each_stmt(&s.body, cond, f),
            Stmt::Try(s) => {
                for_each_stmt(&s.body, cond, f);
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    for_each_stmt(&h.body, Some(Condition::Exception), f);
                }
                for_each_stmt(&s.orelse, cond, f);
                for_each_stmt(&s.finalbody, cond, f);
            }
            Stmt::For(s) => {
                for_each_stmt(&s.body, Some(Condition::Loop), f);
                for_each_stmt(&s.orelse, cond, f);
            }
            Stmt::While(s) => {
                for_each_stmt(&s.body, Some(Condition::Loop), f);
                for_each_stmt(&s.orelse, cond, f);
            }
            Stmt::Match(m) => {
                for case in &m.cases {
                    for_each_stmt(&case.body, Some(Condition::Case(case)), f);
                }
            }
            _ => {}
        }
    }
}

pub(crate) fn is_name(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Name(n) if n.id.as_str() == name)
}

pub(crate) fn str_lit(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// `if __name__ == "__main__":` (either way round).
pub(crate) fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(c) = test else { return false };
    let is_dunder = |e: &Expr| is_name(e, "__name__");
    let is_main = |e: &Expr| str_lit(e).as_deref() == Some("__main__");
    c.ops.len() == 1
        && matches!(c.ops[0], CmpOp::Eq)
        && ((is_dunder(&c.left) && is_main(&c.comparators[0]))
            || (is_main(&c.left) && is_dunder(&c.comparators[0])))
}

/// Where a call sits.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The enclosing function (its body is where local names are looked up).
    pub function: Option<&'a ast::StmtFunctionDef>,
    /// The innermost class whose body (or a method of which) holds the call.
    pub class: Option<&'a ast::StmtClassDef>,
    pub main_guarded: bool,
    /// The innermost condition other than the `__main__` guard.
    pub condition: Option<Condition<'a>>,
}

/// A call and where it sits.
pub struct RawCall<'a> {
    pub call: &'a ast::ExprCall,
    pub context: Context<'a>,
}

/// What one traversal of a file collects.
#[derive(Default)]
pub struct FileScan<'a> {
    /// Every class definition, wherever it is (nested in functions, `if`, `try`, `match`).
    pub classes: Vec<&'a ast::StmtClassDef>,
    /// Every call, in source order, outermost first.
    pub calls: Vec<RawCall<'a>>,
    /// `<expr>.settings["key"] = value`: settings written after an application is built.
    pub settings_writes: Vec<(&'a ast::StmtAssign, Context<'a>)>,
    /// `<...>options.NAME = value`: candidates for `tornado.options` set in code.
    pub option_writes: Vec<(&'a ast::StmtAssign, Context<'a>)>,
    /// `NAME["key"] = value` inside a function: a module's dict filled in by a setup function.
    pub keyed_writes: Vec<(&'a ast::StmtAssign, Context<'a>)>,
    /// `<...>options[name] = value` with a computed name: options set by `__setitem__`.
    pub option_item_writes: Vec<(&'a ast::StmtAssign, Context<'a>)>,
}

struct Scanner<'a> {
    scan: FileScan<'a>,
    context: Context<'a>,
}

impl<'a> Scanner<'a> {
    fn with<F: FnOnce(&mut Self)>(&mut self, context: Context<'a>, f: F) {
        let saved = std::mem::replace(&mut self.context, context);
        f(self);
        self.context = saved;
    }
}

impl<'a> Visitor<'a> for Scanner<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        let ctx = self.context;
        match stmt {
            Stmt::FunctionDef(f) => {
                for d in &f.decorator_list {
                    self.visit_decorator(d);
                }
                self.visit_parameters(&f.parameters);
                let inner = Context {
                    function: Some(f),
                    ..ctx
                };
                self.with(inner, |v| v.visit_body(&f.body));
            }
            Stmt::ClassDef(c) => {
                self.scan.classes.push(c);
                for d in &c.decorator_list {
                    self.visit_decorator(d);
                }
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                let inner = Context {
                    class: Some(c),
                    function: None,
                    ..ctx
                };
                self.with(inner, |v| v.visit_body(&c.body));
            }
            Stmt::If(s) => {
                self.visit_expr(&s.test);
                for (c, body) in if_branches(s) {
                    let inner = match c {
                        Condition::If(test) if is_main_guard(test) => Context {
                            main_guarded: true,
                            ..ctx
                        },
                        c => Context {
                            condition: Some(c),
                            ..ctx
                        },
                    };
                    self.with(inner, |v| v.visit_body(body));
                }
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                }
            }
            Stmt::Try(s) => {
                self.visit_body(&s.body);
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(t) = &h.type_ {
                        self.visit_expr(t);
                    }
                    let inner = Context {
                        condition: Some(Condition::Exception),
                        ..ctx
                    };
                    self.with(inner, |v| v.visit_body(&h.body));
                }
                self.visit_body(&s.orelse);
                self.visit_body(&s.finalbody);
            }
            Stmt::Match(m) => {
                self.visit_expr(&m.subject);
                for case in &m.cases {
                    if let Some(g) = &case.guard {
                        self.visit_expr(g);
                    }
                    let inner = Context {
                        condition: Some(Condition::Case(case)),
                        ..ctx
                    };
                    self.with(inner, |v| v.visit_body(&case.body));
                }
            }
            Stmt::Assign(a) => {
                let writes_settings = a.targets.iter().any(|t| {
                    matches!(t, Expr::Subscript(s) if matches!(&*s.value,
                        Expr::Attribute(x) if x.attr.as_str() == "settings"))
                });
                if writes_settings {
                    self.scan.settings_writes.push((a, ctx));
                }
                let keyed = ctx.function.is_some()
                    && a.targets.iter().any(|t| {
                        matches!(t, Expr::Subscript(s) if matches!(&*s.value, Expr::Name(_))
                            && str_lit(&s.slice).is_some())
                    });
                if keyed {
                    self.scan.keyed_writes.push((a, ctx));
                }
                let option_item = a.targets.iter().any(|t| {
                    matches!(t, Expr::Subscript(s) if str_lit(&s.slice).is_none()
                    && match &*s.value {
                        Expr::Name(n) => n.id.as_str() == "options",
                        Expr::Attribute(o) => o.attr.as_str() == "options",
                        _ => false,
                    })
                });
                if option_item {
                    self.scan.option_item_writes.push((a, ctx));
                }
                let writes_option = a.targets.iter().any(|t| {
                    matches!(t, Expr::Attribute(x) if match &*x.value {
                        Expr::Name(n) => n.id.as_str() == "options",
                        Expr::Attribute(o) => o.attr.as_str() == "options",
                        _ => false,
                    })
                });
                if writes_option {
                    self.scan.option_writes.push((a, ctx));
                }
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            self.scan.calls.push(RawCall {
                call,
                context: self.context,
            });
        }
        visitor::walk_expr(self, expr);
    }
}

/// Scans a module body once.
pub fn scan(body: &[Stmt]) -> FileScan<'_> {
    let mut s = Scanner {
        scan: FileScan::default(),
        context: Context {
            function: None,
            class: None,
            main_guarded: false,
            condition: None,
        },
    };
    s.visit_body(body);
    s.scan
}

/// Every call anywhere in a body (nested functions, lambdas and comprehensions included).
pub(crate) fn calls_in<'a>(body: &'a [Stmt], f: &mut dyn FnMut(&'a ast::ExprCall)) {
    for c in scan(body).calls {
        f(c.call);
    }
}

/// Every string literal in a body.
pub(crate) fn string_literals(body: &[Stmt], f: &mut dyn FnMut(&str)) {
    struct V<'f>(&'f mut dyn FnMut(&str));
    impl<'a> Visitor<'a> for V<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::StringLiteral(s) = expr {
                (self.0)(s.value.to_str());
            }
            visitor::walk_expr(self, expr);
        }
    }
    V(f).visit_body(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(src: &str) -> Vec<(String, bool, Option<String>, Option<String>)> {
        let module = ruff_python_parser::parse_module(src).unwrap().into_syntax();
        let scan = scan(&module.body);
        scan.calls
            .iter()
            .map(|c| {
                let r = c.call.func.range();
                let cond = c.context.condition.map(|k| match k {
                    Condition::If(e) | Condition::Else(e) => {
                        src[e.range().start().to_usize()..e.range().end().to_usize()].to_string()
                    }
                    Condition::Case(_) => "case".into(),
                    Condition::Exception => "except".into(),
                    Condition::Loop => "loop".into(),
                });
                (
                    src[r.start().to_usize()..r.end().to_usize()].to_string(),
                    c.context.main_guarded,
                    cond,
                    c.context.function.map(|f| f.name.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn lambda_match_and_comprehension_calls_are_seen() {
        let src = "make = lambda: Application(debug=True)\n\
                   match mode:\n    case 'dev':\n        Application(debug=True)\n\
                   apps = [Application(x) for x in y]\n";
        let found = calls(src);
        let names: Vec<&str> = found.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["Application", "Application", "Application"]);
        assert_eq!(found[1].2.as_deref(), Some("case"));
        assert_eq!(found[0].2, None);
    }

    #[test]
    fn context_of_calls() {
        let src = "def main():\n    if DEBUG:\n        start()\n    else:\n        stop()\n\
                   if __name__ == '__main__':\n    main()\n\
                   try:\n    a()\nexcept E:\n    b()\n";
        let found = calls(src);
        assert_eq!(found[0].0, "start");
        assert_eq!(found[0].2.as_deref(), Some("DEBUG"));
        assert_eq!(found[0].3.as_deref(), Some("main"));
        assert_eq!(found[1].0, "stop");
        assert_eq!(found[2], ("main".into(), true, None, None));
        assert_eq!(found[3].2, None);
        assert_eq!(found[4].2.as_deref(), Some("except"));
    }

    #[test]
    fn classes_anywhere() {
        let src = "if X:\n    class A: pass\ndef f():\n    class B(A): pass\n\
                   match m:\n    case 1:\n        class C: pass\n";
        let module = ruff_python_parser::parse_module(src).unwrap().into_syntax();
        let names: Vec<String> = scan(&module.body)
            .classes
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, ["A", "B", "C"]);
    }
}
