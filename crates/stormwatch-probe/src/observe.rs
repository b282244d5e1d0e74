//! Reading responses: the `Server` header, Tornado's own error page, tracebacks, leaked
//! exception text and `Set-Cookie` lines. Everything here is bounded by the body cap and
//! linear in it.

/// The version in `Server: TornadoServer/6.4.2`.
pub fn tornado_version(server: &str) -> Option<&str> {
    let rest = server
        .split_whitespace()
        .find_map(|w| w.strip_prefix("TornadoServer/"))?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_')))
        .unwrap_or(rest.len());
    let v = &rest[..end];
    (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then_some(v)
}

/// Whether `server` names a version at all (`nginx/1.25.3`, `TornadoServer/6.5`).
pub fn discloses_version(server: &str) -> bool {
    server.split_whitespace().any(|w| {
        w.split_once('/')
            .is_some_and(|(_, v)| v.starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// Tornado's default error page: `<html><title>404: Not Found</title><body>404: Not
/// Found</body></html>`.
pub fn is_tornado_error_page(body: &str) -> bool {
    let t = body.trim();
    let Some(rest) = t.strip_prefix("<html><title>") else {
        return false;
    };
    let Some((title, rest)) = rest.split_once("</title><body>") else {
        return false;
    };
    let Some(text) = rest.strip_suffix("</body></html>") else {
        return false;
    };
    title == text
        && title.len() > 5
        && title.as_bytes()[..3].iter().all(u8::is_ascii_digit)
        && title[3..].starts_with(": ")
}

/// A Python traceback in a body: its last line (the exception), when there is one.
pub fn traceback(body: &str) -> Option<String> {
    let start = body
        .find("Traceback (most recent call last)")
        .or_else(|| frame_line(body))?;
    let tail = &body[start..];
    // The exception line: the first unindented line after the frames.
    let mut lines = tail.lines().skip(1);
    let exception = lines
        .find(|l| !l.is_empty() && !l.starts_with(char::is_whitespace) && !l.starts_with("File "))
        .unwrap_or("");
    Some(clip(&unescape(strip_tags(exception).trim()), 200))
}

/// `File "/app/x.py", line 12, in handler` (a frame, perhaps in an HTML page).
fn frame_line(body: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = body[from..].find("File ") {
        let at = from + i;
        let rest = &body[at + 5..];
        let quoted = rest.starts_with('"') || rest.starts_with("&quot;");
        if quoted {
            // A frame line is short: look no further than 400 bytes, so the scan stays
            // linear on a page of one endless line.
            let line = &rest[..floor_boundary(rest, 400)];
            let line = &line[..line.find('\n').unwrap_or(line.len())];
            if line.contains(".py") && line.contains(", line ") {
                return Some(at);
            }
        }
        from = at + 5;
    }
    None
}

/// Exception text in an error page that is not a whole traceback: `KeyError: 'user'`,
/// `psycopg2.OperationalError: ...`, `HTTP 400: Bad Request (Missing argument id)` (a
/// Tornado `HTTPError` rendered with `str()`), `<class 'ValueError'>`.
pub fn exception_text(body: &str) -> Option<String> {
    let text = unescape(&strip_tags(body));
    for marker in [
        "Error: ",
        "Exception: ",
        "Error:\n",
        "Exception:\n",
        "Error(",
        "Exception(",
    ] {
        let mut from = 0;
        while let Some(i) = text[from..].find(marker) {
            let at = from + i;
            let kind = marker.trim_end().trim_end_matches([':', '(']);
            let word_end = at + kind.len();
            // Names are short: look back a bounded distance, so the scan stays linear.
            let mut lo = at.saturating_sub(120);
            while !text.is_char_boundary(lo) {
                lo += 1;
            }
            let start = text[lo..at]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
                .map_or(lo, |(p, c)| lo + p + c.len_utf8());
            let name = &text[start..word_end];
            let last = name.rsplit('.').next().unwrap_or(name);
            if last.len() > kind.len() && last.starts_with(|c: char| c.is_ascii_uppercase()) {
                return Some(clip(line_at(&text, start), 200));
            }
            from = at + marker.len();
        }
    }
    // A repr is tag-like, so it is looked for before tags are dropped.
    let raw = unescape(body);
    if let Some(i) = raw.find("<class '") {
        return Some(clip(line_at(&raw, i), 200));
    }
    // `HTTPError.__str__`: "HTTP 400: Bad Request (log message)"; Tornado's own page never
    // shows the log message.
    let mut from = 0;
    while let Some(i) = text[from..].find("HTTP ") {
        let at = from + i;
        let rest = &text[at + 5..];
        let b = rest.as_bytes();
        if b.len() > 5 && b[..3].iter().all(u8::is_ascii_digit) && &b[3..5] == b": " {
            let line = line_at(&text, at);
            if line[line.find(": ").unwrap_or(0)..].contains(" (") {
                return Some(clip(line, 200));
            }
        }
        from = at + 5;
    }
    None
}

/// The largest char boundary of `s` at or below `i` (clamped to its length).
pub fn floor_boundary(s: &str, i: usize) -> usize {
    let mut end = i.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// The line starting at `at`, at most about 400 bytes of it.
fn line_at(text: &str, at: usize) -> &str {
    let end = floor_boundary(text, at + 400);
    let end = text[at..end].find('\n').map_or(end, |e| at + e);
    text[at..end].trim()
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// The text of an HTML fragment: tags dropped (a `<br>` or block end becomes a new line),
/// and the content of `<script>` and `<style>` too: code is not page text (`new
/// TypeError(...)` in a bundle is not a leaked exception).
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    // Lowered once (ASCII only, so offsets are the same), searched from each script's end.
    let lower = s.to_ascii_lowercase();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = memchr::memchr(b'<', &bytes[i..]) else {
            out.push_str(&s[i..]);
            break;
        };
        out.push_str(&s[i..i + lt]);
        let tag_start = i + lt + 1;
        let Some(gt) = memchr::memchr(b'>', &bytes[tag_start..]) else {
            // An unclosed `<` is text (a repr, a comparison), not a tag.
            out.push_str(&s[i + lt..]);
            break;
        };
        let tag = &s[tag_start..tag_start + gt];
        i = tag_start + gt + 1;
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let close = format!("</{name}");
            match lower[i..].find(&close) {
                Some(at) => i += at,
                None => break,
            }
            continue;
        }
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "pre" | "li" | "tr" | "title" | "h1" | "h2" | "h3"
        ) {
            out.push('\n');
        }
    }
    out
}

fn unescape(s: &str) -> String {
    html_escape::decode_html_entities(s).into_owned()
}

/// One `Set-Cookie` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub secure: bool,
    pub http_only: bool,
    /// The `SameSite` value as written, if any.
    pub same_site: Option<String>,
    /// `Max-Age=0` or an expiry in the past: the cookie is being deleted.
    pub deleting: bool,
}

impl Cookie {
    pub fn parse(line: &str) -> Option<Cookie> {
        let mut parts = line.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let mut c = Cookie {
            name: name.to_string(),
            value: value.trim().trim_matches('"').to_string(),
            secure: false,
            http_only: false,
            same_site: None,
            deleting: false,
        };
        for attr in parts {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            match k.trim().to_ascii_lowercase().as_str() {
                "secure" => c.secure = true,
                "httponly" => c.http_only = true,
                "samesite" => c.same_site = Some(v.trim().to_string()),
                "max-age" => c.deleting |= v.trim().parse::<i64>().is_ok_and(|n| n <= 0),
                "expires" => c.deleting |= v.contains("1970"),
                _ => {}
            }
        }
        Some(c)
    }

    /// Tornado's XSRF cookie.
    pub fn is_xsrf(&self) -> bool {
        self.name == "_xsrf"
    }

    /// A cookie that identifies a session or a user: by its name, or by carrying a value
    /// signed with Tornado's `set_signed_cookie` (`2|1:0|10:...` or `base64|time|sig`).
    pub fn is_session_like(&self) -> bool {
        if self.is_xsrf() {
            return false;
        }
        let name = self.name.to_ascii_lowercase();
        let named = [
            "session", "sess", "sid", "auth", "token", "login", "user", "jwt", "remember",
            "account",
        ]
        .iter()
        .any(|w| name.contains(w))
            && !name.contains("csrf")
            && !name.contains("xsrf");
        named || is_signed_value(&self.value)
    }
}

fn is_signed_value(v: &str) -> bool {
    if v.starts_with("2|1:") {
        return true;
    }
    let parts: Vec<&str> = v.split('|').collect();
    parts.len() == 3
        && parts[1].len() >= 9
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() >= 40
        && parts[2].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_server_headers() {
        assert_eq!(tornado_version("TornadoServer/6.4.2"), Some("6.4.2"));
        assert_eq!(tornado_version("TornadoServer/6.5b1 extra"), Some("6.5b1"));
        assert_eq!(tornado_version("nginx/1.25"), None);
        assert_eq!(tornado_version("TornadoServer/"), None);
        assert!(discloses_version("nginx/1.25.3"));
        assert!(!discloses_version("nginx"));
    }

    #[test]
    fn tornado_error_pages() {
        assert!(is_tornado_error_page(
            "<html><title>404: Not Found</title><body>404: Not Found</body></html>"
        ));
        assert!(!is_tornado_error_page(
            "<html><title>Oops</title><body>x</body></html>"
        ));
    }

    #[test]
    fn tracebacks_plain_and_html() {
        let plain = "Traceback (most recent call last):\n  File \"/usr/lib/python3/site-packages/tornado/web.py\", line 1790, in _execute\n    result = self.prepare()\ntornado.web.HTTPError: HTTP 404: Not Found\n";
        assert_eq!(
            traceback(plain).unwrap(),
            "tornado.web.HTTPError: HTTP 404: Not Found"
        );
        let html = "<pre>File &quot;/app/views.py&quot;, line 12, in get\n  x = d['k']\nKeyError: &#39;k&#39;</pre>";
        assert_eq!(traceback(html).unwrap(), "KeyError: 'k'");
        assert!(traceback("<html>File not found</html>").is_none());
    }

    #[test]
    fn exception_text_without_false_alarms() {
        assert!(exception_text("<p>KeyError: 'user_id'</p>").is_some());
        assert!(exception_text("sqlalchemy.exc.OperationalError: could not connect").is_some());
        assert!(exception_text("HTTP 400: Bad Request (Missing argument id)").is_some());
        assert!(exception_text("<class 'ValueError'>").is_some());
        assert!(exception_text("<p>went wrong: KeyError(&#39;user_id&#39;)</p>").is_some());
        assert!(exception_text("<script>throw new Error('x')</script>").is_none());
        assert!(exception_text(
            "<html><script>if(!x)throw new TypeError(\"bad\")</script><style>.KeyError: {}</style><p>Not found</p></html>"
        )
        .is_none());
        assert!(exception_text("<p>a < b</p><p>ValueError: x</p>").is_some());
        // Tornado's default page and ordinary prose.
        assert!(exception_text("<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>").is_none());
        assert!(exception_text("Server Error: please try again").is_none());
        assert!(exception_text("HTTP 404: Not Found").is_none());
    }

    #[test]
    fn cookies() {
        let c = Cookie::parse("user=\"2|1:0|10:1700000000|4:user|8:YWxpY2U=|abc\"; expires=Thu, 01 Jan 2026 00:00:00 GMT; Path=/").unwrap();
        assert!(c.is_session_like() && !c.secure && !c.http_only && c.same_site.is_none());
        let x = Cookie::parse("_xsrf=2|abc|def|123; Path=/; Secure; SameSite=Strict").unwrap();
        assert!(x.is_xsrf() && !x.is_session_like() && x.secure);
        assert_eq!(x.same_site.as_deref(), Some("Strict"));
        let theme = Cookie::parse("theme=dark; HttpOnly").unwrap();
        assert!(!theme.is_session_like() && theme.http_only);
        assert!(Cookie::parse("sessionid=; Max-Age=0").unwrap().deleting);
        assert!(Cookie::parse("garbage").is_none());
    }
}
