//! GitHub Actions workflow commands (`::error file=...::message`), which annotate the
//! changed lines of a pull request. GitHub shows at most 10 errors and 10 warnings per step;
//! past that, one notice says how many more there are.

use std::fmt::Write as _;

use stormwatch_findings::{Detail, Report, Severity};

use crate::{Context, Render};

pub struct Github;

/// GitHub's per-step limit for each of `error` and `warning` annotations.
pub const PER_LEVEL: usize = 10;

impl Render for Github {
    fn render(&self, report: &Report, ctx: &Context) -> String {
        github(report, ctx)
    }
}

/// Workflow-command data: `%` and LF encoded so a message cannot end the command; every
/// other control character (ESC, CR, ...) and bidirectional override shown escaped, as in
/// every human-facing format, so text from the tree cannot recolour or hide log lines.
fn data(text: &str) -> String {
    text.split('\n')
        .map(|line| stormwatch_findings::text::escape(&line.replace('%', "%25")).into_owned())
        .collect::<Vec<_>>()
        .join("%0A")
}

/// Workflow-command property values: additionally `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn github(report: &Report, ctx: &Context) -> String {
    let mut out = String::new();
    // Coverage first, as a workflow-level warning: a green step must not hide it.
    for c in &report.coverage {
        let _ = writeln!(out, "::warning title=stormwatch coverage::{}", data(c));
    }
    let mut shown = [0usize; 3];
    let mut hidden = 0;
    for f in crate::ordered(report)
        .into_iter()
        .filter(|f| !f.is_suppressed())
    {
        let (level, slot) = if ctx.gate.fails(f) {
            ("error", 0)
        } else if f.severity == Severity::Info {
            ("notice", 2)
        } else {
            ("warning", 1)
        };
        if shown[slot] == PER_LEVEL {
            hidden += 1;
            continue;
        }
        shown[slot] += 1;
        // A probe finding is about a URL, not a file of the repository: a workflow-level
        // annotation, with the request in the message.
        let mut props = if let Detail::Probe(_) = &f.detail {
            String::new()
        } else {
            format!("file={},", property(&f.location.file))
        };
        if f.location.line > 0 {
            let _ = write!(props, "line={},", f.location.line);
        }
        if f.location.column > 0 {
            let _ = write!(props, "col={},", f.location.column);
        }
        let title = format!("{} ({})", f.id, f.severity.as_str());
        let _ = write!(props, "title={}", property(&title));
        let mut message = f.message();
        if let Detail::Probe(p) = &f.detail {
            let _ = write!(message, " ({})", p.request);
        }
        for fact in crate::deadline_and_owner(f) {
            let _ = write!(message, "; {fact}");
        }
        let _ = writeln!(out, "::{level} {props}::{}", data(&message));
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "::notice title=stormwatch::{hidden} more finding{} not annotated (GitHub shows {PER_LEVEL} per level); see the full report",
            crate::plural(hidden)
        );
    }
    // Plain log lines, escaped: a name cannot start a workflow command of its own.
    for i in &report.inline_suppressions {
        let _ = writeln!(
            out,
            "stormwatch: inline suppression {}",
            crate::escape_controls(&crate::inline_text(i))
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "stormwatch: {} critical, {} high, {} medium, {} low, {} unknown, {} info; {} suppressed",
        s.critical, s.high, s.medium, s.low, s.unknown, s.info, s.suppressed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;
    use stormwatch_findings::{Audit, Finding};

    #[test]
    fn annotations_are_escaped_and_capped() {
        let text = github(&sample::report(), &Context::default());
        // A probe finding is a workflow-level annotation naming its request.
        assert!(
            text.contains("::error title=TW302 (high)::the service sends a Python traceback in its error response (GET https://app.example/stormwatch-probe-1 -> 404)"),
            "{text}"
        );
        assert!(
            text.contains(
                "::error file=requirements.txt,line=3,title=GHSA-aaaa-bbbb-cccc (critical)::"
            ),
            "{text}"
        );
        assert!(
            !text.contains("debug=True"),
            "suppressed findings are not annotated"
        );
        let one = sample::report().findings[0].clone();
        let many: Vec<Finding> = (0..25).map(|_| one.clone()).collect();
        let report = Report::from(Audit {
            findings: many,
            ..Audit::default()
        });
        let text = github(&report, &Context::default());
        assert_eq!(text.matches("::error ").count(), PER_LEVEL);
        assert!(text.contains("15 more findings not annotated"), "{text}");
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(
            data("x\u{1b}[8my\r\n::error::z"),
            "x\\u{1b}[8my\\r%0A::error::z"
        );
    }
}
