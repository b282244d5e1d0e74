//! What a package index says about a project's releases: versions, yanked ones,
//! `Requires-Python`, and the sha256 of every file (to refresh hash-pinned requirements).
//! A PEP 503/691 simple index over HTTP(S), a PEP 503 directory (`DIR/<name>/index.html`),
//! or a flat directory of wheels and sdists (pip's `--find-links`).

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use pep440_rs::{Version, VersionSpecifiers};

use crate::choose::Candidate;

/// One distribution file of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub filename: String,
    pub version: Version,
    pub sha256: Option<String>,
    pub yanked: bool,
    pub requires_python: Option<String>,
}

/// The releases of one project.
#[derive(Debug, Clone, Default)]
pub struct Releases {
    pub files: Vec<File>,
}

fn normalize(name: &str) -> String {
    crate::edit::normalize(name)
}

/// The version a distribution file name carries, when it is one of `project`'s.
pub fn version_of(filename: &str, project: &str) -> Option<Version> {
    let wanted = normalize(project);
    if let Some(stem) = filename.strip_suffix(".whl") {
        let mut parts = stem.split('-');
        let (name, version) = (parts.next()?, parts.next()?);
        return (normalize(name) == wanted)
            .then(|| Version::from_str(version).ok())
            .flatten();
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    let (name, version) = stem.rsplit_once('-')?;
    (normalize(name) == wanted)
        .then(|| Version::from_str(version).ok())
        .flatten()
}

fn unescape(s: &str) -> String {
    html_escape::decode_html_entities(s).into_owned()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        let before_ok = i == 0 || lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = &tag[i + name.len()..];
        let rest_trim = rest.trim_start();
        if before_ok && !rest_trim.starts_with('=') {
            // A bare attribute (`data-yanked`).
            if rest.is_empty() || rest.starts_with(|c: char| c.is_whitespace() || c == '>') {
                return Some(String::new());
            }
        }
        if before_ok && rest_trim.starts_with('=') {
            let value = rest_trim[1..].trim_start();
            let (quote, body) = match value.chars().next() {
                Some(q @ ('"' | '\'')) => (Some(q), &value[1..]),
                _ => (None, value),
            };
            let end = match quote {
                Some(q) => body.find(q).unwrap_or(body.len()),
                None => body
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(body.len()),
            };
            return Some(unescape(&body[..end]));
        }
        from = i + name.len();
    }
    None
}

/// The files of a PEP 503 HTML page.
pub fn parse_html(project: &str, html: &str) -> Releases {
    let mut files = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<a").map(|i| from + i) {
        // The tag ends at the first `>` outside quotes (`data-requires-python=">=3.9"`).
        let mut quote = None;
        let Some(end) = html[start..]
            .char_indices()
            .find(|&(_, c)| {
                match (quote, c) {
                    (None, '"' | '\'') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, '>') => return true,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| start + i)
        else {
            break;
        };
        let tag = &html[start + 2..end];
        from = end + 1;
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let (url, fragment) = href.split_once('#').unwrap_or((href.as_str(), ""));
        let filename = url.rsplit('/').next().unwrap_or(url);
        let filename = filename.split('?').next().unwrap_or(filename).to_string();
        let Some(version) = version_of(&filename, project) else {
            continue;
        };
        files.push(File {
            version,
            sha256: fragment.strip_prefix("sha256=").map(str::to_string),
            yanked: attribute(tag, "data-yanked").is_some(),
            requires_python: attribute(tag, "data-requires-python").filter(|s| !s.is_empty()),
            filename,
        });
    }
    Releases { files }
}

/// The files of a PEP 691 JSON page.
pub fn parse_json(project: &str, json: &str) -> Result<Releases, String> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for f in value["files"].as_array().into_iter().flatten() {
        let Some(filename) = f["filename"].as_str() else {
            continue;
        };
        let Some(version) = version_of(filename, project) else {
            continue;
        };
        files.push(File {
            filename: filename.to_string(),
            version,
            sha256: f["hashes"]["sha256"].as_str().map(str::to_string),
            yanked: match &f["yanked"] {
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::String(_) => true,
                _ => false,
            },
            requires_python: f["requires-python"].as_str().map(str::to_string),
        });
    }
    Ok(Releases { files })
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The releases of `project` in a local directory: a PEP 503 tree (`DIR/<name>/index.html`,
/// hashes from its links, else from the files beside it) or a flat directory of files.
pub fn read_dir(dir: &Path, project: &str) -> std::io::Result<Releases> {
    let page = dir.join(normalize(project)).join("index.html");
    if page.is_file() {
        let html = std::fs::read_to_string(&page)?;
        let mut releases = parse_html(project, &html);
        for f in releases.files.iter_mut().filter(|f| f.sha256.is_none()) {
            if let Ok(bytes) = std::fs::read(page.with_file_name(&f.filename)) {
                f.sha256 = Some(sha256_hex(&bytes));
            }
        }
        return Ok(releases);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let filename = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = version_of(&filename, project) else {
            continue;
        };
        let bytes = std::fs::read(entry.path())?;
        files.push(File {
            filename,
            version,
            sha256: Some(sha256_hex(&bytes)),
            yanked: false,
            requires_python: None,
        });
    }
    files.sort_by(|a, b| a.filename.cmp(&b.filename));
    Ok(Releases { files })
}

/// Reads `project`'s page from `index` (a URL or a directory).
pub fn fetch(
    index: &str,
    project: &str,
    client: Option<&stormwatch_http::Client>,
) -> Result<Releases, String> {
    let lower = index.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return read_dir(Path::new(index), project).map_err(|e| format!("{index}: {e}"));
    }
    let client = client.ok_or("offline: the index is not read")?;
    let url = format!("{}/{}/", index.trim_end_matches('/'), normalize(project));
    let (body, kind) = client
        .get_text(&url, "application/vnd.pypi.simple.v1+json, text/html;q=0.2")
        .map_err(|e| e.to_string())?;
    if kind.contains("json") {
        parse_json(project, &body).map_err(|e| format!("{url}: {e}"))
    } else {
        Ok(parse_html(project, &body))
    }
}

impl Releases {
    /// One candidate per version: yanked when every file is; incompatible when no file's
    /// `Requires-Python` admits `python` (when given).
    pub fn candidates(&self, python: Option<(u64, u64)>) -> Vec<Candidate> {
        let mut by_version: BTreeMap<&Version, (bool, bool)> = BTreeMap::new();
        for f in &self.files {
            let compatible = match (python, &f.requires_python) {
                (Some((major, minor)), Some(spec)) => VersionSpecifiers::from_str(spec)
                    .map(|s| s.contains(&Version::new([major, minor])))
                    .unwrap_or(true),
                _ => true,
            };
            let entry = by_version.entry(&f.version).or_insert((true, false));
            entry.0 &= f.yanked;
            entry.1 |= compatible;
        }
        by_version
            .into_iter()
            .map(|(v, (yanked, compatible))| Candidate {
                version: v.clone(),
                yanked,
                python_incompatible: !compatible,
            })
            .collect()
    }

    /// The sha256 of every file of `version`, sorted, when all are known.
    pub fn hashes(&self, version: &Version) -> Option<Vec<String>> {
        let files: Vec<&File> = self
            .files
            .iter()
            .filter(|f| &f.version == version)
            .collect();
        if files.is_empty() {
            return None;
        }
        let mut hashes: Vec<String> = files
            .iter()
            .map(|f| f.sha256.clone())
            .collect::<Option<_>>()?;
        hashes.sort();
        hashes.dedup();
        Some(hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    #[test]
    fn html_and_json_pages() {
        let html = r#"<html><body>
<a href="https://files/tornado-6.1.tar.gz#sha256=aa" data-requires-python="&gt;=3.5">tornado-6.1.tar.gz</a>
<a href="../../packages/tornado-6.5-cp39-abi3-manylinux.whl#sha256=bb" data-requires-python="&gt;=3.9" data-yanked="">x</a>
<a href='tornado-6.5.tar.gz#sha256=cc' data-requires-python=">=3.9">y</a>
<a href="tornado_extra-1.0.tar.gz">other project</a>
</body></html>"#;
        let r = parse_html("Tornado", html);
        assert_eq!(r.files.len(), 3, "{r:?}");
        assert_eq!(r.files[0].requires_python.as_deref(), Some(">=3.5"));
        assert!(r.files[1].yanked);
        let c = r.candidates(Some((3, 8)));
        assert_eq!(c.len(), 2);
        assert!(!c[0].python_incompatible && !c[0].yanked);
        assert!(c[1].python_incompatible, "6.5 needs 3.9");
        assert!(!c[1].yanked, "one of its files is not yanked");
        assert_eq!(r.hashes(&v("6.5")).unwrap(), ["bb", "cc"]);

        let json = r#"{"meta":{"api-version":"1.0"},"name":"tornado","files":[
          {"filename":"tornado-6.4.2.tar.gz","hashes":{"sha256":"dd"},"requires-python":">=3.8"},
          {"filename":"tornado-6.4.1.tar.gz","hashes":{"sha256":"ee"},"yanked":"broken"}]}"#;
        let r = parse_json("tornado", json).unwrap();
        assert_eq!(r.files.len(), 2);
        assert!(r.files[1].yanked);
        assert_eq!(r.hashes(&v("6.4.2")).unwrap(), ["dd"]);
        assert!(parse_json("tornado", "{").is_err());
    }

    #[test]
    fn directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("six-1.16.0-py2.py3-none-any.whl"), b"wheel").unwrap();
        std::fs::write(dir.path().join("six-1.17.0.tar.gz"), b"sdist").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let r = read_dir(dir.path(), "six").unwrap();
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.hashes(&v("1.17.0")).unwrap(), [sha256_hex(b"sdist")]);
        assert_eq!(
            version_of("Six-1.16.0-py2.py3-none-any.whl", "six"),
            Some(v("1.16.0"))
        );
        assert_eq!(version_of("six-1.16.0-py2.py3-none-any.whl", "sixx"), None);
    }
}
