//! `monitor` reading an OSV collection directly (`--db DIR`) whose records change between
//! runs: a finding is resolved only when the data says so (the advisory withdrawn, its
//! ranges moved) or the pin changed, never because its advisory is simply gone.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sw;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

/// An OSV record: `package` below 9.0 affected by `id`, withdrawn when `withdrawn` says when.
fn advisory(id: &str, package: &str, withdrawn: Option<&str>) -> String {
    let withdrawn = withdrawn.map_or(String::new(), |w| format!(r#""withdrawn":"{w}","#));
    format!(
        r#"{{"id":"{id}",{withdrawn}"modified":"2026-10-01T00:00:00Z","published":"2026-10-01T00:00:00Z","summary":"{id} in {package}","affected":[{{"package":{{"name":"{package}","ecosystem":"PyPI"}},"ranges":[{{"type":"ECOSYSTEM","events":[{{"introduced":"0"}},{{"fixed":"9.0"}}]}}]}}],"database_specific":{{"severity":"HIGH"}}}}"#
    )
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    /// A project pinning requests 2.0 and flask 1.0.
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("app")).unwrap();
        let env = Env { dir };
        env.pin("flask==1.0");
        env
    }

    fn pin(&self, flask: &str) {
        fs::write(
            self.dir.path().join("app/requirements.txt"),
            format!("requests==2.0\n{flask}\n"),
        )
        .unwrap();
    }

    /// The OSV directory `name` holding `records` (id, package, withdrawn).
    fn osv(&self, name: &str, records: &[(&str, &str, Option<&str>)]) -> PathBuf {
        let dir = self.dir.path().join(name);
        fs::create_dir_all(&dir).unwrap();
        for (id, package, withdrawn) in records {
            fs::write(
                dir.join(format!("{id}.json")),
                advisory(id, package, *withdrawn),
            )
            .unwrap();
        }
        dir
    }

    /// One `monitor` run on `osv`: its exit code, the events it printed, its stderr.
    fn run(&self, osv: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
        let out = sw(self.dir.path())
            .env("STORMWATCH_STATE", self.dir.path().join("state/monitor.db"))
            .args([
                "monitor",
                "app",
                "--offline",
                "--no-bundled",
                "--format",
                "json",
            ])
            .arg("--db")
            .arg(osv)
            .args(extra)
            .timeout(LIMIT)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let events = stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let code = out.status.code().unwrap_or(-1);
        (
            code,
            events,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default())
        .collect()
}

/// Issue 25 item 8: the flask advisory's record removed from the collection (alone, or
/// with an unrelated one added so that the package count holds) resolves nothing while
/// flask is still 1.0: a failure event, exit 2, the finding kept; accepted with
/// --accept-data-change.
#[test]
fn an_advisory_gone_from_the_data_does_not_resolve_its_finding() {
    let env = Env::new();
    let both = env.osv(
        "both",
        &[("PYSEC-R", "requests", None), ("PYSEC-F", "flask", None)],
    );
    let (code, events, err) = env.run(&both, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(events.is_empty(), "{events:?}");

    // The flask record removed: the collection covers one package of two.
    let fewer = env.osv("fewer", &[("PYSEC-R", "requests", None)]);
    let (code, events, err) = env.run(&fewer, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(kinds(&events), ["failure"], "{events:?}");

    // Removed, an unrelated record added: as many packages, the advisory still gone.
    let swapped = env.osv(
        "swapped",
        &[("PYSEC-R", "requests", None), ("PYSEC-D", "django", None)],
    );
    let (code, events, err) = env.run(&swapped, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(kinds(&events), ["failure"], "{events:?}");
    let detail = events[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("no longer holds PYSEC-F for flask 1.0")
            && detail.contains("--accept-data-change"),
        "{detail}"
    );

    // The data back: the finding was kept, so nothing is new.
    let (code, events, err) = env.run(&both, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(events.is_empty(), "{events:?}");

    // The change accepted: resolved.
    let (code, events, err) = env.run(&swapped, &["--accept-data-change"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kinds(&events), ["resolved"], "{events:?}");
    assert!(
        events[0]["title"].as_str().unwrap().contains("PYSEC-F"),
        "{events:?}"
    );
}

/// What the data says still resolves: the advisory withdrawn, or the pin upgraded past it
/// (even when the record is gone in the same run).
#[test]
fn a_withdrawn_advisory_or_an_upgrade_still_resolves() {
    let env = Env::new();
    let both = env.osv(
        "both",
        &[("PYSEC-R", "requests", None), ("PYSEC-F", "flask", None)],
    );
    assert_eq!(env.run(&both, &[]).0, 0);
    let withdrawn = env.osv(
        "withdrawn",
        &[
            ("PYSEC-R", "requests", None),
            ("PYSEC-F", "flask", Some("2026-10-05T00:00:00Z")),
        ],
    );
    let (code, events, err) = env.run(&withdrawn, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kinds(&events), ["resolved"], "{events:?}");

    // Back, then the pin upgraded while the record disappears with an unrelated one added.
    let (_, events, _) = env.run(&both, &[]);
    assert_eq!(kinds(&events), ["new"], "{events:?}");
    env.pin("flask==9.0");
    let swapped = env.osv(
        "swapped",
        &[("PYSEC-R", "requests", None), ("PYSEC-D", "django", None)],
    );
    let (code, events, err) = env.run(&swapped, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(kinds(&events), ["resolved"], "{events:?}");
}
