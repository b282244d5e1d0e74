//! TW311: the `Server` header names a version.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{finding, Seen};
use crate::observe;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW311",
    name: "server-version-disclosed",
    severity: Severity::Info,
    summary: "the Server header discloses the server's version",
    docs: r#"## What it catches

A `Server` header with a version in it: Tornado sends `Server: TornadoServer/6.5.1` on
every response unless a handler clears it.

## Why

It tells everyone which advisories apply (TW301) without their having to try them. Hiding
it fixes nothing by itself, so this is informational.

## Example

```text
Server: TornadoServer/6.4.2
```

## Fix

```python
class BaseHandler(tornado.web.RequestHandler):
    def set_default_headers(self):
        self.clear_header("Server")
```

(or replace the header at the proxy).
"#,
};

pub fn check(seen: &Seen, out: &mut Vec<Finding>) {
    let hit = seen.answers.iter().find_map(|a| {
        let s = a.exchange.header("server")?;
        observe::discloses_version(s).then_some((a, s))
    });
    if let Some((a, server)) = hit {
        out.push(finding(
            &RULE,
            RULE.severity,
            seen.origin,
            "server",
            a.request,
            format!("the Server header discloses a version: {server}"),
            Some(format!("Server: {server}")),
        ));
    }
}
