//! Where events go: a generic JSON webhook, Slack, Microsoft Teams, email over SMTP.

use std::time::Duration;

use serde_json::{json, Value};
use stormwatch_findings::{Severity, Threshold};
use stormwatch_http::Client;

use crate::{Event, EventKind};

/// How a channel sends.
#[derive(Debug, Clone)]
pub enum Sender {
    /// POSTs the event as JSON, with an `Idempotency-Key` header.
    Webhook(String),
    /// A Slack incoming webhook (Block Kit message).
    Slack(String),
    /// A Microsoft Teams workflow webhook (Adaptive Card).
    Teams(String),
    /// Email over SMTP with STARTTLS. Credentials from `STORMWATCH_SMTP_USERNAME` and
    /// `STORMWATCH_SMTP_PASSWORD` when set.
    Email {
        host: String,
        port: u16,
        from: String,
        to: Vec<String>,
    },
}

/// A configured destination.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Stable and free of secrets (a webhook URL is one): `kind:hash`.
    pub id: String,
    pub min_severity: Threshold,
    pub sender: Sender,
}

impl Channel {
    pub fn new(sender: Sender, min_severity: Threshold) -> Channel {
        let (kind, target) = match &sender {
            Sender::Webhook(u) => ("webhook", u.clone()),
            Sender::Slack(u) => ("slack", u.clone()),
            Sender::Teams(u) => ("teams", u.clone()),
            Sender::Email { host, port, to, .. } => {
                ("email", format!("{host}:{port}:{}", to.join(",")))
            }
        };
        Channel {
            id: format!("{kind}:{}", crate::hash(&[&target])),
            min_severity,
            sender,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.sender {
            Sender::Webhook(_) => "webhook",
            Sender::Slack(_) => "slack",
            Sender::Teams(_) => "teams",
            Sender::Email { .. } => "email",
        }
    }

    /// Whether the event is for this channel: at or above its minimum severity (an event
    /// without a rating counts as high); failures always are.
    pub fn wants(&self, event: &Event) -> bool {
        if event.kind == EventKind::Failure {
            return true;
        }
        let severity = match event.severity {
            Severity::Unknown => Severity::High,
            s => s,
        };
        self.min_severity.fails(severity)
    }
}

/// The lines every message shares, most important first.
pub fn text_lines(event: &Event) -> Vec<String> {
    let mut lines = vec![event.title.clone(), event.detail.clone()];
    if let Some(f) = &event.finding {
        if let Some(fix) = &f.fix {
            lines.push(format!("Fix: {fix}"));
        }
        let mut when = Vec::new();
        if let Some(due) = &f.due {
            when.push(format!("Deadline: {due}"));
        }
        if let Some(owner) = &f.owner {
            when.push(format!("Owner: {owner}"));
        }
        if !when.is_empty() {
            lines.push(when.join(" | "));
        }
        lines.push(format!("Severity: {}", f.severity));
        if !f.locations.is_empty() {
            lines.push(format!("Where: {}", f.locations.join(", ")));
        }
        let ids: Vec<&str> = f
            .aliases
            .iter()
            .map(String::as_str)
            .filter(|a| *a != f.id)
            .collect();
        lines.push(if ids.is_empty() {
            format!("Advisory: {}", f.id)
        } else {
            format!("Advisory: {} ({})", f.id, ids.join(", "))
        });
    }
    lines.push(format!("Project: {}", event.project));
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// The generic webhook body: the event itself, with a type and version to dispatch on.
pub fn webhook_body(event: &Event) -> Value {
    let mut v = serde_json::to_value(event).expect("events serialize");
    if let Value::Object(map) = &mut v {
        map.insert("type".into(), json!("stormwatch.event"));
        map.insert("version".into(), json!(1));
        map.insert("text".into(), json!(text_lines(event).join("\n")));
    }
    v
}

pub fn slack_body(event: &Event) -> Value {
    let lines = text_lines(event);
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let body: Vec<String> = lines[1..].iter().map(|l| escape(l)).collect();
    json!({
        "text": lines[0],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&lines[0], 150)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&body.join("\n"), 3000)}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("stormwatch monitor | {} | {}", event.kind.as_str(), event.severity)}
            ]}
        ]
    })
}

pub fn teams_body(event: &Event) -> Value {
    let lines = text_lines(event);
    let facts: Vec<Value> = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": lines[0], "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": event.detail, "wrap": true},
                    {"type": "FactSet", "facts": facts}
                ]
            }
        }]
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn send_email(
    host: &str,
    port: u16,
    from: &str,
    to: &[String],
    event: &Event,
    timeout: Duration,
) -> Result<(), String> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
    use lettre::{Message, SmtpTransport, Transport};

    let mut message = Message::builder()
        .from(
            from.parse()
                .map_err(|e| format!("from address `{from}`: {e}"))?,
        )
        .subject(truncate(&event.title, 200))
        .header(lettre::message::header::ContentType::TEXT_PLAIN);
    for addr in to {
        message = message.to(addr
            .parse()
            .map_err(|e| format!("to address `{addr}`: {e}"))?);
    }
    let message = message
        .body(text_lines(event).join("\n"))
        .map_err(|e| e.to_string())?;
    let mut tls = TlsParameters::builder(host.to_string());
    if let Some(bundle) = std::env::var_os(stormwatch_http::CA_ENV).filter(|p| !p.is_empty()) {
        let pem = std::fs::read(&bundle).map_err(|e| {
            format!(
                "{}: cannot read ({}): {e}",
                bundle.to_string_lossy(),
                stormwatch_http::CA_ENV
            )
        })?;
        tls = tls
            .certificate_store(CertificateStore::None)
            .add_root_certificate(Certificate::from_pem(&pem).map_err(|e| e.to_string())?);
    }
    let tls = tls.build_rustls().map_err(|e| e.to_string())?;
    let mut transport = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(Tls::Required(tls))
        .timeout(Some(timeout));
    if let (Ok(user), Ok(password)) = (
        std::env::var("STORMWATCH_SMTP_USERNAME"),
        std::env::var("STORMWATCH_SMTP_PASSWORD"),
    ) {
        transport = transport.credentials(Credentials::new(user, password));
    }
    transport
        .build()
        .send(&message)
        .map(|_| ())
        .map_err(|e| format!("SMTP {host}:{port}: {e}"))
}

/// One attempt series (the client's retries) to send `event` through `channel`.
pub(crate) fn send(channel: &Channel, event: &Event, client: &Client) -> Result<(), String> {
    let post = |url: &str, body: Value| {
        client
            .post(url, &body.to_string(), &event.id)
            // The URL is a secret: say which channel, not where.
            .map_err(|e| match e {
                stormwatch_http::HttpError::Failed { message, .. } => message,
                other => other.to_string(),
            })
    };
    match &channel.sender {
        Sender::Webhook(url) => post(url, webhook_body(event)),
        Sender::Slack(url) => post(url, slack_body(event)),
        Sender::Teams(url) => post(url, teams_body(event)),
        Sender::Email {
            host,
            port,
            from,
            to,
        } => {
            let options = client.options();
            let mut wait = options.backoff;
            let mut last = String::new();
            for attempt in 1..=options.attempts.max(1) {
                match send_email(host, *port, from, to, event, options.timeout) {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
                if attempt < options.attempts {
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
            }
            Err(last)
        }
    }
}

/// Checks a webhook, Slack or Teams URL before anything is sent to it: an absolute
/// `https://` URL with a host (`http://` only when `allow_http`). The error never repeats
/// the URL's path or query, which carry the secret.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a valid URL ({e})"))?;
    let host = parsed.host_str().filter(|h| !h.is_empty());
    match (parsed.scheme(), host) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(_)) if allow_http => Ok(()),
        ("http", Some(host)) => Err(format!(
            "plain http:// to {host} refused: events would travel unencrypted (use https://, or --allow-http-webhook for a receiver on a trusted network)"
        )),
        ("http" | "https", None) => Err("the URL names no host".into()),
        (scheme, _) => Err(format!(
            "`{scheme}:` URLs are not accepted: only https:// (or http:// with --allow-http-webhook)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn webhook_urls_are_https_with_a_host() {
        assert!(check_url("https://hooks.example.com/T/x?token=1", false).is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
        for bad in [
            "file:///etc/passwd",
            "gopher://h/",
            "https://",
            "hooks.example.com/x",
            "",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
        let err = check_url("ftp://h/secret-path", true).unwrap_err();
        assert!(!err.contains("secret-path"), "{err}");
    }
}
