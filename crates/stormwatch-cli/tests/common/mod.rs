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

/// A command isolated from the user's real database, run in `home`.
pub fn sw(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stormwatch").unwrap();
    cmd.env("STORMWATCH_DB", home.join("no-such.db"))
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
