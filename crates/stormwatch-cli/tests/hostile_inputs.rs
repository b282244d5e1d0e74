//! No input may make a command run unbounded: every command is run, from the built binary,
//! over a corpus of malformed files and must finish within a generous bound with a clear
//! result. The first of these inputs (a deployment YAML file that does not parse) used to
//! make `config` and `check` spin forever.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// Far above any real run on these inputs (milliseconds); only a hang reaches it.
const BOUND: Duration = Duration::from_secs(60);

fn sw(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(dir).timeout(BOUND);
    cmd
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

/// A repository whose every deployment and Python input is malformed in its own way, plus
/// one real finding so that the scan is seen to go on.
fn corpus(root: &Path) {
    // The original hang: Kubernetes-looking YAML with an unclosed `[`.
    write(
        root,
        "k8s/deploy.yaml",
        b"apiVersion: v1\nkind: Pod\nspec:\n  args: [\n",
    );
    // A Helm template that is not YAML even with its actions blanked.
    write(
        root,
        "chart/templates/pod.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Values.name }}\n",
    );
    write(root, "chart/values.yaml", b"env:\n  - name: [\n");
    write(
        root,
        "docker-compose.yml",
        b"services:\n  web:\n    environment: [\n",
    );
    write(
        root,
        "docker-compose.prod.yml",
        b"services:\n  web: *nowhere\n",
    );
    // An alias bomb.
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for w in ["a", "b", "c", "d", "e", "f", "g", "h", "i"].windows(2) {
        bomb.push_str(&format!(
            "{}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 9].join(",")
        ));
    }
    write(root, "k8s/bomb.yaml", bomb.as_bytes());
    write(
        root,
        "k8s/deep.yaml",
        format!("apiVersion: v1\nkind: Pod\nx: {}\n", "[".repeat(50_000)).as_bytes(),
    );
    write(
        root,
        "Dockerfile",
        b"FROM python\nCMD [\"python\", \"app.py\"\nENV \n",
    );
    write(root, "Procfile", b"web\n:\n");
    write(root, ".env", b"\xff\xfe\x00binary");
    write(
        root,
        "web.service",
        b"[Service]\nExecStart=python 'unbalanced\n",
    );
    write(root, "broken.py", b"def f(:\n");
    write(root, "latin.py", b"x = '\xe9'\n");
    write(
        root,
        "deep.py",
        format!("x = {}{}\n", "[".repeat(5_000), "]".repeat(5_000)).as_bytes(),
    );
    // Long operator chains are valid Python: parsed and walked without exhausting the stack.
    let chain = vec!["a"; 50_000].join(" + ");
    write(
        root,
        "chain.py",
        format!("x = {chain}\ny = {}z\n", "not ".repeat(20_000)).as_bytes(),
    );
    write(
        root,
        "requirements.txt",
        b"tornado==6.1\n-r requirements.txt\nnot a [valid line\n",
    );
    write(root, "pyproject.toml", b"[project\nname = \"x\"\n");
    write(
        root,
        "app.py",
        b"import tornado.web\napp = tornado.web.Application([], debug=True)\n",
    );
}

#[test]
fn every_command_finishes_on_malformed_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    corpus(&root);

    let out = sw(tmp.path())
        .args(["config", "repo", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "TW001" && f["path"] == "app.py"),
        "the scan went on past the malformed files: {findings:#?}"
    );
    let notices: Vec<(String, u64, String)> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| {
            let loc = n.get("location")?;
            Some((
                loc["file"].as_str()?.to_string(),
                loc["line"].as_u64()?,
                n["message"].as_str()?.to_string(),
            ))
        })
        .collect();
    let notice = |file: &str| {
        notices
            .iter()
            .find(|(f, _, _)| f == file)
            .unwrap_or_else(|| panic!("no notice for {file}: {notices:#?}"))
    };
    // Each unreadable file is named relative to the scanned directory, with its line.
    let (_, line, msg) = notice("k8s/deploy.yaml");
    assert!(*line >= 4 && msg.contains("invalid YAML"), "{line} {msg}");
    assert!(notice("chart/templates/pod.yaml")
        .2
        .contains("invalid YAML"));
    assert!(notice("chart/values.yaml").2.contains("invalid YAML"));
    assert!(notice("docker-compose.yml").2.contains("invalid YAML"));
    assert!(notice("docker-compose.prod.yml")
        .2
        .contains("unknown anchor"));
    assert!(notice("k8s/bomb.yaml").2.contains("aliases expand"));
    let deep = &notice("k8s/deep.yaml").2;
    assert!(
        deep.contains("nested deeper") || deep.contains("recursion limit"),
        "{deep}"
    );
    assert!(notice(".env").2.contains("binary"));
    let (_, line, msg) = notice("broken.py");
    assert_eq!(*line, 1);
    assert!(msg.contains("syntax error"), "{msg}");

    sw(tmp.path())
        .args(["check", "repo"])
        .assert()
        .code(predicate::in_iter([1, 2]));
    sw(tmp.path())
        .args(["deps", "repo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pyproject.toml:1: invalid TOML"));
    sw(tmp.path())
        .args(["config", "repo/k8s/deploy.yaml"])
        .assert()
        .code(0);
    sw(tmp.path()).args(["rules"]).assert().code(0);
    sw(tmp.path()).args(["explain", "TW001"]).assert().code(0);
    let db = tmp.path().join("db.sqlite");
    sw(tmp.path())
        .args(["db", "import", "repo/k8s"])
        .arg("--db")
        .arg(&db)
        .assert()
        .code(2);
}

#[test]
fn deployment_files_alone_are_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("ops");
    write(
        &root,
        "docker-compose.yml",
        b"services:\n  web:\n    environment:\n      APP_DEBUG: \"1\"\n",
    );
    let out = sw(tmp.path())
        .args(["config", "ops", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(
        v["inputs"][0]
            .as_str()
            .unwrap()
            .contains("1 deployment file"),
        "{v}"
    );
    sw(tmp.path()).args(["check", "ops"]).assert().code(0);
}
