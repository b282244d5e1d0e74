//! A realistic multi-module application (handlers, a settings module, options defined in one
//! module and overridden by a Python config file, an Application subclass, a suppressed dev
//! server): the full set of findings and the chain behind each.

use std::path::Path;

use stormwatch_tornado::{audit, Selection};

#[test]
fn full_findings_and_chains() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multi-module-app");
    let result = audit(&root, &Selection::default());
    assert_eq!(result.files, 11);
    assert!(result.skipped.is_empty());
    let rendered: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            let mut s = format!(
                "{} {} {}:{}:{} {}",
                f.id,
                f.severity,
                f.location.file,
                f.location.line,
                f.location.column,
                f.message()
            );
            if let Some(r) = &f.suppression {
                s.push_str(&format!(" [suppressed: {}]", r.reason));
            }
            for step in f.trace() {
                s.push_str(&format!(
                    "\n    {}:{} {}",
                    step.location.file, step.location.line, step.note
                ));
            }
            s
        })
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));

    assert_eq!(result.deployment_files.len(), 8);
    let ids: Vec<&str> = result.findings.iter().map(|f| f.id.as_str()).collect();
    let production_debug = result
        .findings
        .iter()
        .filter(|f| f.id == "TW001" && f.severity > stormwatch_findings::Severity::Info)
        .count();
    assert_eq!(production_debug, 2);
    // Deployment: the Dockerfile's --autoreload, compose's APP_ENV=staging, k8s --logging=debug;
    // development files only as info; production-safe values (APP_ENV=production,
    // --autoreload=false/0, --verbose_errors=f) never.
    let at = |path: &str| -> Vec<(&str, stormwatch_findings::Severity)> {
        result
            .findings
            .iter()
            .filter(|f| f.location.file == path)
            .map(|f| (f.id.as_str(), f.severity))
            .collect()
    };
    use stormwatch_findings::Severity::*;
    assert_eq!(at("Dockerfile"), [("TW101", High)]);
    assert_eq!(at("docker-compose.yml"), [("TW102", High)]);
    assert_eq!(at("k8s/deployment.yaml"), [("TW103", Medium)]);
    assert_eq!(
        at("docker-compose.dev.yml"),
        [("TW101", Info), ("TW102", Info)]
    );
    assert_eq!(at(".env.development"), [("TW102", Info)]);
    assert!(
        at(".env").is_empty() && at("Procfile").is_empty() && at("deploy/web.service").is_empty()
    );
    assert!(ids.contains(&"TW002") && ids.contains(&"TW003") && ids.contains(&"TW006"));
    let autoreload = result.findings.iter().find(|f| f.id == "TW002").unwrap();
    assert_eq!(
        (autoreload.location.file.as_str(), autoreload.location.line),
        ("config/production.py", 3)
    );
    let env_debug = result
        .findings
        .iter()
        .find(|f| f.id == "TW001" && f.suppression.is_none())
        .unwrap();
    assert_eq!(env_debug.location.file, "app/settings.py");
    assert!(env_debug.message().contains("$APP_ENV"));
    assert!(env_debug
        .trace()
        .iter()
        .any(|s| s.location.file == "app/server.py"));
}

/// The same project's other applications and its non-production code: the admin app's
/// cookie-authenticated POST without XSRF protection is medium and names the handler; the
/// GET-only status app is not reported; debug in tests and examples is info with the reason.
#[test]
fn per_application_and_non_production_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multi-module-app");
    let result = audit(&root, &Selection::default());
    let tw008: Vec<(&str, String)> = result
        .findings
        .iter()
        .filter(|f| f.id == "TW008")
        .map(|f| (f.location.file.as_str(), f.severity.to_string()))
        .collect();
    assert_eq!(tw008, [("app/admin.py", "medium".to_string())]);
    let admin = result.findings.iter().find(|f| f.id == "TW008").unwrap();
    assert!(admin.message().contains("DeleteUserHandler.post"));
    for path in ["tests/test_server.py", "examples/demo.py"] {
        let here: Vec<_> = result
            .findings
            .iter()
            .filter(|f| f.location.file == path)
            .collect();
        assert!(!here.is_empty(), "{path}");
        assert!(
            here.iter()
                .all(|f| f.severity == stormwatch_findings::Severity::Info),
            "{path}"
        );
    }
    // Brought back at full severity with --all-code.
    let all = audit(
        &root,
        &Selection {
            all_code: true,
            ..Selection::default()
        },
    );
    assert!(all
        .findings
        .iter()
        .any(|f| f.location.file == "tests/test_server.py"
            && f.id == "TW001"
            && f.severity == stormwatch_findings::Severity::High));
}
