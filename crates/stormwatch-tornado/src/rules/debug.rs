//! TW001: `debug=True` reaches `tornado.web.Application`.

use stormwatch_findings::Severity;

use super::{setting_rule, Hit, RuleInfo};
use crate::engine::AppSite;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW001",
    name: "debug-mode",
    severity: Severity::High,
    summary: "Tornado debug mode enabled",
    docs: r#"## What it catches

`debug` that is true when settings reach `tornado.web.Application`: as a keyword, inside a
`**settings` dict (built with a literal, `dict(...)`, `settings["debug"] = ...` or
`settings.update(...)`, possibly in another module), from `tornado.options` (`define("debug",
default=True)` or a config file read with `parse_config_file`), or from an environment read
with a truthy default (`os.environ.get("DEBUG", "1")`, `os.environ.get("DEBUG") or True`, or a
default set with `os.environ.setdefault("DEBUG", "1")`; any non-empty string is true). Values
are followed through function and constructor arguments bound as Python binds them
(positional, keyword, defaults, `*args`, `**kwargs`), through `Application` subclasses to
each place they are constructed (`App(handlers, debug=True)`, passed on with
`super().__init__(...)`), and through unpacking, `(x := v)`, `from settings import *` and
`options.debug = True` set in code.

## Why

`debug=True` turns on `autoreload` (the process re-executes itself when files change),
`serve_traceback` (full tracebacks, with source and local paths, are sent to clients on
errors), and disables the template and static-file caches. In production that leaks code
and internals to anyone who can trigger an error.

## Example

```python
import tornado.web

settings = {"debug": True, "cookie_secret": SECRET}
app = tornado.web.Application(handlers, **settings)
```

## Fix

Default to off and enable only explicitly in development:

```python
settings = {"debug": os.environ.get("APP_DEBUG") == "1", "cookie_secret": SECRET}
```
"#,
};

pub fn check(app: &AppSite, hits: &mut Vec<Hit>) {
    setting_rule(
        &RULE,
        app,
        "debug",
        true,
        "debug mode enables autoreload and sends tracebacks to clients",
        hits,
    );
}
