//! TW010: a WebSocket handler accepts every origin.

use ruff_python_ast::visitor::source_order::{walk_stmt, SourceOrderVisitor};
use ruff_python_ast::{Expr, Stmt};
use stormwatch_findings::Severity;

use ruff_text_size::{Ranged, TextRange};

use super::{hit_at, method, step_at, Hit, RuleInfo};
use crate::engine::{ClassInfo, Project};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW010",
    name: "websocket-any-origin",
    severity: Severity::High,
    summary: "WebSocket check_origin always returns True",
    docs: r#"## What it catches

A `check_origin` override in a `tornado.websocket.WebSocketHandler` subclass (or a mixin or
base class it inherits it from) whose every `return` returns `True`, or
`check_origin = lambda self, origin: True`, in a handler that knows its user by a cookie
(`get_current_user` or `prepare` reading one, a decorator of `open`, or `open` itself). A
socket with no cookie authentication is reported as info: another site can open it, but
gains nothing a direct connection would not.

## Why

Browsers send cookies with WebSocket handshakes from any site. Accepting every origin lets
any web page open an authenticated socket as the visiting user (cross-site WebSocket
hijacking).

## Example

```python
import tornado.websocket

class Feed(tornado.websocket.WebSocketHandler):
    def get_current_user(self):
        return self.get_secure_cookie("user")

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

/// Whether every `return` of a function body returns `True` (and there is one).
fn always_true(body: &[Stmt]) -> bool {
    let mut returns = Returns {
        all_true: true,
        count: 0,
    };
    for s in body {
        returns.visit_stmt(s);
    }
    returns.count > 0 && returns.all_true
}

/// A `check_origin` defined in a class body that accepts every origin: a method, or
/// `check_origin = lambda self, origin: True`.
fn accepts_any(class: &ClassInfo) -> Option<(&'static str, TextRange)> {
    class.def.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == "check_origin" => {
            always_true(&f.body).then_some(("def check_origin", f.range()))
        }
        Stmt::Assign(a)
            if a.targets
                .iter()
                .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "check_origin")) =>
        {
            let is_true = matches!(&*a.value, Expr::Lambda(l) if matches!(&*l.body, Expr::BooleanLiteral(b) if b.value));
            is_true.then_some(("check_origin = lambda ...: True", a.range()))
        }
        _ => None,
    })
}

pub fn check(project: &Project, hits: &mut Vec<Hit>) {
    for class in project.subclasses_of("tornado.websocket.WebSocketHandler") {
        let Some(index) = project.class_index(&class.qualified) else {
            continue;
        };
        // The `check_origin` the handler actually uses: its own or the nearest base's (a
        // mixin included), reported once where it is written.
        let Some(defining) = project
            .mro(index)
            .into_iter()
            .map(|c| project.class(c))
            .find(|c| method(c, "check_origin").is_some() || accepts_any(c).is_some())
        else {
            continue;
        };
        let Some((note, range)) = accepts_any(defining) else {
            continue;
        };
        let step = step_at(project, defining.file, &range, note);
        // Hijacking needs the browser's ambient credentials: a socket that knows no user
        // by a cookie gives another site nothing a direct connection would not.
        let (severity, why) = match super::xsrf_handlers::websocket_cookie_user(project, index) {
            Some(how) => (RULE.severity, format!(" and is cookie-authenticated ({how})")),
            None => (
                Severity::Info,
                ": no cookie authentication found (get_current_user, prepare, open), so other sites gain nothing a direct connection would not"
                    .to_string(),
            ),
        };
        hits.push(hit_at(
            &RULE,
            severity,
            step,
            format!(
                "`{}.check_origin` returns True for every origin{why}",
                defining.def.name.as_str()
            ),
        ));
    }
}
