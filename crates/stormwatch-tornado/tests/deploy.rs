//! How deployment files link to the code they start: one directory per case under
//! `tests/fixtures/deploy/CASE/{positive,negative}`; the findings of the selected rules are
//! snapshotted (a negative may hold info findings only).

use std::path::{Path, PathBuf};

use stormwatch_tornado::{audit, Selection};

fn dir(case: &str, which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deploy")
        .join(case)
        .join(which)
}

fn run(path: &Path, rules: &[&str]) -> Vec<String> {
    let result = audit(
        path,
        &Selection {
            select: rules.iter().map(|r| r.to_string()).collect(),
            ..Selection::default()
        },
    );
    let mut out: Vec<String> = result
        .findings
        .iter()
        .map(|f| {
            let trace: Vec<String> = f
                .trace()
                .iter()
                .map(|s| format!("{}:{}", s.location.file, s.location.line))
                .collect();
            format!(
                "{} {}:{} {} {} [{}]",
                f.id,
                f.location.file,
                f.location.line,
                f.severity,
                f.message(),
                trace.join(" -> ")
            )
        })
        .collect();
    out.sort();
    out
}

/// Positive findings (at least one above info), then the negative's, which must be info.
fn check(case: &str, rules: &[&str]) -> String {
    let positives = run(&dir(case, "positive"), rules);
    assert!(
        positives.iter().any(|l| !l.contains(" info ")),
        "{case}: nothing above info in positive: {positives:#?}"
    );
    let mut out = positives;
    let negative = dir(case, "negative");
    if negative.exists() {
        let negatives = run(&negative, rules);
        let wrong: Vec<&String> = negatives.iter().filter(|l| !l.contains(" info ")).collect();
        assert!(wrong.is_empty(), "{case} false positives: {wrong:#?}");
        out.push("-- negative --".into());
        out.extend(negatives);
    }
    out.join("\n")
}

/// `CMD ["python", "/srv/server.py"]` after `COPY . /srv` starts `server.py`.
#[test]
fn absolute_script_path() {
    insta::assert_snapshot!(check("absolute_path", &["TW006"]));
}

/// `WORKDIR /app` + `COPY src/ /app/` + `python web/main.py` starts `src/web/main.py`.
#[test]
fn workdir_relative_script_path() {
    insta::assert_snapshot!(check("workdir", &["TW006"]));
}

/// `--debug` does nothing where the application never calls `parse_command_line`.
#[test]
fn flag_without_parse_command_line() {
    insta::assert_snapshot!(check("no_parse", &["TW101"]));
}

/// A Kubernetes `args:` list: the finding is on the `--debug=yes` line.
#[test]
fn kubernetes_args_line() {
    insta::assert_snapshot!(check("k8s_args", &["TW101"]));
}

/// `ENV DEBUG=1` reaches `os.environ["DEBUG"] == "1"` in the code the image starts.
#[test]
fn dockerfile_env_reaches_environ_subscript() {
    insta::assert_snapshot!(check("env_debug", &["TW102", "TW001"]));
}

/// compose `volumes: - ./src:/app` + `command: python /app/server.py` starts `src/server.py`.
#[test]
fn compose_bind_mount_script_path() {
    insta::assert_snapshot!(check("compose_volume", &["TW006"]));
}

/// A Dockerfile inside `demos/` deploys the demo, not the application: it does not make the
/// demo's script production code (info); the same script started by the project's own
/// Dockerfile is production.
#[test]
fn a_demos_own_dockerfile_deploys_the_demo() {
    insta::assert_snapshot!(check("demo_dockerfile", &["TW001"]));
}
