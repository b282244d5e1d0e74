//! `stormwatch config`, `rules` and `explain`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use stormwatch_config::{audit, rules, Selection};
use stormwatch_findings::{Finding, Location, Notice, Report};

use crate::cli::{ConfigArgs, EnvArg};
use crate::output::emit;

pub fn run(args: ConfigArgs) -> Result<bool> {
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
        },
    );
    if result.files == 0 && result.skipped.is_empty() {
        bail!("{}: no Python files found", root.display());
    }
    let findings: Vec<Finding> = result.findings.into_iter().map(Finding::Config).collect();
    let mut report = Report::new(findings, 0);
    report.inputs = vec![format!(
        "{} Python files ({} lines) and {} deployment files",
        result.files,
        result.lines,
        result.deployment_files.len()
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
    report.notices = result
        .skipped
        .iter()
        .map(|s| Notice {
            location: Some(Location {
                file: s.path.display().to_string(),
                line: s.line,
            }),
            message: s.message.clone(),
        })
        .collect();
    if !off_target.is_empty() {
        report.notices.push(Notice {
            location: None,
            message: format!(
                "treated as {other} files (findings there are info only): {}",
                off_target.join(", ")
            ),
        });
    }
    emit(&report, &args.output)
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
