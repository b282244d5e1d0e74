//! Calls between the repository's functions: which calls reach a function (constructions of
//! a class reach its `__init__`, `super().__init__(...)` the next one up), what each passes
//! for a parameter ([`crate::call_args`]), and the value a parameter has when several
//! callers disagree.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::call_args::{join, Arg, CallArgs, Passed, Signature};
use crate::engine::{CallRef, ClassId, FileId, Project};
use crate::eval::{Scope, OPEN};
use crate::value::{Tracked, Val};
use crate::walk::is_name;

/// Most call sites of one function that are followed to learn a parameter's value.
pub(crate) const MAX_CALLERS: usize = 8;

/// Most calls of the same name sorted through to find those of one function: a name called
/// more often than this (`get`, `run`) leaves the parameter at its default rather than make
/// every lookup of it walk them all.
const MAX_CANDIDATES: usize = 256;

thread_local! {
    /// A function and the one call of it whose arguments its parameters take, while the
    /// application built by that call is evaluated (see [`Project::with_caller`]).
    static PINNED: std::cell::Cell<Option<(usize, usize)>> = const { std::cell::Cell::new(None) };
}

/// How a function receives its first parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefKind {
    /// A function outside a class body.
    Function,
    /// A method: `self` (or `cls` for a classmethod) is bound by `obj.m(...)`, passed by
    /// `Class.m(obj, ...)`.
    Method,
    ClassMethod,
    StaticMethod,
}

fn is_super_call(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if is_name(&c.func, "super"))
}

impl<'a> Project<'a> {
    /// Whether `def` is a method of `class` (directly in its body), and of which kind.
    pub(crate) fn def_kind(
        &self,
        file: FileId,
        def: &ast::StmtFunctionDef,
        class: Option<&ast::StmtClassDef>,
    ) -> DefKind {
        let in_body = class.is_some_and(|c| {
            c.body
                .iter()
                .any(|s| matches!(s, Stmt::FunctionDef(d) if std::ptr::eq(d, def)))
        });
        if !in_body {
            return DefKind::Function;
        }
        for d in &def.decorator_list {
            match self.qualify(file, &d.expression).as_deref() {
                Some("staticmethod") => return DefKind::StaticMethod,
                Some("classmethod") => return DefKind::ClassMethod,
                _ => {}
            }
        }
        DefKind::Method
    }

    /// The class an expression names, through imports and re-exports.
    pub(crate) fn resolve_class(&self, file: FileId, e: &Expr) -> Option<ClassId> {
        let q = self.qualify(file, e)?;
        if let Some(c) = self.class_index(&q) {
            return Some(c);
        }
        let (module, name) = q.rsplit_once('.')?;
        let &target = self.index.get(module)?;
        match self.module_binding(target, name, 1).val {
            Val::Ref(r) => self.class_index(&r),
            _ => None,
        }
    }

    /// The repository method `name` that `self.name(...)` runs in `class` (`include_self`),
    /// or that `super().name(...)` runs there: the first definition in the class and its
    /// bases, depth first.
    pub(crate) fn method_after(
        &self,
        class: ClassId,
        name: &str,
        include_self: bool,
    ) -> Option<(ClassId, &'a ast::StmtFunctionDef)> {
        let skip = usize::from(!include_self);
        self.mro(class).into_iter().skip(skip).find_map(|c| {
            self.class(c).def.body.iter().find_map(|s| match s {
                Stmt::FunctionDef(f) if f.name.as_str() == name => Some((c, f)),
                _ => None,
            })
        })
    }

    /// A call's arguments, `*x`/`**x` expanded when their value is known (evaluated at
    /// `depth`, as [`Self::arg_value`] evaluates the others).
    pub(crate) fn call_args(
        &self,
        file: FileId,
        call: &'a ast::ExprCall,
        scope: Scope<'a>,
        depth: usize,
    ) -> CallArgs<'a> {
        let at = call.range().start().to_usize();
        let mut out = CallArgs::default();
        for a in call.arguments.args.iter() {
            let Expr::Starred(s) = a else {
                if !out.more_positional {
                    out.positional.push(Arg::Expr(a));
                }
                continue;
            };
            match self.eval(file, &s.value, scope, at, depth).val {
                Val::List(items) if !out.more_positional => {
                    out.positional.extend(items.into_iter().map(Arg::Value));
                }
                _ => out.more_positional = true,
            }
        }
        for kw in call.arguments.keywords.iter() {
            match &kw.arg {
                Some(k) => out.keywords.push((k.to_string(), Arg::Expr(&kw.value))),
                None => match self.eval(file, &kw.value, scope, at, depth).val {
                    Val::Dict(items) => {
                        let spread = self.step(file, kw, "unpacked with **");
                        for (k, v) in items {
                            if k == OPEN {
                                out.more_keywords = true;
                            } else {
                                out.keywords.push((k, Arg::Value(v.via(spread.clone()))));
                            }
                        }
                    }
                    Val::None => {}
                    _ => out.more_keywords = true,
                },
            }
        }
        out
    }

    pub(crate) fn arg_value(
        &self,
        file: FileId,
        arg: &Arg<'a>,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        match arg {
            Arg::Expr(e) => self.eval(file, e, scope, at, depth),
            Arg::Value(v) => v.clone(),
        }
    }

    /// The calls that run `def` (in `file`, inside `class` when it is a method), each with
    /// whether the call supplies the first parameter itself (`self`, `cls`); `None` when the
    /// name is called too often to sort through ([`MAX_CANDIDATES`]).
    pub(crate) fn callers_of_def(
        &self,
        file: FileId,
        def: &'a ast::StmtFunctionDef,
        class: Option<&'a ast::StmtClassDef>,
    ) -> Option<Vec<(CallRef<'a>, bool)>> {
        let kind = self.def_kind(file, def, class);
        let candidates = |n: &str| {
            let c = self.callers_of(n);
            (c.len() <= MAX_CANDIDATES).then_some(c)
        };
        let is_def = |d: &ast::StmtFunctionDef| std::ptr::eq(d, def);
        let caller_scope = |c: &CallRef<'a>| Scope {
            function: c.context.function,
            class: c.context.class,
        };
        let mut out = Vec::new();
        let Some(owner) = class
            .filter(|_| kind != DefKind::Function)
            .and_then(|c| self.class_of_def(c))
        else {
            // A function: calls that resolve to it, or by its bare name in its own file (a
            // function nested in another).
            for c in candidates(def.name.as_str())? {
                let resolved = self.callee(c.file, &c.call.func, caller_scope(c));
                let takes = match resolved {
                    Some((d, _, _)) => is_def(d),
                    None => c.file == file && matches!(&*c.call.func, Expr::Name(_)),
                };
                if takes {
                    out.push((*c, false));
                }
            }
            return Some(out);
        };
        let name = def.name.as_str();
        // The classes whose instances run this method: the owner and the subclasses that
        // inherit it.
        let runs_here = |k: ClassId| {
            self.method_after(k, name, true)
                .is_some_and(|(_, d)| is_def(d))
        };
        let mut tree = vec![owner];
        tree.extend(
            self.subclasses_of(&self.class(owner).qualified)
                .into_iter()
                .filter_map(|c| self.class_index(&c.qualified)),
        );
        let classes: Vec<ClassId> = tree.iter().copied().filter(|&k| runs_here(k)).collect();
        if name == "__init__" {
            // `Class(...)`: the instance is `self`.
            for &k in &classes {
                let simple = self.class(k).def.name.as_str();
                for c in candidates(simple)? {
                    if self.resolve_class(c.file, &c.call.func) == Some(k) {
                        out.push((*c, true));
                    }
                }
            }
        }
        let bound = kind != DefKind::StaticMethod;
        // `super().__init__(...)` and `Base.__init__(self, ...)` sit in the classes below
        // the owner: only theirs are sorted through.
        let method_calls: Vec<CallRef<'a>> = if name == "__init__" {
            tree.iter()
                .filter_map(|k| self.init_calls.get(k))
                .flatten()
                .copied()
                .collect()
        } else {
            candidates(name)?.to_vec()
        };
        for c in &method_calls {
            let Expr::Attribute(a) = &*c.call.func else {
                continue;
            };
            let here = c.context.class.and_then(|k| self.class_of_def(k));
            if is_super_call(&a.value) {
                // `super().m(...)` in a subclass whose next `m` up is this one.
                let next = here.and_then(|k| self.method_after(k, name, false));
                if next.is_some_and(|(_, d)| is_def(d)) {
                    out.push((*c, bound));
                }
            } else if is_name(&a.value, "self") || is_name(&a.value, "cls") {
                if here.is_some_and(runs_here) {
                    out.push((*c, bound));
                }
            } else if let Some(k) = self.resolve_class(c.file, &a.value) {
                // `Class.m(obj, ...)` passes `self`; a classmethod binds `cls` itself.
                if runs_here(k) {
                    out.push((*c, matches!(kind, DefKind::ClassMethod)));
                }
            } else if name != "__init__" {
                // `obj.m(...)` on a receiver the analysis does not follow.
                out.push((*c, bound));
            }
        }
        Some(out)
    }

    /// Runs `f` with `def`'s parameters taking what `call` passes, and nothing else: one
    /// construction of an `Application` subclass evaluated on its own.
    pub(crate) fn with_caller<T>(
        def: &ast::StmtFunctionDef,
        call: &ast::ExprCall,
        f: impl FnOnce() -> T,
    ) -> T {
        let key = (def as *const _ as usize, call as *const _ as usize);
        let saved = PINNED.with(|p| p.replace(Some(key)));
        let out = f();
        PINNED.with(|p| p.set(saved));
        out
    }

    /// The calls whose arguments `def`'s parameters take: the pinned one (see
    /// [`Self::with_caller`]), else every call of it, those from tests only when nothing
    /// else calls it.
    pub(crate) fn effective_callers(
        &self,
        file: FileId,
        def: &'a ast::StmtFunctionDef,
        class: Option<&'a ast::StmtClassDef>,
    ) -> Vec<(CallRef<'a>, bool)> {
        let Some(mut callers) = self.callers_of_def(file, def, class) else {
            return Vec::new();
        };
        let pinned = PINNED.with(|p| p.get());
        if let Some((_, call)) = pinned.filter(|(d, _)| *d == def as *const _ as usize) {
            callers.retain(|(c, _)| c.call as *const _ as usize == call);
            return callers;
        }
        let is_test = |c: &CallRef| crate::rules::is_test_file(&self.files[c.file].rel);
        if callers.iter().any(|(c, _)| !is_test(c)) {
            callers.retain(|(c, _)| !is_test(c));
        }
        callers
    }

    /// A parameter of `def`: what the repository's calls of the function pass for it (when
    /// every call can be read; calls from tests count only when nothing else calls it), else
    /// its default. `None` when `name` is not a parameter (or is `self`).
    pub(crate) fn parameter_value(
        &self,
        file: FileId,
        def: &'a ast::StmtFunctionDef,
        scope: Scope<'a>,
        name: &str,
        depth: usize,
    ) -> Option<Tracked> {
        if let Some(flag) = self.click_option(file, def, name, depth) {
            return Some(flag);
        }
        let kind = self.def_kind(file, def, scope.class);
        let implicit = matches!(kind, DefKind::Method | DefKind::ClassMethod);
        let own = Signature::of(&def.parameters, implicit);
        if !own.has(name) {
            return None;
        }
        let default_value = |d: Option<&'a Expr>| match d {
            Some(d) => self
                .eval(file, d, Scope::default(), usize::MAX, depth + 1)
                .via(self.step(file, d, format!("default of parameter `{name}`"))),
            None => Tracked::unknown(),
        };
        let unpassed = || match own.bind(&CallArgs::default(), name) {
            Some(Passed::Default(d)) => default_value(d),
            _ => Tracked::unknown(),
        };
        let callers = self.effective_callers(file, def, scope.class);
        if callers.is_empty() || callers.len() > MAX_CALLERS {
            return Some(unpassed());
        }
        let mut values: Vec<Tracked> = Vec::new();
        for (c, bound) in &callers {
            let caller_scope = Scope {
                function: c.context.function,
                class: c.context.class,
            };
            let at = c.call.range().start().to_usize();
            let args = self.call_args(c.file, c.call, caller_scope, depth + 1);
            let sig = Signature::of(&def.parameters, *bound && kind != DefKind::StaticMethod);
            let passed_step = || self.step(c.file, c.call, format!("passed as `{name}`"));
            let value = |a: &Arg<'a>| self.arg_value(c.file, a, caller_scope, at, depth + 1);
            let v = match sig.bind(&args, name) {
                Some(Passed::Arg(a)) => value(&a).via(passed_step()),
                Some(Passed::Default(d)) => default_value(d),
                Some(Passed::Rest(items)) => {
                    Tracked::new(Val::List(items.iter().map(value).collect()), passed_step())
                }
                Some(Passed::Keywords(items, open)) => {
                    let mut dict: Vec<(String, Tracked)> =
                        items.iter().map(|(k, a)| (k.clone(), value(a))).collect();
                    if open {
                        dict.push((OPEN.to_string(), Tracked::unknown()));
                    }
                    Tracked::new(Val::Dict(dict), passed_step())
                }
                // `self` named in a `Class.m(obj, ...)` call, or an unknown `*x`/`**x`.
                Some(Passed::Unknown) | None => Tracked::unknown(),
            };
            values.push(v);
        }
        Some(join(
            values,
            &format!("which caller of {}() runs", def.name),
        ))
    }
}
