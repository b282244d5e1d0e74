//! `stormwatch config`, `rules` and `explain`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use stormwatch_findings::{Audit, Notice, RuleInfo};
use stormwatch_tornado::{audit, rules, Selection};

use crate::cli::{CheckArgs, ConfigArgs, EnvArg};
use crate::output::{finish, load_policy};

pub fn run(args: ConfigArgs) -> Result<bool> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    // A single file audited: the policy is its directory's.
    let project = if root.is_dir() {
        root.clone()
    } else {
        root.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let policy = load_policy(&project, &args.output)?;
    let env = environment(args.env, policy.as_ref());
    let audit = match config_audit(&root, &args.select, &args.ignore, env, args.all_code)? {
        Some(audit) => audit,
        None if args.allow_empty => Audit {
            notices: vec![Notice::new(format!(
                "nothing to audit in {}: no Python or deployment files found (--allow-empty)",
                root.display()
            ))],
            ..Audit::default()
        },
        None => bail!(
            "nothing to audit in {}: no Python or deployment files found",
            root.display()
        ),
    };
    finish(audit, &args.output, &project, policy.as_ref())
}

/// The environment judged: the command line's, else the policy's, else production.
pub fn environment(arg: Option<EnvArg>, policy: Option<&stormwatch_policy::Policy>) -> EnvArg {
    arg.unwrap_or_else(|| match policy.and_then(|p| p.environment.as_deref()) {
        Some("development") => EnvArg::Development,
        _ => EnvArg::Production,
    })
}

/// `stormwatch check`: both audits over one directory, merged into one report. A repository
/// without dependency files or without Python code gets a notice for the missing half, not
/// an error.
pub fn check(args: CheckArgs) -> Result<bool> {
    let (audit, root, policy) = check_audit(&args)?;
    finish(audit, &args.output, &root, policy.as_ref())
}

/// Both audits of `check`, merged, with the project root and its policy.
pub fn check_audit(
    args: &CheckArgs,
) -> Result<(Audit, PathBuf, Option<stormwatch_policy::Policy>)> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    let policy = load_policy(&root, &args.output)?;
    let env = environment(args.env, policy.as_ref());
    let mut skipped = Audit::default();
    let mut tornado_pins = Vec::new();
    let deps = match crate::deps::read_dir_if_any(&root)? {
        None => {
            skipped.notices.push(Notice::new(format!(
                "{}: no dependency files found; dependency audit skipped",
                root.display()
            )));
            skipped
                .coverage
                .push("the dependency audit was skipped: no dependency files found".into());
            None
        }
        Some(inputs) => Some(crate::deps::audit_inputs(
            {
                tornado_pins = requirements_of(&inputs, "tornado");
                inputs
            },
            args.ignore_unpinned,
            &args.target.target(),
            &args.advisories,
            policy.as_ref(),
            crate::output::today(&args.output),
        )?),
    };
    let config = config_audit(&root, &[], &[], env, args.all_code)?;
    if config.is_none() {
        skipped.notices.push(Notice::new(format!(
            "{}: no Python or deployment files found; configuration audit skipped",
            root.display()
        )));
        skipped.coverage.push(
            "the configuration audit was skipped: no Python or deployment files found".into(),
        );
    }
    let probe = match &args.probe {
        Some(url) => Some(probe_against(
            url,
            args,
            policy.as_ref(),
            &tornado_pins,
            config.as_ref(),
        )?),
        None => None,
    };
    if deps.is_none() && config.is_none() && probe.is_none() {
        // A wrong `path:` in CI must not pass as a clean audit.
        let what = format!(
            "nothing to audit in {}: no Python code, deployment files or dependency files found",
            root.display()
        );
        if !args.allow_empty {
            bail!("{what}");
        }
        skipped.notices = vec![Notice::new(format!("{what} (--allow-empty)"))];
        skipped.coverage = vec![what];
    }
    let audit = Audit::merge([skipped].into_iter().chain(deps).chain(config).chain(probe));
    Ok((audit, root, policy))
}

/// Every version requirement on `package` (pins and ranges, not URLs) with where it is
/// written (`requirements.txt:3`), each once.
fn requirements_of(
    inputs: &stormwatch_manifest::Inputs,
    package: &str,
) -> Vec<(stormwatch_manifest::Spec, String)> {
    let mut out: Vec<(stormwatch_manifest::Spec, String)> = Vec::new();
    for d in inputs.dependencies.iter().filter(|d| d.name == package) {
        let versioned = match &d.spec {
            stormwatch_manifest::Spec::Pinned { .. } => true,
            stormwatch_manifest::Spec::Range { alternatives, .. } => !alternatives.is_empty(),
            stormwatch_manifest::Spec::Unauditable { .. } => false,
        };
        let at = d.source.to_string();
        if versioned && !out.iter().any(|(s, a)| *s == d.spec && *a == at) {
            out.push((d.spec.clone(), at));
        }
    }
    out
}

/// Rules whose production findings mean the repository itself turns tracebacks on.
const TRACEBACKS_ON: &[&str] = &["TW001", "TW003", "TW101", "TW102"];

/// The probe of `check --probe`, and where the service contradicts the repository.
fn probe_against(
    url: &str,
    args: &CheckArgs,
    policy: Option<&stormwatch_policy::Policy>,
    tornado_pins: &[(stormwatch_manifest::Spec, String)],
    config: Option<&Audit>,
) -> Result<Audit> {
    use stormwatch_findings::Severity;
    use stormwatch_probe::rules::{traceback_drift, version_drift};
    let outcome = crate::probe::probe(
        url,
        &args.probe_options,
        &args.advisories,
        policy.and_then(|p| p.advisories.max_age),
        crate::output::today(&args.output),
    )?;
    let origin = outcome.probed.origin.clone();
    let mut audit = outcome.audit;
    if let stormwatch_probe::Tornado::Disclosed { version, request } = &outcome.probed.tornado {
        if let Ok(served) = version.parse::<pep440_rs::Version>() {
            let requirements: Vec<version_drift::Requirement> = tornado_pins
                .iter()
                .map(|(spec, at)| version_drift::Requirement {
                    written: match spec {
                        stormwatch_manifest::Spec::Pinned { version, .. } => format!("=={version}"),
                        other => other.text().to_string(),
                    },
                    at: at.clone(),
                    admits: spec.admits(&served).unwrap_or(true),
                })
                .collect();
            audit.findings.extend(version_drift::check(
                &origin,
                version,
                request,
                &requirements,
            ));
        }
    }
    if let Some(traceback) = &outcome.probed.traceback {
        let turned_on: Vec<&stormwatch_findings::Finding> = config
            .map(|c| {
                c.findings
                    .iter()
                    .filter(|f| {
                        TRACEBACKS_ON.contains(&f.id.as_str())
                            && f.severity >= Severity::Medium
                            && !f.is_suppressed()
                    })
                    .collect()
            })
            .unwrap_or_default();
        match turned_on.first() {
            Some(f) => audit.notices.push(Notice::at(
                f.location.clone(),
                format!(
                    "the service confirms {}: it serves tracebacks ({})",
                    f.id, traceback
                ),
            )),
            None => audit
                .findings
                .push(traceback_drift::finding_at(&origin, traceback)),
        }
    }
    Ok(audit)
}

/// The configuration audit of `root`, or `None` when it holds neither Python code nor
/// deployment files.
pub fn config_audit(
    root: &Path,
    select: &[String],
    ignore: &[String],
    env: EnvArg,
    all_code: bool,
) -> Result<Option<Audit>> {
    if !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    for id in select.iter().chain(ignore) {
        if rules::find(id).is_none() {
            bail!("unknown rule id `{id}` (see `stormwatch rules`)");
        }
    }
    let target = match env {
        EnvArg::Production => rules::Target::Production,
        EnvArg::Development => rules::Target::Development,
    };
    let result = audit(
        root,
        &Selection {
            select: select.to_vec(),
            ignore: ignore.to_vec(),
            target,
            all_code,
        },
    );
    Ok(result.found_anything().then(|| {
        let mut audit = result.into_audit(target, root);
        audit.ran.configuration = true;
        audit
    }))
}

/// Every rule stormwatch reports under, configuration and dependency audits alike.
pub fn all_rules() -> Vec<&'static RuleInfo> {
    rules::ALL
        .iter()
        .chain(stormwatch_audit::rules::ALL)
        .chain(stormwatch_probe::rules::ALL)
        .chain(stormwatch_policy::rules::ALL)
        .copied()
        .collect()
}

fn find_rule(id: &str) -> Option<&'static RuleInfo> {
    all_rules()
        .into_iter()
        .find(|r| r.id.eq_ignore_ascii_case(id))
}

pub fn list_rules() -> Result<bool> {
    for r in all_rules() {
        say!(
            "{}  {:<28} {:<8} {}",
            r.id,
            r.name,
            r.severity.as_str(),
            r.summary
        );
    }
    Ok(false)
}

pub fn explain(id: &str) -> Result<bool> {
    match find_rule(id) {
        Some(r) => {
            say!(
                "# {} {}: {}\n\nSeverity: {}\n",
                r.id,
                r.name,
                r.summary,
                r.severity
            );
            say_raw!("{}", r.docs);
            Ok(false)
        }
        None => bail!("unknown rule id `{id}` (see `stormwatch rules`)"),
    }
}
