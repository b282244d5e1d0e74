//! TW007: a `write_error` override sends the exception or traceback to the client.

use crate::engine::FileId;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};
use stormwatch_findings::Severity;

use super::{hit_at, method, step_at, Hit, RuleInfo};
use crate::engine::Project;
use crate::eval::Scope;
use crate::walk::{calls_in, for_each_stmt, str_lit};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW007",
    name: "write-error-leak",
    severity: Severity::High,
    summary: "write_error sends the traceback to the client",
    docs: r#"## What it catches

A `write_error` override in a `RequestHandler` subclass (or inherited from a mixin), or a
helper of the repository it hands the error to (up to three calls deep), that passes exception details to
`self.write`, `self.finish` or `self.render`: `traceback.format_exc()` and the other
`traceback.format_*` functions, `sys.exc_info()`, `kwargs["exc_info"]`, a variable
assigned from any of them anywhere in the method (a loop over them included), or a dict or
list they were stored into (`reply["traceback"] = ...` then `self.finish(json.dumps(reply))`).
The message of an error the application raised itself (`exc_info[1].log_message`,
`.reason`, `.status_code`, also read with `getattr`, of an `HTTPError` or an error class
shaped like it) is the application's own wording and is not reported.

A send that runs only when the `serve_traceback` or `debug` setting is on (inside
`if self.settings.get("serve_traceback"):`, or after `if not ...: return`), or that a
rendered template (found beside the handler's module, under `templates/`) shows only inside
`{% if debug %}`, is what Tornado's own `write_error` does: it is reported as info, and
TW001/TW003 judge that setting's production value. The exception's class and value
(`exc_info[0]`, `exc_info[1]`) are not the traceback: what a served message says is judged
by the probe (TW303).

## Why

It re-creates `serve_traceback=True` by hand, whatever the settings say: every unhandled
error shows source paths, code and local values to the client.

## Example

```python
import traceback

import tornado.web

class BaseHandler(tornado.web.RequestHandler):
    def write_error(self, status_code, **kwargs):
        self.finish({"error": traceback.format_exc()})
```

## Fix

Log the exception and send a generic body:

```python
    def write_error(self, status_code, **kwargs):
        logging.error("request failed", exc_info=kwargs.get("exc_info"))
        self.finish({"error": self._reason})
```
"#,
};

struct Leaks<'p, 'a> {
    project: &'p Project<'a>,
    file: FileId,
    tainted: &'p [String],
    found: bool,
}

/// Attributes of an exception that are the application's own words, not its internals:
/// `HTTPError.log_message`/`reason`/`status_code` (and custom errors shaped the same way).
const OWN_MESSAGE: &[&str] = &["log_message", "reason", "status_code"];

impl<'x> Visitor<'x> for Leaks<'_, '_> {
    fn visit_expr(&mut self, expr: &'x Expr) {
        match expr {
            Expr::Attribute(a) if OWN_MESSAGE.contains(&a.attr.as_str()) => return,
            Expr::Call(c) => {
                // `getattr(error, "reason", "")` reads the same own-message attributes.
                if crate::walk::is_name(&c.func, "getattr")
                    && c.arguments
                        .args
                        .get(1)
                        .and_then(str_lit)
                        .is_some_and(|a| OWN_MESSAGE.contains(&a.as_str()))
                {
                    return;
                }
                let q = self.project.qualify(self.file, &c.func).unwrap_or_default();
                // `kwargs.get("exc_info")` too.
                let get_exc_info = matches!(&*c.func, Expr::Attribute(a) if a.attr.as_str() == "get")
                    && c.arguments.args.first().and_then(str_lit).as_deref() == Some("exc_info");
                if q.starts_with("traceback.format") || q == "sys.exc_info" || get_exc_info {
                    self.found = true;
                }
            }
            Expr::Subscript(s) if str_lit(&s.slice).as_deref() == Some("exc_info") => {
                self.found = true
            }
            // `exc_info[0]`/`exc_info[1]`: the exception's class and value, not the
            // traceback (`exc_info[2]`); what the value says is the probe's TW303.
            Expr::Subscript(s)
                if matches!(&*s.slice, Expr::NumberLiteral(n)
                    if matches!(&n.value, ast::Number::Int(i) if i.as_u8().is_some_and(|v| v <= 1))) =>
            {
                return
            }

            Expr::Name(n) if self.tainted.iter().any(|t| t == n.id.as_str()) => self.found = true,
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

fn leaks(project: &Project, file: FileId, tainted: &[String], e: &Expr) -> bool {
    let mut v = Leaks {
        project,
        file,
        tainted,
        found: false,
    };
    v.visit_expr(e);
    v.found
}

/// The local names an assignment target stores into: `a`, `a, b`, and the container of
/// `a["k"]` or `a.k` (a dict or object that now holds the value).
fn stored_names(target: &Expr) -> Vec<&str> {
    match target {
        Expr::Name(n) => vec![n.id.as_str()],
        Expr::Tuple(t) => t.elts.iter().flat_map(stored_names).collect(),
        Expr::List(l) => l.elts.iter().flat_map(stored_names).collect(),
        Expr::Starred(s) => stored_names(&s.value),
        Expr::Subscript(x) => stored_names(&x.value),
        Expr::Attribute(a) if !crate::walk::is_name(&a.value, "self") => stored_names(&a.value),
        _ => Vec::new(),
    }
}

/// What a send of the details is conditional on.
#[derive(Clone, Copy)]
enum Gate {
    /// A setting Tornado gates tracebacks on (`serve_traceback`, `debug`).
    Setting(&'static str),
    /// A condition that evaluates to false in production.
    OffInProduction,
}

/// The setting a condition reads that Tornado itself gates tracebacks on: `serve_traceback`
/// or `debug` from the handler's or application's settings (`self.settings.get(...)`,
/// `self.application.settings[...]`) or `options.debug`.
fn traceback_gate(test: &Expr) -> Option<&'static str> {
    struct Finder(Option<&'static str>);
    fn settings_like(e: &Expr) -> bool {
        match e {
            Expr::Attribute(a) => a.attr.as_str() == "settings",
            Expr::Name(n) => n.id.as_str() == "settings",
            _ => false,
        }
    }
    fn key(e: &Expr) -> Option<&'static str> {
        match str_lit(e).as_deref() {
            Some("serve_traceback") => Some("serve_traceback"),
            Some("debug") => Some("debug"),
            _ => None,
        }
    }
    impl<'x> Visitor<'x> for Finder {
        fn visit_expr(&mut self, expr: &'x Expr) {
            let found = match expr {
                Expr::Call(c) => match &*c.func {
                    Expr::Attribute(a) if a.attr.as_str() == "get" && settings_like(&a.value) => {
                        c.arguments.args.first().and_then(key)
                    }
                    _ => None,
                },
                Expr::Subscript(x) if settings_like(&x.value) => key(&x.slice),
                Expr::Attribute(a) if a.attr.as_str() == "debug" => match &*a.value {
                    Expr::Name(n) if n.id.as_str() == "options" => Some("debug"),
                    Expr::Attribute(o) if o.attr.as_str() == "options" => Some("debug"),
                    _ => None,
                },
                _ => None,
            };
            if found.is_some() {
                self.0 = self.0.or(found);
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut g = Finder(None);
    g.visit_expr(test);
    g.0
}

/// Source ranges of a function body that run only when a traceback setting is on: the body
/// of `if <gate>:`, and what follows `if not <gate>: ... return` in the same block.
fn gated_ranges(body: &[Stmt], out: &mut Vec<(TextRange, Gate)>) {
    let span = |stmts: &[Stmt]| match (stmts.first(), stmts.last()) {
        (Some(a), Some(b)) => Some(TextRange::new(a.start(), b.end())),
        _ => None,
    };
    for (i, stmt) in body.iter().enumerate() {
        match stmt {
            Stmt::If(s) => {
                let negated = match &*s.test {
                    Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
                        traceback_gate(&u.operand)
                    }
                    _ => None,
                };
                if let Some(gate) = negated {
                    if s.body.iter().any(|b| matches!(b, Stmt::Return(_))) {
                        if let Some(r) = span(&body[i + 1..]) {
                            out.push((r, Gate::Setting(gate)));
                        }
                    }
                } else if let Some(gate) = traceback_gate(&s.test) {
                    if let Some(r) = span(&s.body) {
                        out.push((r, Gate::Setting(gate)));
                    }
                }
                gated_ranges(&s.body, out);
                for clause in &s.elif_else_clauses {
                    if let Some(gate) = clause.test.as_ref().and_then(traceback_gate) {
                        if let Some(r) = span(&clause.body) {
                            out.push((r, Gate::Setting(gate)));
                        }
                    }
                    gated_ranges(&clause.body, out);
                }
            }
            Stmt::With(s) => gated_ranges(&s.body, out),
            Stmt::For(s) => gated_ranges(&s.body, out),
            Stmt::While(s) => gated_ranges(&s.body, out),
            Stmt::Try(s) => {
                gated_ranges(&s.body, out);
                for h in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    gated_ranges(&h.body, out);
                }
            }
            _ => {}
        }
    }
}

/// For `self.render("page.html", trace=...)`: the debug setting the template shows every
/// passed-in detail under, when the template is found and does so.
fn template_gate(
    project: &Project,
    file: FileId,
    call: &ast::ExprCall,
    tainted: &[String],
    method: &str,
    kw_leaks: &[bool],
) -> Option<Gate> {
    if !matches!(method, "render" | "render_string") {
        return None;
    }
    let name = call.arguments.args.first().and_then(str_lit)?;
    // Details passed positionally (beyond the name) or as `**mapping` cannot be matched to
    // template variables.
    let positional = call.arguments.args.iter().skip(1);
    if positional
        .into_iter()
        .any(|a| leaks(project, file, tainted, a))
    {
        return None;
    }
    let dir = project.files[file].path.parent()?;
    let path = crate::templates::find(&project.root, dir, &name)?;
    let text = std::fs::read_to_string(path).ok()?;
    let mut gate = None;
    for (k, &leaked) in call.arguments.keywords.iter().zip(kw_leaks) {
        if !leaked {
            continue;
        }
        let var = k.arg.as_ref()?;
        match crate::templates::shows(&text, var.as_str()) {
            crate::templates::Shown::Always => return None,
            crate::templates::Shown::OnlyWhen(g) => gate = gate.or(Some(Gate::Setting(g))),
            crate::templates::Shown::Never => {}
        }
    }
    gate
}

/// How deep `write_error` is followed into the helpers it hands the error to.
const MAX_HELPER_DEPTH: usize = 3;

/// A send of exception details: the call, its file, and the helpers it was reached through.
struct Leak<'a> {
    file: FileId,
    call: &'a ast::ExprCall,
    method: String,
    via: Vec<String>,
    /// The setting the send is conditional on (`serve_traceback`, `debug`), if any.
    gate: Option<Gate>,
}

/// Names of a function's parameters, in order (`self` included).
fn parameter_names(def: &ast::StmtFunctionDef) -> Vec<&str> {
    let p = &def.parameters;
    p.posonlyargs
        .iter()
        .chain(p.args.iter())
        .map(|a| a.parameter.name.as_str())
        .collect()
}

/// How a function was reached from `write_error`: the helpers called on the way, and the
/// traceback setting the call was conditional on.
struct Reach {
    via: Vec<String>,
    gate: Option<Gate>,
}

/// Sends of exception details in `def`, where `tainted` names hold them: directly through
/// `self.write/finish/render` (or the same methods of a handler passed in), or through a
/// function or method of the repository that is given them.
fn find_leaks<'a>(
    project: &Project<'a>,
    file: FileId,
    def: &'a ast::StmtFunctionDef,
    class: Option<&'a ast::StmtClassDef>,
    mut tainted: Vec<String>,
    reach: Reach,
    out: &mut Vec<Leak<'a>>,
) {
    let Reach { via, gate } = reach;
    let mut gates = Vec::new();
    gated_ranges(&def.body, &mut gates);
    // Names holding exception details: what the caller handed in, anything assigned from
    // a leak anywhere in the function (inside `if`/`try`/loops too), and containers a leak
    // is stored into (`reply["traceback"] = ...`, `reply.update(...)`, `lines.append(...)`).
    let mut changed = true;
    while changed {
        changed = false;
        for_each_stmt(&def.body, None, &mut |stmt, _| {
            let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
                Stmt::Assign(a) => (a.targets.iter().collect(), Some(&a.value)),
                Stmt::AnnAssign(a) => (vec![&*a.target], a.value.as_deref()),
                Stmt::AugAssign(a) => (vec![&*a.target], Some(&a.value)),
                Stmt::For(f) => (vec![&*f.target], Some(&f.iter)),
                Stmt::Expr(e) => match &*e.value {
                    Expr::Call(c) => match &*c.func {
                        Expr::Attribute(a)
                            if matches!(
                                a.attr.as_str(),
                                "update" | "append" | "extend" | "setdefault" | "insert"
                            ) =>
                        {
                            (vec![&*a.value], Some(&*e.value))
                        }
                        _ => (Vec::new(), None),
                    },
                    _ => (Vec::new(), None),
                },
                _ => (Vec::new(), None),
            };
            let Some(value) = value else { return };
            if targets.is_empty() || !leaks(project, file, &tainted, value) {
                return;
            }
            for t in targets {
                for name in stored_names(t) {
                    if !tainted.iter().any(|x| x == name) {
                        tainted.push(name.to_string());
                        changed = true;
                    }
                }
            }
        });
    }
    let params = parameter_names(def);
    let receivers: Vec<&str> = if class.is_some() {
        vec!["self"]
    } else {
        params.clone()
    };
    let scope = Scope {
        function: Some(def),
        class,
    };
    // Branches whose condition is false in production (a developer switch off by default):
    // what they send never reaches a client there.
    for_each_stmt(&def.body, None, &mut |stmt, _| {
        let Stmt::If(s) = stmt else { return };
        let tests = std::iter::once((Some(&*s.test), &s.body[..])).chain(
            s.elif_else_clauses
                .iter()
                .map(|c| (c.test.as_ref(), &c.body[..])),
        );
        for (test, body) in tests {
            let Some(test) = test else { continue };
            let at = test.range().start().to_usize();
            let off = matches!(
                project.eval(file, test, scope, at, 0).truth(),
                crate::value::Truth::False
            );
            if let (true, Some(a), Some(b)) = (off, body.first(), body.last()) {
                gates.push((TextRange::new(a.start(), b.end()), Gate::OffInProduction));
            }
        }
    });
    calls_in(&def.body, &mut |call: &'a ast::ExprCall| {
        // Which arguments carry the details, judged once per argument.
        let args = &call.arguments;
        let arg_leaks: Vec<bool> = args
            .args
            .iter()
            .map(|x| leaks(project, file, &tainted, x))
            .collect();
        let kw_leaks: Vec<bool> = args
            .keywords
            .iter()
            .map(|k| leaks(project, file, &tainted, &k.value))
            .collect();
        // `**kwargs` of `write_error(self, status_code, **kwargs)` holds `exc_info`.
        let passes_all = args.keywords.iter().any(|k| {
            k.arg.is_none()
                && matches!(&k.value, Expr::Name(n) if def.parameters.kwarg.as_ref().is_some_and(|kw| kw.name.as_str() == n.id.as_str()))
        });
        let sends = arg_leaks.iter().chain(&kw_leaks).any(|&l| l);
        if !sends && !passes_all {
            return;
        }
        let gate = gate.or_else(|| {
            gates
                .iter()
                .find(|(r, _)| r.contains_range(call.range()))
                .map(|(_, g)| *g)
        });
        if let Expr::Attribute(a) = &*call.func {
            let receiver = match &*a.value {
                Expr::Name(n) if receivers.contains(&n.id.as_str()) => Some(n.id.as_str()),
                _ => None,
            };
            let method = a.attr.as_str();
            if let (Some(receiver), "write" | "finish" | "render" | "render_string") =
                (receiver, method)
            {
                if sends {
                    let gate = gate.or_else(|| {
                        template_gate(project, file, call, &tainted, method, &kw_leaks)
                    });
                    out.push(Leak {
                        file,
                        call,
                        method: format!("{receiver}.{method}"),
                        via: via.clone(),
                        gate,
                    });
                }
                return;
            }
        }
        if via.len() >= MAX_HELPER_DEPTH {
            return;
        }
        let Some((helper, helper_class, helper_file)) = project.callee(file, &call.func, scope)
        else {
            return;
        };
        // The helper's parameters that receive the details.
        let names = parameter_names(helper);
        let skip = usize::from(helper_class.is_some() && matches!(&*call.func, Expr::Attribute(_)));
        let mut inner = vec!["exc_info".to_string()];
        for (i, _) in arg_leaks.iter().enumerate().filter(|(_, &l)| l) {
            if let Some(n) = names.get(i + skip) {
                inner.push(n.to_string());
            }
        }
        for (k, &leaked) in args.keywords.iter().zip(&kw_leaks) {
            match &k.arg {
                Some(a) if leaked => inner.push(a.to_string()),
                None => {
                    if let Some(kw) = &helper.parameters.kwarg {
                        inner.push(kw.name.to_string());
                    }
                }
                _ => {}
            }
        }
        let mut via = via.clone();
        via.push(helper.name.to_string());
        find_leaks(
            project,
            helper_file,
            helper,
            helper_class,
            inner,
            Reach { via, gate },
            out,
        );
    });
}

pub fn check(project: &Project, hits: &mut Vec<Hit>) {
    for handler in project.subclasses_of("tornado.web.RequestHandler") {
        let Some(index) = project.class_index(&handler.qualified) else {
            continue;
        };
        // The `write_error` the handler uses: its own or the nearest base's (a mixin
        // included), reported once where the details are sent.
        let Some(class) = project
            .mro(index)
            .into_iter()
            .map(|c| project.class(c))
            .find(|c| method(c, "write_error").is_some())
        else {
            continue;
        };
        let Some(def) = method(class, "write_error") else {
            continue;
        };
        let mut found = Vec::new();
        let tainted = vec!["exc_info".to_string()];
        find_leaks(
            project,
            class.file,
            def,
            Some(class.def),
            tainted,
            Reach {
                via: Vec::new(),
                gate: None,
            },
            &mut found,
        );
        for leak in found {
            let through = if leak.via.is_empty() {
                String::new()
            } else {
                format!(" (through {}())", leak.via.join("() -> "))
            };
            let step = step_at(
                project,
                leak.file,
                leak.call,
                &format!("{}(...)", leak.method),
            );
            // Sent only when the setting Tornado gates tracebacks on is on: that setting is
            // what decides, and TW001/TW003 judge its production value.
            let (severity, when) = match leak.gate {
                Some(Gate::OffInProduction) => (
                    Severity::Info,
                    ", only under a condition that is false in production".to_string(),
                ),
                Some(Gate::Setting(g)) => (
                    Severity::Info,
                    format!(", only when the `{g}` setting is on (judged by TW001/TW003)"),
                ),
                None => (RULE.severity, String::new()),
            };
            hits.push(hit_at(
                &RULE,
                severity,
                step,
                format!(
                    "`{}.write_error` sends exception details to the client with {}(...){through}{when}",
                    class.def.name.as_str(),
                    leak.method
                ),
            ));
        }
    }
}
