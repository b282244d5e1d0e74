//! The files users put in their pipelines, read and run as the pipeline would: the GitHub
//! Action's steps (`action.yml`) and the pre-commit hooks (`.pre-commit-hooks.yaml`), with
//! the binary under test on `PATH`.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{copy_example, repo_root};

fn yaml(rel: &str) -> Value {
    let text = fs::read_to_string(repo_root().join(rel)).unwrap();
    let docs = stormwatch_yaml::parse(&text);
    assert!(docs.error.is_none(), "{rel}: {:?}", docs.error);
    docs.documents[0].to_json()
}

fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_example(tmp.path());
    tmp
}

/// `PATH` with the binary under test first.
fn path_with_binary() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_stormwatch"))
        .parent()
        .unwrap()
        .to_path_buf();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// Runs the action's `run:` steps as GitHub would (`${{ inputs.* }}` from `inputs` or the
/// defaults, step outputs from `$GITHUB_OUTPUT`); returns the exit code of the last step
/// that ran and the step summary.
fn run_action(dir: &Path, inputs: &[(&str, &str)]) -> (i32, String, Vec<String>) {
    let action = yaml("action.yml");
    let declared = action["inputs"].as_object().unwrap();
    for (name, _) in inputs {
        assert!(declared.contains_key(*name), "no input {name}");
    }
    let input = |name: &str| -> String {
        inputs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| {
                declared[name]["default"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
    };
    let output = dir.join("github-output");
    let summary = dir.join("github-summary");
    fs::write(&summary, "").unwrap();
    let mut ran = Vec::new();
    let mut last = 0;
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            continue; // `uses:` steps (setup-python, upload-sarif) are GitHub's own.
        };
        fs::write(&output, "").unwrap();
        let outputs = fs::read_to_string(dir.join("all-outputs")).unwrap_or_default();
        let expand = |text: &str| -> String {
            let mut out = text.to_string();
            while let Some(start) = out.find("${{") {
                let end = out[start..].find("}}").unwrap() + start + 2;
                let expr = out[start + 3..end - 2].trim().to_string();
                let value = if let Some(name) = expr.strip_prefix("inputs.") {
                    input(name)
                } else if let Some(rest) = expr.strip_prefix("steps.check.outputs.") {
                    outputs
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{rest}=")))
                        .unwrap_or_default()
                        .to_string()
                } else {
                    panic!("unexpected expression {expr}")
                };
                out.replace_range(start..end, &value);
            }
            out
        };
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(expand(script))
            .current_dir(dir)
            .env("PATH", path_with_binary())
            .env("STORMWATCH_DB", dir.join("no-such.db"))
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary);
        if let Some(env) = step["env"].as_object() {
            for (k, v) in env {
                cmd.env(k, expand(v.as_str().unwrap()));
            }
        }
        let out = cmd.output().unwrap();
        last = out.status.code().unwrap_or(-1);
        ran.push(format!(
            "{}: exit {last}\n{}{}",
            step["name"].as_str().unwrap_or("?"),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        let mut all = outputs.clone();
        all.push_str(&fs::read_to_string(&output).unwrap());
        fs::write(dir.join("all-outputs"), all).unwrap();
        if last != 0 {
            break;
        }
    }
    (last, fs::read_to_string(&summary).unwrap(), ran)
}

#[test]
fn github_action_runs_the_gate_and_writes_its_reports() {
    let tmp = project();
    let p = tmp.path();
    let (code, summary, log) = run_action(p, &[]);
    assert_eq!(code, 1, "the example fails the default gate:\n{log:#?}");
    assert!(
        log.last().unwrap().contains("findings fail the gate"),
        "{log:#?}"
    );
    assert!(summary.starts_with("## stormwatch"), "{summary}");
    let sarif: Value =
        serde_json::from_str(&fs::read_to_string(p.join("stormwatch.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(p.join("stormwatch-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["version"], 2);
    assert!(
        log.iter()
            .any(|l| l.contains("::error file=requirements.txt,line=3")),
        "{log:#?}"
    );

    let tmp = project();
    let (code, _, log) = run_action(tmp.path(), &[("fail-on", "none"), ("format", "junit")]);
    assert_eq!(code, 0, "{log:#?}");
    assert!(tmp.path().join("stormwatch-report.junit").exists());
}

#[test]
fn pre_commit_hooks_run_offline() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["stormwatch-deps", "stormwatch-config"]);
    let tmp = project();
    for hook in hooks {
        assert_eq!(hook["language"], "python");
        assert_eq!(hook["pass_filenames"], false);
        let entry: Vec<&str> = hook["entry"].as_str().unwrap().split_whitespace().collect();
        assert_eq!(entry[0], "stormwatch");
        let out = Command::new(env!("CARGO_BIN_EXE_stormwatch"))
            .args(&entry[1..])
            .current_dir(tmp.path())
            .env("STORMWATCH_DB", tmp.path().join("no-such.db"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        // The example has findings: the hook fails the commit, and says why.
        assert_eq!(out.status.code(), Some(1), "{}: {out:?}", ids[0]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("tornado") || stdout.contains("TW101"),
            "{stdout}"
        );
    }
}

#[test]
fn gitlab_template_and_example_workflows() {
    let gitlab = yaml("ci/stormwatch.gitlab-ci.yml");
    let job = &gitlab["stormwatch"];
    assert_eq!(job["artifacts"]["reports"]["junit"], "stormwatch-junit.xml");
    // The script as GitLab runs it (one shell, line by line), without the install.
    let lines: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .filter(|l| !l.contains("pip install"))
        .collect();
    let tmp = project();
    let mut cmd = Command::new("bash");
    cmd.arg("-e")
        .arg("-c")
        .arg(lines.join("\n"))
        .current_dir(tmp.path())
        .env("PATH", path_with_binary())
        .env("STORMWATCH_DB", tmp.path().join("no-such.db"));
    for (k, v) in job["variables"].as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let junit = fs::read_to_string(tmp.path().join("stormwatch-junit.xml")).unwrap();
    assert!(roxmltree::Document::parse(&junit).is_ok());
    assert!(tmp.path().join("stormwatch.sarif").exists());

    for rel in [
        "docs/integrations/github-pull-request.yml",
        "docs/integrations/github-daily.yml",
    ] {
        let wf = yaml(rel);
        let steps = wf["jobs"]["stormwatch"]["steps"].as_array().unwrap();
        assert!(
            steps.iter().any(|s| s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("stormwatch-dev/stormwatch@"))),
            "{rel}"
        );
        assert_eq!(wf["permissions"]["security-events"], "write", "{rel}");
    }
}
