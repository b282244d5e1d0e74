//! Rating an advisory: CVSS v4.0 and v3.x vectors are scored to a base score; without a
//! usable vector, the database's own label (`database_specific.severity`) is used;
//! otherwise the severity is unknown.

use std::str::FromStr;

use stormwatch_findings::{CvssScore, Severity};

use crate::model::{Advisory, SeverityEntry};

/// Preference when an advisory carries several vectors: the newest CVSS version.
fn rank(kind: &str) -> Option<u8> {
    match kind {
        "CVSS_V4" => Some(3),
        "CVSS_V3" => Some(2),
        "CVSS_V2" => Some(1),
        _ => None,
    }
}

/// Scores a CVSS vector string (`CVSS:3.1/AV:N/...`, `CVSS:4.0/...` or a bare v2 vector).
pub fn score_vector(vector: &str) -> Option<f64> {
    let cvss = cvss::Cvss::from_str(vector.trim()).ok()?;
    let score = cvss.score();
    score.is_finite().then_some(score)
}

/// The severity of an advisory and the vector it came from, if any.
pub fn rate(advisory: &Advisory) -> (Severity, Option<CvssScore>) {
    let mut entries: Vec<&SeverityEntry> = advisory.severity.iter().collect();
    for a in &advisory.affected {
        entries.extend(a.severity.iter());
    }
    entries.sort_by_key(|e| std::cmp::Reverse(rank(&e.kind)));
    for e in entries {
        if rank(&e.kind).is_none() {
            continue;
        }
        if let Some(score) = score_vector(&e.score) {
            return (
                Severity::from_cvss_score(score),
                Some(CvssScore {
                    kind: e.kind.clone(),
                    vector: e.score.trim().to_string(),
                    score,
                }),
            );
        }
    }
    let label = label_of(advisory.database_specific.as_ref()).or_else(|| {
        advisory
            .affected
            .iter()
            .find_map(|a| label_of(a.database_specific.as_ref()))
    });
    (label.unwrap_or(Severity::Unknown), None)
}

fn label_of(v: Option<&serde_json::Value>) -> Option<Severity> {
    v?.get("severity")?.as_str().and_then(Severity::from_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adv(yaml: &str) -> Advisory {
        serde_json::from_value(stormwatch_yaml::parse(yaml).documents[0].to_json()).unwrap()
    }

    #[test]
    fn cvss_v3_scores() {
        // Reference scores from the CVSS v3.1 calculator.
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
            Some(7.5)
        );
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        assert_eq!(
            score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            score_vector("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"),
            Some(3.7)
        );
        assert_eq!(score_vector("not a vector"), None);
    }

    #[test]
    fn cvss_v4_scores() {
        // Reference scores from the FIRST CVSS v4.0 calculator.
        assert_eq!(
            score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(
            score_vector("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"),
            Some(8.7)
        );
    }

    #[test]
    fn prefers_v4_then_label_then_unknown() {
        let a = adv(
            "id: X\nseverity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H\n\
             - type: CVSS_V4\n  score: CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N\n",
        );
        let (sev, cvss) = rate(&a);
        assert_eq!(sev, Severity::Critical);
        assert_eq!(cvss.unwrap().kind, "CVSS_V4");

        let b = adv("id: Y\ndatabase_specific:\n  severity: MODERATE\n");
        assert_eq!(rate(&b), (Severity::Medium, None));

        let c = adv("id: Z\nseverity:\n- type: CVSS_V3\n  score: garbage\n");
        assert_eq!(rate(&c), (Severity::Unknown, None));
    }
}
