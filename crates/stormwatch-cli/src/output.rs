//! Writing a report where and how the user asked, and deciding the exit status.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use stormwatch_findings::Report;
use stormwatch_report::{write, Format, Options};

use crate::cli::{FormatArg, OutputArgs};

/// Renders and writes the report; returns whether it fails the run.
pub fn emit(report: &Report, args: &OutputArgs) -> Result<bool> {
    let format = match args.format {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
    };
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = to_terminal && !args.no_color && std::env::var_os("NO_COLOR").is_none();
    let opts = Options {
        color,
        quiet: args.quiet,
    };
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("cannot write report to {}", path.display()))?;
            write(report, format, opts, &mut file)
                .with_context(|| format!("cannot write report to {}", path.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = write(report, format, opts, &mut out);
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
    Ok(report.fails(args.fail_on))
}
