//! TW104: a deployment starts the app under a debugger, or configures one.

use stormwatch_findings::Severity;

use super::{command_hit, hit_at, Hit, RuleInfo};
use crate::value::Step;
use stormwatch_deploy::{CommandLine, Deployment};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW104",
    name: "deploy-debugger",
    severity: Severity::High,
    summary: "debugger started or configured by a production deployment file",
    docs: r#"## What it catches

In deployment files (Dockerfile, compose, Kubernetes, systemd, Procfile, supervisord):
- a command that runs the app under a debugger: `python -m debugpy --listen HOST:PORT`
  (high on every interface, medium on loopback, the default when only a port is given;
  `--wait-for-client` makes startup wait for a client), `python -m pdb|ipdb|pudb` (medium:
  the process stops for a console);
- `PYTHONBREAKPOINT` naming a debugger, so that every `breakpoint()` opens it (high for
  `web_pdb`, which listens on every interface; medium otherwise); `PYTHONBREAKPOINT=0`
  turns breakpoints off and is not reported;
- `DEBUGPY_*` / `PYDEVD_*` variables: a debugger configured for the environment (low).

Files for development (`docker-compose.dev.yml`, `*.dev.*`, `local`, `debug`...) are info.

## Why

A debugger in the production command line gives whoever reaches its port the process, its
memory and its secrets; a console debugger hangs the service at its first stop.

## Example

```dockerfile
FROM python:3.12-slim
COPY . /app
CMD ["python", "-m", "debugpy", "--listen", "0.0.0.0:5678", "/app/server.py"]
```

## Fix

Start the app directly in production (`CMD ["python", "/app/server.py"]`) and keep the
debugger to a development file (`docker-compose.dev.yml`).
"#,
};

/// The module a `python -m MODULE` command runs, and the index of the argument after it.
fn module_run(args: &[&str]) -> Option<(String, usize)> {
    args.iter().enumerate().find_map(|(i, a)| {
        let module = match a.strip_prefix("-m") {
            Some("") => args.get(i + 1).map(|m| (m.to_string(), i + 2)),
            Some(m) if !m.starts_with('-') => Some((m.to_string(), i + 1)),
            _ => None,
        }?;
        Some(module)
    })
}

/// Where `--listen [HOST:]PORT` binds: its host, `127.0.0.1` when only a port is given.
fn listen_host(args: &[&str]) -> Option<(String, String)> {
    args.iter().enumerate().find_map(|(i, a)| {
        let value = match a.strip_prefix("--listen") {
            Some("") => args.get(i + 1).map(|v| v.to_string()),
            Some(v) => v.strip_prefix('=').map(str::to_string),
            None => None,
        }?;
        let host = match value.rsplit_once(':') {
            Some((h, _)) => h.to_string(),
            None => "127.0.0.1".to_string(),
        };
        Some((a.to_string(), host))
    })
}

fn command(cmd: &CommandLine, hits: &mut Vec<Hit>) {
    let full = cmd.full();
    let Some((module, rest)) = module_run(&full) else {
        return;
    };
    let label = cmd.kind.label();
    match module.as_str() {
        "debugpy" => {
            let tail = &full[rest.min(full.len())..];
            let waits = tail.contains(&"--wait-for-client");
            let wait_note = if waits {
                "; --wait-for-client holds startup until a client attaches"
            } else {
                ""
            };
            let Some((arg, host)) = listen_host(tail) else {
                // `--connect` reaches out to a debugger host: the same hand-over.
                let mut hit = command_hit(
                    &RULE,
                    cmd,
                    "debugpy",
                    format!("{label} runs the app under debugpy: a debugger client controls the process{wait_note}"),
                );
                hit.severity = Severity::Medium;
                hits.push(hit);
                return;
            };
            let everywhere = matches!(host.as_str(), "0.0.0.0" | "" | "::" | "[::]" | "*");
            let where_ = if everywhere {
                "on every network interface".to_string()
            } else {
                format!("on {host}")
            };
            let mut hit = command_hit(
                &RULE,
                cmd,
                &arg,
                format!("{label} runs the app under debugpy listening {where_}: whoever reaches the port runs code in the server{wait_note}"),
            );
            let loopback = host == "localhost" || host == "::1" || host.starts_with("127.");
            if loopback {
                hit.severity = Severity::Medium;
            }
            hits.push(hit);
        }
        "pdb" | "ipdb" | "pudb" => {
            let mut hit = command_hit(
                &RULE,
                cmd,
                &module,
                format!("{label} runs the app under {module}: the process stops for a console before it serves"),
            );
            hit.severity = Severity::Medium;
            hits.push(hit);
        }
        _ => {}
    }
}

pub fn check(deployment: &Deployment, hits: &mut Vec<Hit>) {
    for cmd in &deployment.commands {
        command(cmd, hits);
    }
    for env in &deployment.env {
        let label = env.kind.label();
        let (severity, message) = if env.var == "PYTHONBREAKPOINT" {
            let value = env.value.trim();
            let module = value.split('.').next().unwrap_or("");
            if value.is_empty() || value == "0" || value == "pdb.set_trace" {
                continue;
            }
            let severity = if module == "web_pdb" {
                Severity::High
            } else {
                Severity::Medium
            };
            (
                severity,
                format!("{label} sets PYTHONBREAKPOINT={value}: every breakpoint() in the app opens that debugger"),
            )
        } else if env.var.starts_with("DEBUGPY_") || env.var.starts_with("PYDEVD_") {
            (
                Severity::Low,
                format!(
                    "{label} sets {}: a debugger is configured for this environment",
                    env.var
                ),
            )
        } else {
            continue;
        };
        let step = Step {
            file: env.file.clone(),
            line: env.line,
            column: 1,
            note: format!("{label} sets {}={}", env.var, env.value),
        };
        let mut hit = hit_at(&RULE, severity, step, message);
        hit.stage = Some(env.stage);
        hits.push(hit);
    }
}
