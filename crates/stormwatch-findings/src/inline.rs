//! Inline suppression comments (`# stormwatch: ignore[TW001] reason`) as the report lists
//! them: every one, with its place, its reason and what the policy made of it.

use serde::{Deserialize, Serialize};

use crate::Location;

/// What became of an inline suppression under the policy's `inline-ignores`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InlineOutcome {
    /// `allow`: the findings it names are suppressed.
    Honoured,
    /// `report-only`: listed, but the findings count.
    NotHonoured,
    /// `deny`: the findings count, and the comment is itself a finding (TW401).
    Denied,
}

impl InlineOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            InlineOutcome::Honoured => "honoured",
            InlineOutcome::NotHonoured => "not honoured",
            InlineOutcome::Denied => "denied by policy",
        }
    }
}

/// One inline suppression comment that named the rule of a finding on its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineSuppression {
    pub location: Location,
    /// The rule ids it names that had a finding on its line.
    pub ids: Vec<String>,
    pub reason: String,
    pub outcome: InlineOutcome,
}
