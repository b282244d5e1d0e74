//! TW102: a deployment sets an environment variable that turns debug mode on.

use stormwatch_findings::Severity;

use super::{hit_at, Hit, RuleInfo, DEBUG_FAMILY};
use crate::engine::AppSite;
use crate::value::{plain_truth, Step, Val};
use stormwatch_deploy::Deployment;

pub const RULE: RuleInfo = RuleInfo {
    id: "TW102",
    name: "deploy-debug-env",
    severity: Severity::High,
    summary: "Deployment environment turns debug mode on",
    docs: r#"## What it catches

An environment variable set by a deployment file (Dockerfile `ENV`, compose `environment` and
`env_file`, Kubernetes `env` and ConfigMaps, Helm values, systemd `Environment` and
`EnvironmentFile`, supervisord `environment`, `.env` files) that the application reads to
decide `debug`, `autoreload`, `serve_traceback` or the template/static caches, set to a value
that switches the setting on. The value is judged with the application's own expression:
`DEBUG = os.environ.get("APP_ENV", "production") != "production"` makes `APP_ENV=staging`
a finding and `APP_ENV=production` not.

## Why

Code that is safe by default is unsafe in the environment it actually runs in.

## Example

```yaml
# docker-compose.yml
services:
  web:
    build: .
    environment:
      APP_DEBUG: "1"
```

```python
# app/server.py
import os

import tornado.web

app = tornado.web.Application(handlers, debug=os.environ.get("APP_DEBUG") == "1")
```

## Fix

Remove the variable from production deployment files, or set it to the value that keeps
the setting off.
"#,
};

pub fn check(apps: &[AppSite], deployment: &Deployment, hits: &mut Vec<Hit>) {
    for app in apps {
        for (key, value) in &app.settings {
            let Some((_, bad)) = DEBUG_FAMILY.iter().find(|(k, _)| k == key) else {
                continue;
            };
            let Val::Env {
                var,
                test,
                condition,
                ..
            } = &value.val
            else {
                continue;
            };
            for env in deployment.env.iter().filter(|e| &e.var == var) {
                let result = test.apply(&env.value);
                if plain_truth(&result) != Some(*bad) {
                    continue;
                }
                let step = Step {
                    file: env.file.clone(),
                    line: env.line,
                    column: 1,
                    note: format!("{} sets {}={}", env.kind.label(), env.var, env.value),
                };
                let mut hit = hit_at(
                    &RULE,
                    RULE.severity,
                    step,
                    format!(
                        "{} sets {}={:?}, which makes `{key}` {} (`{condition}`)",
                        env.kind.label(),
                        env.var,
                        env.value,
                        if *bad { "True" } else { "False" }
                    ),
                );
                hit.trace.extend(value.chain.iter().cloned());
                hit.stage = Some(env.stage);
                hits.push(hit);
            }
        }
    }
}
