//! `stormwatch config`, `rules` and `explain`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use stormwatch_findings::{Finding, Location, Notice, Report};
use stormwatch_tornado::{audit, rules, Selection};

use crate::cli::{AdvisoryArgs, CheckArgs, ConfigArgs, DepsArgs, EnvArg};
use crate::output::emit;

pub fn run(args: ConfigArgs) -> Result<bool> {
    let report = report(&args)?;
    emit(&report, &args.output)
}

/// `stormwatch check`: both audits over one directory, in one report. A repository without
/// dependency files or without Python code gets a notice for the missing half, not an error.
pub fn check(args: CheckArgs) -> Result<bool> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    let mut notices = Vec::new();
    let deps = if stormwatch_manifest::discover(&root).is_empty() {
        notices.push(Notice {
            location: None,
            message: format!(
                "{}: no dependency files found; dependency audit skipped",
                root.display()
            ),
        });
        None
    } else {
        Some(crate::deps::report(&DepsArgs {
            paths: vec![root.clone()],
            python: None,
            site_packages: None,
            ignore_unpinned: args.ignore_unpinned,
            target: args.target.clone(),
            advisories: AdvisoryArgs {
                db: args.advisories.db.clone(),
                no_bundled: args.advisories.no_bundled,
            },
            output: args.output.clone(),
        })?)
    };
    let config = match audit_report(&ConfigArgs {
        path: Some(root.clone()),
        select: Vec::new(),
        ignore: Vec::new(),
        env: args.env,
        all_code: args.all_code,
        output: args.output.clone(),
    })? {
        Some(report) => Some(report),
        None => {
            notices.push(Notice {
                location: None,
                message: format!(
                    "{}: no Python or deployment files found; configuration audit skipped",
                    root.display()
                ),
            });
            None
        }
    };
    let mut findings = Vec::new();
    let mut packages = 0;
    let mut inputs = Vec::new();
    let mut advisory_data = None;
    let mut upgrades = Vec::new();
    let mut incomplete = Vec::new();
    for part in [deps, config].into_iter().flatten() {
        findings.extend(part.findings);
        packages += part.summary.packages;
        inputs.extend(part.inputs);
        advisory_data = advisory_data.or(part.advisory_data);
        upgrades.extend(part.upgrades);
        notices.extend(part.notices);
        incomplete.extend(part.incomplete);
    }
    // Most severe first across both audits; each audit's own order is kept within a severity.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity()));
    let mut merged = Report::new(findings, packages);
    merged.inputs = inputs;
    merged.advisory_data = advisory_data;
    merged.upgrades = upgrades;
    merged.notices = notices;
    merged.incomplete = incomplete;
    emit(&merged, &args.output)
}

/// The configuration audit's report, not yet rendered; an error when there was nothing to
/// audit.
pub fn report(args: &ConfigArgs) -> Result<Report> {
    match audit_report(args)? {
        Some(report) => Ok(report),
        None => {
            let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
            bail!("{}: no Python or deployment files found", root.display())
        }
    }
}

/// The configuration audit's report, or `None` when the path holds neither Python code nor
/// deployment files.
fn audit_report(args: &ConfigArgs) -> Result<Option<Report>> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.exists() {
        bail!("{}: no such file or directory", root.display());
    }
    for id in args.select.iter().chain(&args.ignore) {
        if rules::find(id).is_none() {
            bail!("unknown rule id `{id}` (see `stormwatch rules`)");
        }
    }
    let result = audit(
        &root,
        &Selection {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
            target: match args.env {
                EnvArg::Production => rules::Target::Production,
                EnvArg::Development => rules::Target::Development,
            },
            all_code: args.all_code,
        },
    );
    if result.files == 0 && result.skipped.is_empty() && result.deployment_files.is_empty() {
        return Ok(None);
    }
    let findings: Vec<Finding> = result.findings.into_iter().map(Finding::Config).collect();
    let mut report = Report::new(findings, 0);
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    report.inputs = vec![format!(
        "{} ({}) and {}",
        plural(result.files, "Python file"),
        plural(result.lines, "line"),
        plural(result.deployment_files.len(), "deployment file")
    )];
    let other = match args.env {
        EnvArg::Production => "development",
        EnvArg::Development => "production",
    };
    let off_target: Vec<&str> = result
        .deployment_files
        .iter()
        .filter(|(_, _, dev)| *dev == matches!(args.env, EnvArg::Production))
        .map(|(p, _, _)| p.as_str())
        .collect();
    let notice = |s: &stormwatch_tornado::SkippedFile| Notice {
        location: Some(Location {
            file: s.path.display().to_string(),
            line: s.line,
        }),
        message: s.message.clone(),
    };
    report.incomplete = result.skipped.iter().map(notice).collect();
    report.notices = result.warnings.iter().map(notice).collect();
    if !off_target.is_empty() {
        report.notices.push(Notice {
            location: None,
            message: format!(
                "treated as {other} files (findings there are info only): {}",
                off_target.join(", ")
            ),
        });
    }
    Ok(Some(report))
}

pub fn list_rules() -> Result<bool> {
    for r in rules::ALL {
        println!(
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
    match rules::find(id) {
        Some(r) => {
            println!(
                "# {} {}: {}\n\nSeverity: {}\n",
                r.id, r.name, r.summary, r.severity
            );
            print!("{}", r.docs);
            Ok(false)
        }
        None => bail!("unknown rule id `{id}` (see `stormwatch rules`)"),
    }
}
