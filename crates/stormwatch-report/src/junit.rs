//! JUnit XML, which GitLab and Jenkins show as test reports: one test case per finding (a
//! failure when it fails the gate, skipped when suppressed), and one case per audit step
//! that passed, so a clean run still shows what was checked.

use std::fmt::Write as _;

use stormwatch_findings::{Detail, Report};

use crate::{place, Context, Render};

pub struct Junit;

impl Render for Junit {
    fn render(&self, report: &Report, ctx: &Context) -> String {
        junit(report, ctx)
    }
}

/// Text for XML attributes and content. Characters XML 1.0 cannot hold at all are dropped.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn junit(report: &Report, ctx: &Context) -> String {
    let mut cases = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    for f in crate::ordered(report) {
        tests += 1;
        let class = match f.detail {
            Detail::Config(_) => "stormwatch.config",
            Detail::Probe(_) => "stormwatch.probe",
            _ => "stormwatch.dependencies",
        };
        let name = format!("{} {}", f.id, place(&f.location.file, f.location.line));
        let _ = write!(
            cases,
            "    <testcase classname=\"{class}\" name=\"{}\" file=\"{}\"",
            xml(&name),
            xml(&f.location.file)
        );
        if f.location.line > 0 {
            let _ = write!(cases, " line=\"{}\"", f.location.line);
        }
        cases.push('>');
        let mut body = f.message();
        for fact in crate::deadline_and_owner(f) {
            let _ = write!(body, "\n{fact}");
        }
        if let Some(s) = f.suppression.as_ref().filter(|_| f.is_suppressed()) {
            skipped += 1;
            let _ = write!(
                cases,
                "<skipped message=\"{}\"/>",
                xml(&format!("suppressed ({}): {}", s.kind.as_str(), s.reason))
            );
        } else if ctx.gate.fails(f) {
            failures += 1;
            let _ = write!(
                cases,
                "<failure type=\"{}\" message=\"{}\">{}</failure>",
                f.severity.as_str(),
                xml(&format!(
                    "{} severity: {}",
                    f.severity.as_str(),
                    f.message()
                )),
                xml(&body)
            );
        } else {
            let _ = write!(cases, "<system-out>{}</system-out>", xml(&body));
        }
        cases.push_str("</testcase>\n");
    }
    // The audit itself, as a case that fails when it could not read everything (only when
    // that fails the run).
    tests += 1;
    let _ = write!(
        cases,
        "    <testcase classname=\"stormwatch\" name=\"inputs analysed\">"
    );
    if report.incomplete.is_empty() {
        let _ = write!(
            cases,
            "<system-out>{}</system-out>",
            xml(&report.inputs.join("\n"))
        );
    } else {
        let list: Vec<String> = report
            .incomplete
            .iter()
            .map(|n| match &n.location {
                Some(l) => format!("{}: {}", place(&l.file, l.line), n.message),
                None => n.message.clone(),
            })
            .collect();
        if ctx.strict {
            failures += 1;
            let _ = write!(
                cases,
                "<failure type=\"incomplete\" message=\"{} input(s) not fully analysed\">{}</failure>",
                list.len(),
                xml(&list.join("\n"))
            );
        } else {
            let _ = write!(cases, "<system-out>{}</system-out>", xml(&list.join("\n")));
        }
    }
    cases.push_str("</testcase>\n");
    // What the scanned code asked to hide, honoured or not: suite properties, so that the
    // cases stay one per finding.
    let mut properties = String::new();
    if !report.inline_suppressions.is_empty() || !report.coverage.is_empty() {
        properties.push_str("    <properties>\n");
        // What the audit did not cover comes first.
        for c in &report.coverage {
            let _ = writeln!(
                properties,
                "      <property name=\"coverage warning\" value=\"{}\"/>",
                xml(c)
            );
        }
        for i in &report.inline_suppressions {
            let _ = writeln!(
                properties,
                "      <property name=\"inline suppression\" value=\"{}\"/>",
                xml(&crate::inline_text(i))
            );
        }
        properties.push_str("    </properties>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"stormwatch\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  \
         <testsuite name=\"stormwatch\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n\
         {properties}{cases}  </testsuite>\n</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn counts_failures_and_skips() {
        let text = junit(&sample::report(), &Context::default());
        // Two pins and the probe's traceback fail the default gate (high); the suppressed
        // debug finding is skipped; the range (medium) and the local path (info) pass; plus
        // the inputs case.
        assert!(
            text.contains("tests=\"7\" failures=\"3\" skipped=\"1\""),
            "{text}"
        );
        assert!(text.contains("classname=\"stormwatch.probe\" name=\"TW302 https://app.example/stormwatch-probe-1\""), "{text}");
        assert!(text.contains("<skipped message=\"suppressed (inline): local demo only\"/>"));
        assert!(text.contains("name=\"PYSEC-2026-140 requirements.txt:3\""));
    }

    #[test]
    fn escapes_what_xml_cannot_hold() {
        assert_eq!(xml("a<b>&\"\u{1}'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
