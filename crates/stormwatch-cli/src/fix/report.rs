//! The fix report: JSON, or lines for a person.

use stormwatch_fix::plan::Remaining;

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
            f.package,
            f.from.join(", "),
            f.to,
            f.advisories.join(", "),
            f.files.join(", ")
        );
    }
    for c in &report.commands {
        say!("Would run: {c}");
    }
    for r in &report.remaining {
        say!(
            "Not fixed: {} {} at {}: {}{}",
            r.package,
            r.version,
            r.location,
            r.reason,
            r.command
                .as_deref()
                .map(|c| format!("\n  instead: {c}"))
                .unwrap_or_default()
        );
    }
    if let Some(v) = &report.verify {
        say!("Verify `{}`: {}", v.command, v.result);
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
                say!("  | {line}");
            }
        }
    }
    for s in &report.skipped {
        say!("Skipped: {}: {}", s.path, s.reason);
    }
    if !report.skipped.is_empty() {
        say!(
            "{} input(s) skipped: a vulnerable pin there is not fixed; fix or remove them and run again.",
            report.skipped.len()
        );
    }
    if let Some(j) = &report.journal {
        say!("Recorded in {j}: `stormwatch fix --rollback` undoes it.");
    }
    if let Some(c) = &report.commit {
        say!("Committed {c}.");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if report.fixed.is_empty() && report.remaining.is_empty() && report.skipped.is_empty() {
        say!("Nothing to fix: no pinned dependency is affected by a known advisory.");
    }
}
