//! Baselines: the fingerprints of the findings a team has accepted for now. With a baseline,
//! only new findings fail the run; the report says what is new, what is unchanged and what
//! was fixed. How a legacy app adopts the gate, and how a deploy pipeline sees drift.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use stormwatch_findings::{
    Audit, BaselineEntry, BaselineState, BaselineSummary, Suppression, SuppressionKind,
};

use crate::PolicyError;

/// The file's format version.
pub const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct BaselineFile {
    pub stormwatch_baseline: u32,
    pub tool: String,
    pub findings: Vec<BaselineEntry>,
}

/// The baseline of `audit`: every finding that counts today (an expired ignore accepts
/// nothing) or is in the baseline already, not those accepted some other way. Fingerprints
/// must be final (see [`Audit::finalize_fingerprints`]).
pub fn of(audit: &Audit) -> BaselineFile {
    let mut findings: Vec<BaselineEntry> = audit
        .findings
        .iter()
        .filter(|f| {
            !f.is_suppressed()
                || f.suppression
                    .as_ref()
                    .is_some_and(|s| s.kind == SuppressionKind::Baseline)
        })
        .map(|f| BaselineEntry {
            fingerprint: f.fingerprint.clone(),
            id: f.id.clone(),
            location: f.location.clone(),
            subject: f.message(),
        })
        .collect();
    findings.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    BaselineFile {
        stormwatch_baseline: FORMAT,
        tool: format!("stormwatch {}", env!("CARGO_PKG_VERSION")),
        findings,
    }
}

impl BaselineFile {
    /// The file's text.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("baselines serialize");
        text.push('\n');
        text
    }
}

/// Reads a baseline written by `--write-baseline`.
pub fn load(path: &Path) -> Result<Vec<BaselineEntry>, PolicyError> {
    let err = |line: usize, message: String| PolicyError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = stormwatch_manifest::text::read_text(path).map_err(|e| err(e.line, e.message))?;
    parse(&text, path)
}

/// Parses baseline text read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<Vec<BaselineEntry>, PolicyError> {
    let err = |line: usize, message: String| PolicyError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let file: BaselineFile = serde_json::from_str(text)
        .map_err(|e| err(e.line(), format!("not a stormwatch baseline: {e}")))?;
    if file.stormwatch_baseline != FORMAT {
        return Err(err(
            0,
            format!(
                "baseline format {} is not supported (expected {FORMAT}); write it again with --write-baseline",
                file.stormwatch_baseline
            ),
        ));
    }
    Ok(file.findings)
}

/// Marks each finding new or unchanged against `entries`; unchanged ones are suppressed
/// (they fail no run), and entries no finding matched are reported as fixed.
pub fn compare(audit: &mut Audit, entries: Vec<BaselineEntry>, file: &str) {
    let known: HashSet<&str> = entries.iter().map(|e| e.fingerprint.as_str()).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let (mut new, mut unchanged) = (0, 0);
    for f in &mut audit.findings {
        if known.contains(f.fingerprint.as_str()) {
            seen.insert(f.fingerprint.clone());
            f.baseline = Some(BaselineState::Unchanged);
            if !f.is_suppressed() {
                unchanged += 1;
                f.suppression = Some(Suppression {
                    kind: SuppressionKind::Baseline,
                    reason: format!("in the baseline {file}"),
                    expires: None,
                    expired: false,
                });
            }
        } else {
            f.baseline = Some(BaselineState::New);
            if !f.is_suppressed() {
                new += 1;
            }
        }
    }
    let fixed = entries
        .into_iter()
        .filter(|e| !seen.contains(&e.fingerprint))
        .collect();
    audit.baseline = Some(BaselineSummary {
        file: file.to_string(),
        new,
        unchanged,
        fixed,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use stormwatch_findings::*;

    fn finding(rule: &str, line: usize) -> Finding {
        let location = Location::new("app.py", line);
        Finding::new(
            Detail::Config(ConfigFinding {
                message: format!("{rule} here"),
                trace: vec![],
            }),
            rule,
            Severity::High,
            location,
            &["config", rule, "app.py"],
        )
    }

    #[test]
    fn new_unchanged_and_fixed() {
        let old = Audit {
            findings: vec![finding("TW001", 3), finding("TW002", 4)],
            ..Audit::default()
        };
        let file = of(&old);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("baseline.json");
        std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
        let entries = load(&path).unwrap();
        // TW001 moved down ten lines; TW002 was fixed; TW003 is new.
        let mut now = Audit {
            findings: vec![finding("TW001", 13), finding("TW003", 20)],
            ..Audit::default()
        };
        compare(&mut now, entries, "baseline.json");
        assert_eq!(now.findings[0].baseline, Some(BaselineState::Unchanged));
        assert!(now.findings[0].is_suppressed());
        assert_eq!(now.findings[1].baseline, Some(BaselineState::New));
        assert!(!now.findings[1].is_suppressed());
        let b = now.baseline.unwrap();
        assert_eq!((b.new, b.unchanged, b.fixed.len()), (1, 1, 1));
        assert_eq!(b.fixed[0].id, "TW002");

        std::fs::write(&path, "{\"findings\": 3}").unwrap();
        let err = load(&path).unwrap_err();
        assert!(
            err.to_string().contains("not a stormwatch baseline"),
            "{err}"
        );
    }
}
