//! Applying a policy to an audit: owners, patch deadlines and ignores on every finding, and
//! what the policy itself should hear about (expired, expiring, unused and unknown ignores).

use std::collections::HashSet;

use stormwatch_findings::{
    Audit, Detail, Finding, Location, Notice, Severity, Suppression, SuppressionKind,
    UnknownSeverity,
};
use time::{Date, Duration};

use crate::{format_date, parse_date, Ignore, OwnerScope, Policy};

/// An ignore expiring within this many days is announced.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// What the policy is applied with.
pub struct Facts<'a> {
    pub today: Date,
    /// The scanned root as finding paths start with it (`.` or empty for none): path
    /// patterns are relative to the root.
    pub root: &'a str,
    /// Every id the policy may name: the advisories of the audited packages (ids and
    /// aliases) and the rule ids.
    pub known_ids: &'a HashSet<String>,
    /// Whether the audit an ignore of this id belongs to ran: an ignore of another audit's
    /// id (a configuration rule in a dependency run) is neither used nor unused here.
    pub judged: &'a dyn Fn(&str) -> bool,
}

/// The outcome, beside the changes to the audit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Ignores that matched nothing or name unknown ids: `--strict` fails on them.
    pub problems: usize,
}

#[derive(Default, Clone)]
struct Use {
    matched: usize,
    expired: bool,
    fix_available: Option<String>,
}

fn relative<'a>(file: &'a str, root: &str) -> &'a str {
    let root = root.trim_end_matches('/');
    if root.is_empty() || root == "." {
        return file.strip_prefix("./").unwrap_or(file);
    }
    file.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(file)
}

impl Ignore {
    /// Whether the scope (package, version, path) admits `f`.
    fn in_scope(&self, f: &Finding, path: &str) -> bool {
        if let Some(p) = &self.package {
            if f.package() != Some(p.as_str()) {
                return false;
            }
        }
        if let Some(spec) = &self.version {
            let Some(d) = f.vulnerability() else {
                return false;
            };
            match d.version.parse::<pep440_rs::Version>() {
                Ok(v) if spec.contains(&v) => {}
                _ => return false,
            }
        }
        if let Some((_, glob)) = &self.path {
            if !glob.is_match(path) {
                return false;
            }
        }
        true
    }

    fn names(&self, id: &str) -> bool {
        self.id.eq_ignore_ascii_case(id)
    }
}

/// The first ignore naming one of `ids` whose scope admits `f`.
fn first_match(ignores: &[Ignore], f: &Finding, path: &str, ids: &[&str]) -> Option<usize> {
    ignores
        .iter()
        .position(|ig| ids.iter().any(|id| ig.names(id)) && ig.in_scope(f, path))
}

/// Applies `policy` to `audit`: each finding gets its owner, its deadline (dependency
/// findings, from the advisory's publication) and, when an ignore covers it, a policy
/// suppression; notices about the ignores go to `audit.policy`.
pub fn apply(policy: &Policy, audit: &mut Audit, facts: &Facts) -> Applied {
    let mut uses = vec![Use::default(); policy.ignores.len()];
    let today = facts.today;
    for f in &mut audit.findings {
        let path = relative(&f.location.file, facts.root).to_string();
        f.owner = policy
            .owners
            .iter()
            .find(|o| match &o.scope {
                OwnerScope::Package(g) => f.package().is_some_and(|p| g.is_match(p)),
                OwnerScope::Path(g) => g.is_match(&path),
            })
            .map(|o| o.owner.clone());
        deadline(policy, f, today);
        if f.suppression.is_some() {
            continue;
        }
        let first = |ids: &[&str]| first_match(&policy.ignores, f, &path, ids);
        let matching: Vec<usize> = match &f.detail {
            // A range is accepted when its rule is ignored, or every advisory it admits is.
            Detail::Unpinned(u) => match first(&[f.id.as_str()]) {
                Some(i) => vec![i],
                None => u
                    .ids
                    .iter()
                    .map(|id| first(&[id.as_str()]))
                    .collect::<Option<Vec<usize>>>()
                    .unwrap_or_default(),
            },
            _ => first(&f.ids()).into_iter().collect(),
        };
        if matching.is_empty() {
            continue;
        }
        let mut reasons = Vec::new();
        let mut expired = false;
        let mut expires: Option<Date> = None;
        let mut fixable = false;
        for &i in &matching {
            let ig = &policy.ignores[i];
            uses[i].matched += 1;
            if ig.until_fixed {
                if let Some(v) = f.fixed_versions().first() {
                    uses[i].fix_available = Some(v.clone());
                    fixable = true;
                }
            }
            if let Some(e) = ig.expires {
                if e < today {
                    uses[i].expired = true;
                    expired = true;
                }
                expires = Some(expires.map_or(e, |x: Date| x.min(e)));
            }
            if !reasons.contains(&ig.reason) {
                reasons.push(ig.reason.clone());
            }
        }
        if fixable {
            continue;
        }
        f.suppression = Some(Suppression {
            kind: SuppressionKind::Policy,
            reason: reasons.join("; "),
            expires: expires.map(format_date),
            expired,
        });
    }
    let mut applied = Applied::default();
    let file = policy
        .path
        .as_ref()
        .map(|p| {
            let s = p.display().to_string();
            s.strip_prefix("./").map(str::to_string).unwrap_or(s)
        })
        .unwrap_or_default();
    for (ig, u) in policy.ignores.iter().zip(&uses) {
        let at = Location::new(file.clone(), ig.line);
        let known = facts
            .known_ids
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&ig.id));
        let note = |msg: String| Notice::at(at.clone(), msg);
        if u.matched == 0 && !(facts.judged)(&ig.id) {
            continue;
        }
        if !known && u.matched == 0 {
            applied.problems += 1;
            audit.policy.push(note(format!(
                "the ignore of {} names an id that is neither a rule nor an advisory of the audited packages (a typo?)",
                ig.id
            )));
            continue;
        }
        if u.matched == 0 {
            applied.problems += 1;
            audit.policy.push(note(format!(
                "the ignore of {} matched no finding; remove it",
                ig.id
            )));
            continue;
        }
        if let Some(v) = &u.fix_available {
            audit.policy.push(note(format!(
                "the ignore of {} no longer applies: it holds only until a fix exists, and {v} fixes it",
                ig.id
            )));
        }
        match ig.expires {
            Some(e) if u.expired => audit.policy.push(note(format!(
                "the ignore of {} expired on {}: its {} finding{} count{} again",
                ig.id,
                format_date(e),
                u.matched,
                if u.matched == 1 { "" } else { "s" },
                if u.matched == 1 { "s" } else { "" }
            ))),
            Some(e) if e - today <= Duration::days(EXPIRY_WARNING_DAYS) => {
                let days = (e - today).whole_days();
                audit.policy.push(note(format!(
                    "the ignore of {} expires on {} (in {days} day{})",
                    ig.id,
                    format_date(e),
                    if days == 1 { "" } else { "s" }
                )))
            }
            _ => {}
        }
    }
    audit.policy_errors += applied.problems;
    applied
}

/// The patch deadline of a dependency finding: its publication plus the days its severity
/// is given; an unrated advisory takes the deadline of the severity it counts as.
fn deadline(policy: &Policy, f: &mut Finding, today: Date) {
    let Some(d) = f.vulnerability() else {
        return;
    };
    let Some(published) = d.published.as_deref().and_then(parse_date) else {
        return;
    };
    let severity = match (f.severity, policy.unknown_severity.unwrap_or_default()) {
        (Severity::Unknown, UnknownSeverity::As(s)) => s,
        (Severity::Unknown, UnknownSeverity::Fail) => Severity::High,
        (s, _) => s,
    };
    let Some(days) = policy.deadlines.days(severity) else {
        return;
    };
    // An advisory dated near the end of the calendar has no representable deadline: it
    // cannot be overdue either.
    let Some(due) = published.checked_add(Duration::days(days)) else {
        return;
    };
    f.due = Some(format_date(due));
    f.overdue = today > due;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;
    use std::path::Path;
    use stormwatch_findings::*;

    fn dep(id: &str, aliases: &[&str], version: &str, fixed: &[&str], published: &str) -> Finding {
        let location = Location::new("repo/requirements.txt", 3);
        Finding::new(
            Detail::Dependency(DependencyFinding {
                package: "tornado".into(),
                version: version.into(),
                aliases: aliases.iter().map(|s| s.to_string()).collect(),
                cvss: None,
                summary: String::new(),
                fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
                published: Some(published.into()),
                group: None,
                marker: None,
                declared: Vec::new(),
            }),
            id,
            Severity::High,
            location,
            &[id],
        )
    }

    fn config(rule: &str, file: &str) -> Finding {
        let location = Location::new(file, 2);
        Finding::new(
            Detail::Config(ConfigFinding {
                message: "m".into(),
                trace: vec![],
            }),
            rule,
            Severity::High,
            location,
            &[rule, file],
        )
    }

    fn run(policy: &str, findings: Vec<Finding>, today: &str) -> (Audit, Applied) {
        let policy = parse(policy, Path::new("stormwatch.toml"), false)
            .unwrap()
            .unwrap();
        let mut audit = Audit {
            findings,
            ..Audit::default()
        };
        let known: HashSet<String> = ["PYSEC-1", "CVE-1", "GHSA-2", "TW001", "TW201"]
            .into_iter()
            .map(String::from)
            .collect();
        let applied = apply(
            &policy,
            &mut audit,
            &Facts {
                today: parse_date(today).unwrap(),
                root: "repo",
                known_ids: &known,
                judged: &|_| true,
            },
        );
        (audit, applied)
    }

    #[test]
    fn ignores_match_any_alias_within_their_scope() {
        let policy = r#"
[[ignore]]
id = "cve-1"
package = "tornado"
version = "<6.5"
reason = "not reachable"
"#;
        let (a, applied) = run(
            policy,
            vec![
                dep("PYSEC-1", &["CVE-1"], "6.1", &["6.5.5"], "2026-01-01"),
                dep("PYSEC-1", &["CVE-1"], "6.5.1", &["6.5.5"], "2026-01-01"),
            ],
            "2026-06-01",
        );
        let s = a.findings[0].suppression.as_ref().unwrap();
        assert_eq!(
            (s.kind, s.reason.as_str()),
            (SuppressionKind::Policy, "not reachable")
        );
        assert!(a.findings[1].suppression.is_none(), "6.5.1 is outside <6.5");
        assert_eq!(applied.problems, 0);
        assert!(a.policy.is_empty(), "{:?}", a.policy);
    }

    #[test]
    fn expiry_expiring_unused_and_unknown() {
        let policy = r#"
[[ignore]]
id = "PYSEC-1"
reason = "accepted"
expires = "2026-05-01"

[[ignore]]
id = "GHSA-2"
reason = "accepted"

[[ignore]]
id = "GHSA-typo"
reason = "accepted"

[[ignore]]
id = "TW001"
path = "scripts/**"
reason = "a development script"
expires = "2026-06-10"
"#;
        let (a, applied) = run(
            policy,
            vec![
                dep("PYSEC-1", &["CVE-1"], "6.1", &[], "2026-01-01"),
                config("TW001", "repo/scripts/dev.py"),
                config("TW001", "repo/app/main.py"),
            ],
            "2026-06-01",
        );
        let expired = a.findings[0].suppression.as_ref().unwrap();
        assert!(expired.expired && !a.findings[0].is_suppressed());
        assert!(a.findings[1].is_suppressed(), "path relative to the root");
        assert!(a.findings[2].suppression.is_none());
        let messages: Vec<String> = a
            .policy
            .iter()
            .map(|n| format!("{}: {}", n.location.as_ref().unwrap().line, n.message))
            .collect();
        assert_eq!(
            messages,
            [
                "3: the ignore of PYSEC-1 expired on 2026-05-01: its 1 finding counts again",
                "8: the ignore of GHSA-2 matched no finding; remove it",
                "12: the ignore of GHSA-typo names an id that is neither a rule nor an advisory of the audited packages (a typo?)",
                "16: the ignore of TW001 expires on 2026-06-10 (in 9 days)",
            ]
        );
        assert_eq!(applied.problems, 2);
        assert_eq!(a.policy_errors, 2);
    }

    #[test]
    fn an_ignore_of_an_audit_that_did_not_run_is_not_judged() {
        let policy = parse(
            "[[ignore]]\nid = \"TW003\"\nreason = \"config\"\n\n[[ignore]]\nid = \"GHSA-nope\"\nreason = \"deps\"\n",
            Path::new("stormwatch.toml"),
            false,
        )
        .unwrap()
        .unwrap();
        let known = HashSet::new();
        // A dependency-only run: the TW003 ignore is the configuration audit's business.
        let mut audit = Audit::default();
        let applied = apply(
            &policy,
            &mut audit,
            &Facts {
                today: parse_date("2026-06-01").unwrap(),
                root: ".",
                known_ids: &known,
                judged: &|id| !id.starts_with("TW"),
            },
        );
        assert_eq!(applied.problems, 1);
        assert_eq!(audit.policy.len(), 1);
        assert!(
            audit.policy[0].message.contains("GHSA-nope"),
            "{:?}",
            audit.policy
        );
    }

    #[test]
    fn until_fixed_holds_only_without_a_fix() {
        let policy = "[[ignore]]\nid = \"PYSEC-1\"\nreason = \"no fix yet\"\nuntil-fixed = true\n";
        let (a, _) = run(
            policy,
            vec![dep("PYSEC-1", &[], "6.1", &[], "2026-01-01")],
            "2026-06-01",
        );
        assert!(a.findings[0].is_suppressed());
        let (a, _) = run(
            policy,
            vec![dep("PYSEC-1", &[], "6.1", &["6.5.5"], "2026-01-01")],
            "2026-06-01",
        );
        assert!(a.findings[0].suppression.is_none());
        assert!(
            a.policy[0].message.contains("6.5.5 fixes it"),
            "{:?}",
            a.policy
        );
    }

    #[test]
    fn deadlines_and_owners() {
        let policy = r#"
unknown-severity = "critical"
[deadlines]
critical = 2
high = 7
[owners]
"tornado" = "@web-platform"
"app/**" = "@app-team"
"#;
        let mut unrated = dep("GHSA-2", &[], "6.1", &[], "2026-05-30");
        unrated.severity = Severity::Unknown;
        let (a, _) = run(
            policy,
            vec![
                dep("PYSEC-1", &[], "6.1", &[], "2026-05-20"),
                unrated,
                config("TW001", "repo/app/main.py"),
            ],
            "2026-06-01",
        );
        assert_eq!(a.findings[0].due.as_deref(), Some("2026-05-27"));
        assert!(a.findings[0].overdue);
        assert_eq!(a.findings[0].owner.as_deref(), Some("@web-platform"));
        assert_eq!(
            a.findings[1].due.as_deref(),
            Some("2026-06-01"),
            "unknown counts as critical"
        );
        assert!(!a.findings[1].overdue, "due today is not overdue");
        assert_eq!(a.findings[2].owner.as_deref(), Some("@app-team"));
        assert_eq!(a.findings[2].due, None);
    }

    #[test]
    fn a_deadline_past_the_calendar_is_no_deadline() {
        let policy = "[deadlines]\nhigh = 3650\n";
        let (a, _) = run(
            policy,
            vec![dep("PYSEC-1", &[], "6.1", &[], "9999-12-31")],
            "2026-06-01",
        );
        assert_eq!(a.findings[0].due, None);
        assert!(!a.findings[0].overdue);
    }

    #[test]
    fn a_range_is_accepted_when_every_advisory_it_admits_is() {
        let location = Location::new("repo/pyproject.toml", 6);
        let range = |ids: &[&str]| {
            Finding::new(
                Detail::Unpinned(UnpinnedFinding {
                    package: "tornado".into(),
                    specifier: ">=5".into(),
                    ids: ids.iter().map(|s| s.to_string()).collect(),
                    example_version: "5".into(),
                    fixed_versions: vec![],
                    group: None,
                }),
                "TW201",
                Severity::High,
                location.clone(),
                &["r"],
            )
        };
        let policy = "[[ignore]]\nid = \"PYSEC-1\"\nreason = \"accepted\"\n";
        let (a, _) = run(
            policy,
            vec![range(&["PYSEC-1"]), range(&["PYSEC-1", "GHSA-2"])],
            "2026-06-01",
        );
        assert!(a.findings[0].is_suppressed());
        assert!(!a.findings[1].is_suppressed());
    }
}
