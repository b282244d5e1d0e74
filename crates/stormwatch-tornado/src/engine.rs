//! Following settings to `tornado.web.Application`.
//!
//! The engine resolves imports (any alias of `tornado.web.Application`, subclasses calling
//! `super().__init__`), evaluates setting values (literals, module constants, dicts built with
//! literals, `dict(...)`, `d[k] = v` and `d.update(...)`, `**settings`, names imported from
//! other modules of the repository, `os.environ.get`/`os.getenv` with defaults, comparisons
//! and conditionals on them, and `tornado.options` values from `define(default=...)` and the
//! Python config files passed to `parse_config_file`), and keeps every step in a chain.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::source::PyFile;
use crate::value::{literal_eq, EnvTest, Step, Tracked, Truth, Val};

const APPLICATION: &str = "tornado.web.Application";
const MAX_DEPTH: usize = 24;

/// One place where settings reach an `Application`.
pub struct AppSite {
    pub file: usize,
    pub line: usize,
    pub column: usize,
    /// Every setting passed, by name, with its evaluated value.
    pub settings: Vec<(String, Tracked)>,
}

/// Any other call, for the rules that look at calls (`tornado.autoreload.start()`,
/// `self.set_cookie(...)`, `logging.basicConfig(...)`).
pub struct CallSite<'a> {
    pub file: usize,
    pub line: usize,
    pub column: usize,
    /// The dotted name of the callee (`tornado.autoreload.start`, `self.set_cookie`).
    pub qualified: String,
    /// Whether the call sits under `if __name__ == "__main__":`.
    pub main_guarded: bool,
    /// The innermost condition the call runs under (an `if` test, an exception handler),
    /// other than the `__main__` guard.
    pub condition: Option<Condition<'a>>,
    pub call: &'a ast::ExprCall,
    /// The body of the enclosing function, for evaluating arguments.
    pub function: Option<&'a [Stmt]>,
}

/// A class of the repository with its resolved base classes.
pub struct ClassInfo<'a> {
    pub file: usize,
    pub qualified: String,
    pub bases: Vec<String>,
    pub def: &'a ast::StmtClassDef,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsCall {
    Define,
    ParseCommandLine,
    ParseConfigFile,
}

pub struct Project<'a> {
    pub files: &'a [PyFile],
    classes: Vec<ClassInfo<'a>>,
    index: HashMap<String, usize>,
    imports: Vec<HashMap<String, String>>,
    /// Names of each file's top-level classes and functions, so that resolving a name is a
    /// lookup rather than a scan of the module for every call expression.
    top_level: Vec<std::collections::HashSet<String>>,
    app_classes: std::collections::HashSet<String>,
    options: HashMap<String, Tracked>,
    pub command_line_options: bool,
}

fn text_of<'a>(file: &'a PyFile, node: &impl Ranged) -> &'a str {
    let r = node.range();
    &file.text[r.start().to_usize()..r.end().to_usize()]
}

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 80 {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    } else {
        one_line
    }
}

pub(crate) fn str_lit(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// A condition that code runs under, kept as syntax: it is worded only when a finding or a
/// conditional value needs it, not for every block the analysis walks.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// The body of `if <test>:` (or `elif <test>:`).
    If(&'a Expr),
    /// The `else:` of an `if` statement whose first test is this.
    Else(&'a Expr),
    Exception,
    Loop,
}

impl Condition<'_> {
    /// How the condition reads in a message (`os.environ.get("DEBUG")`, `not (debug)`).
    pub fn text(&self, file: &PyFile) -> String {
        match self {
            Condition::If(test) => short(text_of(file, *test)),
            Condition::Else(test) => format!("not ({})", short(text_of(file, *test))),
            Condition::Exception => "an exception".into(),
            Condition::Loop => "a loop".into(),
        }
    }
}

/// The branches of an `if` statement, each with the condition its body runs under (an `else`
/// reads as the negation of the `if` test).
fn if_branches(s: &ast::StmtIf) -> impl Iterator<Item = (Condition<'_>, &[Stmt])> {
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

/// Statements nested in blocks, with whether they run only conditionally and under what.
fn for_each_stmt<'a>(
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
            Stmt::For(s) => for_each_stmt(&s.body, Some(Condition::Loop), f),
            Stmt::While(s) => for_each_stmt(&s.body, Some(Condition::Loop), f),
            _ => {}
        }
    }
}

impl<'a> Project<'a> {
    pub fn new(files: &'a [PyFile]) -> Self {
        let index = crate::source::module_index(files);
        // Per-file passes run on every core; cross-file passes below read their results.
        let imports = files.par_iter().map(collect_imports).collect();
        let top_level = files
            .par_iter()
            .map(|f| {
                f.ast
                    .body
                    .iter()
                    .filter_map(|s| match s {
                        Stmt::ClassDef(c) => Some(c.name.to_string()),
                        Stmt::FunctionDef(d) => Some(d.name.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let mut p = Project {
            files,
            classes: Vec::new(),
            index,
            imports,
            top_level,
            app_classes: Default::default(),
            options: HashMap::new(),
            command_line_options: false,
        };
        p.collect_classes();
        p.find_app_classes();
        p.collect_options();
        p
    }

    fn collect_classes(&mut self) {
        let per_file: Vec<Vec<ClassInfo<'a>>> = self
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let mut classes = Vec::new();
                visit_classes(&f.ast.body, &mut |c| {
                    let bases = c
                        .arguments
                        .as_ref()
                        .map(|a| a.args.iter().filter_map(|b| self.qualify(i, b)).collect())
                        .unwrap_or_default();
                    classes.push(ClassInfo {
                        file: i,
                        qualified: format!("{}.{}", f.module, c.name.as_str()),
                        bases,
                        def: c,
                    });
                });
                classes
            })
            .collect();
        self.classes = per_file.into_iter().flatten().collect();
    }

    /// Classes that derive, directly or through classes of the repository, from `base`.
    /// One breadth-first walk over a parent -> children index: linear in the number of
    /// classes, whatever the depth of the hierarchy.
    pub fn subclasses_of(&self, base: &str) -> Vec<&ClassInfo<'a>> {
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, c) in self.classes.iter().enumerate() {
            for b in &c.bases {
                children.entry(b.as_str()).or_default().push(i);
            }
        }
        let mut seen = vec![false; self.classes.len()];
        let mut queue: Vec<&str> = vec![base];
        let mut out = Vec::new();
        while let Some(name) = queue.pop() {
            for &i in children.get(name).map(Vec::as_slice).unwrap_or(&[]) {
                if !seen[i] {
                    seen[i] = true;
                    out.push(i);
                    queue.push(self.classes[i].qualified.as_str());
                }
            }
        }
        out.sort_unstable();
        out.into_iter().map(|i| &self.classes[i]).collect()
    }

    /// Whether `name` is a `tornado.options` option defined somewhere in the repository.
    pub fn defines_option(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }

    /// The source text of a node.
    pub fn text(&self, file: usize, node: &impl Ranged) -> &str {
        text_of(&self.files[file], node)
    }

    /// 1-based line and column of a node.
    pub fn position(&self, file: usize, node: &impl Ranged) -> (usize, usize) {
        self.files[file].position(node.range().start().to_usize())
    }

    fn step(&self, file: usize, node: &impl Ranged, note: impl Into<String>) -> Step {
        let f = &self.files[file];
        let (line, column) = f.position(node.range().start().to_usize());
        Step {
            file: f.path.clone(),
            line,
            column,
            note: note.into(),
        }
    }

    /// The dotted name an expression refers to (`tw.Application` -> `tornado.web.Application`).
    pub fn qualify(&self, file: usize, e: &Expr) -> Option<String> {
        match e {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(q) = self.imports[file].get(id) {
                    return Some(q.clone());
                }
                let module = &self.files[file].module;
                if self.top_level[file].contains(id) {
                    Some(format!("{module}.{id}"))
                } else {
                    Some(id.to_string())
                }
            }
            Expr::Attribute(a) => Some(format!(
                "{}.{}",
                self.qualify(file, &a.value)?,
                a.attr.as_str()
            )),
            // `logging.getLogger("x").setLevel` -> `logging.getLogger().setLevel`.
            Expr::Call(c) => Some(format!("{}()", self.qualify(file, &c.func)?)),
            _ => None,
        }
    }

    fn find_app_classes(&mut self) {
        self.app_classes = self
            .subclasses_of(APPLICATION)
            .into_iter()
            .map(|c| c.qualified.clone())
            .collect();
    }

    fn is_options_call(&self, file: usize, func: &Expr, name: &str) -> bool {
        // Most calls end in another name: rule them out before building qualified names.
        let last = match func {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.as_str(),
            _ => return false,
        };
        last == name
            && self.qualify(file, func).is_some_and(|q| {
                q.strip_suffix(name)
                    .is_some_and(|p| p == "tornado.options." || p == "tornado.options.options.")
            })
    }

    /// `define(name, default=...)` across the repository, then the module-level assignments
    /// of every Python config file read with `parse_config_file("...")`.
    fn collect_options(&mut self) {
        // Finding the calls visits every expression of the project, in parallel; evaluating
        // them stays sequential, in file order, as later definitions replace earlier ones.
        let per_file: Vec<Vec<(usize, &'a ast::ExprCall, OptionsCall)>> = self
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let mut found = Vec::new();
                visit_calls(&f.ast.body, &mut |call, _| {
                    let kind = if self.is_options_call(i, &call.func, "define") {
                        OptionsCall::Define
                    } else if self.is_options_call(i, &call.func, "parse_command_line") {
                        OptionsCall::ParseCommandLine
                    } else if self.is_options_call(i, &call.func, "parse_config_file") {
                        OptionsCall::ParseConfigFile
                    } else {
                        return;
                    };
                    found.push((i, call, kind));
                });
                found
            })
            .collect();
        let mut config_files = Vec::new();
        for (i, call, kind) in per_file.into_iter().flatten() {
            if kind == OptionsCall::Define {
                let Some(name) = call.arguments.args.first().and_then(str_lit) else {
                    continue;
                };
                let default = call
                    .arguments
                    .keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "default"))
                    .map(|k| &k.value)
                    .or_else(|| call.arguments.args.get(1));
                let step = self.step(i, call, format!("define(\"{name}\", ...)"));
                let value = match default {
                    Some(d) => self.eval(i, d, None, usize::MAX, 0).via(step),
                    None => Tracked::new(Val::None, step),
                };
                self.options.insert(name, value);
            } else if kind == OptionsCall::ParseCommandLine {
                self.command_line_options = true;
            } else if let Some(path) = call.arguments.args.first().and_then(str_lit) {
                config_files.push((i, path, self.step(i, call, "parse_config_file")));
            }
        }
        for (from, path, step) in config_files {
            let Some(target) = self.resolve_config_path(from, &path) else {
                continue;
            };
            let names: Vec<String> = self.options.keys().cloned().collect();
            for name in names {
                let value = self.module_binding(target, &name, 0);
                if !matches!(value.val, Val::Unknown) {
                    // The config file's assignment is where the value is set; reading it
                    // with parse_config_file is the next step.
                    let note = format!("read by parse_config_file for options.{name}");
                    let read = Step {
                        note,
                        ..step.clone()
                    };
                    self.options.insert(name, value.via(read));
                }
            }
        }
    }

    fn resolve_config_path(&self, from: usize, path: &str) -> Option<usize> {
        let base = self.files[from].path.parent().unwrap_or(Path::new("."));
        let wanted = [base.join(path), Path::new(path).to_path_buf()];
        self.files.iter().position(|f| {
            wanted.iter().any(|w| {
                f.path == *w
                    || (w.is_relative() && f.path.ends_with(w.strip_prefix(".").unwrap_or(w)))
            })
        })
    }

    /// Every settings site and every other call in the project.
    pub fn sites(&self) -> (Vec<AppSite>, Vec<CallSite<'a>>) {
        let per_file: Vec<(Vec<AppSite>, Vec<CallSite<'a>>)> = self
            .files
            .par_iter()
            .enumerate()
            .map(|(i, f)| {
                let (mut apps, mut calls) = (Vec::new(), Vec::new());
                self.walk_scope(
                    i,
                    &f.ast.body,
                    None,
                    None,
                    (false, None),
                    &mut apps,
                    &mut calls,
                );
                (apps, calls)
            })
            .collect();
        let mut apps = Vec::new();
        let mut calls = Vec::new();
        for (a, c) in per_file {
            apps.extend(a);
            calls.extend(c);
        }
        (apps, calls)
    }

    #[allow(clippy::too_many_arguments)]
    fn walk_scope(
        &self,
        file: usize,
        stmts: &'a [Stmt],
        function: Option<&'a [Stmt]>,
        class: Option<&str>,
        guard: (bool, Option<Condition<'a>>),
        apps: &mut Vec<AppSite>,
        calls: &mut Vec<CallSite<'a>>,
    ) {
        let (main_guarded, condition) = guard;
        for stmt in stmts {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.walk_scope(file, &f.body, Some(&f.body), class, guard, apps, calls);
                    continue;
                }
                Stmt::ClassDef(c) => {
                    let qual = format!("{}.{}", self.files[file].module, c.name.as_str());
                    let app_class = self.app_classes.contains(&qual);
                    self.walk_scope(
                        file,
                        &c.body,
                        None,
                        app_class.then_some(qual.as_str()),
                        guard,
                        apps,
                        calls,
                    );
                    continue;
                }
                Stmt::If(s) => {
                    self.calls_in_expr(file, &s.test, function, class, guard, apps, calls);
                    for (c, body) in if_branches(s) {
                        let inner = match c {
                            Condition::If(test) if is_main_guard(test) => (true, condition),
                            c => (main_guarded, Some(c)),
                        };
                        self.walk_scope(file, body, function, class, inner, apps, calls);
                    }
                    continue;
                }
                Stmt::With(s) => {
                    self.walk_scope(file, &s.body, function, class, guard, apps, calls);
                    continue;
                }
                Stmt::Try(s) => {
                    self.walk_scope(file, &s.body, function, class, guard, apps, calls);
                    for h in &s.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        let inner = (main_guarded, Some(Condition::Exception));
                        self.walk_scope(file, &h.body, function, class, inner, apps, calls);
                    }
                    self.walk_scope(file, &s.orelse, function, class, guard, apps, calls);
                    self.walk_scope(file, &s.finalbody, function, class, guard, apps, calls);
                    continue;
                }
                Stmt::For(s) => {
                    self.walk_scope(file, &s.body, function, class, guard, apps, calls);
                    continue;
                }
                Stmt::While(s) => {
                    self.walk_scope(file, &s.body, function, class, guard, apps, calls);
                    continue;
                }
                _ => {}
            }
            visit_stmt_exprs(stmt, &mut |e| {
                self.calls_in_expr(file, e, function, class, guard, apps, calls)
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn calls_in_expr(
        &self,
        file: usize,
        expr: &'a Expr,
        function: Option<&'a [Stmt]>,
        class: Option<&str>,
        guard: (bool, Option<Condition<'a>>),
        apps: &mut Vec<AppSite>,
        calls: &mut Vec<CallSite<'a>>,
    ) {
        let (main_guarded, condition) = guard;
        visit_expr_calls(expr, &mut |call| {
            let qual = self.qualify(file, &call.func).unwrap_or_default();
            let is_super_init = class.is_some()
                && matches!(&*call.func, Expr::Attribute(a) if a.attr.as_str() == "__init__"
                    && (matches!(&*a.value, Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "super"))
                        || self.qualify(file, &a.value).is_some_and(|q| q == APPLICATION)));
            let (line, column) = self.files[file].position(call.range().start().to_usize());
            if qual == APPLICATION || is_super_init {
                let at = call.range().start().to_usize();
                let site_step = self.step(file, call, "passed to Application(...)");
                let mut settings = Vec::new();
                for kw in call.arguments.keywords.iter() {
                    let value = self.eval(file, &kw.value, function, at, 0);
                    match &kw.arg {
                        Some(name) => {
                            settings.push((name.as_str().to_string(), value.via(site_step.clone())))
                        }
                        None => {
                            if let Val::Dict(items) = value.val {
                                for (k, v) in items {
                                    let spread = self.step(file, kw, "unpacked with **");
                                    settings.push((k, v.via(spread).via(site_step.clone())));
                                }
                            }
                        }
                    }
                }
                apps.push(AppSite {
                    file,
                    line,
                    column,
                    settings,
                });
            } else if !qual.is_empty() {
                calls.push(CallSite {
                    file,
                    line,
                    column,
                    qualified: qual,
                    main_guarded,
                    condition,
                    call,
                    function,
                });
            }
        });
    }

    /// Evaluates `e` as seen at byte offset `at` of `file`, inside `function` if given.
    pub fn eval(
        &self,
        file: usize,
        e: &Expr,
        function: Option<&[Stmt]>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        if depth > MAX_DEPTH {
            return Tracked::unknown();
        }
        let f = &self.files[file];
        let here = |note: &str| self.step(file, e, note.to_string());
        match e {
            Expr::BooleanLiteral(b) => {
                Tracked::new(Val::Bool(b.value), here(&short(text_of(f, e))))
            }
            Expr::StringLiteral(s) => Tracked::new(
                Val::Str(s.value.to_str().to_string()),
                here(&short(text_of(f, e))),
            ),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => Tracked::new(
                    i.as_i64().map_or(Val::Unknown, Val::Int),
                    here(&short(text_of(f, e))),
                ),
                _ => Tracked::unknown(),
            },
            Expr::NoneLiteral(_) => Tracked::new(Val::None, here("None")),
            Expr::Dict(d) => {
                let mut items = Vec::new();
                for item in &d.items {
                    match &item.key {
                        Some(k) => {
                            if let Some(key) = str_lit(k) {
                                let v = self.eval(file, &item.value, function, at, depth + 1);
                                items.push((key, v));
                            }
                        }
                        None => {
                            if let Val::Dict(inner) =
                                self.eval(file, &item.value, function, at, depth + 1).val
                            {
                                merge(&mut items, inner);
                            }
                        }
                    }
                }
                Tracked::new(Val::Dict(items), here("dict"))
            }
            Expr::Name(n) => self.lookup(file, n.id.as_str(), function, at, depth + 1),
            Expr::Attribute(a) => {
                let qual = self.qualify(file, &a.value);
                if qual.as_deref() == Some("tornado.options.options") {
                    if let Some(v) = self.options.get(a.attr.as_str()) {
                        return v.clone().via(here(&format!("options.{}", a.attr.as_str())));
                    }
                    return Tracked::unknown();
                }
                // `module.NAME` for a module of this repository.
                if let Some(q) = qual {
                    if let Some(&target) = self.index.get(&q) {
                        return self
                            .module_binding(target, a.attr.as_str(), depth + 1)
                            .via(here(&short(text_of(f, e))));
                    }
                }
                Tracked::unknown()
            }
            Expr::Call(call) => self.eval_call(file, e, call, function, at, depth),
            Expr::Compare(c) => self.eval_compare(file, e, c, function, at, depth),
            Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
                let inner = self.eval(file, &u.operand, function, at, depth + 1);
                let step = here(&short(text_of(f, e)));
                negate(inner, step)
            }
            Expr::If(i) => {
                let test = self.eval(file, &i.test, function, at, depth + 1);
                let body = self.eval(file, &i.body, function, at, depth + 1);
                let orelse = self.eval(file, &i.orelse, function, at, depth + 1);
                let step = here(&short(text_of(f, e)));
                let env_test = match &test.val {
                    Val::Env { test: t, .. } => Some(t.clone()),
                    _ => None,
                };
                match test.truth() {
                    Truth::True => body.via(step),
                    Truth::False => orelse.via(step),
                    Truth::Env {
                        var,
                        when_unset,
                        condition,
                    } => Tracked::new(
                        Val::Env {
                            var,
                            test: EnvTest::Select {
                                inner: Box::new(env_test.unwrap_or(EnvTest::Raw)),
                                then: Box::new(body.val.clone()),
                                orelse: Box::new(orelse.val.clone()),
                            },
                            unset: Box::new(if when_unset { body } else { orelse }),
                            condition,
                        },
                        step,
                    ),
                    _ => Tracked::new(
                        Val::Cond {
                            condition: short(text_of(f, &*i.test)),
                            then: Box::new(body),
                            orelse: Box::new(orelse),
                        },
                        step,
                    ),
                }
            }
            Expr::BoolOp(b) => {
                // `x or y` / `x and y`, decided left to right when truthiness is known.
                let is_or = matches!(b.op, ast::BoolOp::Or);
                let mut last = Tracked::unknown();
                for v in &b.values {
                    let t = self.eval(file, v, function, at, depth + 1);
                    match (t.truth(), is_or) {
                        (Truth::True, true) | (Truth::False, false) => return t,
                        (Truth::False, true) | (Truth::True, false) => last = t,
                        _ => {
                            return Tracked::new(
                                Val::Cond {
                                    condition: short(text_of(f, e)),
                                    then: Box::new(Tracked::new(Val::Bool(true), here("True"))),
                                    orelse: Box::new(Tracked::new(Val::Bool(false), here("False"))),
                                },
                                here(&short(text_of(f, e))),
                            )
                        }
                    }
                }
                last
            }
            _ => Tracked::unknown(),
        }
    }

    fn eval_call(
        &self,
        file: usize,
        e: &Expr,
        call: &ast::ExprCall,
        function: Option<&[Stmt]>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let here = self.step(file, e, short(text_of(f, e)));
        let qual = self.qualify(file, &call.func).unwrap_or_default();
        let args = &call.arguments;
        match qual.as_str() {
            "os.environ.get" | "os.getenv" => {
                let Some(var) = args.args.first().and_then(str_lit) else {
                    return Tracked::unknown();
                };
                let unset = match args.args.get(1) {
                    Some(d) => self.eval(file, d, function, at, depth + 1),
                    None => Tracked::new(Val::None, here.clone()),
                };
                return Tracked::new(
                    Val::Env {
                        var,
                        unset: Box::new(unset),
                        condition: short(text_of(f, e)),
                        test: EnvTest::Raw,
                    },
                    here,
                );
            }
            "dict" => {
                let mut items = Vec::new();
                if let Some(first) = args.args.first() {
                    if let Val::Dict(inner) = self.eval(file, first, function, at, depth + 1).val {
                        items = inner;
                    }
                }
                for kw in args.keywords.iter() {
                    let v = self.eval(file, &kw.value, function, at, depth + 1);
                    match &kw.arg {
                        Some(k) => merge(&mut items, vec![(k.as_str().to_string(), v)]),
                        None => {
                            if let Val::Dict(inner) = v.val {
                                merge(&mut items, inner);
                            }
                        }
                    }
                }
                return Tracked::new(Val::Dict(items), here);
            }
            "bool" => {
                if let Some(a) = args.args.first() {
                    let v = self.eval(file, a, function, at, depth + 1);
                    let known = match v.truth() {
                        Truth::True => Some(true),
                        Truth::False => Some(false),
                        _ => None,
                    };
                    return match known {
                        Some(b) => Tracked {
                            val: Val::Bool(b),
                            chain: v.chain,
                        }
                        .via(here),
                        None => v.via(here),
                    };
                }
            }
            _ => {}
        }
        // String methods on a value keep environment dependence: `os.getenv("X", "0").lower()`.
        if let Expr::Attribute(a) = &*call.func {
            if matches!(a.attr.as_str(), "lower" | "upper" | "strip" | "casefold") {
                let inner = self.eval(file, &a.value, function, at, depth + 1);
                return map_str(inner, a.attr.as_str()).via(here);
            }
        }
        Tracked::unknown()
    }

    fn eval_compare(
        &self,
        file: usize,
        e: &Expr,
        c: &ast::ExprCompare,
        function: Option<&[Stmt]>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let here = self.step(file, e, short(text_of(f, e)));
        if c.ops.len() != 1 {
            return Tracked::unknown();
        }
        let left = self.eval(file, &c.left, function, at, depth + 1);
        let right_expr = &c.comparators[0];
        let op = c.ops[0];
        let rights: Vec<Val> = match right_expr {
            Expr::Tuple(t) => t
                .elts
                .iter()
                .map(|x| self.eval(file, x, function, at, depth + 1).val)
                .collect(),
            Expr::List(l) => l
                .elts
                .iter()
                .map(|x| self.eval(file, x, function, at, depth + 1).val)
                .collect(),
            Expr::Set(s) => s
                .elts
                .iter()
                .map(|x| self.eval(file, x, function, at, depth + 1).val)
                .collect(),
            other => vec![self.eval(file, other, function, at, depth + 1).val],
        };
        let decide = |v: &Val| -> Option<bool> {
            let eq = |r: &Val| literal_eq(v, r);
            match op {
                CmpOp::Eq => eq(&rights[0]),
                CmpOp::NotEq => eq(&rights[0]).map(|b| !b),
                CmpOp::In => rights
                    .iter()
                    .map(eq)
                    .try_fold(false, |acc, x| x.map(|x| acc || x)),
                CmpOp::NotIn => rights
                    .iter()
                    .map(eq)
                    .try_fold(false, |acc, x| x.map(|x| acc || x))
                    .map(|b| !b),
                _ => None,
            }
        };
        let negated = matches!(op, CmpOp::NotEq | CmpOp::NotIn);
        match &left.val {
            Val::Env {
                var, unset, test, ..
            } if matches!(op, CmpOp::Eq | CmpOp::NotEq | CmpOp::In | CmpOp::NotIn) => {
                match decide(&unset.val) {
                    Some(b) => Tracked {
                        val: Val::Env {
                            var: var.clone(),
                            unset: Box::new(Tracked::new(Val::Bool(b), here.clone())),
                            condition: short(text_of(f, e)),
                            test: EnvTest::Cmp {
                                negate: negated,
                                values: rights.clone(),
                                inner: Box::new(test.clone()),
                            },
                        },
                        chain: left.chain.clone(),
                    }
                    .via(here),
                    None => Tracked::unknown(),
                }
            }
            v => match decide(v) {
                Some(b) => {
                    let mut t = Tracked::new(Val::Bool(b), here);
                    t.chain = left.chain.iter().cloned().chain(t.chain).collect();
                    t
                }
                None => Tracked::unknown(),
            },
        }
    }

    /// A name as seen at `at`: local assignments first, then module level, then imports.
    fn lookup(
        &self,
        file: usize,
        name: &str,
        function: Option<&[Stmt]>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        if let Some(body) = function {
            if let Some(v) = self.binding_in(file, body, name, Some(body), at, depth) {
                return v;
            }
        }
        let module_at = if function.is_some() { usize::MAX } else { at };
        let body = &self.files[file].ast.body;
        if let Some(v) = self.binding_in(file, body, name, None, module_at, depth) {
            return v;
        }
        if let Some(q) = self.imports[file].get(name) {
            if let Some((module, attr)) = q.rsplit_once('.') {
                if let Some(&target) = self.index.get(module) {
                    let step = Step {
                        file: self.files[file].path.clone(),
                        line: 0,
                        column: 0,
                        note: format!("imported from {module}"),
                    };
                    return self.module_binding(target, attr, depth + 1).via(step);
                }
            }
        }
        Tracked::unknown()
    }

    fn module_binding(&self, file: usize, name: &str, depth: usize) -> Tracked {
        let body = &self.files[file].ast.body;
        self.binding_in(file, body, name, None, usize::MAX, depth)
            .or_else(|| {
                // `from other import NAME` re-exported by this module.
                let q = self.imports[file].get(name)?;
                let (module, attr) = q.rsplit_once('.')?;
                let &target = self.index.get(module)?;
                (target != file).then(|| self.module_binding(target, attr, depth + 1))
            })
            .unwrap_or_else(Tracked::unknown)
    }

    /// Folds every assignment to `name` in `stmts` that precedes `at`: plain and annotated
    /// assignment, `name[key] = v`, `name.update(...)`, `name |= {...}`. Assignments inside
    /// `if`/`try`/loops make the value conditional.
    fn binding_in(
        &self,
        file: usize,
        stmts: &[Stmt],
        name: &str,
        function: Option<&[Stmt]>,
        at: usize,
        depth: usize,
    ) -> Option<Tracked> {
        let f = &self.files[file];
        let mut current: Option<Tracked> = None;
        let mut events: Vec<(&Stmt, Option<Condition>)> = Vec::new();
        for_each_stmt(stmts, None, &mut |s, cond| {
            if s.range().start().to_usize() < at {
                events.push((s, cond));
            }
        });
        for (stmt, cond) in events {
            // Worded only for the statements that bind the name.
            let cond = || cond.map(|c| c.text(f));
            let update: Option<Tracked> = match stmt {
                Stmt::Assign(a) if a.targets.iter().any(|t| is_name(t, name)) => Some(self.eval(
                    file,
                    &a.value,
                    function,
                    stmt.range().start().to_usize(),
                    depth + 1,
                )),
                Stmt::AnnAssign(a) if is_name(&a.target, name) => a.value.as_ref().map(|v| {
                    self.eval(
                        file,
                        v,
                        function,
                        stmt.range().start().to_usize(),
                        depth + 1,
                    )
                }),
                Stmt::Assign(a) => {
                    let Some(key) = a.targets.iter().find_map(|t| subscript_key(t, name)) else {
                        continue;
                    };
                    let v = self.eval(
                        file,
                        &a.value,
                        function,
                        stmt.range().start().to_usize(),
                        depth + 1,
                    );
                    let v = v.via(self.step(file, stmt, format!("{name}[\"{key}\"] = ...")));
                    let mut items = match current.take().map(|c| c.val) {
                        Some(Val::Dict(items)) => items,
                        _ => Vec::new(),
                    };
                    merge(
                        &mut items,
                        vec![(key, conditional(v, cond().as_deref(), None))],
                    );
                    current = Some(Tracked::new(Val::Dict(items), self.step(file, stmt, name)));
                    continue;
                }
                Stmt::Expr(x) => {
                    let Expr::Call(call) = &*x.value else {
                        continue;
                    };
                    let Expr::Attribute(attr) = &*call.func else {
                        continue;
                    };
                    if attr.attr.as_str() != "update" || !is_name(&attr.value, name) {
                        continue;
                    }
                    let mut added = Vec::new();
                    for arg in call.arguments.args.iter() {
                        if let Val::Dict(inner) = self.eval(file, arg, function, at, depth + 1).val
                        {
                            added.extend(inner);
                        }
                    }
                    for kw in call.arguments.keywords.iter() {
                        if let Some(k) = &kw.arg {
                            let v = self.eval(file, &kw.value, function, at, depth + 1);
                            added.push((k.as_str().to_string(), v));
                        }
                    }
                    let step = self.step(file, stmt, format!("{name}.update(...)"));
                    let mut items = match current.take().map(|c| c.val) {
                        Some(Val::Dict(items)) => items,
                        _ => Vec::new(),
                    };
                    let added = added
                        .into_iter()
                        .map(|(k, v)| {
                            (k, conditional(v.via(step.clone()), cond().as_deref(), None))
                        })
                        .collect();
                    merge(&mut items, added);
                    current = Some(Tracked::new(Val::Dict(items), step));
                    continue;
                }
                _ => None,
            };
            if let Some(v) = update {
                let v = v.via(self.step(file, stmt, format!("{name} = ...")));
                current = Some(match (cond(), current.take()) {
                    (Some(c), prev) => conditional(v, Some(&c), prev),
                    (None, _) => v,
                });
            }
        }
        current
    }
}

fn is_name(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Name(n) if n.id.as_str() == name)
}

fn subscript_key(e: &Expr, name: &str) -> Option<String> {
    match e {
        Expr::Subscript(s) if is_name(&s.value, name) => str_lit(&s.slice),
        _ => None,
    }
}

fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(c) = test else { return false };
    let is_dunder = |e: &Expr| is_name(e, "__name__");
    let is_main = |e: &Expr| str_lit(e).as_deref() == Some("__main__");
    c.ops.len() == 1
        && matches!(c.ops[0], CmpOp::Eq)
        && ((is_dunder(&c.left) && is_main(&c.comparators[0]))
            || (is_main(&c.left) && is_dunder(&c.comparators[0])))
}

/// A value that applies only when `cond` holds; otherwise the previous value (or "not set").
fn conditional(v: Tracked, cond: Option<&str>, prev: Option<Tracked>) -> Tracked {
    let Some(cond) = cond else { return v };
    let chain = v.chain.clone();
    Tracked {
        val: Val::Cond {
            condition: cond.to_string(),
            then: Box::new(v),
            orelse: Box::new(prev.unwrap_or(Tracked {
                val: Val::None,
                chain: Vec::new(),
            })),
        },
        chain,
    }
}

fn merge(items: &mut Vec<(String, Tracked)>, new: Vec<(String, Tracked)>) {
    for (k, v) in new {
        match items.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => items.push((k, v)),
        }
    }
}

fn negate(inner: Tracked, step: Step) -> Tracked {
    let env_test = match &inner.val {
        Val::Env { test, .. } => Some(test.clone()),
        _ => None,
    };
    match inner.truth() {
        Truth::True => Tracked::new(Val::Bool(false), step),
        Truth::False => Tracked::new(Val::Bool(true), step),
        Truth::Env {
            var,
            when_unset,
            condition,
        } => Tracked::new(
            Val::Env {
                var,
                unset: Box::new(Tracked::new(Val::Bool(!when_unset), step.clone())),
                condition: format!("not ({condition})"),
                test: EnvTest::Not(Box::new(env_test.unwrap_or(EnvTest::Raw))),
            },
            step,
        ),
        _ => Tracked::unknown(),
    }
}

fn map_str(t: Tracked, method: &str) -> Tracked {
    let apply = |s: &str| match method {
        "lower" | "casefold" => s.to_lowercase(),
        "upper" => s.to_uppercase(),
        _ => s.trim().to_string(),
    };
    match t.val {
        Val::Str(s) => Tracked {
            val: Val::Str(apply(&s)),
            chain: t.chain,
        },
        Val::Env {
            var,
            unset,
            condition,
            test,
        } => {
            let unset = map_str(*unset, method);
            Tracked {
                val: Val::Env {
                    var,
                    unset: Box::new(unset),
                    condition,
                    test: EnvTest::Map(method.to_string(), Box::new(test)),
                },
                chain: t.chain,
            }
        }
        _ => Tracked::unknown(),
    }
}

/// Import bindings of a file (anywhere in it): local name -> dotted name.
fn collect_imports(f: &PyFile) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let package: Vec<&str> = f.module.split('.').collect();
    let is_pkg = f.path.file_name().is_some_and(|n| n == "__init__.py");
    for_each_stmt(&f.ast.body, None, &mut |s, _| match s {
        Stmt::Import(i) => {
            for alias in &i.names {
                let full = alias.name.as_str();
                match &alias.asname {
                    Some(a) => {
                        map.insert(a.as_str().to_string(), full.to_string());
                    }
                    None => {
                        let top = full.split('.').next().unwrap_or(full);
                        map.insert(top.to_string(), top.to_string());
                    }
                }
            }
        }
        Stmt::ImportFrom(i) => {
            let mut base = String::new();
            if i.level > 0 {
                // `from . import x` in module `a.b.c` is `a.b.x`; in package `a.b` (its
                // `__init__`) it is `a.b.x` too.
                let keep = package
                    .len()
                    .saturating_sub((i.level as usize).saturating_sub(usize::from(is_pkg)));
                base = package[..keep.min(package.len())].join(".");
            }
            if let Some(m) = &i.module {
                if !base.is_empty() {
                    base.push('.');
                }
                base.push_str(m.as_str());
            }
            for alias in &i.names {
                let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                let full = if base.is_empty() {
                    alias.name.as_str().to_string()
                } else {
                    format!("{base}.{}", alias.name.as_str())
                };
                map.insert(local.to_string(), full);
            }
        }
        _ => {}
    });
    map
}

/// Every string literal in a list of statements.
pub(crate) fn visit_string_literals(stmts: &[Stmt], f: &mut dyn FnMut(&str)) {
    use ruff_python_ast::visitor::source_order::{walk_expr, SourceOrderVisitor};
    struct V<'f>(&'f mut dyn FnMut(&str));
    impl<'a> SourceOrderVisitor<'a> for V<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::StringLiteral(s) = expr {
                (self.0)(s.value.to_str());
            }
            walk_expr(self, expr);
        }
    }
    let mut v = V(f);
    for s in stmts {
        v.visit_stmt(s);
    }
}

/// Class definitions anywhere in a list of statements.
fn visit_classes<'a>(stmts: &'a [Stmt], f: &mut dyn FnMut(&'a ast::StmtClassDef)) {
    for stmt in stmts {
        match stmt {
            Stmt::ClassDef(c) => {
                f(c);
                visit_classes(&c.body, f);
            }
            Stmt::FunctionDef(d) => visit_classes(&d.body, f),
            Stmt::If(s) => {
                visit_classes(&s.body, f);
                for c in &s.elif_else_clauses {
                    visit_classes(&c.body, f);
                }
            }
            Stmt::Try(s) => visit_classes(&s.body, f),
            _ => {}
        }
    }
}

/// Calls anywhere in a list of statements (nested functions and classes included).
pub(crate) fn visit_calls<'a>(stmts: &'a [Stmt], f: &mut dyn FnMut(&'a ast::ExprCall, ())) {
    for stmt in stmts {
        match stmt {
            Stmt::FunctionDef(d) => visit_calls(&d.body, f),
            Stmt::ClassDef(c) => visit_calls(&c.body, f),
            Stmt::If(s) => {
                visit_expr_calls(&s.test, &mut |c| f(c, ()));
                visit_calls(&s.body, f);
                for c in &s.elif_else_clauses {
                    visit_calls(&c.body, f);
                }
            }
            Stmt::With(s) => visit_calls(&s.body, f),
            Stmt::Try(s) => {
                visit_calls(&s.body, f);
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    visit_calls(&h.body, f);
                }
                visit_calls(&s.orelse, f);
                visit_calls(&s.finalbody, f);
            }
            Stmt::For(s) => visit_calls(&s.body, f),
            Stmt::While(s) => visit_calls(&s.body, f),
            other => visit_stmt_exprs(other, &mut |e| visit_expr_calls(e, &mut |c| f(c, ()))),
        }
    }
}

/// The expressions directly inside a simple statement.
fn visit_stmt_exprs<'a>(stmt: &'a Stmt, f: &mut dyn FnMut(&'a Expr)) {
    match stmt {
        Stmt::Expr(s) => f(&s.value),
        Stmt::Assign(s) => f(&s.value),
        Stmt::AnnAssign(s) => {
            if let Some(v) = &s.value {
                f(v)
            }
        }
        Stmt::AugAssign(s) => f(&s.value),
        Stmt::Return(s) => {
            if let Some(v) = &s.value {
                f(v)
            }
        }
        _ => {}
    }
}

/// Every call inside an expression, outermost first.
pub(crate) fn visit_expr_calls<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a ast::ExprCall)) {
    match e {
        Expr::Call(c) => {
            f(c);
            visit_expr_calls(&c.func, f);
            for a in c.arguments.args.iter() {
                visit_expr_calls(a, f);
            }
            for k in c.arguments.keywords.iter() {
                visit_expr_calls(&k.value, f);
            }
        }
        Expr::Attribute(a) => visit_expr_calls(&a.value, f),
        Expr::Await(a) => visit_expr_calls(&a.value, f),
        Expr::List(l) => l.elts.iter().for_each(|x| visit_expr_calls(x, f)),
        Expr::Tuple(t) => t.elts.iter().for_each(|x| visit_expr_calls(x, f)),
        Expr::Dict(d) => d.items.iter().for_each(|i| visit_expr_calls(&i.value, f)),
        Expr::If(i) => {
            visit_expr_calls(&i.test, f);
            visit_expr_calls(&i.body, f);
            visit_expr_calls(&i.orelse, f);
        }
        Expr::BoolOp(b) => b.values.iter().for_each(|x| visit_expr_calls(x, f)),
        Expr::Compare(c) => {
            visit_expr_calls(&c.left, f);
            c.comparators.iter().for_each(|x| visit_expr_calls(x, f));
        }
        _ => {}
    }
}
