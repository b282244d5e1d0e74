//! Writing a report where and how the user asked, and deciding the exit status.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use stormwatch_findings::{Audit, Gate, Report, Threshold};
use stormwatch_policy::{Facts, InlineIgnores, Policy};
use stormwatch_report::{write, Context, Format, Options};

use crate::cli::{FormatArg, OutputArgs};

/// The policy of the project at `root` (`--config` wins), if any.
pub fn load_policy(root: &Path, args: &OutputArgs) -> Result<Option<Policy>> {
    Ok(stormwatch_policy::discover(root, args.config.as_deref())?)
}

/// The date deadlines and expiries are judged on: `--today`, else today.
pub fn today(args: &OutputArgs) -> time::Date {
    args.today
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date())
}

/// The gate: command-line flags over the policy over the defaults.
fn gate(args: &OutputArgs, policy: Option<&Policy>) -> Gate {
    Gate {
        threshold: args
            .fail_on
            .or(policy.and_then(|p| p.fail_on))
            .unwrap_or(Threshold::Low),
        unknown: args
            .unknown_severity
            .or(policy.and_then(|p| p.unknown_severity))
            .unwrap_or_default(),
        fail_on_overdue: policy.is_some_and(|p| p.deadlines.fail_on_overdue),
    }
}

/// Applies the policy and the baseline to the final findings, builds the report once from
/// the outcome, writes it (and the baseline asked for), and returns whether the run fails.
pub fn finish(
    audit: Audit,
    args: &OutputArgs,
    root: &Path,
    policy: Option<&Policy>,
) -> Result<bool> {
    let (report, gate) = prepare(audit, args, root, policy)?;
    let result = emit(&report, args, gate);
    // Released with the process: a large report is freed faster by exiting.
    std::mem::forget(report);
    result
}

/// Fingerprints, then the policy (ignores, deadlines, owners) judged on `today`, inline
/// suppressions as the policy says.
pub fn with_policy(audit: Audit, root: &Path, policy: Option<&Policy>, today: time::Date) -> Audit {
    let inline = policy.and_then(|p| p.inline_ignores).unwrap_or_default();
    with_policy_and(audit, root, policy, today, inline)
}

/// [`with_policy`], inline suppressions as `inline` says.
fn with_policy_and(
    mut audit: Audit,
    root: &Path,
    policy: Option<&Policy>,
    today: time::Date,
    inline: InlineIgnores,
) -> Audit {
    // Before the policy's own ignores, which may still accept what a comment may not.
    stormwatch_policy::inline::apply(inline, &mut audit);
    audit.finalize_fingerprints();
    if let Some(policy) = policy {
        let mut known: HashSet<String> = std::mem::take(&mut audit.advisory_ids)
            .into_iter()
            .collect();
        known.extend(crate::config::all_rules().iter().map(|r| r.id.to_string()));
        let root = root.display().to_string();
        let ran = audit.ran;
        let judged = move |id: &str| judged_by(ran, id);
        stormwatch_policy::apply(
            policy,
            &mut audit,
            &Facts {
                today,
                root: &root,
                known_ids: &known,
                judged: &judged,
            },
        );
    }
    audit
}

/// Whether the audits that `ran` can tell an ignore of `id` unused: rule ids belong to the
/// audit that has the rule, every other id (an advisory or an alias) to the dependency audit.
fn judged_by(ran: stormwatch_findings::Ran, id: &str) -> bool {
    let has = |rules: &[&stormwatch_findings::RuleInfo]| {
        rules.iter().any(|r| r.id.eq_ignore_ascii_case(id))
    };
    let config = has(stormwatch_tornado::rules::ALL) || has(stormwatch_policy::rules::ALL);
    let deps = has(stormwatch_audit::rules::ALL);
    let probe = has(stormwatch_probe::rules::ALL);
    if !(config || deps || probe) {
        return ran.dependencies;
    }
    (config && ran.configuration) || (deps && ran.dependencies) || (probe && ran.probe)
}

/// Policy, baseline comparison and `--write-baseline`, on the final findings.
fn apply_policy(
    mut audit: Audit,
    args: &OutputArgs,
    root: &Path,
    policy: Option<&Policy>,
) -> Result<Audit> {
    let inline = args
        .inline_ignores
        .or(policy.and_then(|p| p.inline_ignores))
        .unwrap_or_default();
    audit = with_policy_and(audit, root, policy, today(args), inline);
    if let Some(path) = &args.baseline {
        let entries = stormwatch_policy::baseline::load(path)?;
        stormwatch_policy::baseline::compare(&mut audit, entries, &path.display().to_string());
    }
    if let Some(path) = &args.write_baseline {
        let file = stormwatch_policy::baseline::of(&audit);
        write_atomically(path, |out| out.write_all(file.to_json().as_bytes()))?;
        eprintln!(
            "wrote {} finding{} to the baseline {}",
            file.findings.len(),
            if file.findings.len() == 1 { "" } else { "s" },
            stormwatch_report::escape_controls(&path.display().to_string())
        );
    }
    Ok(audit)
}

/// The report as `finish` builds it (policy and baseline applied), and its gate, for
/// commands that render something else from it.
pub fn prepare(
    audit: Audit,
    args: &OutputArgs,
    root: &Path,
    policy: Option<&Policy>,
) -> Result<(Report, Gate)> {
    let audit = apply_policy(audit, args, root, policy)?;
    Ok((Report::from(audit), gate(args, policy)))
}

fn format(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Sarif => Format::Sarif,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Junit => Format::Junit,
        FormatArg::Github => Format::Github,
    }
}

/// Writes `render` to `path` through a temporary file beside it, renamed into place.
pub fn write_atomically(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let context = || format!("cannot write {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".stormwatch-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(context)?;
    {
        let mut buf = std::io::BufWriter::new(tmp.as_file_mut());
        render(&mut buf).with_context(context)?;
        buf.flush().with_context(context)?;
    }
    tmp.as_file().sync_all().with_context(context)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(context)?;
    Ok(())
}

/// Renders and writes the report; returns whether it fails the run.
fn emit(report: &Report, args: &OutputArgs, gate: Gate) -> Result<bool> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && !args.no_color && std::env::var_os("NO_COLOR").is_none();
    let rules = crate::config::all_rules();
    let ctx = Context {
        rules: &rules,
        gate,
        strict: args.strict,
        options: Options {
            color,
            quiet: args.quiet,
            verbose: args.verbose,
        },
    };
    let format = format(args.format);
    // What the audit did not cover reaches a reader of the log whatever the report shows:
    // with --quiet, in a file, or in a format a person does not read.
    if args.quiet || args.output.is_some() || args.format != FormatArg::Table {
        for c in &report.coverage {
            eprintln!("warning: {}", stormwatch_report::escape_controls(c));
        }
    }
    match &args.output {
        Some(path) => write_atomically(path, |out| write(report, format, &ctx, out))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = write(report, format, &ctx, &mut out);
            let _ = out.flush();
        }
    }
    if args.strict && !report.incomplete.is_empty() {
        anyhow::bail!(
            "audit incomplete (--strict): {} input{} could not be analysed; see the report",
            report.incomplete.len(),
            if report.incomplete.len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    if args.strict && report.policy_errors > 0 {
        anyhow::bail!(
            "policy problems (--strict): {} ignore{} matched nothing or name an unknown id; see the report",
            report.policy_errors,
            if report.policy_errors == 1 { "" } else { "s" }
        );
    }
    Ok(report.fails(&gate))
}
