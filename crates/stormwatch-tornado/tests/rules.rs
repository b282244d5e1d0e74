//! One fixture directory per rule (`tests/fixtures/rules/ID/`): every finding in
//! `positive.py` is snapshotted, and `negative.py` must produce none.

use std::path::{Path, PathBuf};

use stormwatch_tornado::{audit, rules, Selection};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn run(file: &Path, rule: &str) -> Vec<String> {
    let result = audit(
        file,
        &Selection {
            select: vec![rule.to_string()],
            ..Selection::default()
        },
    );
    assert!(result.skipped.is_empty(), "{:?}", result.skipped);
    let mut out: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            assert_eq!(f.id, rule);
            format!(
                "{}:{} {} {}",
                f.location.line,
                f.location.column,
                f.severity,
                f.message()
            )
        })
        .collect();
    out.sort();
    out
}

/// Positive findings, then the negatives' info-level notes (environment switches that are
/// off by default are reported as info, never above).
fn check(rule: &str) -> Vec<String> {
    check_in(rule, &fixtures().join("rules").join(rule))
}

fn check_in(rule: &str, dir: &Path) -> Vec<String> {
    // A rule's fixture is a file, or a small project directory (deployment rules).
    let pick = |name: &str| {
        let file = dir.join(format!("{name}.py"));
        if file.exists() {
            file
        } else {
            dir.join(name)
        }
    };
    let negatives = run(&pick("negative"), rule);
    let wrong: Vec<&String> = negatives.iter().filter(|l| !l.contains(" info ")).collect();
    assert!(wrong.is_empty(), "{rule} false positives: {wrong:#?}");
    let positives = run(&pick("positive"), rule);
    assert!(!positives.is_empty(), "{rule} found nothing in positive.py");
    let mut out = positives;
    if !negatives.is_empty() {
        out.push("-- negative.py (info only) --".into());
        out.extend(negatives);
    }
    out
}

#[test]
fn every_rule_has_fixtures_and_docs() {
    for r in rules::ALL {
        assert!(
            fixtures().join("rules").join(r.id).is_dir(),
            "{} has no fixtures",
            r.id
        );
        for section in ["## What it catches", "## Why", "## Example", "## Fix"] {
            assert!(r.docs.contains(section), "{} docs lack {section}", r.id);
        }
    }
}

#[test]
fn tw001_debug() {
    let found = check("TW001");
    // One per value of positive.py (the DEBUG constant feeds two apps: one finding), then
    // the negatives' two info notes.
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 10, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw002_autoreload() {
    insta::assert_snapshot!(check("TW002").join("\n"));
}

#[test]
fn tw003_serve_traceback() {
    insta::assert_snapshot!(check("TW003").join("\n"));
}

#[test]
fn tw004_template_cache() {
    insta::assert_snapshot!(check("TW004").join("\n"));
}

#[test]
fn tw005_static_hash_cache() {
    insta::assert_snapshot!(check("TW005").join("\n"));
}

#[test]
fn tw006_autoreload_call() {
    let found = check("TW006");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 3, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

/// `autoreload.start()` in a `__main__` block is a finding only when a deployment file runs
/// that script (here a Procfile and `python -m`).
#[test]
fn tw006_main_block_started_by_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import tornado.autoreload\n\nif __name__ == \"__main__\":\n    tornado.autoreload.start()\n";
    std::fs::write(dir.path().join("server.py"), script).unwrap();
    std::fs::write(dir.path().join("tool.py"), script).unwrap();
    std::fs::create_dir(dir.path().join("svc")).unwrap();
    std::fs::write(dir.path().join("svc/__init__.py"), "").unwrap();
    std::fs::write(dir.path().join("svc/__main__.py"), script).unwrap();
    std::fs::write(
        dir.path().join("Procfile"),
        "web: python server.py --port=$PORT\nworker: python -m svc\n",
    )
    .unwrap();
    let mut found: Vec<(String, String)> = audit(
        dir.path(),
        &Selection {
            select: vec!["TW006".into()],
            ..Selection::default()
        },
    )
    .findings
    .into_iter()
    .map(|f| (f.location.file, f.severity.to_string()))
    .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("server.py".to_string(), "medium".to_string()),
            ("svc/__main__.py".to_string(), "medium".to_string())
        ]
    );
}

#[test]
fn tw007_write_error() {
    let found = check("TW007");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 7, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw008_xsrf() {
    let found = check("TW008");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 12, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

/// Handlers, mixins and route tables in other modules (bases re-exported by a package).
#[test]
fn tw008_xsrf_across_modules() {
    let found = check_in("TW008", &fixtures().join("rules/TW008/modules"));
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 2, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

/// `xsrf_cookies` written into the settings after construction, in another module.
#[test]
fn tw008_xsrf_set_after_construction() {
    let found = check_in("TW008", &fixtures().join("rules/TW008/late"));
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 1, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw009_cookie_secret() {
    let found = check("TW009");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 8, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw010_check_origin() {
    let found = check("TW010");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 5, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw011_autoescape() {
    let found = check("TW011");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 2, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw012_cookie_flags() {
    let found = check("TW012");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 9, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw013_debug_logging() {
    let found = check("TW013");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 6, "{found:#?}");
    assert_eq!(
        found.len(),
        8,
        "one info note for the conditional call: {found:#?}"
    );
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw014_xheaders() {
    let found = check("TW014");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 2, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw101_deploy_debug_flag() {
    let found = check("TW101");
    assert_eq!(found.len(), 2, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw102_deploy_debug_env() {
    let found = check("TW102");
    assert_eq!(found.len(), 2, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw103_deploy_logging_flag() {
    let found = check("TW103");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 1, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw009_secret_shared_with_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::create_dir(p.join("tests")).unwrap();
    std::fs::write(
        p.join("app.py"),
        "import tornado.web\napp = tornado.web.Application([], cookie_secret='s3cr3t-value-that-is-long-enough-1234')\n",
    )
    .unwrap();
    std::fs::write(
        p.join("tests/test_app.py"),
        "SECRET = 's3cr3t-value-that-is-long-enough-1234'\n",
    )
    .unwrap();
    let result = audit(p, &Selection::default());
    let f = result.findings.iter().find(|f| f.id == "TW009").unwrap();
    assert!(
        f.message().contains("appears in tests/test_app.py"),
        "{}",
        f.message()
    );
}

#[test]
fn latin1_file_with_a_coding_declaration_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path();
    std::fs::write(
        p.join("app.py"),
        b"# -*- coding: latin-1 -*-\nimport tornado.web\nGREETING = 'caf\xe9'\napp = tornado.web.Application([], debug=True)\n",
    )
    .unwrap();
    std::fs::write(p.join("other.py"), b"x = '\xe9'\n").unwrap();
    let result = audit(p, &Selection::default());
    assert!(result
        .findings
        .iter()
        .any(|f| f.id == "TW001" && f.location.line == 4));
    assert_eq!(
        result.skipped.len(),
        1,
        "only the undeclared file: {:?}",
        result.skipped
    );
    assert!(result.skipped[0].message.contains("UTF-8"));
}

/// Root logger at DEBUG while Tornado's own logger is set above it (as mitmproxy does): the
/// request logs stay quiet, so it is not a finding; without that line it is.
#[test]
fn tw013_root_debug_with_tornado_logger_quieted() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = "import logging\n\ndef main():\n    logging.getLogger().setLevel(logging.DEBUG)\n    logging.getLogger(\"tornado\").setLevel(logging.WARNING)\n";
    let loud = "import logging\n\ndef main():\n    logging.getLogger().setLevel(logging.DEBUG)\n";
    std::fs::write(dir.path().join("quiet.py"), quiet).unwrap();
    std::fs::write(dir.path().join("loud.py"), loud).unwrap();
    let found: Vec<String> = audit(
        dir.path(),
        &Selection {
            select: vec!["TW013".into()],
            ..Selection::default()
        },
    )
    .findings
    .into_iter()
    .map(|f| format!("{} {}", f.location.file, f.severity))
    .collect();
    assert_eq!(found, ["loud.py medium"]);
}

#[test]
fn tw015_remote_debugger() {
    let found = check("TW015");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 12, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}

#[test]
fn tw104_deploy_debugger() {
    let found = check("TW104");
    let positives = found.iter().take_while(|l| !l.starts_with("--")).count();
    assert_eq!(positives, 5, "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
}
