//! Installed environments as dependency inputs: `deps --site-packages` reads metadata
//! files only, and `deps --python` asks a real interpreter without running anything of the
//! repository or the environment.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

mod common;
use common::{json_of, sw};

/// A temporary directory holding `site-packages/` with tornado 6.3.1's metadata.
fn site_packages_with_tornado_631() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let sp = tmp.path().join("site-packages");
    fs::create_dir_all(sp.join("tornado-6.3.1.dist-info")).unwrap();
    fs::write(
        sp.join("tornado-6.3.1.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: tornado\nVersion: 6.3.1\n",
    )
    .unwrap();
    (tmp, sp)
}

#[test]
fn site_packages_and_python() {
    let (tmp, sp) = site_packages_with_tornado_631();
    let out = sw(tmp.path())
        .args(["deps", "--format", "json", "--site-packages"])
        .arg(&sp)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "PYSEC-2023-75"
            && f["version"] == "6.3.1"
            && f["location"]["line"] == 3));

    sw(tmp.path())
        .args(["deps", "--site-packages"])
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no installed distributions"));
}

/// `--python` with a real interpreter: a virtual environment with tornado 6.3.1 installed,
/// audited from a hostile repository. Nothing of the repository or the environment may
/// run: not a `json.py` or `sitecustomize.py` in the working directory or on PYTHONPATH,
/// not a PYTHONSTARTUP file, not a `.pth` file in the environment's site-packages.
#[test]
#[ignore = "needs python3 with venv (the Rust toolchain alone does not bring it); .ci/run runs it"]
fn python_flag_runs_nothing_of_the_repository_or_the_environment() {
    let (tmp, sp) = site_packages_with_tornado_631();
    let python = which("python3").expect("python3 not found: install it to run this test");
    let venv = tmp.path().join("venv");
    let made = std::process::Command::new(&python)
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "python3 -m venv failed: install venv to run this test"
    );
    let venv_sp = glob_one(&venv.join("lib"), "site-packages");
    copy_dir(
        &sp.join("tornado-6.3.1.dist-info"),
        &venv_sp.join("tornado-6.3.1.dist-info"),
    );
    let marker = tmp.path().join("ran");
    let payload = format!(
        "import pathlib; pathlib.Path({:?}).write_text('ran')\n",
        marker.display().to_string()
    );
    fs::write(
        venv_sp.join("evil.pth"),
        format!("import sys; exec({payload:?})\n"),
    )
    .unwrap();
    let repo = tmp.path().join("repo");
    fs::create_dir(&repo).unwrap();
    for name in [
        "json.py",
        "sitecustomize.py",
        "usercustomize.py",
        "startup.py",
        "os.py",
    ] {
        fs::write(repo.join(name), &payload).unwrap();
    }
    let out = sw(&repo)
        .env("PYTHONPATH", &repo)
        .env("PYTHONSTARTUP", repo.join("startup.py"))
        .env("PYTHONHOME", "/nonexistent")
        .args(["deps", "--format", "json", "--fail-on", "none", "--python"])
        .arg(venv.join("bin/python"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert!(
        !marker.exists(),
        "code from the repository or environment ran"
    );
    let v = json_of(&out);
    assert!(
        v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().contains("tornado-6.3.1.dist-info")),
        "{v}"
    );
    sw(tmp.path())
        .args(["deps", "--python", "/nonexistent/python"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot run interpreter"));
}

/// The one directory named `name` under `dir` (`lib/python3.X/site-packages`).
fn glob_one(dir: &Path, name: &str) -> PathBuf {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == name) {
            return path;
        }
        if path.is_dir() {
            let found = glob_one(&path, name);
            if found.exists() {
                return found;
            }
        }
    }
    dir.join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}
