//! Settings followed across modules by every import form: absolute, relative (`.`, `..`),
//! package `__init__` re-exports, and modules named from their package root whatever
//! directory is scanned.

use std::path::Path;

use stormwatch_tornado::{audit, Selection};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn project(root: &Path) {
    write(root, "src/myapp/__init__.py", "");
    write(
        root,
        "src/myapp/config.py",
        "DEBUG = True\nTRACEBACKS = True\n",
    );
    write(
        root,
        "src/myapp/settings.py",
        "from .config import DEBUG\nSETTINGS = {\"debug\": DEBUG}\n",
    );
    write(
        root,
        "src/myapp/web/__init__.py",
        "from .settings_reexport import S\n",
    );
    write(
        root,
        "src/myapp/web/settings_reexport.py",
        "from ..settings import SETTINGS as S\n",
    );
    write(
        root,
        "src/myapp/web/server.py",
        "import tornado.web\nfrom .. import config\nfrom . import S\nfrom myapp.config import TRACEBACKS\n\n\ndef make():\n    return tornado.web.Application([], serve_traceback=config.DEBUG, **S)\n\n\ndef make2():\n    return tornado.web.Application([], autoreload=TRACEBACKS)\n",
    );
}

fn rules_at(root: &Path) -> Vec<(String, String, usize)> {
    let result = audit(root, &Selection::default());
    assert!(result.skipped.is_empty(), "{:?}", result.skipped);
    let mut out: Vec<_> = result
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.location.file.clone(), f.location.line))
        .collect();
    out.sort();
    out
}

#[test]
fn relative_absolute_and_reexported_imports() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let expected = |prefix: &str| {
        vec![
            (
                "TW001".to_string(),
                format!("{prefix}src/myapp/config.py"),
                1,
            ),
            (
                "TW002".to_string(),
                format!("{prefix}src/myapp/config.py"),
                2,
            ),
            (
                "TW003".to_string(),
                format!("{prefix}src/myapp/config.py"),
                1,
            ),
        ]
    };
    assert_eq!(rules_at(tmp.path()), expected(""));
    // Scanning a parent directory or the package itself names modules the same way.
    let outer = tempfile::tempdir().unwrap();
    project(&outer.path().join("repo"));
    assert_eq!(rules_at(outer.path()), expected("repo/"));
    let found = rules_at(&tmp.path().join("src/myapp"));
    assert_eq!(found.len(), 3, "{found:?}");
}
