//! `stormwatch checklist`: the production-deployment checklist, each item answered from
//! this repository's actual audit results, with the evidence.

use std::fmt::Write as _;

use anyhow::Result;
use stormwatch_findings::{Detail, Finding, Gate, Report, Severity};

use crate::cli::{CheckArgs, FormatArg};
use crate::output::{prepare, today, write_atomically};

/// What the audit's results say about one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// It holds, with the evidence.
    Holds,
    /// A finding contradicts it.
    Fails,
    /// A finding contradicts it, and the policy (or an inline comment, or the baseline)
    /// accepted that finding: shown with the reason and expiry, never as a tick.
    Accepted,
    /// Nothing decides it either way (no application found, a setting the analysis could
    /// not follow): the evidence says why.
    Unverified,
}

/// One checklist item.
#[derive(Debug, serde::Serialize)]
pub struct Item {
    pub id: &'static str,
    pub title: &'static str,
    pub state: State,
    /// `state == holds`, kept for existing consumers.
    pub ok: bool,
    pub evidence: Vec<String>,
}

impl Item {
    fn new(id: &'static str, title: &'static str, state: State, evidence: Vec<String>) -> Self {
        Item {
            id,
            title,
            state,
            ok: state == State::Holds,
            evidence,
        }
    }
}

/// Configuration items: the rules whose findings (above info) contradict the item, and the
/// settings it depends on. `debug=True` turns on autoreload and serve_traceback (and turns
/// template caching off) in Tornado, so debug findings contradict those items too.
const CONFIG_ITEMS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "debug-off",
        "debug mode is off in production",
        &["TW001", "TW101", "TW102"],
        &["debug"],
    ),
    (
        "autoreload-off",
        "autoreload is off in production",
        &["TW002", "TW006", "TW001", "TW101", "TW102"],
        &["autoreload", "debug"],
    ),
    (
        "no-tracebacks",
        "serve_traceback is off: error pages carry no traceback",
        // With `--probe`, what the running service's error pages showed too.
        &["TW003", "TW302", "TW321", "TW001", "TW101", "TW102"],
        &["serve_traceback", "debug"],
    ),
    (
        "write-error",
        "custom write_error handlers do not send tracebacks or exception text",
        &["TW007", "TW303"],
        &[],
    ),
    (
        "xsrf",
        "XSRF protection is on for cookie-authenticated apps",
        &["TW008"],
        &["xsrf_cookies"],
    ),
    (
        "cookie-secret",
        "cookie_secret comes from the environment, not the source",
        &["TW009"],
        &["cookie_secret"],
    ),
    (
        "logging",
        "debug-level logging is off in production",
        &["TW013", "TW103"],
        &["logging"],
    ),
];

/// Items the running service's error pages answer when `--probe` was given.
const PROBED_ITEMS: &[&str] = &["no-tracebacks", "write-error"];

/// What the configuration audit had to decide from, beside the report.
#[derive(Debug, Default)]
pub struct Context {
    pub deployment_files: Vec<String>,
    pub applications: Vec<stormwatch_findings::Location>,
    pub undetermined: Vec<(String, stormwatch_findings::Notice)>,
    /// The URL probed with `--probe`.
    pub probed: Option<String>,
}

fn accepted_text(f: &Finding) -> String {
    let Some(s) = &f.suppression else {
        return String::new();
    };
    let by = match s.kind {
        stormwatch_findings::SuppressionKind::Policy => "accepted by the policy",
        stormwatch_findings::SuppressionKind::Inline => "accepted by an inline comment",
        stormwatch_findings::SuppressionKind::Baseline => "carried in the baseline",
    };
    let until = s
        .expires
        .as_deref()
        .map(|d| format!(" (until {d})"))
        .unwrap_or_else(|| " (no expiry)".into());
    let reason = if s.reason.is_empty() {
        String::new()
    } else {
        format!(": {}", s.reason)
    };
    format!(
        "{} {}: {} — {by}{reason}{until}",
        f.id,
        place(f),
        f.message()
    )
}

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

pub fn items(report: &Report, gate: &Gate, ctx: &Context, today: time::Date) -> Vec<Item> {
    let mut items = Vec::new();
    let deps: Vec<&Finding> = report
        .active()
        .filter(|f| matches!(f.detail, Detail::Dependency(_)))
        .collect();
    let audited = report.advisory_data.as_ref().map(|data| {
        format!(
            "{} package{} audited against {}",
            report.summary.packages,
            if report.summary.packages == 1 {
                ""
            } else {
                "s"
            },
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
    let stale = age.is_some_and(|d| d > MAX_DATA_AGE_DAYS);
    if let Some(days) = age.filter(|d| *d > MAX_DATA_AGE_DAYS) {
        evidence.push(format!(
            "the advisory data is {days} days old (more than {MAX_DATA_AGE_DAYS}): import current data"
        ));
    }
    let nothing_audited = audited.is_none() || report.summary.packages == 0;
    items.push(Item::new(
        "dependencies-audited",
        "dependencies are audited against current advisory data",
        if stale {
            State::Fails
        } else if nothing_audited {
            State::Unverified
        } else {
            State::Holds
        },
        evidence,
    ));
    let failing: Vec<&Finding> = deps.iter().copied().filter(|f| gate.fails(f)).collect();
    let accepted: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_suppressed() && matches!(f.detail, Detail::Dependency(_)))
        .collect();
    let (state, evidence) = if !failing.is_empty() {
        (State::Fails, pins(report, &failing))
    } else if accepted.iter().any(|f| gate.fails(f)) {
        let mut e = pins(report, &accepted);
        e.extend(accepted.iter().take(5).map(|f| accepted_text(f)));
        (State::Accepted, e)
    } else if nothing_audited {
        (
            State::Unverified,
            vec!["no dependency was audited: nothing to decide from".into()],
        )
    } else {
        (
            State::Holds,
            vec![format!(
                "{} known vulnerabilit{} below the gate, {} suppressed",
                deps.len(),
                if deps.len() == 1 { "y" } else { "ies" },
                report.summary.suppressed
            )],
        )
    };
    items.push(Item::new(
        "no-vulnerable-dependencies",
        "no known vulnerability in a dependency fails the gate",
        state,
        evidence,
    ));
    let overdue: Vec<&Finding> = report.active().filter(|f| f.overdue).collect();
    let with_deadline = report.findings.iter().any(|f| f.due.is_some());
    items.push(Item::new(
        "nothing-overdue",
        "no vulnerability is past its patch deadline",
        if !overdue.is_empty() {
            State::Fails
        } else if nothing_audited && !with_deadline {
            State::Unverified
        } else {
            State::Holds
        },
        if !overdue.is_empty() {
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
        } else if nothing_audited {
            vec!["no dependency was audited: nothing to decide from".into()]
        } else {
            vec!["no deadlines apply (none set in the policy, or nothing vulnerable)".into()]
        },
    ));
    for (id, title, rules, settings) in CONFIG_ITEMS {
        items.push(config_item(report, ctx, id, title, rules, settings));
    }
    items.push(Item::new(
        "deployment-files-checked",
        "the deployment files that start the app were checked",
        if ctx.deployment_files.is_empty() {
            State::Unverified
        } else {
            State::Holds
        },
        if ctx.deployment_files.is_empty() {
            vec!["no Dockerfile, compose file, Kubernetes manifest, systemd unit, Procfile or supervisord config found".into()]
        } else {
            vec![ctx.deployment_files.join(", ")]
        },
    ));
    items.push(Item::new(
        "audit-complete",
        "every input could be analysed",
        if report.incomplete.is_empty() {
            State::Holds
        } else {
            State::Fails
        },
        if report.incomplete.is_empty() {
            vec![report.inputs.join("; ")]
        } else {
            report
                .incomplete
                .iter()
                .map(stormwatch_report::notice_text)
                .collect()
        },
    ));
    items
}

/// One configuration item: fails on an active finding of its rules, accepted when every
/// such finding is suppressed, unverified when nothing was there to judge (no application,
/// a setting the analysis could not follow), else holds with what was checked.
fn config_item(
    report: &Report,
    ctx: &Context,
    id: &'static str,
    title: &'static str,
    rules: &[&str],
    settings: &[&str],
) -> Item {
    let of_item = |f: &&Finding| rules.contains(&f.id.as_str()) && f.severity > Severity::Info;
    let hits: Vec<&Finding> = report.active().filter(of_item).collect();
    if !hits.is_empty() {
        return Item::new(id, title, State::Fails, evidence_of(&hits));
    }
    let accepted: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.is_suppressed())
        .filter(of_item)
        .collect();
    if !accepted.is_empty() {
        let e = accepted.iter().take(5).map(|f| accepted_text(f)).collect();
        return Item::new(id, title, State::Accepted, e);
    }
    // The probe's answer counts only when it ran to the end (a probe cut short, like any
    // incomplete input, leaves the audit incomplete and proves nothing by silence).
    let probed = ctx
        .probed
        .as_deref()
        .filter(|_| PROBED_ITEMS.contains(&id) && report.incomplete.is_empty());
    let unknown: Vec<String> = ctx
        .undetermined
        .iter()
        .filter(|(s, _)| settings.contains(&s.as_str()))
        .map(|(_, n)| stormwatch_report::notice_text(n))
        .collect();
    if !unknown.is_empty() && probed.is_none() {
        return Item::new(id, title, State::Unverified, unknown);
    }
    let mut evidence = vec![format!("no finding of {}", rules.join(", "))];
    if let Some(url) = probed {
        evidence.push(format!("the error pages of {url} showed none"));
    } else if ctx.applications.is_empty() {
        return Item::new(
            id,
            title,
            State::Unverified,
            vec!["no tornado.web.Application construction was found: no settings to judge".into()],
        );
    }
    if !ctx.applications.is_empty() {
        let shown: Vec<String> = ctx
            .applications
            .iter()
            .take(3)
            .map(|l| stormwatch_report::place(&l.file, l.line))
            .collect();
        let more = ctx.applications.len().saturating_sub(shown.len());
        evidence.push(format!(
            "settings of the Application at {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    Item::new(id, title, State::Holds, evidence)
}

/// Evidence quotes file names and contents: escaped (one line, no control characters) and
/// without HTML.
fn md(text: &str) -> String {
    stormwatch_report::escape_controls(text)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn markdown(items: &[Item], tool: &str) -> String {
    let count = |s: State| items.iter().filter(|i| i.state == s).count();
    let mut out = format!(
        "## Production deployment checklist\n\n{} of {} items hold ({tool}): {} fail, {} accepted, {} cannot be verified.\n\n",
        count(State::Holds),
        items.len(),
        count(State::Fails),
        count(State::Accepted),
        count(State::Unverified),
    );
    for item in items {
        let (mark, label) = match item.state {
            State::Holds => ("x", ""),
            State::Fails => (" ", " — **fails**"),
            State::Accepted => (" ", " — **accepted**"),
            State::Unverified => (" ", " — **cannot be verified**"),
        };
        let _ = writeln!(out, "- [{mark}] {}{label}", md(item.title));
        for e in &item.evidence {
            let _ = writeln!(out, "  - {}", md(e));
        }
    }
    out
}

pub fn run(args: CheckArgs) -> Result<bool> {
    let (mut audit, root, policy) = crate::config::check_audit(&args)?;
    let ctx = Context {
        deployment_files: std::mem::take(&mut audit.deployment_files),
        applications: std::mem::take(&mut audit.applications),
        undetermined: std::mem::take(&mut audit.undetermined),
        probed: args.probe.clone(),
    };
    let (report, gate) = prepare(audit, &args.output, &root, policy.as_ref())?;
    let items = items(&report, &gate, &ctx, today(&args.output));
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
    // Accepted items were accepted by the policy: they do not fail the checklist.
    Ok(items
        .iter()
        .any(|i| matches!(i.state, State::Fails | State::Unverified)))
}
