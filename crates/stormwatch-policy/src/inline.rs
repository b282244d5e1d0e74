//! What inline suppression comments may do: the policy's `inline-ignores` (or
//! `--inline-ignores`). The comments are in the code under review, so a team can have them
//! listed only, or denied, instead of honoured.

use std::collections::HashMap;
use std::str::FromStr;

use stormwatch_findings::{
    Audit, ConfigFinding, Detail, Finding, InlineOutcome, InlineSuppression, Location,
    SuppressionKind,
};

use crate::rules::inline_suppression::RULE;

/// How inline suppression comments count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InlineIgnores {
    /// They suppress the findings they name (listed all the same).
    #[default]
    Allow,
    /// They suppress nothing; they are listed.
    ReportOnly,
    /// They suppress nothing, and each is a finding (TW401).
    Deny,
}

impl FromStr for InlineIgnores {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "allow" => Ok(InlineIgnores::Allow),
            "report-only" => Ok(InlineIgnores::ReportOnly),
            "deny" => Ok(InlineIgnores::Deny),
            other => Err(format!(
                "unknown value `{other}` (expected allow, report-only or deny)"
            )),
        }
    }
}

/// Lists every inline suppression of `audit` in `audit.inline_suppressions` and, unless
/// `mode` allows them, takes them off their findings; with `deny`, each comment becomes a
/// TW401 finding at its line. Runs before the policy's own ignores, which may still accept
/// a finding (the policy file is the team's).
pub fn apply(mode: InlineIgnores, audit: &mut Audit) {
    let outcome = match mode {
        InlineIgnores::Allow => InlineOutcome::Honoured,
        InlineIgnores::ReportOnly => InlineOutcome::NotHonoured,
        InlineIgnores::Deny => InlineOutcome::Denied,
    };
    let mut listed: Vec<InlineSuppression> = Vec::new();
    // One comment per line: findings it names on that line share its entry. Indexed, so
    // that a file with thousands of comments costs no more than linear time.
    let mut index: HashMap<(String, usize, String), usize> = HashMap::new();
    for f in &mut audit.findings {
        let Some(s) = f.suppression.as_ref() else {
            continue;
        };
        if s.kind != SuppressionKind::Inline {
            continue;
        }
        let (file, line) = f.location_key();
        let key = (file.to_string(), line, s.reason.clone());
        match index.get(&key) {
            Some(&i) => {
                let ids = &mut listed[i].ids;
                if !ids.contains(&f.id) {
                    ids.push(f.id.clone());
                }
            }
            None => {
                index.insert(key, listed.len());
                listed.push(InlineSuppression {
                    location: Location::new(file, line),
                    ids: vec![f.id.clone()],
                    reason: s.reason.clone(),
                    outcome,
                });
            }
        }
        if mode != InlineIgnores::Allow {
            f.suppression = None;
        }
    }
    if mode == InlineIgnores::Deny {
        for i in &listed {
            let ids = i.ids.join(",");
            let message = format!(
                "inline suppression of {ids} is not allowed by the policy (reason given: {})",
                i.reason
            );
            audit.findings.push(Finding::new(
                Detail::Config(ConfigFinding {
                    message,
                    trace: Vec::new(),
                }),
                RULE.id,
                RULE.severity,
                i.location.clone(),
                &["inline-suppression", &i.location.file, &ids, &i.reason],
            ));
        }
        audit
            .findings
            .sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
    audit.inline_suppressions.extend(listed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormwatch_findings::{Severity, Suppression};

    fn audit() -> Audit {
        let finding = |id: &str, line: usize, inline: Option<&str>| {
            let mut f = Finding::new(
                Detail::Config(ConfigFinding {
                    message: "m".into(),
                    trace: vec![],
                }),
                id,
                Severity::High,
                Location::new("app.py", line),
                &[id],
            );
            f.suppression = inline.map(|r| Suppression {
                kind: SuppressionKind::Inline,
                reason: r.into(),
                expires: None,
                expired: false,
            });
            f
        };
        Audit {
            findings: vec![
                finding("TW001", 3, Some("demo")),
                finding("TW003", 3, Some("demo")),
                finding("TW001", 9, None),
            ],
            ..Audit::default()
        }
    }

    #[test]
    fn each_mode() {
        let mut a = audit();
        apply(InlineIgnores::Allow, &mut a);
        assert_eq!(a.findings.iter().filter(|f| f.is_suppressed()).count(), 2);
        assert_eq!(a.inline_suppressions.len(), 1);
        assert_eq!(a.inline_suppressions[0].ids, ["TW001", "TW003"]);
        assert_eq!(a.inline_suppressions[0].outcome, InlineOutcome::Honoured);

        let mut a = audit();
        apply(InlineIgnores::ReportOnly, &mut a);
        assert!(a.findings.iter().all(|f| !f.is_suppressed()));
        assert_eq!(a.findings.len(), 3);
        assert_eq!(a.inline_suppressions[0].outcome, InlineOutcome::NotHonoured);

        let mut a = audit();
        apply(InlineIgnores::Deny, &mut a);
        assert!(a.findings.iter().all(|f| !f.is_suppressed()));
        let denied: Vec<&Finding> = a.findings.iter().filter(|f| f.id == "TW401").collect();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].location, Location::new("app.py", 3));
        assert_eq!(denied[0].severity, Severity::Medium);
        assert!(denied[0].message().contains("TW001,TW003"));
        assert!("sometimes".parse::<InlineIgnores>().is_err());
        assert_eq!("Report-Only".parse(), Ok(InlineIgnores::ReportOnly));
    }
}
