//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A command isolated from the user's real database and state (a `fix` journal never goes
/// to the real home), run in `home`.
pub fn sw(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("STORMWATCH_DB", home.join("no-such.db"))
        .env(
            "STORMWATCH_STATE_DIR",
            std::env::temp_dir().join("stormwatch-tests-state"),
        )
        .env("NO_COLOR", "1")
        .current_dir(home);
    cmd
}

pub fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// The bundled example's files (tornado 6.1 pinned in requirements.txt line 3, a
/// Dockerfile passing --debug) copied under `dir`.
pub fn copy_example(dir: &Path) {
    let src = repo_root().join("examples/tornado-app");
    for rel in [
        "requirements.txt",
        "requirements-dev.txt",
        "pyproject.toml",
        "Dockerfile",
        "app/main.py",
        "app/__init__.py",
    ] {
        let to = dir.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(src.join(rel), to).unwrap();
    }
}

/// Microsoft's SARIF multitool: `$SARIF_MULTITOOL`, else `sarif-multitool` on `PATH`.
pub fn multitool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SARIF_MULTITOOL") {
        return Some(PathBuf::from(p));
    }
    let found = std::process::Command::new("sarif-multitool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then(|| PathBuf::from("sarif-multitool"))
}

pub fn validate_sarif(file: &Path, dir: &Path) {
    validate_sarif_except(file, dir, &[]);
}

/// As [`validate_sarif`], accepting the validator's advice `allowed` (rule ids).
pub fn validate_sarif_except(file: &Path, dir: &Path, allowed: &[&str]) {
    let v: Value = serde_json::from_str(&fs::read_to_string(file).unwrap()).unwrap();
    check_sarif_shape(&v);
    let Some(tool) = multitool() else {
        // Without Microsoft's validator (npm; .ci/run installs it and requires it), the
        // shape every SARIF consumer relies on is still checked above.
        assert!(
            std::env::var_os("STORMWATCH_REQUIRE_SARIF_VALIDATOR").is_none(),
            "the SARIF validator is required but not installed: set SARIF_MULTITOOL (see .ci/run)"
        );
        return;
    };
    let log = dir.join("validation.sarif");
    let status = std::process::Command::new(&tool)
        .arg("validate")
        .arg(file)
        .arg("-o")
        .arg(&log)
        .args(["--log", "ForceOverwrite"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let v: Value = serde_json::from_str(&fs::read_to_string(&log).unwrap()).unwrap();
    let problems: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            !allowed
                .iter()
                .any(|a| r["ruleId"].as_str().unwrap_or("").starts_with(a))
        })
        .map(|r| {
            format!(
                "{} {}: {}",
                r["level"].as_str().unwrap_or("warning"),
                r["ruleId"],
                r["message"]["text"].as_str().unwrap_or_default()
            )
        })
        .collect();
    // Errors break code scanning; warnings are the validator's advice, taken too.
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The parts of SARIF 2.1.0 that code-scanning consumers rely on, checked without the
/// validator: version, tool, rules, and each result's rule, level, message and location.
pub fn check_sarif_shape(v: &Value) {
    assert_eq!(v["version"], "2.1.0", "SARIF version");
    let runs = v["runs"].as_array().expect("runs is an array");
    assert!(!runs.is_empty(), "at least one run");
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert!(driver["name"].is_string(), "tool.driver.name: {driver}");
        let rules: Vec<&str> = driver["rules"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["id"].as_str()).collect())
            .unwrap_or_default();
        for result in run["results"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            assert!(
                result["message"]["text"].is_string() || result["message"]["id"].is_string(),
                "result without a message: {result}"
            );
            if let Some(level) = result.get("level") {
                assert!(
                    ["none", "note", "warning", "error"].contains(&level.as_str().unwrap_or("")),
                    "level {level}"
                );
            }
            if let Some(id) = result["ruleId"].as_str() {
                assert!(
                    rules.is_empty() || rules.contains(&id),
                    "ruleId {id} not among the driver's rules"
                );
            }
            for loc in result["locations"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let phys = &loc["physicalLocation"];
                if phys.is_null() {
                    continue;
                }
                let uri = phys["artifactLocation"]["uri"]
                    .as_str()
                    .expect("artifact uri");
                assert!(!uri.contains('\\'), "uri with a backslash: {uri}");
                if let Some(line) = phys["region"].get("startLine") {
                    assert!(line.as_u64().is_some_and(|l| l >= 1), "startLine {line}");
                }
            }
        }
    }
}
