//! The `[advisories]` and `[monitor]` tables: where advisory data comes from, how old it may
//! be, and where `stormwatch monitor` sends its alerts.

use stormwatch_findings::Threshold;
use toml_edit::{Item, TableLike};

use super::{PolicyError, Reader};

/// `[advisories]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advisories {
    /// `db update` sources (URLs, paths, or `default`), replacing the default list.
    pub sources: Vec<String>,
    /// Days after which the advisory data is reported as stale (default 7).
    pub max_age: Option<i64>,
}

/// Where a channel sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    Webhook,
    Slack,
    Teams,
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Email => "email",
        }
    }
}

/// One `[[monitor.channel]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub kind: ChannelKind,
    /// The URL (webhook, Slack, Teams), or the SMTP server `host[:port]` (email).
    pub target: Target,
    /// Email: recipients and sender.
    pub to: Vec<String>,
    pub from: Option<String>,
    /// Events below this are not sent here.
    pub min_severity: Threshold,
    pub line: usize,
}

/// A channel's address, written in the file or read from an environment variable (webhook
/// URLs are secrets and should not be committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Literal(String),
    Env(String),
}

/// `[monitor]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitor {
    /// The project's name in the monitor's state (default: the directory's name).
    pub project: Option<String>,
    /// Days before a patch deadline that a reminder is sent (default 7).
    pub deadline_warning: Option<i64>,
    pub channels: Vec<Channel>,
}

const ADVISORY_KEYS: &[&str] = &["sources", "max-age"];
const MONITOR_KEYS: &[&str] = &["project", "deadline-warning", "channel"];
const CHANNEL_KEYS: &[&str] = &[
    "type",
    "url",
    "url-env",
    "smtp",
    "to",
    "from",
    "min-severity",
];

fn table<'i>(
    r: &Reader,
    item: &'i Item,
    line: usize,
    name: &str,
) -> Result<&'i dyn TableLike, PolicyError> {
    item.as_table_like()
        .ok_or_else(|| r.error(line, format!("`{name}` must be a table")))
}

fn days(r: &Reader, item: &Item, line: usize, name: &str) -> Result<i64, PolicyError> {
    item.as_integer()
        .filter(|d| (0..=3650).contains(d))
        .ok_or_else(|| {
            r.error(
                line,
                format!("{name} must be a number of days from 0 to 3650"),
            )
        })
}

fn strings(r: &Reader, item: &Item, line: usize, name: &str) -> Result<Vec<String>, PolicyError> {
    let array = item
        .as_array()
        .ok_or_else(|| r.error(line, format!("`{name}` must be a list of strings")))?;
    array
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| {
                    r.error(
                        line,
                        format!("`{name}` must be a list of non-empty strings"),
                    )
                })
        })
        .collect()
}

pub(crate) fn advisories(r: &Reader, item: &Item, line: usize) -> Result<Advisories, PolicyError> {
    let t = table(r, item, line, "advisories")?;
    r.check_keys(t, ADVISORY_KEYS, "[advisories]")?;
    let mut out = Advisories::default();
    for (key, item) in t.iter() {
        let line = r.item_line(t, key, item);
        match key {
            "sources" => out.sources = strings(r, item, line, "advisories.sources")?,
            "max-age" => out.max_age = Some(days(r, item, line, "advisories.max-age")?),
            _ => unreachable!("keys checked above"),
        }
    }
    Ok(out)
}

pub(crate) fn monitor(r: &Reader, item: &Item, line: usize) -> Result<Monitor, PolicyError> {
    let t = table(r, item, line, "monitor")?;
    r.check_keys(t, MONITOR_KEYS, "[monitor]")?;
    let mut out = Monitor::default();
    for (key, item) in t.iter() {
        let line = r.item_line(t, key, item);
        match key {
            "project" => out.project = Some(r.string(t, key, item)?.to_string()),
            "deadline-warning" => {
                out.deadline_warning = Some(days(r, item, line, "monitor.deadline-warning")?)
            }
            "channel" => {
                let tables = item.as_array_of_tables().ok_or_else(|| {
                    r.error(line, "`monitor.channel` must be [[monitor.channel]] tables")
                })?;
                for ch in tables.iter() {
                    out.channels.push(channel(r, ch, r.line(ch.span()))?);
                }
            }
            _ => unreachable!("keys checked above"),
        }
    }
    Ok(out)
}

fn channel(r: &Reader, t: &toml_edit::Table, line: usize) -> Result<Channel, PolicyError> {
    r.check_keys(t, CHANNEL_KEYS, "[[monitor.channel]]")?;
    let get = |key: &str| -> Result<Option<String>, PolicyError> {
        t.get(key)
            .map(|item| r.string(t, key, item).map(str::to_string))
            .transpose()
    };
    let kind = match get("type")?.as_deref() {
        Some("webhook") => ChannelKind::Webhook,
        Some("slack") => ChannelKind::Slack,
        Some("teams") => ChannelKind::Teams,
        Some("email") => ChannelKind::Email,
        Some(other) => {
            return Err(r.error(
                line,
                format!(
                "monitor.channel: unknown type `{other}` (expected webhook, slack, teams or email)"
            ),
            ))
        }
        None => return Err(r.error(line, "monitor.channel: `type` is required")),
    };
    let address_key = if kind == ChannelKind::Email {
        "smtp"
    } else {
        "url"
    };
    let target = match (get(address_key)?, get("url-env")?) {
        (Some(v), None) => Target::Literal(v),
        (None, Some(env)) if kind != ChannelKind::Email => Target::Env(env),
        (Some(_), Some(_)) => {
            return Err(r.error(line, "monitor.channel: give `url` or `url-env`, not both"))
        }
        _ if kind == ChannelKind::Email => {
            return Err(r.error(
                line,
                "monitor.channel: an email channel needs `smtp = \"host[:port]\"`",
            ))
        }
        _ => {
            return Err(r.error(
                line,
                "monitor.channel: needs `url-env` (the variable holding the URL) or `url`",
            ))
        }
    };
    let to = match t.get("to") {
        Some(item) => strings(r, item, r.item_line(t, "to", item), "to")?,
        None => Vec::new(),
    };
    let from = get("from")?;
    if kind == ChannelKind::Email && (to.is_empty() || from.is_none()) {
        return Err(r.error(
            line,
            "monitor.channel: an email channel needs `to` and `from`",
        ));
    }
    let min_severity = match get("min-severity")? {
        Some(s) => s
            .parse()
            .map_err(|e: String| r.error(line, format!("monitor.channel: min-severity: {e}")))?,
        None => Threshold::Low,
    };
    Ok(Channel {
        kind,
        target,
        to,
        from,
        min_severity,
        line,
    })
}
