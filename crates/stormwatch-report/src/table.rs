//! The terminal report. It leads with what to do: one block per vulnerable package
//! (installed -> smallest safe version, counts by severity, due date, owner, advisory ids),
//! then the other findings by severity, then a one-line summary. `--verbose` lists every
//! advisory of a package and the suppressed findings.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Effects, Style};
use stormwatch_findings::{DependencyFinding, Detail, Finding, Report, Severity};

use crate::{escape_controls as esc, fix_text, notice_text, place, plural, Context, Render, ORDER};

pub struct Table;

impl Render for Table {
    fn render(&self, report: &Report, ctx: &Context) -> String {
        table(report, ctx)
    }
}

fn severity_style(sev: Severity) -> Style {
    match sev {
        Severity::Critical => Style::new()
            .fg_color(Some(AnsiColor::BrightRed.into()))
            .effects(Effects::BOLD),
        Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Severity::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Low => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        Severity::Unknown => Style::new().fg_color(Some(AnsiColor::Magenta.into())),
        Severity::Info => Style::new().fg_color(Some(AnsiColor::BrightBlack.into())),
    }
}

fn label(sev: Severity) -> String {
    match sev {
        Severity::Info => "INFO".to_string(),
        s => s.as_str().to_ascii_uppercase(),
    }
}

struct Painter {
    color: bool,
}

impl Painter {
    /// `text` is escaped: only the painter's own styles reach the terminal.
    fn paint(&self, style: Style, text: &str) -> String {
        let text = esc(text);
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
    fn dim(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::DIMMED), text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint(Style::new().effects(Effects::BOLD), text)
    }
    fn warn(&self, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(AnsiColor::Yellow.into())), text)
    }
}

/// The advisories of one installed package at one place.
struct Block<'a> {
    package: &'a str,
    version: &'a str,
    file: &'a str,
    line: usize,
    findings: Vec<(&'a Finding, &'a DependencyFinding)>,
}

impl Block<'_> {
    fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|(f, _)| f.severity)
            .max()
            .unwrap_or(Severity::Unknown)
    }
    fn overdue(&self) -> bool {
        self.findings.iter().any(|(f, _)| f.overdue)
    }
    /// The earliest due date among the advisories.
    fn due(&self) -> Option<&str> {
        self.findings
            .iter()
            .filter_map(|(f, _)| f.due.as_deref())
            .min()
    }
}

fn blocks(report: &Report) -> Vec<Block<'_>> {
    let mut out: Vec<Block> = Vec::new();
    for f in report.active() {
        let Detail::Dependency(d) = &f.detail else {
            continue;
        };
        let (file, line) = (f.location.file.as_str(), f.location.line);
        match out.iter_mut().find(|b| {
            b.package == d.package && b.version == d.version && b.file == file && b.line == line
        }) {
            Some(b) => b.findings.push((f, d)),
            None => out.push(Block {
                package: &d.package,
                version: &d.version,
                file,
                line,
                findings: vec![(f, d)],
            }),
        }
    }
    for b in &mut out {
        b.findings
            .sort_by(|(x, _), (y, _)| y.severity.cmp(&x.severity).then_with(|| x.id.cmp(&y.id)));
    }
    out.sort_by_key(|b| (!b.overdue(), std::cmp::Reverse(b.worst())));
    out
}

/// The terminal report.
pub fn table(report: &Report, ctx: &Context) -> String {
    let opts = ctx.options;
    let p = Painter { color: opts.color };
    let mut out = String::new();
    if !opts.quiet {
        header(&mut out, report, &p);
    }
    let blocks = blocks(report);
    if !blocks.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            p.bold(&format!("Vulnerable packages ({})", blocks.len()))
        );
        for b in &blocks {
            block(&mut out, report, b, &p, opts.verbose);
        }
        out.push('\n');
    }
    for sev in ORDER {
        let mut group: Vec<&Finding> = report
            .active()
            .filter(|f| f.severity == sev && !matches!(f.detail, Detail::Dependency(_)))
            .collect();
        if group.is_empty() {
            continue;
        }
        group.sort_by_key(|f| !f.overdue);
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                severity_style(sev).effects(Effects::BOLD),
                &format!("{} ({})", label(sev), group.len())
            )
        );
        for f in group {
            other(&mut out, f, &p);
        }
        out.push('\n');
    }
    let suppressed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_suppressed())
        .collect();
    if opts.verbose && !suppressed.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!("SUPPRESSED ({})", suppressed.len()))
        );
        for f in suppressed {
            let s = f.suppression.as_ref().expect("filtered on suppression");
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                p.dim(&f.id),
                esc(&f.message()),
                p.dim(&place(&f.location.file, f.location.line))
            );
            let _ = writeln!(
                out,
                "    {}",
                p.dim(&format!("{}: {}", s.kind.as_str(), s.reason))
            );
        }
        out.push('\n');
    }
    // What the scanned code asked to hide is always shown, honoured or not.
    if !opts.quiet && !report.inline_suppressions.is_empty() {
        let n = report.inline_suppressions.len();
        let _ = writeln!(out, "{}", p.bold(&format!("Inline suppressions ({n})")));
        for i in &report.inline_suppressions {
            let _ = writeln!(out, "  {}", p.dim(&crate::inline_text(i)));
        }
        out.push('\n');
    }
    if !opts.quiet {
        footer(&mut out, report, &p);
    }
    out
}

fn header(out: &mut String, report: &Report, p: &Painter) {
    if let Some(data) = &report.advisory_data {
        let advisories = format!("Advisories: {}", crate::data_text(data));
        let _ = writeln!(out, "{}", p.dim(&advisories));
    }
    for c in &report.coverage {
        let _ = writeln!(out, "{}", p.warn(&format!("warning: {c}")));
    }
    let scope = if report.summary.packages > 0 || report.advisory_data.is_some() {
        format!(
            "Audited {} package{} from {} input{}.",
            report.summary.packages,
            plural(report.summary.packages),
            report.inputs.len(),
            plural(report.inputs.len())
        )
    } else {
        format!("Audited {}.", report.inputs.join(", "))
    };
    let _ = writeln!(out, "{}", p.dim(&scope));
    out.push('\n');
}

fn block(out: &mut String, report: &Report, b: &Block, p: &Painter, verbose: bool) {
    let worst = b.worst();
    let target = report
        .upgrades
        .iter()
        .find(|u| {
            u.package == b.package
                && u.from == b.version
                && u.source.file == b.file
                && u.source.line == b.line
        })
        .map(|u| match &u.to {
            Some(v) => format!("-> {v}"),
            None => "-> no release is free of these advisories".to_string(),
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  {}  {} {} {}  {}",
        p.paint(severity_style(worst).effects(Effects::BOLD), &label(worst)),
        p.bold(b.package),
        esc(b.version),
        p.bold(&target),
        p.dim(
            &b.findings
                .first()
                .map_or_else(|| place(b.file, b.line), |(f, _)| crate::places(f))
        )
    );
    let mut counts = Vec::new();
    for sev in ORDER {
        let n = b.findings.iter().filter(|(f, _)| f.severity == sev).count();
        if n > 0 {
            counts.push(format!("{n} {}", sev.as_str()));
        }
    }
    let mut facts = vec![format!(
        "{} advisor{}: {}",
        b.findings.len(),
        if b.findings.len() == 1 { "y" } else { "ies" },
        counts.join(", ")
    )];
    if let Some(due) = b.due() {
        facts.push(if b.overdue() {
            format!("OVERDUE since {due}")
        } else {
            format!("due {due}")
        });
    }
    if let Some(owner) = b.findings.iter().find_map(|(f, _)| f.owner.as_deref()) {
        facts.push(format!("owner {owner}"));
    }
    let facts = facts.join("  ·  ");
    let _ = writeln!(
        out,
        "    {}",
        if b.overdue() {
            p.warn(&facts)
        } else {
            esc(&facts).into_owned()
        }
    );
    if let Some(marker) = b.findings.iter().find_map(|(_, d)| d.marker.as_deref()) {
        let _ = writeln!(out, "    {}", p.dim(&format!("applies when {marker}")));
    }
    if verbose {
        for (f, d) in &b.findings {
            advisory(out, f, d, p);
        }
        return;
    }
    const SHOWN: usize = 8;
    let ids: Vec<&str> = b.findings.iter().map(|(f, _)| f.id.as_str()).collect();
    let mut line = ids[..ids.len().min(SHOWN)].join(", ");
    if ids.len() > SHOWN {
        let _ = write!(line, " and {} more (--verbose)", ids.len() - SHOWN);
    }
    let _ = writeln!(out, "    {}", p.dim(&line));
}

fn advisory(out: &mut String, f: &Finding, d: &DependencyFinding, p: &Painter) {
    let mut ids = f.id.clone();
    if !d.aliases.is_empty() {
        let _ = write!(ids, " ({})", d.aliases.join(", "));
    }
    let score = d
        .cvss
        .as_ref()
        .map(|c| format!("  CVSS {:.1}", c.score))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    {} {}{}",
        p.paint(
            severity_style(f.severity),
            &format!("{:<8}", f.severity.as_str())
        ),
        esc(&ids),
        score
    );
    if !d.summary.is_empty() {
        let _ = writeln!(out, "      {}", esc(&d.summary));
    }
    let mut facts = vec![fix_text(f)];
    if let Some(due) = &f.due {
        facts.push(format!("due {due}"));
    }
    let _ = writeln!(out, "      {}", p.dim(&facts.join("  ·  ")));
}

fn other(out: &mut String, f: &Finding, p: &Painter) {
    let here = p.dim(&place(&f.location.file, f.location.line));
    match &f.detail {
        Detail::Unpinned(u) => {
            let spec = if u.specifier.is_empty() {
                "(any version)"
            } else {
                &u.specifier
            };
            let _ = writeln!(
                out,
                "  {} {}  unpinned range allows vulnerable versions, e.g. {}",
                p.bold(&u.package),
                esc(spec),
                esc(&u.example_version)
            );
            let ids = if u.ids.len() > 6 {
                format!("{} and {} more", u.ids[..6].join(", "), u.ids.len() - 6)
            } else {
                u.ids.join(", ")
            };
            let _ = writeln!(out, "    {}", esc(&ids));
            let _ = writeln!(out, "    {here}  {}", esc(&fix_text(f)));
        }
        Detail::Unauditable(u) => {
            let _ = writeln!(
                out,
                "  {}  not auditable: {} {}",
                p.bold(&u.package),
                esc(&u.reason),
                esc(&u.reference)
            );
            let _ = writeln!(out, "    {here}");
        }
        Detail::Config(c) => {
            let _ = writeln!(out, "  {}  {}", p.bold(&f.id), esc(&c.message));
            let at = if f.location.column > 0 {
                format!(
                    "{}:{}",
                    place(&f.location.file, f.location.line),
                    f.location.column
                )
            } else {
                place(&f.location.file, f.location.line)
            };
            let _ = writeln!(out, "    {}", p.dim(&at));
            // The way the value travelled, when it passed through more than one place.
            if c.trace.len() > 1 {
                for step in &c.trace {
                    let _ = writeln!(
                        out,
                        "      {} {}",
                        p.dim(&place(&step.location.file, step.location.line)),
                        esc(&step.note)
                    );
                }
            }
        }
        Detail::Dependency(d) => advisory(out, f, d, p),
        Detail::Probe(probe) => {
            let _ = writeln!(out, "  {}  {}", p.bold(&f.id), esc(&probe.message));
            if let Some(d) = &probe.vulnerability {
                if !d.summary.is_empty() {
                    let _ = writeln!(out, "    {}", esc(&d.summary));
                }
                let _ = writeln!(out, "    {}", p.dim(&esc(&fix_text(f))));
            }
            let _ = writeln!(out, "    {}", p.dim(&esc(&probe.request.to_string())));
            if let Some(e) = &probe.evidence {
                let _ = writeln!(out, "    {}", p.dim(&esc(e)));
            }
        }
    }
    let mut facts = Vec::new();
    if let Some(due) = &f.due {
        facts.push(if f.overdue {
            format!("OVERDUE since {due}")
        } else {
            format!("due {due}")
        });
    }
    if let Some(owner) = &f.owner {
        facts.push(format!("owner {owner}"));
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "    {}", p.dim(&facts.join("  ·  ")));
    }
}

fn footer(out: &mut String, report: &Report, p: &Painter) {
    for n in &report.notices {
        let _ = writeln!(out, "{}", p.dim(&format!("note: {}", notice_text(n))));
    }
    for n in &report.policy {
        let _ = writeln!(out, "{}", p.warn(&format!("policy: {}", notice_text(n))));
    }
    for n in &report.incomplete {
        let _ = writeln!(
            out,
            "{}",
            p.warn(&format!("incomplete: {}", notice_text(n)))
        );
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!(
                "baseline {}: {} new, {} unchanged, {} fixed",
                b.file,
                b.new,
                b.unchanged,
                b.fixed.len()
            ))
        );
    }
    if !report.notices.is_empty()
        || !report.incomplete.is_empty()
        || !report.policy.is_empty()
        || report.baseline.is_some()
    {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(report, p));
}

/// How many findings each kind of suppression holds back: "22 baseline, 1 policy".
fn suppression_kinds(report: &Report) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for f in report.findings.iter().filter(|f| f.is_suppressed()) {
        let kind = f.suppression.as_ref().map_or("", |s| s.kind.as_str());
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn summary_line(report: &Report, p: &Painter) -> String {
    let s = &report.summary;
    let active = report.findings.len() - s.suppressed;
    let unread = report.incomplete.len();
    let suppressed = if s.suppressed > 0 {
        format!("; {} suppressed", s.suppressed)
    } else {
        String::new()
    };
    if active == 0 {
        let clean = if s.suppressed > 0 {
            "Nothing to act on"
        } else if report.advisory_data.is_some() {
            "No known vulnerabilities found"
        } else {
            "No findings"
        };
        let suppressed = if s.suppressed > 0 {
            format!(
                "; {} suppressed ({})",
                s.suppressed,
                suppression_kinds(report)
            )
        } else {
            String::new()
        };
        if unread > 0 {
            // Never a green "clean" when part of the project was not looked at.
            return p.warn(&format!(
                "{clean} in what was analysed{suppressed}; audit incomplete: {unread} input{} not fully analysed.",
                plural(unread)
            ));
        }
        // Nor when the data could not have known: no database, or stale data.
        if let Some(caveat) = report.advisory_data.as_ref().and_then(|d| d.caveat()) {
            return p.warn(&format!("{clean}{suppressed}, but {caveat}."));
        }
        return p.paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())),
            &format!("{clean}{suppressed}."),
        );
    }
    let mut parts = Vec::new();
    for (n, label) in [
        (s.critical, "critical"),
        (s.high, "high"),
        (s.medium, "medium"),
        (s.low, "low"),
        (s.unknown, "unknown"),
        (s.info, "info"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let mut line = format!("{active} finding{} ({})", plural(active), parts.join(", "));
    if report.advisory_data.is_some() {
        // The declared versions and the version a probed service runs are counted apart:
        // the same advisory in both is one to fix in the repository, one to redeploy.
        let declared = report
            .active()
            .filter(|f| matches!(f.detail, Detail::Dependency(_)))
            .count();
        let served = report
            .active()
            .filter(|f| matches!(&f.detail, Detail::Probe(p) if p.vulnerability.is_some()))
            .count();
        if declared > 0 || served == 0 {
            let _ = write!(
                line,
                "; {declared} known vulnerabilit{} in declared versions",
                if declared == 1 { "y" } else { "ies" }
            );
        }
        if served > 0 {
            let _ = write!(
                line,
                "; {served} known vulnerabilit{} in the version the service runs",
                if served == 1 { "y" } else { "ies" }
            );
        }
    }
    if s.overdue > 0 {
        let _ = write!(line, "; {} overdue", s.overdue);
    }
    line.push_str(&suppressed);
    if unread > 0 {
        let _ = write!(
            line,
            "; audit incomplete: {unread} input{} not fully analysed",
            plural(unread)
        );
    }
    if let Some(caveat) = report.advisory_data.as_ref().and_then(|d| d.caveat()) {
        let _ = write!(line, "; {caveat}");
    }
    line.push('.');
    line
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
