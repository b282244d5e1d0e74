//! TW015: a remote debugger, a breakpoint or an interactive console left in code that runs
//! in production.

use stormwatch_findings::Severity;

use super::{guard, Guard, Hit, RuleInfo};
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use crate::engine::{CallSite, Project};
use crate::value::{Step, Val};

pub const RULE: RuleInfo = RuleInfo {
    id: "TW015",
    name: "remote-debugger",
    severity: Severity::High,
    summary: "remote debugger, breakpoint or interactive console in production code",
    docs: r#"## What it catches

Calls that open a debugger or a console in code that runs in production:
- debuggers that listen for a client: `debugpy.listen(...)`, `remote_pdb.set_trace()` /
  `RemotePdb(...)`, `rpdb.set_trace()` / `Rpdb(...)`, `web_pdb.set_trace()` / `WebPdb(...)`
  (high when the address is every interface — `0.0.0.0`, `::`, `""`, web_pdb's default —
  medium on loopback or an address the analysis cannot read);
- debuggers that connect out to a debugger host: `pydevd.settrace(...)`,
  `pydevd_pycharm.settrace(...)` (high for a host other than loopback);
- calls that stop the process for a debugger: `debugpy.wait_for_client()`,
  `debugpy.breakpoint()`, `pdb.set_trace()`, `pdb.post_mortem()`, `ipdb.set_trace()`,
  `pudb.set_trace()`, `breakpoint()` (medium);
- interactive consoles, `code.interact()`, `IPython.embed()`, `IPython.start_ipython()`:
  medium in a request handler's method, info elsewhere (an admin `shell` command opens one
  on purpose).

A call under a condition is judged by the condition's production value, as `debug` is:
never true, it is not reported; undecided, it is info. Test and example code is info.

## Why

A listening debugger runs any code its client sends: on every interface, whoever reaches
the port owns the process and its secrets; on loopback, every local process and SSRF does.
A debugger that connects out hands the process to the debugger host. A breakpoint or a
console waits on standard input: the request that reaches it hangs the worker, and the
whole single-threaded Tornado server with it.

## Example

```python
import debugpy
debugpy.listen(("0.0.0.0", 5678))
```

## Fix

Remove the call, or start the debugger only from a development entry point
(`python -m debugpy --listen 127.0.0.1:5678 app.py` on your machine). For `breakpoint()`,
`PYTHONBREAKPOINT=0` in the production environment turns it off; removing it is better.
"#,
};

/// What a call does, by the debugger's API.
enum Kind {
    /// Listens for a client; `host` is where the address argument is read from, and the
    /// library's default host when none is given.
    Listens {
        address: Option<(&'static str, usize)>,
        default_host: &'static str,
    },
    /// Connects out to a debugger host (`host`, first argument or keyword).
    Connects,
    /// Stops the process for a debugger.
    Stops,
    /// Opens an interactive console: a tool's own purpose (an admin `shell` command), a
    /// leftover only where requests reach it.
    Console,
}

fn kind(qualified: &str) -> Option<Kind> {
    let listens = |address, default_host| {
        Some(Kind::Listens {
            address,
            default_host,
        })
    };
    match qualified {
        "debugpy.listen" => listens(Some(("address", 0)), "127.0.0.1"),
        "remote_pdb.set_trace" | "remote_pdb.RemotePdb" => listens(Some(("host", 0)), "127.0.0.1"),
        "rpdb.set_trace" | "rpdb.Rpdb" => listens(Some(("addr", 0)), "127.0.0.1"),
        "web_pdb.set_trace" | "web_pdb.WebPdb" => listens(Some(("host", 0)), ""),
        "pydevd.settrace" | "pydevd_pycharm.settrace" => Some(Kind::Connects),
        "debugpy.wait_for_client"
        | "debugpy.breakpoint"
        | "pdb.set_trace"
        | "pdb.post_mortem"
        | "pdb.Pdb().set_trace"
        | "ipdb.set_trace"
        | "ipdb.post_mortem"
        | "pudb.set_trace"
        | "breakpoint" => Some(Kind::Stops),
        "code.interact" | "IPython.embed" | "IPython.start_ipython" => Some(Kind::Console),
        _ => None,
    }
}

/// Where a host value is bound: every interface, loopback, another host, or unknown.
#[derive(PartialEq)]
enum Host {
    Everywhere,
    Loopback,
    Other(String),
    Unknown,
}

fn host_of(text: &str) -> Host {
    match text {
        "" | "0.0.0.0" | "::" | "[::]" | "*" => Host::Everywhere,
        "127.0.0.1" | "localhost" | "::1" | "[::1]" => Host::Loopback,
        h if h.starts_with("127.") => Host::Loopback,
        h => Host::Other(h.to_string()),
    }
}

/// The host of an address value: `"h"`, `("h", port)`, a bare port (the default host).
fn address_host(val: &Val, default_host: &str) -> Host {
    match val {
        Val::Str(s) => host_of(s),
        Val::Int(_) => host_of(default_host),
        Val::List(parts) => match parts.first().map(|p| &p.val) {
            Some(Val::Str(s)) => host_of(s),
            _ => Host::Unknown,
        },
        _ => Host::Unknown,
    }
}

pub fn check(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    let Some(kind) = kind(&call.qualified) else {
        return;
    };
    let file = &project.files[call.file];
    let at = call.call.range().start().to_usize();
    let argument = |name: &str, position: usize| -> Option<&Expr> {
        call.call.arguments.find_argument_value(name, position)
    };
    let eval = |e: &Expr| project.eval(call.file, e, call.scope, at, 0).val;
    let callee = crate::walk::short(project.text(call.file, &*call.call.func));
    let (severity, what) = match kind {
        Kind::Listens {
            address,
            default_host,
        } => {
            let host = match address.and_then(|(name, pos)| argument(name, pos)) {
                Some(e) => address_host(&eval(e), default_host),
                None => host_of(default_host),
            };
            match host {
                Host::Everywhere => (
                    Severity::High,
                    format!("{callee}() opens a debugger on every network interface: whoever reaches the port runs code in the server"),
                ),
                Host::Other(h) => (
                    Severity::High,
                    format!("{callee}() opens a debugger on {h}: whoever reaches the port runs code in the server"),
                ),
                Host::Loopback => (
                    Severity::Medium,
                    format!("{callee}() opens a debugger on loopback: any local process (or a request forgery) runs code in the server"),
                ),
                Host::Unknown => (
                    Severity::Medium,
                    format!("{callee}() opens a debugger on an address the analysis cannot read: whoever reaches it runs code in the server"),
                ),
            }
        }
        Kind::Connects => match argument("host", 0).map(eval) {
            Some(Val::Str(h)) if !matches!(host_of(&h), Host::Loopback) => (
                Severity::High,
                format!("{callee}() hands the process to a debugger at {h}"),
            ),
            _ => (
                Severity::Medium,
                format!("{callee}() hands the process to a remote debugger and waits for it"),
            ),
        },
        Kind::Stops => (
            Severity::Medium,
            format!("{callee}() stops the server for a debugger or console: the request that reaches it hangs the process"),
        ),
        Kind::Console if in_request_handler(project, call) => (
            Severity::Medium,
            format!("{callee}() opens an interactive console in a request handler: the request that reaches it hangs the process"),
        ),
        Kind::Console => (
            Severity::Info,
            format!("{callee}() opens an interactive console (a command-line tool's shell?): make sure the server never reaches it"),
        ),
    };
    let step = Step {
        file: file.path.clone(),
        line: call.line,
        column: call.column,
        note: format!("{callee}()"),
    };
    let (severity, message) = match guard(project, call) {
        Guard::Never => return,
        Guard::Always => (severity, what),
        Guard::UnlessEnv(var) => (
            severity,
            format!("{what} (unless the environment sets ${var})"),
        ),
        Guard::Depends(text) => (
            Severity::Info,
            format!("{what}, when `{text}`: make sure that is never the case in production"),
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

/// Whether the call is in a method of a `RequestHandler` subclass.
fn in_request_handler(project: &Project, call: &CallSite) -> bool {
    call.scope.class.is_some_and(|class| {
        project
            .subclasses_of("tornado.web.RequestHandler")
            .iter()
            .any(|h| std::ptr::eq(h.def, class))
    })
}
