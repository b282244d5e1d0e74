//! The advisory layer: the OSV model ([`model`]), loading advisory collections ([`load`]),
//! exact PyPI range semantics ([`ranges`]), CVSS rating ([`severity`]), an in-memory index
//! by package ([`AdvisorySet`]) and the Tornado advisories built into the binary
//! ([`bundled`]).

use foldhash::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pep440_rs::Version;
use serde::{Deserialize, Serialize};
use stormwatch_findings::{CvssScore, Severity};

pub mod bundled;
pub mod load;
pub mod model;
pub mod ranges;
pub mod severity;

pub use load::{load_path, stream_path, stream_zip, LoadOptions, Loaded};
pub use model::Advisory;
use ranges::CompiledAffected;
pub use ranges::Probe;

/// An unreadable or invalid advisory source; names the file and, when known, the line.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}: {message}", if *line > 0 { format!("{}:{}", path.display(), line) } else { path.display().to_string() })]
pub struct OsvError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl OsvError {
    pub fn new(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            path,
            0,
            stormwatch_manifest::text::describe_io_error(path, err),
        )
    }
}

/// An advisory reduced to what matching and reporting need: ids, dates, a headline, the
/// computed severity and its PyPI ranges compiled. Serializable, so a database stores it
/// once at import and audits never re-read or re-score the full OSV record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompiledAdvisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub modified: Option<String>,
    /// When the advisory was first published: patch deadlines count from the earliest
    /// publication among a finding's aliases.
    pub published: Option<String>,
    pub withdrawn: bool,
    pub headline: String,
    pub severity: Severity,
    pub cvss: Option<CvssScore>,
    pub affected: Vec<CompiledAffected>,
}

impl CompiledAdvisory {
    pub fn new(advisory: Advisory) -> Self {
        Self::from_advisory(&advisory)
    }

    pub fn from_advisory(advisory: &Advisory) -> Self {
        let (severity, cvss) = severity::rate(advisory);
        Self {
            id: advisory.id.clone(),
            aliases: advisory.aliases.clone(),
            modified: advisory.modified.clone(),
            published: advisory.published.clone(),
            withdrawn: advisory.is_withdrawn(),
            headline: advisory.headline(),
            severity,
            cvss,
            affected: advisory
                .affected
                .iter()
                .filter_map(CompiledAffected::compile)
                .collect(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id and every alias.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// Whether `package` (normalized) at this version is affected. Withdrawn advisories
    /// affect nothing.
    pub fn affects(&self, package: &str, parsed: Option<&Version>, raw: &str) -> bool {
        self.affects_probe(package, &Probe::new(parsed, raw))
    }

    /// [`affects`](Self::affects) for a version prepared once for many checks.
    pub fn affects_probe(&self, package: &str, probe: &Probe) -> bool {
        !self.withdrawn
            && self
                .affected
                .iter()
                .any(|a| a.package == package && a.affects_probe(probe))
    }

    /// When `package` at `version` is affected through a range whose fix the record gives
    /// in a form that is not a PEP 440 version: that form, as written.
    pub fn unknown_fix(&self, package: &str, version: &Version) -> Option<&str> {
        self.affected
            .iter()
            .filter(|a| a.package == package)
            .find_map(|a| a.unknown_fix(version))
    }

    /// Every `fixed` version this advisory names for `package`, sorted.
    pub fn fixed_versions(&self, package: &str) -> Vec<Version> {
        let mut out: Vec<Version> = self
            .affected
            .iter()
            .filter(|a| a.package == package)
            .flat_map(|a| a.fixed_versions().into_iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn packages(&self) -> impl Iterator<Item = &str> {
        self.affected.iter().map(|a| a.package.as_str())
    }
}

/// Advisories indexed by normalized package name, so an audit touches only the advisories
/// of the packages it has.
#[derive(Debug, Default)]
pub struct AdvisorySet {
    items: Vec<Arc<CompiledAdvisory>>,
    by_id: HashMap<String, usize>,
    by_package: HashMap<String, Vec<usize>>,
}

impl AdvisorySet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an advisory. A second record with the same id replaces the first only if it
    /// was modified later, so the freshest data wins whatever the load order.
    pub fn insert(&mut self, advisory: Advisory) {
        self.insert_compiled(Arc::new(CompiledAdvisory::new(advisory)));
    }

    pub fn insert_compiled(&mut self, adv: Arc<CompiledAdvisory>) {
        if let Some(&i) = self.by_id.get(adv.id()) {
            let old = &self.items[i];
            if adv.modified.as_deref().unwrap_or("") > old.modified.as_deref().unwrap_or("") {
                for pkgs in self.by_package.values_mut() {
                    pkgs.retain(|&j| j != i);
                }
                self.index_packages(i, &adv);
                self.items[i] = adv;
            }
            return;
        }
        let i = self.items.len();
        self.by_id.insert(adv.id().to_string(), i);
        self.index_packages(i, &adv);
        self.items.push(adv);
    }

    fn index_packages(&mut self, i: usize, adv: &CompiledAdvisory) {
        let mut names: Vec<&str> = adv.packages().collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            self.by_package.entry(name.to_string()).or_default().push(i);
        }
    }

    pub fn extend(&mut self, advisories: impl IntoIterator<Item = Advisory>) {
        for a in advisories {
            self.insert(a);
        }
    }

    /// Every advisory that names `package` (normalized), withdrawn ones included.
    pub fn for_package(&self, package: &str) -> impl Iterator<Item = &Arc<CompiledAdvisory>> {
        self.by_package
            .get(package)
            .into_iter()
            .flatten()
            .map(|&i| &self.items[i])
    }

    pub fn get(&self, id: &str) -> Option<&Arc<CompiledAdvisory>> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<CompiledAdvisory>> {
        self.items.iter()
    }

    pub fn package_count(&self) -> usize {
        self.by_package.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adv(id: &str, modified: &str, fixed: &str) -> Advisory {
        serde_json::from_value(serde_json::json!({
            "id": id, "modified": modified,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Tornado"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
        }))
        .unwrap()
    }

    #[test]
    fn newest_record_wins_and_index_is_by_normalized_name() {
        let mut set = AdvisorySet::new();
        set.insert(adv("A", "2024-01-01", "6.0"));
        set.insert(adv("A", "2025-01-01", "6.1"));
        set.insert(adv("A", "2023-01-01", "5.0"));
        assert_eq!(set.len(), 1);
        let a: Vec<_> = set.for_package("tornado").collect();
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].fixed_versions("tornado"),
            vec!["6.1".parse::<Version>().unwrap()]
        );
        assert_eq!(
            set.for_package("Tornado").count(),
            0,
            "lookups take normalized names"
        );
    }

    #[test]
    fn withdrawn_never_affects() {
        let mut a = adv("W", "2024", "9.0");
        assert!(CompiledAdvisory::new(a.clone()).affects(
            "tornado",
            Some(&"1.0".parse().unwrap()),
            "1.0"
        ));
        a.withdrawn = Some("2024-02-02T00:00:00Z".into());
        assert!(!CompiledAdvisory::new(a).affects("tornado", Some(&"1.0".parse().unwrap()), "1.0"));
    }
}
