//! SARIF 2.1.0, as GitHub code scanning accepts it: one rule per advisory or rule id (with
//! help, the `security` tag and `security-severity`), one result per alias group and
//! location at the line of the pin in each manifest, `partialFingerprints` from the stable
//! fingerprint, and suppressed findings as SARIF `suppressions`.

use std::collections::BTreeMap;
use std::io::Write as _;

use serde_json::{json, Map, Value};
use stormwatch_findings::{Detail, Finding, Report, Severity, SuppressionKind, UnknownSeverity};

use crate::{Context, Emitter};

pub struct Sarif;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of the stable fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "stormwatch/v1";

impl Emitter for Sarif {
    fn emit(
        &self,
        report: &Report,
        ctx: &Context,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let doc = sarif(report, ctx);
        let mut buf = std::io::BufWriter::with_capacity(64 * 1024, out);
        serde_json::to_writer_pretty(&mut buf, &doc).map_err(std::io::Error::other)?;
        buf.write_all(b"\n")?;
        buf.flush()
    }
}

/// The score GitHub ranks an alert by: the CVSS base score when there is one, else a score
/// in the middle of the severity's band.
fn security_severity(f: &Finding, ctx: &Context) -> Option<f64> {
    if let Detail::Dependency(d) = &f.detail {
        if let Some(c) = &d.cvss {
            return Some(c.score);
        }
    }
    band(f.severity, ctx)
}

fn band(severity: Severity, ctx: &Context) -> Option<f64> {
    match severity {
        Severity::Critical => Some(9.5),
        Severity::High => Some(8.0),
        Severity::Medium => Some(5.5),
        Severity::Low => Some(2.0),
        Severity::Info => None,
        Severity::Unknown => match ctx.gate.unknown {
            UnknownSeverity::As(s) => band(s, ctx),
            UnknownSeverity::Fail => Some(8.0),
            UnknownSeverity::Ignore => None,
        },
    }
}

fn level(f: &Finding, ctx: &Context) -> &'static str {
    if f.severity == Severity::Info {
        "note"
    } else if ctx.gate.fails(f) {
        "error"
    } else {
        "warning"
    }
}

/// A repository-relative URI reference for a path as the audit printed it: forward
/// slashes, percent-encoded where a URI needs it; absolute paths become `file://` URIs.
pub fn uri(path: &str) -> String {
    // A probe's location is already an absolute URL.
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

struct RuleEntry {
    index: usize,
    kind: &'static str,
    descriptor: Map<String, Value>,
    score: Option<f64>,
}

fn rule_descriptor(f: &Finding, ctx: &Context) -> Map<String, Value> {
    let mut rule = Map::new();
    rule.insert("id".into(), json!(f.id));
    match (&f.detail, ctx.rule(&f.id)) {
        (Detail::Dependency(d), _) => {
            let title = if d.summary.is_empty() {
                format!("Vulnerability in {}", d.package)
            } else {
                d.summary.clone()
            };
            let aliases = if d.aliases.is_empty() {
                String::new()
            } else {
                format!(" Also known as {}.", d.aliases.join(", "))
            };
            let link = format!("https://osv.dev/vulnerability/{}", f.id);
            rule.insert(
                "name".into(),
                json!(format!("VulnerableDependency/{}", f.id)),
            );
            rule.insert("shortDescription".into(), json!({ "text": title }));
            rule.insert(
                "fullDescription".into(),
                json!({ "text": format!("{title} (advisory {} for {}).{aliases}", f.id, d.package) }),
            );
            rule.insert("helpUri".into(), json!(link));
            rule.insert(
                "help".into(),
                json!({
                    "text": format!("{title}.{aliases} Upgrade {} to a version the advisory does not affect; see {link}.", d.package),
                    "markdown": format!("**{title}**\n\nAdvisory [{}]({link}) affects `{}`.{aliases}\n\nUpgrade to a version no advisory affects: `stormwatch deps` names the smallest one.", f.id, d.package),
                }),
            );
        }
        (_, Some(info)) => {
            rule.insert("name".into(), json!(info.name));
            rule.insert("shortDescription".into(), json!({ "text": info.summary }));
            rule.insert("fullDescription".into(), json!({ "text": info.summary }));
            rule.insert(
                "help".into(),
                json!({
                    "text": format!("{}. Run `stormwatch explain {}` for the details.", info.summary, info.id),
                    "markdown": info.docs,
                }),
            );
        }
        (_, None) => {
            rule.insert("shortDescription".into(), json!({ "text": f.id }));
        }
    }
    rule
}

/// The SARIF log for `report`.
pub fn sarif(report: &Report, ctx: &Context) -> Value {
    let mut rules: BTreeMap<&str, RuleEntry> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    let mut results = Vec::with_capacity(report.findings.len());
    for f in crate::ordered(report) {
        let score = security_severity(f, ctx);
        let entry = rules.entry(f.id.as_str()).or_insert_with(|| {
            order.push(f.id.as_str());
            RuleEntry {
                index: order.len() - 1,
                descriptor: rule_descriptor(f, ctx),
                kind: match f.detail {
                    Detail::Config(_) => "configuration",
                    Detail::Probe(_) => "live-service",
                    _ => "dependency",
                },
                score: None,
            }
        });
        // A rule ranks as its worst result in this run (a rule whose only hits are in test
        // code ranks low).
        entry.score = match (entry.score, score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        results.push(result(f, entry.index, ctx));
    }
    let rules: Vec<Value> = order
        .iter()
        .map(|id| {
            let entry = &rules[id];
            let mut descriptor = entry.descriptor.clone();
            let mut props = Map::new();
            props.insert("tags".into(), json!(["security", entry.kind]));
            if let Some(score) = entry.score {
                props.insert("security-severity".into(), json!(format!("{score:.1}")));
            }
            descriptor.insert("properties".into(), Value::Object(props));
            Value::Object(descriptor)
        })
        .collect();
    let version = report
        .tool
        .strip_prefix("stormwatch ")
        .unwrap_or(&report.tool);
    // What the audit did not cover leads the notifications.
    let coverage = report.coverage.iter().map(|c| {
        json!({
            "level": "warning",
            "message": { "text": format!("coverage: {c}") },
        })
    });
    let notifications: Vec<Value> = coverage
        .chain(report.incomplete.iter().map(|n| {
            let mut v = json!({
                "level": "warning",
                "message": { "text": format!("not fully analysed: {}", n.message) },
            });
            if let Some(l) = &n.location {
                v["locations"] = json!([physical(&l.file, l.line, 0)]);
            }
            v
        }))
        .chain(report.inline_suppressions.iter().map(|i| {
            // What the scanned code asked to hide, honoured or not, at its comment.
            json!({
                "level": "note",
                "message": { "text": format!(
                    "inline suppression ignore[{}] ({}): {}",
                    i.ids.join(","),
                    i.outcome.as_str(),
                    i.reason
                ) },
                "locations": [physical(&i.location.file, i.location.line, 0)],
            })
        }))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stormwatch",
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "version": version,
                    "semanticVersion": version,
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }]
    })
}

fn physical(file: &str, line: usize, column: usize) -> Value {
    let mut location = json!({
        "physicalLocation": { "artifactLocation": { "uri": uri(file) } }
    });
    if line > 0 {
        let mut region = json!({ "startLine": line });
        if column > 0 {
            region["startColumn"] = json!(column);
        }
        location["physicalLocation"]["region"] = region;
    }
    location
}

fn result(f: &Finding, rule_index: usize, ctx: &Context) -> Value {
    let mut r = json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f, ctx),
        "message": { "text": f.message() },
        "locations": [physical(&f.location.file, f.location.line, f.location.column)],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
    });
    let mut props = Map::new();
    props.insert("severity".into(), json!(f.severity.as_str()));
    match &f.detail {
        Detail::Dependency(d) => {
            props.insert("package".into(), json!(d.package));
            props.insert("installedVersion".into(), json!(d.version));
            props.insert("fixedVersions".into(), json!(d.fixed_versions));
            if !d.aliases.is_empty() {
                props.insert("aliases".into(), json!(d.aliases));
            }
        }
        Detail::Unpinned(u) => {
            props.insert("package".into(), json!(u.package));
            props.insert("advisories".into(), json!(u.ids));
        }
        Detail::Unauditable(u) => {
            props.insert("package".into(), json!(u.package));
        }
        Detail::Config(_) => {}
        Detail::Probe(p) => {
            props.insert("rule".into(), json!(p.rule));
            props.insert("request".into(), json!(p.request));
            if let Some(e) = &p.evidence {
                props.insert("evidence".into(), json!(e));
            }
            if let Some(d) = &p.vulnerability {
                props.insert("package".into(), json!(d.package));
                props.insert("servedVersion".into(), json!(d.version));
                props.insert("fixedVersions".into(), json!(d.fixed_versions));
            }
        }
    }
    if let Some(due) = &f.due {
        props.insert("due".into(), json!(due));
        props.insert("overdue".into(), json!(f.overdue));
    }
    if let Some(owner) = &f.owner {
        props.insert("owner".into(), json!(owner));
    }
    r["properties"] = Value::Object(props);
    if let Some(s) = &f.suppression {
        let kind = match s.kind {
            SuppressionKind::Inline => "inSource",
            SuppressionKind::Policy | SuppressionKind::Baseline => "external",
        };
        // An expired ignore no longer suppresses: SARIF's "rejected" says so.
        let status = if s.expired { "rejected" } else { "accepted" };
        r["suppressions"] = json!([{
            "kind": kind,
            "status": status,
            "justification": format!("{}: {}", s.kind.as_str(), s.reason),
        }]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn ctx() -> Context<'static> {
        Context {
            rules: sample::RULES,
            ..Context::default()
        }
    }

    #[test]
    fn results_carry_rules_lines_fingerprints_and_suppressions() {
        let report = sample::report();
        let doc = sarif(&report, &ctx());
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), report.findings.len());
        for r in results {
            let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(rule["id"], r["ruleId"]);
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            if uri.starts_with("https://") {
                // A probe finding: the request's URL, no region, the request in properties.
                assert_eq!(uri, "https://app.example/stormwatch-probe-1");
                assert_eq!(r["properties"]["request"]["status"], 404);
                continue;
            }
            assert!(
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
                    > 1
            );
            assert_eq!(
                r["partialFingerprints"][FINGERPRINT_KEY]
                    .as_str()
                    .unwrap()
                    .len(),
                32
            );
        }
        let critical = rules
            .iter()
            .find(|r| r["id"] == "GHSA-aaaa-bbbb-cccc")
            .unwrap();
        assert_eq!(critical["properties"]["security-severity"], "9.8");
        assert_eq!(critical["properties"]["tags"][0], "security");
        assert_eq!(
            critical["helpUri"],
            "https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc"
        );
        let tw001 = rules.iter().find(|r| r["id"] == "TW001").unwrap();
        assert!(tw001["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("What it catches"));
        let suppressed = results.iter().find(|r| r["ruleId"] == "TW001").unwrap();
        assert_eq!(suppressed["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            suppressed["suppressions"][0]["justification"],
            "inline: local demo only"
        );
        let pin = results
            .iter()
            .find(|r| r["ruleId"] == "PYSEC-2026-140")
            .unwrap();
        assert_eq!(pin["level"], "error");
        assert_eq!(pin["properties"]["owner"], "@web-platform");
        let unauditable = results.iter().find(|r| r["ruleId"] == "TW202").unwrap();
        assert_eq!(unauditable["level"], "note");
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(uri("./app/main.py"), "app/main.py");
        assert_eq!(uri("dir with space/req.txt"), "dir%20with%20space/req.txt");
        assert_eq!(uri("/srv/app/x.py"), "file:///srv/app/x.py");
        assert_eq!(uri("a\\b.py"), "a/b.py");
    }
}
