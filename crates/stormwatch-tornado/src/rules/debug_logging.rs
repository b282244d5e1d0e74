//! TW013: logging configured at DEBUG level.

use ruff_python_ast::Expr;
use stormwatch_findings::Severity;

use super::{hit_at, is_test_file, step_at, Hit, RuleInfo};
use crate::engine::{str_lit, CallSite, Project};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW013",
    name: "debug-logging",
    severity: Severity::Medium,
    summary: "Logging at DEBUG level",
    docs: r#"## What it catches

`logging.basicConfig(level=logging.DEBUG)` and `.setLevel(logging.DEBUG)` (also `"DEBUG"` or
`10`) outside test files.

## Why

At DEBUG level Tornado and most libraries log request details: headers, cookies, query
strings and bodies. In production those logs become a store of credentials and personal
data.

## Example

```python
logging.basicConfig(level=logging.DEBUG)
```

## Fix

Log at INFO or WARNING in production and make DEBUG an explicit opt-in:

```python
logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
```
"#,
};

fn is_debug_level(project: &Project, file: usize, e: &Expr) -> bool {
    if let Some(q) = project.qualify(file, e) {
        if q == "logging.DEBUG" {
            return true;
        }
    }
    if let Some(s) = str_lit(e) {
        return s.eq_ignore_ascii_case("debug");
    }
    matches!(e, Expr::NumberLiteral(n) if matches!(&n.value, ruff_python_ast::Number::Int(i) if i.as_i64() == Some(10)))
}

pub fn check(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    if is_test_file(&project.files[call.file].rel) {
        return;
    }
    let args = &call.call.arguments;
    let level = if call.qualified == "logging.basicConfig" {
        args.keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "level"))
            .map(|k| &k.value)
    } else if call.qualified.ends_with(".setLevel") {
        args.args.first()
    } else {
        None
    };
    let Some(level) = level else { return };
    if is_debug_level(project, call.file, level) {
        let step = step_at(project, call.file, call.call, &call.qualified);
        hits.push(hit_at(
            &RULE,
            RULE.severity,
            step,
            format!(
                "`{}` sets DEBUG level: request data ends up in the logs",
                call.qualified
            ),
        ));
    }
}
