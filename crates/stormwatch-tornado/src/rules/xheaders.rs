//! TW014: `xheaders=True` trusts client-supplied forwarding headers.

use stormwatch_findings::Severity;

use super::{hit_at, step_at, Hit, RuleInfo};
use crate::engine::{CallSite, Project};
use crate::value::Truth;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW014",
    name: "xheaders",
    severity: Severity::Info,
    summary: "xheaders=True: correct only behind a proxy",
    docs: r#"## What it catches

`HTTPServer(app, xheaders=True)` and `app.listen(port, xheaders=True)`.

## Why

With `xheaders`, Tornado takes the client address and scheme from `X-Real-Ip`,
`X-Forwarded-For` and `X-Forwarded-Proto`. That is right behind a reverse proxy that sets
them, and wrong when clients reach the server directly: they can then spoof their address
(defeating IP allow-lists and rate limits) and the scheme.

## Example

```python
import tornado.httpserver

server = tornado.httpserver.HTTPServer(app, xheaders=True)
```

## Fix

Keep it only when every request passes through a proxy that overwrites these headers; this
finding is informational so that the assumption is written down.
"#,
};

pub fn check(project: &Project, call: &CallSite, hits: &mut Vec<Hit>) {
    let relevant =
        call.qualified == "tornado.httpserver.HTTPServer" || call.qualified.ends_with(".listen");
    if !relevant {
        return;
    }
    let on = call.call.arguments.keywords.iter().any(|k| {
        k.arg.as_ref().is_some_and(|a| a.as_str() == "xheaders")
            && project
                .eval(call.file, &k.value, call.scope, usize::MAX, 0)
                .truth()
                == Truth::True
    });
    if on {
        let step = step_at(project, call.file, call.call, "xheaders=True");
        hits.push(hit_at(
            &RULE,
            RULE.severity,
            step,
            "`xheaders=True` trusts X-Forwarded-For/X-Real-Ip: make sure a proxy always sets them"
                .into(),
        ));
    }
}
