//! Which version to move to: the smallest one no known advisory of the package affects
//! (all of its advisories at once), above the installed one, within the allowed bump.

use std::sync::Arc;

use pep440_rs::Version;
use stormwatch_osv::CompiledAdvisory;

/// How far an upgrade may go from the installed version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MaxBump {
    /// Same major and minor.
    Patch,
    /// Same major.
    Minor,
    /// Anything.
    Major,
}

impl std::str::FromStr for MaxBump {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "patch" => Ok(MaxBump::Patch),
            "minor" => Ok(MaxBump::Minor),
            "major" => Ok(MaxBump::Major),
            other => Err(format!("`{other}`: expected patch, minor or major")),
        }
    }
}

/// What to aim for among the safe versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The smallest safe version (the least change).
    Smallest,
    /// The largest safe version.
    LatestSafe,
}

/// A release that could be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub version: Version,
    /// Withdrawn by its publisher: never chosen.
    pub yanked: bool,
    /// The project's Python is outside its `Requires-Python`: never chosen.
    pub python_incompatible: bool,
}

impl Candidate {
    pub fn new(version: Version) -> Candidate {
        Candidate {
            version,
            yanked: false,
            python_incompatible: false,
        }
    }
}

/// Why no version was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoChoice {
    /// Every known release above the installed one is affected.
    NoSafeVersion,
    /// Safe versions exist, only beyond `--max-bump`; the smallest is given.
    Capped { smallest: Version },
}

impl std::fmt::Display for NoChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoChoice::NoSafeVersion => f.write_str("no known release is free of the advisories"),
            NoChoice::Capped { smallest } => write!(
                f,
                "the smallest safe version, {smallest}, is beyond --max-bump"
            ),
        }
    }
}

fn within(bump: MaxBump, from: &Version, to: &Version) -> bool {
    let part = |v: &Version, i: usize| v.release().get(i).copied().unwrap_or(0);
    match bump {
        MaxBump::Major => true,
        MaxBump::Minor => part(from, 0) == part(to, 0),
        MaxBump::Patch => part(from, 0) == part(to, 0) && part(from, 1) == part(to, 1),
    }
}

/// Whether any of the advisories affects `version` of `package`.
pub fn affected(package: &str, version: &Version, advisories: &[Arc<CompiledAdvisory>]) -> bool {
    let raw = version.to_string();
    advisories
        .iter()
        .filter(|a| !a.withdrawn)
        .any(|a| a.affects(package, Some(version), &raw))
}

/// The versions the advisory data names: every fixed version (real releases).
pub fn advisory_candidates(package: &str, advisories: &[Arc<CompiledAdvisory>]) -> Vec<Candidate> {
    let mut versions: Vec<Version> = advisories
        .iter()
        .flat_map(|a| a.fixed_versions(package))
        .collect();
    versions.sort();
    versions.dedup();
    versions.into_iter().map(Candidate::new).collect()
}

/// The version to move `package` from `current` to.
pub fn choose(
    package: &str,
    current: &Version,
    advisories: &[Arc<CompiledAdvisory>],
    candidates: &[Candidate],
    bump: MaxBump,
    target: Target,
) -> Result<Version, NoChoice> {
    // Pre-releases only for a project already on one.
    let allow_pre = current.any_prerelease();
    let mut safe: Vec<&Version> = candidates
        .iter()
        .filter(|c| !c.yanked && !c.python_incompatible)
        .map(|c| &c.version)
        .filter(|v| *v > current && (allow_pre || !v.any_prerelease()))
        .filter(|v| !affected(package, v, advisories))
        .collect();
    safe.sort();
    safe.dedup();
    let Some(smallest) = safe.first() else {
        return Err(NoChoice::NoSafeVersion);
    };
    let allowed: Vec<&&Version> = safe.iter().filter(|v| within(bump, current, v)).collect();
    let pick = match target {
        Target::Smallest => allowed.first(),
        Target::LatestSafe => allowed.last(),
    };
    pick.map(|v| (**v).clone()).ok_or(NoChoice::Capped {
        smallest: (*smallest).clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    fn adv(json: &str) -> Arc<CompiledAdvisory> {
        let a: stormwatch_osv::Advisory = serde_json::from_str(json).unwrap();
        Arc::new(CompiledAdvisory::new(a))
    }

    fn range(id: &str, introduced: &str, fixed: &str) -> Arc<CompiledAdvisory> {
        adv(&format!(
            r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","affected":[{{"package":{{"name":"lib","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"{introduced}"}},{{"fixed":"{fixed}"}}]}}]}}]}}"#
        ))
    }

    fn cands(list: &[&str]) -> Vec<Candidate> {
        list.iter().map(|s| Candidate::new(v(s))).collect()
    }

    #[test]
    fn smallest_version_free_of_every_advisory() {
        // A is fixed in 1.2.3 and 2.0.1; B (introduced in 1.2.3) in 1.2.5: 1.2.3 clears A
        // only, 1.2.5 clears both.
        let advs = vec![range("A", "0", "1.2.3"), range("B", "1.2.3", "1.2.5")];
        let c = cands(&["1.2.0", "1.2.3", "1.2.4", "1.2.5", "1.3.0", "2.0.0"]);
        let pick = |bump, target| choose("lib", &v("1.2.0"), &advs, &c, bump, target);
        assert_eq!(pick(MaxBump::Major, Target::Smallest), Ok(v("1.2.5")));
        assert_eq!(pick(MaxBump::Patch, Target::Smallest), Ok(v("1.2.5")));
        assert_eq!(pick(MaxBump::Major, Target::LatestSafe), Ok(v("2.0.0")));
        assert_eq!(pick(MaxBump::Minor, Target::LatestSafe), Ok(v("1.3.0")));
        let capped = choose(
            "lib",
            &v("0.9"),
            &advs,
            &c,
            MaxBump::Patch,
            Target::Smallest,
        );
        assert_eq!(
            capped,
            Err(NoChoice::Capped {
                smallest: v("1.2.5")
            })
        );
        let none = choose(
            "lib",
            &v("1.2.0"),
            &[range("C", "0", "9")],
            &c,
            MaxBump::Major,
            Target::Smallest,
        );
        assert_eq!(none, Err(NoChoice::NoSafeVersion));
    }

    #[test]
    fn yanked_incompatible_and_pre_releases_are_skipped() {
        let advs = vec![range("A", "0", "1.1")];
        let mut c = cands(&["1.1", "1.2a1", "1.2", "1.3"]);
        c[0].yanked = true;
        c[2].python_incompatible = true;
        assert_eq!(
            choose(
                "lib",
                &v("1.0"),
                &advs,
                &c,
                MaxBump::Major,
                Target::Smallest
            ),
            Ok(v("1.3"))
        );
        assert_eq!(
            choose(
                "lib",
                &v("1.0rc1"),
                &advs,
                &c,
                MaxBump::Major,
                Target::Smallest
            ),
            Ok(v("1.2a1"))
        );
    }
}
