//! Turning a [`Report`] into text. Renderers are pure functions of the report, so every
//! format shows the same findings.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use std::str::FromStr;

use anstyle::{AnsiColor, Effects, Style};
use stormwatch_findings::{Finding, Report, Severity};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format `{other}` (expected table or json)")),
        }
    }
}

/// Rendering switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub color: bool,
    /// Findings only: no header, notices or summary.
    pub quiet: bool,
}

/// Writes the report to `out`. JSON is streamed rather than built in memory first: a large
/// report is megabytes, and growing one string to that size costs more than serializing.
pub fn write(
    report: &Report,
    format: Format,
    opts: Options,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
            serde_json::to_writer_pretty(&mut buf, report).map_err(std::io::Error::other)?;
            buf.write_all(b"\n")?;
            buf.flush()
        }
        Format::Table => out.write_all(table(report, opts).as_bytes()),
    }
}

/// The JSON contract (documented in `docs/json-schema.md`), as [`write`] produces it.
pub fn json(report: &Report) -> String {
    let mut out = Vec::new();
    write(report, Format::Json, Options::default(), &mut out).expect("reports serialize");
    String::from_utf8(out).expect("JSON is UTF-8")
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

/// Text from scanned files (package names, messages, paths, error text) made safe for a
/// terminal: control characters (C0 but newline and tab, DEL, C1) and the bidirectional
/// overrides that reorder what a reader sees are shown as `\u{..}` escapes instead of being
/// obeyed. Escape sequences in a scanned file must not recolour, hide or rewrite the report.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn esc(text: &str) -> Cow<'_, str> {
    escape_controls(text)
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
}

const ORDER: [Severity; 6] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Unknown,
    Severity::Info,
];

/// A terminal report grouped by severity, most severe first, each finding with its
/// location and its fix.
pub fn table(report: &Report, opts: Options) -> String {
    let p = Painter { color: opts.color };
    let mut out = String::new();
    if !opts.quiet {
        if let Some(data) = &report.advisory_data {
            let as_of = data
                .as_of
                .as_deref()
                .map(|d| format!(", data as of {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{}",
                p.dim(&format!(
                    "Advisories: {} ({} advisories{as_of})",
                    data.description, data.advisories
                ))
            );
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
            format!("Audited {}.", esc(&report.inputs.join(", ")))
        };
        let _ = writeln!(out, "{}", p.dim(&scope));
        out.push('\n');
    }
    for sev in ORDER {
        let group: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity() == sev)
            .collect();
        if group.is_empty() {
            continue;
        }
        let title = match sev {
            Severity::Info => "INFO".to_string(),
            s => s.as_str().to_ascii_uppercase(),
        };
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                severity_style(sev).effects(Effects::BOLD),
                &format!("{title} ({})", group.len())
            )
        );
        for f in group {
            finding(&mut out, f, &p);
        }
        out.push('\n');
    }
    if !opts.quiet && !report.upgrades.is_empty() {
        let _ = writeln!(out, "{}", p.bold("Minimal upgrades"));
        for u in &report.upgrades {
            let target = match &u.to {
                Some(v) => format!("-> {v}"),
                None => "no release is free of these advisories".to_string(),
            };
            let _ = writeln!(
                out,
                "  {} {} {}  resolves {} finding{}  {}",
                esc(&u.package),
                esc(&u.from),
                esc(&target),
                u.resolves,
                plural(u.resolves),
                p.dim(&location(&u.source.file, u.source.line))
            );
        }
        out.push('\n');
    }
    if !opts.quiet {
        for n in &report.notices {
            let _ = writeln!(out, "{}", p.dim(&format!("note: {}", notice_text(n))));
        }
        for n in &report.incomplete {
            let _ = writeln!(
                out,
                "{}",
                p.paint(
                    Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                    &format!("incomplete: {}", notice_text(n))
                )
            );
        }
        if !report.notices.is_empty() || !report.incomplete.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", summary_line(report, &p));
    }
    out
}

fn notice_text(n: &stormwatch_findings::Notice) -> String {
    match &n.location {
        Some(l) => format!("{}: {}", location(&l.file, l.line), n.message),
        None => n.message.clone(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn location(file: &str, line: usize) -> String {
    let file = esc(file);
    if line > 0 {
        format!("{file}:{line}")
    } else {
        file.into_owned()
    }
}

fn finding(out: &mut String, f: &Finding, p: &Painter) {
    match f {
        Finding::Dependency(d) => {
            let mut ids = d.id.clone();
            if !d.aliases.is_empty() {
                ids.push_str(&format!(" ({})", d.aliases.join(", ")));
            }
            let score = d
                .cvss
                .as_ref()
                .map(|c| format!("  CVSS {:.1}", c.score))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}  {}{score}",
                p.bold(&d.package),
                esc(&d.version),
                esc(&ids)
            );
            if !d.summary.is_empty() {
                let _ = writeln!(out, "    {}", esc(&d.summary));
            }
            let fix = if d.fixed_versions.is_empty() {
                "no fixed version published".to_string()
            } else {
                format!("upgrade to {}", d.fixed_versions.join(" or "))
            };
            let _ = writeln!(
                out,
                "    {}  {}",
                p.dim(&location(&d.source.file, d.source.line)),
                esc(&fix)
            );
            if let Some(marker) = &d.marker {
                let _ = writeln!(out, "    {}", p.dim(&format!("applies when {marker}")));
            }
        }
        Finding::Unpinned(u) => {
            let spec = if u.specifier.is_empty() {
                "(any version)".to_string()
            } else {
                u.specifier.clone()
            };
            let _ = writeln!(
                out,
                "  {} {}  unpinned range allows vulnerable versions, e.g. {}",
                p.bold(&u.package),
                esc(&spec),
                esc(&u.example_version)
            );
            let ids = if u.ids.len() > 6 {
                format!("{} and {} more", u.ids[..6].join(", "), u.ids.len() - 6)
            } else {
                u.ids.join(", ")
            };
            let _ = writeln!(out, "    {}", esc(&ids));
            let fix = match u.fixed_versions.first() {
                Some(v) => format!("require >={v} (or pin a fixed version)"),
                None => "no version is free of these advisories; pin and review".to_string(),
            };
            let _ = writeln!(
                out,
                "    {}  {}",
                p.dim(&location(&u.source.file, u.source.line)),
                esc(&fix)
            );
        }
        Finding::Unauditable(u) => {
            let _ = writeln!(
                out,
                "  {}  not auditable: {} {}",
                p.bold(&u.package),
                esc(&u.reason),
                esc(&u.reference)
            );
            let _ = writeln!(
                out,
                "    {}",
                p.dim(&location(&u.source.file, u.source.line))
            );
        }
        Finding::Config(c) => {
            let suppressed = c
                .suppressed
                .as_ref()
                .map(|r| format!("  (suppressed: {r})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {}{}",
                p.bold(&c.rule),
                esc(&c.message),
                p.dim(&suppressed)
            );
            let _ = writeln!(
                out,
                "    {}",
                p.dim(&format!("{}:{}:{}", c.path, c.line, c.column))
            );
            // The way the value travelled, when it passed through more than one place.
            if c.trace.len() > 1 {
                for step in &c.trace {
                    let _ = writeln!(
                        out,
                        "      {} {}",
                        p.dim(&format!("{}:{}", step.location.file, step.location.line)),
                        esc(&step.note)
                    );
                }
            }
        }
    }
}

fn summary_line(report: &Report, p: &Painter) -> String {
    let vulns = report
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::Dependency(_)))
        .count();
    let unread = report.incomplete.len();
    if report.findings.is_empty() {
        let clean = if report.advisory_data.is_some() {
            "No known vulnerabilities found"
        } else {
            "No findings"
        };
        if unread > 0 {
            // Never a green "clean" when part of the project was not looked at.
            return p.paint(
                Style::new().fg_color(Some(AnsiColor::Yellow.into())),
                &format!(
                    "{clean} in what was analysed; audit incomplete: {unread} input{} not fully analysed.",
                    plural(unread)
                ),
            );
        }
        return p.paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())),
            &format!("{clean}."),
        );
    }
    let s = &report.summary;
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
    let suppressed = report
        .findings
        .iter()
        .filter(|f| matches!(f, Finding::Config(c) if c.suppressed.is_some()))
        .count();
    let mut line = format!(
        "{} finding{} ({})",
        report.findings.len(),
        plural(report.findings.len()),
        parts.join(", ")
    );
    if report.advisory_data.is_some() {
        line.push_str(&format!(
            "; {} known vulnerabilit{}",
            vulns,
            if vulns == 1 { "y" } else { "ies" }
        ));
    }
    if suppressed > 0 {
        line.push_str(&format!("; {suppressed} suppressed"));
    }
    if unread > 0 {
        line.push_str(&format!(
            "; audit incomplete: {unread} input{} not fully analysed",
            plural(unread)
        ));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormwatch_findings::*;

    fn sample() -> Report {
        let findings = vec![
            Finding::Dependency(DependencyFinding {
                package: "tornado".into(),
                version: "6.1".into(),
                id: "PYSEC-2026-140".into(),
                aliases: vec!["CVE-2026-31958".into(), "GHSA-qjxf-f2mg-c6mc".into()],
                severity: Severity::High,
                cvss: Some(CvssScore {
                    kind: "CVSS_V3".into(),
                    vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H".into(),
                    score: 7.5,
                }),
                summary: "Unlimited multipart parts stall the event loop.".into(),
                fixed_versions: vec!["6.5.5".into()],
                source: Location {
                    file: "requirements.txt".into(),
                    line: 3,
                },
                group: None,
                marker: None,
            }),
            Finding::Unpinned(UnpinnedFinding {
                package: "tornado".into(),
                specifier: ">=5".into(),
                ids: vec!["PYSEC-2023-75".into()],
                example_version: "5".into(),
                severity: Severity::Medium,
                fixed_versions: vec!["6.5.8".into()],
                source: Location {
                    file: "pyproject.toml".into(),
                    line: 7,
                },
                group: None,
            }),
            Finding::Unauditable(UnauditableFinding {
                package: "mylib".into(),
                reason: "local path".into(),
                reference: "./vendor/mylib".into(),
                severity: Severity::Info,
                source: Location {
                    file: "requirements.txt".into(),
                    line: 9,
                },
            }),
        ];
        let mut r = Report::new(findings, 4);
        r.inputs = vec!["requirements.txt".into(), "pyproject.toml".into()];
        r.upgrades = vec![Upgrade {
            package: "tornado".into(),
            from: "6.1".into(),
            to: Some("6.5.8".into()),
            resolves: 1,
            source: Location {
                file: "requirements.txt".into(),
                line: 3,
            },
        }];
        r.advisory_data = Some(DataSource {
            description: "bundled Tornado set".into(),
            as_of: Some("2026-11-23".into()),
            advisories: 20,
        });
        r
    }

    #[test]
    fn table_snapshot() {
        insta::assert_snapshot!(table(&sample(), Options::default()));
    }

    #[test]
    fn color_only_when_asked() {
        let plain = table(&sample(), Options::default());
        assert!(!plain.contains('\u{1b}'));
        let colored = table(
            &sample(),
            Options {
                color: true,
                quiet: false,
            },
        );
        assert!(colored.contains("\u{1b}["));
    }

    #[test]
    fn quiet_keeps_only_findings() {
        let q = table(
            &sample(),
            Options {
                color: false,
                quiet: true,
            },
        );
        assert!(!q.contains("Audited"));
        assert!(q.contains("PYSEC-2026-140"));
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: Report = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(back, r);
    }
}
