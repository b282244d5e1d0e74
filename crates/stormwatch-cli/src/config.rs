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
    match config_audit(&root, &args.select, &args.ignore, env, args.all_code)? {
        Some(audit) => finish(audit, &args.output, &project, policy.as_ref()),
        None => bail!("{}: no Python or deployment files found", root.display()),
    }
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
    let deps = match crate::deps::read_dir_if_any(&root)? {
        None => {
            skipped.notices.push(Notice::new(format!(
                "{}: no dependency files found; dependency audit skipped",
                root.display()
            )));
            None
        }
        Some(inputs) => Some(crate::deps::audit_inputs(
            inputs,
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
    }
    let audit = Audit::merge([skipped].into_iter().chain(deps).chain(config));
    Ok((audit, root, policy))
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
    Ok(result
        .found_anything()
        .then(|| result.into_audit(target, root)))
}

/// Every rule stormwatch reports under, configuration and dependency audits alike.
pub fn all_rules() -> Vec<&'static RuleInfo> {
    rules::ALL
        .iter()
        .chain(stormwatch_audit::rules::ALL)
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
