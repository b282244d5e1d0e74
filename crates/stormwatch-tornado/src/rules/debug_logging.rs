//! TW013: logging configured at DEBUG level.

use crate::engine::FileId;
use ruff_python_ast::Expr;
use std::collections::HashSet;

use stormwatch_findings::Severity;

use super::{hit_at, step_at, Hit, RuleInfo};
use crate::engine::{CallSite, Project};
use crate::value::{Tracked, Val};
use crate::walk::str_lit;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW013",
    name: "debug-logging",
    severity: Severity::Medium,
    summary: "Logging at DEBUG level",
    docs: r#"## What it catches

The application's logging set to DEBUG level (`logging.DEBUG`, `"DEBUG"` or `10`):
`logging.basicConfig(level=...)`, and `.setLevel(...)` on the root logger
(`logging.getLogger()`, `logging.root`) or on Tornado's loggers (`tornado.access`,
`tornado.application`, `tornado.general`, `tornado.log.access_log`, ...), and
`logging.config.dictConfig(...)` whose `root` or `tornado` logger (or the `""` logger) has
level DEBUG, with the dict followed like settings are. A dedicated logger
or handler set to DEBUG (`logging.getLogger("serial").setLevel(DEBUG)` writing its own file)
is a deliberate choice, not the application's level, and is not reported. A call that runs
only under a condition (`if os.environ.get("DEBUG"):`, `if options.debug:`) is reported as
info with the condition, like a setting that depends on the environment. Tornado's own
`logging` option set to `"debug"` (its `define` default, or `options.logging = "debug"` in
code) in an application that lets Tornado configure logging (`parse_command_line`,
`parse_config_file`, `enable_pretty_logging`) is reported too.

## Why

At DEBUG level Tornado and most libraries log request details: headers, cookies, query
strings and bodies. In production those logs become a store of credentials and personal
data.

## Example

```python
import logging

logging.basicConfig(level=logging.DEBUG)
```

## Fix

Log at INFO or WARNING in production and make DEBUG an explicit opt-in:

```python
logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
```
"#,
};

fn is_debug_level(project: &Project, file: FileId, e: &Expr) -> bool {
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

/// Whether `.setLevel` is called on the application's own level: the root logger or one of
/// Tornado's loggers, not a dedicated logger or handler.
fn is_application_logger(project: &Project, file: FileId, receiver: &Expr) -> bool {
    if let Expr::Call(get) = receiver {
        if project.qualify(file, &get.func).as_deref() != Some("logging.getLogger") {
            return false;
        }
        return match get.arguments.args.first() {
            None => true,
            Some(arg) => str_lit(arg).is_some_and(|name| {
                name.is_empty()
                    || name == "root"
                    || name == "tornado"
                    || name.starts_with("tornado.")
            }),
        };
    }
    matches!(
        project.qualify(file, receiver).as_deref(),
        Some(
            "logging.root"
                | "tornado.log.access_log"
                | "tornado.log.app_log"
                | "tornado.log.gen_log"
        )
    )
}

/// The files that set Tornado's own logger (`logging.getLogger("tornado")`) to a level above
/// DEBUG: there, DEBUG on the root logger does not reach Tornado's request logs.
pub fn tornado_quieted(project: &Project, calls: &[CallSite]) -> HashSet<FileId> {
    calls
        .iter()
        .filter(|c| c.qualified == "logging.getLogger().setLevel")
        .filter(|c| {
            let Expr::Attribute(attr) = &*c.call.func else {
                return false;
            };
            let Expr::Call(get) = &*attr.value else {
                return false;
            };
            let tornado =
                get.arguments.args.first().and_then(str_lit).as_deref() == Some("tornado");
            tornado
                && c.call
                    .arguments
                    .args
                    .first()
                    .is_some_and(|l| !is_debug_level(project, c.file, l))
        })
        .map(|c| c.file)
        .collect()
}

/// Whether a `setLevel` receiver is Tornado's own logger.
fn is_tornado_logger(receiver: &Expr) -> bool {
    let Expr::Call(get) = receiver else {
        return false;
    };
    get.arguments
        .args
        .first()
        .and_then(str_lit)
        .is_some_and(|n| n == "tornado" || n.starts_with("tornado."))
}

/// Whether a logging level value is DEBUG.
fn is_debug_value(v: &Val) -> bool {
    match v {
        Val::Str(s) => s.eq_ignore_ascii_case("debug"),
        Val::Int(i) => *i == 10,
        Val::Ref(q) => q == "logging.DEBUG",
        _ => false,
    }
}

/// The `level` of an entry of a `dictConfig` dict.
fn level_of(entry: &Tracked) -> Option<&Tracked> {
    match &entry.val {
        Val::Dict(items) => items.iter().find(|(k, _)| k == "level").map(|(_, v)| v),
        _ => None,
    }
}

/// `logging.config.dictConfig({...})`: the root logger (`root`, or `""` under `loggers`) or
/// Tornado's at DEBUG, unless Tornado's own logger is configured above it.
fn check_dict_config(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    let Some(arg) = call.call.arguments.args.first() else {
        return;
    };
    let at = ruff_text_size::Ranged::range(call.call).start().to_usize();
    let config = project.eval(call.file, arg, call.scope, at, 0);
    let Val::Dict(items) = &config.val else {
        return;
    };
    let get = |key: &str| items.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let mut levels: Vec<(&str, &Tracked)> = Vec::new();
    if let Some(level) = get("root").and_then(level_of) {
        levels.push(("root", level));
    }
    if let Some(Val::Dict(loggers)) = get("loggers").map(|l| &l.val) {
        for (name, entry) in loggers {
            let tornado = name == "tornado" || name.starts_with("tornado.");
            if name.is_empty() || name == "root" || tornado {
                if let Some(level) = level_of(entry) {
                    levels.push((if tornado { name } else { "root" }, level));
                }
            }
        }
    }
    let tornado_quiet = levels.iter().any(|(n, l)| {
        *n == "tornado" && matches!(l.val, Val::Str(_) | Val::Int(_)) && !is_debug_value(&l.val)
    });
    for (name, level) in levels {
        if name == "root" && tornado_quiet {
            continue;
        }
        let (severity, how) = match &level.val {
            v if is_debug_value(v) => (RULE.severity, String::new()),
            Val::Env { var, unset, .. } if is_debug_value(&unset.val) => (
                RULE.severity,
                format!(" unless the environment sets ${var}"),
            ),
            _ => continue,
        };
        let (severity, when) = match &call.condition {
            None => (severity, String::new()),
            Some(c) => (
                Severity::Info,
                format!(
                    " when `{}`: make sure that is never true in production",
                    c.text(&project.files[call.file])
                ),
            ),
        };
        let Some(origin) = level.chain.first().cloned() else {
            continue;
        };
        let mut trace = level.chain.clone();
        trace.push(step_at(
            project,
            call.file,
            call.call,
            "logging.config.dictConfig",
        ));
        hits.push(Hit {
            rule: &RULE,
            severity,
            step: origin,
            message: format!(
                "`logging.config.dictConfig` sets the {name} logger to DEBUG{how}{when}: request data ends up in the logs"
            ),
            trace,
            stage: None,
        });
    }
}

pub fn check(
    project: &Project,
    call: &CallSite,
    tornado_quieted: &HashSet<FileId>,
    hits: &mut Vec<Hit>,
) {
    if call.qualified == "logging.config.dictConfig" {
        return check_dict_config(project, call, hits);
    }
    let args = &call.call.arguments;
    let level = if call.qualified == "logging.basicConfig" {
        if tornado_quieted.contains(&call.file) {
            return;
        }
        args.find_keyword("level").map(|k| &k.value)
    } else if call.qualified.ends_with(".setLevel") {
        let Expr::Attribute(attr) = &*call.call.func else {
            return;
        };
        if !is_application_logger(project, call.file, &attr.value) {
            return;
        }
        if tornado_quieted.contains(&call.file) && !is_tornado_logger(&attr.value) {
            return;
        }
        args.args.first()
    } else {
        None
    };
    let Some(level) = level else { return };
    if !is_debug_level(project, call.file, level) {
        return;
    }
    let step = step_at(project, call.file, call.call, &call.qualified);
    let (severity, message) = match &call.condition {
        None => (
            RULE.severity,
            format!(
                "`{}` sets DEBUG level: request data ends up in the logs",
                call.qualified
            ),
        ),
        Some(condition) => (Severity::Info, {
            let condition = condition.text(&project.files[call.file]);
            format!(
                    "`{}` sets DEBUG level when `{condition}`: make sure that is never true in production",
                    call.qualified
                )
        }),
    };
    hits.push(hit_at(&RULE, severity, step, message));
}

/// `tornado.options.options.logging` at "debug" (its define, a config file, or set in code),
/// when the application lets Tornado configure logging from it.
pub fn check_options(project: &Project, calls: &[CallSite], hits: &mut Vec<Hit>) {
    let Some(option) = project.options.get("logging") else {
        return;
    };
    let configures = project.command_line_options
        || calls.iter().any(|c| {
            matches!(
                c.qualified.as_str(),
                "tornado.log.enable_pretty_logging"
                    | "tornado.options.parse_config_file"
                    | "tornado.options.options.parse_config_file"
            )
        });
    if !configures {
        return;
    }
    let is_debug = |v: &Val| matches!(v, Val::Str(s) if s.eq_ignore_ascii_case("debug"));
    let (severity, value, when) = match &option.value.val {
        v if is_debug(v) => (RULE.severity, &option.value, String::new()),
        Val::Cond {
            condition, then, ..
        } if is_debug(&then.val) => (
            Severity::Info,
            &**then,
            format!(" when `{condition}`: make sure that is never true in production"),
        ),
        _ => return,
    };
    let Some(origin) = value.chain.first().cloned() else {
        return;
    };
    hits.push(Hit {
        rule: &RULE,
        severity,
        step: origin,
        message: format!(
            "`options.logging` is \"debug\"{when}: Tornado logs at DEBUG level, request data ends up in the logs"
        ),
        trace: value.chain.clone(),
        stage: None,
    });
}
