//! `db update` and `db import` against hostile advisory servers and archives: dribbling
//! servers, killed downloads, huge archives, plain HTTP, redirects to internal addresses,
//! and feeds that would silently replace the real data.

mod common;
#[path = "common/server.rs"]
mod server;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::sw;
use server::{Reply, Server, Tls};

/// Every command here must end by itself well within this.
const LIMIT: Duration = Duration::from_secs(60);

/// One small PyPI advisory for `package`.
fn record(id: &str, package: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z","affected":[{{"package":{{"name":"{package}","ecosystem":"PyPI"}},"versions":["1.0"]}}]}}"#
    )
}

/// A zip of `records` (name, JSON), written by a seekable writer (sizes in each header).
fn zip_of(records: impl IntoIterator<Item = (String, String)>) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, json) in records {
        z.start_file(name, o).unwrap();
        z.write_all(json.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

/// `n` advisories for `pkg-0` .. `pkg-{n-1}`, plus two for Tornado.
fn feed(n: usize) -> Vec<u8> {
    zip_of(
        (0..n)
            .map(|i| {
                (
                    format!("ADV-{i}.json"),
                    record(&format!("ADV-{i}"), &format!("pkg-{i}")),
                )
            })
            .chain((0..2).map(|i| {
                (
                    format!("TORNADO-{i}.json"),
                    record(&format!("TORNADO-{i}"), "tornado"),
                )
            })),
    )
}

/// Reads one request's head; its path.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    let _ = reader.read_line(&mut first);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
    }
    first.split_whitespace().nth(1).unwrap_or("/").to_string()
}

/// A server on 127.0.0.1 answering each connection (in its own thread) with
/// `answer(path, stream)`; its address. The threads end with the test process.
fn serve(answer: fn(&str, &mut TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let path = read_request(&mut stream);
                answer(&path, &mut stream);
            });
        }
    });
    addr
}

fn stdout_and_err(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Item 13: the import streams records from the archive into the database, so its peak
/// memory does not grow with the record count. 150,000 records prove it: the former
/// import held every parsed record (about 3.5 KB each: 500k took 1.75 GB), so it needed
/// over 500 MB here; the bound checked is the 300 MB required for any count.
#[test]
#[ignore = "slow (imports 150,000 records) and needs /usr/bin/time; .ci/run runs it"]
fn import_of_a_huge_archive_stays_within_bounded_memory() {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        assert!(
            std::env::var_os("STORMWATCH_SKIP_RSS_TEST").is_some(),
            "/usr/bin/time is needed to measure the import's peak memory \
             (set STORMWATCH_SKIP_RSS_TEST=1 to skip)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.zip"), feed(150_000)).unwrap();
    let binary = assert_cmd::cargo::cargo_bin("stormwatch");
    let out = std::process::Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(dir.path().join("rss"))
        .arg(binary)
        .args(["db", "import", "huge.zip", "--db", "adv.db"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("150002 advisories"),
        "{}",
        stdout_and_err(&out)
    );
    let rss = std::fs::read_to_string(dir.path().join("rss")).unwrap();
    let kib: u64 = rss
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS in {rss:?}"));
    eprintln!("peak RSS of the import: {} MiB", kib / 1024);
    assert!(
        kib < 300 * 1024,
        "peak RSS {} MiB for 150k records",
        kib / 1024
    );
}

/// Answers with headers promising `declared` bytes, then one byte per second.
fn dribble(_: &str, s: &mut TcpStream) {
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 1000000\r\n\r\n"
    );
    for _ in 0..600 {
        if s.write_all(b"P").and_then(|_| s.flush()).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn downloads_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("adv.sources"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".download-"))
                .collect()
        })
        .unwrap_or_default()
}

fn update(dir: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let start = Instant::now();
    let out = sw(dir)
        .args(["db", "update", "--db", "adv.db", "--source", url])
        .args(extra)
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert!(start.elapsed() < LIMIT, "db update hung");
    out
}

/// Item 11: a server that sends one byte a second keeps each read alive, so only an overall
/// deadline ends the download: exit 2 naming the URL and the deadline, across all retries.
/// Item 12: the failed download's temporary file is removed.
#[test]
fn a_dribbling_server_is_cut_off_by_the_download_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/all.zip", serve(dribble));
    let start = Instant::now();
    let out = update(
        dir.path(),
        &url,
        &[
            "--allow-http",
            "--timeout",
            "3",
            "--retries",
            "3",
            "--download-deadline",
            "4",
        ],
    );
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(start.elapsed() < Duration::from_secs(30), "{text}");
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("4s deadline"), "{text}");
    assert!(downloads_left(dir.path()).is_empty());
    assert!(!dir.path().join("adv.db").exists());
}

/// Item 12: a killed update's download file stays behind only until the next update or
/// import; a file another live run is still writing is left alone.
#[test]
fn killed_downloads_are_removed_by_the_next_run_but_live_ones_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let slow = format!("http://{}/all.zip", serve(dribble));
    let start_slow = || {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("stormwatch"))
            .args([
                "db",
                "update",
                "--db",
                "adv.db",
                "--allow-http",
                "--source",
                &slow,
            ])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while downloads_left(dir.path()).is_empty() {
            assert!(start.elapsed() < LIMIT, "no download file appeared");
            assert!(
                child.try_wait().unwrap().is_none(),
                "the update ended early"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    };
    let mut killed = start_slow();
    killed.kill().unwrap(); // SIGKILL: no chance to clean up
    killed.wait().unwrap();
    let leftover = downloads_left(dir.path());
    assert_eq!(leftover.len(), 1, "{leftover:?}");

    // A live run holds its file: an import into the same database meanwhile keeps it and
    // removes only the killed run's.
    let mut live = start_slow();
    std::thread::sleep(Duration::from_millis(300));
    let vulns = dir.path().join("vulns");
    std::fs::create_dir_all(&vulns).unwrap();
    std::fs::write(vulns.join("T-1.json"), record("T-1", "tornado")).unwrap();
    let out = sw(dir.path())
        .args(["db", "import", "vulns", "--db", "adv.db"])
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    let now = downloads_left(dir.path());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(
        now, leftover,
        "the killed run's file is gone, the live one's kept"
    );
    live.kill().unwrap();
    live.wait().unwrap();

    // The next update (here from a good source) removes what the killed run left.
    let good = Server::start(None, |_| {
        Reply::ok(feed(3), &[("Content-Type", "application/zip")])
    });
    let out = update(
        dir.path(),
        &format!("{}/all.zip", good.url),
        &["--allow-http", "--force"],
    );
    assert!(out.status.success(), "{}", stdout_and_err(&out));
    assert!(downloads_left(dir.path()).is_empty());
}

/// Item 14: plain HTTP is refused unless allowed, before any request is sent.
#[test]
fn plain_http_sources_are_refused_without_allow_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(None, |_| {
        Reply::ok(feed(3), &[("Content-Type", "application/zip")])
    });
    let url = format!("{}/all.zip", server.url);
    let out = update(dir.path(), &url, &[]);
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--allow-http"), "{text}");
    assert!(server.requests().is_empty());
    let out = update(dir.path(), &url, &["--allow-http"]);
    assert!(out.status.success(), "{}", stdout_and_err(&out));
}

/// Item 14: redirects are followed only where the source itself could go: a loopback
/// source may redirect on loopback, never to a link-local address (a cloud metadata
/// service) nor from HTTPS down to HTTP.
#[test]
fn redirects_never_reach_internal_addresses_or_leave_https() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(None, |req| {
        if req.path == "/all.zip" {
            return Reply::ok(feed(3), &[("Content-Type", "application/zip")]);
        }
        let to = if req.path == "/metadata" {
            "http://169.254.169.254/latest/meta-data/"
        } else {
            "/all.zip"
        };
        Reply::Send {
            status: 302,
            headers: vec![("Location".into(), to.into())],
            body: vec![],
        }
    });
    let out = update(
        dir.path(),
        &format!("{}/metadata", server.url),
        &["--allow-http", "--retries", "1"],
    );
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("169.254.169.254"), "{text}");
    assert!(text.contains("link-local"), "{text}");
    assert!(!dir.path().join("adv.db").exists());

    // The same kind of address as the source: followed.
    let out = update(
        dir.path(),
        &format!("{}/moved", server.url),
        &["--allow-http"],
    );
    assert!(out.status.success(), "{}", stdout_and_err(&out));

    // HTTPS down to HTTP: refused even with --allow-http.
    let tls = Tls::new(dir.path());
    let plain = server.url.clone();
    let secure = Server::start(Some(&tls), move |_| Reply::Send {
        status: 301,
        headers: vec![("Location".into(), format!("{plain}/all.zip"))],
        body: vec![],
    });
    let out = sw(dir.path())
        .env("SSL_CERT_FILE", &tls.ca_pem)
        .args([
            "db",
            "update",
            "--db",
            "adv.db",
            "--allow-http",
            "--retries",
            "1",
        ])
        .args(["--source", &format!("{}/all.zip", secure.url)])
        .timeout(LIMIT)
        .output()
        .unwrap();
    let text = stdout_and_err(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("leaves HTTPS"), "{text}");
}

/// Item 14: the guard against a feed replacing the data judges coverage per package, not
/// the record count: many unrelated records, or data without Tornado's advisories, do not
/// replace the database without --force.
#[test]
fn unrelated_records_never_replace_the_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, records: &mut dyn Iterator<Item = (String, String)>| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (id, package) in records {
            std::fs::write(d.join(format!("{id}.json")), record(&id, &package)).unwrap();
        }
    };
    let real = || {
        (0..40)
            .map(|i| (format!("REAL-{i}"), format!("lib-{i}")))
            .chain([("TW-1".to_string(), "tornado".to_string())])
    };
    write("real", &mut real());
    write(
        "flood",
        &mut (0..2000).map(|i| (format!("JUNK-{i}"), format!("junk-{i}"))),
    );
    write("no-tornado", &mut real().filter(|(_, p)| p != "tornado"));
    let import = |what: &str, extra: &[&str]| {
        sw(dir.path())
            .args(["db", "import", what, "--db", "adv.db"])
            .args(extra)
            .timeout(LIMIT)
            .output()
            .unwrap()
    };
    assert!(import("real", &[]).status.success());
    let before = std::fs::read(dir.path().join("adv.db")).unwrap();
    for (source, named) in [("flood", "lib-0"), ("no-tornado", "tornado")] {
        let out = import(source, &[]);
        let text = stdout_and_err(&out);
        assert_eq!(out.status.code(), Some(2), "{source}: {text}");
        assert!(text.contains(named), "{source}: {text}");
        assert!(text.contains("--force"), "{source}: {text}");
        assert_eq!(std::fs::read(dir.path().join("adv.db")).unwrap(), before);
    }
    assert!(import("flood", &["--force"]).status.success());
}
