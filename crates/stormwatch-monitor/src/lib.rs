//! `stormwatch monitor`: tell a team, once, that something changed.
//!
//! Each run hands over what the audit found now ([`Tracked`] items). They are compared
//! with the previous run's, kept in a state database of their own ([`State`]); the
//! differences become [`Event`]s (a new advisory affects a pin, a severity or fix changed,
//! a finding was resolved, a deadline is near or passed, an ignore is about to expire).
//! Events and one outbox row per channel are written in the same transaction as the new
//! state, so a crash never loses one; [`deliver`] sends what the outbox holds and marks
//! each row delivered only after the receiver accepted it. One run at a time holds a state
//! file ([`lock`]); an event's id comes from its content, so the same change has the same
//! `Idempotency-Key` whichever run sees it; each event goes to each channel at most once a
//! run, within a time budget, and a failure backs off across runs. A run whose advisory
//! data covers less than the last one's ([`Coverage`]) resolves nothing, and a finding whose
//! advisory the data simply no longer holds ([`Present`]) is kept, not resolved.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use stormwatch_findings::Severity;
use time::Date;

pub mod channels;
mod coverage;
mod delivery;
mod diff;
mod lock;
mod state;
mod tracked;

pub use channels::{Channel, Sender};
pub use coverage::Coverage;
pub use delivery::{backoff, deliver, Delivery, DeliveryOptions, MAX_RETRY_AFTER};
pub use diff::{diff, Diff};
pub use lock::{lock, lock_path, StateLock};
pub use state::{Recorded, State, StateError};
pub use tracked::tracked;

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
    /// What the run's data held; `None` lets any finding that is gone resolve (the user
    /// accepted a change of the data).
    pub present: Option<Present>,
}

/// What one run read: a finding that is gone while its pin is unchanged and its advisory is
/// nowhere in the data (not even withdrawn) lost its data, it was not fixed.
#[derive(Debug, Clone, Default)]
pub struct Present {
    /// Every id and alias of the advisories loaded for the project's packages, withdrawn
    /// ones included.
    pub advisory_ids: HashSet<String>,
    /// `(package, version)` of every pin read, `(package, specifier)` of every range.
    pub pins: HashSet<(String, String)>,
}

impl Present {
    /// Whether `gone` (a finding of the previous run not seen now) is gone only because the
    /// data no longer holds its advisory.
    pub fn lost(&self, gone: &Tracked) -> bool {
        let Some(package) = &gone.package else {
            return false;
        };
        matches!(gone.kind.as_str(), "dependency" | "unpinned")
            && !gone.versions.is_empty()
            && gone
                .versions
                .iter()
                .all(|v| self.pins.contains(&(package.clone(), v.clone())))
            && !std::iter::once(&gone.id)
                .chain(&gone.aliases)
                .any(|id| self.advisory_ids.contains(id))
    }
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
