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

/// Options filled from `APP_*` variables in a loop: the compose file's `APP_DEBUG` decides
/// `debug`; a loop whose prefix cannot be read leaves it unverified, with the place.
#[test]
fn options_from_prefixed_environment_variables() {
    let app = |naming: &str| {
        format!(
            "import os\nimport tornado.web\nfrom tornado.options import define, options\n{naming}\n\
define('debug', default=False)\n\n\
for k, v in os.environ.items():\n    if k.startswith('APP_'):\n        setattr(options, k[4:].lower(), v)\n\n\
app = tornado.web.Application([], debug=options.debug, cookie_secret=os.environ['S'], xsrf_cookies=True)\n"
        )
    };
    let compose = "services:\n  web:\n    build: .\n    command: python app.py\n    environment:\n      APP_DEBUG: \"true\"\n";
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    write(
        p,
        &[
            ("requirements.txt", "tornado==6.5.9\n"),
            ("docker-compose.yml", compose),
            ("app.py", &app("")),
        ],
    );
    let (text, states) = checklist(p, 1);
    assert_eq!(state(&states, "debug-off"), "fails", "{text}");
    assert!(text.contains("TW102"), "{text}");

    // The name is computed by a function the analysis cannot read.
    let odd = app("from naming import option_name\n")
        .replace("k[4:].lower()", "option_name(k)")
        .replace(
            "    if k.startswith('APP_'):\n        setattr",
            "    setattr",
        );
    write(p, &[("app.py", &odd)]);
    let (text, states) = checklist(p, 1);
    assert_eq!(state(&states, "debug-off"), "unverified", "{text}");
    assert!(
        text.contains("could not determine `debug`") && text.contains("by a prefix"),
        "{text}"
    );
}
