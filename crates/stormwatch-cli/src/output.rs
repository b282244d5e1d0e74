//! Writing a report where and how the user asked, and deciding the exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context as _, Result};
use stormwatch_findings::{Audit, Gate, Report};
use stormwatch_report::{write, Context, Format, Options};

use crate::cli::{FormatArg, OutputArgs};

/// Builds the report from the final findings, writes it, and returns whether it fails the
/// run.
pub fn finish(audit: Audit, args: &OutputArgs) -> Result<bool> {
    let report = Report::from(audit);
    let result = emit(&report, args);
    // Released with the process: a large report is freed faster by exiting.
    std::mem::forget(report);
    result
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
fn emit(report: &Report, args: &OutputArgs) -> Result<bool> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && !args.no_color && std::env::var_os("NO_COLOR").is_none();
    let rules = crate::config::all_rules();
    let gate = Gate::new(args.fail_on);
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
    Ok(report.fails(&gate))
}
