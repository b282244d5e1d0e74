//! TW101: a deployment starts the app with a debug flag on its command line.

use stormwatch_findings::Severity;

use super::Facts;
use super::{command_hit, Hit, RuleInfo, DEBUG_FAMILY};
use crate::engine::AppSite;
use crate::eval::FLAG_NOTE;
use crate::value::Step;
use stormwatch_deploy::Deployment;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW101",
    name: "deploy-debug-flag",
    severity: Severity::High,
    summary: "Debug option passed on a production command line",
    docs: r#"## What it catches

A command in a deployment file (Dockerfile `CMD`/`ENTRYPOINT`, compose `command`,
Kubernetes `command`/`args`, systemd `ExecStart`, Procfile, supervisord `command`) that
passes `--NAME` or `--NAME=value` for a `tornado.options` option the application defines
with `define("NAME", ...)`, or a flag read with `argparse` (`add_argument("--debug",
action="store_true")`) or from `sys.argv` (`"--debug" in sys.argv`), and that turns on
debug mode or one of its parts (it flows into
`debug`, `autoreload` or `serve_traceback`, or is named so). A flag the application does not
define is ignored: it cannot change anything. A `tornado.options` flag takes effect only where
the application calls `parse_command_line()`; without that call the finding is info, saying so.

Tornado parses boolean options leniently: `--debug`, `--debug=yes` and `--debug=no` are all
true; only `false`, `f` and `0` are false.

## Why

The code may be safe by default and production still run in debug mode, because the
process is started with the flag.

## Example

```dockerfile
# Dockerfile
CMD ["python", "-m", "app.server", "--debug"]
```

```python
# app/server.py
import tornado.web
from tornado.options import define, options, parse_command_line

define("debug", default=False, type=bool)
parse_command_line()
app = tornado.web.Application(handlers, debug=options.debug)
```

## Fix

Remove the flag from production commands; keep it in development compose files or scripts.
"#,
};

fn option_of(arg: &str) -> Option<(String, Option<&str>)> {
    let body = arg.strip_prefix("--")?;
    let (name, value) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    Some((name.replace('-', "_"), value))
}

/// Tornado's boolean parsing: everything but `false`, `f` and `0` is true.
fn tornado_bool(value: Option<&str>) -> bool {
    !matches!(
        value.map(str::to_ascii_lowercase).as_deref(),
        Some("false" | "f" | "0")
    )
}

pub fn check(facts: &Facts, apps: &[AppSite], deployment: &Deployment, hits: &mut Vec<Hit>) {
    // Options whose value reaches a debug-family setting, with that setting.
    let mut controlling: Vec<(String, &str, Vec<Step>)> = Vec::new();
    // Command-line flags read with argparse or from sys.argv (`--debug`) likewise.
    let mut flags: Vec<(String, &str, Vec<Step>)> = Vec::new();
    for app in apps {
        for (key, value) in &app.settings {
            if !DEBUG_FAMILY.iter().any(|(k, bad)| k == key && *bad) {
                continue;
            }
            for step in &value.chain {
                if let Some(opt) = step.note.strip_prefix("options.") {
                    controlling.push((opt.to_string(), key.as_str(), value.chain.clone()));
                }
                if let Some(flag) = step.note.strip_prefix(FLAG_NOTE) {
                    let flag = flag.split(' ').next().unwrap_or_default();
                    flags.push((flag.to_string(), key.as_str(), value.chain.clone()));
                }
            }
        }
    }
    for cmd in &deployment.commands {
        for arg in &cmd.args {
            // A command-line flag that feeds a debug setting, passed as is or with a true value.
            let (flag, value) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (arg.as_str(), None),
            };
            if let Some((_, key, chain)) = flags.iter().find(|(f, _, _)| f == flag) {
                if tornado_bool(value) {
                    let mut hit = command_hit(
                        &RULE,
                        cmd,
                        arg,
                        format!(
                            "{} starts the app with `{arg}`, which turns on `{key}`",
                            cmd.kind.label()
                        ),
                    );
                    hit.trace.extend(chain.iter().cloned());
                    hits.push(hit);
                    continue;
                }
            }
            let Some((name, value)) = option_of(arg) else {
                continue;
            };
            if !facts.options.contains(&name) || !tornado_bool(value) {
                continue;
            }
            let flow = controlling.iter().find(|(o, _, _)| *o == name);
            let named = DEBUG_FAMILY.iter().any(|(k, bad)| *k == name && *bad);
            if flow.is_none() && !named {
                continue;
            }
            let mut hit = command_hit(
                &RULE,
                cmd,
                arg,
                match flow {
                    Some((_, key, _)) => format!(
                        "{} starts the app with `{arg}`, which sets options.{name} and so `{key}`",
                        cmd.kind.label()
                    ),
                    None => format!(
                        "{} starts the app with `{arg}` (options.{name} is defined by the app)",
                        cmd.kind.label()
                    ),
                },
            );
            if let Some((_, _, chain)) = flow {
                hit.trace.extend(chain.iter().cloned());
            }
            // `tornado.options` reads the command line only in `parse_command_line`.
            if !facts.command_line_options {
                hit.severity = Severity::Info;
                hit.message.push_str(
                    "; but the application never calls `parse_command_line`, so the flag does nothing",
                );
            }
            hits.push(hit);
        }
    }
}
