//! Turning a [`Report`] into text. Each format is one [`Emitter`] in its own module; all of
//! them render the same report, so every format shows the same findings and counts.

use std::borrow::Cow;
use std::str::FromStr;

use stormwatch_findings::{Gate, Report, RuleInfo, Severity, Threshold};

mod github;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;

pub use github::Github;
pub use json::Json;
pub use junit::Junit;
pub use markdown::Markdown;
pub use sarif::Sarif;
pub use table::Table;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Markdown,
    Junit,
    Github,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Markdown,
        Format::Junit,
        Format::Github,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Github => "github",
        }
    }

    /// The emitter that writes this format.
    pub fn emitter(self) -> &'static dyn Emitter {
        match self {
            Format::Table => &Table,
            Format::Json => &Json,
            Format::Sarif => &Sarif,
            Format::Markdown => &Markdown,
            Format::Junit => &Junit,
            Format::Github => &Github,
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!("unknown format `{s}` (expected {})", names.join(", "))
            })
    }
}

/// Rendering switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub color: bool,
    /// Findings only: no header, notices or summary.
    pub quiet: bool,
    /// Every advisory of a vulnerable package in full, not one block per package.
    pub verbose: bool,
}

/// What every emitter may need beside the report: the rules findings refer to (their names
/// and documentation) and the gate that decides which findings fail the run.
pub struct Context<'a> {
    pub rules: &'a [&'a RuleInfo],
    pub gate: Gate,
    /// Whether an incomplete audit fails the run.
    pub strict: bool,
    pub options: Options,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context {
            rules: &[],
            gate: Gate::new(Threshold::High),
            strict: false,
            options: Options::default(),
        }
    }
}

impl Context<'_> {
    pub fn rule(&self, id: &str) -> Option<&RuleInfo> {
        self.rules.iter().copied().find(|r| r.id == id)
    }
}

/// One output format.
pub trait Emitter: Sync {
    fn emit(
        &self,
        report: &Report,
        ctx: &Context,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()>;
}

/// A format built as one string (small or line-oriented outputs); every such format is an
/// [`Emitter`].
pub trait Render: Sync {
    fn render(&self, report: &Report, ctx: &Context) -> String;
}

impl<T: Render> Emitter for T {
    fn emit(
        &self,
        report: &Report,
        ctx: &Context,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        out.write_all(self.render(report, ctx).as_bytes())
    }
}

/// The deadline and owner of a finding, as short phrases: `due 2026-03-18 (overdue)`,
/// `owner @team`.
pub(crate) fn deadline_and_owner(f: &stormwatch_findings::Finding) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(due) = &f.due {
        out.push(format!(
            "due {due}{}",
            if f.overdue { " (overdue)" } else { "" }
        ));
    }
    if let Some(owner) = &f.owner {
        out.push(format!("owner {owner}"));
    }
    out
}

/// Where the advisories came from: `bundled set (23 advisories loaded, data as of
/// 2026-11-23)`; a data date later than today is shown as today, with the claim.
pub fn data_text(data: &stormwatch_findings::DataSource) -> String {
    let as_of = match (data.as_of.as_deref(), data.claimed_as_of.as_deref()) {
        (Some(d), Some(claimed)) => format!(
            ", data as of {d} (it claims {}, later than today)",
            escape_controls(claimed)
        ),
        (Some(d), None) => format!(", data as of {d}"),
        _ => String::new(),
    };
    let updated = match (&data.updated, data.age_days) {
        (Some(d), Some(0)) => format!(", updated {d} (today)"),
        (Some(d), Some(1)) => format!(", updated {d} (1 day ago)"),
        (Some(d), Some(n)) => format!(", updated {d} ({n} days ago)"),
        (Some(d), None) => format!(", updated {d}"),
        _ => String::new(),
    };
    let stale = if data.stale { "; STALE" } else { "" };
    format!(
        "{} ({} advisories loaded{as_of}{updated}{stale})",
        data.description, data.advisories
    )
}

/// Writes the report to `out` in `format`.
pub fn write(
    report: &Report,
    format: Format,
    ctx: &Context,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    format.emitter().emit(report, ctx, out)
}

/// The report in `format`, as a string.
pub fn render(report: &Report, format: Format, ctx: &Context) -> String {
    let mut out = Vec::new();
    write(report, format, ctx, &mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("every format is UTF-8")
}

/// The JSON contract (documented in `docs/json-schema.md`).
pub fn json(report: &Report) -> String {
    render(report, Format::Json, &Context::default())
}

/// Text from scanned files, advisory data and probed services (package names, messages,
/// paths, error text) made safe for a terminal or a log: see
/// [`stormwatch_findings::text::escape`]. Every human-facing output goes through it.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    stormwatch_findings::text::escape(text)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `file:line`, or the file alone when the line is unknown (not escaped).
pub fn place(file: &str, line: usize) -> String {
    if line > 0 {
        format!("{file}:{line}")
    } else {
        file.to_string()
    }
}

/// Every place a finding is declared (`pyproject.toml:4, uv.lock:11`): its location, and
/// for a dependency declared in several files, each of them.
pub fn places(f: &stormwatch_findings::Finding) -> String {
    match f.vulnerability().map(|d| d.declared.as_slice()) {
        Some(declared) if declared.len() > 1 => declared
            .iter()
            .map(|l| place(&l.file, l.line))
            .collect::<Vec<_>>()
            .join(", "),
        _ => place(&f.location.file, f.location.line),
    }
}

/// A notice as one line: `file:line: message`, or the message alone (not escaped).
pub fn notice_text(n: &stormwatch_findings::Notice) -> String {
    match &n.location {
        Some(l) => format!("{}: {}", place(&l.file, l.line), n.message),
        None => n.message.clone(),
    }
}

/// An inline suppression as one line (not escaped):
/// `app.py:6 ignore[TW003] (honoured): local demo only`.
pub fn inline_text(i: &stormwatch_findings::InlineSuppression) -> String {
    format!(
        "{} ignore[{}] ({}): {}",
        place(&i.location.file, i.location.line),
        i.ids.join(","),
        i.outcome.as_str(),
        i.reason
    )
}

/// Severities from the most to the least severe, as reports list them.
pub(crate) const ORDER: [Severity; 6] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
    Severity::Info,
];

/// What to do about a finding, in a few words.
pub(crate) fn fix_text(f: &stormwatch_findings::Finding) -> String {
    use stormwatch_findings::Detail;
    match &f.detail {
        Detail::Dependency(d) if d.fixed_versions.is_empty() => {
            "no fixed version published".to_string()
        }
        Detail::Dependency(d) => format!("upgrade to {}", d.fixed_versions.join(" or ")),
        Detail::Unpinned(u) => match u.fixed_versions.first() {
            Some(v) => format!("require >={v} (or pin a fixed version)"),
            None => "no version is free of these advisories; pin and review".to_string(),
        },
        Detail::Unauditable(_) => "depend on a released version, or review it".to_string(),
        Detail::Config(_) => format!("see `stormwatch explain {}`", f.id),
        Detail::Probe(p) => match &p.vulnerability {
            Some(d) if d.fixed_versions.is_empty() => "no fixed version published".to_string(),
            Some(d) => format!("deploy Tornado {}", d.fixed_versions.join(" or ")),
            None => format!("see `stormwatch explain {}`", p.rule),
        },
    }
}

/// Findings as every format orders them: overdue first, then most severe first, keeping
/// the audit's own order otherwise.
pub(crate) fn ordered(report: &Report) -> Vec<&stormwatch_findings::Finding> {
    let mut all: Vec<&stormwatch_findings::Finding> = report.findings.iter().collect();
    all.sort_by_key(|f| (!f.overdue, std::cmp::Reverse(f.severity)));
    all
}

#[cfg(test)]
pub(crate) mod sample;
