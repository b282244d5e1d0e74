//! Every input format read from files produced by the real tools (or, for Poetry and PDM,
//! written in their exact layouts; see tests/fixtures/README.md).

use std::path::{Path, PathBuf};

use stormwatch_manifest::{parse_file, Dependency, Format, Inputs, Origin, Spec};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn parse(p: &str) -> Inputs {
    parse_file(&fixture(p)).unwrap_or_else(|e| panic!("{e}"))
}

fn get<'a>(inputs: &'a Inputs, name: &str) -> &'a Dependency {
    inputs
        .dependencies
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("{name} not found in {:?}", inputs.dependencies))
}

fn version(d: &Dependency) -> &str {
    match &d.spec {
        Spec::Pinned { version, .. } => version,
        other => panic!("{} not pinned: {other:?}", d.name),
    }
}

fn line_of(path: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(fixture(path)).unwrap();
    text.lines().position(|l| l.trim() == needle).unwrap() + 1
}

#[test]
fn uv_lock() {
    let inputs = parse("uv/uv.lock");
    assert_eq!(inputs.files[0].1, Format::UvLock);
    // 12 entries, minus the virtual workspace root.
    assert_eq!(inputs.dependencies.len(), 11);
    let t = get(&inputs, "tornado");
    assert_eq!(version(t), "6.1");
    assert_eq!(t.origin, Origin::Lockfile);
    assert_eq!(t.source.line, line_of("uv/uv.lock", "name = \"tornado\""));
    assert_eq!(version(get(&inputs, "pyyaml")), "5.3.1");
    assert!(
        matches!(&get(&inputs, "localpkg").spec, Spec::Unauditable { reason, .. } if reason == "local path")
    );
    assert!(inputs.dependencies.iter().all(|d| d.name != "lockdemo"));
}

#[test]
fn pylock_from_uv_export() {
    let inputs = parse("uv/pylock.toml");
    assert_eq!(inputs.files[0].1, Format::Pylock);
    assert_eq!(inputs.dependencies.len(), 10);
    assert_eq!(version(get(&inputs, "jinja2")), "2.11.3");
    assert_eq!(
        get(&inputs, "jinja2").source.line,
        line_of("uv/pylock.toml", "name = \"jinja2\"")
    );
    assert!(matches!(
        get(&inputs, "localpkg").spec,
        Spec::Unauditable { .. }
    ));
    assert!(inputs.notes.is_empty());
}

#[test]
fn pyproject_of_the_uv_project() {
    let inputs = parse("uv/pyproject.toml");
    assert_eq!(version(get(&inputs, "tornado")), "6.1");
    assert!(
        matches!(&get(&inputs, "requests").spec, Spec::Range { text, .. } if text == ">=2.25, <2.26")
    );
    assert_eq!(get(&inputs, "pyyaml").group.as_deref(), Some("yaml"));
    assert_eq!(get(&inputs, "six").group.as_deref(), Some("dev"));
}

#[test]
fn pip_compile_with_hashes() {
    let inputs = parse("pip-compile/requirements.txt");
    assert_eq!(inputs.dependencies.len(), 8);
    assert!(inputs.dependencies.iter().all(|d| d.spec.is_pinned()));
    let t = get(&inputs, "tornado");
    assert_eq!(version(t), "6.1");
    assert_eq!(
        t.source.line,
        line_of("pip-compile/requirements.txt", "tornado==6.1 \\")
    );
    assert!(inputs.notes.is_empty(), "{:?}", inputs.notes);
}

#[test]
fn pipenv_lock_and_pipfile() {
    let inputs = parse("pipenv/Pipfile.lock");
    assert_eq!(inputs.files[0].1, Format::PipfileLock);
    let t = get(&inputs, "tornado");
    assert_eq!(version(t), "6.1");
    assert_eq!(
        t.source.line,
        line_of("pipenv/Pipfile.lock", "\"tornado\": {")
    );
    assert_eq!(get(&inputs, "six").group.as_deref(), Some("dev"));
    assert!(get(&inputs, "chardet").marker.is_some());

    let pipfile = parse("pipenv/Pipfile");
    assert_eq!(version(get(&pipfile, "tornado")), "6.1");
    assert_eq!(version(get(&pipfile, "jinja2")), "2.11.3");
    assert!(matches!(
        &get(&pipfile, "requests").spec,
        Spec::Range { .. }
    ));
    assert!(
        matches!(&get(&pipfile, "six").spec, Spec::Range { alternatives, .. } if alternatives.is_empty())
    );
    assert_eq!(get(&pipfile, "six").group.as_deref(), Some("dev"));
}

#[test]
fn poetry_2_lock_and_pyproject() {
    let inputs = parse("poetry/poetry.lock");
    assert_eq!(inputs.dependencies.len(), 7);
    let t = get(&inputs, "tornado");
    assert_eq!(version(t), "6.1");
    assert_eq!(
        t.source.line,
        line_of("poetry/poetry.lock", "name = \"tornado\"")
    );
    assert_eq!(get(&inputs, "six").group.as_deref(), Some("dev"));
    assert!(
        matches!(&get(&inputs, "mylib").spec, Spec::Unauditable { reason, .. } if reason == "VCS source")
    );
    assert!(
        matches!(&get(&inputs, "localpkg").spec, Spec::Unauditable { reason, .. } if reason == "local path")
    );

    let py = parse("poetry/pyproject.toml");
    assert_eq!(version(get(&py, "tornado")), "6.1");
    assert!(matches!(&get(&py, "jinja2").spec, Spec::Range { text, .. } if text == "^2.11"));
    assert!(matches!(get(&py, "mylib").spec, Spec::Unauditable { .. }));
    assert_eq!(get(&py, "six").group.as_deref(), Some("dev"));
}

#[test]
fn poetry_1_lock() {
    let inputs = parse("poetry-1/poetry.lock");
    assert_eq!(version(get(&inputs, "tornado")), "5.1.1");
    assert_eq!(get(&inputs, "pytest").group.as_deref(), Some("dev"));
}

#[test]
fn pdm_lock() {
    let inputs = parse("pdm/pdm.lock");
    assert_eq!(inputs.dependencies.len(), 5);
    let t = get(&inputs, "tornado");
    assert_eq!(version(t), "6.1");
    assert_eq!(t.marker.as_deref(), Some("python_version >= \"3.9\""));
    assert_eq!(t.source.line, line_of("pdm/pdm.lock", "name = \"tornado\""));
    assert!(matches!(
        get(&inputs, "mylib").spec,
        Spec::Unauditable { .. }
    ));
    assert_eq!(get(&inputs, "six").group.as_deref(), Some("dev"));
}

/// A lockfile large enough to be parsed in pieces reads exactly as a small one: every
/// entry, sub-tables kept with their package, workspace members skipped, lines exact.
#[test]
fn large_uv_lock_parsed_in_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uv.lock");
    let mut text = String::from("version = 1\nrevision = 3\nrequires-python = \">=3.9\"\n\n[manifest]\nmembers = [\"app\"]\n");
    let n = 6000;
    for i in 0..n {
        if i == 4321 {
            text.push_str("\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n");
        }
        text.push_str(&format!(
            "\n[[package]]\nname = \"Pkg_{i}\"\nversion = \"1.{i}\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\ndependencies = [\n    {{ name = \"dep-{i}\" }},\n]\n\n[package.optional-dependencies]\nextra = [\n    {{ name = \"x\" }},\n]\n"
        ));
    }
    assert!(text.len() > 512 * 1024, "large enough to be split");
    std::fs::write(&path, &text).unwrap();
    let inputs = parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(inputs.dependencies.len(), n);
    let lines: Vec<&str> = text.lines().collect();
    for (i, dep) in inputs.dependencies.iter().enumerate() {
        assert_eq!(dep.name, format!("pkg-{i}"));
        assert_eq!(version(dep), format!("1.{i}"));
        assert_eq!(lines[dep.source.line - 1], format!("name = \"Pkg_{i}\""));
    }

    // An error late in the file is reported at its own line.
    let broken = text.replace("version = \"1.5999\"\n", "version = \n");
    std::fs::write(&path, &broken).unwrap();
    let err = parse_file(&path).unwrap_err().to_string();
    let want = broken.lines().position(|l| l == "version = ").unwrap() + 1;
    assert!(err.contains(&format!(":{want}:")), "{err}");
}

#[test]
fn lockfile_without_package_entries_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uv.lock");
    std::fs::write(&path, "version = 1\nrequires-python = \">=3.9\"\n").unwrap();
    let err = parse_file(&path).unwrap_err().to_string();
    assert!(err.contains("uv.lock"), "{err}");
    assert!(err.contains("no [[package]] entries"), "{err}");

    std::fs::write(&path, "version = 1\npackage = \"tornado\"\n").unwrap();
    let err = parse_file(&path).unwrap_err().to_string();
    assert!(err.contains("uv.lock:2:"), "{err}");
    assert!(err.contains("must be an array of tables"), "{err}");
}
