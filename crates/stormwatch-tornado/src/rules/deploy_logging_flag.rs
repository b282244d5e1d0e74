//! TW103: a deployment starts the app with `--logging=debug`.

use stormwatch_findings::Severity;

use super::Facts;
use super::{command_hit, Hit, RuleInfo};
use stormwatch_deploy::Deployment;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW103",
    name: "deploy-debug-logging",
    severity: Severity::Medium,
    summary: "--logging=debug on a production command line",
    docs: r#"## What it catches

`--logging=debug` on a deployment command line of an application that parses its command
line with `tornado.options.parse_command_line()` (Tornado defines the `logging` option
itself). Where nothing calls `parse_command_line`, the flag does nothing: reported at info,
saying so.

## Why

At DEBUG level Tornado logs request details; in production the logs then hold cookies,
headers and bodies.

## Example

```ini
# deploy/app.service
[Service]
ExecStart=/srv/app/venv/bin/python -m app.server --logging=debug
```

```python
# app/server.py
from tornado.options import parse_command_line

parse_command_line()
```

## Fix

Use `--logging=info` (the default) or `warning` in production.
"#,
};

pub fn check(facts: &Facts, deployment: &Deployment, hits: &mut Vec<Hit>) {
    for cmd in &deployment.commands {
        for arg in &cmd.args {
            let Some(level) = arg.strip_prefix("--logging=") else {
                continue;
            };
            if !level.eq_ignore_ascii_case("debug") {
                continue;
            }
            let mut hit = command_hit(
                &RULE,
                cmd,
                arg,
                format!(
                    "{} starts the app with `{arg}`: request data ends up in the logs",
                    cmd.kind.label()
                ),
            );
            // Only `parse_command_line` reads it: without that call it does nothing, said so.
            if !facts.command_line_options {
                hit.severity = Severity::Info;
                hit.message = format!(
                    "{} passes `{arg}`, but the application never calls `parse_command_line`, so it does nothing",
                    cmd.kind.label()
                );
            }
            hits.push(hit);
        }
    }
}
