//! pip requirements files, with the syntax pip itself accepts: `-r`/`-c` includes, `-e`,
//! `--hash` and other per-requirement options, environment markers, extras, direct URLs,
//! line continuations, comments and `${VAR}` expansion.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use pep508_rs::{Requirement, VersionOrUrl};

use crate::markers::{nesting_depth, MAX_MARKER_DEPTH};
use crate::text::read_text;
use crate::{
    normalize_name, Dependency, Format, Inputs, ManifestError, Note, Origin, Source, Spec,
    VersionSpecifiers,
};

/// Options that take a value and only affect where pip downloads from.
const GLOBAL_OPTIONS_WITH_VALUE: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--use-feature",
    "--config-settings",
    "--global-option",
    "--install-option",
];
const GLOBAL_FLAGS: &[&str] = &[
    "--no-index",
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "-Z",
    "--always-unzip",
    "--allow-external",
    "--allow-unverified",
    "--process-dependency-links",
];
const PER_REQUIREMENT_OPTIONS: &[&str] = &[
    "--hash",
    "--config-settings",
    "--global-option",
    "--install-option",
];

/// Includes deeper than this are refused (pip has no limit, but no project nests this far).
const MAX_INCLUDE_DEPTH: usize = 64;

/// Reads a requirements file and everything it includes (includes may go anywhere).
pub fn parse_requirements(path: &Path) -> Result<Inputs, ManifestError> {
    let mut ctx = Ctx::default();
    ctx.file(path, false, None)?;
    Ok(ctx.finish())
}

/// Reads a requirements file and the files it includes inside `root`; an include that leads
/// out of `root` (`-r /etc/passwd`, `-r ../../x.txt`, a symbolic link) is not read, with a note.
pub fn parse_requirements_in(path: &Path, root: &Path) -> Result<Inputs, ManifestError> {
    let mut ctx = Ctx {
        // Canonical once: every include's canonical path is compared with it.
        root: Some(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())),
        ..Ctx::default()
    };
    ctx.file(path, false, None)?;
    Ok(ctx.finish())
}

/// Reads requirements from text already in memory (it is attributed to `path`; includes are
/// resolved relative to `path`'s directory).
pub fn parse_requirements_str(path: &Path, text: &str) -> Result<Inputs, ManifestError> {
    let mut ctx = Ctx::default();
    ctx.inputs
        .files
        .push((path.to_path_buf(), Format::Requirements));
    ctx.text(path, text, false)?;
    Ok(ctx.finish())
}

#[derive(Default)]
struct Ctx {
    /// Where includes may lead, canonical (`None`: anywhere).
    root: Option<PathBuf>,
    stack: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    inputs: Inputs,
    constraints: Vec<Dependency>,
}

impl Ctx {
    fn file(
        &mut self,
        path: &Path,
        constraint: bool,
        from: Option<&Source>,
    ) -> Result<(), ManifestError> {
        let canonical = path.canonicalize().map_err(|e| match from {
            Some(src) => ManifestError::new(
                &src.path,
                src.line,
                format!(
                    "included file {}: {}",
                    path.display(),
                    ManifestError::io(path, &e).message
                ),
            ),
            None => ManifestError::io(path, &e),
        })?;
        if self.stack.contains(&canonical) {
            let src = from.expect("a cycle needs an including line");
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect();
            return Err(ManifestError::new(
                &src.path,
                src.line,
                format!("include cycle: {}", chain.join(" -> ")),
            ));
        }
        if let (Some(root), Some(src)) = (&self.root, from) {
            if !canonical.starts_with(root) {
                self.inputs.unread.push(Note {
                    source: src.clone(),
                    message: format!(
                        "included file {} is outside the scanned directory; not read",
                        path.display()
                    ),
                });
                return Ok(());
            }
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            let src = from.expect("a nested include has an including line");
            return Err(ManifestError::new(
                &src.path,
                src.line,
                format!("includes nested more than {MAX_INCLUDE_DEPTH} files deep; not followed"),
            ));
        }
        if !self.seen.insert(canonical.clone()) {
            return Ok(());
        }
        let text = read_text(path)?;
        self.inputs
            .files
            .push((path.to_path_buf(), Format::Requirements));
        self.stack.push(canonical);
        let result = self.text(path, &text, constraint);
        self.stack.pop();
        result
    }

    fn text(&mut self, path: &Path, text: &str, constraint: bool) -> Result<(), ManifestError> {
        let base = path.parent().unwrap_or(Path::new("."));
        for (line_no, raw) in logical_lines(text) {
            let line = expand_env(strip_comment(&raw).trim());
            if line.is_empty() {
                continue;
            }
            let source = Source {
                path: path.to_path_buf(),
                line: line_no,
            };
            if line.starts_with('-') {
                self.option_line(&line, &source, base, constraint)?;
            } else {
                let dep = requirement_line(&line, &source, base, &mut self.inputs)?;
                if constraint {
                    self.constraints.push(dep);
                } else {
                    self.inputs.dependencies.push(dep);
                }
            }
        }
        Ok(())
    }

    fn option_line(
        &mut self,
        line: &str,
        source: &Source,
        base: &Path,
        constraint: bool,
    ) -> Result<(), ManifestError> {
        let (opt, value) = split_option(line);
        match opt {
            "-r" | "--requirement" | "-c" | "--constraint" => {
                let value = value.ok_or_else(|| {
                    ManifestError::new(&source.path, source.line, format!("{opt} needs a file"))
                })?;
                let is_constraint = constraint || opt == "-c" || opt == "--constraint";
                if value.contains("://") {
                    self.inputs.notes.push(Note {
                        source: source.clone(),
                        message: format!("remote include {value} not fetched (offline audit)"),
                    });
                    return Ok(());
                }
                self.file(&base.join(value), is_constraint, Some(source))
            }
            "-e" | "--editable" => {
                let value = value.ok_or_else(|| {
                    ManifestError::new(&source.path, source.line, "-e needs a path or URL")
                })?;
                let name = egg_name(value).unwrap_or_else(|| fallback_name(value));
                self.inputs.dependencies.push(Dependency {
                    name,
                    spec: Spec::unauditable("editable install", value),
                    source: source.clone(),
                    origin: Origin::Manifest,
                    marker: None,
                    group: None,
                });
                Ok(())
            }
            _ if GLOBAL_OPTIONS_WITH_VALUE.contains(&opt) || GLOBAL_FLAGS.contains(&opt) => {
                self.inputs.notes.push(Note {
                    source: source.clone(),
                    message: format!("option {opt} ignored (it does not change what is pinned)"),
                });
                Ok(())
            }
            _ => {
                self.inputs.notes.push(Note {
                    source: source.clone(),
                    message: format!("unknown option {opt} ignored"),
                });
                Ok(())
            }
        }
    }

    /// Constraints narrow requirements that name the same package; a pinned constraint is
    /// the version pip will install, so the dependency is audited at that pin and reported
    /// at the constraint's line.
    fn finish(mut self) -> Inputs {
        if !self.constraints.is_empty() {
            for dep in &mut self.inputs.dependencies {
                let Some(c) = self.constraints.iter().find(|c| c.name == dep.name) else {
                    continue;
                };
                match (&dep.spec, &c.spec) {
                    (Spec::Range { .. }, Spec::Pinned { .. }) => {
                        dep.spec = c.spec.clone();
                        dep.source = c.source.clone();
                    }
                    (
                        Spec::Range { alternatives, text },
                        Spec::Range {
                            alternatives: extra,
                            text: extra_text,
                        },
                    ) if extra.len() == 1 => {
                        let combined: Vec<VersionSpecifiers> = if alternatives.is_empty() {
                            extra.clone()
                        } else {
                            alternatives
                                .iter()
                                .map(|a| a.iter().chain(extra[0].iter()).cloned().collect())
                                .collect()
                        };
                        let text = [text.as_str(), extra_text.as_str()]
                            .iter()
                            .filter(|t| !t.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(",");
                        dep.spec = Spec::Range {
                            alternatives: combined,
                            text,
                        };
                    }
                    _ => {}
                }
            }
        }
        self.inputs
    }
}

/// Splits `-r file`, `-rfile`, `--requirement=file` and `--requirement file`.
fn split_option(line: &str) -> (&str, Option<&str>) {
    let (head, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], Some(line[i..].trim())),
        None => (line, None),
    };
    if let Some((opt, value)) = head.split_once('=') {
        if opt.starts_with("--") {
            return (opt, Some(value));
        }
    }
    // `-rfile`: the option is the first two characters (found by fuzzing: a multi-byte
    // character after the `-` must not be cut in half).
    if !head.starts_with("--") {
        if let Some((cut, _)) = head.char_indices().nth(2) {
            return (&head[..cut], Some(&line[cut..]));
        }
    }
    (head, rest.filter(|r| !r.is_empty()))
}

fn requirement_line(
    line: &str,
    source: &Source,
    base: &Path,
    inputs: &mut Inputs,
) -> Result<Dependency, ManifestError> {
    let notes = &mut inputs.notes;
    // pip's rule: the requirement ends at the first whitespace-separated token starting with '-'.
    let mut req_part = String::new();
    let mut options = Vec::new();
    let mut in_options = false;
    for token in line.split_whitespace() {
        if !in_options && token.starts_with('-') {
            in_options = true;
        }
        if in_options {
            options.push(token);
        } else {
            if !req_part.is_empty() {
                req_part.push(' ');
            }
            req_part.push_str(token);
        }
    }
    for opt in &options {
        if opt.starts_with('-') {
            let name = opt.split('=').next().unwrap_or(opt);
            if !PER_REQUIREMENT_OPTIONS.contains(&name) {
                notes.push(Note {
                    source: source.clone(),
                    message: format!("option {name} after a requirement ignored"),
                });
            }
        }
    }

    if looks_like_path_or_url(&req_part) {
        let name = egg_name(&req_part)
            .or_else(|| wheel_name(&req_part))
            .unwrap_or_else(|| fallback_name(&req_part));
        let reason = if req_part.contains("://") && !req_part.starts_with("file:") {
            "direct URL or VCS reference"
        } else {
            "local path"
        };
        return Ok(Dependency {
            name,
            spec: Spec::unauditable(reason, req_part.as_str()),
            source: source.clone(),
            origin: Origin::Manifest,
            marker: None,
            group: None,
        });
    }

    match parse_requirement(&req_part, base) {
        Ok((req, deep_marker)) => Ok(with_deep_marker(
            from_pep508(req, source.clone(), Origin::Manifest, None),
            deep_marker,
            &mut inputs.unread,
        )),
        Err(e) => arbitrary_equality(&req_part, source).ok_or_else(|| {
            ManifestError::new(
                &source.path,
                source.line,
                format!(
                    "invalid requirement `{req_part}`: {}",
                    first_line(&e.to_string())
                ),
            )
        }),
    }
}

/// `name===anything`: pip's arbitrary equality pins a version string that need not be
/// PEP 440, which PEP 508 parsers reject; it is kept verbatim and matched by exact string.
fn arbitrary_equality(req: &str, source: &Source) -> Option<Dependency> {
    let (head, marker) = match req.split_once(';') {
        Some((h, m)) => (h, Some(m.trim().to_string()).filter(|m| !m.is_empty())),
        None => (req, None),
    };
    let (name, version) = head.split_once("===")?;
    let name = name.split('[').next()?.trim();
    let version = version.trim();
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name || version.is_empty() || version.contains(char::is_whitespace) {
        return None;
    }
    Some(Dependency {
        name: normalize_name(name),
        spec: Spec::pinned(version),
        source: source.clone(),
        origin: Origin::Manifest,
        marker,
        group: None,
    })
}

/// Converts a parsed PEP 508 requirement into a dependency.
pub(crate) fn from_pep508(
    req: Requirement<pep508_rs::VerbatimUrl>,
    source: Source,
    origin: Origin,
    group: Option<String>,
) -> Dependency {
    let spec = match req.version_or_url {
        None => Spec::any(),
        Some(VersionOrUrl::VersionSpecifier(specs)) => Spec::from_specifiers(specs),
        Some(VersionOrUrl::Url(url)) => {
            let given = url.given().map(str::to_string);
            Spec::unauditable(
                "direct URL or VCS reference",
                given.unwrap_or_else(|| url.to_string()),
            )
        }
    };
    Dependency {
        name: normalize_name(req.name.as_ref()),
        spec,
        source,
        origin,
        marker: req.marker.try_to_string(),
        group,
    }
}

/// Parses one PEP 508 string (as found in pyproject.toml) into a dependency.
pub(crate) fn parse_pep508(
    text: &str,
    source: Source,
    origin: Origin,
    group: Option<String>,
    unread: &mut Vec<Note>,
) -> Result<Dependency, ManifestError> {
    let base = source.path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (req, deep_marker) = parse_requirement(text, &base).map_err(|e| {
        ManifestError::new(
            &source.path,
            source.line,
            format!(
                "invalid requirement `{text}`: {}",
                first_line(&e.to_string())
            ),
        )
    })?;
    Ok(with_deep_marker(
        from_pep508(req, source, origin, group),
        deep_marker,
        unread,
    ))
}

/// A requirement whose marker was too deeply nested to parse keeps it verbatim, is audited
/// whatever it says (as for any marker), and the marker is reported as not analysed.
fn with_deep_marker(
    mut dep: Dependency,
    marker: Option<&str>,
    unread: &mut Vec<Note>,
) -> Dependency {
    if let Some(marker) = marker {
        dep.marker = Some(marker.trim().to_string());
        unread.push(Note {
            source: dep.source.clone(),
            message: format!(
                "environment marker nested more than {MAX_MARKER_DEPTH} levels deep: not \
                 evaluated; `{}` is audited whatever it says",
                dep.name
            ),
        });
    }
    dep
}

/// `pep508_rs` panics on a name or an extra that ends in `-`, `.` or `_` where its own
/// lexer stops (`a-=1`, `y[tbz-`): those are refused here first, with the message the parser
/// gives elsewhere, and any other panic inside it is caught and reported as a parse error.
/// A marker nested deeper than [`MAX_MARKER_DEPTH`] is not given to the parser (its cost
/// grows with the square of the nesting): the requirement before it is parsed alone and the
/// marker returned as written.
fn parse_requirement<'t>(
    text: &'t str,
    base: &Path,
) -> Result<(Requirement<pep508_rs::VerbatimUrl>, Option<&'t str>), String> {
    let (text, deep_marker) = match text.split_once(';') {
        Some((head, marker)) if nesting_depth(text) > MAX_MARKER_DEPTH => (head, Some(marker)),
        _ => (text, None),
    };
    if nesting_depth(text) > MAX_MARKER_DEPTH {
        return Err(format!(
            "parentheses nested more than {MAX_MARKER_DEPTH} levels deep"
        ));
    }
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let bad_end = |word: &str| word.chars().last().filter(|c| matches!(c, '.' | '-' | '_'));
    let trimmed = text.trim_start();
    let name_len = trimmed.find(|c| !is_name_char(c)).unwrap_or(trimmed.len());
    if let Some(last) = bad_end(&trimmed[..name_len]) {
        return Err(format!(
            "Package name must end with an alphanumeric character, not '{last}'"
        ));
    }
    let rest = trimmed[name_len..].trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        let extras = extras.split(']').next().unwrap_or(extras);
        for word in extras.split(|c: char| !is_name_char(c)) {
            if let Some(last) = bad_end(word) {
                return Err(format!(
                    "Extra name must end with an alphanumeric character, not '{last}'"
                ));
            }
        }
    }
    let parse = || {
        Requirement::<pep508_rs::VerbatimUrl>::from_str(text)
            .or_else(|_| Requirement::<pep508_rs::VerbatimUrl>::parse(text, base))
            .map_err(|e| e.to_string())
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .unwrap_or_else(|_| Err("not a valid PEP 508 requirement".to_string()))
        .map(|req| (req, deep_marker))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn looks_like_path_or_url(s: &str) -> bool {
    let head = s.split(';').next().unwrap_or(s).trim();
    if head.starts_with('.') || head.starts_with('/') || head.starts_with('~') {
        return true;
    }
    if head.starts_with("file:") {
        return true;
    }
    // `scheme://...` or `git+https://...` without a `name @` prefix.
    if let Some(i) = head.find("://") {
        let scheme = &head[..i];
        return !scheme.contains('@')
            && !scheme.contains(' ')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+');
    }
    let lower = head.to_ascii_lowercase();
    [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .any(|ext| lower.ends_with(ext))
        && !head.contains(['=', '<', '>', '~'])
}

fn egg_name(s: &str) -> Option<String> {
    let frag = s.split_once('#')?.1;
    frag.split('&')
        .find_map(|kv| kv.strip_prefix("egg="))
        .map(|n| normalize_name(n.split('[').next().unwrap_or(n)))
        .filter(|n| !n.is_empty())
}

fn wheel_name(s: &str) -> Option<String> {
    let file = s.rsplit('/').next()?;
    let stem = file.strip_suffix(".whl")?;
    stem.split('-').next().map(normalize_name)
}

fn fallback_name(s: &str) -> String {
    let trimmed = s.trim_end_matches('/');
    let last = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    let last = last.split(['#', '?']).next().unwrap_or(last);
    let name = normalize_name(last.trim_end_matches(".git"));
    if name.is_empty() {
        s.to_string()
    } else {
        name
    }
}

/// Lines as pip splits them (Python's `str.splitlines`): `\n`, `\r\n` and a lone `\r` all end
/// a line, and so do the rarer separators Python knows.
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .find([
                '\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}',
                '\u{2029}',
            ])
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let tail = &rest[end..];
        let sep = if tail.starts_with("\r\n") {
            2
        } else {
            tail.chars().next().map_or(0, char::len_utf8)
        };
        rest = &tail[sep..];
        Some(line)
    })
}

/// Joins backslash continuations the way pip does, keeping the first physical line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in physical_lines(text).enumerate() {
        let n = i + 1;
        let is_comment = line.trim_start().starts_with('#');
        if !line.ends_with('\\') || is_comment {
            let line = if is_comment {
                format!(" {line}")
            } else {
                line.to_string()
            };
            match pending.take() {
                Some((start, mut acc)) => {
                    acc.push_str(&line);
                    out.push((start, acc));
                }
                None => out.push((n, line)),
            }
        } else {
            let piece = line.trim_matches('\\');
            match &mut pending {
                Some((_, acc)) => acc.push_str(piece),
                None => pending = Some((n, piece.to_string())),
            }
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

/// pip treats `#` as a comment at the start of a line or after whitespace, so URL fragments
/// such as `#egg=name` survive.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// Expands `${NAME}` (uppercase letters, digits and `_`, as pip does); unknown names stay.
fn expand_env(line: &str) -> String {
    if !line.contains("${") {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end)
                if end > 0
                    && after[..end]
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') =>
            {
                let name = &after[..end];
                match std::env::var(name) {
                    Ok(v) => out.push_str(&v),
                    Err(_) => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn parse(text: &str) -> Inputs {
        parse_requirements_str(Path::new("requirements.txt"), text).unwrap()
    }

    fn pinned(d: &Dependency) -> &str {
        match &d.spec {
            Spec::Pinned { version, .. } => version,
            other => panic!("not pinned: {other:?}"),
        }
    }

    #[test]
    fn basic_pins_markers_extras_hashes() {
        let inputs = parse(
            "# comment\n\
             Tornado==6.1  # pinned\n\
             requests[security,socks] == 2.25.1 ; python_version >= \"3.6\"\n\
             Jinja2==2.11.2 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\n\
             pyyaml>=5.1\n\
             six\n",
        );
        let d = &inputs.dependencies;
        assert_eq!(d.len(), 5);
        assert_eq!(d[0].name, "tornado");
        assert_eq!(pinned(&d[0]), "6.1");
        assert_eq!(d[0].source.line, 2);
        assert_eq!(d[1].name, "requests");
        assert_eq!(pinned(&d[1]), "2.25.1");
        assert_eq!(d[1].marker.as_deref(), Some("python_full_version >= '3.6'"));
        assert_eq!(d[2].name, "jinja2");
        assert_eq!(pinned(&d[2]), "2.11.2");
        assert_eq!(d[2].source.line, 4);
        assert!(matches!(&d[3].spec, Spec::Range { text, .. } if text == ">=5.1"));
        assert_eq!(d[3].source.line, 7);
        assert!(matches!(&d[4].spec, Spec::Range { alternatives, .. } if alternatives.is_empty()));
        assert!(inputs.notes.is_empty(), "{:?}", inputs.notes);
    }

    #[test]
    fn urls_paths_and_editables_are_unauditable() {
        let inputs = parse(
            "-e git+https://github.com/tornadoweb/tornado.git@v6.1#egg=tornado\n\
             -e .\n\
             https://files.example/pkgs/Foo_Bar-1.0-py3-none-any.whl\n\
             ./vendor/mylib\n\
             requests @ https://example.com/requests-2.0.tar.gz\n\
             git+https://github.com/org/thing.git#egg=Thing\n",
        );
        let names: Vec<_> = inputs
            .dependencies
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["tornado", ".", "foo-bar", "mylib", "requests", "thing"]
        );
        assert!(inputs
            .dependencies
            .iter()
            .all(|d| matches!(d.spec, Spec::Unauditable { .. })));
        match &inputs.dependencies[0].spec {
            Spec::Unauditable { reason, .. } => assert_eq!(reason, "editable install"),
            _ => unreachable!(),
        }
    }

    #[test]
    fn options_are_noted_not_fatal() {
        let inputs = parse(
            "--index-url https://pypi.example/simple\n\
             --extra-index-url=https://x\n\
             --no-binary :all:\n\
             --frobnicate\n\
             tornado==6.1 --install-option=\"--x\"\n",
        );
        assert_eq!(inputs.dependencies.len(), 1);
        assert_eq!(inputs.notes.len(), 4, "{:?}", inputs.notes);
        assert!(inputs.notes[3]
            .message
            .contains("unknown option --frobnicate"));
        assert_eq!(inputs.notes[3].source.line, 4);
    }

    #[test]
    fn env_vars_expand() {
        std::env::set_var("STORMWATCH_TEST_TORNADO_VERSION", "6.0.4");
        let inputs = parse("tornado==${STORMWATCH_TEST_TORNADO_VERSION}\n");
        assert_eq!(pinned(&inputs.dependencies[0]), "6.0.4");
        assert_eq!(expand_env("a${lower}b"), "a${lower}b");
        assert_eq!(
            expand_env("a${UNSET_STORMWATCH_VAR_X}b"),
            "a${UNSET_STORMWATCH_VAR_X}b"
        );
    }

    #[test]
    fn invalid_requirement_names_line() {
        let err = parse_requirements_str(Path::new("r.txt"), "six\n\ntornado=>6.1\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.to_string().starts_with("r.txt:3: invalid requirement"),
            "{err}"
        );
    }

    #[test]
    fn includes_constraints_and_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::write(
            p.join("requirements.txt"),
            "-r base.txt\n-c constraints.txt\ntornado\n",
        )
        .unwrap();
        fs::create_dir(p.join("sub")).unwrap();
        fs::write(
            p.join("base.txt"),
            "requests==2.0.0\n--requirement=sub/more.txt\n",
        )
        .unwrap();
        fs::write(p.join("sub/more.txt"), "six>=1\n").unwrap();
        fs::write(
            p.join("constraints.txt"),
            "# pins\ntornado==5.1.1\nsix<1.16\nunused==1.0\n",
        )
        .unwrap();
        let inputs = parse_requirements(&p.join("requirements.txt")).unwrap();
        assert_eq!(inputs.files.len(), 4);
        let by_name = |n: &str| inputs.dependencies.iter().find(|d| d.name == n).unwrap();
        assert_eq!(pinned(by_name("requests")), "2.0.0");
        let tornado = by_name("tornado");
        assert_eq!(pinned(tornado), "5.1.1");
        assert!(tornado.source.path.ends_with("constraints.txt"));
        assert_eq!(tornado.source.line, 2);
        assert!(matches!(&by_name("six").spec, Spec::Range { text, .. } if text == ">=1,<1.16"));
        assert!(inputs.dependencies.iter().all(|d| d.name != "unused"));

        fs::write(p.join("a.txt"), "-r b.txt\n").unwrap();
        fs::write(p.join("b.txt"), "six\n-r a.txt\n").unwrap();
        let err = parse_requirements(&p.join("a.txt")).unwrap_err();
        assert!(
            err.message
                .contains("include cycle: a.txt -> b.txt -> a.txt"),
            "{err}"
        );
        assert_eq!(err.line, 2);
        assert!(err.path.ends_with("b.txt"));

        fs::write(p.join("c.txt"), "\n-r missing.txt\n").unwrap();
        let err = parse_requirements(&p.join("c.txt")).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("missing.txt"), "{err}");
    }

    #[test]
    fn option_with_a_multibyte_character_is_an_unknown_option() {
        // Found by the `requirements` fuzz target: `-\u{feff}` used to panic.
        let inputs = parse("tornado==6.1\n-\u{feff}x\n-é\n");
        assert_eq!(inputs.dependencies.len(), 1);
        assert_eq!(inputs.notes.len(), 2);
    }

    #[test]
    fn comment_handling_matches_pip() {
        assert_eq!(strip_comment("foo # bar"), "foo ");
        assert_eq!(
            strip_comment("git+https://x/y#egg=z"),
            "git+https://x/y#egg=z"
        );
        assert_eq!(strip_comment("# all"), "");
        let lines = logical_lines("a \\\n  b\n# c \\\nd\n");
        assert_eq!(lines[0], (1, "a   b".to_string()));
        assert_eq!(lines[1].0, 3);
        assert_eq!(lines[2], (4, "d".to_string()));
    }
}
