//! A project in a temporary directory for the `fix` tests: files, an OSV directory of
//! advisories, the user's state directory; `fix` run from the binary against them.
#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::common::sw;

pub fn advisory(id: &str, package: &str, introduced: &str, fixed: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2026-10-01T00:00:00Z","affected":[{{"package":{{"name":"{package}","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"{introduced}"}},{{"fixed":"{fixed}"}}]}}]}}],"database_specific":{{"severity":"HIGH"}}}}"#
    )
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// Advisories: shoplib < 1.5 (and 1.5 itself by SHOP-2 up to 1.5.1), authlib < 2.0,
    /// nofix (every version).
    pub fn new(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let osv = dir.path().join("osv");
        fs::create_dir_all(&osv).unwrap();
        for (id, json) in [
            ("SHOP-1", advisory("SHOP-1", "shoplib", "0", "1.5")),
            ("SHOP-2", advisory("SHOP-2", "shoplib", "1.5", "1.5.1")),
            ("AUTH-1", advisory("AUTH-1", "authlib", "0", "2.0")),
            (
                "NOFIX-1",
                advisory("NOFIX-1", "nofix", "0", "99.0").replace(r#",{"fixed":"99.0"}"#, ""),
            ),
        ] {
            fs::write(osv.join(format!("{id}.json")), json).unwrap();
        }
        let p = Project { dir };
        for (rel, text) in files {
            p.write(rel, text);
        }
        p
    }

    /// The user's state directory (the fix journal), kept inside the test's directory.
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.root().join(rel)).unwrap()
    }

    pub fn fix(&self, args: &[&str]) -> std::process::Output {
        sw(self.dir.path())
            .env("STORMWATCH_STATE_DIR", self.state())
            .arg("fix")
            .arg(self.root())
            .arg("--db")
            .arg(self.dir.path().join("osv"))
            .arg("--no-bundled")
            .args(args)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    }

    /// Every file under the project, as bytes (the journal directory left out).
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.ends_with(".stormwatch") || p.ends_with(".git") {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(bytes)?;
            c.wait_with_output()
        })
        .unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}
