//! Vendored code recognised by what it is (`tests/fixtures/vendored/`): in `positive/`, a
//! library installed beside its `*.dist-info`, a licensed package in a directory the
//! application puts on `sys.path`, and a copy of Tornado under another package, whose
//! findings are all info; in `negative/`, the application's own package under `lib/` (its
//! develop-install metadata beside its own `setup.py`), whose finding keeps its severity.

use std::path::{Path, PathBuf};

use stormwatch_tornado::{audit, Selection};

fn run(name: &str, all_code: bool) -> Vec<String> {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendored")
        .join(name);
    let result = audit(
        &dir,
        &Selection {
            all_code,
            ..Selection::default()
        },
    );
    assert!(result.skipped.is_empty(), "{:?}", result.skipped);
    let mut out: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            let file = Path::new(&f.location.file);
            let rel = file.strip_prefix(&dir).unwrap_or(file);
            format!(
                "{} {} {}:{} {}",
                f.id,
                f.severity,
                rel.display(),
                f.location.line,
                f.message()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn vendored_packages_are_info() {
    let found = run("positive", false);
    assert!(found.iter().all(|f| f.contains(" info ")), "{found:#?}");
    insta::assert_snapshot!(found.join("\n"));
    // The same code judged as the application's own.
    let all = run("positive", true);
    assert!(all.iter().any(|f| f.contains(" medium ")), "{all:#?}");
}

#[test]
fn the_applications_own_lib_package_keeps_its_findings() {
    let found = run("negative", false);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("TW013 medium lib/myapp/logs.py")),
        "{found:#?}"
    );
    insta::assert_snapshot!(found.join("\n"));
}
