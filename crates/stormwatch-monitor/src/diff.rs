//! Comparing one run's findings with the previous run's: the events.

use std::collections::{HashMap, HashSet};

use stormwatch_findings::Severity;
use time::Date;

use crate::{hash, Event, EventKind, Observation, Tracked};

fn date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.get(..10)?, format).ok()
}

/// What changed since the last run.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub events: Vec<Event>,
    /// Reminder keys to remember as sent.
    pub reminders: Vec<String>,
    /// Findings of the last run that are gone only because the advisory data no longer holds
    /// their advisory ([`crate::Present::lost`]): not resolved, kept for the next run.
    pub kept: Vec<Tracked>,
}

/// The events between `previous` (`None` on the first run) and `now`, the reminder keys to
/// remember as sent, and the findings kept although gone. `sent` holds the reminders already sent; `generations` how
/// many times each finding key was resolved before.
///
/// An event's id (the `Idempotency-Key` of its deliveries) is derived from its content
/// only: the project, the kind, the finding and its generation, and what changed. The same
/// change always gets the same id, whichever run sees it and whenever; a finding that was
/// resolved and comes back is a new generation, so a new event.
pub fn diff(
    previous: Option<&[Tracked]>,
    now: &Observation,
    sent: &HashSet<String>,
    generations: &HashMap<String, i64>,
    created: &str,
) -> Diff {
    let mut kept = Vec::new();
    let mut events = Vec::new();
    let mut reminders = Vec::new();
    let event = |kind: EventKind,
                 severity: Severity,
                 title: String,
                 detail: String,
                 f: Option<&Tracked>,
                 what: String| {
        let (key, generation) = f.map_or((String::new(), 0), |f| {
            (f.key.clone(), generations.get(&f.key).copied().unwrap_or(0))
        });
        Event {
            id: hash(&[
                &now.project,
                kind.as_str(),
                &key,
                &generation.to_string(),
                &what,
            ]),
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
                        f.versions.join(","),
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
                        format!("{}>{}", o.severity, f.severity),
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
                        f.fixed_versions.join(","),
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
                        format!(
                            "{}>{}",
                            o.fixed_versions.join(","),
                            f.fixed_versions.join(",")
                        ),
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
                    key.clone(),
                ));
            }
            reminders.push(key);
        }
    }
    if previous.is_some() {
        for (i, o) in before.iter().enumerate() {
            if matched.contains(&i) {
                continue;
            }
            if now.present.as_ref().is_some_and(|p| p.lost(o)) {
                kept.push(o.clone());
            } else {
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
                    String::new(),
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
                key.clone(),
            ));
        }
        reminders.push(key);
    }
    Diff {
        events,
        reminders,
        kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExpiringIgnore;

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
            present: None,
        }
    }

    /// Events and reminders only.
    fn diff(
        previous: Option<&[Tracked]>,
        now: &Observation,
        sent: &HashSet<String>,
        generations: &HashMap<String, i64>,
        created: &str,
    ) -> (Vec<Event>, Vec<String>) {
        let d = super::diff(previous, now, sent, generations, created);
        (d.events, d.reminders)
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn first_run_records_without_alerting() {
        let now = observe(vec![dep("A", &["A"], Severity::High, &["6.2"])]);
        let (events, _) = diff(None, &now, &HashSet::new(), &HashMap::new(), "t");
        assert!(events.is_empty());
        let mut all = now.clone();
        all.alert_existing = true;
        assert_eq!(
            kinds(&diff(None, &all, &HashSet::new(), &HashMap::new(), "t").0),
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
        let (events, _) = diff(Some(&before), &now, &HashSet::new(), &HashMap::new(), "t");
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
        // The same change seen at another time has the same id.
        let (again, _) = diff(
            Some(&before),
            &now,
            &HashSet::new(),
            &HashMap::new(),
            "later",
        );
        let same: Vec<&str> = again.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            same,
            events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
        );
        // A finding that was resolved once and is new again is another event.
        let gens = HashMap::from([("dependency:tornado:C".to_string(), 1)]);
        let (back, _) = diff(Some(&before), &now, &HashSet::new(), &gens, "t");
        assert_ne!(back[2].id, events[2].id);
    }

    #[test]
    fn reminders_are_sent_once() {
        let mut f = dep("A", &["A"], Severity::High, &["6.2"]);
        f.due = Some("2026-12-03".into());
        let now = observe(vec![f.clone()]);
        let (events, reminders) = diff(
            Some(&[f.clone()]),
            &now,
            &HashSet::new(),
            &HashMap::new(),
            "t",
        );
        assert_eq!(kinds(&events), [EventKind::DeadlineNear]);
        let sent: HashSet<String> = reminders.into_iter().collect();
        let (again, _) = diff(Some(&[f.clone()]), &now, &sent, &HashMap::new(), "t2");
        assert!(again.is_empty());
        let mut later = now.clone();
        later.today = date("2026-12-04").unwrap();
        let (overdue, _) = diff(Some(&[f]), &later, &sent, &HashMap::new(), "t3");
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
        let (events, reminders) = diff(Some(&[]), &now, &HashSet::new(), &HashMap::new(), "t");
        assert_eq!(kinds(&events), [EventKind::IgnoreExpiring]);
        assert_eq!(reminders.len(), 1);
    }

    #[test]
    fn advisory_missing_from_the_data_is_not_resolved() {
        let before = vec![dep("A", &["A", "CVE-A"], Severity::High, &["6.2"])];
        let mut now = observe(vec![]);
        let pins = HashSet::from([("tornado".to_string(), "6.1".to_string())]);
        now.present = Some(crate::Present {
            advisory_ids: HashSet::new(),
            pins: pins.clone(),
        });
        let d = super::diff(Some(&before), &now, &HashSet::new(), &HashMap::new(), "t");
        assert!(d.events.is_empty());
        assert_eq!(d.kept, before);
        // Still in the data (withdrawn, or its ranges moved), under any alias: resolved.
        now.present = Some(crate::Present {
            advisory_ids: HashSet::from(["CVE-A".to_string()]),
            pins,
        });
        let d = super::diff(Some(&before), &now, &HashSet::new(), &HashMap::new(), "t");
        assert_eq!(kinds(&d.events), [EventKind::Resolved]);
        assert!(d.kept.is_empty());
        // The pin changed (upgraded or removed): resolved whatever the data holds.
        now.present = Some(crate::Present::default());
        let d = super::diff(Some(&before), &now, &HashSet::new(), &HashMap::new(), "t");
        assert_eq!(kinds(&d.events), [EventKind::Resolved]);
    }
}
