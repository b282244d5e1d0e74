//! The files users put in their pipelines, read and run as the pipeline would: the GitHub
//! Action's steps (`action.yml`) and the pre-commit hooks (`.pre-commit-hooks.yaml`), with
//! the binary under test on `PATH`.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
#[path = "common/server.rs"]
mod server;
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
        // `if: inputs.NAME == 'true'` steps run only when asked (the tests are offline).
        if let Some(name) = step["if"]
            .as_str()
            .and_then(|c| c.strip_prefix("inputs."))
            .and_then(|c| c.strip_suffix(" == 'true'"))
        {
            if input(name) != "true" {
                continue;
            }
        }
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
    let (code, summary, log) = run_action(p, &[("update-db", "false")]);
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
    let (code, _, log) = run_action(
        tmp.path(),
        &[
            ("fail-on", "none"),
            ("format", "junit"),
            ("update-db", "false"),
        ],
    );
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

/// A project pinning shoplib 1.0, an OSV directory as its policy's advisory source (no
/// network), and an https webhook receiver on 127.0.0.1 (its CA trusted via SSL_CERT_FILE:
/// webhook URLs must be https).
struct Monitored {
    dir: tempfile::TempDir,
    hook: server::Server,
    tls: server::Tls,
}

impl Monitored {
    fn new() -> Monitored {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("shop");
        fs::create_dir_all(project.join("osv")).unwrap();
        fs::write(project.join("requirements.txt"), "shoplib==1.0\n").unwrap();
        fs::write(
            project.join("stormwatch.toml"),
            "[advisories]\nsources = [\"osv\"]\n",
        )
        .unwrap();
        let tls = server::Tls::new(dir.path());
        let hook = server::Server::start(Some(&tls), |_| server::Reply::status(200));
        let m = Monitored { dir, hook, tls };
        m.advisory("SHOP-1");
        m
    }

    fn project(&self) -> std::path::PathBuf {
        self.dir.path().join("shop")
    }

    fn advisory(&self, id: &str) {
        fs::write(
            self.project().join(format!("osv/{id}.json")),
            format!(r#"{{"id":"{id}","modified":"2026-10-01T00:00:00Z","affected":[{{"package":{{"name":"shoplib","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"2.0"}}]}}]}}],"database_specific":{{"severity":"HIGH"}}}}"#),
        )
        .unwrap();
    }

    /// Runs `script` twice (a new advisory between the runs) as the scheduler would, with
    /// `subst` applied; the second run must alert through the receiver.
    fn runs_and_alerts(
        &self,
        what: &str,
        script: &str,
        subst: &[(&str, String)],
        env: &[(String, String)],
    ) {
        let mut script = script.to_string();
        for (from, to) in subst {
            script = script.replace(from, to);
        }
        let run = || {
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(&script)
                .current_dir(self.project())
                .env("PATH", path_with_binary())
                .env("STORMWATCH_DB", self.dir.path().join("data/advisories.db"))
                .env("STORMWATCH_STATE", self.dir.path().join("data/monitor.db"))
                .env("SSL_CERT_FILE", &self.tls.ca_pem)
                .env_remove("HTTPS_PROXY")
                .env_remove("HTTP_PROXY");
            for (k, v) in env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{what}: {script}\n{out:?}");
        };
        let before = self.hook.requests().len();
        run();
        assert_eq!(
            self.hook.requests().len(),
            before,
            "{what}: the first run records only"
        );
        self.advisory(&format!("SHOP-{}", before + 2));
        run();
        let sent = self.hook.requests();
        assert_eq!(sent.len(), before + 1, "{what}: {sent:?}");
        // The next file starts from scratch.
        let _ = fs::remove_dir_all(self.dir.path().join("data"));
    }
}

/// The scheduling files in docs/ and ci/ run the monitor as written: the crontab line, the
/// systemd service (and `systemd-analyze verify` of both units where systemd is present),
/// the GitHub workflow's monitor step, the GitLab schedule job.
#[test]
fn scheduling_files_run_the_monitor() {
    let m = Monitored::new();
    let project = m.project().display().to_string();
    let hook = format!("{}/hook", m.hook.url);

    // crontab: the job line after the five time fields.
    let crontab = fs::read_to_string(repo_root().join("docs/monitoring/crontab")).unwrap();
    let line = crontab
        .lines()
        .find(|l| !l.starts_with('#') && !l.contains('=') && !l.trim().is_empty())
        .unwrap();
    let command: String = line
        .split_whitespace()
        .skip(5)
        .collect::<Vec<_>>()
        .join(" ");
    let log = m.dir.path().join("monitor.log").display().to_string();
    m.runs_and_alerts(
        "crontab",
        &command,
        &[
            ("/srv/shop", project.clone()),
            ("https://alerts.example.com/hooks/stormwatch", hook.clone()),
            ("/var/log/stormwatch/monitor.log", log.clone()),
        ],
        &[],
    );
    assert!(
        fs::read_to_string(&log).unwrap().contains("new"),
        "the log holds the events"
    );

    // systemd: ExecStart in WorkingDirectory with the unit's Environment.
    let unit =
        fs::read_to_string(repo_root().join("docs/monitoring/stormwatch-monitor.service")).unwrap();
    let value = |key: &str| -> Vec<String> {
        unit.lines()
            .filter_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
            .collect()
    };
    let bin = env!("CARGO_BIN_EXE_stormwatch").to_string();
    let state = m.dir.path().join("data").display().to_string();
    let subst = [
        ("/usr/local/bin/stormwatch", bin.clone()),
        ("/var/lib/stormwatch", state.clone()),
        ("/srv/shop", project.clone()),
    ];
    let apply = |s: &str| {
        subst
            .iter()
            .fold(s.to_string(), |acc, (f, t)| acc.replace(f, t))
    };
    assert_eq!(value("WorkingDirectory"), ["/srv/shop"]);
    let env: Vec<(String, String)> = value("Environment")
        .iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap();
            (k.to_string(), apply(v))
        })
        .collect();
    let mut with_hook = apply(&value("ExecStart")[0]);
    with_hook.push_str(&format!(" --webhook {hook}"));
    m.runs_and_alerts("systemd", &with_hook, &[], &env);
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok()
    {
        let units = tempfile::tempdir().unwrap();
        for name in ["stormwatch-monitor.service", "stormwatch-monitor.timer"] {
            let text = fs::read_to_string(repo_root().join("docs/monitoring").join(name)).unwrap();
            fs::write(
                units.path().join(name),
                apply(&text).replace("/srv/shop", "/tmp"),
            )
            .unwrap();
        }
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(units.path().join("stormwatch-monitor.service"))
            .arg(units.path().join("stormwatch-monitor.timer"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("stormwatch-monitor"),
            "systemd-analyze verify: {err}"
        );
    }

    // GitHub: the monitor step of the scheduled workflow, which also uses the action.
    let wf = yaml("docs/integrations/github-monitor.yml");
    let job = &wf["jobs"]["stormwatch"];
    let steps = job["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("stormwatch-dev/stormwatch@"))));
    assert!(wf["on"]["schedule"][0]["cron"].is_string());
    let step = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("stormwatch monitor"))
        })
        .unwrap();
    let workspace = m.dir.path().join("gh").display().to_string();
    let expand = |s: &str| s.replace("${{ github.workspace }}", &workspace);
    let mut env: Vec<(String, String)> = job["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), expand(v.as_str().unwrap())))
        .collect();
    env.push(("SLACK_WEBHOOK_URL".into(), hook.clone()));
    m.runs_and_alerts("github", step["run"].as_str().unwrap(), &[], &env);

    // GitLab: the schedule job's script, without the install.
    let gitlab = yaml("ci/stormwatch.gitlab-ci.yml");
    let job = &gitlab["stormwatch-monitor"];
    assert!(job["rules"][0]["if"].as_str().unwrap().contains("schedule"));
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .filter(|l| !l.contains("pip install"))
        .collect();
    let ci_dir = m.dir.path().join("ci").display().to_string();
    let mut env: Vec<(String, String)> = job["variables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().unwrap().replace("$CI_PROJECT_DIR", &ci_dir),
            )
        })
        .collect();
    env.retain(|(k, _)| k != "STORMWATCH_MONITOR_ARGS");
    env.push((
        "STORMWATCH_MONITOR_ARGS".into(),
        format!("--webhook {hook}"),
    ));
    m.runs_and_alerts("gitlab", &script.join("\n"), &[], &env);
}
