//! The network side of stormwatch, and the only crate that opens connections.
//!
//! - [`Client::download`] fetches an advisory archive: a conditional request (ETag /
//!   Last-Modified) so an unchanged feed costs one round trip, connect and per-read
//!   timeouts, retries with backoff on timeouts and server errors, a size cap, a progress
//!   bar on a terminal, and the body written to a file the caller verifies before use.
//! - [`Client::post`] delivers an alert (webhook, Slack, Teams) with the same retries and an
//!   `Idempotency-Key`, and says whether a failure is worth retrying later.
//!
//! - [`Prober`] sends the live probe's single requests: no redirects, a deadline each, the
//!   body cut at a cap.
//!
//! TLS is rustls with the Mozilla roots. `SSL_CERT_FILE` names a PEM bundle used *instead*
//! (OpenSSL's meaning: a company mirror's bundle). `HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY` and `NO_PROXY` are honoured.

mod exchange;
pub mod guard;

pub use exchange::{Exchange, ExchangeOptions, NoAnswer, Prober};

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use url::Url;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The environment variable naming a PEM bundle of trusted roots.
pub const CA_ENV: &str = "SSL_CERT_FILE";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be completed after every attempt.
    #[error("{url}: {message}")]
    Failed {
        url: String,
        message: String,
        /// Worth trying again later (timeout, connection refused, 5xx, 429).
        transient: bool,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

impl HttpError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HttpError::Failed {
                transient: true,
                ..
            }
        )
    }
}

/// How patient and how generous the client is.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connecting, and each wait for data (headers or the next part of a body).
    pub timeout: Duration,
    /// Attempts per request (1 = no retry).
    pub attempts: u32,
    /// Wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Show a progress bar on standard error when it is a terminal.
    pub progress: bool,
    /// The whole of one download (every attempt, redirect and byte of the body) must
    /// finish within this: a server sending one byte at a time cannot hold a run.
    pub deadline: Duration,
    /// Accept plain `http://` downloads (a mirror on a trusted network).
    pub allow_http: bool,
}

/// Redirects followed per download.
const MAX_REDIRECTS: usize = 5;

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_secs(1),
            // The OSV PyPI export is tens of MiB; a feed ten times that is not a feed.
            max_bytes: 512 * 1024 * 1024,
            progress: false,
            deadline: Duration::from_secs(600),
            allow_http: false,
        }
    }
}

/// What the server said last time, sent back so that it can answer "not modified".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The outcome of a conditional download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the copy the validators describe is current; nothing was written.
    NotModified,
    /// The body is in the destination file.
    Downloaded { bytes: u64, validators: Validators },
}

pub struct Client {
    agent: ureq::Agent,
    options: Options,
}

/// Reads the PEM bundle named by `SSL_CERT_FILE`, if set.
fn extra_roots() -> Result<Option<Vec<Certificate<'static>>>, HttpError> {
    let Some(path) = std::env::var_os(CA_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    pem_roots(Path::new(&path), &format!(" ({CA_ENV})")).map(Some)
}

/// The certificates of the PEM bundle at `path`; `origin` ends each error message (where
/// the path came from).
fn pem_roots(path: &Path, origin: &str) -> Result<Vec<Certificate<'static>>, HttpError> {
    let bad = |message: String| HttpError::File {
        path: path.to_path_buf(),
        message,
    };
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read{origin}: {e}")))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| bad(format!("not a PEM bundle{origin}: {e}")))? {
            PemItem::Certificate(c) => certs.push(c),
            _ => continue,
        }
    }
    if certs.is_empty() {
        return Err(bad(format!("no certificates in the PEM bundle{origin}")));
    }
    Ok(certs)
}

fn retry_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// One attempt's failure, and whether another attempt may succeed.
struct Attempt {
    message: String,
    transient: bool,
}

/// GETs `source` through `send` (one request, no redirect followed by the client), and
/// follows redirects by hand: at most [`MAX_REDIRECTS`], each checked by
/// [`guard::check_redirect`] against the kind of address the source is (`reach`). The
/// final response and the URL that gave it.
fn follow_checked(
    source: &Url,
    reach: guard::Reach,
    allow_http: bool,
    mut send: impl FnMut(&Url) -> Result<ureq::http::Response<ureq::Body>, Attempt>,
) -> Result<(ureq::http::Response<ureq::Body>, Url), Attempt> {
    let refused = |message: String| Attempt {
        message,
        transient: false,
    };
    let mut current = source.clone();
    for hop in 0.. {
        let response = send(&current)?;
        let status = response.status().as_u16();
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok((response, current));
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| refused(format!("HTTP {status} without a Location")))?;
        let next = current
            .join(location)
            .map_err(|e| refused(format!("HTTP {status} to an unreadable Location: {e}")))?;
        if hop == MAX_REDIRECTS {
            break;
        }
        guard::check_redirect(&current, &next, reach, allow_http).map_err(refused)?;
        current = next;
    }
    Err(refused(format!("more than {MAX_REDIRECTS} redirects")))
}

fn describe(err: &ureq::Error) -> Attempt {
    let transient = matches!(
        err,
        ureq::Error::Timeout(_)
            | ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
    );
    let message = match err {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".into(),
        other => other.to_string(),
    };
    Attempt { message, transient }
}

impl Client {
    pub fn new(options: Options) -> Result<Client, HttpError> {
        let mut tls = TlsConfig::builder();
        if let Some(certs) = extra_roots()? {
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(options.timeout))
            .timeout_recv_response(Some(options.timeout))
            .timeout_per_read(Some(options.timeout))
            .timeout_send_request(Some(options.timeout))
            .timeout_send_body(Some(options.timeout))
            .max_redirects(5)
            .user_agent(concat!("stormwatch/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        Ok(Client {
            agent: config.into(),
            options,
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Runs `attempt` up to `attempts` times, backing off between transient failures.
    fn with_retries<T>(
        &self,
        url: &str,
        attempt: impl FnMut() -> Result<T, Attempt>,
    ) -> Result<T, HttpError> {
        self.with_retries_until(url, None, attempt)
    }

    /// As [`Client::with_retries`], with no attempt or wait past `end`.
    fn with_retries_until<T>(
        &self,
        url: &str,
        end: Option<Instant>,
        mut attempt: impl FnMut() -> Result<T, Attempt>,
    ) -> Result<T, HttpError> {
        let mut wait = self.options.backoff;
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt() {
                Ok(v) => return Ok(v),
                Err(a)
                    if a.transient
                        && tries < self.options.attempts.max(1)
                        && end.is_none_or(|end| Instant::now() + wait < end) =>
                {
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
                Err(a) => {
                    return Err(HttpError::Failed {
                        url: url.to_string(),
                        message: if tries > 1 {
                            format!("{} (after {tries} attempts)", a.message)
                        } else {
                            a.message
                        },
                        transient: a.transient,
                    })
                }
            }
        }
    }

    /// Downloads `url` into `dest` (truncated first) unless the server says the copy
    /// described by `known` is current. Only HTTPS (or plain HTTP when allowed); redirects
    /// are followed by hand, at most [`MAX_REDIRECTS`], each checked by
    /// [`guard::check_redirect`]; everything ends by the deadline. A failed download may
    /// leave `dest` partly written.
    pub fn download(
        &self,
        url: &str,
        known: &Validators,
        dest: &std::fs::File,
    ) -> Result<Fetched, HttpError> {
        let refuse = |message: String| HttpError::Failed {
            url: url.to_string(),
            message,
            transient: false,
        };
        let source = Url::parse(url).map_err(|e| refuse(format!("not a URL: {e}")))?;
        guard::check_scheme(&source, self.options.allow_http).map_err(refuse)?;
        // A name this machine cannot resolve (a proxy may still reach it) is public: its
        // redirects may then only go to public addresses.
        let reach = guard::reach_of(&source).unwrap_or(guard::Reach::Public);
        let end = Instant::now() + self.options.deadline;
        self.with_retries_until(url, Some(end), || {
            self.download_once(&source, reach, known, dest, end)
                .map_err(|a| self.past_deadline(a, end))
        })
    }

    /// An attempt that failed because the deadline came is reported as that.
    fn past_deadline(&self, attempt: Attempt, end: Instant) -> Attempt {
        if Instant::now() + Duration::from_millis(50) < end {
            return attempt;
        }
        Attempt {
            message: format!(
                "the download did not finish within its {}s deadline (--download-deadline);                  abandoned",
                self.options.deadline.as_secs()
            ),
            transient: true,
        }
    }

    fn download_once(
        &self,
        source: &Url,
        reach: guard::Reach,
        known: &Validators,
        dest: &std::fs::File,
        end: Instant,
    ) -> Result<Fetched, Attempt> {
        let refused = |message: String| Attempt {
            message,
            transient: false,
        };
        let (mut response, current) =
            follow_checked(source, reach, self.options.allow_http, |url| {
                let remaining = end.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    return Err(refused("no time left".into()));
                }
                let mut request = self
                    .agent
                    .get(url.as_str())
                    .config()
                    .max_redirects(0)
                    .timeout_global(Some(remaining))
                    .build();
                if let Some(etag) = &known.etag {
                    request = request.header("If-None-Match", etag);
                }
                if let Some(date) = &known.last_modified {
                    request = request.header("If-Modified-Since", date);
                }
                request.call().map_err(|e| describe(&e))
            })?;
        let status = response.status().as_u16();
        if status == 304 {
            return Ok(Fetched::NotModified);
        }
        if !(200..300).contains(&status) {
            return Err(Attempt {
                message: format!("the server answered HTTP {status}"),
                transient: retry_status(status),
            });
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header("etag"),
            last_modified: header("last-modified"),
        };
        let declared = header("content-length").and_then(|v| v.parse::<u64>().ok());
        let cap = self.options.max_bytes;
        if declared.is_some_and(|n| n > cap) {
            return Err(Attempt {
                message: format!(
                    "the download is {} bytes, over the {cap}-byte limit",
                    declared.unwrap_or_default()
                ),
                transient: false,
            });
        }
        let bar = self.progress_bar(declared, current.as_str());
        let file_error = |e: std::io::Error| Attempt {
            message: format!("cannot write the download: {e}"),
            transient: false,
        };
        dest.set_len(0).map_err(file_error)?;
        let mut handle = dest;
        handle
            .seek(std::io::SeekFrom::Start(0))
            .map_err(file_error)?;
        let mut out = std::io::BufWriter::new(handle);
        let mut body = response.body_mut().with_config().limit(u64::MAX).reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Attempt {
                        message: format!("the download broke off after {total} bytes: {e}"),
                        transient: true,
                    })
                }
            };
            total += n as u64;
            if total > cap {
                return Err(Attempt {
                    message: format!("the download passed the {cap}-byte limit; refused"),
                    transient: false,
                });
            }
            out.write_all(&buf[..n]).map_err(file_error)?;
            if let Some(bar) = &bar {
                bar.set_position(total);
            }
        }
        if let Some(expected) = declared {
            if total != expected {
                return Err(Attempt {
                    message: format!("the download ended after {total} of {expected} bytes"),
                    transient: true,
                });
            }
        }
        out.flush().map_err(file_error)?;
        dest.sync_all().map_err(file_error)?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(Fetched::Downloaded {
            bytes: total,
            validators,
        })
    }

    fn progress_bar(&self, len: Option<u64>, url: &str) -> Option<indicatif::ProgressBar> {
        if !self.options.progress {
            return None;
        }
        let target = indicatif::ProgressDrawTarget::stderr();
        if target.is_hidden() {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(len, target);
        let style = if len.is_some() {
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})"
        } else {
            "{msg} {bytes} ({bytes_per_sec})"
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(style) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(format!("downloading {url}"));
        Some(bar)
    }

    /// GETs `url` as text (at most `max_bytes`), asking for `accept`; returns the body and
    /// its content type. Used for package indexes: the index is the user's choice, but the
    /// server is not trusted, so redirects are followed by hand (at most
    /// [`MAX_REDIRECTS`]) and checked as a download's are: never from HTTPS to HTTP, never
    /// to loopback, link-local or private addresses unless the index itself is one.
    pub fn get_text(&self, url: &str, accept: &str) -> Result<(String, String), HttpError> {
        let source = Url::parse(url).map_err(|e| HttpError::Failed {
            url: url.to_string(),
            message: format!("not a URL: {e}"),
            transient: false,
        })?;
        let reach = guard::reach_of(&source).unwrap_or(guard::Reach::Public);
        // Plain HTTP stays possible where the user gave a plain-HTTP index.
        let allow_http = source.scheme() == "http";
        self.with_retries(url, || {
            let (mut response, _) = follow_checked(&source, reach, allow_http, |url| {
                self.agent
                    .get(url.as_str())
                    .config()
                    .max_redirects(0)
                    .build()
                    .header("Accept", accept)
                    .call()
                    .map_err(|e| describe(&e))
            })?;
            let status = response.status().as_u16();
            if !(200..300).contains(&status) {
                return Err(Attempt {
                    message: format!("the server answered HTTP {status}"),
                    transient: retry_status(status),
                });
            }
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = response
                .body_mut()
                .with_config()
                .limit(self.options.max_bytes)
                .read_to_string()
                .map_err(|e| describe(&e))?;
            Ok((body, kind))
        })
    }

    /// POSTs `body` (JSON) to `url`. `key` goes in the `Idempotency-Key` header, so that a
    /// receiver can drop a repeat of a delivery whose answer was lost. Redirects are not
    /// followed: an alert is not sent anywhere but where it was configured to go.
    pub fn post(&self, url: &str, body: &str, key: &str) -> Result<(), HttpError> {
        self.with_retries(url, || {
            let response = self
                .agent
                .post(url)
                .config()
                .max_redirects(0)
                .build()
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .send(body)
                .map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(Attempt {
                    message: format!("the receiver answered HTTP {status}"),
                    transient: retry_status(status),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_worth_retrying() {
        assert!(retry_status(503));
        assert!(retry_status(429));
        assert!(!retry_status(404));
        assert!(!retry_status(401));
    }
}
