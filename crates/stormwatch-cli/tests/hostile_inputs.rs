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

#[path = "hostile_inputs/advisories.rs"]
mod advisories;
#[path = "hostile_inputs/cost.rs"]
mod cost;

/// Far above any real run on these inputs (milliseconds); only a hang reaches it.
const BOUND: Duration = Duration::from_secs(60);

fn sw(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("NO_COLOR", "1").current_dir(dir).timeout(BOUND);
    cmd
}

/// Runs a command that prints JSON, checks its exit code and returns the report.
fn json_report(dir: &Path, args: &[&str], code: i32) -> Value {
    let out = sw(dir)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
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
    // Operator chains CPython compiles are parsed and walked; past its limit (about 3,000
    // levels) a file is refused before parsing, as CPython refuses it.
    let chain = vec!["a"; 2_900].join(" + ");
    write(
        root,
        "chain.py",
        format!(
            "x = {chain}\ny = {}z\nimport tornado.web\nw = tornado.web.Application([], autoreload=True)\n",
            "not ".repeat(2_900)
        )
        .as_bytes(),
    );
    write(
        root,
        "too_deep.py",
        format!(
            "x = {}\ny = a{}\n",
            vec!["a"; 50_000].join(" + "),
            "()".repeat(10_000)
        )
        .as_bytes(),
    );
    write(
        root,
        "unary.py",
        format!("x = {}1\n", "-".repeat(400_000)).as_bytes(),
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

    let v = json_report(tmp.path(), &["config", "repo", "--format", "json"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["id"] == "TW001" && f["location"]["file"] == "repo/app.py"),
        "the scan went on past the malformed files: {findings:#?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["id"] == "TW002" && f["location"]["file"] == "repo/chain.py"),
        "a file with long (valid) operator chains is analysed: {findings:#?}"
    );
    let notices: Vec<(String, u64, String)> = v["incomplete"]
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
        let file = format!("repo/{file}");
        notices
            .iter()
            .find(|(f, _, _)| *f == file)
            .unwrap_or_else(|| panic!("no notice for {file}: {notices:#?}"))
    };
    // Each unreadable file is named as the findings are (the scanned directory in front), with
    // its line.
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
    for file in ["too_deep.py", "unary.py"] {
        let (_, line, msg) = notice(file);
        assert_eq!(*line, 1);
        assert!(msg.contains("nested more than 3000 levels"), "{msg}");
    }

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
    let v = json_report(tmp.path(), &["config", "ops", "--format", "json"], 0);
    assert!(
        v["inputs"][0]
            .as_str()
            .unwrap()
            .contains("1 deployment file"),
        "{v}"
    );
    sw(tmp.path()).args(["check", "ops"]).assert().code(0);
}

/// Scanned repositories are untrusted: an include, or a symbolic link named like an input,
/// that leads out of the scanned tree is not read, its content is never echoed, and the audit
/// says it is incomplete.
#[test]
fn inputs_outside_the_scanned_tree_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.txt");
    fs::write(&secret, "root:x:0:0:TOPSECRET:/root:/bin/bash\n").unwrap();
    let repo = tmp.path().join("repo");
    write(
        &repo,
        "requirements.txt",
        format!("tornado==6.1\n-r {}\n-r ../secret.txt\n", secret.display()).as_bytes(),
    );
    let out = sw(tmp.path())
        .args(["deps", "repo", "--format", "json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("TOPSECRET"), "{text}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let incomplete = v["incomplete"].to_string();
    assert!(incomplete.contains("requirements.txt"), "{incomplete}");
    assert!(
        incomplete.contains("outside the scanned directory"),
        "{incomplete}"
    );
    assert_eq!(v["incomplete"].as_array().unwrap().len(), 2);
    sw(tmp.path())
        .args(["deps", "repo", "--strict"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("audit incomplete"));

    #[cfg(unix)]
    {
        let linked = tmp.path().join("linked");
        fs::create_dir(&linked).unwrap();
        std::os::unix::fs::symlink(&secret, linked.join("requirements.txt")).unwrap();
        let out = sw(tmp.path())
            .args(["deps", "linked"])
            .assert()
            .code(0)
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("TOPSECRET"), "{stdout}");
        assert!(stdout.contains("symbolic link to a file outside the scanned directory"));
        assert!(
            stdout.contains("audit incomplete: 1 input not fully analysed"),
            "{stdout}"
        );
    }
}

/// A FIFO or a device named like an input would block or never end: it is refused, never
/// read, whether found in a directory, named on the command line or reached by a link.
#[cfg(unix)]
#[test]
fn fifos_and_devices_are_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    write(&repo, "requirements-base.txt", b"tornado==6.1\n");
    let fifo = repo.join("requirements.txt");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(status.is_ok_and(|s| s.success()), "mkfifo failed");
    std::os::unix::fs::symlink("/dev/zero", repo.join("constraints.txt")).unwrap();
    let v = json_report(tmp.path(), &["deps", "repo", "--format", "json"], 1);
    let incomplete = v["incomplete"].to_string();
    assert!(incomplete.contains("requirements.txt"), "{incomplete}");
    assert!(incomplete.contains("constraints.txt"), "{incomplete}");
    assert!(incomplete.contains("not a regular file"), "{incomplete}");
    sw(tmp.path())
        .args(["deps", "repo/requirements.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a regular file"));
    write(&repo, "app.py", b"import tornado.web\n");
    write(
        &repo,
        "docker-compose.yml",
        b"services:\n  web:\n    env_file: fifo.env\n",
    );
    std::process::Command::new("mkfifo")
        .arg(repo.join("fifo.env"))
        .status()
        .unwrap();
    std::process::Command::new("mkfifo")
        .arg(repo.join("settings.py"))
        .status()
        .unwrap();
    sw(tmp.path()).args(["config", "repo"]).assert().code(0);
}

/// Parser faults in dependencies are errors with the file and line, never a panic.
#[test]
fn requirement_names_that_panic_pep508_rs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // The last two were found by the `requirements` fuzz target.
    for (i, line) in ["a-=1", "a.>=2", "a_ ==1", "x-", "y[tbz-", "a[b_, c]==1"]
        .iter()
        .enumerate()
    {
        let name = format!("requirements-{i}.txt");
        write(
            tmp.path(),
            &name,
            format!("tornado==6.1\n{line}\n").as_bytes(),
        );
        sw(tmp.path())
            .arg("deps")
            .arg(&name)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{name}:2: invalid requirement"
            )))
            .stderr(predicate::str::contains("panicked").not());
    }
}

/// Terminal escape sequences in scanned files are shown escaped, never obeyed.
#[test]
fn control_characters_from_scanned_files_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "requirements.txt",
        b"tornado==6.1\n\x1b]0;pwned\x07\x1b[2J evil\n",
    );
    let out = sw(tmp.path())
        .arg("deps")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}]0;pwned\\u{7}"), "{stderr}");

    write(
        tmp.path(),
        "app.py",
        "import os, tornado.web\napp = tornado.web.Application([], debug=os.environ.get(\"X\u{1b}[8m\u{202e}\", \"1\"))\n"
            .as_bytes(),
    );
    let out = sw(tmp.path())
        .arg("config")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
        "{stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}[8m\\u{202e}"), "{stdout}");
}

/// pip splits lines as Python does: a file with CR-only line endings is several lines.
#[test]
fn requirements_with_cr_line_endings_are_read_line_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "requirements.txt",
        b"# pinned\rtornado==6.1\rrequests==2.31.0\r",
    );
    let v = json_report(tmp.path(), &["deps", "--format", "json"], 1);
    assert_eq!(v["summary"]["packages"], 2, "{v}");
    assert_eq!(v["findings"][0]["location"]["line"], 2, "{v}");
}

/// Work stays bounded: long include chains stop at a depth limit with a message, and many
/// applications in one file are analysed in linear time (this used to be quadratic).
#[test]
fn include_chains_and_many_applications_stay_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..5_000 {
        write(
            tmp.path(),
            &format!("r/requirements-{i}.txt"),
            format!("-r requirements-{}.txt\n", i + 1).as_bytes(),
        );
    }
    write(tmp.path(), "r/requirements-5000.txt", b"tornado==6.1\n");
    sw(tmp.path())
        .args(["deps", "r/requirements-0.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "includes nested more than 64 files deep",
        ));

    let mut app = String::from("import os, tornado.web\n");
    for i in 0..20_000 {
        app.push_str(&format!(
            "a{i} = tornado.web.Application([], debug=os.environ.get(\"D{i}\", \"\"))\n"
        ));
    }
    write(tmp.path(), "apps/app.py", app.as_bytes());
    let v = json_report(tmp.path(), &["config", "apps", "--format", "json"], 0);
    assert_eq!(v["findings"].as_array().unwrap().len(), 20_000);
}

/// Found by the `pyproject` fuzz target: this document makes `toml_edit` panic inside its
/// parser. It is an invalid file, reported with its path, never a crash.
/// The second (`-2`), from the ten-minute repeat, panics at another `expect` of the same
/// recovery path (an existing value without a span).
#[test]
fn toml_that_panics_the_parser_is_an_invalid_file() {
    for name in [
        "pyproject-toml-edit-panic.toml",
        "pyproject-toml-edit-panic-2.toml",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let crash = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz")
            .join(name);
        fs::copy(&crash, tmp.path().join("pyproject.toml")).unwrap();
        sw(tmp.path())
            .args(["deps", "pyproject.toml"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("pyproject.toml: invalid TOML"));
    }
}

#[test]
fn a_closed_standard_output_is_not_an_error() {
    // `stormwatch rules | head -1`: the reader goes away; printing the rest must neither
    // panic nor turn into exit 2.
    for args in [&["rules"][..], &["explain", "TW001"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stormwatch"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
