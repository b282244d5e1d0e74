//! TW302: an error response carries a Python traceback.

use stormwatch_findings::{Finding, ProbeRequest, RuleInfo, Severity};

use super::{finding, Seen};
use crate::observe;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW302",
    name: "traceback-served",
    severity: Severity::High,
    summary: "the running service sends Python tracebacks in its error responses",
    docs: r#"## What it catches

A response to one of the probe's requests (a path that does not exist, malformed
arguments, a method the handler does not implement, the app's own paths) whose body holds
a Python traceback: `Traceback (most recent call last):` or `File "...py", line N` frames.
This is what Tornado's default `write_error` sends when `serve_traceback` is on, which
`debug=True` implies, and what custom error pages do when they format `exc_info`.

## Why

A traceback shows file paths, source lines, library versions and sometimes secrets held
in local values, for any request that makes a handler fail. Tornado's own 404 raises an
exception, so with `serve_traceback` on, every unknown URL returns one. From outside,
`debug=True` and `serve_traceback=True` look the same; either way debug settings reached
production.

## Example

```text
GET https://app.example/stormwatch-probe-1f2e... -> 404
Traceback (most recent call last):
  File ".../tornado/web.py", line 1790, in _execute
tornado.web.HTTPError: HTTP 404: Not Found
```

## Fix

Remove `debug` and `serve_traceback` from the production settings (see TW001 and TW003:
`stormwatch config --env production` finds where they are set), and make custom
`write_error` methods render a fixed page. `stormwatch check --probe URL` reports a
service that serves tracebacks although the repository turns them off (TW321).
"#,
};

/// Reports the first response with a traceback; returns its request.
pub fn check(seen: &Seen, out: &mut Vec<Finding>) -> Option<ProbeRequest> {
    let mut hits = seen
        .answers
        .iter()
        .filter_map(|a| Some((a, observe::traceback(&a.text)?)));
    let (first, exception) = hits.next()?;
    let more = hits.count();
    let also = if more > 0 {
        format!(
            " (and {more} more response{})",
            if more == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    out.push(finding(
        &RULE,
        RULE.severity,
        seen.origin,
        "traceback",
        first.request,
        format!(
            "the service sends a Python traceback in its error response{also}: serve_traceback or debug is on in production"
        ),
        Some(exception),
    ));
    Some(first.request.clone())
}
