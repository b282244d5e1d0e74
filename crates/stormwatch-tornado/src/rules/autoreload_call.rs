//! TW006: `tornado.autoreload.start()` / `watch()` called outside a `__main__` guard.

use stormwatch_findings::Severity;

use super::{Hit, RuleInfo};

use super::{guard, Guard};
use crate::engine::{CallSite, Project};
use crate::roles::Roles;
use crate::value::Step;
use crate::walk::Condition;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW006",
    name: "autoreload-call",
    severity: Severity::Medium,
    summary: "tornado.autoreload started outside a development guard",
    docs: r#"## What it catches

Calls to `tornado.autoreload.start()` (under any import alias) that run in production:
unconditionally outside `if __name__ == "__main__":`, under a condition that is always true or
true unless an environment variable is set, or unconditionally in the `__main__` block of a
script that a deployment file starts (Dockerfile, Procfile, systemd, Kubernetes, compose,
supervisord; `python app.py` or `python -m app`). A call under a condition the analysis cannot
decide (a development flag) is info. `autoreload.watch(...)` alone starts nothing and is not
reported; Tornado's own reloader module is not application code.

## Why

These start the same file watcher as `autoreload=True` regardless of application settings:
code that runs on import (a module of the app, a WSGI/ASGI entry point, a test helper pulled
into production) restarts the production process on file changes.

## Example

```python
import tornado.autoreload
tornado.autoreload.start()
```

## Fix

Start it only from a development entry point:

```python
if __name__ == "__main__":
    if options.dev:
        tornado.autoreload.start()
```
"#,
};

pub fn check(project: &Project, call: &CallSite, roles: &Roles, hits: &mut Vec<Hit>) {
    // `watch()` only adds files for a reloader that something else starts.
    if call.qualified != "tornado.autoreload.start" {
        return;
    }
    let file = &project.files[call.file];
    let step = Step {
        file: file.path.clone(),
        line: call.line,
        column: call.column,
        note: "tornado.autoreload.start()".into(),
    };
    let (severity, message) = match (guard(project, call), call.condition) {
        (Guard::Never, _) => return,
        (Guard::Always, Some(Condition::Exception | Condition::Loop)) => (
            RULE.severity,
            "tornado.autoreload.start() runs in an exception handler or a loop body, which production reaches; the process restarts on file changes".to_string(),
        ),
        (Guard::Always, Some(condition)) => {
            let text = condition.text(file);
            (
                RULE.severity,
                format!("tornado.autoreload.start() runs (its condition `{text}` is always true); the process restarts on file changes"),
            )
        }
        (Guard::UnlessEnv(var), Some(condition)) => {
            let text = condition.text(file);
            (
                RULE.severity,
                format!("tornado.autoreload.start() runs unless the environment sets ${var} (`{text}`); the process restarts on file changes"),
            )
        }
        (Guard::Depends(text), _) => (
            Severity::Info,
            format!("tornado.autoreload.start() runs only when `{text}`; make sure that is never the case in production"),
        ),
        (_, None) if call.main_guarded => {
            if !roles.started_by_deployment(&file.rel, &file.module) {
                return;
            }
            (
                RULE.severity,
                "tornado.autoreload.start() runs unconditionally in the `__main__` block of a script a deployment file starts; the production process restarts on file changes".to_string(),
            )
        }
        (_, None) => (
            RULE.severity,
            "tornado.autoreload.start() runs outside `if __name__ == \"__main__\":` and any condition; the process restarts on file changes".to_string(),
        ),
    };
    hits.push(Hit {
        rule: &RULE,
        severity,
        message,
        trace: vec![step.clone()],
        step,
        stage: None,
    });
}
