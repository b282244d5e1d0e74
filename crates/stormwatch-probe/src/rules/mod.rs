//! The probe's rules: one file each, its documentation beside it; ids are stable. Each
//! judges what the responses showed ([`Seen`]) and reports at the request that showed it.

use stormwatch_findings::{
    Detail, Finding, Location, Notice, ProbeFinding, ProbeRequest, RuleInfo, Severity,
};
use stormwatch_http::Exchange;

use crate::observe::{self, Cookie};
use crate::{Probed, Purpose, Sent, Tornado};

pub mod cookie_httponly;
pub mod cookie_samesite;
pub mod cookie_secure;
pub mod exception_text;
pub mod frame_protection;
pub mod hsts;
pub mod nosniff;
pub mod served_version;
pub mod server_version;
pub mod traceback;
pub mod traceback_drift;
pub mod version_drift;
pub mod xsrf_cookie;

/// Every probe rule, by id.
pub const ALL: &[&RuleInfo] = &[
    &served_version::RULE,
    &traceback::RULE,
    &exception_text::RULE,
    &cookie_secure::RULE,
    &cookie_httponly::RULE,
    &cookie_samesite::RULE,
    &xsrf_cookie::RULE,
    &hsts::RULE,
    &nosniff::RULE,
    &frame_protection::RULE,
    &server_version::RULE,
    &version_drift::RULE,
    &traceback_drift::RULE,
];

/// One answered request.
pub struct Answer<'a> {
    pub purpose: Purpose,
    pub request: &'a ProbeRequest,
    pub exchange: &'a Exchange,
    /// The body as text (lossy), for the checks that read it.
    pub text: String,
}

/// What the responses showed, for the rules to judge.
pub struct Seen<'a> {
    pub origin: &'a str,
    pub https: bool,
    pub answers: Vec<Answer<'a>>,
    /// Each cookie by name, as first set, with the request that set it.
    pub cookies: Vec<(Cookie, &'a ProbeRequest)>,
}

impl<'a> Seen<'a> {
    pub fn new(sent: &'a [Sent], origin: &'a str, https: bool) -> Seen<'a> {
        let answers: Vec<Answer> = sent
            .iter()
            .filter_map(|s| {
                let exchange = s.answer.as_ref().ok()?;
                Some(Answer {
                    purpose: s.purpose,
                    request: &s.request,
                    exchange,
                    text: String::from_utf8_lossy(&exchange.body).into_owned(),
                })
            })
            .collect();
        let mut cookies: Vec<(Cookie, &ProbeRequest)> = Vec::new();
        for a in &answers {
            for line in a.exchange.all("set-cookie") {
                let Some(c) = Cookie::parse(line) else {
                    continue;
                };
                if c.deleting || cookies.iter().any(|(k, _)| k.name == c.name) {
                    continue;
                }
                cookies.push((c, a.request));
            }
        }
        Seen {
            origin,
            https,
            answers,
            cookies,
        }
    }

    /// The root page as finally answered (after same-origin redirects).
    pub fn root(&self) -> Option<&Answer<'a>> {
        self.answers
            .iter()
            .rev()
            .find(|a| a.purpose == Purpose::Root)
    }

    /// The response whose headers stand for the service: the root page when it answered
    /// 2xx, else any 2xx answer, else the root page whatever its status.
    pub fn page(&self) -> Option<&Answer<'a>> {
        let ok = |a: &&Answer| (200..300).contains(&a.exchange.status);
        self.root()
            .filter(ok)
            .or_else(|| {
                self.answers
                    .iter()
                    .find(|a| a.purpose != Purpose::WrongMethod && ok(a))
            })
            .or_else(|| self.root())
    }
}

/// A probe finding for `rule` at `request`; `subject` tells apart findings of one rule on
/// one service (a cookie's name), so fingerprints stay stable across runs.
pub fn finding(
    rule: &RuleInfo,
    severity: Severity,
    origin: &str,
    subject: &str,
    request: &ProbeRequest,
    message: String,
    evidence: Option<String>,
) -> Finding {
    Finding::new(
        Detail::Probe(ProbeFinding {
            rule: rule.id.to_string(),
            message,
            request: request.clone(),
            evidence,
            vulnerability: None,
        }),
        rule.id,
        severity,
        Location::new(request.url.clone(), 0),
        &["probe", rule.id, origin, subject],
    )
}

/// A finding about cookie `c`, set by `request`.
pub fn cookie_finding(
    rule: &RuleInfo,
    severity: Severity,
    seen: &Seen,
    c: &Cookie,
    request: &ProbeRequest,
    message: String,
) -> Finding {
    let evidence = format!("Set-Cookie: {}=...", c.name);
    finding(
        rule,
        severity,
        seen.origin,
        &c.name,
        request,
        message,
        Some(evidence),
    )
}

/// Judges everything `sent` showed about the service at `origin`.
pub fn judge(sent: &[Sent], origin: &str, https: bool) -> Probed {
    let seen = Seen::new(sent, origin, https);
    let mut findings = Vec::new();
    let mut notices = Vec::new();
    let mut undetermined = Vec::new();

    let traceback = traceback::check(&seen, &mut findings);
    exception_text::check(&seen, traceback.is_some(), &mut findings);
    cookie_secure::check(&seen, &mut findings);
    cookie_httponly::check(&seen, &mut findings);
    cookie_samesite::check(&seen, &mut findings);
    xsrf_cookie::check(&seen, &mut findings);
    hsts::check(&seen, &mut findings);
    nosniff::check(&seen, &mut findings);
    frame_protection::check(&seen, &mut findings);
    server_version::check(&seen, &mut findings);

    let tornado = identify(&seen);
    match &tornado {
        Tornado::Disclosed { .. } => {}
        Tornado::Recognized { how } => undetermined.push(Notice::at(
            Location::new(origin, 0),
            format!(
                "the Tornado version is not disclosed ({how}, but no `Server: TornadoServer/...` header): advisories for the running version were not checked"
            ),
        )),
        Tornado::NotSeen { server } => undetermined.push(Notice::at(
            Location::new(origin, 0),
            format!(
                "the service did not show itself as Tornado ({}): version and advisory checks were not made; header and cookie checks were",
                match server {
                    Some(s) => format!("Server: {s}"),
                    None => "no Server header, no Tornado error page".into(),
                }
            ),
        )),
    }
    let error_pages = seen
        .answers
        .iter()
        .filter(|a| a.exchange.status >= 400 && a.purpose != Purpose::WrongMethod)
        .count();
    if error_pages == 0 {
        undetermined.push(Notice::at(
            Location::new(origin, 0),
            "no error page with a body was reachable: whether tracebacks or exception text are served could not be determined (add an app path with --path)",
        ));
    }
    if traceback.is_some() {
        notices.push(Notice::at(
            Location::new(origin, 0),
            "debug=True and serve_traceback=True serve the same error pages; whether debug mode (autoreload, template recompilation) is on cannot be seen from outside",
        ));
    }
    for s in sent {
        if let Err(reason) = &s.answer {
            undetermined.push(Notice::at(
                Location::new(s.request.url.clone(), 0),
                format!("{} {}: {reason}", s.request.method, s.request.url),
            ));
        }
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Probed {
        origin: origin.to_string(),
        sent: Vec::new(),
        tornado,
        findings,
        notices,
        undetermined,
        traceback,
    }
}

fn identify(seen: &Seen) -> Tornado {
    let mut server = None;
    for a in &seen.answers {
        if let Some(s) = a.exchange.header("server") {
            if let Some(v) = observe::tornado_version(s) {
                return Tornado::Disclosed {
                    version: v.to_string(),
                    request: a.request.clone(),
                };
            }
            server.get_or_insert_with(|| s.to_string());
        }
    }
    for a in &seen.answers {
        if observe::is_tornado_error_page(&a.text) {
            return Tornado::Recognized {
                how: format!("Tornado's error page at {}", a.request),
            };
        }
        if a.text.contains("tornado/web.py") || a.text.contains("tornado\\web.py") {
            return Tornado::Recognized {
                how: format!("a traceback through tornado/web.py at {}", a.request),
            };
        }
    }
    Tornado::NotSeen { server }
}
