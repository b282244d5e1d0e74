//! `monitor` against receivers and data that misbehave: overlapping runs on one state,
//! receivers that answer late or never, advisory data that goes missing or shrinks, and
//! channel URLs that are not https. Every receiver is a real server on 127.0.0.1 that
//! counts what it was sent; each command is bounded by a timeout so a hang fails the test.

mod common;
#[path = "common/server.rs"]
mod server;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::sw;
use serde_json::Value;
use server::{Reply, Server};

const LIMIT: Duration = Duration::from_secs(90);

/// An OSV record: `package` (below `fixed`) affected by `id`.
fn advisory(id: &str, package: &str, fixed: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2026-10-01T00:00:00Z","published":"2026-10-01T00:00:00Z","summary":"{id} in {package}","affected":[{{"package":{{"name":"{package}","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}]}}]}}],"database_specific":{{"severity":"HIGH"}}}}"#
    )
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    /// A project pinning shoplib 1.0 and otherlib 1.0.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("shop");
        fs::create_dir_all(&project).unwrap();
        fs::write(
            project.join("requirements.txt"),
            "shoplib==1.0\notherlib==1.0\n",
        )
        .unwrap();
        Env { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn state(&self) -> PathBuf {
        self.path("state/monitor.db")
    }

    /// An OSV directory `name` holding `records` (id, package).
    fn osv(&self, name: &str, records: &[(&str, &str)]) -> PathBuf {
        let dir = self.path(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for (id, package) in records {
            fs::write(dir.join(format!("{id}.json")), advisory(id, package, "9.0")).unwrap();
        }
        dir
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = sw(self.dir.path());
        c.env("STORMWATCH_DB", self.path("data/advisories.db"))
            .timeout(LIMIT);
        c
    }

    /// `monitor` of the project, reading the OSV directory `osv` directly.
    fn monitor(&self, osv: &Path, extra: &[&str]) -> assert_cmd::Command {
        let mut c = self.cmd();
        c.args(["monitor", "shop", "--offline", "--no-bundled", "--db"])
            .arg(osv)
            .arg("--state")
            .arg(self.state())
            .args(extra);
        c
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A receiver that counts POSTs, answering each after `delay` with `reply`.
fn receiver(delay: Duration, status: u16) -> Server {
    Server::start(None, move |_| {
        std::thread::sleep(delay);
        Reply::status(status)
    })
}

/// (Idempotency-Key, body) of every POST the receiver saw.
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

fn kinds(sent: &[(String, Value)]) -> Vec<String> {
    sent.iter()
        .map(|(_, b)| b["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Issue 25 item 9: runs started together on one state file (also for two projects
/// sharing it) deliver each event once; a run that cannot get the state says who holds it.
#[test]
fn overlapping_runs_on_one_state_deliver_each_event_once() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib")]);
    // A slow receiver keeps each run in its delivery while the others start.
    let hook = receiver(Duration::from_millis(500), 200);
    let url = format!("{}/hook", hook.url);
    let children: Vec<_> = ["one", "one", "two", "two", "one"]
        .iter()
        .map(|project| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("stormwatch"));
            c.current_dir(env.dir.path())
                .env("STORMWATCH_DB", env.path("data/advisories.db"))
                .env("NO_COLOR", "1")
                .args(["monitor", "shop", "--offline", "--no-bundled", "--db"])
                .arg(&osv)
                .arg("--state")
                .arg(env.state())
                .args([
                    "--alert-existing",
                    "--allow-http-webhook",
                    "--project",
                    project,
                    "--webhook",
                    &url,
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let sent = posts(&hook);
    let mut projects: Vec<&str> = sent
        .iter()
        .map(|(_, b)| b["project"].as_str().unwrap())
        .collect();
    projects.sort();
    assert_eq!(projects, ["one", "two"], "one delivery per project");
    assert!(kinds(&sent).iter().all(|k| k == "new"), "{sent:?}");

    // Another run holds the state: a clear message, exit 2, nothing sent.
    let held = stormwatch_monitor::lock(&env.state(), Duration::ZERO).unwrap();
    let out = env
        .monitor(
            &osv,
            &[
                "--lock-wait",
                "1",
                "--allow-http-webhook",
                "--webhook",
                &url,
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another monitor run holds"),
        "{}",
        stderr(&out)
    );
    drop(held);
    assert_eq!(posts(&hook).len(), 2);
}

/// Issue 25 item 9: an event's Idempotency-Key comes from its content, not from when or
/// by which run it was found: the same change recorded twice has the same key.
#[test]
fn the_same_change_always_has_the_same_key() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib")]);
    let hook = receiver(Duration::ZERO, 200);
    let url = format!("{}/hook", hook.url);
    for state in ["a.db", "b.db"] {
        env.cmd()
            .args(["monitor", "shop", "--offline", "--no-bundled", "--db"])
            .arg(&osv)
            .arg("--state")
            .arg(env.path(state))
            .args([
                "--alert-existing",
                "--allow-http-webhook",
                "--webhook",
                &url,
            ])
            .assert()
            .code(0);
        // A later second: the event's creation time differs, its key must not.
        std::thread::sleep(Duration::from_millis(1100));
    }
    let sent = posts(&hook);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, sent[1].0, "{sent:?}");
    assert_ne!(sent[0].1["created"], sent[1].1["created"]);
}

/// Issue 25 item 10: a receiver that answers after the timeout gets each event once in a
/// run, however many retries are allowed, and not again on the next run before the back-off
/// has passed.
#[test]
fn a_late_receiver_gets_each_event_once_per_run() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib"), ("OTHER-1", "otherlib")]);
    // Keys are noted as requests arrive: the server records a request only once answered.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let hook = {
        let seen = seen.clone();
        Server::start(None, move |r| {
            seen.lock()
                .unwrap()
                .push(r.header("idempotency-key").unwrap_or_default().to_string());
            std::thread::sleep(Duration::from_secs(3));
            Reply::status(200)
        })
    };
    let url = format!("{}/hook", hook.url);
    let args = [
        "--alert-existing",
        "--allow-http-webhook",
        "--webhook",
        &url,
        "--timeout",
        "1",
        "--retries",
        "5",
    ];
    let out = env.monitor(&osv, &args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let sent = seen.lock().unwrap().clone();
    let keys: HashSet<&str> = sent.iter().map(String::as_str).collect();
    assert_eq!(sent.len(), 2, "one attempt per event: {sent:?}");
    assert_eq!(keys.len(), 2, "{sent:?}");

    // The next run at once: both are backing off, nothing is sent.
    let out = env.monitor(&osv, &args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 waiting to be retried"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

/// A receiver that answers the first `failures` POSTs with 503, then 200.
fn failing(failures: usize) -> Server {
    let count = Arc::new(AtomicUsize::new(0));
    Server::start(None, move |_| {
        if count.fetch_add(1, Ordering::SeqCst) < failures {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    })
}

/// One attempt per run, whatever `--retries` says; a failed delivery is tried again on a
/// later run (here at once: `--retry-after 0`) under the same key, until accepted.
#[test]
fn a_failing_receiver_gets_the_event_exactly_once_across_runs() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib")]);
    let hook = failing(2);
    let url = format!("{}/hook", hook.url);
    let args = [
        "--alert-existing",
        "--allow-http-webhook",
        "--webhook",
        &url,
        "--retries",
        "3",
        "--retry-after",
        "0",
    ];
    for run in 1..=2 {
        let out = env.monitor(&osv, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("not delivered, queued for a later run"),
            "{err}"
        );
        assert!(err.contains("503"), "{err}");
        assert_eq!(posts(&hook).len(), run);
    }
    env.monitor(&osv, &args).assert().code(0);
    env.monitor(&osv, &args).assert().code(0);
    let sent = posts(&hook);
    assert_eq!(sent.len(), 3, "{sent:?}");
    let keys: HashSet<&str> = sent.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 1, "every attempt carries the same key");
}

/// An event a receiver refuses stays queued; a run without that channel says so.
#[test]
fn an_event_that_cannot_be_delivered_stays_queued_and_is_reported() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib")]);
    let hook = failing(usize::MAX);
    let url = format!("{}/hook", hook.url);
    let out = env
        .monitor(
            &osv,
            &[
                "--alert-existing",
                "--allow-http-webhook",
                "--webhook",
                &url,
            ],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = env.monitor(&osv, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 queued for channels not configured"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&hook).len(), 1);
}

/// Issue 25 item 10: a receiver that never answers costs at most the run's delivery
/// budget, whatever the number of queued events, timeouts and retries.
#[test]
fn a_receiver_that_never_answers_costs_at_most_the_budget() {
    let env = Env::new();
    let records: Vec<(String, &str)> = (1..=6).map(|i| (format!("SHOP-{i}"), "shoplib")).collect();
    let refs: Vec<(&str, &str)> = records.iter().map(|(i, p)| (i.as_str(), *p)).collect();
    let osv = env.osv("osv", &refs);
    let hook = Server::start(None, |_| Reply::Hang);
    let url = format!("{}/hook", hook.url);
    let start = Instant::now();
    let out = env
        .monitor(
            &osv,
            &[
                "--alert-existing",
                "--allow-http-webhook",
                "--webhook",
                &url,
                "--timeout",
                "30",
                "--retries",
                "3",
                "--delivery-budget",
                "3",
            ],
        )
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Budget 3 s; the rest is start-up and slack on a loaded machine.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        stderr(&out).contains("left for the next run (--delivery-budget 3 s spent)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&hook).len(), 1, "one delivery fits in the budget");
}

/// Issue 25 item 8: with the advisory database gone, stale, or shrunk, a run resolves
/// nothing: a failure event, exit 2, the state kept, so that the data's return is not a
/// wave of "new" events either.
#[test]
fn incomplete_advisory_data_never_resolves_findings() {
    let env = Env::new();
    let osv = env.osv("feed", &[("SHOP-1", "shoplib"), ("OTHER-1", "otherlib")]);
    let db = env.path("data/advisories.db");
    env.cmd()
        .args(["db", "update", "--source"])
        .arg(&osv)
        .assert()
        .code(0);
    let hook = receiver(Duration::ZERO, 200);
    let url = format!("{}/hook", hook.url);
    let run = |extra: &[&str], code: i32| {
        let out = env
            .cmd()
            .args(["monitor", "shop", "--offline", "--state"])
            .arg(env.state())
            .args(["--allow-http-webhook", "--webhook", &url])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        stderr(&out)
    };
    let today = time::OffsetDateTime::now_utc().date();
    run(&[], 0);

    // The database is gone: only the bundled Tornado set is left.
    fs::rename(&db, env.path("advisories.db.away")).unwrap();
    let err = run(&[], 2);
    assert!(err.contains("advisory data incomplete"), "{err}");
    let sent = posts(&hook);
    assert_eq!(kinds(&sent), ["failure"], "{sent:?}");
    let detail = sent[0].1["detail"].as_str().unwrap();
    assert!(detail.contains("no advisory database"), "{detail}");

    // Back: nothing new, nothing resolved (the failed run kept the recorded findings).
    fs::rename(env.path("advisories.db.away"), &db).unwrap();
    run(&[], 0);
    assert_eq!(posts(&hook).len(), 1, "{:?}", posts(&hook));

    // Stale beyond max-age.
    let later = (today + time::Duration::days(30)).to_string();
    let err = run(&["--today", &later], 2);
    assert!(err.contains("days old"), "{err}");
    assert_eq!(kinds(&posts(&hook)), ["failure", "failure"]);

    // Shrunk: the same source now covers one package of two (forced past the import's
    // guard). Nothing is resolved until the change is accepted.
    env.osv("feed", &[("SHOP-1", "shoplib")]);
    env.cmd()
        .args(["db", "update", "--force", "--source"])
        .arg(&osv)
        .assert()
        .code(0);
    let err = run(&[], 2);
    assert!(
        err.contains("covers 1 packages, the previous run's covered 2"),
        "{err}"
    );
    assert_eq!(kinds(&posts(&hook)), ["failure", "failure", "failure"]);
    let err = run(&["--accept-data-change"], 0);
    assert!(!err.contains("incomplete"), "{err}");
    assert_eq!(
        kinds(&posts(&hook)),
        ["failure", "failure", "failure", "resolved"],
        "the deliberate change is compared"
    );
}

/// Issue 25 item 15: webhook, Slack and Teams URLs are https:// with a host; http:// only
/// with --allow-http-webhook; other schemes never. The error names the flag or the policy
/// line, and nothing is sent.
#[test]
fn channel_urls_must_be_https() {
    let env = Env::new();
    let osv = env.osv("osv", &[("SHOP-1", "shoplib")]);
    let hook = receiver(Duration::ZERO, 200);
    let plain = format!("{}/hook?token=s3cret", hook.url);
    for (flag, url, expected) in [
        ("--webhook", plain.as_str(), "--webhook (#1): plain http://"),
        (
            "--slack",
            "file:///etc/passwd",
            "--slack (#1): `file:` URLs",
        ),
        ("--teams", "gopher://127.0.0.1/x", "--teams (#1): `gopher:`"),
        ("--webhook", "not a url", "--webhook (#1): not a valid URL"),
    ] {
        let out = env
            .monitor(&osv, &["--alert-existing", flag, url])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{url}: {err}");
        assert!(
            !err.contains("s3cret"),
            "the URL's secret is not repeated: {err}"
        );
    }
    // From the policy: the line and the variable are named.
    fs::write(
        env.path("shop/stormwatch.toml"),
        "[[monitor.channel]]\ntype = \"slack\"\nurl-env = \"HOOK\"\n",
    )
    .unwrap();
    let out = env
        .monitor(&osv, &["--alert-existing"])
        .env("HOOK", "ftp://example.com/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("stormwatch.toml:1: monitor channel (slack, url-env HOOK)"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(env.path("shop/stormwatch.toml")).unwrap();
    assert!(posts(&hook).is_empty());
    // Allowed explicitly: delivered.
    env.monitor(
        &osv,
        &[
            "--alert-existing",
            "--allow-http-webhook",
            "--webhook",
            &plain,
        ],
    )
    .assert()
    .code(0);
    assert_eq!(posts(&hook).len(), 1);
}
