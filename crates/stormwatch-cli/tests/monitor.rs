//! `db update` and `monitor` against real servers on 127.0.0.1: an HTTPS feed serving zips
//! built from fixture advisories (its certificate from a CA generated per test, trusted
//! through SSL_CERT_FILE), webhook receivers that fail on purpose, and an SMTP receiver with
//! STARTTLS. Each command is bounded by a timeout, so a hang fails the test instead of
//! stalling it.

mod common;
#[path = "common/server.rs"]
mod server;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{json_of, sw};
use serde_json::Value;
use server::{Reply, Server, Smtp, Tls};

const LIMIT: Duration = Duration::from_secs(60);

/// An OSV record for `shoplib` (the project pins 1.0).
fn advisory(id: &str, fixed: &str, severity: &str, modified: &str, withdrawn: bool) -> String {
    let w = if withdrawn {
        r#","withdrawn":"2026-11-01T00:00:00Z""#
    } else {
        ""
    };
    format!(
        r#"{{"id":"{id}","modified":"{modified}","published":"2026-10-01T00:00:00Z"{w},"summary":"{id} in shoplib","affected":[{{"package":{{"name":"shoplib","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}],"database_specific":{{"severity":"{severity}"}}}}"#
    )
}

fn zip_of(records: &[(String, String)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o: zip::write::SimpleFileOptions = Default::default();
        for (id, json) in records {
            z.start_file(format!("{id}.json"), o).unwrap();
            z.write_all(json.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A feed whose records a test changes between runs. It answers conditional requests
/// (ETag) with 304, and can be told to misbehave.
#[derive(Clone, Default)]
struct Feed {
    records: Arc<Mutex<Vec<(String, String)>>>,
    mode: Arc<Mutex<&'static str>>,
}

impl Feed {
    fn set(&self, id: &str, json: String) {
        let mut r = self.records.lock().unwrap();
        r.retain(|(i, _)| i != id);
        r.push((id.to_string(), json));
    }

    fn mode(&self, m: &'static str) {
        *self.mode.lock().unwrap() = m;
    }

    fn serve(&self, tls: Option<&Tls>) -> Server {
        let feed = self.clone();
        Server::start(tls, move |req| {
            let body = zip_of(&feed.records.lock().unwrap());
            let etag = format!("\"{}\"", stormwatch_monitor::hash(&[&format!("{body:?}")]));
            match *feed.mode.lock().unwrap() {
                "garbage" => return Reply::ok(b"<html>proxy error</html>".to_vec(), &[]),
                "truncated" => {
                    return Reply::Truncated {
                        declared: body.len() + 1000,
                        body,
                    }
                }
                "huge" => {
                    return Reply::Truncated {
                        declared: 3 * 1024 * 1024,
                        body: vec![0; 10],
                    }
                }
                "hang" => return Reply::Hang,
                _ => {}
            }
            if req.header("if-none-match") == Some(etag.as_str()) {
                return Reply::status(304);
            }
            Reply::ok(body, &[("ETag", &etag)])
        })
    }
}

struct Env {
    dir: tempfile::TempDir,
    tls: Tls,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::new(dir.path());
        let project = dir.path().join("shop");
        fs::create_dir_all(&project).unwrap();
        fs::write(project.join("requirements.txt"), "shoplib==1.0\n").unwrap();
        Env { dir, tls }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("data/advisories.db")
    }

    fn project(&self) -> PathBuf {
        self.dir.path().join("shop")
    }

    /// `stormwatch` with the test CA trusted and the test database.
    fn cmd(&self) -> assert_cmd::Command {
        let mut c = sw(self.dir.path());
        c.env("SSL_CERT_FILE", &self.tls.ca_pem)
            .env("STORMWATCH_DB", self.db())
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .timeout(LIMIT);
        c
    }

    fn update(&self, url: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd()
            .args(["db", "update", "--source", url])
            .args(extra)
            .assert()
    }

    fn status(&self) -> Value {
        let out = self
            .cmd()
            .args(["db", "status", "--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        json_of(&out.stdout)
    }
}

/// A feed holding SHOP-1 (`severity`), served over HTTPS; its URL.
fn feed_with(env: &Env, severity: &str) -> (Feed, Server, String) {
    let feed = Feed::default();
    feed.set(
        "SHOP-1",
        advisory("SHOP-1", "1.5", severity, "2026-10-01T00:00:00Z", false),
    );
    let server = feed.serve(Some(&env.tls));
    let url = format!("{}/PyPI/all.zip", server.url);
    (feed, server, url)
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn gets(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count()
}

#[test]
fn db_update_over_https_conditional_changes_and_failures() {
    let env = Env::new();
    let (feed, server, url) = feed_with(&env, "MODERATE");

    // The server's certificate is checked: without the company CA the update fails.
    let a = env
        .cmd()
        .env_remove("SSL_CERT_FILE")
        .args(["db", "update", "--source", &url, "--retries", "1"])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("unchanged"), "{}", stderr(&a));
    assert!(!env.db().exists());

    // First update.
    let a = env.update(&url, &[]).code(0);
    assert!(
        stdout(&a).contains("Imported 1 advisories"),
        "{}",
        stdout(&a)
    );
    let status = env.status();
    let db = &status["database"];
    assert_eq!(db["advisories"], 1);
    assert_eq!(db["sources"][0]["source"], url.as_str());
    assert!(db["sources"][0]["etag"].is_string(), "{status}");
    assert_eq!(db["recent_changes"][0]["ids"]["new"][0], "SHOP-1");
    assert_eq!(db["stale"], false);
    let bytes = fs::read(env.db()).unwrap();

    // Unchanged: one conditional request, 304, nothing downloaded or rewritten.
    let before = gets(&server);
    let a = env.update(&url, &[]).code(0);
    assert!(stdout(&a).contains("unchanged"), "{}", stdout(&a));
    assert_eq!(gets(&server), before + 1);
    let last = server.requests().last().cloned().unwrap();
    assert!(last.header("if-none-match").is_some(), "{last:?}");
    assert_eq!(fs::read(env.db()).unwrap(), bytes);

    // A new advisory, then a withdrawn one: each import records what changed.
    feed.set(
        "SHOP-2",
        advisory("SHOP-2", "2.0", "HIGH", "2026-11-02T00:00:00Z", false),
    );
    env.update(&url, &[]).code(0);
    assert_eq!(
        env.status()["database"]["recent_changes"][0]["ids"]["new"],
        serde_json::json!(["SHOP-2"])
    );
    feed.set(
        "SHOP-1",
        advisory("SHOP-1", "1.5", "MODERATE", "2026-11-03T00:00:00Z", true),
    );
    let a = env.update(&url, &[]).code(0);
    assert!(stdout(&a).contains("1 withdrawn"), "{}", stdout(&a));
    assert_eq!(
        env.status()["database"]["recent_changes"][0]["ids"]["withdrawn"],
        serde_json::json!(["SHOP-1"])
    );
    let good = fs::read(env.db()).unwrap();
    let kept: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(env.db().with_extension("sources"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    feed.set(
        "SHOP-3",
        advisory("SHOP-3", "3.0", "LOW", "2026-11-04T00:00:00Z", false),
    );

    // Failures: the old database and the kept download stay byte-identical.
    for (mode, expected) in [
        ("garbage", "not a readable zip"),
        ("truncated", "broke off"),
        ("huge", "limit"),
        ("hang", "timed out"),
    ] {
        feed.mode(mode);
        let a = env
            .update(
                &url,
                &["--retries", "2", "--timeout", "1", "--max-download", "1"],
            )
            .code(2);
        let err = stderr(&a);
        assert!(err.contains(expected), "{mode}: {err}");
        assert!(err.contains("unchanged"), "{mode}: {err}");
        assert_eq!(fs::read(env.db()).unwrap(), good, "{mode}");
        for (p, b) in &kept {
            assert_eq!(&fs::read(p).unwrap(), b, "{mode}: {}", p.display());
        }
        let leftovers = fs::read_dir(env.db().parent().unwrap())
            .unwrap()
            .chain(fs::read_dir(env.db().with_extension("sources")).unwrap())
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(leftovers, 0, "{mode}: temporary files left");
    }
    feed.mode("ok");

    // Offline: the kept download is used, the network is not.
    let before = server.requests().len();
    let a = env.update(&url, &["--offline"]).code(0);
    assert!(stdout(&a).contains("offline"), "{}", stdout(&a));
    assert_eq!(server.requests().len(), before);
}

#[test]
fn audits_state_the_data_age_and_flag_stale_data() {
    let env = Env::new();
    let (_feed, _server, url) = feed_with(&env, "HIGH");
    env.update(&url, &[]).code(0);
    let today = time::OffsetDateTime::now_utc().date();
    let later = today + time::Duration::days(30);
    let deps = |date: time::Date| {
        let out = env
            .cmd()
            .args(["deps", "shop", "--format", "json", "--today"])
            .arg(date.to_string())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_of(&out.stdout)
    };
    let fresh = deps(today);
    assert_eq!(fresh["findings"][0]["id"], "SHOP-1");
    assert_eq!(fresh["advisory_data"]["age_days"], 0);
    assert!(fresh["advisory_data"]["updated"].is_string());
    assert!(fresh["advisory_data"].get("stale").is_none());
    let old = deps(later);
    assert_eq!(old["advisory_data"]["stale"], true);
    assert!(
        old["notices"].to_string().contains("stormwatch db update"),
        "{}",
        old["notices"]
    );
    // The policy's max-age moves the line.
    fs::write(
        env.project().join("stormwatch.toml"),
        "[advisories]\nmax-age = 60\n",
    )
    .unwrap();
    assert!(deps(later)["advisory_data"].get("stale").is_none());
}

/// A webhook receiver: answers the first `failures` POSTs with 503, then 200.
fn receiver(failures: usize) -> (Server, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let server = Server::start(None, move |_| {
        if c.fetch_add(1, Ordering::SeqCst) < failures {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    });
    (server, count)
}

fn posts(server: &Server) -> Vec<(String, Value)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| {
            (
                r.header("idempotency-key").unwrap_or_default().to_string(),
                serde_json::from_slice(&r.body).unwrap(),
            )
        })
        .collect()
}

impl Env {
    fn monitor(&self, feed_url: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
        self.cmd()
            .args([
                "monitor",
                "shop",
                "--source",
                feed_url,
                "--no-bundled",
                "--allow-http-webhook",
                "--state",
            ])
            .arg(self.dir.path().join("state/monitor.db"))
            .args(extra)
            .assert()
    }
}

#[test]
fn monitor_alerts_once_on_each_change() {
    let env = Env::new();
    let (feed, _server, url) = feed_with(&env, "MODERATE");
    let (hook, _) = receiver(0);
    let hook_url = format!("{}/hook", hook.url);
    let run = |code: i32| {
        let a = env.monitor(&url, &["--webhook", &hook_url]).code(code);
        (stdout(&a), stderr(&a))
    };

    // First run: state recorded, nothing sent.
    let (_, err) = run(0);
    assert!(err.contains("first run"), "{err}");
    assert!(posts(&hook).is_empty());

    // A new advisory: one event, delivered once.
    feed.set(
        "SHOP-2",
        advisory("SHOP-2", "2.0", "HIGH", "2026-11-02T00:00:00Z", false),
    );
    let (out, _) = run(0);
    assert!(out.contains("new"), "{out}");
    let sent = posts(&hook);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (key, body) = &sent[0];
    assert_eq!(body["kind"], "new");
    assert_eq!(body["finding"]["id"], "SHOP-2");
    assert_eq!(
        body["id"].as_str(),
        Some(key.as_str()),
        "the Idempotency-Key is the event id"
    );
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .contains("shoplib 1.0 -> 2.0"),
        "{body}"
    );
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Fix: set shoplib==2.0"),
        "{body}"
    );

    // Nothing changed: nothing sent.
    run(0);
    assert_eq!(posts(&hook).len(), 1);

    // A severity change, then a withdrawal (the finding is resolved).
    feed.set(
        "SHOP-1",
        advisory("SHOP-1", "1.5", "CRITICAL", "2026-11-05T00:00:00Z", false),
    );
    run(0);
    let sent = posts(&hook);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].1["kind"], "severity-changed");
    assert_eq!(sent[1].1["severity"], "critical");
    feed.set(
        "SHOP-2",
        advisory("SHOP-2", "2.0", "HIGH", "2026-11-06T00:00:00Z", true),
    );
    run(0);
    let sent = posts(&hook);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2].1["kind"], "resolved");
    assert_eq!(sent[2].1["finding"]["id"], "SHOP-2");
}

/// An OSV directory for runs that need no feed (`--offline --db DIR`).
fn osv_dir(env: &Env, records: &[(&str, String)]) -> PathBuf {
    let dir = env.dir.path().join("osv");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (id, json) in records {
        fs::write(dir.join(format!("{id}.json")), json).unwrap();
    }
    dir
}

/// An OSV directory holding SHOP-1 (high, fixed in 1.5).
fn shop_1(env: &Env) -> PathBuf {
    osv_dir(
        env,
        &[(
            "SHOP-1",
            advisory("SHOP-1", "1.5", "HIGH", "2026-10-01T00:00:00Z", false),
        )],
    )
}

fn offline_monitor(env: &Env, osv: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    env.cmd()
        .args([
            "monitor",
            "shop",
            "--offline",
            "--no-bundled",
            "--alert-existing",
            "--allow-http-webhook",
        ])
        .arg("--db")
        .arg(osv)
        .arg("--state")
        .arg(env.dir.path().join("state/monitor.db"))
        .args(extra)
        .assert()
}

#[test]
fn slack_teams_and_email_messages() {
    let env = Env::new();
    let osv = shop_1(&env);
    let (hook, _) = receiver(0);
    let smtp = Smtp::start(&env.tls);
    offline_monitor(
        &env,
        &osv,
        &[
            "--slack",
            &format!("{}/slack", hook.url),
            "--teams",
            &format!("{}/teams", hook.url),
            "--email",
            "sec@example.com",
            "--email-from",
            "stormwatch@example.com",
            "--smtp",
            &format!("127.0.0.1:{}", smtp.port),
        ],
    )
    .code(0);
    let reqs = hook.requests();
    let body = |path: &str| -> Value {
        serde_json::from_slice(&reqs.iter().find(|r| r.path == path).unwrap().body).unwrap()
    };
    let slack = body("/slack");
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("shoplib 1.0 -> 1.5"),
        "{slack}"
    );
    let teams = body("/teams");
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
    let mail = smtp.mail();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].tls, "the message went over STARTTLS");
    assert_eq!(mail[0].to, ["sec@example.com"]);
    assert!(
        mail[0].data.contains("shoplib 1.0 -> 1.5"),
        "{}",
        mail[0].data
    );
}

#[test]
fn smtp_credentials_come_from_the_environment() {
    let env = Env::new();
    let osv = shop_1(&env);
    let smtp = Smtp::start(&env.tls);
    env.cmd()
        .env("STORMWATCH_SMTP_USERNAME", "alerts")
        .env("STORMWATCH_SMTP_PASSWORD", "s3cret")
        .args([
            "monitor",
            "shop",
            "--offline",
            "--no-bundled",
            "--alert-existing",
            "--db",
        ])
        .arg(&osv)
        .arg("--state")
        .arg(env.dir.path().join("state/monitor.db"))
        .args([
            "--email",
            "sec@example.com",
            "--email-from",
            "sw@example.com",
            "--smtp",
        ])
        .arg(format!("127.0.0.1:{}", smtp.port))
        .assert()
        .code(0);
    let mail = smtp.mail();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].auth, Some(("alerts".into(), "s3cret".into())));
}

#[test]
fn a_failed_update_is_a_failure_event_never_nothing_new() {
    let env = Env::new();
    let (hook, _) = receiver(0);
    // A port with nothing listening.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "https://127.0.0.1:{}/all.zip",
            l.local_addr().unwrap().port()
        )
    };
    let a = env
        .monitor(
            &dead,
            &["--webhook", &format!("{}/hook", hook.url), "--retries", "1"],
        )
        .code(2);
    let err = stderr(&a);
    assert!(err.contains("advisory update failed"), "{err}");
    // The update failed, so there is no database, so the audit could not run: each is said.
    let sent = posts(&hook);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent.iter().all(|(_, b)| b["kind"] == "failure"));
    for expected in [
        "advisory update failed",
        "no advisory database",
        "audit failed",
    ] {
        assert!(
            sent.iter()
                .any(|(_, b)| b["detail"].as_str().unwrap().contains(expected)),
            "{expected}: {sent:?}"
        );
    }
}

#[test]
fn deadlines_and_expiring_ignores_are_reminded_once() {
    let env = Env::new();
    let osv = osv_dir(
        &env,
        &[
            (
                "SHOP-1",
                advisory("SHOP-1", "1.5", "HIGH", "2026-10-01T00:00:00Z", false),
            ),
            (
                "SHOP-2",
                advisory("SHOP-2", "1.6", "LOW", "2026-10-01T00:00:00Z", false),
            ),
        ],
    );
    fs::write(
        env.project().join("stormwatch.toml"),
        "[deadlines]\nhigh = 30\n\n[[ignore]]\nid = \"SHOP-2\"\nreason = \"not reachable\"\nexpires = \"2026-11-05\"\n\n[monitor]\nproject = \"shop-prod\"\n",
    )
    .unwrap();
    let run = |today: &str| {
        let mut c = env.cmd();
        c.args([
            "monitor",
            "shop",
            "--offline",
            "--no-bundled",
            "--format",
            "json",
            "--db",
        ])
        .arg(&osv)
        .arg("--state")
        .arg(env.dir.path().join("state/monitor.db"))
        .args(["--today", today]);
        let out = c.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    // Published 2026-10-01, high: due 2026-10-31. First run on 2026-10-01: recorded.
    assert!(run("2026-10-01").is_empty());
    // 2026-10-28: due in 3 days; the ignore expires in 8 days (beyond the 7-day warning).
    let near = run("2026-10-28");
    assert_eq!(near.len(), 1, "{near:?}");
    assert_eq!(near[0]["kind"], "deadline-near");
    assert_eq!(near[0]["project"], "shop-prod");
    // 2026-10-29: the ignore expires in 7 days; the deadline was already reminded.
    let kinds = |events: Vec<Value>| -> Vec<String> {
        events
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kinds(run("2026-10-29")), ["ignore-expiring"]);
    // 2026-11-01: overdue; the ignore was already announced.
    assert_eq!(kinds(run("2026-11-01")), ["deadline-passed"]);
    assert!(run("2026-11-02").is_empty());
}

#[test]
fn proxies_from_the_environment_are_used_unless_no_proxy_says_otherwise() {
    let env = Env::new();
    let (_feed, server, url) = feed_with(&env, "HIGH");
    // A proxy that refuses every tunnel: the update fails through it.
    let proxy = Server::start(None, |_| Reply::status(403));
    let a = env
        .cmd()
        .env("HTTPS_PROXY", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .args(["db", "update", "--retries", "1", "--source", &url])
        .assert()
        .code(2);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{}", stderr(&a));
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].path, server.url.trim_start_matches("https://"));
    assert_eq!(gets(&server), 0);
    // NO_PROXY: straight to the server.
    env.cmd()
        .env("HTTPS_PROXY", &proxy.url)
        .env("NO_PROXY", "127.0.0.1")
        .args(["db", "update", "--source", &url])
        .assert()
        .code(0);
    assert_eq!(proxy.requests().len(), 1);
    assert_eq!(gets(&server), 1);
}

/// The PyPA advisory database as GitHub serves it: a zip of the repository, advisories in
/// YAML under vulns/, and workflow files under .github/ that are not advisories.
#[test]
fn the_pypa_archive_and_policy_sources() {
    let env = Env::new();
    let zip_path = env.dir.path().join("advisory-database-main.zip");
    {
        let mut z = zip::ZipWriter::new(fs::File::create(&zip_path).unwrap());
        let o: zip::write::SimpleFileOptions = Default::default();
        z.start_file("advisory-database-main/.github/workflows/lint.yml", o)
            .unwrap();
        z.write_all(b"on: [push]\njobs: {lint: {runs-on: ubuntu-latest}}\n")
            .unwrap();
        z.start_file("advisory-database-main/vulns/tornado/PYSEC-2099-1.yaml", o)
            .unwrap();
        z.write_all(
            b"id: PYSEC-2099-1\nmodified: '2099-01-02T00:00:00Z'\npublished: '2099-01-01T00:00:00Z'\naffected:\n- package: {name: tornado, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events: [{introduced: '0'}, {fixed: '99.0'}]\n",
        )
        .unwrap();
        z.finish().unwrap();
    }
    // The source comes from the policy in the current directory.
    fs::write(
        env.dir.path().join("stormwatch.toml"),
        "[advisories]\nsources = [\"advisory-database-main.zip\"]\n",
    )
    .unwrap();
    let a = env.cmd().args(["db", "update"]).assert().code(0);
    assert!(
        stdout(&a).contains("Imported 1 advisories"),
        "{}",
        stdout(&a)
    );
    // The database knows a Tornado advisory newer than the bundled set: status says so.
    let status = env.status();
    assert_eq!(
        status["bundled"]["newer_in_database"]["id"], "PYSEC-2099-1",
        "{status}"
    );
    let text = env.cmd().args(["db", "status"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("older than the newest Tornado advisory"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

/// Without a database only Tornado is checked: a clean result says so instead of reading as
/// the all-clear; with stale data, the same.
#[test]
fn a_clean_result_is_never_the_all_clear_without_current_data() {
    let env = Env::new();
    let out = env.cmd().args(["deps", "shop"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("No known vulnerabilities found, but only Tornado was checked"),
        "{text}"
    );
    let out = env
        .cmd()
        .args(["deps", "shop", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(json_of(&out.stdout)["advisory_data"]["tornado_only"], true);

    let osv = osv_dir(
        &env,
        &[(
            "OTHER-1",
            advisory("OTHER-1", "1.5", "HIGH", "2026-10-01T00:00:00Z", false)
                .replace("shoplib", "otherlib"),
        )],
    );
    env.cmd()
        .args(["db", "update", "--source"])
        .arg(&osv)
        .assert()
        .code(0);
    let later = time::OffsetDateTime::now_utc().date() + time::Duration::days(9);
    let out = env
        .cmd()
        .args(["deps", "shop", "--today"])
        .arg(later.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("No known vulnerabilities found, but the advisory data is 9 days old"),
        "{text}"
    );
}

/// Channels from the policy, each with its own minimum severity; the URL from the
/// environment variable the policy names.
#[test]
fn policy_channels_route_by_severity() {
    let env = Env::new();
    let osv = shop_1(&env);
    let (loud, _) = receiver(0);
    let (quiet, _) = receiver(0);
    fs::write(
        env.project().join("stormwatch.toml"),
        "[[monitor.channel]]\ntype = \"webhook\"\nurl-env = \"QUIET_HOOK\"\nmin-severity = \"critical\"\n\n[[monitor.channel]]\ntype = \"webhook\"\nurl-env = \"LOUD_HOOK\"\nmin-severity = \"high\"\n",
    )
    .unwrap();
    let run = |set_env: bool| {
        let mut c = env.cmd();
        if set_env {
            c.env("QUIET_HOOK", format!("{}/q", quiet.url))
                .env("LOUD_HOOK", format!("{}/l", loud.url));
        }
        c.args([
            "monitor",
            "shop",
            "--offline",
            "--no-bundled",
            "--alert-existing",
            "--allow-http-webhook",
            "--db",
        ])
        .arg(&osv)
        .arg("--state")
        .arg(env.dir.path().join("state/monitor.db"))
        .assert()
    };
    // A variable the policy names but the environment lacks is an error naming the line.
    let a = run(false).code(2);
    assert!(
        stderr(&a)
            .contains("stormwatch.toml:1: monitor channel: the environment variable QUIET_HOOK"),
        "{}",
        stderr(&a)
    );
    run(true).code(0);
    assert_eq!(
        posts(&loud).len(),
        1,
        "a high event reaches the high channel"
    );
    assert!(posts(&quiet).is_empty(), "and not the critical one");
}

/// Several projects in one state file: each is compared with its own previous run.
#[test]
fn projects_share_a_state_file_without_mixing() {
    let env = Env::new();
    let osv = shop_1(&env);
    let (hook, _) = receiver(0);
    let hook_url = format!("{}/hook", hook.url);
    let run = |project: &str| {
        env.cmd()
            .args([
                "monitor",
                "shop",
                "--offline",
                "--no-bundled",
                "--project",
                project,
                "--allow-http-webhook",
                "--db",
            ])
            .arg(&osv)
            .arg("--state")
            .arg(env.dir.path().join("state/monitor.db"))
            .args(["--webhook", &hook_url])
            .assert()
            .code(0)
    };
    let a = run("one");
    assert!(
        stderr(&a).contains("first run for project `one`"),
        "{}",
        stderr(&a)
    );
    let b = run("two");
    assert!(
        stderr(&b).contains("first run for project `two`"),
        "{}",
        stderr(&b)
    );
    // A new advisory: each project hears of it once, under its own name.
    fs::write(
        osv.join("SHOP-9.json"),
        advisory("SHOP-9", "9.0", "HIGH", "2026-11-01T00:00:00Z", false),
    )
    .unwrap();
    run("one");
    run("two");
    run("one");
    let projects: Vec<String> = posts(&hook)
        .iter()
        .map(|(_, b)| b["project"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(projects, ["one", "two"]);
}
