//! TW007: a `write_error` override sends the exception or traceback to the client.

use crate::engine::FileId;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use stormwatch_findings::Severity;

use super::{hit_at, method, step_at, Hit, RuleInfo};
use crate::engine::Project;
use crate::eval::Scope;
use crate::walk::{calls_in, str_lit};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW007",
    name: "write-error-leak",
    severity: Severity::High,
    summary: "write_error sends the traceback to the client",
    docs: r#"## What it catches

A `write_error` override in a `RequestHandler` subclass (or inherited from a mixin), or a
helper of the repository it hands the error to (up to three calls deep), that passes exception details to
`self.write`, `self.finish` or `self.render`: `traceback.format_exc()` and the other
`traceback.format_*` functions, `sys.exc_info()`, `kwargs["exc_info"]`, or a variable
assigned from any of them. The message of an error the application raised itself
(`exc_info[1].log_message`, `.reason`, `.status_code` of an `HTTPError` or an error class
shaped like it) is the application's own wording and is not reported.

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

/// How deep `write_error` is followed into the helpers it hands the error to.
const MAX_HELPER_DEPTH: usize = 3;

/// A send of exception details: the call, its file, and the helpers it was reached through.
struct Leak<'a> {
    file: FileId,
    call: &'a ast::ExprCall,
    method: String,
    via: Vec<String>,
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

/// Sends of exception details in `def`, where `tainted` names hold them: directly through
/// `self.write/finish/render` (or the same methods of a handler passed in), or through a
/// function or method of the repository that is given them.
fn find_leaks<'a>(
    project: &Project<'a>,
    file: FileId,
    def: &'a ast::StmtFunctionDef,
    class: Option<&'a ast::StmtClassDef>,
    mut tainted: Vec<String>,
    via: &[String],
    out: &mut Vec<Leak<'a>>,
) {
    // Names holding exception details: what the caller handed in and anything assigned
    // from a leak.
    let mut changed = true;
    while changed {
        changed = false;
        for stmt in def.body.iter() {
            if let Stmt::Assign(a) = stmt {
                if leaks(project, file, &tainted, &a.value) {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            if !tainted.iter().any(|x| x == n.id.as_str()) {
                                tainted.push(n.id.to_string());
                                changed = true;
                            }
                        }
                    }
                }
            }
        }
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
                    out.push(Leak {
                        file,
                        call,
                        method: format!("{receiver}.{method}"),
                        via: via.to_vec(),
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
        let mut via = via.to_vec();
        via.push(helper.name.to_string());
        find_leaks(project, helper_file, helper, helper_class, inner, &via, out);
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
            &[],
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
            hits.push(hit_at(
                &RULE,
                RULE.severity,
                step,
                format!(
                    "`{}.write_error` sends exception details to the client with {}(...){through}",
                    class.def.name.as_str(),
                    leak.method
                ),
            ));
        }
    }
}
