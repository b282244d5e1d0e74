//! TW007: a `write_error` override sends the exception or traceback to the client.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use stormwatch_findings::Severity;

use super::{hit_at, method, step_at, Hit, RuleInfo};
use crate::engine::Project;
use crate::walk::{calls_in, str_lit};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW007",
    name: "write-error-leak",
    severity: Severity::High,
    summary: "write_error sends the traceback to the client",
    docs: r#"## What it catches

A `write_error` override in a `RequestHandler` subclass that passes exception details to
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
    file: usize,
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
                if q.starts_with("traceback.format") || q == "sys.exc_info" {
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

fn leaks(project: &Project, file: usize, tainted: &[String], e: &Expr) -> bool {
    let mut v = Leaks {
        project,
        file,
        tainted,
        found: false,
    };
    v.visit_expr(e);
    v.found
}

pub fn check(project: &Project, hits: &mut Vec<Hit>) {
    for class in project.subclasses_of("tornado.web.RequestHandler") {
        let Some(def) = method(class, "write_error") else {
            continue;
        };
        let file = class.file;
        // Names holding exception details: `exc_info` and anything assigned from a leak.
        let mut tainted = vec!["exc_info".to_string()];
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
        calls_in(&def.body, &mut |call: &ast::ExprCall| {
            let Expr::Attribute(a) = &*call.func else {
                return;
            };
            let is_self = matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self");
            if !is_self
                || !matches!(
                    a.attr.as_str(),
                    "write" | "finish" | "render" | "render_string"
                )
            {
                return;
            }
            let leaked = call
                .arguments
                .args
                .iter()
                .any(|x| leaks(project, file, &tainted, x))
                || call
                    .arguments
                    .keywords
                    .iter()
                    .any(|k| leaks(project, file, &tainted, &k.value));
            if leaked {
                let step = step_at(
                    project,
                    file,
                    call,
                    &format!("self.{}(...)", a.attr.as_str()),
                );
                hits.push(hit_at(
                    &RULE,
                    RULE.severity,
                    step,
                    format!(
                        "`{}.write_error` sends exception details to the client with self.{}(...)",
                        class.def.name.as_str(),
                        a.attr.as_str()
                    ),
                ));
            }
        });
    }
}
