//! The vocabulary every stormwatch audit reports in: [`Severity`] and [`Finding`].
//!
//! The serde representation of [`Report`] *is* the documented JSON contract
//! (`--format json`, schema version [`SCHEMA_VERSION`]); change it only together with
//! `docs/json-schema.md` and the version number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod inline;
pub mod text;

pub use inline::{InlineOutcome, InlineSuppression};

/// Bumped on any incompatible change to the JSON output.
pub const SCHEMA_VERSION: u32 = 2;

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

/// A position in a scanned file (or, for a live probe, a URL). Lines and columns are
/// 1-based; 0 means unknown and is left out of JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub line: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub column: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub end_line: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub end_column: usize,
}

impl Location {
    pub fn new(file: impl Into<String>, line: usize) -> Self {
        Location {
            file: file.into(),
            line,
            ..Location::default()
        }
    }

    pub fn with_column(mut self, column: usize) -> Self {
        self.column = column;
        self
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
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

/// A known vulnerability in a pinned (or installed, or locked) package version. Its
/// advisory id is the finding's [`Finding::id`]; every other id naming the same
/// vulnerability is in `aliases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependencyFinding {
    /// PEP 503 normalized.
    pub package: String,
    pub version: String,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<CvssScore>,
    pub summary: String,
    /// The smallest versions that resolve every advisory merged into this finding.
    pub fixed_versions: Vec<String>,
    /// The earliest publication date (`YYYY-MM-DD`) among the merged advisories: patch
    /// deadlines count from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    /// Every place this version is declared (a pin in pyproject.toml and its lock in
    /// uv.lock), the finding's own location first, when there is more than one: one
    /// finding per package, version and advisory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<Location>,
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
    /// Raising the lower bound to one of these excludes every listed advisory.
    pub fixed_versions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// A dependency that cannot be audited by version (URL, VCS, local path, editable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnauditableFinding {
    pub package: String,
    pub reason: String,
    pub reference: String,
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
    pub message: String,
    /// Where the value came from, first step first, ending where it reaches the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<TraceStep>,
}

/// One request of a live probe: what was sent and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRequest {
    pub method: String,
    pub url: String,
    /// The HTTP status; absent when no response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl fmt::Display for ProbeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)?;
        match self.status {
            Some(s) => write!(f, " -> {s}"),
            None => f.write_str(" -> no response"),
        }
    }
}

/// What a live probe of a running service showed (`stormwatch probe`, `check --probe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeFinding {
    /// The probe rule (`TW301`, ...); the finding's id is the advisory id for a served
    /// version affected by an advisory, else this rule id.
    pub rule: String,
    pub message: String,
    /// The request whose response showed it.
    pub request: ProbeRequest,
    /// What in the response showed it: a header, a cookie, a line of a traceback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// For a served Tornado version that an advisory affects: the advisory's details, as a
    /// dependency finding carries them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vulnerability: Option<DependencyFinding>,
}

/// What a finding is about; `kind` tags it in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Detail {
    Dependency(DependencyFinding),
    Unpinned(UnpinnedFinding),
    Unauditable(UnauditableFinding),
    Config(ConfigFinding),
    Probe(ProbeFinding),
}

/// Why a finding does not count against the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionKind {
    /// A `# stormwatch: ignore[ID] reason` comment on the finding's line.
    Inline,
    /// An `[[ignore]]` entry of the policy file.
    Policy,
    /// The finding was already present in the baseline file.
    Baseline,
}

impl SuppressionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Inline => "inline",
            SuppressionKind::Policy => "policy",
            SuppressionKind::Baseline => "baseline",
        }
    }
}

/// One suppression record, the same for every kind of finding and of suppression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub kind: SuppressionKind,
    pub reason: String,
    /// `YYYY-MM-DD`, for policy ignores that carry one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The ignore has expired: the finding counts again, and says why it returned.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expired: bool,
}

/// Where a finding stands against the baseline given with `--baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
}

/// One finding of any kind: what it is about ([`Detail`]) and what every report format
/// needs about every finding (id, severity, location, fingerprint, suppression, deadline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(flatten)]
    pub detail: Detail,
    /// The advisory id for a vulnerability, else the rule id (`TW001`, `TW201`, ...).
    pub id: String,
    pub severity: Severity,
    /// The place to fix: the pin's line, the setting's line.
    pub location: Location,
    /// Stable across runs and across edits elsewhere in the file (see [`fingerprint`]).
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// Patch deadline (`YYYY-MM-DD`) from the policy's `[deadlines]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub overdue: bool,
    /// The team that acts, from the policy's `[owners]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

impl Finding {
    /// A finding with no suppression, deadline or owner yet; `parts` are what identifies it
    /// (see [`fingerprint`]).
    pub fn new(
        detail: Detail,
        id: impl Into<String>,
        severity: Severity,
        location: Location,
        parts: &[&str],
    ) -> Self {
        Finding {
            detail,
            id: id.into(),
            severity,
            location,
            fingerprint: fingerprint(parts),
            suppression: None,
            due: None,
            overdue: false,
            owner: None,
            baseline: None,
        }
    }

    /// Suppressed by a comment, an unexpired ignore or the baseline: reported, never failing.
    pub fn is_suppressed(&self) -> bool {
        self.suppression.as_ref().is_some_and(|s| !s.expired)
    }

    /// File and line, borrowed: for sorting without copying paths.
    pub fn location_key(&self) -> (&str, usize) {
        (&self.location.file, self.location.line)
    }

    /// The package a dependency finding is about.
    pub fn package(&self) -> Option<&str> {
        match &self.detail {
            Detail::Dependency(d) => Some(&d.package),
            Detail::Unpinned(d) => Some(&d.package),
            Detail::Unauditable(d) => Some(&d.package),
            Detail::Probe(p) => p.vulnerability.as_ref().map(|d| d.package.as_str()),
            Detail::Config(_) => None,
        }
    }

    /// The vulnerability a finding is about: a vulnerable pin, or a served version a probe
    /// saw.
    pub fn vulnerability(&self) -> Option<&DependencyFinding> {
        match &self.detail {
            Detail::Dependency(d) => Some(d),
            Detail::Probe(p) => p.vulnerability.as_ref(),
            _ => None,
        }
    }

    /// The finding's id and every alias; for a range, the ids of the advisories it admits.
    pub fn ids(&self) -> Vec<&str> {
        let mut ids = vec![self.id.as_str()];
        match &self.detail {
            Detail::Dependency(d) => ids.extend(d.aliases.iter().map(String::as_str)),
            Detail::Unpinned(u) => ids.extend(u.ids.iter().map(String::as_str)),
            Detail::Probe(p) => {
                if let Some(d) = &p.vulnerability {
                    ids.extend(d.aliases.iter().map(String::as_str));
                    ids.push(p.rule.as_str());
                }
            }
            _ => {}
        }
        ids
    }

    /// How a configuration value reached the place it matters, first step first.
    pub fn trace(&self) -> &[TraceStep] {
        match &self.detail {
            Detail::Config(c) => &c.trace,
            _ => &[],
        }
    }

    /// The fixed versions a dependency finding offers.
    pub fn fixed_versions(&self) -> &[String] {
        match &self.detail {
            Detail::Dependency(d) => &d.fixed_versions,
            Detail::Unpinned(u) => &u.fixed_versions,
            Detail::Probe(p) => p
                .vulnerability
                .as_ref()
                .map_or(&[], |d| d.fixed_versions.as_slice()),
            _ => &[],
        }
    }

    /// One line saying what is wrong, for formats with room for one.
    pub fn message(&self) -> String {
        match &self.detail {
            Detail::Dependency(d) => {
                let fix = match d.fixed_versions.first() {
                    Some(v) => format!("; fixed in {v}"),
                    None => "; no fixed version".to_string(),
                };
                let summary = if d.summary.is_empty() {
                    String::new()
                } else {
                    format!(": {}", d.summary.trim_end().trim_end_matches('.'))
                };
                format!(
                    "{} {} is affected by {}{summary}{fix}",
                    d.package, d.version, self.id
                )
            }
            Detail::Unpinned(u) => {
                let spec = if u.specifier.is_empty() {
                    "any version".to_string()
                } else {
                    u.specifier.clone()
                };
                format!(
                    "{} {spec} allows vulnerable versions (e.g. {}): {}",
                    u.package,
                    u.example_version,
                    u.ids.join(", ")
                )
            }
            Detail::Unauditable(u) => format!(
                "{} cannot be audited by version: {} {}",
                u.package, u.reason, u.reference
            ),
            Detail::Config(c) => c.message.clone(),
            Detail::Probe(p) => p.message.clone(),
        }
    }
}

/// A stable fingerprint of the parts that identify a finding: FNV-1a (128-bit) over the
/// parts, each ended by a NUL, as 32 hex digits. Fixed by its specification, so a
/// fingerprint written to a baseline today matches tomorrow's build.
pub fn fingerprint(parts: &[&str]) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let mut h = OFFSET;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0u8]) {
            h ^= b as u128;
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

/// What a rule is, for every place that lists rules: `stormwatch rules`, `explain`, and
/// the report formats that carry rule metadata (SARIF `rules[]`, JUnit test cases).
#[derive(Debug)]
pub struct RuleInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it catches, why, a bad example, the fix.
    pub docs: &'static str,
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

impl Upgrade {
    /// What applies the upgrade, by the kind of file the pin is in: the lock tool's command
    /// asked for exactly the version, or the edit of a pin written by hand.
    pub fn command(&self) -> Option<String> {
        let to = self.to.as_deref()?;
        let p = &self.package;
        let file = &self.source.file;
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        Some(match name {
            "uv.lock" => format!("uv lock --upgrade-package {p}=={to}"),
            "poetry.lock" => format!("poetry add {p}@^{to} (or poetry update {p})"),
            "Pipfile.lock" => format!("pipenv upgrade {p}=={to}"),
            "pdm.lock" => format!("pdm update {p} (to {to})"),
            "pylock.toml" => {
                format!("uv lock --upgrade-package {p}=={to} && uv export --format pylock.toml")
            }
            _ if file.contains("site-packages") || file.contains("dist-info") => {
                format!("pip install --upgrade {p}=={to}")
            }
            _ => format!("set {p}=={to} in {}", place_of(&self.source)),
        })
    }
}

fn place_of(l: &Location) -> String {
    if l.line > 0 {
        format!("{}:{}", l.file, l.line)
    } else {
        l.file.clone()
    }
}

/// A non-finding message for the user (ignored option, skipped file, data source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub message: String,
}

impl Notice {
    pub fn new(message: impl Into<String>) -> Self {
        Notice {
            location: None,
            message: message.into(),
        }
    }

    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Notice {
            location: Some(location),
            message: message.into(),
        }
    }
}

/// Where the advisories came from, so every report says how fresh its data is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSource {
    pub description: String,
    /// ISO 8601 date the data was current as of, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// The date the data claimed when it was later than today (a wrong clock, or a record
    /// dated in the future): `as_of` is then today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_as_of: Option<String>,
    /// Advisories loaded for this audit: those of the audited packages, and the whole
    /// bundled Tornado set unless `--no-bundled`.
    pub advisories: usize,
    /// When the data was last updated or found current (`db update`, `db import`), as an
    /// ISO 8601 date; absent for sources read directly and the bundled set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Days since `updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Older than the policy's `max-age` (default 7 days).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// No advisory database: only Tornado was checked (the bundled advisories).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tornado_only: bool,
    /// Packages the whole source has advisories for, when counted (an OSV collection read
    /// directly): how much data a run had, not part of the report.
    #[serde(skip)]
    pub packages: Option<usize>,
}

impl DataSource {
    /// Why a clean result from this data is not the all-clear, if it is not.
    pub fn caveat(&self) -> Option<String> {
        if self.tornado_only {
            Some(
                "only Tornado was checked (no advisory database: run `stormwatch db update`)"
                    .into(),
            )
        } else if self.stale {
            Some(format!(
                "the advisory data is {} days old (run `stormwatch db update`)",
                self.age_days.unwrap_or_default()
            ))
        } else {
            None
        }
    }
}

/// A finding of the baseline that is gone: fixed (or its file removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub id: String,
    pub location: Location,
    /// What it was about, for a reader of the report: package and version, or the message.
    pub subject: String,
}

/// The comparison with `--baseline FILE`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSummary {
    pub file: String,
    pub new: usize,
    pub unchanged: usize,
    pub fixed: Vec<BaselineEntry>,
}

/// The result of one audit (or of several, merged) before it becomes a [`Report`]: the
/// policy and the baseline act on it, and the report is built once from the outcome.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    pub findings: Vec<Finding>,
    pub packages: usize,
    pub inputs: Vec<String>,
    pub advisory_data: Option<DataSource>,
    pub upgrades: Vec<Upgrade>,
    pub notices: Vec<Notice>,
    pub incomplete: Vec<Notice>,
    /// What the policy has to say (expired or unused ignores, overdue findings, ...).
    pub policy: Vec<Notice>,
    /// Policy problems that fail a `--strict` run (unused ignores, unknown ids).
    pub policy_errors: usize,
    pub baseline: Option<BaselineSummary>,
    /// Every id and alias of the advisories of the audited packages: what a policy may
    /// name besides rule ids.
    pub advisory_ids: Vec<String>,
    /// Deployment files the configuration audit read.
    pub deployment_files: Vec<String>,
    /// Every inline suppression comment that named a finding, and what the policy made of it.
    pub inline_suppressions: Vec<InlineSuppression>,
    /// Which audits ran: an ignore is judged unused only by the audit it belongs to.
    pub ran: Ran,
    /// What this audit did not cover (an audit skipped, inputs left out), besides what the
    /// advisory data and the incomplete inputs say: see [`Report::coverage`].
    pub coverage: Vec<String>,
    /// Where the configuration audit found a `tornado.web.Application` constructed: what
    /// its settings were judged on (none: nothing to decide).
    pub applications: Vec<Location>,
    /// Settings the configuration audit could not determine, each with the incomplete-result
    /// notice that says where and why (the notice is also under `incomplete`).
    pub undetermined: Vec<(String, Notice)>,
}

/// The audits behind one [`Audit`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ran {
    /// The dependency audit (advisory ids, dependency rules).
    pub dependencies: bool,
    /// The configuration audit (configuration rules, inline-suppression rules).
    pub configuration: bool,
    /// A probe of a running service (probe rules).
    pub probe: bool,
}

impl Audit {
    /// Gives findings that share a fingerprint distinct ones (see
    /// [`disambiguate_fingerprints`]); idempotent. Baselines need the final fingerprints
    /// before the report is built.
    pub fn finalize_fingerprints(&mut self) {
        disambiguate_fingerprints(&mut self.findings);
    }

    /// Several audits of one project as one: findings most severe first, each audit's own
    /// order kept within a severity.
    pub fn merge(parts: impl IntoIterator<Item = Audit>) -> Audit {
        let mut out = Audit::default();
        for part in parts {
            out.findings.extend(part.findings);
            out.packages += part.packages;
            out.inputs.extend(part.inputs);
            out.advisory_data = out.advisory_data.or(part.advisory_data);
            out.upgrades.extend(part.upgrades);
            out.notices.extend(part.notices);
            out.incomplete.extend(part.incomplete);
            out.policy.extend(part.policy);
            out.policy_errors += part.policy_errors;
            out.baseline = out.baseline.or(part.baseline);
            out.advisory_ids.extend(part.advisory_ids);
            out.deployment_files.extend(part.deployment_files);
            out.inline_suppressions.extend(part.inline_suppressions);
            out.ran.dependencies |= part.ran.dependencies;
            out.ran.configuration |= part.ran.configuration;
            out.ran.probe |= part.ran.probe;
            out.coverage.extend(part.coverage);
            out.applications.extend(part.applications);
            out.undetermined.extend(part.undetermined);
        }
        out.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        out
    }
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
    /// Messages about the policy file: expired, expiring and unused ignores, unknown ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy: Vec<Notice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineSummary>,
    /// Inline suppression comments (`# stormwatch: ignore[...]`), honoured or not: what the
    /// scanned code itself asked to hide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_suppressions: Vec<InlineSuppression>,
    /// Policy problems that fail a `--strict` run.
    #[serde(skip)]
    pub policy_errors: usize,
    /// Why a clean result is not the all-clear: no advisory database (only Tornado was
    /// checked), stale data, an audit skipped, inputs not analysed. Every format leads with
    /// these, and they reach standard error even with `--quiet`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<String>,
}

/// Counts of the findings that count (not suppressed) by severity, plus the suppressed ones
/// and the packages audited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub packages: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub unknown: usize,
    pub info: usize,
    #[serde(default)]
    pub suppressed: usize,
    #[serde(default)]
    pub overdue: usize,
}

impl From<Audit> for Report {
    fn from(audit: Audit) -> Report {
        let mut findings = audit.findings;
        disambiguate_fingerprints(&mut findings);
        let mut summary = Summary {
            packages: audit.packages,
            ..Summary::default()
        };
        for f in &findings {
            if f.is_suppressed() {
                summary.suppressed += 1;
                continue;
            }
            if f.overdue {
                summary.overdue += 1;
            }
            match f.severity {
                Severity::Critical => summary.critical += 1,
                Severity::High => summary.high += 1,
                Severity::Medium => summary.medium += 1,
                Severity::Low => summary.low += 1,
                Severity::Unknown => summary.unknown += 1,
                Severity::Info => summary.info += 1,
            }
        }
        let mut coverage: Vec<String> = audit
            .advisory_data
            .as_ref()
            .and_then(DataSource::caveat)
            .into_iter()
            .collect();
        coverage.extend(audit.coverage);
        if !audit.incomplete.is_empty() {
            let n = audit.incomplete.len();
            coverage.push(format!(
                "audit incomplete: {n} input{} not fully analysed",
                if n == 1 { "" } else { "s" }
            ));
        }
        Report {
            coverage,
            version: SCHEMA_VERSION,
            tool: format!("stormwatch {}", env!("CARGO_PKG_VERSION")),
            findings,
            summary,
            inputs: audit.inputs,
            advisory_data: audit.advisory_data,
            upgrades: audit.upgrades,
            notices: audit.notices,
            incomplete: audit.incomplete,
            policy: audit.policy,
            baseline: audit.baseline,
            inline_suppressions: audit.inline_suppressions,
            policy_errors: audit.policy_errors,
        }
    }
}

/// Findings whose identifying parts are equal (the same literal twice in one file) get
/// `-2`, `-3`, ... in order of position, so each fingerprint names one finding and moving
/// unrelated lines changes none of them.
fn disambiguate_fingerprints(findings: &mut [Finding]) {
    // Most reports have no shared fingerprint: finding that out is cheaper than sorting.
    let mut seen = std::collections::HashSet::with_capacity(findings.len());
    if findings.iter().all(|f| seen.insert(f.fingerprint.as_str())) {
        return;
    }
    drop(seen);
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (&findings[a], &findings[b]);
        fa.fingerprint
            .cmp(&fb.fingerprint)
            .then_with(|| fa.location.cmp(&fb.location))
    });
    let originals: Vec<String> = order
        .iter()
        .map(|&i| findings[i].fingerprint.clone())
        .collect();
    let mut run = 1;
    for w in 1..order.len() {
        if originals[w] == originals[w - 1] {
            run += 1;
            findings[order[w]].fingerprint = format!("{}-{run}", originals[w]);
        } else {
            run = 1;
        }
    }
}

impl Report {
    /// A report of `findings` alone (tests, simple callers).
    pub fn new(findings: Vec<Finding>, packages: usize) -> Self {
        Report::from(Audit {
            findings,
            packages,
            ..Audit::default()
        })
    }

    /// Findings that count: not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_suppressed())
    }

    /// Whether any finding that counts fails `gate`.
    pub fn fails(&self, gate: &Gate) -> bool {
        self.active().any(|f| gate.fails(f))
    }
}

/// How an advisory without any severity data counts (`unknown-severity` in the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownSeverity {
    /// As if it had this severity.
    As(Severity),
    /// Always fails the run.
    Fail,
    /// Never fails the run.
    Ignore,
}

impl Default for UnknownSeverity {
    /// An advisory nobody has rated is not evidence of harmlessness: it counts as high.
    fn default() -> Self {
        UnknownSeverity::As(Severity::High)
    }
}

impl FromStr for UnknownSeverity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "fail" => Ok(UnknownSeverity::Fail),
            "ignore" => Ok(UnknownSeverity::Ignore),
            "critical" => Ok(UnknownSeverity::As(Severity::Critical)),
            "high" => Ok(UnknownSeverity::As(Severity::High)),
            "medium" | "moderate" => Ok(UnknownSeverity::As(Severity::Medium)),
            "low" => Ok(UnknownSeverity::As(Severity::Low)),
            other => Err(format!(
                "unknown value `{other}` (expected low, medium, high, critical, fail or ignore)"
            )),
        }
    }
}

/// What fails a run: the threshold, how unrated advisories count, and overdue deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub threshold: Threshold,
    pub unknown: UnknownSeverity,
    /// An overdue finding fails even below the threshold.
    pub fail_on_overdue: bool,
}

impl Gate {
    pub fn new(threshold: Threshold) -> Self {
        Gate {
            threshold,
            unknown: UnknownSeverity::default(),
            fail_on_overdue: false,
        }
    }

    /// Whether `finding` fails the run (suppression is the caller's business).
    pub fn fails(&self, finding: &Finding) -> bool {
        if self.fail_on_overdue && finding.overdue {
            return true;
        }
        match (finding.severity, self.unknown) {
            (Severity::Unknown, UnknownSeverity::Fail) => true,
            (Severity::Unknown, UnknownSeverity::Ignore) => false,
            (Severity::Unknown, UnknownSeverity::As(s)) => self.threshold.fails(s),
            (s, _) => self.threshold.fails(s),
        }
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

    fn dependency(line: usize) -> Finding {
        Finding::new(
            Detail::Dependency(DependencyFinding {
                package: "tornado".into(),
                version: "6.1".into(),
                aliases: vec!["CVE-2023-28370".into()],
                cvss: None,
                summary: "open redirect".into(),
                fixed_versions: vec!["6.3.2".into()],
                published: Some("2023-05-25".into()),
                group: None,
                marker: None,
                declared: Vec::new(),
            }),
            "PYSEC-2023-75",
            Severity::Medium,
            Location::new("requirements.txt", line),
            &["dependency", "tornado", "6.1", "requirements.txt"],
        )
    }

    #[test]
    fn json_shape_is_the_contract() {
        let report = Report::new(vec![dependency(3)], 1);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["version"], 2);
        let f = &v["findings"][0];
        assert_eq!(f["kind"], "dependency");
        assert_eq!(f["id"], "PYSEC-2023-75");
        assert_eq!(f["package"], "tornado");
        assert_eq!(f["severity"], "medium");
        assert!(f.get("source").is_none(), "one location per finding");
        assert_eq!(f["location"]["line"], 3);
        assert!(f["location"].get("column").is_none());
        assert_eq!(f["aliases"][0], "CVE-2023-28370");
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 32);
        assert!(f.get("suppression").is_none());
        assert_eq!(v["summary"]["medium"], 1);
        let back: Report = serde_json::from_value(v).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn fingerprints_are_stable_and_ignore_the_line() {
        // Pinned by value: a baseline written by one build must match the next.
        assert_eq!(fingerprint(&[]), "6c62272e07bb014262b821756295c58d");
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_ne!(fingerprint(&["ab", ""]), fingerprint(&["a", "b"]));
        assert_eq!(dependency(3).fingerprint, dependency(40).fingerprint);
    }

    #[test]
    fn equal_fingerprints_are_numbered_in_file_order() {
        let report = Report::new(vec![dependency(9), dependency(2)], 1);
        let base = dependency(1).fingerprint;
        let by_line = |line: usize| {
            report
                .findings
                .iter()
                .find(|f| f.location.line == line)
                .unwrap()
                .fingerprint
                .clone()
        };
        assert_eq!(by_line(2), base);
        assert_eq!(by_line(9), format!("{base}-2"));
    }

    #[test]
    fn suppressed_findings_are_counted_apart_and_never_fail() {
        let mut f = dependency(3);
        f.suppression = Some(Suppression {
            kind: SuppressionKind::Policy,
            reason: "not reachable".into(),
            expires: Some("2027-01-31".into()),
            expired: false,
        });
        let report = Report::new(vec![f.clone()], 1);
        assert_eq!(report.summary.medium, 0);
        assert_eq!(report.summary.suppressed, 1);
        assert!(!report.fails(&Gate::new(Threshold::Low)));
        f.suppression.as_mut().unwrap().expired = true;
        let report = Report::new(vec![f], 1);
        assert_eq!(report.summary.medium, 1);
        assert!(report.fails(&Gate::new(Threshold::Low)));
    }

    #[test]
    fn gate_counts_unknown_and_overdue_as_told() {
        let mut f = dependency(3);
        f.severity = Severity::Unknown;
        let mut gate = Gate::new(Threshold::High);
        assert!(gate.fails(&f), "unknown counts as high by default");
        gate.threshold = Threshold::Critical;
        assert!(!gate.fails(&f));
        gate.unknown = UnknownSeverity::Fail;
        assert!(gate.fails(&f));
        gate.unknown = UnknownSeverity::Ignore;
        gate.threshold = Threshold::Low;
        assert!(!gate.fails(&f));
        f.severity = Severity::Low;
        gate.threshold = Threshold::High;
        f.overdue = true;
        assert!(!gate.fails(&f));
        gate.fail_on_overdue = true;
        assert!(gate.fails(&f));
        assert_eq!("medium".parse(), Ok(UnknownSeverity::As(Severity::Medium)));
        assert!("sometimes".parse::<UnknownSeverity>().is_err());
    }
}
