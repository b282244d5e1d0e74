//! TW008: an application with state-changing handlers runs without `xsrf_cookies`.

use ruff_python_ast::Stmt;
use stormwatch_findings::Severity;

use super::{app_step, Hit, RuleInfo};
use crate::engine::{AppSite, Project};
use crate::value::Truth;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW008",
    name: "xsrf-disabled",
    severity: Severity::Medium,
    summary: "XSRF protection off while handlers accept POST",
    docs: r#"## What it catches

An `Application` whose `xsrf_cookies` setting is absent or false, in a project whose
`RequestHandler` subclasses define `post`, `put`, `patch` or `delete`.

## Why

Without `xsrf_cookies`, Tornado does not check the `_xsrf` token, so any site a logged-in
user visits can submit forms to the application with the user's cookies (cross-site
request forgery).

## Example

```python
class CommentHandler(tornado.web.RequestHandler):
    def post(self): ...

app = tornado.web.Application([(r"/comment", CommentHandler)], cookie_secret=SECRET)
```

## Fix

```python
app = tornado.web.Application(handlers, cookie_secret=SECRET, xsrf_cookies=True)
```

and include `{% module xsrf_form_html() %}` in forms (or send the `X-XSRFToken` header).
"#,
};

/// The first handler method that accepts a state-changing request, if any (computed once
/// per project, not per application).
pub fn mutating_handler(project: &Project) -> Option<String> {
    project
        .subclasses_of("tornado.web.RequestHandler")
        .into_iter()
        .find_map(|c| {
            c.def.body.iter().find_map(|s| match s {
                Stmt::FunctionDef(f)
                    if matches!(f.name.as_str(), "post" | "put" | "patch" | "delete") =>
                {
                    Some(format!("{}.{}", c.def.name.as_str(), f.name.as_str()))
                }
                _ => None,
            })
        })
}

pub fn check(project: &Project, app: &AppSite, mutating: Option<&str>, hits: &mut Vec<Hit>) {
    let setting = app.settings.iter().find(|(k, _)| k == "xsrf_cookies");
    let off = match setting {
        None => true,
        Some((_, v)) => v.truth() == Truth::False,
    };
    if !off {
        return;
    }
    let Some(handler) = mutating else { return };
    let state = if setting.is_some() {
        "false"
    } else {
        "not set"
    };
    let step = app_step(project, app);
    hits.push(super::hit_at(
        &RULE,
        RULE.severity,
        step,
        format!("`xsrf_cookies` is {state} but handlers accept state-changing requests (e.g. {handler})"),
    ));
}
