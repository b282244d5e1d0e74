//! `stormwatch monitor`: tell a team, once, that something changed.
//!
//! Each run hands over what the audit found now ([`Tracked`] items). They are compared
//! with the previous run's, kept in a state database of their own ([`State`]); the
//! differences become [`Event`]s (a new advisory affects a pin, a severity or fix changed,
//! a finding was resolved, a deadline is near or passed, an ignore is about to expire).
//! Events and one outbox row per channel are written in the same transaction as the new
//! state, so a crash never loses one; [`deliver`] sends what the outbox holds and marks
//! each row delivered only after the receiver accepted it, so nothing is sent twice (a
//! repeat after a lost answer carries the same `Idempotency-Key`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use stormwatch_findings::Severity;
use time::Date;

pub mod channels;
mod state;

pub use channels::{deliver, Channel, Delivery, Sender};
pub use state::{State, StateError};

/// One thing the audit found that the monitor follows from run to run: a vulnerable
/// package (all its pins and locations under one advisory) or a configuration finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// What identifies it across runs (advisory group or finding fingerprint).
    pub key: String,
    /// `dependency`, `unpinned`, `unauditable` or `config`.
    pub kind: String,
    /// The advisory or rule id.
    pub id: String,
    /// Every id of the advisory's alias group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Installed versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    /// The version to move to (smallest safe), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_to: Option<String>,
    /// The command (or edit) that applies the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    pub summary: String,
    /// `file:line` places.
    pub locations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Tracked {
    /// "tornado 6.1 -> 6.5.9" / "tornado 6.1 (no fixed version)" / the rule id.
    pub fn headline(&self) -> String {
        match &self.package {
            Some(p) => {
                let from = if self.versions.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.versions.join(", "))
                };
                match &self.upgrade_to {
                    Some(to) => format!("{p}{from} -> {to}"),
                    None if self.fixed_versions.is_empty() => {
                        format!("{p}{from} (no fixed version yet)")
                    }
                    None => format!("{p}{from}"),
                }
            }
            None => format!("{} {}", self.id, self.locations.first().map_or("", |l| l)),
        }
    }

    fn same_as(&self, other: &Tracked) -> bool {
        if self.key == other.key {
            return true;
        }
        // An advisory group gains aliases over time (a CVE, a PYSEC id): the same package
        // under any shared id is the same finding.
        self.kind == "dependency"
            && other.kind == "dependency"
            && self.package == other.package
            && self.aliases.iter().any(|a| other.aliases.contains(a))
    }
}

/// What happened since the last run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A new advisory affects a pin (or a new pin is affected).
    New,
    /// An advisory's severity changed.
    SeverityChanged,
    /// A fix became available for something that had none.
    FixAvailable,
    /// The fixed versions changed.
    FixChanged,
    /// The finding is gone (upgraded, advisory withdrawn, pin removed).
    Resolved,
    /// A patch deadline is near.
    DeadlineNear,
    /// A patch deadline has passed.
    DeadlinePassed,
    /// A policy ignore expires soon: the finding will count again.
    IgnoreExpiring,
    /// The scan or the update failed: nothing can be said about today.
    Failure,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::New => "new",
            EventKind::SeverityChanged => "severity-changed",
            EventKind::FixAvailable => "fix-available",
            EventKind::FixChanged => "fix-changed",
            EventKind::Resolved => "resolved",
            EventKind::DeadlineNear => "deadline-near",
            EventKind::DeadlinePassed => "deadline-passed",
            EventKind::IgnoreExpiring => "ignore-expiring",
            EventKind::Failure => "failure",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::New => "New vulnerability",
            EventKind::SeverityChanged => "Severity changed",
            EventKind::FixAvailable => "Fix available",
            EventKind::FixChanged => "Fixed versions changed",
            EventKind::Resolved => "Resolved",
            EventKind::DeadlineNear => "Patch deadline near",
            EventKind::DeadlinePassed => "Patch deadline passed",
            EventKind::IgnoreExpiring => "Ignore expires soon",
            EventKind::Failure => "Monitor failed",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique and stable: the `Idempotency-Key` of every delivery of this event.
    pub id: String,
    pub project: String,
    pub kind: EventKind,
    pub severity: Severity,
    /// One line: what to know first.
    pub title: String,
    /// What changed, in a sentence.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Tracked>,
    /// RFC 3339.
    pub created: String,
}

/// A policy ignore with an expiry date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringIgnore {
    pub id: String,
    pub package: Option<String>,
    pub expires: Date,
    pub reason: String,
    /// The most severe finding it suppresses today.
    pub severity: Severity,
}

/// What one run observed.
#[derive(Debug, Clone)]
pub struct Observation {
    pub project: String,
    pub path: String,
    pub today: Date,
    pub findings: Vec<Tracked>,
    pub ignores: Vec<ExpiringIgnore>,
    /// Days before a deadline (or an ignore's expiry) that a reminder is sent.
    pub warn_days: i64,
    /// Alert on every current finding, even on the first run.
    pub alert_existing: bool,
}

/// FNV-1a 64, hex: ids and keys that do not depend on the process.
pub fn hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.get(..10)?, format).ok()
}

/// The events between `previous` (`None` on the first run) and `now`, and the reminder
/// keys to remember as sent. `sent` holds the reminders already sent.
pub fn diff(
    previous: Option<&[Tracked]>,
    now: &Observation,
    sent: &HashSet<String>,
    created: &str,
) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut reminders = Vec::new();
    let event = |kind: EventKind,
                 severity: Severity,
                 title: String,
                 detail: String,
                 f: Option<&Tracked>| {
        let key = f.map_or(title.as_str(), |f| f.key.as_str());
        Event {
            id: hash(&[&now.project, kind.as_str(), key, &detail, created]),
            project: now.project.clone(),
            kind,
            severity,
            title,
            detail,
            finding: f.cloned(),
            created: created.to_string(),
        }
    };
    let alerting = previous.is_some() || now.alert_existing;
    let before: &[Tracked] = previous.unwrap_or(&[]);
    let mut matched: HashSet<usize> = HashSet::new();
    for f in &now.findings {
        let old = before
            .iter()
            .enumerate()
            .find(|(i, o)| !matched.contains(i) && o.same_as(f));
        match old {
            None => {
                if alerting {
                    events.push(event(
                        EventKind::New,
                        f.severity,
                        format!("{}: {} ({})", EventKind::New.label(), f.headline(), f.id),
                        f.summary.clone(),
                        Some(f),
                    ));
                }
            }
            Some((i, o)) => {
                matched.insert(i);
                if o.severity != f.severity {
                    events.push(event(
                        EventKind::SeverityChanged,
                        f.severity,
                        format!(
                            "{}: {} ({}) {} -> {}",
                            EventKind::SeverityChanged.label(),
                            f.headline(),
                            f.id,
                            o.severity,
                            f.severity
                        ),
                        format!("{} is now rated {} (was {})", f.id, f.severity, o.severity),
                        Some(f),
                    ));
                }
                if o.fixed_versions.is_empty() && !f.fixed_versions.is_empty() {
                    events.push(event(
                        EventKind::FixAvailable,
                        f.severity,
                        format!(
                            "{}: {} ({})",
                            EventKind::FixAvailable.label(),
                            f.headline(),
                            f.id
                        ),
                        format!("fixed in {}", f.fixed_versions.join(", ")),
                        Some(f),
                    ));
                } else if o.fixed_versions != f.fixed_versions && !f.fixed_versions.is_empty() {
                    events.push(event(
                        EventKind::FixChanged,
                        f.severity,
                        format!(
                            "{}: {} ({})",
                            EventKind::FixChanged.label(),
                            f.headline(),
                            f.id
                        ),
                        format!(
                            "fixed in {} (was {})",
                            f.fixed_versions.join(", "),
                            if o.fixed_versions.is_empty() {
                                "none".to_string()
                            } else {
                                o.fixed_versions.join(", ")
                            }
                        ),
                        Some(f),
                    ));
                }
            }
        }
        if let Some(due) = f.due.as_deref().and_then(date) {
            let days = (due - now.today).whole_days();
            let (kind, key) = if days < 0 {
                (
                    EventKind::DeadlinePassed,
                    format!("overdue:{}:{due}", f.key),
                )
            } else if days <= now.warn_days {
                (EventKind::DeadlineNear, format!("due:{}:{due}", f.key))
            } else {
                continue;
            };
            if sent.contains(&key) {
                continue;
            }
            if alerting {
                let when = if days < 0 {
                    format!("was due {due} ({} days ago)", -days)
                } else {
                    format!("is due {due} (in {days} days)")
                };
                events.push(event(
                    kind,
                    f.severity,
                    format!("{}: {} ({}) {when}", kind.label(), f.headline(), f.id),
                    format!("the patch deadline {when}"),
                    Some(f),
                ));
            }
            reminders.push(key);
        }
    }
    if previous.is_some() {
        for (i, o) in before.iter().enumerate() {
            if !matched.contains(&i) {
                events.push(event(
                    EventKind::Resolved,
                    o.severity,
                    format!(
                        "{}: {} ({})",
                        EventKind::Resolved.label(),
                        o.headline(),
                        o.id
                    ),
                    "no longer found: upgraded, removed, or the advisory was withdrawn".into(),
                    Some(o),
                ));
            }
        }
    }
    for ignore in &now.ignores {
        let days = (ignore.expires - now.today).whole_days();
        if days < 0 || days > now.warn_days {
            continue;
        }
        let key = format!(
            "ignore:{}:{}:{}",
            ignore.id,
            ignore.package.as_deref().unwrap_or("*"),
            ignore.expires
        );
        if sent.contains(&key) {
            continue;
        }
        if alerting {
            let what = match &ignore.package {
                Some(p) => format!("{} ({p})", ignore.id),
                None => ignore.id.clone(),
            };
            events.push(event(
                EventKind::IgnoreExpiring,
                ignore.severity,
                format!(
                    "{}: {what} on {} (in {days} days)",
                    EventKind::IgnoreExpiring.label(),
                    ignore.expires
                ),
                format!(
                    "accepted because \"{}\"; after {} the finding fails the gate again",
                    ignore.reason, ignore.expires
                ),
                None,
            ));
        }
        reminders.push(key);
    }
    (events, reminders)
}

/// Groups events by kind for a summary line: "2 new, 1 resolved".
pub fn count_by_kind(events: &[Event]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events {
        *counts.entry(e.kind.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The items a report gives the monitor to follow: every unsuppressed finding above info,
/// dependency findings merged per package and advisory (all pins and places together);
/// configuration findings only when `include_config`.
pub fn tracked(report: &stormwatch_findings::Report, include_config: bool) -> Vec<Tracked> {
    use stormwatch_findings::Detail;
    let mut out: Vec<Tracked> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for f in report.findings.iter().filter(|f| !f.is_suppressed()) {
        if f.severity == Severity::Info {
            continue;
        }
        let place = if f.location.line > 0 {
            format!("{}:{}", f.location.file, f.location.line)
        } else {
            f.location.file.clone()
        };
        let (kind, key, version, summary) = match &f.detail {
            Detail::Dependency(d) => (
                "dependency",
                format!("dependency:{}:{}", d.package, f.id),
                Some(d.version.clone()),
                d.summary.clone(),
            ),
            Detail::Unpinned(u) => (
                "unpinned",
                format!("unpinned:{}", f.fingerprint),
                Some(u.specifier.clone()),
                f.message(),
            ),
            Detail::Unauditable(_) => (
                "unauditable",
                format!("unauditable:{}", f.fingerprint),
                None,
                f.message(),
            ),
            Detail::Config(_) if include_config => (
                "config",
                format!("config:{}", f.fingerprint),
                None,
                f.message(),
            ),
            // The monitor audits the repository; a live probe is not part of its state.
            Detail::Config(_) | Detail::Probe(_) => continue,
        };
        if let Some(&i) = index.get(&key) {
            let t = &mut out[i];
            if let Some(v) = version {
                if !t.versions.contains(&v) {
                    t.versions.push(v);
                }
            }
            if !t.locations.contains(&place) {
                t.locations.push(place);
            }
            t.severity = t.severity.max(f.severity);
            if let Some(due) = &f.due {
                if t.due.as_ref().is_none_or(|d| due < d) {
                    t.due = Some(due.clone());
                }
            }
            continue;
        }
        let package = f.package().map(str::to_string);
        // An upgrade is of a pin; a range is fixed by raising its lower bound.
        let upgrade = package
            .as_deref()
            .filter(|_| kind == "dependency")
            .and_then(|p| {
                report
                    .upgrades
                    .iter()
                    .find(|u| u.package == p && u.source == f.location)
                    .or_else(|| report.upgrades.iter().find(|u| u.package == p))
            });
        let fix = match (kind, upgrade, package.as_deref(), f.fixed_versions().last()) {
            ("dependency", Some(u), _, _) => u.command(),
            ("unpinned", _, Some(p), Some(v)) => Some(format!(
                "raise the lower bound of {p} to a version without these advisories (e.g. >={v}) in {place}"
            )),
            _ => None,
        };
        let mut aliases: Vec<String> = f.ids().into_iter().map(str::to_string).collect();
        aliases.sort();
        aliases.dedup();
        index.insert(key.clone(), out.len());
        out.push(Tracked {
            key,
            kind: kind.to_string(),
            id: f.id.clone(),
            aliases: if kind == "dependency" {
                aliases
            } else {
                Vec::new()
            },
            package,
            versions: version.into_iter().collect(),
            severity: f.severity,
            fixed_versions: f.fixed_versions().to_vec(),
            upgrade_to: upgrade.and_then(|u| u.to.clone()),
            fix,
            summary,
            locations: vec![place],
            due: f.due.clone(),
            owner: f.owner.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(id: &str, aliases: &[&str], severity: Severity, fixed: &[&str]) -> Tracked {
        Tracked {
            key: format!("dependency:tornado:{id}"),
            kind: "dependency".into(),
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            package: Some("tornado".into()),
            versions: vec!["6.1".into()],
            severity,
            fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
            upgrade_to: fixed.first().map(|s| s.to_string()),
            fix: None,
            summary: "s".into(),
            locations: vec!["requirements.txt:1".into()],
            due: None,
            owner: None,
        }
    }

    fn observe(findings: Vec<Tracked>) -> Observation {
        Observation {
            project: "p".into(),
            path: ".".into(),
            today: date("2026-11-30").unwrap(),
            findings,
            ignores: vec![],
            warn_days: 7,
            alert_existing: false,
        }
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn first_run_records_without_alerting() {
        let now = observe(vec![dep("A", &["A"], Severity::High, &["6.2"])]);
        let (events, _) = diff(None, &now, &HashSet::new(), "t");
        assert!(events.is_empty());
        let mut all = now.clone();
        all.alert_existing = true;
        assert_eq!(
            kinds(&diff(None, &all, &HashSet::new(), "t").0),
            [EventKind::New]
        );
    }

    #[test]
    fn changes_become_events() {
        let before = vec![
            dep("A", &["A"], Severity::Medium, &[]),
            dep("B", &["B"], Severity::Low, &["6.2"]),
        ];
        // A: more severe and fixed, under a new primary id sharing an alias; B gone; C new.
        let now = observe(vec![
            dep("PYSEC-A", &["A", "PYSEC-A"], Severity::High, &["6.3"]),
            dep("C", &["C"], Severity::Critical, &["6.4"]),
        ]);
        let (events, _) = diff(Some(&before), &now, &HashSet::new(), "t");
        assert_eq!(
            kinds(&events),
            [
                EventKind::SeverityChanged,
                EventKind::FixAvailable,
                EventKind::New,
                EventKind::Resolved
            ]
        );
        assert!(
            events[2].title.contains("tornado 6.1 -> 6.4"),
            "{}",
            events[2].title
        );
        let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), events.len(), "event ids are unique");
    }

    #[test]
    fn reminders_are_sent_once() {
        let mut f = dep("A", &["A"], Severity::High, &["6.2"]);
        f.due = Some("2026-12-03".into());
        let now = observe(vec![f.clone()]);
        let (events, reminders) = diff(Some(&[f.clone()]), &now, &HashSet::new(), "t");
        assert_eq!(kinds(&events), [EventKind::DeadlineNear]);
        let sent: HashSet<String> = reminders.into_iter().collect();
        let (again, _) = diff(Some(&[f.clone()]), &now, &sent, "t2");
        assert!(again.is_empty());
        let mut later = now.clone();
        later.today = date("2026-12-04").unwrap();
        let (overdue, _) = diff(Some(&[f]), &later, &sent, "t3");
        assert_eq!(kinds(&overdue), [EventKind::DeadlinePassed]);
    }

    #[test]
    fn expiring_ignores_are_announced() {
        let mut now = observe(vec![]);
        now.ignores.push(ExpiringIgnore {
            id: "GHSA-x".into(),
            package: None,
            expires: date("2026-12-05").unwrap(),
            reason: "waiting for upstream".into(),
            severity: Severity::High,
        });
        let (events, reminders) = diff(Some(&[]), &now, &HashSet::new(), "t");
        assert_eq!(kinds(&events), [EventKind::IgnoreExpiring]);
        assert_eq!(reminders.len(), 1);
    }
}
