//! TW011: template autoescaping turned off for the whole application.

use stormwatch_findings::Severity;

use super::{Hit, RuleInfo};
use crate::engine::{AppSite, CallSite, Project};
use crate::value::Val;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW011",
    name: "autoescape-off",
    severity: Severity::Medium,
    summary: "Template autoescaping disabled",
    docs: r#"## What it catches

The `autoescape` application setting set to `None`, and template loaders or templates
created with `autoescape=None` (`tornado.template.Loader(path, autoescape=None)`,
`DictLoader`, `Template`), which render without escaping whatever the application says.

## Why

Every `{{ expression }}` in every template is then inserted into HTML unescaped: any value
that reaches a template from a request is a cross-site scripting hole.

## Example

```python
from tornado.web import Application

app = Application(handlers, template_path="templates", autoescape=None)
```

## Fix

Remove the setting (the default escapes with `xhtml_escape`) and mark the rare trusted
values with `{% raw %}`.
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    for (name, value) in &app.settings {
        if name == "autoescape" && value.val == Val::None {
            let Some(origin) = value.chain.first().cloned() else {
                continue;
            };
            hits.push(Hit {
                rule: &RULE,
                severity: RULE.severity,
                step: origin,
                message: MESSAGE.into(),
                trace: value.chain.clone(),
                stage: None,
            });
        }
    }
}

const MESSAGE: &str = "`autoescape` is None: templates insert values into HTML unescaped";

/// `tornado.template.Loader(..., autoescape=None)` and its kin.
pub fn check_call(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    if !matches!(
        call.qualified.as_str(),
        "tornado.template.Loader" | "tornado.template.DictLoader" | "tornado.template.Template"
    ) {
        return;
    }
    let Some(kw) = call.call.arguments.find_keyword("autoescape") else {
        return;
    };
    let value = project.eval(call.file, &kw.value, call.scope, usize::MAX, 0);
    if value.val != Val::None {
        return;
    }
    let Some(origin) = value.chain.first().cloned() else {
        return;
    };
    let mut trace = value.chain.clone();
    trace.push(super::step_at(
        project,
        call.file,
        call.call,
        &call.qualified,
    ));
    hits.push(Hit {
        rule: &RULE,
        severity: RULE.severity,
        step: origin,
        message: format!(
            "{MESSAGE} (`{}`)",
            call.qualified.rsplit('.').next().unwrap_or_default()
        ),
        trace,
        stage: None,
    });
}
