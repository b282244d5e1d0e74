//! TW303: an error page shows exception text without a whole traceback.

use stormwatch_findings::{Finding, RuleInfo, Severity};

use super::{finding, Seen};
use crate::observe;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW303",
    name: "exception-text-served",
    severity: Severity::Medium,
    summary: "an error page shows the exception's class or message",
    docs: r#"## What it catches

An error response (status 400 or more) whose page shows exception text: a Python
exception name with its message (`KeyError: 'user_id'`,
`psycopg2.OperationalError: could not connect to server`), a `<class '...'>` repr, or a
Tornado `HTTPError` rendered with `str()`, which includes the internal log message
(`HTTP 400: Bad Request (Missing argument id)`). Tornado's default error page shows none
of these. Reported only when no whole traceback was seen (TW302 covers that).

## Why

Custom `write_error` methods often write `str(exc_info[1])` or the `log_message` into the
page. The message was written for the log: it names tables, hosts, file paths and
argument names, and tells an attacker which input reached which code.

## Example

```python
def write_error(self, status_code, **kwargs):
    self.write(f"Error: {kwargs['exc_info'][1]}")
```

## Fix

Render a fixed message per status code (`self._reason` is safe), and log the exception
server-side.
"#,
};

pub fn check(seen: &Seen, traceback_seen: bool, out: &mut Vec<Finding>) {
    if traceback_seen {
        return;
    }
    let hit = seen
        .answers
        .iter()
        .filter(|a| a.exchange.status >= 400)
        .find_map(|a| Some((a, observe::exception_text(&a.text)?)));
    if let Some((a, text)) = hit {
        out.push(finding(
            &RULE,
            RULE.severity,
            seen.origin,
            "exception-text",
            a.request,
            format!(
                "the error page for HTTP {} shows exception text",
                a.exchange.status
            ),
            Some(text),
        ));
    }
}
