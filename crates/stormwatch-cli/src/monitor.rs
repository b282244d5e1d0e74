//! `stormwatch monitor`: update, audit, compare with the last run, alert.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use stormwatch_findings::{Audit, Report, Severity, SuppressionKind};
use stormwatch_manifest::Spec;
use stormwatch_monitor::{
    channels::{check_url, webhook_body},
    deliver, Channel, Coverage, DeliveryOptions, Event, EventKind, ExpiringIgnore, Observation,
    Present, Recorded, Sender, State,
};
use stormwatch_policy::monitor::{ChannelKind, Target};
use stormwatch_policy::Policy;

use crate::cli::{MonitorArgs, StatusFormat};

/// The environment variable that overrides the monitor state's location.
const STATE_ENV: &str = "STORMWATCH_STATE";

pub fn run(args: MonitorArgs) -> ExitCode {
    match monitor(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!(
                "error: {}",
                stormwatch_report::escape_controls(&format!("{err:#}"))
            );
            ExitCode::from(2)
        }
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn smtp_address(text: &str) -> Result<(String, u16)> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Ok((
            host.to_string(),
            port.parse()
                .with_context(|| format!("--smtp {text}: `{port}` is not a port"))?,
        )),
        _ if !text.is_empty() => Ok((text.to_string(), 587)),
        _ => bail!("--smtp: empty server"),
    }
}

/// The command line's channels and the policy's.
fn channels(args: &MonitorArgs, policy: Option<&Policy>) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    let min = args.min_severity;
    let allow_http = args.allow_http_webhook;
    for (flag, urls, sender) in [
        (
            "--webhook",
            &args.webhook,
            Sender::Webhook as fn(String) -> Sender,
        ),
        ("--slack", &args.slack, Sender::Slack),
        ("--teams", &args.teams, Sender::Teams),
    ] {
        for (i, url) in urls.iter().enumerate() {
            check_url(url, allow_http).map_err(|e| anyhow::anyhow!("{flag} (#{}): {e}", i + 1))?;
            out.push(Channel::new(sender(url.clone()), min));
        }
    }
    if !args.email.is_empty() {
        let (Some(server), Some(from)) = (&args.smtp, &args.email_from) else {
            bail!("--email needs --smtp HOST[:PORT] and --email-from ADDR");
        };
        let (host, port) = smtp_address(server)?;
        out.push(Channel::new(
            Sender::Email {
                host,
                port,
                from: from.clone(),
                to: args.email.clone(),
            },
            min,
        ));
    }
    let Some(policy) = policy else {
        return Ok(out);
    };
    let file = policy
        .path
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for ch in &policy.monitor.channels {
        let target = match &ch.target {
            Target::Literal(v) => v.clone(),
            Target::Env(var) => std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "{file}:{}: monitor channel: the environment variable {var} (url-env) is not set",
                    ch.line
                )
            })?,
        };
        if ch.kind != ChannelKind::Email {
            check_url(&target, allow_http).map_err(|e| {
                anyhow::anyhow!(
                    "{file}:{}: monitor channel ({}{}): {e}",
                    ch.line,
                    ch.kind.as_str(),
                    match &ch.target {
                        Target::Env(var) => format!(", url-env {var}"),
                        Target::Literal(_) => String::new(),
                    }
                )
            })?;
        }
        let sender = match ch.kind {
            ChannelKind::Webhook => Sender::Webhook(target),
            ChannelKind::Slack => Sender::Slack(target),
            ChannelKind::Teams => Sender::Teams(target),
            ChannelKind::Email => {
                let (host, port) = smtp_address(&target)?;
                Sender::Email {
                    host,
                    port,
                    from: ch.from.clone().unwrap_or_default(),
                    to: ch.to.clone(),
                }
            }
        };
        out.push(Channel::new(sender, ch.min_severity));
    }
    Ok(out)
}

/// The audit the monitor follows, with the policy applied, and what its data held.
fn audit(
    root: &Path,
    args: &MonitorArgs,
    policy: Option<&Policy>,
    today: time::Date,
) -> Result<(Report, Present)> {
    let mut parts = Vec::new();
    let mut present = Present::default();
    match crate::deps::read_dir_if_any(root)? {
        Some(inputs) => {
            present.pins = inputs
                .dependencies
                .iter()
                .filter_map(|d| match &d.spec {
                    Spec::Pinned { version, .. } => Some((d.name.clone(), version.clone())),
                    Spec::Range { text, .. } => Some((d.name.clone(), text.clone())),
                    Spec::Unauditable { .. } => None,
                })
                .collect();
            parts.push(crate::deps::audit_inputs(
                inputs,
                false,
                &Default::default(),
                &args.advisories,
                policy,
                today,
            )?)
        }
        None if !args.include_config => bail!(
            "nothing to audit in {}: no dependency files found (requirements*.txt, pyproject.toml, lockfiles)",
            root.display()
        ),
        None => {}
    }
    if args.include_config {
        let env = crate::config::environment(None, policy);
        parts.extend(crate::config::config_audit(root, &[], &[], env, false)?);
    }
    if parts.is_empty() {
        // Neither audit found anything to read: a wrong path, never "nothing new".
        bail!(
            "nothing to audit in {}: no dependency files, Python code or deployment files found",
            root.display()
        );
    }
    let audit = Audit::merge(parts);
    present.advisory_ids = audit.advisory_ids.iter().cloned().collect();
    let audit = crate::output::with_policy(audit, root, policy, today);
    Ok((Report::from(audit), present))
}

/// Policy ignores with an expiry, and the most severe finding each suppresses today.
fn expiring_ignores(policy: Option<&Policy>, report: &Report) -> Vec<ExpiringIgnore> {
    let Some(policy) = policy else {
        return Vec::new();
    };
    policy
        .ignores
        .iter()
        .filter_map(|i| {
            let expires = i.expires?;
            let severity = report
                .findings
                .iter()
                .filter(|f| {
                    f.suppression
                        .as_ref()
                        .is_some_and(|s| s.kind == SuppressionKind::Policy)
                        && f.ids().contains(&i.id.as_str())
                })
                .map(|f| f.severity)
                .max()?;
            Some(ExpiringIgnore {
                id: i.id.clone(),
                package: i.package.clone(),
                expires,
                reason: i.reason.clone(),
                severity,
            })
        })
        .collect()
}

/// A failure event. Its id is its content and the day: the same failure is reported once a
/// day, not once per run.
fn failure(project: &str, message: &str, created: &str) -> Event {
    Event {
        id: stormwatch_monitor::hash(&[
            project,
            "failure",
            message,
            created.get(..10).unwrap_or(created),
        ]),
        project: project.to_string(),
        kind: EventKind::Failure,
        severity: Severity::High,
        title: format!("{}: {project}", EventKind::Failure.label()),
        detail: message.to_string(),
        finding: None,
        created: created.to_string(),
    }
}

/// What advisory data this run reads: a database (how many packages, which sources), an
/// OSV collection read directly (how many packages, counted as loaded), or the bundled
/// Tornado set.
fn coverage(db_path: &Path, direct_osv: bool, report: &Report) -> Result<Coverage> {
    if direct_osv {
        return Ok(Coverage {
            kind: "osv".into(),
            packages: report
                .advisory_data
                .as_ref()
                .and_then(|d| d.packages)
                .unwrap_or_default(),
            ..Default::default()
        });
    }
    if !db_path.is_file() {
        return Ok(Coverage {
            kind: "bundled".into(),
            ..Default::default()
        });
    }
    let status = stormwatch_db::Database::open(db_path)?.status()?;
    let mut sources: Vec<String> = stormwatch_db::update::load_state(db_path)
        .sources
        .into_iter()
        .map(|s| s.source)
        .collect();
    sources.sort();
    sources.dedup();
    Ok(Coverage {
        kind: "database".into(),
        packages: status.packages,
        sources,
    })
}

fn print(events: &[Event], format: StatusFormat) {
    for e in events {
        match format {
            StatusFormat::Json => say!("{}", webhook_body(e)),
            StatusFormat::Table => {
                say!(
                    "{:<16} {:<8} {}",
                    e.kind.as_str(),
                    e.severity.as_str(),
                    stormwatch_report::escape_controls(&e.title)
                );
                for line in stormwatch_monitor::channels::text_lines(e).iter().skip(1) {
                    say!("{:<25} {}", "", stormwatch_report::escape_controls(line));
                }
            }
        }
    }
}

fn monitor(args: MonitorArgs) -> Result<ExitCode> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.is_dir() {
        bail!("{}: not a directory", root.display());
    }
    let policy = stormwatch_policy::discover(&root, args.config.as_deref())?;
    let policy = policy.as_ref();
    let today = args
        .today
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let project = args
        .project
        .clone()
        .or_else(|| policy.and_then(|p| p.monitor.project.clone()))
        .unwrap_or_else(|| {
            root.canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "project".into())
        });
    let db_path = args
        .advisories
        .db
        .clone()
        .unwrap_or_else(stormwatch_db::default_path);
    let state_path = args
        .state
        .clone()
        .or_else(|| {
            std::env::var_os(STATE_ENV)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| stormwatch_db::default_path().with_file_name("monitor.db"));
    let channels = channels(&args, policy)?;
    let http = crate::db::client(&args.fetch, false)?.options().clone();
    // Held until the run ends: an overlapping run would see, and send, the same changes.
    let _lock = stormwatch_monitor::lock(&state_path, Duration::from_secs(args.lock_wait))?;
    let mut state = State::open(&state_path)?;
    let created = now();
    let mut failures: Vec<String> = Vec::new();

    // `--db` naming an OSV directory or zip is read as it is: nothing to update.
    let direct_osv = args.advisories.db.is_some() && crate::advisories::is_osv_source(&db_path);
    // Why this run's advisory data may be less than the last run's.
    let mut short: Vec<String> = Vec::new();
    if !args.fetch.offline && !direct_osv {
        match crate::db::update(&db_path, &args.fetch, policy, false) {
            Ok(report) => {
                if !report.warnings.is_empty() {
                    short.push(format!(
                        "the update skipped {} record{} it could not read",
                        report.warnings.len(),
                        if report.warnings.len() == 1 { "" } else { "s" }
                    ));
                }
                if let Some(summary) = report.imported {
                    let c = &summary.changes;
                    eprintln!(
                        "advisory data updated: {} new, {} modified, {} withdrawn",
                        c.new.len(),
                        c.modified.len(),
                        c.withdrawn.len()
                    );
                }
            }
            Err(e) => failures.push(format!("advisory update failed: {e:#}")),
        }
    }
    if args.advisories.db.is_none() && !db_path.is_file() {
        short.push(format!(
            "no advisory database at {}: only the bundled Tornado set was used; run `stormwatch db update`",
            db_path.display()
        ));
    }
    let incomplete = |short: &[String]| {
        format!(
            "advisory data incomplete: {}; findings not compared, the previous state is kept",
            short.join("; ")
        )
    };
    let run = Run {
        project: &project,
        created: &created,
        channels: &channels,
        args: &args,
    };
    let mut events = Vec::new();
    match audit(&root, &args, policy, today) {
        Err(e) => {
            if !short.is_empty() {
                failures.push(incomplete(&short));
            }
            failures.push(format!("audit failed: {e:#}"));
        }
        Ok((report, _)) if !report.incomplete.is_empty() => {
            // Findings of an unreadable lockfile would read as resolved: keep the state.
            let what: Vec<String> = report
                .incomplete
                .iter()
                .take(3)
                .map(stormwatch_report::notice_text)
                .collect();
            failures.push(format!(
                "audit incomplete ({} input{} not analysed; state kept): {}",
                report.incomplete.len(),
                if report.incomplete.len() == 1 {
                    ""
                } else {
                    "s"
                },
                what.join("; ")
            ));
        }
        Ok((report, present)) => {
            let coverage = coverage(&db_path, direct_osv, &report).unwrap_or_else(|e| {
                short.push(format!("cannot read the advisory database: {e:#}"));
                Coverage::default()
            });
            if let Some(data) = &report.advisory_data {
                if data.stale {
                    short.push(format!(
                        "the advisory data is {} days old, beyond the policy's max-age",
                        data.age_days.unwrap_or_default()
                    ));
                }
            }
            if let Some(before) = state
                .coverage(&project)?
                .filter(|_| !args.accept_data_change)
            {
                short.extend(
                    coverage
                        .shortfall(&Coverage::parse(&before))
                        .into_iter()
                        .map(|s| format!("{s} (--accept-data-change if this is intended)")),
                );
            }
            if !short.is_empty() {
                failures.push(incomplete(&short));
            } else {
                let present = Some(present).filter(|_| !args.accept_data_change);
                let recorded = compare(
                    &mut state,
                    (&report, present),
                    &coverage,
                    &run,
                    policy,
                    &root,
                    today,
                )?;
                failures.extend(recorded.kept.iter().map(|f| {
                    format!(
                        "advisory data no longer holds {} for {} {}: not resolved, the finding is kept \
                         (--accept-data-change if this is intended)",
                        f.id,
                        f.package.as_deref().unwrap_or_default(),
                        f.versions.join(", ")
                    )
                }));
                events = recorded.events;
            }
        }
    }
    finish(state, events, failures, &run, http)
}

/// What the end of a run needs to know.
struct Run<'a> {
    project: &'a str,
    created: &'a str,
    channels: &'a [Channel],
    args: &'a MonitorArgs,
}

/// Compares the report with the last run and records it, with the data's coverage; a
/// finding whose advisory the data (`present`) no longer holds is kept, not resolved.
fn compare(
    state: &mut State,
    (report, present): (&Report, Option<Present>),
    coverage: &Coverage,
    run: &Run,
    policy: Option<&Policy>,
    root: &Path,
    today: time::Date,
) -> Result<Recorded> {
    let (project, args) = (run.project, run.args);
    let observation = Observation {
        project: project.to_string(),
        path: root
            .canonicalize()
            .unwrap_or(root.to_path_buf())
            .display()
            .to_string(),
        today,
        findings: stormwatch_monitor::tracked(report, args.include_config),
        ignores: expiring_ignores(policy, report),
        warn_days: policy.and_then(|p| p.monitor.deadline_warning).unwrap_or(7),
        alert_existing: args.alert_existing,
        present,
    };
    let first = !state.has_run(project)?;
    let recorded = state.record(&observation, run.channels, run.created, &coverage.to_json())?;
    if first && !args.alert_existing {
        eprintln!(
            "first run for project `{}`: {} finding{} recorded, no alerts (--alert-existing to alert on them)",
            stormwatch_report::escape_controls(project),
            observation.findings.len(),
            if observation.findings.len() == 1 { "" } else { "s" }
        );
    }
    Ok(recorded)
}

/// Records the failures, prints the events, delivers the outbox; the exit code.
fn finish(
    mut state: State,
    mut events: Vec<Event>,
    failures: Vec<String>,
    run: &Run,
    http: stormwatch_http::Options,
) -> Result<ExitCode> {
    for message in &failures {
        let event = failure(run.project, message, run.created);
        state.record_event(&event, run.channels)?;
        events.push(event);
    }
    print(&events, run.args.format);

    let options = DeliveryOptions {
        http,
        budget: Duration::from_secs(run.args.delivery_budget),
        retry_after: Duration::from_secs(run.args.retry_after),
    };
    let delivery = deliver(&state, run.channels, &options, &now)?;
    let mut held = Vec::new();
    if delivery.waiting > 0 {
        held.push(format!(
            "{} queued for channels not configured in this run",
            delivery.waiting
        ));
    }
    if delivery.backing_off > 0 {
        held.push(format!(
            "{} waiting to be retried after earlier failures",
            delivery.backing_off
        ));
    }
    if delivery.over_budget > 0 {
        held.push(format!(
            "{} left for the next run (--delivery-budget {} s spent)",
            delivery.over_budget, run.args.delivery_budget
        ));
    }
    if !run.channels.is_empty() || !held.is_empty() {
        eprintln!(
            "{} event{} this run ({}); {} deliver{} sent, {} failed{}",
            events.len(),
            if events.len() == 1 { "" } else { "s" },
            if events.is_empty() {
                "nothing new".to_string()
            } else {
                stormwatch_monitor::count_by_kind(&events)
            },
            delivery.delivered.len(),
            if delivery.delivered.len() == 1 {
                "y"
            } else {
                "ies"
            },
            delivery.failed.len(),
            held.iter().map(|h| format!(", {h}")).collect::<String>()
        );
    }
    for (event, channel, error) in &delivery.failed {
        eprintln!(
            "warning: {}: not delivered, queued for a later run: {}: {}",
            stormwatch_report::escape_controls(&channel.to_string()),
            stormwatch_report::escape_controls(&event.title),
            stormwatch_report::escape_controls(error)
        );
    }
    for f in &failures {
        eprintln!("error: {}", stormwatch_report::escape_controls(f));
    }
    Ok(if !failures.is_empty() {
        ExitCode::from(2)
    } else if !delivery.failed.is_empty() || delivery.over_budget > 0 || delivery.backing_off > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
