//! How Python passes values, one fixture pair per shape (`tests/fixtures/flows/NAME/`):
//! every finding of `positive` (a file or a small project) is snapshotted, and `negative`
//! must produce nothing above info.

use std::path::{Path, PathBuf};

use stormwatch_tornado::{audit, Selection};

/// The rules whose findings these fixtures are about.
const RULES: &[&str] = &["TW001", "TW002", "TW003", "TW008", "TW013"];

fn fixture(case: &str, side: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flows")
        .join(case);
    let file = dir.join(format!("{side}.py"));
    if file.exists() {
        file
    } else {
        dir.join(side)
    }
}

/// Findings as "RULE severity file:line:column message", the file relative to the fixture.
fn run(path: &Path) -> Vec<String> {
    let base = format!("{}/", path.parent().unwrap().display());
    let result = audit(
        path,
        &Selection {
            select: RULES.iter().map(|r| r.to_string()).collect(),
            ..Selection::default()
        },
    );
    assert!(result.skipped.is_empty(), "{:?}", result.skipped);
    let mut out: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{}:{} {}",
                f.id,
                f.severity,
                f.location.file.trim_start_matches(&base),
                f.location.line,
                f.location.column,
                f.message()
            )
        })
        .collect();
    out.sort();
    out
}

/// Positive findings, then the negative's info notes.
fn check(case: &str) -> String {
    let negatives = run(&fixture(case, "negative"));
    let wrong: Vec<&String> = negatives.iter().filter(|l| !l.contains(" info ")).collect();
    assert!(wrong.is_empty(), "{case} false positives: {wrong:#?}");
    let mut out = run(&fixture(case, "positive"));
    assert!(
        !out.is_empty(),
        "{case}: nothing found in the positive fixture"
    );
    if !negatives.is_empty() {
        out.push("-- negative (info only) --".into());
        out.extend(negatives);
    }
    out.join("\n")
}

#[test]
fn application_subclasses() {
    insta::assert_snapshot!(check("app_subclass"));
}

#[test]
fn argument_binding() {
    insta::assert_snapshot!(check("binding"));
}

#[test]
fn walrus_assignments() {
    insta::assert_snapshot!(check("walrus"));
}

#[test]
fn tuple_unpacking() {
    insta::assert_snapshot!(check("unpacking"));
}

#[test]
fn star_imports() {
    insta::assert_snapshot!(check("star_import"));
}

#[test]
fn environment_setdefault() {
    insta::assert_snapshot!(check("env_setdefault"));
}

#[test]
fn literal_after_or() {
    insta::assert_snapshot!(check("or_literal"));
}

#[test]
fn options_assigned_in_code() {
    insta::assert_snapshot!(check("option_assignment"));
}

#[test]
fn branches_that_cannot_run() {
    insta::assert_snapshot!(check("decided_branches"));
}
