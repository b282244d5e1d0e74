//! `stormwatch checklist`: the production-deployment checklist, each item answered from
//! this repository's actual audit results, with the evidence.

use std::fmt::Write as _;

use anyhow::Result;
use stormwatch_findings::{Detail, Finding, Gate, Report, Severity};

use crate::cli::{CheckArgs, FormatArg};
use crate::output::{prepare, today, write_atomically};

/// One checklist item.
#[derive(Debug, serde::Serialize)]
pub struct Item {
    pub id: &'static str,
    pub title: &'static str,
    pub ok: bool,
    pub evidence: Vec<String>,
}

/// Rules whose active findings (above info) untick an item.
const CONFIG_ITEMS: &[(&str, &str, &[&str])] = &[
    (
        "debug-off",
        "debug mode is off in production",
        &["TW001", "TW101", "TW102"],
    ),
    (
        "autoreload-off",
        "autoreload is off in production",
        &["TW002", "TW006"],
    ),
    (
        "no-tracebacks",
        "serve_traceback is off: error pages carry no traceback",
        // With `--probe`, what the running service's error pages showed too.
        &["TW003", "TW302", "TW321"],
    ),
    (
        "write-error",
        "custom write_error handlers do not send tracebacks or exception text",
        &["TW007", "TW303"],
    ),
    (
        "xsrf",
        "XSRF protection is on for cookie-authenticated apps",
        &["TW008"],
    ),
    (
        "cookie-secret",
        "cookie_secret comes from the environment, not the source",
        &["TW009"],
    ),
    (
        "logging",
        "debug-level logging is off in production",
        &["TW013", "TW103"],
    ),
];

fn place(f: &Finding) -> String {
    stormwatch_report::place(&f.location.file, f.location.line)
}

fn evidence_of(findings: &[&Finding]) -> Vec<String> {
    let mut out: Vec<String> = findings
        .iter()
        .take(5)
        .map(|f| format!("{} {}: {}", f.id, place(f), f.message()))
        .collect();
    if findings.len() > 5 {
        out.push(format!("and {} more", findings.len() - 5));
    }
    out
}

/// Vulnerable pins, one line per package and place: how many advisories, which, and the
/// smallest safe version.
fn pins(report: &Report, findings: &[&Finding]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for f in findings {
        let Detail::Dependency(d) = &f.detail else {
            continue;
        };
        let to = report
            .upgrades
            .iter()
            .find(|u| u.package == d.package && u.from == d.version && u.source == f.location)
            .and_then(|u| u.to.clone())
            .map(|v| format!("; smallest safe version {v}"))
            .unwrap_or_default();
        let key = format!("{} {} at {}{to}", d.package, d.version, place(f));
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ids)) => ids.push(&f.id),
            None => groups.push((key, vec![&f.id])),
        }
    }
    groups
        .into_iter()
        .map(|(key, ids)| {
            let shown: Vec<&str> = ids.iter().take(4).copied().collect();
            format!(
                "{key}: {} advisor{} ({}{})",
                ids.len(),
                if ids.len() == 1 { "y" } else { "ies" },
                shown.join(", "),
                if ids.len() > shown.len() { ", ..." } else { "" }
            )
        })
        .collect()
}

/// Advisory data older than this does not count as current.
const MAX_DATA_AGE_DAYS: i64 = 30;

pub fn items(
    report: &Report,
    gate: &Gate,
    deployment_files: &[String],
    today: time::Date,
) -> Vec<Item> {
    let mut items = Vec::new();
    let deps: Vec<&Finding> = report
        .active()
        .filter(|f| matches!(f.detail, Detail::Dependency(_)))
        .collect();
    let audited = report.advisory_data.as_ref().map(|data| {
        format!(
            "{} packages audited against {}",
            report.summary.packages,
            stormwatch_report::data_text(data)
        )
    });
    let age = report
        .advisory_data
        .as_ref()
        .and_then(|d| d.as_of.as_deref())
        .and_then(stormwatch_policy::parse_date)
        .map(|d| (today - d).whole_days());
    let mut evidence = vec![audited
        .clone()
        .unwrap_or_else(|| "no dependency files were found".into())];
    if let Some(days) = age.filter(|d| *d > MAX_DATA_AGE_DAYS) {
        evidence.push(format!(
            "the advisory data is {days} days old (more than {MAX_DATA_AGE_DAYS}): import current data"
        ));
    }
    items.push(Item {
        id: "dependencies-audited",
        title: "dependencies are audited against current advisory data",
        ok: audited.is_some()
            && report.summary.packages > 0
            && age.is_none_or(|d| d <= MAX_DATA_AGE_DAYS),
        evidence,
    });
    let failing: Vec<&Finding> = deps.iter().copied().filter(|f| gate.fails(f)).collect();
    items.push(Item {
        id: "no-vulnerable-dependencies",
        title: "no known vulnerability in a dependency fails the gate",
        ok: failing.is_empty(),
        evidence: if failing.is_empty() {
            vec![format!(
                "{} known vulnerabilit{} below the gate, {} suppressed",
                deps.len(),
                if deps.len() == 1 { "y" } else { "ies" },
                report.summary.suppressed
            )]
        } else {
            pins(report, &failing)
        },
    });
    let overdue: Vec<&Finding> = report.active().filter(|f| f.overdue).collect();
    let with_deadline = report.findings.iter().any(|f| f.due.is_some());
    items.push(Item {
        id: "nothing-overdue",
        title: "no vulnerability is past its patch deadline",
        ok: overdue.is_empty(),
        evidence: if !overdue.is_empty() {
            let mut e = pins(report, &overdue);
            let others: Vec<&Finding> = overdue
                .iter()
                .copied()
                .filter(|f| !matches!(f.detail, Detail::Dependency(_)))
                .collect();
            e.extend(evidence_of(&others));
            e
        } else if with_deadline {
            vec!["every deadline is in the future".into()]
        } else {
            vec!["no deadlines apply (none set in the policy, or nothing vulnerable)".into()]
        },
    });
    for (id, title, rules) in CONFIG_ITEMS {
        let hits: Vec<&Finding> = report
            .active()
            .filter(|f| rules.contains(&f.id.as_str()) && f.severity > Severity::Info)
            .collect();
        items.push(Item {
            id,
            title,
            ok: hits.is_empty(),
            evidence: if hits.is_empty() {
                vec![format!("no finding of {}", rules.join(", "))]
            } else {
                evidence_of(&hits)
            },
        });
    }
    items.push(Item {
        id: "deployment-files-checked",
        title: "the deployment files that start the app were checked",
        ok: !deployment_files.is_empty(),
        evidence: if deployment_files.is_empty() {
            vec!["no Dockerfile, compose file, Kubernetes manifest, systemd unit, Procfile or supervisord config found".into()]
        } else {
            vec![deployment_files.join(", ")]
        },
    });
    items.push(Item {
        id: "audit-complete",
        title: "every input could be analysed",
        ok: report.incomplete.is_empty(),
        evidence: if report.incomplete.is_empty() {
            vec![report.inputs.join("; ")]
        } else {
            report
                .incomplete
                .iter()
                .map(stormwatch_report::notice_text)
                .collect()
        },
    });
    items
}

/// Evidence quotes file names and contents: escaped (one line, no control characters) and
/// without HTML.
fn md(text: &str) -> String {
    stormwatch_report::escape_controls(text)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn markdown(items: &[Item], tool: &str) -> String {
    let done = items.iter().filter(|i| i.ok).count();
    let mut out = format!(
        "## Production deployment checklist\n\n{done} of {} items ticked ({tool}).\n\n",
        items.len()
    );
    for item in items {
        let _ = writeln!(
            out,
            "- [{}] {}",
            if item.ok { "x" } else { " " },
            md(item.title)
        );
        for e in &item.evidence {
            let _ = writeln!(out, "  - {}", md(e));
        }
    }
    out
}

pub fn run(args: CheckArgs) -> Result<bool> {
    let (mut audit, root, policy) = crate::config::check_audit(&args)?;
    let deployment_files = std::mem::take(&mut audit.deployment_files);
    let (report, gate) = prepare(audit, &args.output, &root, policy.as_ref())?;
    let items = items(&report, &gate, &deployment_files, today(&args.output));
    let text = match args.output.format {
        FormatArg::Json => {
            let mut t = serde_json::to_string_pretty(&serde_json::json!({
                "version": 1,
                "tool": report.tool,
                "items": items,
            }))?;
            t.push('\n');
            t
        }
        _ => markdown(&items, &report.tool),
    };
    match &args.output.output {
        Some(path) => write_atomically(path, |out| out.write_all(text.as_bytes()))?,
        None => say_raw!("{text}"),
    }
    Ok(items.iter().any(|i| !i.ok))
}
