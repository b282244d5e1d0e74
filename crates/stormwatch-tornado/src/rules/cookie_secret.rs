//! TW009: `cookie_secret` is written in the code.

use stormwatch_findings::Severity;

use super::{is_test_file, Hit, RuleInfo};
use crate::engine::{AppSite, Project};
use crate::value::Val;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW009",
    name: "hardcoded-cookie-secret",
    severity: Severity::High,
    summary: "cookie_secret hard-coded in source",
    docs: r#"## What it catches

A `cookie_secret` setting whose value is a string literal in the code (also as the default of
a config dict production reads it from), or an environment read that falls back to a literal:
`os.environ.get("COOKIE_SECRET", "dev-secret")`, `os.getenv("COOKIE_SECRET") or "dev-secret"`
(after `or` the literal is used when the variable is unset or empty). A literal taken only
under a condition (`conf.get("cookie_secret", "dev-secret")` on a config read at run time, a
mode switch) is medium. A fallback generated at
start-up (`secrets.token_hex()`, `os.urandom(...)`, `uuid4()`) is not a literal and is not
reported. The
message says when the secret is short, and when the same literal also appears in test code
(a production secret shared with tests is known to everyone who runs them).

## Why

The cookie secret signs secure cookies and XSRF tokens. Anyone who can read the repository
(or a leaked copy, or a container image) can forge sessions. Short secrets can also be
brute-forced.

## Example

```python
from tornado.web import Application

app = Application(handlers, cookie_secret="change-me")
```

## Fix

Read it from the environment or a secret store, without a fallback:

```python
app = Application(handlers, cookie_secret=os.environ["COOKIE_SECRET"])
```
"#,
};

/// A test file of the repository that contains `secret` in quotes.
fn shared_with_tests(project: &Project, secret: &str) -> Option<String> {
    let quoted = [format!("'{secret}'"), format!("\"{secret}\"")];
    project
        .repository
        .iter()
        .filter(|f| is_test_file(&f.rel))
        .find(|f| quoted.iter().any(|q| f.text.contains(q.as_str())))
        .map(|f| f.rel.display().to_string())
}

pub fn check(project: &Project, app: &AppSite, hits: &mut Vec<Hit>) {
    for (name, value) in &app.settings {
        if name != "cookie_secret" {
            continue;
        }
        let conditional = matches!(value.val, Val::Cond { .. });
        let (secret, how) = match &value.val {
            Val::Str(s) => (s.clone(), "is a string literal in the code".to_string()),
            Val::Env { var, unset, .. } => match &unset.val {
                Val::Str(s) if !s.is_empty() => (
                    s.clone(),
                    format!("falls back to a string literal when ${var} is unset"),
                ),
                _ => continue,
            },
            // A literal taken when a condition holds (a config file without the key, a mode
            // switch): medium, since whether production takes it is not known.
            Val::Cond {
                condition,
                then,
                orelse,
            } => match (&then.val, &orelse.val) {
                (Val::Str(s), _) if !s.is_empty() => {
                    (s.clone(), format!("is a string literal when `{condition}`"))
                }
                (_, Val::Str(s)) if !s.is_empty() => (
                    s.clone(),
                    format!("is a string literal unless `{condition}`"),
                ),
                _ => continue,
            },
            _ => continue,
        };
        let mut short = if secret.len() < 32 {
            format!(" (and only {} characters long)", secret.len())
        } else {
            String::new()
        };
        if let Some(test) = shared_with_tests(project, &secret) {
            short.push_str(&format!("; the same value appears in {test}"));
        }
        let Some(origin) = value.chain.first().cloned() else {
            continue;
        };
        hits.push(Hit {
            rule: &RULE,
            severity: if conditional {
                Severity::Medium
            } else {
                RULE.severity
            },
            step: origin,
            message: format!("`cookie_secret` {how}{short}"),
            trace: value.chain.clone(),
            stage: None,
        });
    }
}
