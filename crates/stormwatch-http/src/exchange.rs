//! Single requests for the live probe: no redirects followed, a deadline per request, the
//! body read up to a cap and cut there (an error page is judged on its start), every header
//! kept (several `Set-Cookie` lines included), and TLS trust chosen per probe.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig};

use crate::HttpError;

/// How the probe connects.
#[derive(Debug, Clone)]
pub struct ExchangeOptions {
    /// A PEM bundle of the roots to trust (an internal CA); the Mozilla roots otherwise.
    pub cacert: Option<PathBuf>,
    /// Accept any certificate (for a service whose certificate cannot be checked here).
    pub insecure: bool,
    /// Bytes of a body kept; the rest is not read.
    pub max_body: usize,
}

/// One request's answer.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub status: u16,
    /// Names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// At most `max_body` bytes: the rest is not read.
    pub body: Vec<u8>,
}

impl Exchange {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (lower case).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Nothing came back in time.
    Timeout(String),
    /// Refused, reset, or the name did not resolve.
    Connection(String),
    /// TLS failed: untrusted certificate, wrong name, no TLS at all.
    Tls(String),
    /// What came back is not HTTP.
    NotHttp(String),
    Other(String),
}

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoAnswer::Timeout(m) => write!(f, "no answer in time ({m})"),
            NoAnswer::Connection(m) => write!(f, "cannot connect: {m}"),
            NoAnswer::Tls(m) => write!(f, "TLS failed: {m}"),
            NoAnswer::NotHttp(m) => write!(f, "the answer is not HTTP: {m}"),
            NoAnswer::Other(m) => f.write_str(m),
        }
    }
}

fn classify(err: ureq::Error) -> NoAnswer {
    match err {
        ureq::Error::Timeout(t) => NoAnswer::Timeout(t.to_string()),
        ureq::Error::HostNotFound => NoAnswer::Connection("host not found".into()),
        ureq::Error::ConnectionFailed => NoAnswer::Connection("connection failed".into()),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                NoAnswer::Timeout(e.to_string())
            }
            std::io::ErrorKind::InvalidData => NoAnswer::Tls(e.to_string()),
            _ => NoAnswer::Connection(e.to_string()),
        },
        ureq::Error::Tls(m) => NoAnswer::Tls(m.to_string()),
        ureq::Error::Rustls(e) => NoAnswer::Tls(e.to_string()),
        ureq::Error::Protocol(e) => NoAnswer::NotHttp(e.to_string()),
        ureq::Error::Http(e) => NoAnswer::NotHttp(e.to_string()),
        other => NoAnswer::Other(other.to_string()),
    }
}

/// Sends probe requests. Proxies come from the environment like every other request.
pub struct Prober {
    agent: ureq::Agent,
    max_body: usize,
}

impl Prober {
    pub fn new(options: &ExchangeOptions) -> Result<Prober, HttpError> {
        let mut tls = TlsConfig::builder();
        if let Some(path) = &options.cacert {
            let certs = crate::pem_roots(path, " (--cacert)")?;
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        } else if let Some(certs) = crate::extra_roots()? {
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        if options.insecure {
            tls = tls.disable_verification(true);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are the probe's to judge: another host is never contacted.
            .max_redirects(0)
            .user_agent(concat!("stormwatch-probe/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        Ok(Prober {
            agent: config.into(),
            max_body: options.max_body,
        })
    }

    /// Sends one request (`GET`, `HEAD`, `OPTIONS` or an empty `POST`) and waits at most
    /// `deadline` for all of it.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        deadline: Duration,
    ) -> Result<Exchange, NoAnswer> {
        macro_rules! with {
            ($builder:expr) => {{
                let mut b = $builder.config().timeout_global(Some(deadline)).build();
                for (name, value) in headers {
                    b = b.header(name.as_str(), value.as_str());
                }
                b
            }};
        }
        let result = match method {
            "GET" => with!(self.agent.get(url)).call(),
            "HEAD" => with!(self.agent.head(url)).call(),
            "OPTIONS" => with!(self.agent.options(url)).call(),
            "POST" => with!(self.agent.post(url)).send_empty(),
            other => return Err(NoAnswer::Other(format!("method {other} is not sent"))),
        };
        let mut response = result.map_err(|e| match classify(e) {
            NoAnswer::Timeout(m) | NoAnswer::Tls(m) | NoAnswer::Connection(m)
                if answers_plain_http(url) =>
            {
                NoAnswer::Tls(format!(
                    "{m}; the service answers plain HTTP on this port, not TLS: use {}",
                    url.replacen("https://", "http://", 1)
                ))
            }
            other => other,
        })?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        if method != "HEAD" {
            let mut reader = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(self.max_body as u64);
            if let Err(e) = reader.read_to_end(&mut body) {
                // What arrived before the body broke off is still evidence.
                if body.is_empty() {
                    return Err(match e.kind() {
                        std::io::ErrorKind::TimedOut => NoAnswer::Timeout(e.to_string()),
                        _ => NoAnswer::Other(format!("the body broke off: {e}")),
                    });
                }
            }
        }
        Ok(Exchange {
            status,
            headers,
            body,
        })
    }
}

/// Whether the host and port of an `https://` URL answer a plain-HTTP request: what a TLS
/// handshake that failed or hung usually means. Only that host and port are contacted (and
/// not when a proxy is configured, which the probe's requests would go through), with one
/// short request and a two-second bound.
fn answers_plain_http(url: &str) -> bool {
    use std::io::Write;
    use std::net::{TcpStream, ToSocketAddrs};
    if !url.starts_with("https://") || proxy_configured() {
        return false;
    }
    let Ok(uri) = url.parse::<ureq::http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host() else {
        return false;
    };
    let port = uri.port_u16().unwrap_or(443);
    let bound = Duration::from_secs(2);
    let host_only = host.trim_start_matches('[').trim_end_matches(']');
    let Some(addr) = (host_only, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
    else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, bound) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(bound));
    let _ = stream.set_write_timeout(Some(bound));
    let request = format!("HEAD / HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut first = [0u8; 5];
    stream.read_exact(&mut first).is_ok() && &first == b"HTTP/"
}

fn proxy_configured() -> bool {
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}
