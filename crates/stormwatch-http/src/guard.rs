//! Where a download may be sent: HTTPS unless plain HTTP was allowed, and redirects that
//! never downgrade to HTTP nor reach an internal address (loopback, link-local such as a
//! cloud metadata service, private networks) unless the source itself is one.

use std::net::{IpAddr, ToSocketAddrs};

use url::{Host, Url};

/// The kind of network an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
    /// 169.254/16, fe80::/10: among them cloud metadata services.
    LinkLocal,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7.
    Private,
}

impl Reach {
    fn describe(self) -> &'static str {
        match self {
            Reach::Public => "public",
            Reach::Loopback => "loopback",
            Reach::LinkLocal => "link-local",
            Reach::Private => "private",
        }
    }
}

pub fn reach_of_ip(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() || v4.is_unspecified() {
                Reach::Loopback
            } else if v4.is_link_local() {
                Reach::LinkLocal
            } else if v4.is_private() {
                Reach::Private
            } else {
                Reach::Public
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return reach_of_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() || v6.is_unspecified() {
                Reach::Loopback
            } else if first & 0xffc0 == 0xfe80 {
                Reach::LinkLocal
            } else if first & 0xfe00 == 0xfc00 {
                Reach::Private
            } else {
                Reach::Public
            }
        }
    }
}

/// The most internal kind among the addresses `url`'s host resolves to (a name that
/// resolves to any internal address counts as internal).
pub fn reach_of(url: &Url) -> Result<Reach, String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(Host::Domain(name)) => (name, port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .map(|a| a.ip())
            .collect(),
        None => return Err(format!("{url} names no host")),
    };
    let kinds: Vec<Reach> = addrs.into_iter().map(reach_of_ip).collect();
    Ok([Reach::LinkLocal, Reach::Loopback, Reach::Private]
        .into_iter()
        .find(|k| kinds.contains(k))
        .unwrap_or(Reach::Public))
}

/// Refuses a URL that is not HTTPS, unless it is plain HTTP and that was allowed.
pub fn check_scheme(url: &Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        "http" => Err(
            "plain http:// is refused (anyone on the path can change the data); use https:// \
             or pass --allow-http"
                .into(),
        ),
        other => Err(format!("{other}:// is not a download scheme")),
    }
}

/// Whether a download at `from` (whose source host is of kind `source`) may follow a
/// redirect to `to`.
pub fn check_redirect(from: &Url, to: &Url, source: Reach, allow_http: bool) -> Result<(), String> {
    let why = |why: String| format!("redirect to {to} refused: {why}");
    let refused = |reason: String| Err(why(reason));
    if from.scheme() == "https" && to.scheme() != "https" {
        return refused("it leaves HTTPS".into());
    }
    if let Err(why) = check_scheme(to, allow_http) {
        return refused(why);
    }
    if !to.username().is_empty() || to.password().is_some() {
        return refused("it carries credentials".into());
    }
    let reach = reach_of(to).map_err(why)?;
    if reach != Reach::Public && reach != source {
        return refused(format!(
            "it leads to a {} address and the source is {}",
            reach.describe(),
            match source {
                Reach::Public => "public".to_string(),
                other => format!("a {} address", other.describe()),
            }
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_addresses() {
        let r = |s: &str| reach_of_ip(s.parse().unwrap());
        assert_eq!(r("169.254.169.254"), Reach::LinkLocal);
        assert_eq!(r("127.0.0.1"), Reach::Loopback);
        assert_eq!(r("10.1.2.3"), Reach::Private);
        assert_eq!(r("172.20.0.1"), Reach::Private);
        assert_eq!(r("192.168.1.1"), Reach::Private);
        assert_eq!(r("8.8.8.8"), Reach::Public);
        assert_eq!(r("::1"), Reach::Loopback);
        assert_eq!(r("fe80::1"), Reach::LinkLocal);
        assert_eq!(r("fd00::1"), Reach::Private);
        assert_eq!(r("::ffff:169.254.169.254"), Reach::LinkLocal);
        assert_eq!(r("2606:4700::1111"), Reach::Public);
    }

    #[test]
    fn redirects() {
        let u = |s: &str| Url::parse(s).unwrap();
        let local = Reach::Loopback;
        assert!(check_redirect(
            &u("http://127.0.0.1/a"),
            &u("http://127.0.0.1/b"),
            local,
            true
        )
        .is_ok());
        assert!(check_redirect(
            &u("http://127.0.0.1/a"),
            &u("http://169.254.169.254/"),
            local,
            true
        )
        .is_err());
        assert!(check_redirect(
            &u("https://127.0.0.1/a"),
            &u("http://127.0.0.1/b"),
            local,
            true
        )
        .is_err());
        assert!(check_redirect(
            &u("https://8.8.8.8/a"),
            &u("https://10.0.0.1/b"),
            Reach::Public,
            false
        )
        .is_err());
        assert!(check_redirect(
            &u("https://8.8.8.8/a"),
            &u("file:///etc/passwd"),
            Reach::Public,
            false
        )
        .is_err());
    }
}
