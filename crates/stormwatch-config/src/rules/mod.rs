//! The rules of the configuration audit. One rule per file, its documentation beside its
//! code; ids are stable.

use stormwatch_findings::Severity;

use crate::engine::{AppSite, CallSite, Project};
use crate::value::{Step, Truth};

pub mod autoreload;
pub mod autoreload_call;
pub mod compiled_template_cache;
pub mod debug;
pub mod serve_traceback;
pub mod static_hash_cache;

/// A rule's identity and documentation.
pub struct RuleInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it catches, why, a bad example, the fix.
    pub docs: &'static str,
}

/// Every rule, in id order.
pub const ALL: &[&RuleInfo] = &[
    &debug::RULE,
    &autoreload::RULE,
    &serve_traceback::RULE,
    &compiled_template_cache::RULE,
    &static_hash_cache::RULE,
    &autoreload_call::RULE,
];

pub fn find(id: &str) -> Option<&'static RuleInfo> {
    ALL.iter().copied().find(|r| r.id.eq_ignore_ascii_case(id))
}

/// A rule violation before rendering.
pub struct Hit {
    pub rule: &'static RuleInfo,
    pub severity: Severity,
    pub step: Step,
    pub message: String,
    pub trace: Vec<Step>,
}

pub fn check(project: &Project, apps: &[AppSite], calls: &[CallSite]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for app in apps {
        debug::check(app, &mut hits);
        autoreload::check(app, &mut hits);
        serve_traceback::check(app, &mut hits);
        compiled_template_cache::check(app, &mut hits);
        static_hash_cache::check(app, &mut hits);
    }
    for call in calls {
        autoreload_call::check(project, call, &mut hits);
    }
    hits
}

/// Shared logic of the rules about one `Application` setting: reports when the setting's
/// value is `bad` (truthy when `bad` is true, falsy otherwise) definitely, by default, or
/// depending on a condition.
pub(crate) fn setting_rule(
    rule: &'static RuleInfo,
    app: &AppSite,
    key: &str,
    bad: bool,
    what: &str,
    hits: &mut Vec<Hit>,
) {
    for (name, value) in &app.settings {
        if name != key {
            continue;
        }
        let written = if bad { "True" } else { "False" };
        let (severity, message) = match value.truth() {
            Truth::True if bad => (rule.severity, format!("`{key}` is {written}: {what}")),
            Truth::False if !bad => (rule.severity, format!("`{key}` is {written}: {what}")),
            Truth::Env {
                var,
                when_unset,
                condition,
            } => {
                if when_unset == bad {
                    (
                        rule.severity,
                        format!(
                            "`{key}` is {written} unless the environment sets ${var} (`{condition}`): {what}"
                        ),
                    )
                } else {
                    (
                        Severity::Info,
                        format!(
                            "`{key}` depends on ${var} (`{condition}`); make sure production never sets it: {what}"
                        ),
                    )
                }
            }
            Truth::Depends(condition) => (
                Severity::Medium.min(rule.severity),
                format!("`{key}` is environment-dependent (`{condition}`): {what}"),
            ),
            _ => continue,
        };
        let Some(origin) = value.chain.first().cloned() else {
            continue;
        };
        hits.push(Hit {
            rule,
            severity,
            step: origin,
            message,
            trace: value.chain.clone(),
        });
    }
}
