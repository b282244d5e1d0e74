//! Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`: a summary table, the
//! findings overdue first, and the details of each in a collapsible section.

use std::fmt::Write as _;

use stormwatch_findings::{Detail, Finding, Report};

use crate::{escape_controls, fix_text, place, Context, Render, ORDER};

pub struct Markdown;

impl Render for Markdown {
    fn render(&self, report: &Report, ctx: &Context) -> String {
        markdown(report, ctx)
    }
}

/// Text from scanned files made inert in Markdown and in the HTML GitHub allows in it:
/// no tags, no table breaks, no links or emphasis started by a package name, and control
/// characters and line breaks shown escaped (see [`escape_controls`]).
pub fn md(text: &str) -> String {
    let text = escape_controls(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for a code span (`` `file:line` ``): escaped, without the backtick that would end
/// the span or the bar that would end the table cell.
fn code(text: &str) -> String {
    escape_controls(text).replace('`', "'").replace('|', "\\|")
}

fn subject(f: &Finding) -> String {
    match &f.detail {
        Detail::Dependency(d) => format!("{} {}", d.package, d.version),
        Detail::Unpinned(u) => format!("{} {}", u.package, u.specifier),
        Detail::Unauditable(u) => u.package.clone(),
        Detail::Config(_) => f.id.clone(),
        Detail::Probe(p) => match &p.vulnerability {
            Some(d) => format!("served {} {}", d.package, d.version),
            None => "live service".to_string(),
        },
    }
}

pub fn markdown(report: &Report, ctx: &Context) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let active = report.findings.len() - s.suppressed;
    let failing = report.active().filter(|f| ctx.gate.fails(f)).count();
    let verdict = if failing > 0 {
        format!(
            ":x: **{failing} finding{} fail the gate**",
            crate::plural(failing)
        )
    } else if active > 0 {
        ":warning: findings below the gate".to_string()
    } else {
        ":white_check_mark: no findings".to_string()
    };
    let _ = writeln!(out, "## stormwatch\n\n{verdict}\n");
    for c in &report.coverage {
        let _ = writeln!(out, "> :warning: **{}**\n", md(c));
    }
    let _ = writeln!(out, "| severity | findings |\n|---|---:|");
    for (sev, n) in ORDER
        .iter()
        .zip([s.critical, s.high, s.medium, s.low, s.unknown, s.info])
    {
        if n > 0 {
            let _ = writeln!(out, "| {} | {n} |", sev.as_str());
        }
    }
    for (label, n) in [("overdue", s.overdue), ("suppressed", s.suppressed)] {
        if n > 0 {
            let _ = writeln!(out, "| {label} | {n} |");
        }
    }
    if active == 0 && s.suppressed == 0 && s.overdue == 0 {
        let _ = writeln!(out, "| none | 0 |");
    }
    out.push('\n');
    if let Some(data) = &report.advisory_data {
        let _ = writeln!(
            out,
            "Audited {} packages with {}.\n",
            s.packages,
            md(&crate::data_text(data))
        );
    }
    let findings: Vec<&Finding> = crate::ordered(report)
        .into_iter()
        .filter(|f| !f.is_suppressed())
        .collect();
    if !findings.is_empty() {
        let _ = writeln!(
            out,
            "| severity | finding | id | where | fix | due | owner |\n|---|---|---|---|---|---|---|"
        );
        for f in &findings {
            let due = match (&f.due, f.overdue) {
                (Some(d), true) => format!("**overdue** ({d})"),
                (Some(d), false) => d.clone(),
                (None, _) => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}` | {} | {} | {} |",
                f.severity.as_str(),
                md(&subject(f)),
                md(&f.id),
                code(&crate::places(f)),
                md(&fix_text(f)),
                due,
                f.owner.as_deref().map(md).unwrap_or_default()
            );
        }
        out.push('\n');
        let _ = writeln!(out, "<details><summary>Details</summary>\n");
        for f in &findings {
            let _ = writeln!(out, "- **{}** {}", md(&f.id), md(&f.message()));
            if let Detail::Probe(p) = &f.detail {
                let _ = writeln!(out, "  - request: {}", md(&p.request.to_string()));
                if let Some(e) = &p.evidence {
                    let _ = writeln!(out, "  - evidence: {}", md(e));
                }
            }
            if let Detail::Config(c) = &f.detail {
                for step in c.trace.iter().filter(|_| c.trace.len() > 1) {
                    let _ = writeln!(
                        out,
                        "  - {}: {}",
                        md(&place(&step.location.file, step.location.line)),
                        md(&step.note)
                    );
                }
            }
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let suppressed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_suppressed())
        .collect();
    if !suppressed.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} suppressed</summary>\n",
            suppressed.len()
        );
        for f in suppressed {
            let reason = f
                .suppression
                .as_ref()
                .map(|s| format!("{}: {}", s.kind.as_str(), s.reason));
            let _ = writeln!(
                out,
                "- {} `{}` ({})",
                md(&f.id),
                code(&crate::places(f)),
                md(&reason.unwrap_or_default())
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if !report.inline_suppressions.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} inline suppression{}</summary>\n",
            report.inline_suppressions.len(),
            crate::plural(report.inline_suppressions.len())
        );
        for i in &report.inline_suppressions {
            let _ = writeln!(
                out,
                "- `{}` ignore\\[{}\\] ({}): {}",
                code(&place(&i.location.file, i.location.line)),
                md(&i.ids.join(",")),
                i.outcome.as_str(),
                md(&i.reason)
            );
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    let notes: Vec<String> = report
        .policy
        .iter()
        .map(|n| format!("policy: {}", n.message))
        .chain(
            report
                .incomplete
                .iter()
                .map(|n| format!("incomplete: {}", crate::notice_text(n))),
        )
        .collect();
    for n in notes {
        let _ = writeln!(out, "> {}", md(&n));
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nBaseline `{}`: {} new, {} unchanged, {} fixed.",
            code(&b.file),
            b.new,
            b.unchanged,
            b.fixed.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(markdown(&sample::report(), &Context::default()));
    }

    #[test]
    fn scanned_text_cannot_inject_markup() {
        assert_eq!(md("a|b<script>*x*"), "a\\|b&lt;script&gt;\\*x\\*");
        assert_eq!(md("line\nbreak"), "line\\\\nbreak");
        assert_eq!(md("a\u{1b}[8m"), "a\\\\u{1b}\\[8m");
        assert_eq!(code("a`b|c\n::x"), "a'b\\|c\\n::x");
    }
}
