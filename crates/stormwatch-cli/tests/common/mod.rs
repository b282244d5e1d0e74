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
    let Some(tool) = multitool() else {
        // A green run must mean the schema was checked: skipping is asked for explicitly.
        let skip = std::env::var("STORMWATCH_SKIP_SARIF_VALIDATOR").is_ok_and(|v| v == "1")
            && std::env::var_os("STORMWATCH_REQUIRE_SARIF_VALIDATOR").is_none();
        assert!(
            skip,
            "the SARIF validator is not installed: set SARIF_MULTITOOL (see .ci/run), or \
             STORMWATCH_SKIP_SARIF_VALIDATOR=1 to skip schema validation"
        );
        eprintln!("skipped (STORMWATCH_SKIP_SARIF_VALIDATOR=1): SARIF schema validation");
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
