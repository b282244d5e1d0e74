//! The probe's own work, network aside: the plan and the judging of ten responses at the
//! body cap (256 KiB each), for a plain page, a traceback page, and a hostile page full of
//! near-misses for the exception-text and link scanners. A real probe's time is the
//! service's; this shows the analysis never adds to it noticeably.

use std::cell::Cell;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use stormwatch_http::{Exchange, NoAnswer};
use stormwatch_probe::{Options, Transport};

struct Scripted {
    answers: Vec<Exchange>,
    next: Cell<usize>,
}

impl Transport for Scripted {
    fn send(
        &self,
        _: &str,
        _: &str,
        _: &[(String, String)],
        _: Duration,
    ) -> Result<Exchange, NoAnswer> {
        let i = self.next.get();
        self.next.set(i + 1);
        Ok(self.answers[i % self.answers.len()].clone())
    }
}

const CAP: usize = 256 * 1024;

fn page(unit: &str, status: u16) -> Exchange {
    let mut body = String::with_capacity(CAP);
    while body.len() + unit.len() <= CAP {
        body.push_str(unit);
    }
    Exchange {
        status,
        headers: vec![
            ("server".into(), "TornadoServer/6.4.2".into()),
            ("content-type".into(), "text/html".into()),
            (
                "set-cookie".into(),
                "user=\"2|1:0|10:1|4:user|8:YQ==|ab\"; Path=/".into(),
            ),
        ],
        body: body.into_bytes(),
    }
}

fn probe(c: &mut Criterion, name: &str, answers: Vec<Exchange>) {
    let options = Options {
        url: "https://127.0.0.1:8888/".into(),
        paths: vec!["/a".into(), "/b".into(), "/c".into()],
        ..Options::default()
    };
    c.bench_function(name, |b| {
        b.iter(|| {
            let t = Scripted {
                answers: answers.clone(),
                next: Cell::new(0),
            };
            let p = stormwatch_probe::run(&t, &options).unwrap();
            assert_eq!(p.sent.len(), 10);
            p.findings.len()
        })
    });
}

fn benches(c: &mut Criterion) {
    let plain = page(
        "<p><a href=\"/static/x.css\">Lorem ipsum dolor sit amet</a></p>\n",
        200,
    );
    let traceback = page(
        "  File \"/srv/app/handlers.py\", line 12, in get\n    x = y['k']\n",
        500,
    );
    let hostile = page(
        "Error: Error( HTTP 404: x src=\"a File \"x <script>x</script><b ",
        500,
    );
    probe(c, "probe_10_plain_pages_256k", vec![plain; 10]);
    probe(c, "probe_10_traceback_pages_256k", vec![traceback; 10]);
    probe(c, "probe_10_hostile_pages_256k", vec![hostile; 10]);
}

criterion_group!(group, benches);
criterion_main!(group);
