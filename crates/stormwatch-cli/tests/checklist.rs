//! `stormwatch checklist` from the binary on small apps: every item holds (with evidence),
//! fails (with the finding), is accepted by the policy (with its reason and expiry) or cannot
//! be verified (and why); it never ticks what its own results contradict.

use std::fs;
use std::path::Path;

use serde_json::Value;

mod common;
use common::sw;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let to = dir.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::write(to, text).unwrap();
    }
}

/// The Markdown checklist (tool version replaced) and the JSON state of each item.
fn checklist(dir: &Path, code: i32) -> (String, Vec<(String, String)>) {
    let args = ["checklist", "--today", "2026-11-30"];
    let out = sw(dir)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    // The bundled advisory data changes with releases: its description is not the point.
    let text = String::from_utf8(out)
        .unwrap()
        .replace(env!("CARGO_PKG_VERSION"), "VERSION")
        .lines()
        .map(|l| match l.find(" audited against ") {
            Some(i) if l.starts_with("  - ") => format!("{} audited against [DATA]\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect::<String>();
    let out = sw(dir)
        .args(args)
        .args(["--format", "json"])
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let states = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["ok"], i["state"] == "holds", "{i}");
            (
                i["id"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (text, states)
}

fn state<'a>(states: &'a [(String, String)], id: &str) -> &'a str {
    &states.iter().find(|(i, _)| i == id).unwrap().1
}

const SAFE: &str = "import os\nimport tornado.web\n\napp = tornado.web.Application([], cookie_secret=os.environ[\"SECRET\"], xsrf_cookies=True)\n";

#[test]
fn debug_unticks_its_relatives() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(
        p,
        &[
            ("requirements.txt", "tornado==6.5.9\n"),
            ("Procfile", "web: python app.py\n"),
            (
                "app.py",
                "import os\nimport tornado.web\n\napp = tornado.web.Application([], debug=True, cookie_secret=os.environ[\"SECRET\"], xsrf_cookies=True)\n",
            ),
        ],
    );
    let (text, states) = checklist(p, 1);
    for id in ["debug-off", "autoreload-off", "no-tracebacks"] {
        assert_eq!(state(&states, id), "fails", "{id}\n{text}");
    }
    assert_eq!(state(&states, "cookie-secret"), "holds", "{text}");
    insta::assert_snapshot!("checklist_debug_on", text);
}

#[test]
fn a_suppressed_finding_is_accepted_not_ticked() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(
        p,
        &[
            ("requirements.txt", "tornado==6.5.9\n"),
            ("Procfile", "web: python app.py\n"),
            (
                "app.py",
                "import tornado.web\n\napp = tornado.web.Application([], cookie_secret=\"not-so-secret\", xsrf_cookies=True)\n",
            ),
            (
                "stormwatch.toml",
                "[[ignore]]\nid = \"TW009\"\nreason = \"rotated by the deploy job\"\nexpires = \"2027-01-31\"\n",
            ),
        ],
    );
    let (text, states) = checklist(p, 0);
    assert_eq!(state(&states, "cookie-secret"), "accepted", "{text}");
    assert!(text.contains("rotated by the deploy job"), "{text}");
    assert!(text.contains("2027-01-31"), "{text}");
    assert!(!text.contains("- [x] cookie_secret"), "{text}");
    insta::assert_snapshot!("checklist_accepted", text);
}

#[test]
fn nothing_to_decide_is_not_a_tick() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(p, &[("tool.py", "print('no web application here')\n")]);
    let (text, states) = checklist(p, 1);
    // Only "every input could be analysed" holds: the one Python file was read.
    for (id, s) in states.iter().filter(|(id, _)| id != "audit-complete") {
        assert_ne!(s, "holds", "{id} ticked with nothing to decide:\n{text}");
    }
    assert_eq!(state(&states, "debug-off"), "unverified", "{text}");
    insta::assert_snapshot!("checklist_nothing_to_decide", text);
}

#[test]
fn a_hardened_app_holds_with_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(
        p,
        &[
            ("requirements.txt", "tornado==6.5.9\n"),
            ("Procfile", "web: python app.py\n"),
            ("app.py", SAFE),
        ],
    );
    let (text, states) = checklist(p, 0);
    for (id, s) in &states {
        assert_eq!(s, "holds", "{id}:\n{text}");
    }
    assert!(text.contains("app.py:4"), "{text}");
}
