//! The Tornado advisories compiled into the binary, so that `stormwatch deps` works with no
//! database and no network. See `data/README.md` for how the file is maintained.

use serde::Deserialize;

use crate::model::Advisory;

const DATA: &str = include_str!("../data/tornado.json");

#[derive(Debug, Deserialize)]
pub struct Bundled {
    pub name: String,
    /// The date the set was last reviewed against the public advisory databases.
    pub as_of: String,
    pub description: String,
    pub advisories: Vec<Advisory>,
}

/// Parses the embedded data. The file is checked by this crate's tests, so failure here
/// would be a build defect, not user input.
pub fn bundled() -> Bundled {
    serde_json::from_str(DATA).expect("bundled advisory data is valid (checked by tests)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompiledAdvisory;
    use stormwatch_findings::Severity;

    #[test]
    fn bundled_data_is_valid_and_complete() {
        let b = bundled();
        assert!(b.advisories.len() >= 20);
        let mut ids = std::collections::HashSet::new();
        for a in &b.advisories {
            assert!(ids.insert(a.id.clone()), "duplicate id {}", a.id);
            let c = CompiledAdvisory::new(a.clone());
            assert_eq!(c.affected.len(), 1, "{}", a.id);
            assert_eq!(c.affected[0].package, "tornado");
            assert!(
                !c.fixed_versions("tornado").is_empty(),
                "{} has a fix",
                a.id
            );
            assert!(
                a.summary.as_deref().is_some_and(|s| s.len() > 20),
                "{}",
                a.id
            );
        }
        // GHSA-only advisories (no PYSEC record) fixed in 6.3.3, 6.4.1, 6.5.7, 6.5.8 and
        // 6.5.9, and the PYSEC id published later for one of 6.5.8's.
        for id in [
            "GHSA-qppv-j76h-2rpx",
            "GHSA-753j-mpmx-qq6g",
            "GHSA-w235-7p84-xx57",
            "GHSA-pw6j-qg29-8w7f",
            "PYSEC-2026-3928",
            "GHSA-8423-8fgw-73vq",
            "GHSA-wwv5-g3v4-889x",
            "GHSA-3hv7-mjh2-fv65",
            "GHSA-c2m8-h5v5-343r",
            "GHSA-chx6-46f5-w4vp",
        ] {
            assert!(ids.contains(id), "{id} missing");
        }
        let pysec = b.advisories.iter().find(|a| a.id == "PYSEC-2026-3928");
        assert!(pysec.is_some_and(|a| a.aliases == ["GHSA-mpf4-983q-p7j4"]));
        let symlinks = b
            .advisories
            .iter()
            .find(|a| a.id == "GHSA-c2m8-h5v5-343r")
            .map(|a| CompiledAdvisory::new(a.clone()))
            .unwrap();
        assert_eq!(symlinks.severity, Severity::High);
        assert_eq!(
            symlinks.fixed_versions("tornado"),
            ["6.5.9".parse().unwrap()]
        );
        let high = b
            .advisories
            .iter()
            .find(|a| a.id == "PYSEC-2026-140")
            .map(|a| CompiledAdvisory::new(a.clone()))
            .unwrap();
        assert_eq!(high.severity, Severity::High);
        assert_eq!(high.cvss.as_ref().unwrap().score, 7.5);
    }

    #[test]
    fn latest_release_is_clean_and_old_ones_are_not() {
        let b = bundled();
        let all: Vec<CompiledAdvisory> = b
            .advisories
            .into_iter()
            .map(CompiledAdvisory::new)
            .collect();
        let hits = |v: &str| {
            let parsed = v.parse().unwrap();
            all.iter()
                .filter(|a| a.affects("tornado", Some(&parsed), v))
                .count()
        };
        assert_eq!(hits("6.5.9"), 0);
        assert_eq!(hits("6.6.1"), 0);
        assert_eq!(hits("6.5.8"), 3);
        assert_eq!(hits("6.5.7"), 6);
        assert_eq!(hits("6.1"), 21, "all but the fixes in 2.2.1 and 3.2.2");
        assert_eq!(hits("2.2"), 23);
    }
}
