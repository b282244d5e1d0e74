//! The rules of the configuration audit. One rule per file, its documentation beside its
//! code; ids are stable.

use crate::engine::FileId;
use stormwatch_findings::Severity;

use ruff_python_ast::{self as ast, Stmt};

use crate::engine::{AppSite, CallSite, ClassInfo, Project};
use crate::value::{Step, Truth, Val};

/// A method defined directly in a class body.
pub(crate) fn method<'a>(class: &ClassInfo<'a>, name: &str) -> Option<&'a ast::StmtFunctionDef> {
    class.def.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
        _ => None,
    })
}

/// A step at a node of a file.
pub(crate) fn step_at(
    project: &Project,
    file: FileId,
    node: &impl ruff_text_size::Ranged,
    note: &str,
) -> Step {
    let (line, column) = project.position(file, node);
    Step {
        file: project.files[file].path.clone(),
        line,
        column,
        note: note.to_string(),
    }
}

/// A hit with a single-step trace.
pub(crate) fn hit_at(
    rule: &'static RuleInfo,
    severity: stormwatch_findings::Severity,
    step: Step,
    message: String,
) -> Hit {
    Hit {
        rule,
        severity,
        trace: vec![step.clone()],
        step,
        message,
        stage: None,
    }
}

/// A hit on one argument of a deployment command line, at the stage of the file it is in.
pub(crate) fn command_hit(
    rule: &'static RuleInfo,
    cmd: &stormwatch_deploy::CommandLine,
    arg: &str,
    message: String,
) -> Hit {
    let step = Step {
        file: cmd.file.clone(),
        line: cmd.line_of(arg),
        column: 1,
        note: format!("{} passes {arg}", cmd.kind.label()),
    };
    let mut hit = hit_at(rule, rule.severity, step, message);
    hit.stage = Some(cmd.stage);
    hit
}

/// The step where settings reach an `Application`.
pub(crate) fn app_step(app: &AppSite) -> Step {
    Step {
        file: app.path.clone(),
        line: app.line,
        column: app.column,
        note: "Application(...)".into(),
    }
}

/// Test code is not production: `tests/` directories and `test_*.py` / `*_test.py` files.
pub(crate) fn is_test_file(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || path
            .components()
            .any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "test")))
}

pub mod autoescape;
pub mod autoreload;
pub mod autoreload_call;
pub mod check_origin;
pub mod compiled_template_cache;
pub mod cookie_flags;
pub mod cookie_secret;
pub mod debug;
pub mod debug_logging;
pub mod deploy_debug_env;
pub mod deploy_debug_flag;
pub mod deploy_debugger;
pub mod deploy_logging_flag;
pub mod remote_debugger;
pub mod serve_traceback;
pub mod static_hash_cache;
pub mod write_error;
pub mod xheaders;
pub mod xsrf;
mod xsrf_handlers;

pub use stormwatch_findings::RuleInfo;

/// Every rule, in id order.
pub const ALL: &[&RuleInfo] = &[
    &debug::RULE,
    &autoreload::RULE,
    &serve_traceback::RULE,
    &compiled_template_cache::RULE,
    &static_hash_cache::RULE,
    &autoreload_call::RULE,
    &write_error::RULE,
    &xsrf::RULE,
    &cookie_secret::RULE,
    &check_origin::RULE,
    &autoescape::RULE,
    &cookie_flags::RULE,
    &debug_logging::RULE,
    &xheaders::RULE,
    &remote_debugger::RULE,
    &deploy_debug_flag::RULE,
    &deploy_debug_env::RULE,
    &deploy_logging_flag::RULE,
    &deploy_debugger::RULE,
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
    /// For findings in deployment files: the stage of the file that brings the value in (an
    /// env file referenced from a compose file takes the compose file's stage).
    pub stage: Option<stormwatch_deploy::Stage>,
}

pub fn check(
    project: &Project,
    apps: &[AppSite],
    calls: &[CallSite],
    roles: &crate::roles::Roles,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    let xsrf_late = xsrf::LateWrites::of(project);
    for app in apps {
        debug::check(app, &mut hits);
        autoreload::check(app, &mut hits);
        serve_traceback::check(app, &mut hits);
        compiled_template_cache::check(app, &mut hits);
        static_hash_cache::check(app, &mut hits);
        xsrf::check(project, app, &xsrf_late, &mut hits);
        cookie_secret::check(project, app, &mut hits);
        autoescape::check(app, &mut hits);
    }
    let tornado_quieted = debug_logging::tornado_quieted(project, calls);
    let cookie_reads = crate::cookies::Reads::collect(project, calls);
    for call in calls {
        autoreload_call::check(project, call, roles, &mut hits);
        cookie_flags::check(project, call, &cookie_reads, &mut hits);
        debug_logging::check(project, call, &tornado_quieted, &mut hits);
        xheaders::check(project, call, &mut hits);
        remote_debugger::check(project, call, &mut hits);
        autoescape::check_call(project, call, &mut hits);
    }
    debug_logging::check_options(project, calls, &mut hits);
    write_error::check(project, &mut hits);
    check_origin::check(project, &mut hits);
    hits
}

/// How the condition around a call decides whether it runs in production.
pub(crate) enum Guard {
    /// No condition, one that is always true, or an error path or loop (they run).
    Always,
    /// A condition that is never true.
    Never,
    /// True unless the environment sets the variable.
    UnlessEnv(String),
    /// A condition the analysis cannot decide, as it reads.
    Depends(String),
}

/// The guard of a call, from the innermost condition it runs under.
pub(crate) fn guard(project: &Project, call: &CallSite) -> Guard {
    use crate::walk::Condition;
    use ruff_text_size::Ranged;
    let Some(condition) = call.condition else {
        return Guard::Always;
    };
    let (test, negated) = match condition {
        Condition::If(test) => (test, false),
        Condition::Else(test) => (test, true),
        Condition::Exception | Condition::Loop => return Guard::Always,
        Condition::Case(_) => {
            return Guard::Depends(condition.text(&project.files[call.file]));
        }
    };
    let at = call.call.range().start().to_usize();
    let truth = project.eval(call.file, test, call.scope, at, 0).truth();
    match (truth, negated) {
        (Truth::True, false) | (Truth::False, true) => Guard::Always,
        (Truth::False, false) | (Truth::True, true) => Guard::Never,
        (
            Truth::Env {
                var, when_unset, ..
            },
            _,
        ) if when_unset != negated => Guard::UnlessEnv(var),
        _ => Guard::Depends(condition.text(&project.files[call.file])),
    }
}

/// Which deployment files count as production for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    Production,
    Development,
}

/// The settings whose true (or, for the caches, false) value is debug mode or part of it,
/// with the value that is bad.
pub(crate) const DEBUG_FAMILY: &[(&str, bool)] = &[
    ("debug", true),
    ("autoreload", true),
    ("serve_traceback", true),
    ("compiled_template_cache", false),
    ("static_hash_cache", false),
];

/// What the deployment rules need to know about the whole repository.
#[derive(Debug, Default)]
pub struct Facts {
    /// Every `tornado.options` option defined.
    pub options: std::collections::HashSet<String>,
    /// Whether some file calls `parse_command_line` (so `--logging=debug` takes effect).
    pub command_line_options: bool,
}

/// The deployment rules, run over what the deployment files start the app with (`apps`:
/// every application of the repository).
pub fn check_deployment(
    facts: &Facts,
    apps: &[AppSite],
    deployment: &stormwatch_deploy::Deployment,
    target: Target,
) -> Vec<Hit> {
    let mut hits = Vec::new();
    deploy_debug_flag::check(facts, apps, deployment, &mut hits);
    deploy_debug_env::check(apps, deployment, &mut hits);
    deploy_logging_flag::check(facts, deployment, &mut hits);
    deploy_debugger::check(deployment, &mut hits);
    for hit in &mut hits {
        use stormwatch_deploy::Stage;
        let stage = hit.stage.or_else(|| deployment.stage_of(&hit.step.file));
        let counts = matches!(
            (target, stage),
            (_, Some(Stage::Unmarked))
                | (Target::Production, Some(Stage::Production))
                | (Target::Development, Some(Stage::Development))
        );
        if !counts {
            hit.severity = Severity::Info;
            hit.message
                .push_str(" (not a file for the target environment; reported for information)");
        }
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
            // A condition the analysis cannot decide (a parameter, a config object): worth a
            // look, not a claim.
            Truth::Depends(condition) => (
                Severity::Low.min(rule.severity),
                format!(
                    "`{key}` depends on `{condition}`, which the analysis cannot decide; make sure it is off in production: {what}"
                ),
            ),
            Truth::Unknown => match &value.val {
                Val::Opaque(reason) => (
                    Severity::Info,
                    format!("`{key}` could not be judged: its value is {reason}"),
                ),
                _ => continue,
            },
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
            stage: None,
        });
    }
}
