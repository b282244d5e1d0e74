//! TW011: template autoescaping turned off for the whole application.

use stormwatch_findings::Severity;

use super::{Hit, RuleInfo};
use crate::engine::AppSite;
use crate::value::Val;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW011",
    name: "autoescape-off",
    severity: Severity::Medium,
    summary: "Template autoescaping disabled",
    docs: r#"## What it catches

The `autoescape` application setting set to `None`.

## Why

Every `{{ expression }}` in every template is then inserted into HTML unescaped: any value
that reaches a template from a request is a cross-site scripting hole.

## Example

```python
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
                message: "`autoescape` is None: templates insert values into HTML unescaped".into(),
                trace: value.chain.clone(),
                stage: None,
            });
        }
    }
}
