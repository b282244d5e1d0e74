//! TW321 (`check --probe`): the service serves tracebacks although the repository keeps
//! them off.

use stormwatch_findings::{Finding, ProbeRequest, RuleInfo, Severity};

use super::finding;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW321",
    name: "debug-drift",
    severity: Severity::High,
    summary: "the service serves tracebacks although the repository never turns them on",
    docs: r#"## What it catches

Reported by `stormwatch check --probe URL`: the probe saw a traceback in an error
response (TW302), while the configuration audit of the repository found no `debug`,
`serve_traceback` or debug environment that would turn tracebacks on for production.

## Why

The running service is not configured the way the repository says: a setting changed by
hand on a host, an environment variable set outside the deployment files, a different
entry point, an old build. Configuration drift is exactly what a static audit cannot see.

## Example

```text
app.py            Application(handlers, debug=os.environ.get("DEBUG") == "1")
GET https://app.example/stormwatch-probe-... -> 404   Traceback (most recent call last): ...
```

## Fix

Find where the running service gets its settings (environment of the process, the
command line, a config file on the host) and bring it back to what the repository says;
then make the deployment the only way settings reach production.
"#,
};

/// The drift finding, for a service that served a traceback at `traceback` when the
/// repository's audit found nothing that turns tracebacks on.
pub fn finding_at(origin: &str, traceback: &ProbeRequest) -> Finding {
    finding(
        &RULE,
        RULE.severity,
        origin,
        "traceback-drift",
        traceback,
        "configuration drift: the service serves tracebacks, but nothing in the repository turns debug or serve_traceback on for production".into(),
        None,
    )
}
