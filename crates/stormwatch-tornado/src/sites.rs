//! Where settings and routes reach `tornado.web.Application`: constructions (of Application,
//! of a subclass that keeps Application's `__init__`, through `functools.partial`), the
//! `super().__init__(...)` of subclasses, one application per construction of a subclass,
//! and what is changed after construction (`add_handlers`, `app.settings[...] = ...`).

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use rayon::prelude::*;

use crate::call_args::{Passed, Signature};
use crate::engine::{last_name, AppSite, CallSite, ClassId, FileId, Project, Route, APPLICATION};
use crate::eval::{merge, Scope};
use crate::value::{Step, Tracked, Val};
use crate::walk::{str_lit, Context};

impl<'a> Project<'a> {
    /// Every settings site and every other call in the project.
    pub fn sites(&self) -> (Vec<AppSite>, Vec<CallSite<'a>>) {
        let per_file: Vec<(Vec<AppSite>, Vec<CallSite<'a>>)> = (0..self.files.len())
            .into_par_iter()
            .map(|i| self.file_sites(FileId(i)))
            .collect();
        let mut apps = Vec::new();
        let mut calls = Vec::new();
        for (a, c) in per_file {
            apps.extend(a);
            calls.extend(c);
        }
        (apps, calls)
    }

    /// Whether a call hands settings to `Application`: `Application(...)`, a subclass
    /// constructed when no repository class on its way up defines `__init__`, or
    /// `super().__init__(...)`/`Application.__init__(self, ...)` that reaches Application's
    /// own `__init__`. The value is how many leading positional arguments are not
    /// Application's own (`self`, the callee of `partial`).
    fn is_app_call(&self, file: FileId, call: &ast::ExprCall, context: &Context) -> Option<usize> {
        let name = last_name(&call.func)?;
        // The next `__init__` up from a class, when it is a repository Application subclass's
        // (then the call goes there, not to Application).
        let app_init_after = |class: ClassId, include_self: bool| {
            self.method_after(class, "__init__", include_self)
                .is_some_and(|(c, _)| self.app_classes.contains(&self.classes[c].qualified))
        };
        if name == "__init__" {
            let Expr::Attribute(a) = &*call.func else {
                return None;
            };
            let is_super = matches!(&*a.value, Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "super"));
            if is_super {
                let class = self.class_of_def(context.class?)?;
                if !self.app_classes.contains(&self.classes[class].qualified) {
                    return None;
                }
                return (!app_init_after(class, false)).then_some(0);
            }
            return (self.qualify(file, &a.value).as_deref() == Some(APPLICATION)).then_some(1);
        }
        if self.is_partial_application(file, call) {
            return Some(1);
        }
        if self.app_class_names.contains(name) {
            if let Some(class) = self.resolve_class(file, &call.func) {
                if self.app_classes.contains(&self.classes[class].qualified) {
                    return (!app_init_after(class, true)).then_some(0);
                }
            }
        }
        (self.qualify(file, &call.func).as_deref() == Some(APPLICATION)).then_some(0)
    }

    /// `functools.partial(Application, ...)`: the settings given there reach every
    /// application the partial object makes.
    fn is_partial_application(&self, file: FileId, call: &ast::ExprCall) -> bool {
        last_name(&call.func) == Some("partial")
            && self.qualify(file, &call.func).as_deref() == Some("functools.partial")
            && call
                .arguments
                .args
                .first()
                .and_then(|f| self.qualify(file, f))
                .as_deref()
                == Some(APPLICATION)
    }

    fn file_sites(&self, file: FileId) -> (Vec<AppSite>, Vec<CallSite<'a>>) {
        let (mut apps, mut calls) = (Vec::new(), Vec::new());
        // Routes added with `add_handlers` and settings written after construction, given
        // to the applications of the same file.
        let mut added_routes: Vec<Tracked> = Vec::new();
        let mut late_settings: Vec<(String, Tracked)> = Vec::new();
        let mut late_open = false;
        for raw in &self.scans[file].calls {
            let call = raw.call;
            let ctx = &raw.context;
            let scope = Scope {
                function: ctx.function,
                class: ctx.class,
            };
            let at = call.range().start().to_usize();
            if let Some(skip) = self.is_app_call(file, call, ctx) {
                apps.extend(self.app_sites(file, call, scope, skip));
                continue;
            }
            let Some(qual) = self.qualify(file, &call.func) else {
                continue;
            };
            if qual.ends_with(".add_handlers") {
                if let Some(routes) = call.arguments.args.get(1) {
                    added_routes.push(self.eval(file, routes, scope, at, 0));
                }
            } else if qual.ends_with(".settings.update") && !qual.starts_with("self.settings") {
                for arg in call.arguments.args.iter() {
                    match self.eval(file, arg, scope, at, 0).val {
                        Val::Dict(items) => merge(&mut late_settings, items),
                        _ => late_open = true,
                    }
                }
                for kw in call.arguments.keywords.iter() {
                    match &kw.arg {
                        Some(k) => {
                            let v = self.eval(file, &kw.value, scope, at, 0);
                            merge(&mut late_settings, vec![(k.to_string(), v)]);
                        }
                        None => late_open = true,
                    }
                }
            }
            let (line, column) = self.files[file].position(at);
            calls.push(CallSite {
                file,
                line,
                column,
                qualified: qual,
                main_guarded: ctx.main_guarded,
                condition: ctx.condition,
                call,
                scope,
            });
        }
        for (assign, ctx) in &self.scans[file].settings_writes {
            let scope = Scope {
                function: ctx.function,
                class: ctx.class,
            };
            let at = assign.range().start().to_usize();
            for t in &assign.targets {
                let Expr::Subscript(s) = t else { continue };
                match str_lit(&s.slice) {
                    Some(key) => {
                        let step = self.step(file, assign, "set after construction");
                        let v = self.eval(file, &assign.value, scope, at, 0).via(step);
                        merge(&mut late_settings, vec![(key, v)]);
                    }
                    None => late_open = true,
                }
            }
        }
        if !added_routes.is_empty() || !late_settings.is_empty() || late_open {
            for app in &mut apps {
                merge(&mut app.settings, late_settings.clone());
                app.complete &= !late_open;
                for r in &added_routes {
                    match (&mut app.routes, self.routes_of(file, r)) {
                        (Some(list), Some(more)) => list.extend(more),
                        (routes, _) => *routes = None,
                    }
                }
            }
        }
        (apps, calls)
    }

    /// The applications a settings site makes. In an `__init__` (a subclass passing on what
    /// it was constructed with), one per construction, each with the parameters that call
    /// binds and placed where it is; elsewhere, one.
    fn app_sites(
        &self,
        file: FileId,
        call: &'a ast::ExprCall,
        scope: Scope<'a>,
        skip: usize,
    ) -> Vec<AppSite> {
        let init = scope.function.filter(|d| {
            d.name.as_str() == "__init__"
                && self.def_kind(file, d, scope.class) == crate::calls::DefKind::Method
        });
        let Some(def) = init else {
            return vec![self.app_site(file, call, scope, skip)];
        };
        let callers = self.effective_callers(file, def, scope.class);
        if callers.is_empty() || callers.len() > crate::calls::MAX_CALLERS {
            return vec![self.app_site(file, call, scope, skip)];
        }
        callers
            .iter()
            .map(|(c, _)| {
                let mut site =
                    Self::with_caller(def, c.call, || self.app_site(file, call, scope, skip));
                let (line, column) = self.position(c.file, c.call);
                // `**settings` of the subclass's constructor call reaches `super().__init__`.
                crate::eval::merge(&mut site.settings, self.keyed_writes_into(c.file, c.call));
                site.file = c.file;
                site.path = self.files[c.file].path.clone();
                site.line = line;
                site.column = column;
                site
            })
            .collect()
    }

    fn app_site(
        &self,
        file: FileId,
        call: &'a ast::ExprCall,
        scope: Scope<'a>,
        skip: usize,
    ) -> AppSite {
        let at = call.range().start().to_usize();
        let (line, column) = self.files[file].position(at);
        let site_step = self.step(file, call, "passed to Application(...)");
        // Application's signature decides what is a setting: `handlers` (first positional or
        // by name, also from a `**dict`), `default_host`, `transforms`, and `**settings`.
        crate::eval::reset_budget();
        let mut args = self.call_args(file, call, scope, 0);
        args.skip(skip);
        let signature = Signature::application();
        // A partial application gets the rest of its arguments where it is called.
        let partial = self.is_partial_application(file, call);
        let mut complete = !partial;
        let mut settings: Vec<(String, Tracked)> = Vec::new();
        match signature.bind(&args, "settings") {
            Some(Passed::Keywords(items, open)) => {
                for (k, a) in items {
                    let v = self.arg_value(file, &a, scope, at, 0);
                    settings.push((k, v.via(site_step.clone())));
                }
                complete &= !open;
            }
            _ => complete = false,
        }
        crate::eval::merge(&mut settings, self.keyed_writes_into(file, call));
        let routes = match signature.bind(&args, "handlers") {
            Some(Passed::Arg(a)) => {
                let v = self.arg_value(file, &a, scope, at, 0);
                self.routes_of(file, &v)
            }
            // `Application()` with routes added later (`add_handlers`) or none.
            Some(Passed::Default(_)) if !partial => Some(Vec::new()),
            _ => None,
        };
        AppSite {
            file,
            path: self.files[file].path.clone(),
            line,
            column,
            settings,
            complete,
            routes,
        }
    }

    /// The handlers of a route table value, or `None` when any entry cannot be read.
    fn routes_of(&self, file: FileId, table: &Tracked) -> Option<Vec<Route>> {
        let Val::List(entries) = &table.val else {
            return None;
        };
        let mut out = Vec::new();
        for entry in entries {
            let Val::List(parts) = &entry.val else {
                return None;
            };
            match parts.get(1).map(|p| &p.val) {
                Some(Val::Ref(q)) => out.push(Route {
                    handler: q.clone(),
                    step: entry
                        .chain
                        .last()
                        .or(table.chain.last())
                        .cloned()
                        .unwrap_or_else(|| Step {
                            file: self.files[file].path.clone(),
                            line: 0,
                            column: 0,
                            note: String::new(),
                        }),
                }),
                // A nested router or application: its own routes are judged on their own.
                Some(Val::List(_)) => {}
                _ => return None,
            }
        }
        Some(out)
    }
}
