//! `stormwatch probe` and `check --probe` against real Tornado servers on 127.0.0.1, and
//! against scripted servers for what Tornado will not do (hang, garbage, redirect away).
//!
//! The Tornado servers run `tests/fixtures/probe/app.py` with the Python interpreters named
//! by `STORMWATCH_TORNADO_64` and `STORMWATCH_TORNADO_65` (virtual environments with a 6.4
//! and a 6.5 release, which `.ci/run` creates). Without them those tests fail: a green run
//! means they ran. `STORMWATCH_SKIP_TORNADO=1` skips them explicitly (and says so).

mod common;
#[path = "common/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{json_of, sw};
use serde_json::Value;
use server::{Reply, Server, Tls};

/// A Tornado app from the fixture, stopped (stdin closed, then killed) when dropped.
struct Tornado {
    child: Child,
    url: String,
}

impl Drop for Tornado {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The interpreter for a Tornado series. Missing, the test fails, unless skipping was asked
/// for with `STORMWATCH_SKIP_TORNADO=1` (then `None`: the test skips, saying so).
fn python(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None if std::env::var("STORMWATCH_SKIP_TORNADO").is_ok_and(|v| v == "1")
            && std::env::var_os("STORMWATCH_REQUIRE_TORNADO").is_none() =>
        {
            eprintln!(
                "skipped (STORMWATCH_SKIP_TORNADO=1): {var} (a Python with Tornado) is not set"
            );
            None
        }
        None => panic!(
            "{var} is not set: point it at a Python with Tornado installed (see .ci/run), \
             or set STORMWATCH_SKIP_TORNADO=1 to skip the tests that need it"
        ),
    }
}

fn start(python: &Path, mode: &str, tls: Option<&Tls>) -> Tornado {
    let app = common::fixtures().join("probe/app.py");
    let mut cmd = Command::new(python);
    cmd.arg(app).args(["--mode", mode]);
    if let Some(t) = tls {
        cmd.arg("--cert")
            .arg(&t.cert_pem)
            .arg("--key")
            .arg(&t.key_pem);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the Tornado app");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the app prints its port");
    let scheme = if tls.is_some() { "https" } else { "http" };
    Tornado {
        child,
        url: format!("{scheme}://127.0.0.1:{port}/"),
    }
}

/// `stormwatch probe` with no proxy from the environment, bounded in time.
fn probe(home: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = sw(home);
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.timeout(Duration::from_secs(120))
        .arg("probe")
        .args(args);
    cmd
}

/// The probe's JSON report, checked against the published schema.
fn run_json(home: &Path, args: &[&str], code: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = probe(home, &all).assert().code(code).get_output().clone();
    let report = json_of(&out.stdout);
    let text =
        std::fs::read_to_string(common::repo_root().join("docs/report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    report
}

fn rules_of(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Advisory ids the probe reported for the served version.
fn served_ids(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "TW301")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// What `stormwatch deps` reports for `tornado==version` on the same advisory data.
fn deps_ids(home: &Path, version: &str) -> BTreeSet<String> {
    let dir = home.join(format!("pin-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        format!("tornado=={version}\n"),
    )
    .unwrap();
    let out = sw(home)
        .args(["deps", "--format", "json"])
        .arg(&dir)
        .output()
        .unwrap();
    json_of(&out.stdout)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn incomplete_text(report: &Value) -> String {
    report["incomplete"].to_string()
}

#[test]
#[ignore = "needs Python with Tornado 6.4.2 and 6.5.1 (STORMWATCH_TORNADO_64, STORMWATCH_TORNADO_65); .ci/run provides them"]
fn debug_and_serve_traceback_servers_on_64_and_65() {
    let (Some(py64), Some(py65)) = (
        python("STORMWATCH_TORNADO_64"),
        python("STORMWATCH_TORNADO_65"),
    ) else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let debug = start(&py64, "debug", None);
    let traceback = start(&py65, "traceback", None);
    let paths = ["--path", "/api/item", "--path", "/boom"];

    let d = run_json(
        home.path(),
        &[&[debug.url.as_str()][..], &paths].concat(),
        1,
    );
    let t = run_json(
        home.path(),
        &[&[traceback.url.as_str()][..], &paths].concat(),
        1,
    );
    for (report, version) in [(&d, "6.4"), (&t, "6.5")] {
        let rules = rules_of(report);
        assert!(rules.contains("TW302"), "{rules:?}");
        assert!(
            rules.contains("TW305"),
            "the signed `user` cookie has no HttpOnly"
        );
        assert!(rules.contains("TW311"), "TornadoServer/x.y.z is disclosed");
        let tb = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "TW302")
            .unwrap();
        assert_eq!(tb["severity"], "high");
        assert_eq!(tb["request"]["method"], "GET");
        assert!(tb["request"]["status"].as_u64().unwrap() >= 400);
        assert!(tb["location"]["file"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
        assert!(tb["evidence"].as_str().unwrap().contains("Error"), "{tb}");
        let server = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "TW311")
            .unwrap();
        assert!(server["evidence"]
            .as_str()
            .unwrap()
            .contains(&format!("TornadoServer/{version}")));
    }
    // The advisories are exactly those `deps` reports for the version each one serves.
    let v64 = served_version(&d);
    let v65 = served_version(&t);
    assert!(
        v64.starts_with("6.4.") && v65.starts_with("6.5"),
        "{v64} {v65}"
    );
    let (ids64, ids65) = (served_ids(&d), served_ids(&t));
    assert_eq!(ids64, deps_ids(home.path(), &v64));
    assert_eq!(ids65, deps_ids(home.path(), &v65));
    assert!(!ids64.is_empty());
    // Fixed in 6.5 (CVE-2025-47287): the 6.4 server is affected, the 6.5 server is not.
    assert!(
        ids64.iter().any(|i| !ids65.contains(i)),
        "{ids64:?} vs {ids65:?}"
    );
    let fixed = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "TW301")
        .unwrap();
    assert!(!fixed["vulnerability"]["fixed_versions"]
        .as_array()
        .unwrap()
        .is_empty());
    // debug=True and serve_traceback=True look the same from outside, and the probe says so.
    assert!(d["notices"]
        .to_string()
        .contains("cannot be seen from outside"));
}

fn served_version(report: &Value) -> String {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "TW301")
        .map(|f| f["vulnerability"]["version"].as_str().unwrap().to_string())
        .expect("a TW301 finding")
}

#[test]
#[ignore = "needs Python with Tornado 6.4.2 and 6.5.1 (STORMWATCH_TORNADO_64, STORMWATCH_TORNADO_65); .ci/run provides them"]
fn hardened_server_is_clean_and_leaky_pages_are_told_apart() {
    let Some(py65) = python("STORMWATCH_TORNADO_65") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let hardened = start(&py65, "hardened", None);
    let report = run_json(
        home.path(),
        &[&hardened.url, "--path", "/api/item", "--path", "/boom"],
        0,
    );
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    // Recognized by its error page, but the version is hidden: said, not guessed.
    let incomplete = incomplete_text(&report);
    assert!(
        incomplete.contains("version is not disclosed"),
        "{incomplete}"
    );
    assert!(incomplete.contains("Tornado's error page"), "{incomplete}");

    let leaky = start(&py65, "leaky", None);
    let report = run_json(
        home.path(),
        &[&leaky.url, "--path", "/api/item", "--path", "/boom"],
        1,
    );
    let rules = rules_of(&report);
    assert!(
        rules.contains("TW303") && !rules.contains("TW302"),
        "{rules:?}"
    );
}

#[test]
#[ignore = "needs Python with Tornado 6.4.2 and 6.5.1 (STORMWATCH_TORNADO_64, STORMWATCH_TORNADO_65); .ci/run provides them"]
fn tls_server_with_a_generated_certificate() {
    let Some(py64) = python("STORMWATCH_TORNADO_64") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let tls = Tls::new(home.path());
    let app = start(&py64, "defaults", Some(&tls));
    // Untrusted without the CA: exit 2, saying what to do.
    probe(home.path(), &[&app.url])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("TLS").and(predicates::str::contains("--cacert")));
    let ca = tls.ca_pem.to_str().unwrap();
    let report = run_json(home.path(), &[&app.url, "--cacert", ca], 1);
    let rules = rules_of(&report);
    for r in ["TW304", "TW307", "TW308", "TW309", "TW310"] {
        assert!(rules.contains(r), "{r} missing from {rules:?}");
    }
    assert!(!rules.contains("TW302"), "defaults serve no traceback");
    let secure = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "TW304" && f["message"].as_str().unwrap().contains("`user`"))
        .unwrap();
    assert_eq!(
        secure["severity"], "medium",
        "a signed session cookie over HTTPS"
    );
    // --insecure gets through without the CA, with the same findings.
    let insecure = run_json(home.path(), &[&app.url, "--insecure"], 1);
    assert_eq!(rules_of(&insecure), rules);
    // SARIF of a probe: request URLs as artifact locations, valid for code scanning.
    let sarif = home.path().join("probe.sarif");
    probe(
        home.path(),
        &[
            &app.url,
            "--insecure",
            "--format",
            "sarif",
            "--output",
            sarif.to_str().unwrap(),
        ],
    )
    .assert()
    .code(1);
    // SARIF2017 advises a region with a start line: a response has none to give.
    common::validate_sarif_except(&sarif, home.path(), &["SARIF2017"]);
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let uri = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"];
    assert!(
        uri.as_str().unwrap().starts_with("https://127.0.0.1:"),
        "{uri}"
    );

    let hardened = start(&py64, "hardened", Some(&tls));
    let report = run_json(home.path(), &[&hardened.url, "--cacert", ca], 0);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn a_hanging_server_is_bounded() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| Reply::Hang);
    probe(
        home.path(),
        &[&server.url, "--timeout", "1", "--total-timeout", "3"],
    )
    .assert()
    .code(2)
    .stderr(predicates::str::contains("did not answer"));
    assert!(server.requests().len() <= 1);
}

#[test]
fn garbage_is_not_http() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| {
        Reply::Raw(b"\x00\x01garbage\xff\r\n\r\nmore".to_vec())
    });
    probe(home.path(), &[&server.url, "--timeout", "2"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did not answer"));
}

#[test]
fn a_service_that_is_not_tornado() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |r| {
        let headers = [("Server", "nginx/1.25.3"), ("Content-Type", "text/html")];
        if r.path == "/" {
            Reply::ok(b"<html><body>welcome</body></html>".to_vec(), &headers)
        } else {
            Reply::Send {
                status: 404,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: b"<html><body><h1>404 Not Found</h1></body></html>".to_vec(),
            }
        }
    });
    let report = run_json(home.path(), &[&server.url], 1);
    let rules = rules_of(&report);
    assert!(
        !rules.contains("TW301") && !rules.contains("TW302"),
        "{rules:?}"
    );
    assert!(
        rules.contains("TW311"),
        "nginx/1.25.3 discloses its version"
    );
    assert!(incomplete_text(&report).contains("did not show itself as Tornado"));
    assert!(incomplete_text(&report).contains("Server: nginx/1.25.3"));
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    let home = tempfile::tempdir().unwrap();
    let elsewhere = Server::start(None, |_| Reply::ok(b"x".to_vec(), &[]));
    // Another host name (resolving to 127.0.0.1 all the same) and another port.
    let target = elsewhere.url.replace("127.0.0.1", "localhost") + "/login";
    let server = Server::start(None, move |r| {
        if r.path == "/" {
            Reply::Send {
                status: 302,
                headers: vec![("Location".into(), target.clone())],
                body: vec![],
            }
        } else {
            Reply::status(404)
        }
    });
    let report = run_json(home.path(), &[&server.url], 1);
    assert!(
        elsewhere.requests().is_empty(),
        "the other host was contacted"
    );
    assert!(report["notices"]
        .to_string()
        .contains("not followed: another host"));
    // Same-host redirects are followed, and count against the cap.
    let same = Server::start(None, |r| match r.path.as_str() {
        "/" => Reply::Send {
            status: 302,
            headers: vec![("Location".into(), "/home".into())],
            body: vec![],
        },
        "/home" => Reply::ok(
            b"<html>home</html>".to_vec(),
            &[("Content-Type", "text/html")],
        ),
        _ => Reply::status(404),
    });
    run_json(home.path(), &[&same.url, "--max-requests", "2"], 1);
    let paths: Vec<String> = same.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, vec!["/", "/home"]);
}

#[test]
fn no_more_requests_than_the_cap() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| Reply::ok(b"ok".to_vec(), &[]));
    let report = run_json(
        home.path(),
        &[
            &server.url,
            "--max-requests",
            "3",
            "--path",
            "/a",
            "--path",
            "/b",
        ],
        1,
    );
    assert_eq!(server.requests().len(), 3);
    assert!(incomplete_text(&report).contains("cap of 3 requests was reached"));
    // The default cap is 10, whatever the paths.
    let many: Vec<String> = (0..15)
        .flat_map(|i| ["--path".to_string(), format!("/p{i}")])
        .collect();
    let mut args = vec![server.url.as_str()];
    args.extend(many.iter().map(String::as_str));
    let server_before = server.requests().len();
    run_json(home.path(), &args, 1);
    assert_eq!(server.requests().len() - server_before, 10);
    // GET and HEAD only without --allow-post.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.method == "HEAD"));
}

#[test]
fn probe_rules_are_documented() {
    let home = tempfile::tempdir().unwrap();
    let out = sw(home.path()).arg("rules").output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    for id in [
        "TW301", "TW302", "TW303", "TW304", "TW305", "TW306", "TW307", "TW308", "TW309", "TW310",
        "TW311", "TW320", "TW321",
    ] {
        assert!(list.contains(id), "{id} not in `stormwatch rules`");
        sw(home.path())
            .args(["explain", id])
            .assert()
            .success()
            .stdout(predicates::str::contains("## Fix"));
    }
}

/// A repository pinning tornado 6.5.1 whose code turns debug on or not.
fn repo(dir: &Path, debug: bool) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("requirements.txt"), "tornado==6.5.1\n").unwrap();
    std::fs::write(
        dir.join("app.py"),
        format!(
            "import tornado.web\n\napp = tornado.web.Application([], debug={})\n",
            if debug { "True" } else { "False" }
        ),
    )
    .unwrap();
}

#[test]
#[ignore = "needs Python with Tornado 6.4.2 and 6.5.1 (STORMWATCH_TORNADO_64, STORMWATCH_TORNADO_65); .ci/run provides them"]
fn check_probe_reports_drift_and_keeps_a_baseline() {
    let Some(py64) = python("STORMWATCH_TORNADO_64") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let app = start(&py64, "debug", None);
    let quiet = home.path().join("quiet");
    repo(&quiet, false);
    let check = |dir: &Path, extra: &[&str], code: i32| -> Value {
        let mut cmd = sw(home.path());
        cmd.env_remove("HTTP_PROXY").env_remove("http_proxy");
        cmd.timeout(Duration::from_secs(120))
            .arg("check")
            .arg(dir)
            .args(["--probe", &app.url, "--format", "json"])
            .args(extra);
        json_of(&cmd.assert().code(code).get_output().stdout)
    };
    let report = check(&quiet, &[], 1);
    let rules = rules_of(&report);
    assert!(
        rules.contains("TW320"),
        "pinned 6.5.1, serving 6.4: {rules:?}"
    );
    assert!(
        rules.contains("TW321"),
        "debug off in code, tracebacks served: {rules:?}"
    );
    let drift = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "TW320")
        .unwrap();
    assert!(drift["message"]
        .as_str()
        .unwrap()
        .contains("requirements.txt:1"));
    // The repository's own findings are there too (the 6.5.1 pin's advisories).
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "dependency"));

    // Code that turns debug on: no drift, the probe confirms it.
    let loud = home.path().join("loud");
    repo(&loud, true);
    let report = check(&loud, &[], 1);
    let rules = rules_of(&report);
    assert!(
        !rules.contains("TW321") && rules.contains("TW302"),
        "{rules:?}"
    );
    assert!(report["notices"]
        .to_string()
        .contains("the service confirms TW001"));

    // Ranges count too: one the served 6.4 falls outside of, and one it satisfies.
    for (range, drifts) in [(">=6.5", true), (">=6.4,<7", false)] {
        let dir = home.path().join(format!("range{}", drifts as u8));
        repo(&dir, false);
        std::fs::write(dir.join("requirements.txt"), format!("tornado{range}\n")).unwrap();
        let rules = rules_of(&check(&dir, &[], 1));
        assert_eq!(rules.contains("TW320"), drifts, "{range}: {rules:?}");
    }

    // The checklist answers from the live service too.
    let mut cmd = sw(home.path());
    cmd.env_remove("HTTP_PROXY").env_remove("http_proxy");
    let out = cmd
        .timeout(Duration::from_secs(120))
        .arg("checklist")
        .arg(&quiet)
        .args(["--probe", &app.url])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let item = text
        .split("\n- [")
        .find(|i| i.contains("error pages carry no traceback"))
        .unwrap();
    assert!(item.starts_with(' '), "not ticked: {item}");
    assert!(item.contains("stormwatch-probe-"), "{item}");

    // A baseline of today's findings, probe findings included: the next run has nothing
    // new, although its not-found path is another random one.
    let baseline = home.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    check(&quiet, &["--write-baseline", b], 1);
    let again = check(&quiet, &["--baseline", b], 0);
    assert_eq!(again["baseline"]["new"], 0, "{:#}", again["baseline"]);
    assert!(again["baseline"]["unchanged"].as_u64().unwrap() > 0);
}

#[test]
fn headers_are_sent_and_a_partial_hang_is_reported_not_waited_for() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |r| {
        if r.path == "/" {
            Reply::ok(
                b"<html>ok</html>".to_vec(),
                &[("Content-Type", "text/html"), ("X-Frame-Options", "DENY")],
            )
        } else {
            Reply::Hang
        }
    });
    let report = run_json(
        home.path(),
        &[
            &server.url,
            "-H",
            "Authorization: Bearer probe-token",
            "--timeout",
            "1",
            "--total-timeout",
            "4",
        ],
        1,
    );
    let requests = server.requests();
    assert!(!requests.is_empty());
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer probe-token")));
    // The requests that hung are named as not answered; the root page was still judged.
    let incomplete = incomplete_text(&report);
    assert!(incomplete.contains("no answer in time"), "{incomplete}");
    assert!(rules_of(&report).contains("TW309"));
    // A URL with credentials is refused without echoing them; one without a scheme says so.
    let with_password = server.url.replace("http://", "http://admin:hunter2@");
    probe(home.path(), &[&with_password])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("-H").and(predicates::str::contains("hunter2").not()));
    probe(home.path(), &["127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("give the scheme"));
    // A header that is not one is a usage error.
    probe(home.path(), &[&server.url, "-H", "no colon"])
        .assert()
        .code(2);
}

#[test]
#[ignore = "needs Python with Tornado 6.4.2 and 6.5.1 (STORMWATCH_TORNADO_64, STORMWATCH_TORNADO_65); .ci/run provides them"]
fn policy_ignores_and_deadlines_apply_to_probe_findings() {
    let Some(py64) = python("STORMWATCH_TORNADO_64") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("stormwatch.toml"),
        "[deadlines]\nhigh = 7\nmedium = 30\nlow = 90\n\n[[ignore]]\nid = \"TW311\"\nreason = \"the proxy strips Server in production\"\n",
    )
    .unwrap();
    let app = start(&py64, "defaults", None);
    let report = run_json(home.path(), &[&app.url, "--today", "2026-12-01"], 1);
    let findings = report["findings"].as_array().unwrap();
    let server = findings.iter().find(|f| f["rule"] == "TW311").unwrap();
    assert_eq!(server["suppression"]["kind"], "policy");
    // A served version's advisory gets a deadline from its publication, like a pin's.
    let high: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "TW301" && f["severity"] == "high")
        .collect();
    assert!(!high.is_empty());
    assert!(high.iter().all(|f| f["due"].is_string()), "{high:#?}");
}

#[test]
fn https_against_a_plain_http_server_says_which_scheme_to_use() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| Reply::ok(b"hello".to_vec(), &[]));
    let https = server.url.replacen("http://", "https://", 1);
    probe(
        home.path(),
        &[&https, "--timeout", "2", "--total-timeout", "10"],
    )
    .assert()
    .code(2)
    .stderr(predicates::str::contains("answers plain HTTP"))
    .stderr(predicates::str::contains(server.url.trim_end_matches('/')));
}

#[test]
fn a_failed_handshake_with_a_service_that_is_not_http_says_nothing_of_plain_http() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| Reply::Hang);
    let https = server.url.replacen("http://", "https://", 1);
    probe(
        home.path(),
        &[&https, "--timeout", "1", "--total-timeout", "3"],
    )
    .assert()
    .code(2)
    .stderr(predicates::str::contains("plain HTTP").not());
}
