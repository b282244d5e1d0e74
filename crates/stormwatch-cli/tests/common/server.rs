//! Real servers on 127.0.0.1 for the network tests: an HTTP(S) server whose answers a test
//! scripts, and an SMTP receiver with STARTTLS. TLS uses a certificate authority generated
//! per test, written to a PEM file for `SSL_CERT_FILE`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A generated certificate authority and a server certificate it signed for 127.0.0.1.
pub struct Tls {
    pub ca_pem: PathBuf,
    /// The server certificate and its key, for a server that is not this one (Tornado).
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    config: Arc<rustls::ServerConfig>,
}

impl Tls {
    pub fn new(dir: &Path) -> Tls {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "stormwatch test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        let ca_pem = dir.join("test-ca.pem");
        std::fs::write(&ca_pem, ca.pem()).unwrap();
        let cert_pem = dir.join("test-server.pem");
        std::fs::write(&cert_pem, leaf.pem()).unwrap();
        let key_pem = dir.join("test-server.key");
        std::fs::write(&key_pem, leaf_key.serialize_pem()).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(leaf.der().to_vec())], key)
        .unwrap();
        Tls {
            ca_pem,
            cert_pem,
            key_pem,
            config: Arc::new(config),
        }
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn wrap(tls: Option<&Arc<rustls::ServerConfig>>, tcp: TcpStream) -> Option<Box<dyn Stream>> {
    match tls {
        None => Some(Box::new(tcp)),
        Some(config) => {
            let conn = rustls::ServerConnection::new(config.clone()).ok()?;
            Some(Box::new(rustls::StreamOwned::new(conn, tcp)))
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with a request.
pub enum Reply {
    Send {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Declares `declared` bytes, sends `body`, closes.
    Truncated { declared: usize, body: Vec<u8> },
    /// Accepts and never answers (until the server stops).
    Hang,
    /// These bytes and nothing else (not HTTP), then closes.
    Raw(Vec<u8>),
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Send {
            status,
            headers: vec![],
            body: vec![],
        }
    }

    pub fn ok(body: Vec<u8>, headers: &[(&str, &str)]) -> Reply {
        Reply::Send {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct Server {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Server {
    /// Serves on 127.0.0.1 (TLS when `tls` is given) until dropped.
    pub fn start(
        tls: Option<&Tls>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let config = tls.map(|t| t.config.clone());
        {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for tcp in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(tcp) = tcp else { continue };
                    let handler = handler.clone();
                    let requests = requests.clone();
                    let stop = stop.clone();
                    let config = config.clone();
                    std::thread::spawn(move || {
                        let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
                        if let Some(stream) = wrap(config.as_ref(), tcp) {
                            serve(stream, &*handler, &requests, &stop);
                        }
                    });
                }
            });
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        Server {
            url: format!("{scheme}://127.0.0.1:{port}"),
            requests,
            stop,
            port,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: Box<dyn Stream>,
    handler: &Handler,
    requests: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let reply = handler(&request);
    requests.lock().unwrap().push(request);
    let mut stream = reader.into_inner();
    let (status, headers, body, declared) = match reply {
        Reply::Hang => {
            for _ in 0..300 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            return;
        }
        Reply::Send {
            status,
            headers,
            body,
        } => {
            let n = body.len();
            (status, headers, body, n)
        }
        Reply::Truncated { declared, body } => (200, vec![], body, declared),
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            return;
        }
    };
    let mut head =
        format!("HTTP/1.1 {status} X\r\nContent-Length: {declared}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

/// One message the SMTP receiver accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    /// The session switched to TLS before the message.
    pub tls: bool,
    /// `AUTH PLAIN` credentials (user, password), when given.
    pub auth: Option<(String, String)>,
}

/// An SMTP receiver on 127.0.0.1 offering STARTTLS and AUTH PLAIN/LOGIN.
pub struct Smtp {
    pub port: u16,
    pub mail: Arc<Mutex<Vec<Mail>>>,
}

impl Smtp {
    pub fn start(tls: &Tls) -> Smtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mail = Arc::new(Mutex::new(Vec::new()));
        let config = tls.config.clone();
        {
            let mail = mail.clone();
            std::thread::spawn(move || {
                for tcp in listener.incoming().flatten() {
                    let mail = mail.clone();
                    let config = config.clone();
                    std::thread::spawn(move || {
                        let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
                        smtp_session(tcp, config, &mail);
                    });
                }
            });
        }
        Smtp { port, mail }
    }

    pub fn mail(&self) -> Vec<Mail> {
        self.mail.lock().unwrap().clone()
    }
}

fn smtp_session(tcp: TcpStream, config: Arc<rustls::ServerConfig>, mail: &Mutex<Vec<Mail>>) {
    let mut stream: Box<dyn Stream> = Box::new(tcp.try_clone().unwrap());
    let _ = stream.write_all(b"220 127.0.0.1 ESMTP test\r\n");
    let mut tls = false;
    let mut current = Mail {
        from: String::new(),
        to: vec![],
        data: String::new(),
        tls: false,
        auth: None,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            let mut r = String::from("250-127.0.0.1\r\n250-AUTH PLAIN LOGIN\r\n");
            if !tls {
                r.push_str("250-STARTTLS\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper.starts_with("STARTTLS") {
            let _ = reader.get_mut().write_all(b"220 go ahead\r\n");
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            stream = Box::new(rustls::StreamOwned::new(conn, tcp.try_clone().unwrap()));
            reader = BufReader::new(stream);
            tls = true;
            continue;
        } else if upper.starts_with("AUTH PLAIN") {
            let encoded = cmd.split_whitespace().nth(2).unwrap_or_default();
            let decoded = base64_decode(encoded);
            let parts: Vec<&str> = decoded.split('\0').collect();
            if parts.len() == 3 {
                current.auth = Some((parts[1].to_string(), parts[2].to_string()));
            }
            "235 ok\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            current.from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
            "250 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            current
                .to
                .push(cmd[8..].trim().trim_matches(['<', '>']).to_string());
            "250 ok\r\n".into()
        } else if upper == "DATA" {
            let _ = reader.get_mut().write_all(b"354 end with .\r\n");
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(&l);
            }
            current.data = data;
            current.tls = tls;
            mail.lock().unwrap().push(current.clone());
            "250 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = reader.get_mut().write_all(b"221 bye\r\n");
            return;
        } else {
            "250 ok\r\n".into()
        };
        let _ = reader.get_mut().write_all(reply.as_bytes());
        let _ = reader.get_mut().flush();
    }
}

fn base64_decode(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
