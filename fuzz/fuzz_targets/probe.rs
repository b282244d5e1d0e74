//! The probe's reading of responses: a scripted service answers every request from the
//! input (status, headers, body), so redirects, static links, cookies, tracebacks and
//! exception text all come from the fuzzer. A probed service is untrusted.
#![no_main]

mod common;

use std::cell::Cell;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use stormwatch_http::{Exchange, NoAnswer};
use stormwatch_probe::{Options, Transport};

/// Answers the i-th request with the i-th part of the input (cycling).
struct Scripted {
    answers: Vec<Option<Exchange>>,
    next: Cell<usize>,
}

impl Transport for Scripted {
    fn send(&self, _: &str, _: &str, _: &[(String, String)], _: Duration) -> Result<Exchange, NoAnswer> {
        let i = self.next.get();
        self.next.set(i + 1);
        match &self.answers[i % self.answers.len()] {
            Some(e) => Ok(e.clone()),
            None => Err(NoAnswer::Timeout("scripted".into())),
        }
    }
}

fn exchange(part: &[u8]) -> Option<Exchange> {
    let &[hi, lo] = part.first_chunk::<2>()?;
    let rest = &part[2..];
    let split = rest.windows(2).position(|w| w == b"\n\n").unwrap_or(rest.len());
    let head = String::from_utf8_lossy(&rest[..split]);
    let body = rest.get(split + 2..).unwrap_or_default().to_vec();
    let headers = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Exchange {
        status: u16::from_be_bytes([hi, lo]) % 600,
        headers,
        body,
    })
}

fuzz_target!(|data: &[u8]| {
    common::report_only_uncaught_panics();
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let answers: Vec<Option<Exchange>> = rest
        .split(|&b| b == 0xFF)
        .take(16)
        .map(exchange)
        .collect();
    if answers.is_empty() {
        return;
    }
    let transport = Scripted {
        answers,
        next: Cell::new(0),
    };
    let scheme = if flags & 1 == 0 { "http" } else { "https" };
    let options = Options {
        url: format!("{scheme}://127.0.0.1:8888/app/"),
        paths: vec!["/api".into(), "x?y=1".into()],
        allow_post: flags & 2 != 0,
        ..Options::default()
    };
    if let Ok(probed) = stormwatch_probe::run(&transport, &options) {
        assert!(probed.sent.len() <= options.max_requests);
        for f in &probed.findings {
            assert!(f.location.file.starts_with(scheme));
        }
    }
});
