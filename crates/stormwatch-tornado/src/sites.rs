//! Where settings and routes reach `tornado.web.Application`: constructions (of Application,
//! of a subclass that keeps Application's `__init__`, through `functools.partial`), the
//! `super().__init__(...)` of subclasses, one application per construction of a subclass,
//! and what is changed after construction (`add_handlers`, `app.settings[...] = ...`).

use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use rayon::prelude::*;

use crate::call_args::{Arg, Passed, Signature};
use crate::engine::{last_name, AppSite, CallSite, ClassId, FileId, Project, APPLICATION};
use crate::eval::{merge, Scope};
use crate::routes::RouteTable;
use crate::value::{Step, Tracked, Val};
use crate::walk::{self, str_lit, Context};

impl<'a> Project<'a> {
    /// Every settings site and every other call in the project.
    pub fn sites(&self) -> (Vec<AppSite>, Vec<CallSite<'a>>) {
        let per_file: Vec<(Vec<AppSite>, Vec<CallSite<'a>>)> = (0..self.files.len())
            .into_par_iter()
            .map(|i| self.file_sites(FileId(i)))
            .collect();
        // Sized once: on a large group, growing by doubling held the old and the new
        // buffer (and their slack) of hundreds of thousands of calls at once.
        let mut apps = Vec::with_capacity(per_file.iter().map(|(a, _)| a.len()).sum());
        let mut calls = Vec::with_capacity(per_file.iter().map(|(_, c)| c.len()).sum());
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
        // Nearly every call of the file becomes a call site: no slack from growing.
        let (mut apps, mut calls) = (Vec::new(), Vec::with_capacity(self.scans[file].calls.len()));
        // Routes added with `add_handlers` and settings written after construction, given
        // to the applications of the same file.
        let mut added_routes: Vec<(Tracked, Step, &'a Expr)> = Vec::new();
        // Each Application call once, and for each application made, its call's index.
        let mut app_calls: Vec<&'a ast::ExprCall> = Vec::new();
        let mut app_call_of: Vec<usize> = Vec::new();
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
                let made = self.app_sites(file, call, scope, skip);
                app_call_of.extend(std::iter::repeat_n(app_calls.len(), made.len()));
                app_calls.push(call);
                apps.extend(made);
                continue;
            }
            let Some(qual) = self.qualify(file, &call.func) else {
                continue;
            };
            if qual.ends_with(".add_handlers") {
                // `add_handlers(host_pattern, host_handlers)`, also by keyword.
                let routes = call.arguments.find_argument_value("host_handlers", 1);
                if let (Some(routes), Expr::Attribute(a)) = (routes, &*call.func) {
                    let step = self.step(file, routes, walk::short(self.text(file, routes)));
                    added_routes.push((self.eval(file, routes, scope, at, 0), step, &a.value));
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
            }
            let bound = crate::routes::bound_names(&self.files[file], &app_calls);
            for (r, step, receiver) in &added_routes {
                let table = self.routes_of(r, step);
                // The application the receiver names (`app = Application(...)` then
                // `app.add_handlers(...)`), else every application of the file.
                let receiver = self.text(file, *receiver);
                let named = bound.iter().any(|b| b.as_deref() == Some(receiver));
                for (app, &c) in apps.iter_mut().zip(&app_call_of) {
                    if !named || bound[c].as_deref() == Some(receiver) {
                        app.routes.extend(table.clone());
                    }
                }
            }
        }
        (apps, calls)
    }

    /// The applications a settings site makes. In an Application subclass's `__init__`
    /// (passing on what it was constructed with), one per construction, each with the
    /// parameters that call binds and placed where it is; elsewhere, one.
    fn app_sites(
        &self,
        file: FileId,
        call: &'a ast::ExprCall,
        scope: Scope<'a>,
        skip: usize,
    ) -> Vec<AppSite> {
        // Only an Application subclass's own `__init__` is constructed as the application;
        // another class that builds one keeps it where `Application(...)` is.
        let is_app_class = scope
            .class
            .and_then(|c| self.class_of_def(c))
            .is_some_and(|c| self.app_classes.contains(&self.class(c).qualified));
        let init = scope.function.filter(|d| {
            is_app_class
                && d.name.as_str() == "__init__"
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
                let step = match &a {
                    Arg::Expr(e) => self.step(file, *e, walk::short(self.text(file, *e))),
                    Arg::Value(_) => site_step.clone(),
                };
                self.routes_of(&v, &step)
            }
            // `Application()` with routes added later (`add_handlers`) or none.
            Some(Passed::Default(_)) if !partial => RouteTable::default(),
            _ if partial => RouteTable::unknown(
                site_step.clone(),
                "routes given where the partial application is called",
            ),
            // `*args` or `**kwargs` the analysis cannot read may carry the routes.
            _ => RouteTable::unknown(site_step.clone(), "*args/**kwargs"),
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
}
