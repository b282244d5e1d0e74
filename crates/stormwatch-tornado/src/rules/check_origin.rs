//! TW010: a WebSocket handler accepts every origin.

use ruff_python_ast::visitor::source_order::{walk_stmt, SourceOrderVisitor};
use ruff_python_ast::{Expr, Stmt};
use stormwatch_findings::Severity;

use super::{hit_at, method, step_at, Hit, RuleInfo};
use crate::engine::Project;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW010",
    name: "websocket-any-origin",
    severity: Severity::High,
    summary: "WebSocket check_origin always returns True",
    docs: r#"## What it catches

A `check_origin` override in a `tornado.websocket.WebSocketHandler` subclass whose every
`return` returns `True`.

## Why

Browsers send cookies with WebSocket handshakes from any site. Accepting every origin lets
any web page open an authenticated socket as the visiting user (cross-site WebSocket
hijacking).

## Example

```python
class Feed(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True
```

## Fix

Allow only known origins:

```python
    def check_origin(self, origin):
        return urllib.parse.urlparse(origin).netloc in ALLOWED_HOSTS
```
"#,
};

#[derive(Default)]
struct Returns {
    all_true: bool,
    count: usize,
}

impl<'a> SourceOrderVisitor<'a> for Returns {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Return(r) => {
                self.count += 1;
                let is_true =
                    matches!(r.value.as_deref(), Some(Expr::BooleanLiteral(b)) if b.value);
                self.all_true &= is_true;
            }
            _ => walk_stmt(self, stmt),
        }
    }
}

pub fn check(project: &Project, hits: &mut Vec<Hit>) {
    for class in project.subclasses_of("tornado.websocket.WebSocketHandler") {
        let Some(def) = method(class, "check_origin") else {
            continue;
        };
        let mut returns = Returns {
            all_true: true,
            count: 0,
        };
        for s in def.body.iter() {
            returns.visit_stmt(s);
        }
        if returns.count > 0 && returns.all_true {
            let step = step_at(project, class.file, def, "def check_origin");
            hits.push(hit_at(
                &RULE,
                RULE.severity,
                step,
                format!(
                    "`{}.check_origin` returns True for every origin",
                    class.def.name.as_str()
                ),
            ));
        }
    }
}
