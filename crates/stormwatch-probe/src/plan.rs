//! Which requests the probe sends after the root page, in priority order: the cap cuts
//! from the end.

use url::Url;

use crate::Options;

/// Why a request was sent; the rules judge responses by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Root,
    /// A path that cannot exist: Tornado answers it by raising `HTTPError(404)`.
    NotFound,
    /// The root with arguments that are not UTF-8: a handler reading them raises 400.
    Malformed,
    /// `HEAD`, which handlers rarely implement (405).
    WrongMethod,
    /// A static file the root page links to.
    Static,
    /// One of `--path`.
    Path,
    /// An empty `POST` (`--allow-post`): a missing XSRF token or method raises 403/405.
    Post,
}

impl Purpose {
    /// Requests made to provoke an error page.
    pub fn provokes_error(self) -> bool {
        matches!(
            self,
            Purpose::NotFound | Purpose::Malformed | Purpose::WrongMethod | Purpose::Post
        )
    }
}

/// Argument names handlers commonly read; each value is a lone byte that is not UTF-8.
const MALFORMED_QUERY: &str = "id=%FF&page=%FF&q=%FF&next=%FF&name=%FF&user=%FF";

/// A path nobody routes: fixed prefix, per-run suffix (a cache cannot answer it).
pub fn missing_path() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    format!("stormwatch-probe-{:016x}", h.finish())
}

/// The first same-origin stylesheet, script or image the page links to, preferring one
/// under a `static` path (Tornado's `static_url`).
pub fn static_link(base: &Url, body: &[u8]) -> Option<Url> {
    let text = String::from_utf8_lossy(&body[..body.len().min(256 * 1024)]);
    let mut found: Vec<Url> = Vec::new();
    for attr in ["src=", "href="] {
        let mut rest = text.as_ref();
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let quote = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => continue,
            };
            let Some(end) = rest[1..].find(quote) else {
                break;
            };
            let link = &rest[1..1 + end];
            let Ok(url) = base.join(link) else { continue };
            let path = url.path().to_ascii_lowercase();
            let is_asset = [
                ".css", ".js", ".png", ".svg", ".ico", ".jpg", ".gif", ".woff2",
            ]
            .iter()
            .any(|e| path.ends_with(e));
            if is_asset && crate::same_origin(base, &url) {
                found.push(url);
            }
        }
    }
    found
        .iter()
        .find(|u| u.path().contains("/static/"))
        .or(found.first())
        .cloned()
}

/// The requests after the root, in the order they are sent.
pub fn requests(
    base: &Url,
    root_body: &[u8],
    options: &Options,
) -> Vec<(Purpose, &'static str, Url)> {
    let mut out = Vec::new();
    if let Ok(url) = base.join(&missing_path()) {
        out.push((Purpose::NotFound, "GET", url));
    }
    let mut malformed = base.clone();
    malformed.set_query(Some(MALFORMED_QUERY));
    out.push((Purpose::Malformed, "GET", malformed));
    out.push((Purpose::WrongMethod, "HEAD", base.clone()));
    if let Some(url) = static_link(base, root_body) {
        out.push((Purpose::Static, "GET", url));
    }
    let paths: Vec<Url> = options
        .paths
        .iter()
        .filter_map(|p| base.join(p).ok())
        .filter(|u| crate::same_origin(base, u))
        .collect();
    for url in &paths {
        out.push((Purpose::Path, "GET", url.clone()));
    }
    if options.allow_post {
        out.push((Purpose::Post, "POST", base.clone()));
        for url in &paths {
            out.push((Purpose::Post, "POST", url.clone()));
        }
    }
    // The app's own paths with malformed arguments come last: most of the cap goes to
    // requests that say something about every app.
    for url in &paths {
        let mut u = url.clone();
        u.set_query(Some(MALFORMED_QUERY));
        out.push((Purpose::Malformed, "GET", u));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_links_on_the_same_origin_only() {
        let base = Url::parse("http://127.0.0.1:8000/app/").unwrap();
        let page = br#"<link href="https://cdn.example/x.css"><script src='/static/app.js?v=abc'></script><img src="logo.png">"#;
        let url = static_link(&base, page).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8000/static/app.js?v=abc");
        let none = static_link(&base, br#"<link href="https://cdn.example/x.css">"#);
        assert!(none.is_none());
        let relative = static_link(&base, br#"<img src="logo.png">"#).unwrap();
        assert_eq!(relative.as_str(), "http://127.0.0.1:8000/app/logo.png");
    }

    #[test]
    fn paths_to_other_hosts_are_dropped() {
        let base = Url::parse("http://127.0.0.1:8000/").unwrap();
        let options = Options {
            paths: vec!["/api".into(), "http://other.example/x".into()],
            allow_post: true,
            ..Options::default()
        };
        let plan = requests(&base, b"", &options);
        assert!(plan
            .iter()
            .all(|(_, _, u)| u.host_str() == Some("127.0.0.1")));
        assert_eq!(
            plan.iter().filter(|(p, _, _)| *p == Purpose::Path).count(),
            1
        );
        assert_eq!(plan.iter().filter(|(_, m, _)| *m == "POST").count(), 2);
        let without_post = requests(&base, b"", &Options::default());
        assert!(without_post
            .iter()
            .all(|(_, m, _)| *m == "GET" || *m == "HEAD"));
    }
}
