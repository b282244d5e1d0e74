//! The fix report: JSON, or lines for a person.

use stormwatch_fix::plan::Remaining;

use stormwatch_report::escape_controls as esc;

use crate::cli::StatusFormat;

#[derive(serde::Serialize)]
pub(super) struct Fixed {
    pub(super) package: String,
    pub(super) from: Vec<String>,
    pub(super) to: String,
    pub(super) advisories: Vec<String>,
    pub(super) files: Vec<String>,
}

#[derive(serde::Serialize)]
pub(super) struct Verify {
    pub(super) command: String,
    /// passed, failed, timed-out; with --bisect, the final state.
    pub(super) result: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(super) tail: String,
}

/// An input the fix did not read or will not write: a vulnerable pin there stays.
#[derive(serde::Serialize)]
pub(super) struct Skipped {
    pub(super) path: String,
    pub(super) reason: String,
}

#[derive(serde::Serialize)]
pub(super) struct Report {
    pub(super) version: u32,
    pub(super) dry_run: bool,
    pub(super) fixed: Vec<Fixed>,
    pub(super) remaining: Vec<Remaining>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) skipped: Vec<Skipped>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) verify: Option<Verify>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) commands: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) journal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) commit: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) warnings: Vec<String>,
}

pub(super) fn print(report: &Report, format: StatusFormat) {
    if format == StatusFormat::Json {
        say!(
            "{}",
            serde_json::to_string_pretty(report).expect("the report serializes")
        );
        return;
    }
    let verb = if report.dry_run { "Would fix" } else { "Fixed" };
    for f in &report.fixed {
        say!(
            "{verb}: {} {} -> {} ({}) in {}",
            esc(&f.package),
            esc(&f.from.join(", ")),
            esc(&f.to),
            esc(&f.advisories.join(", ")),
            esc(&f.files.join(", "))
        );
    }
    for c in &report.commands {
        say!("Would run: {}", esc(c));
    }
    for r in &report.remaining {
        say!(
            "Not fixed: {} {} at {}: {}{}",
            esc(&r.package),
            esc(&r.version.to_string()),
            esc(&r.location.to_string()),
            esc(&r.reason),
            r.command
                .as_deref()
                .map(|c| format!("\n  instead: {}", esc(c)))
                .unwrap_or_default()
        );
    }
    if let Some(v) = &report.verify {
        say!("Verify `{}`: {}", esc(&v.command), v.result);
        if v.result != "passed" && !v.tail.is_empty() {
            for line in v
                .tail
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                say!("  | {}", esc(line));
            }
        }
    }
    for s in &report.skipped {
        say!("Skipped: {}: {}", esc(&s.path), esc(&s.reason));
    }
    if !report.skipped.is_empty() {
        say!(
            "{} input(s) skipped: a vulnerable pin there is not fixed; fix or remove them and run again.",
            report.skipped.len()
        );
    }
    if let Some(j) = &report.journal {
        say!(
            "Recorded in {}: `stormwatch fix --rollback` undoes it.",
            esc(j)
        );
    }
    if let Some(c) = &report.commit {
        say!("Committed {}.", esc(c));
    }
    for w in &report.warnings {
        eprintln!("warning: {}", esc(w));
    }
    if report.fixed.is_empty() && report.remaining.is_empty() && report.skipped.is_empty() {
        say!("Nothing to fix: no dependency is affected by a known advisory.");
    }
}
