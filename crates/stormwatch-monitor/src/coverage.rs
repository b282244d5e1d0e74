//! What advisory data a run had. A finding that disappears because the data shrank (the
//! database missing, a partial import, a source dropped) is not resolved: a run whose data
//! covers less than the last recorded run's compares nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// `database`, `osv` (a collection read directly) or `bundled` (Tornado only).
    pub kind: String,
    /// Packages the database has advisories for (0 when not known).
    #[serde(default)]
    pub packages: usize,
    /// The sources the database was last updated from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

impl Coverage {
    /// Reads what [`Coverage::to_json`] wrote; anything else (an older state) is unknown,
    /// which compares as covering nothing.
    pub fn parse(json: &str) -> Coverage {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn rank(&self) -> u8 {
        match self.kind.as_str() {
            "bundled" => 1,
            "database" | "osv" => 2,
            _ => 0,
        }
    }

    /// Why this run's data covers less than `before`'s; empty when it does not.
    pub fn shortfall(&self, before: &Coverage) -> Vec<String> {
        let mut out = Vec::new();
        if self.rank() < before.rank() {
            out.push(format!(
                "the previous run used a {} and this one a {}",
                describe(&before.kind),
                describe(&self.kind)
            ));
            return out;
        }
        if self.kind == before.kind && self.packages < before.packages {
            out.push(format!(
                "the advisory data covers {} packages, the previous run's covered {}",
                self.packages, before.packages
            ));
        }
        let missing: Vec<&str> = before
            .sources
            .iter()
            .filter(|s| !self.sources.contains(s))
            .map(String::as_str)
            .collect();
        if self.kind == before.kind && !missing.is_empty() {
            out.push(format!(
                "source{} of the previous run missing: {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ));
        }
        out
    }
}

fn describe(kind: &str) -> &str {
    match kind {
        "database" => "advisory database",
        "osv" => "OSV collection",
        "bundled" => "bundled Tornado-only set",
        _ => "source of unknown coverage",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(packages: usize, sources: &[&str]) -> Coverage {
        Coverage {
            kind: "database".into(),
            packages,
            sources: sources.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn less_data_is_a_shortfall() {
        let full = db(100, &["a", "b"]);
        assert!(full.shortfall(&full).is_empty());
        assert!(db(120, &["a", "b", "c"]).shortfall(&full).is_empty());
        assert_eq!(db(99, &["a", "b"]).shortfall(&full).len(), 1);
        assert_eq!(db(100, &["a"]).shortfall(&full).len(), 1);
        let bundled = Coverage {
            kind: "bundled".into(),
            ..Default::default()
        };
        assert_eq!(bundled.shortfall(&full).len(), 1);
        assert!(full.shortfall(&Coverage::parse("not json")).is_empty());
        assert_eq!(Coverage::parse(&full.to_json()), full);
    }
}
