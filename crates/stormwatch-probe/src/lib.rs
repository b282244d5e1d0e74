//! A read-only, bounded probe of a running Tornado service (`stormwatch probe URL`).
//!
//! The probe sends a short, fixed plan of requests ([`plan`]): the root page, a path that
//! cannot exist, the root with malformed arguments, `HEAD` (a method most handlers do not
//! implement), a static file the root page links to, the app's own paths, and `POST` only
//! when allowed. It never follows a redirect to another host, never sends more requests
//! than the cap, and never waits past the overall deadline. What came back is judged by
//! the rules in [`rules`]; what could not be judged is said, not guessed.
//!
//! Matching a disclosed Tornado version against advisories is the caller's: it has the
//! advisory data (see [`Probed::tornado`]).

use std::time::{Duration, Instant};

use stormwatch_findings::{Finding, Location, Notice, ProbeRequest};
use stormwatch_http::{Exchange, NoAnswer, Prober};
use url::Url;

pub mod observe;
pub mod plan;
pub mod rules;

pub use plan::Purpose;

/// What the probe may do.
#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    /// Requests sent at most, redirects included.
    pub max_requests: usize,
    /// The app's own paths (`/api/items`), or URLs on the same origin.
    pub paths: Vec<String>,
    /// Also send empty `POST` requests (which a handler could act on).
    pub allow_post: bool,
    /// Longest wait for one request.
    pub timeout: Duration,
    /// Longest wait for the whole probe.
    pub total: Duration,
    /// Sent with every request (authentication).
    pub headers: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: String::new(),
            max_requests: 10,
            paths: Vec::new(),
            allow_post: false,
            timeout: Duration::from_secs(10),
            total: Duration::from_secs(60),
            headers: Vec::new(),
        }
    }
}

/// Sends one request; [`Prober`] over the network, anything else in tests.
pub trait Transport {
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        deadline: Duration,
    ) -> Result<Exchange, NoAnswer>;
}

impl Transport for Prober {
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        deadline: Duration,
    ) -> Result<Exchange, NoAnswer> {
        Prober::send(self, method, url, headers, deadline)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A URL that cannot be probed (never echoed with its credentials).
    #[error("{url}: {message}")]
    Url { url: String, message: String },
    /// The root request got no answer: nothing can be said about the service.
    #[error("{url}: {reason}")]
    NoAnswer { url: String, reason: NoAnswer },
}

/// One request sent and what came of it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub purpose: Purpose,
    pub request: ProbeRequest,
    pub answer: Result<Exchange, NoAnswer>,
}

/// How the service showed itself to be Tornado, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tornado {
    /// `Server: TornadoServer/x.y.z`.
    Disclosed {
        version: String,
        request: ProbeRequest,
    },
    /// Tornado's own error page or a traceback through `tornado/web.py`, without a version.
    Recognized { how: String },
    /// Nothing Tornado-like came back.
    NotSeen { server: Option<String> },
}

/// Everything the probe learned.
#[derive(Debug, Clone)]
pub struct Probed {
    /// `scheme://host:port` of the service.
    pub origin: String,
    pub sent: Vec<Sent>,
    pub tornado: Tornado,
    pub findings: Vec<Finding>,
    pub notices: Vec<Notice>,
    /// What could not be determined, and why.
    pub undetermined: Vec<Notice>,
    /// The first request whose response carried a traceback.
    pub traceback: Option<ProbeRequest>,
}

/// Requests left and time left.
struct Budget {
    max: usize,
    sent: usize,
    start: Instant,
    total: Duration,
    per_request: Duration,
    /// Purposes left unsent, for the notice.
    skipped: Vec<String>,
}

impl Budget {
    fn deadline(&mut self, what: &str) -> Option<Duration> {
        let left = self.total.saturating_sub(self.start.elapsed());
        if self.sent >= self.max || left.is_zero() {
            self.skipped.push(what.to_string());
            return None;
        }
        self.sent += 1;
        Some(left.min(self.per_request))
    }
}

struct Session<'a> {
    transport: &'a dyn Transport,
    options: &'a Options,
    origin: Url,
    budget: Budget,
    sent: Vec<Sent>,
    notices: Vec<Notice>,
}

/// Same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Same-origin redirects followed per request, each one counted against the cap.
const MAX_HOPS: usize = 3;

impl Session<'_> {
    /// Sends `method url`, following same-origin redirects; returns the index of the last
    /// request sent, or `None` when the budget is spent.
    fn request(&mut self, purpose: Purpose, method: &str, url: Url) -> Option<usize> {
        let mut url = url;
        let mut hops = 0;
        loop {
            let deadline = self
                .budget
                .deadline(&format!("{method} {}", redact(&url)))?;
            let answer = self
                .transport
                .send(method, url.as_str(), &self.options.headers, deadline);
            let request = ProbeRequest {
                method: method.to_string(),
                url: redact(&url),
                status: answer.as_ref().ok().map(|e| e.status),
            };
            let next = answer
                .as_ref()
                .ok()
                .filter(|e| (300..400).contains(&e.status))
                .and_then(|e| e.header("location"))
                .and_then(|l| url.join(l).ok());
            self.sent.push(Sent {
                purpose,
                request,
                answer,
            });
            let index = self.sent.len() - 1;
            let Some(next) = next else {
                return Some(index);
            };
            if !same_origin(&self.origin, &next) {
                self.notices.push(Notice::at(
                    Location::new(redact(&url), 0),
                    format!("redirect to {} not followed: another host", redact(&next)),
                ));
                return Some(index);
            }
            hops += 1;
            if hops > MAX_HOPS || method != "GET" && method != "HEAD" {
                return Some(index);
            }
            url = next;
        }
    }
}

/// What replaces every query value of a URL that reaches a report.
pub const REDACTED: &str = "REDACTED";

/// `url` as reports show it: every query value (and a query part without `=`) replaced by
/// [`REDACTED`], so that a token in the probed URL (`?token=...`) or in a redirect is never
/// copied into a report, a log or a ticket. The request itself is sent unchanged.
pub fn redact(url: &Url) -> String {
    let Some(query) = url.query() else {
        return url.to_string();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((name, value)) if !value.is_empty() => format!("{name}={REDACTED}"),
            Some(_) => part.to_string(),
            None if part.is_empty() => String::new(),
            None => REDACTED.to_string(),
        })
        .collect();
    let mut shown = url.clone();
    shown.set_query(Some(&redacted.join("&")));
    shown.set_fragment(None);
    shown.to_string()
}

/// [`redact`] for text that may not parse as a URL: everything after `?` or `#` goes.
pub fn redact_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => redact(&url),
        Err(_) => match text.find(['?', '#']) {
            Some(i) => format!("{}?{REDACTED}", &text[..i]),
            None => text.to_string(),
        },
    }
}

/// Runs the probe against `options.url`.
pub fn run(transport: &dyn Transport, options: &Options) -> Result<Probed, ProbeError> {
    let base = Url::parse(&options.url).map_err(|e| ProbeError::Url {
        url: redact_text(&options.url),
        message: if options.url.contains("://") {
            format!("not a URL: {e}")
        } else {
            format!(
                "not a URL ({e}): give the scheme, e.g. https://{}",
                redact_text(&options.url)
            )
        },
    })?;
    if !base.username().is_empty() || base.password().is_some() {
        // Every finding names its URL: credentials in it would end up in the report.
        return Err(ProbeError::Url {
            url: base.host_str().unwrap_or_default().to_string(),
            message: "credentials in the URL would be written into the report; pass them with -H \"Authorization: ...\"".into(),
        });
    }
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err(ProbeError::Url {
            url: redact(&base),
            message: "only http:// and https:// URLs with a host can be probed".into(),
        });
    }
    let mut s = Session {
        transport,
        options,
        origin: base.clone(),
        budget: Budget {
            max: options.max_requests,
            sent: 0,
            start: Instant::now(),
            total: options.total,
            per_request: options.timeout,
            skipped: Vec::new(),
        },
        sent: Vec::new(),
        notices: Vec::new(),
    };
    let Some(root) = s.request(Purpose::Root, "GET", base.clone()) else {
        return Err(ProbeError::Url {
            url: redact(&base),
            message: "--max-requests 0 allows no request".into(),
        });
    };
    if let Err(reason) = &s.sent[0].answer {
        return Err(ProbeError::NoAnswer {
            url: redact(&base),
            reason: reason.clone(),
        });
    }
    let root_body = s.sent[root]
        .answer
        .as_ref()
        .map(|e| e.body.clone())
        .unwrap_or_default();
    for (purpose, method, url) in plan::requests(&base, &root_body, options) {
        s.request(purpose, method, url);
    }
    let origin = base.origin().ascii_serialization();
    let mut probed = rules::judge(&s.sent, &origin, base.scheme() == "https");
    probed.notices.splice(0..0, s.notices);
    if !s.budget.skipped.is_empty() {
        let timed_out = s.budget.start.elapsed() >= options.total;
        let why = if timed_out {
            format!(
                "the overall time limit ({} s) was reached",
                options.total.as_secs()
            )
        } else {
            format!("the cap of {} requests was reached", options.max_requests)
        };
        probed.undetermined.push(Notice::new(format!(
            "{why}; not sent: {}",
            s.budget.skipped.join(", ")
        )));
    }
    probed.sent = s.sent;
    Ok(probed)
}

#[cfg(test)]
mod redaction {
    use super::*;

    #[test]
    fn query_values_never_reach_a_report() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            redact(&url("https://a.example/x?token=abc&empty=&flag#frag")),
            "https://a.example/x?token=REDACTED&empty=&REDACTED"
        );
        assert_eq!(redact(&url("http://a.example/p")), "http://a.example/p");
        assert_eq!(redact_text("a.example/?key=1"), "a.example/?REDACTED");
    }
}
