//! TW006: `tornado.autoreload.start()` / `watch()` called outside a `__main__` guard.

use stormwatch_findings::Severity;

use super::{Hit, RuleInfo};
use crate::engine::{CallSite, Project};
use crate::value::Step;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW006",
    name: "autoreload-call",
    severity: Severity::Medium,
    summary: "tornado.autoreload started outside a development guard",
    docs: r#"## What it catches

Calls to `tornado.autoreload.start()` or `tornado.autoreload.watch(...)` (under any import
alias) that are not inside `if __name__ == "__main__":`.

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

pub fn check(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    let what = match call.qualified.as_str() {
        "tornado.autoreload.start" => "start()",
        "tornado.autoreload.watch" => "watch()",
        _ => return,
    };
    if call.main_guarded {
        return;
    }
    let step = Step {
        file: project.files[call.file].path.clone(),
        line: call.line,
        column: call.column,
        note: format!("tornado.autoreload.{what}"),
    };
    hits.push(Hit {
        rule: &RULE,
        severity: RULE.severity,
        message: format!(
            "tornado.autoreload.{what} runs outside `if __name__ == \"__main__\":`; the process restarts on file changes"
        ),
        trace: vec![step.clone()],
        step,
        stage: None,
    });
}
