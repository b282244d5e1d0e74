//! Every output format from the built binary on a real example project: JSON against the
//! published schema, SARIF through Microsoft's SARIF validator (when installed; `.ci/run`
//! installs it) with fingerprints that survive inserted lines, JUnit parsed back, Markdown
//! and GitHub annotations, and `--output` written whole.

use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;
use common::{copy_example, repo_root, sw, validate_sarif};

/// The bundled example plus a finding suppressed inline, in a scratch directory.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(&tmp.path().join("repo"));
    fs::write(
        tmp.path().join("repo/app/demo.py"),
        "import tornado.web\n\n\
         demo = tornado.web.Application([], serve_traceback=True)  # stormwatch: ignore[TW003] local demo only\n",
    )
    .unwrap();
    tmp
}

fn run(home: &Path, args: &[&str]) -> (i32, String) {
    let out = sw(home).args(args).output().unwrap();
    assert!(
        out.stderr.is_empty() || out.status.code() != Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(repo_root().join("docs/report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

#[test]
fn json_reports_match_the_published_schema() {
    let tmp = project();
    let validator = schema();
    for args in [
        &["check", "repo", "--format", "json"][..],
        &["deps", "repo", "--format", "json"],
        &["config", "repo", "--format", "json"],
        &[
            "config",
            "repo/app",
            "--format",
            "json",
            "--env",
            "development",
        ],
    ] {
        let (code, out) = run(tmp.path(), args);
        assert!(code == 0 || code == 1, "{args:?}: exit {code}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&v)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
    }
    // The schema is not vacuous: a report missing a fingerprint is refused.
    let (_, out) = run(tmp.path(), &["check", "repo", "--format", "json"]);
    let mut v: Value = serde_json::from_str(&out).unwrap();
    v["findings"][0]
        .as_object_mut()
        .unwrap()
        .remove("fingerprint");
    assert!(!validator.is_valid(&v));
    v["findings"][0]["fingerprint"] = Value::from("x");
    assert!(!validator.is_valid(&v));
}

fn sarif(home: &Path) -> (Value, String) {
    let (code, out) = run(home, &["check", "repo", "--format", "sarif"]);
    assert_eq!(code, 1);
    (serde_json::from_str(&out).unwrap(), out)
}

fn fingerprints_and_lines(v: &Value) -> Vec<(String, String, u64)> {
    let mut out: Vec<(String, String, u64)> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0]["physicalLocation"];
            (
                r["partialFingerprints"]["stormwatch/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                loc["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn sarif_is_valid_with_real_lines_and_stable_fingerprints() {
    let tmp = project();
    let (v, text) = sarif(tmp.path());
    let file = tmp.path().join("report.sarif");
    fs::write(&file, &text).unwrap();
    validate_sarif(&file, tmp.path());

    let run = &v["runs"][0];
    let results = run["results"].as_array().unwrap();
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let pin = results
        .iter()
        .find(|r| r["ruleId"] == "PYSEC-2023-75")
        .unwrap();
    let loc = &pin["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "repo/requirements.txt");
    assert_eq!(loc["region"]["startLine"], 3, "the pin's own line");
    let rule = &rules[pin["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "PYSEC-2023-75");
    assert_eq!(rule["properties"]["tags"][0], "security");
    assert!(rule["properties"]["security-severity"].is_string());
    let suppressed = results.iter().find(|r| r["ruleId"] == "TW003").unwrap();
    assert_eq!(suppressed["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        suppressed["suppressions"][0]["justification"],
        "inline: local demo only"
    );
    let range = results.iter().find(|r| r["ruleId"] == "TW201").unwrap();
    assert_eq!(
        range["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "repo/pyproject.toml"
    );

    // Lines inserted above every finding move them, and change no fingerprint.
    let before = fingerprints_and_lines(&v);
    for rel in [
        "requirements.txt",
        "pyproject.toml",
        "app/main.py",
        "Dockerfile",
        "app/demo.py",
    ] {
        let path = tmp.path().join("repo").join(rel);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, format!("# one\n# two\n{text}")).unwrap();
    }
    let after = fingerprints_and_lines(&sarif(tmp.path()).0);
    assert_eq!(before.len(), after.len());
    let prints = |l: &[(String, String, u64)]| l.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(prints(&before), prints(&after));
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.2, b.2 + 2, "{} moved by the two inserted lines", b.1);
    }
}

#[test]
fn junit_parses_back_with_one_case_per_finding() {
    let tmp = project();
    let (_, json) = run(tmp.path(), &["check", "repo", "--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let findings = v["findings"].as_array().unwrap();
    for (threshold, expected_failures) in [
        (
            "high",
            findings
                .iter()
                .filter(|f| {
                    f["suppression"].is_null()
                        && matches!(
                            f["severity"].as_str(),
                            Some("high" | "critical" | "unknown")
                        )
                })
                .count(),
        ),
        ("none", 0),
    ] {
        let (code, xml) = run(
            tmp.path(),
            &["check", "repo", "--format", "junit", "--fail-on", threshold],
        );
        assert_eq!(code, i32::from(expected_failures > 0), "{threshold}");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(
            cases.len(),
            findings.len() + 1,
            "one per finding, and the inputs"
        );
        let failures = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        assert_eq!(failures, expected_failures, "{threshold}");
        let skipped = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("skipped")))
            .count();
        assert_eq!(skipped, 1, "the suppressed finding");
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(
            suite.attribute("failures"),
            Some(expected_failures.to_string().as_str())
        );
    }
}

#[test]
fn markdown_github_and_output_file() {
    let tmp = project();
    let (code, md) = run(tmp.path(), &["check", "repo", "--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(md.starts_with("## stormwatch"), "{md}");
    assert!(md.contains("| high | tornado 6.1 |"), "{md}");
    assert!(
        md.contains("<details><summary>1 suppressed</summary>"),
        "{md}"
    );

    let (_, gh) = run(tmp.path(), &["check", "repo", "--format", "github"]);
    let errors = gh.lines().filter(|l| l.starts_with("::error ")).count();
    assert_eq!(errors, 10, "capped at GitHub's per-step limit:\n{gh}");
    assert!(
        gh.contains("::error file=repo/requirements.txt,line=3,"),
        "{gh}"
    );
    assert!(gh.contains("more findings not annotated"), "{gh}");

    let out = tmp.path().join("reports/out.sarif");
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    fs::write(&out, "old").unwrap();
    sw(tmp.path())
        .args([
            "check",
            "repo",
            "--format",
            "sarif",
            "--output",
            "reports/out.sarif",
        ])
        .assert()
        .code(1)
        .stdout("");
    let written: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["version"], "2.1.0");
    let leftovers: Vec<_> = fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    // A directory that cannot be written is an error naming the file (exit 2).
    sw(tmp.path())
        .args([
            "check",
            "repo",
            "--format",
            "json",
            "--output",
            "no/such/dir/out.json",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no/such/dir/out.json"));
}
