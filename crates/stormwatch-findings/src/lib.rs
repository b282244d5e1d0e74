//! The vocabulary every stormwatch audit reports in: [`Severity`] and [`Finding`].
//!
//! The serde representation of [`Report`] *is* the documented JSON contract
//! (`--format json`, schema version [`SCHEMA_VERSION`]); change it only together with
//! `docs/json-schema.md` and the version number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change to the JSON output.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered: `Info < Unknown < Low < ... < Critical`.
///
/// `Unknown` means an advisory carries no severity data at all; it ranks above `Info`
/// (which is never a vulnerability) and below `Low` for sorting, but policy treats it as
/// failing at the default threshold (see [`Threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// From a CVSS base score, using the CVSS v3/v4 qualitative rating scale.
    pub fn from_cvss_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }

    /// From a free-text rating as databases write it (`MODERATE`, `High`, `important`, ...).
    pub fn from_label(label: &str) -> Option<Severity> {
        match label.trim().to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "moderate" | "medium" => Some(Severity::Medium),
            "low" | "minor" => Some(Severity::Low),
            "none" | "info" | "informational" => Some(Severity::Info),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `--fail-on` threshold. A finding fails the run when its severity is at or above it;
/// `Unknown` counts as failing for every threshold up to `High`, because an advisory nobody
/// has rated is not evidence of harmlessness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Info,
    Low,
    Medium,
    High,
    Critical,
    None,
}

impl Threshold {
    pub fn fails(self, severity: Severity) -> bool {
        let min = match self {
            Threshold::None => return false,
            Threshold::Info => Severity::Info,
            Threshold::Low => Severity::Low,
            Threshold::Medium => Severity::Medium,
            Threshold::High => Severity::High,
            Threshold::Critical => Severity::Critical,
        };
        if severity == Severity::Unknown {
            return !matches!(self, Threshold::Critical);
        }
        severity >= min
    }
}

impl FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Threshold::Info),
            "low" => Ok(Threshold::Low),
            "medium" | "moderate" => Ok(Threshold::Medium),
            "high" => Ok(Threshold::High),
            "critical" => Ok(Threshold::Critical),
            "none" | "never" => Ok(Threshold::None),
            other => Err(format!(
                "unknown threshold `{other}` (expected low, medium, high, critical or none)"
            )),
        }
    }
}

/// A file position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: usize,
}

/// A scored CVSS vector from an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// `CVSS_V3`, `CVSS_V4`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub vector: String,
    pub score: f64,
}

/// A known vulnerability in a pinned (or installed, or locked) package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependencyFinding {
    /// PEP 503 normalized.
    pub package: String,
    pub version: String,
    /// The primary advisory id; every other id naming the same vulnerability is in `aliases`.
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<CvssScore>,
    pub summary: String,
    /// The smallest versions that resolve every advisory merged into this finding.
    pub fixed_versions: Vec<String>,
    pub source: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// A version range that still admits known-vulnerable versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnpinnedFinding {
    pub package: String,
    /// The range as written (`>=5`, `^6.1`, empty for "any version").
    pub specifier: String,
    /// Advisory ids (primary ids of merged groups) whose vulnerable versions the range allows.
    pub ids: Vec<String>,
    /// The lowest vulnerable version the range allows.
    pub example_version: String,
    pub severity: Severity,
    /// Raising the lower bound to one of these excludes every listed advisory.
    pub fixed_versions: Vec<String>,
    pub source: Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A dependency that cannot be audited by version (URL, VCS, local path, editable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnauditableFinding {
    pub package: String,
    pub reason: String,
    pub reference: String,
    pub severity: Severity,
    pub source: Location,
}

/// One step of the way a configuration value travelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    pub location: Location,
    pub note: String,
}

/// A configuration finding (Tornado settings, deployment files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigFinding {
    pub rule: String,
    pub severity: Severity,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Where the value came from, first step first, ending where it reaches the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
    /// The reason given by a `# stormwatch: ignore[RULE] reason` comment; suppressed findings
    /// never fail a run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

/// One finding of any kind; `kind` tags it in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Finding {
    Dependency(DependencyFinding),
    Unpinned(UnpinnedFinding),
    Unauditable(UnauditableFinding),
    Config(ConfigFinding),
}

impl Finding {
    pub fn severity(&self) -> Severity {
        match self {
            Finding::Dependency(f) => f.severity,
            Finding::Unpinned(f) => f.severity,
            Finding::Unauditable(f) => f.severity,
            Finding::Config(f) => f.severity,
        }
    }

    /// File and line, borrowed: for sorting without copying paths.
    pub fn location_key(&self) -> (&str, usize) {
        match self {
            Finding::Dependency(f) => (&f.source.file, f.source.line),
            Finding::Unpinned(f) => (&f.source.file, f.source.line),
            Finding::Unauditable(f) => (&f.source.file, f.source.line),
            Finding::Config(f) => (&f.path, f.line),
        }
    }

    pub fn location(&self) -> Location {
        match self {
            Finding::Dependency(f) => f.source.clone(),
            Finding::Unpinned(f) => f.source.clone(),
            Finding::Unauditable(f) => f.source.clone(),
            Finding::Config(f) => Location {
                file: f.path.clone(),
                line: f.line,
            },
        }
    }
}

/// The smallest upgrade of one pinned dependency that resolves every advisory affecting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    pub package: String,
    pub from: String,
    /// `None` when no released version is free of the advisories.
    pub to: Option<String>,
    /// How many findings (merged advisories) the upgrade resolves.
    pub resolves: usize,
    pub source: Location,
}

/// A non-finding message for the user (ignored option, skipped file, data source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
}

/// Where the advisories came from, so every report says how fresh its data is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    pub description: String,
    /// ISO 8601 date the data was current as of, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    pub advisories: usize,
}

/// The complete result of one run: the JSON contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub tool: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory_data: Option<DataSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrades: Vec<Upgrade>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// Inputs that could not be analysed (unreadable, malformed, past a limit, outside the
    /// scanned tree): the audit did not see everything, whatever the findings say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Notice>,
}

/// Counts by severity plus the packages audited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub packages: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
    pub info: usize,
}

impl Report {
    pub fn new(findings: Vec<Finding>, packages: usize) -> Self {
        let mut summary = Summary {
            packages,
            ..Summary::default()
        };
        for f in &findings {
            match f.severity() {
                Severity::Critical => summary.critical += 1,
                Severity::High => summary.high += 1,
                Severity::Medium => summary.medium += 1,
                Severity::Low => summary.low += 1,
                Severity::Unknown => summary.unknown += 1,
                Severity::Info => summary.info += 1,
            }
        }
        Report {
            version: SCHEMA_VERSION,
            tool: format!("stormwatch {}", env!("CARGO_PKG_VERSION")),
            findings,
            summary,
            inputs: Vec::new(),
            advisory_data: None,
            upgrades: Vec::new(),
            notices: Vec::new(),
            incomplete: Vec::new(),
        }
    }

    /// Whether any finding that is not suppressed is at or above `threshold`.
    pub fn fails(&self, threshold: Threshold) -> bool {
        self.findings
            .iter()
            .filter(|f| !matches!(f, Finding::Config(c) if c.suppressed.is_some()))
            .any(|f| threshold.fails(f.severity()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_from_score_and_label() {
        assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
        assert_eq!(Severity::from_cvss_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(4.0), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(0.1), Severity::Low);
        assert_eq!(Severity::from_label("MODERATE"), Some(Severity::Medium));
        assert_eq!(Severity::from_label("bogus"), None);
    }

    #[test]
    fn thresholds() {
        assert!(Threshold::Low.fails(Severity::Low));
        assert!(!Threshold::Low.fails(Severity::Info));
        assert!(Threshold::Low.fails(Severity::Unknown));
        assert!(Threshold::High.fails(Severity::Unknown));
        assert!(!Threshold::Critical.fails(Severity::Unknown));
        assert!(!Threshold::High.fails(Severity::Medium));
        assert!(!Threshold::None.fails(Severity::Critical));
        assert!("nope".parse::<Threshold>().is_err());
    }

    #[test]
    fn json_shape_is_the_contract() {
        let f = Finding::Dependency(DependencyFinding {
            package: "tornado".into(),
            version: "6.1".into(),
            id: "PYSEC-2023-75".into(),
            aliases: vec!["CVE-2023-28370".into()],
            severity: Severity::Medium,
            cvss: None,
            summary: "open redirect".into(),
            fixed_versions: vec!["6.3.2".into()],
            source: Location {
                file: "requirements.txt".into(),
                line: 3,
            },
            group: None,
            marker: None,
        });
        let report = Report::new(vec![f], 1);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["version"], 1);
        let f = &v["findings"][0];
        assert_eq!(f["kind"], "dependency");
        assert_eq!(f["package"], "tornado");
        assert_eq!(f["severity"], "medium");
        assert_eq!(f["source"]["line"], 3);
        assert_eq!(f["aliases"][0], "CVE-2023-28370");
        assert_eq!(v["summary"]["medium"], 1);
    }
}
