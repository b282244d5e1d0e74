//! TW008: an application with state-changing handlers runs without `xsrf_cookies`.

use stormwatch_findings::Severity;

pub use super::xsrf_handlers::LateWrites;
use super::xsrf_handlers::{judge, CookieWrites, Verdict};
use super::{app_step, Hit, RuleInfo};
use crate::engine::{AppSite, Project};
use crate::value::{Step, Truth, Val};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW008",
    name: "xsrf-disabled",
    severity: Severity::Medium,
    summary: "XSRF protection off while handlers accept POST",
    docs: r#"## What it catches

An `Application` whose `xsrf_cookies` setting is absent or false, and whose own route table
sends requests to a handler that has `post`, `put`, `patch` or `delete` acting for the
logged-in user (decorated with `@tornado.web.authenticated` or another `auth`/`login_required`
decorator, reading `self.current_user`, or behind a `prepare` that does), where that user is
known by a cookie: its `get_current_user` (or `prepare`, or the write method's decorator, or a
helper they call) reads `get_secure_cookie`/`get_signed_cookie`/`get_cookie`. Methods are found as Python finds them:
in the class, its mixins and bases in C3 order across modules, and through class-body aliases
(`post = get`). The finding names that handler and method.

Judged per application, from the routes passed to it (lists and tuples, `url()`, `URLSpec`,
`Rule`, route kwargs, handlers named by dotted strings, lists joined with `+`, `extend`,
`append`, `list(...)`, built by helper functions or imported from other modules, and
`add_handlers`). Parts of a table the analysis cannot follow do not hide what the rest
proves: the finding names them. A handler that checks the request itself (its `prepare` or
method calls `check_xsrf_cookie`, or requires an `Origin`, `X-Requested-With` or token header)
is not reported, nor are writes whose cookie is only ever set `SameSite=Strict` (or `Lax`,
unless the write is a `get` alias: `Lax` cookies come with cross-site top-level `GET`s), which
browsers keep out of cross-site requests (info). Applications whose state-changing handlers authenticate with headers or
tokens, or not at all, are reported as info: a cross-site request carries cookies, not
headers. When the settings cannot all be followed (`**settings` from a source the analysis
cannot read), "not set" is not claimed; when no route can be followed, the finding is info.
An `xsrf_cookies` that is off unless the environment turns it on counts as off; one decided by
something the analysis cannot read gives a low finding when the routes prove an exposure.

## Why

Without `xsrf_cookies`, Tornado does not check the `_xsrf` token, so any site a logged-in
user visits can submit forms to the application with the user's cookies (cross-site
request forgery).

## Example

```python
import tornado.web

class BaseHandler(tornado.web.RequestHandler):
    def get_current_user(self):
        return self.get_signed_cookie("user")

class CommentHandler(BaseHandler):
    @tornado.web.authenticated
    def post(self):
        save_comment(self.current_user, self.get_argument("text"))

app = tornado.web.Application([(r"/comment", CommentHandler)], cookie_secret=SECRET)
```

## Fix

```python
app = tornado.web.Application(handlers, cookie_secret=SECRET, xsrf_cookies=True)
```

and include `{% module xsrf_form_html() %}` in forms (or send the `X-XSRFToken` header).
"#,
};

pub fn check(project: &Project, app: &AppSite, late: &LateWrites, hits: &mut Vec<Hit>) {
    let setting = app.settings.iter().find(|(k, _)| k == "xsrf_cookies");
    // What the setting is, and how much an exposure found with it weighs: a setting decided
    // at run time only ever gives a finding when the routes prove an exposure.
    let (state, weight, decided) = match setting.map(|(_, v)| v.truth()) {
        None if !app.complete => return,
        None => match late.reaching(app.file) {
            // Set after construction where the analysis cannot tell which application it is.
            Some((file, at)) => {
                let (line, column) = project.files[file].position(at);
                let write = Step {
                    file: project.files[file].path.clone(),
                    line,
                    column,
                    note: "xsrf_cookies written into application settings".into(),
                };
                let step = app_step(app);
                hits.push(Hit {
                    rule: &RULE,
                    severity: Severity::Info,
                    step: step.clone(),
                    message: "`xsrf_cookies` is not set where the application is built, but code elsewhere writes it into application settings; not judged".into(),
                    trace: vec![write, step],
                    stage: None,
                });
                return;
            }
            None => ("not set".to_string(), RULE.severity, true),
        },
        Some(Truth::False) => ("false".to_string(), RULE.severity, true),
        Some(Truth::Env {
            var,
            when_unset: false,
            condition,
        }) => (
            format!("false unless the environment sets ${var} (`{condition}`)"),
            RULE.severity,
            false,
        ),
        Some(Truth::Depends(condition)) => (
            format!("decided by `{condition}`, which the analysis cannot decide; when it is off,"),
            Severity::Low,
            false,
        ),
        Some(Truth::Unknown) => match setting.map(|(_, v)| &v.val) {
            Some(Val::Opaque(_)) | None => return,
            Some(_) => (
                "set to a value the analysis cannot read; when it is off,".to_string(),
                Severity::Low,
                false,
            ),
        },
        Some(_) => return,
    };
    let step = app_step(app);
    let mut exposed: Option<(String, String, Step)> = None;
    let mut unauthenticated: Option<String> = None;
    let mut same_site_only: Option<String> = None;
    let writes = CookieWrites::new();
    // What could not be followed: parts of the table, then handlers outside the repository.
    let mut unknown: Vec<Step> = app.routes.unfollowed.clone();
    for route in &app.routes.routes {
        let Some(class) = project.class_by_name(&route.handler) else {
            // Tornado's own handlers (static files, redirects) accept no user's writes.
            if !route.handler.starts_with("tornado.") {
                let mut s = route.step.clone();
                s.note = route.handler.clone();
                unknown.push(s);
            }
            continue;
        };
        match judge(project, class, &writes) {
            Verdict::Exposed { method, how } => {
                exposed.get_or_insert((method, how, route.step.clone()));
            }
            Verdict::NoCookieUser(m) => {
                unauthenticated.get_or_insert(m);
            }
            Verdict::SameSite(why) => {
                same_site_only.get_or_insert(why);
            }
            Verdict::Fine => {}
        }
    }
    let unknown_note = (!unknown.is_empty()).then(|| unfollowed_note(&unknown));
    if !decided && exposed.is_none() {
        return;
    }
    let (severity, mut message, mut trace) = match (exposed, unauthenticated) {
        (Some((method, how, at)), _) => (
            weight,
            format!(
                "`xsrf_cookies` is {state}{} {method} accepts cookie-authenticated state-changing requests ({how}): any site a logged-in user visits can submit them",
                if state.ends_with(',') { "" } else { " but" }
            ),
            vec![at],
        ),
        (None, _) if same_site_only.is_some() => (
            Severity::Info,
            format!(
                "`xsrf_cookies` is {state}; {}",
                same_site_only.unwrap_or_default()
            ),
            Vec::new(),
        ),
        (None, _) if unknown_note.is_some() && app.routes.routes.is_empty() => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; the application's routes could not be followed to tell whether it accepts cookie-authenticated state-changing requests"),
            Vec::new(),
        ),
        (None, _) if unknown_note.is_some() => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; the routes that could be followed show no cookie-authenticated state-changing handler"),
            Vec::new(),
        ),
        (None, Some(method)) => (
            Severity::Info,
            format!("`xsrf_cookies` is {state}; {method} accepts state-changing requests, but no handler of this application acts for a user it knows by a cookie"),
            Vec::new(),
        ),
        (None, None) => return,
    };
    if let Some(note) = unknown_note {
        message.push_str(&note);
        trace.extend(unknown);
    }
    // The application is the end of the trace: where the finding is judged.
    trace.push(step.clone());
    hits.push(Hit {
        rule: &RULE,
        severity,
        step,
        message,
        trace,
        stage: None,
    });
}

/// Names what could not be followed (the trace has where): route table parts by their code,
/// handlers by name.
fn unfollowed_note(unknown: &[Step]) -> String {
    let handlers = unknown
        .iter()
        .filter(|s| s.note == crate::routes::UNKNOWN_HANDLER)
        .count();
    let mut named: Vec<String> = unknown
        .iter()
        .filter(|s| s.note != crate::routes::UNKNOWN_HANDLER)
        .map(|s| format!("`{}`", s.note))
        .collect();
    named.dedup();
    let extra = named.len().saturating_sub(3);
    named.truncate(3);
    if extra > 0 {
        named.push(format!("{extra} more"));
    }
    match handlers {
        0 => {}
        1 => named.push("1 route handler".into()),
        n => named.push(format!("{n} route handlers")),
    }
    format!("; not followed: {}", named.join(", "))
}
