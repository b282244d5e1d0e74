//! Inputs shaped to make a parser or an analysis superlinear. Each run must finish well
//! within a generous bound (these used to take minutes or gigabytes) and still report what
//! it found.

use super::*;

/// Far above a debug build's time on these inputs (about a second); the bugs were minutes.
const COST_BOUND: Duration = Duration::from_secs(20);

pub(crate) fn bounded(dir: &Path) -> Command {
    let mut cmd = sw(dir);
    cmd.env("STORMWATCH_DB", dir.join("no-such.db"))
        .timeout(COST_BOUND);
    cmd
}

pub(crate) fn bounded_json(dir: &Path, args: &[&str], code: i32) -> Value {
    let out = bounded(dir)
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn finding_lines(v: &Value) -> Vec<u64> {
    let mut lines: Vec<u64> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["location"]["line"].as_u64())
        .collect();
    lines.dedup();
    lines
}

/// A 40 KB version (20,000 release segments) under every operator: each line is audited.
#[test]
fn long_versions_are_audited_in_linear_time() {
    let tmp = tempfile::tempdir().unwrap();
    let v = vec!["1"; 20_000].join(".");
    write(
        tmp.path(),
        "requirements.txt",
        format!("tornado>={v}\ntornado>{v}\ntornado~={v}\ntornado!={v}.*\ntornado=={v}\n")
            .as_bytes(),
    );
    let report = bounded_json(tmp.path(), &["deps", "--format", "json"], 1);
    assert_eq!(finding_lines(&report), [1, 2, 3, 4, 5]);
}

/// A range of thousands of clauses is reported for review, not analysed clause by clause.
#[test]
fn ranges_with_thousands_of_clauses_are_reported_not_analysed() {
    let tmp = tempfile::tempdir().unwrap();
    let clauses: Vec<String> = (0..8_000).map(|i| format!("!=1.{i}.*")).collect();
    write(
        tmp.path(),
        "requirements.txt",
        format!("tornado>=1,{}\n", clauses.join(",")).as_bytes(),
    );
    let report = bounded_json(tmp.path(), &["deps", "--format", "json"], 0);
    let f = &report["findings"][0];
    assert_eq!(f["id"], "TW202", "{f}");
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .contains("8001 version clauses"),
        "{f}"
    );
}

/// 120,000 nested parentheses in a marker: the requirement is still audited, the marker is
/// reported as not evaluated, with file and line; in pyproject.toml too.
#[test]
fn deeply_nested_markers_are_reported_and_the_pin_still_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let depth = 120_000;
    let marker = format!(
        "{}python_version >= '3'{}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    write(
        tmp.path(),
        "requirements.txt",
        format!("# pins\ntornado==6.1 ; {marker}\n").as_bytes(),
    );
    write(
        tmp.path(),
        "pyproject.toml",
        format!("[project]\nname = \"x\"\ndependencies = [\n  \"tornado==6.1; {marker}\",\n]\n")
            .as_bytes(),
    );
    let report = bounded_json(tmp.path(), &["deps", "--format", "json"], 1);
    // One finding per advisory, each place it is declared listed.
    let files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            std::iter::once(&f["location"]).chain(f["declared"].as_array().into_iter().flatten())
        })
        .filter_map(|l| l["file"].as_str())
        .collect();
    assert!(files.contains(&"requirements.txt"), "{files:?}");
    assert!(files.contains(&"pyproject.toml"), "{files:?}");
    let incomplete = report["incomplete"].as_array().unwrap();
    for (file, line) in [("requirements.txt", 2), ("pyproject.toml", 4)] {
        assert!(
            incomplete.iter().any(|n| n["location"]["file"] == file
                && n["location"]["line"] == line
                && n["message"]
                    .as_str()
                    .unwrap()
                    .contains("nested more than 32 levels")),
            "{file}:{line}: {incomplete:#?}"
        );
    }
    // A deployment target evaluates markers: the deep one is kept, not parsed.
    bounded(tmp.path())
        .args(["deps", "requirements.txt", "--python-version", "3.12"])
        .assert()
        .code(1);
}

/// 20,000 applications in one module reading a settings dict that is reassigned before each
/// (the lookup used to fold every earlier assignment: quadratic), and a module of 5,000 of
/// them on a single line (columns used to be counted from the start of the line).
#[test]
fn many_applications_sharing_one_settings_name_stay_linear() {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = String::from("import tornado.web\n");
    for _ in 0..20_000 {
        app.push_str(
            "settings = dict(debug=True)\napp = tornado.web.Application([], **settings)\n",
        );
    }
    write(tmp.path(), "many/app.py", app.as_bytes());
    let one_line = format!(
        "import tornado.web\n{}\n",
        "settings = {'debug': True}; tornado.web.Application([], **settings); ".repeat(5_000)
    );
    write(tmp.path(), "wide/app.py", one_line.as_bytes());
    let v = bounded_json(tmp.path(), &["config", "many", "--format", "json"], 1);
    assert_eq!(v["findings"].as_array().unwrap().len(), 20_000);
    let v = bounded_json(tmp.path(), &["config", "wide", "--format", "json"], 1);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 5_000);
    assert!(findings.iter().all(|f| f["location"]["line"] == 2));
}
