//! Finding and parsing the Python files of a repository.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use ruff_python_ast::ModModule;
use stormwatch_manifest::text::{decode, read_text, LineIndex};

/// Python files larger than this are generated or vendored, not application settings.
const MAX_PY_BYTES: u64 = 4 * 1024 * 1024;

/// One Python file's text and where it is. Kept for the whole audit (suppression comments,
/// messages); its syntax tree is not (see [`PyFile`]).
pub struct Source {
    pub path: PathBuf,
    /// The path relative to the scanned root (what "test code" and module names are judged by).
    pub rel: PathBuf,
    /// Dotted module name relative to the scan root (`app.settings`).
    pub module: String,
    pub text: String,
    pub lines: LineIndex,
}

impl Source {
    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        (
            self.lines.line(offset),
            self.lines.column(&self.text, offset),
        )
    }

    pub fn is_package(&self) -> bool {
        self.path.file_name().is_some_and(|n| n == "__init__.py")
    }
}

/// A file with its syntax tree, alive only while the files it is analysed with are (a syntax
/// tree takes about fifteen times the memory of its text).
pub struct PyFile {
    pub source: Arc<Source>,
    pub ast: ModModule,
}

impl std::ops::Deref for PyFile {
    type Target = Source;
    fn deref(&self) -> &Source {
        &self.source
    }
}

/// Parses a file's text.
pub fn parse(source: Arc<Source>) -> Result<PyFile, SkippedFile> {
    match ruff_python_parser::parse_module(&source.text) {
        Ok(parsed) => Ok(PyFile {
            ast: parsed.into_syntax(),
            source,
        }),
        Err(e) => Err(SkippedFile {
            path: source.path.clone(),
            line: source.lines.line(e.location.start().to_usize()),
            message: format!("Python syntax error: {}", e.error),
        }),
    }
}

/// A file that could not be read or parsed; the scan goes on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedFile {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// Every `.py` file of the project under `root` (see `stormwatch_manifest::project_files`).
pub fn python_files(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    stormwatch_manifest::project_files(root)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect()
}

/// The dotted name Python imports a file by: its path from the nearest directory that is not
/// a package (has no `__init__.py` among the scanned files), so that `src/app/web.py` and
/// `services/api/app/web.py` are both `app.web` when `app/` is the package. `packages` holds
/// the directories that have an `__init__.py`.
fn module_name(root: &Path, path: &Path, packages: &HashSet<&Path>) -> String {
    let mut start = path.parent().unwrap_or(root);
    while packages.contains(start) && start != root {
        match start.parent() {
            Some(parent) if parent.starts_with(root) => start = parent,
            _ => break,
        }
    }
    if packages.contains(start) && start == root {
        // The scanned directory is itself a package: name modules from its parent.
        start = root.parent().unwrap_or(root);
    }
    let rel = path.strip_prefix(start).unwrap_or(path);
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".py").to_string();
        if last == "__init__" {
            parts.pop();
        }
    }
    parts.join(".")
}

/// Reads files in parallel (UTF-8 or their PEP 263 encoding) and refuses those past the size
/// and nesting limits; they are returned separately with the line of the problem.
pub fn read_all(root: &Path, files: &[PathBuf]) -> (Vec<Source>, Vec<SkippedFile>) {
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    let packages: HashSet<&Path> = files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "__init__.py"))
        .filter_map(|p| p.parent())
        .collect();
    let results: Vec<Result<Source, SkippedFile>> = files
        .par_iter()
        .map(|path| {
            let skipped = |line, message: String| SkippedFile {
                path: path.clone(),
                line,
                message,
            };
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if size > MAX_PY_BYTES {
                return Err(skipped(
                    0,
                    format!("skipped: {size} bytes is larger than the {MAX_PY_BYTES} byte limit"),
                ));
            }
            let text = read_python(path).map_err(|e| skipped(e.line, e.message))?;
            if let Some((line, message)) = nesting_limit(&text) {
                return Err(skipped(line, format!("Python syntax error: {message}")));
            }
            Ok(Source {
                module: module_name(base, path, &packages),
                rel: path.strip_prefix(base).unwrap_or(path).to_path_buf(),
                path: path.clone(),
                lines: LineIndex::new(&text),
                text,
            })
        })
        .collect();
    split(results)
}

/// The files that were read (or parsed), and those that were skipped.
pub(crate) fn split<T>(results: Vec<Result<T, SkippedFile>>) -> (Vec<T>, Vec<SkippedFile>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for r in results {
        match r {
            Ok(f) => ok.push(f),
            Err(e) => bad.push(e),
        }
    }
    (ok, bad)
}

/// Config files that `tornado.options.parse_config_file` may read, whatever their extension
/// (Tornado executes them as Python: `server.conf` in its own docs): the path literals of the
/// files that call it (`callers`: path and literals), resolved against the calling file's
/// directory and the scanned root. Only existing regular files inside the scanned root that
/// are not among the `known` Python files.
pub fn config_files<'a>(
    root: &Path,
    known: &HashSet<&Path>,
    callers: impl Iterator<Item = (&'a Path, &'a [String])>,
) -> Vec<PathBuf> {
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    let Ok(canonical_root) = base.canonicalize() else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = Vec::new();
    for (path, literals) in callers {
        let dir = path.parent().unwrap_or(base);
        for lit in literals.iter().filter(|l| !l.ends_with(".py")) {
            for candidate in [dir.join(lit), base.join(lit)] {
                let inside = candidate
                    .canonicalize()
                    .is_ok_and(|c| c.starts_with(&canonical_root));
                let regular = std::fs::symlink_metadata(&candidate).is_ok_and(|m| m.is_file());
                if inside
                    && regular
                    && !known.contains(candidate.as_path())
                    && !out.contains(&candidate)
                {
                    out.push(candidate);
                }
            }
        }
    }
    out
}

/// Reads a Python source file: UTF-8, or the encoding its PEP 263 declaration names
/// (`# -*- coding: latin-1 -*-` on one of the first two lines), as Python itself would.
fn read_python(path: &Path) -> Result<String, stormwatch_manifest::ManifestError> {
    let utf8_error = match read_text(path) {
        Ok(text) => return Ok(text),
        Err(e) if e.message.contains("UTF-8") => e,
        Err(e) => return Err(e),
    };
    let bytes =
        std::fs::read(path).map_err(|e| stormwatch_manifest::ManifestError::io(path, &e))?;
    let Some(encoding) = declared_encoding(&bytes) else {
        return Err(utf8_error);
    };
    let (text, _, had_errors) = encoding.decode(&bytes);
    if had_errors {
        return Err(utf8_error);
    }
    decode(path, text.into_owned().into_bytes())
}

/// The encoding named by a PEP 263 declaration (`coding[:=]\s*([-\w.]+)` in a comment on
/// line 1 or 2), mapped from Python's codec names to the WHATWG labels `encoding_rs` knows.
pub(crate) fn declared_encoding(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    for line in bytes.split(|&b| b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            continue;
        }
        let Some(at) = trimmed.find("coding") else {
            continue;
        };
        let rest = &trimmed[at + "coding".len()..];
        let Some(rest) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        let python = name.to_ascii_lowercase().replace('_', "-");
        let label = match python.as_str() {
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "cp819" => "iso-8859-1",
            "utf-8" | "utf8" | "utf-8-sig" => return None,
            other => other,
        };
        return encoding_rs::Encoding::for_label(label.as_bytes());
    }
    None
}

/// CPython's own limits on nesting: at most 200 open brackets (`too many nested
/// parentheses`), 100 indentation levels (`too many levels of indentation`), and syntax
/// trees about 3,000 levels deep (`maximum recursion depth exceeded during compilation`: a
/// chain of operators, unary signs, `not`s, attribute accesses or calls). A file past them
/// is not Python that any interpreter runs, and refusing it before parsing keeps a hostile
/// file from exhausting the stack (or the time) of a recursive parser and of every walk over
/// its tree. Strings and comments are skipped; the line of the first excess is returned.
pub fn nesting_limit(text: &str) -> Option<(usize, String)> {
    const MAX_BRACKETS: usize = 200;
    const MAX_INDENTS: usize = 100;
    // CPython 3.11 refuses operator chains from 2,993 levels.
    const MAX_CHAIN: usize = 3_000;
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut depth = 0usize;
    // Expression depth that a byte scan can see: operators and trailers since the last
    // comma, assignment or statement at each bracket level (`saved` holds the outer levels;
    // `total` is their sum plus `chain`).
    let mut chain = 0usize;
    let mut saved: Vec<usize> = Vec::new();
    let mut total = 0usize;
    let mut operand = false;
    let too_deep = |line| {
        Some((
            line,
            format!("expression nested more than {MAX_CHAIN} levels deep (CPython refuses it: maximum recursion depth exceeded during compilation)"),
        ))
    };
    let mut indents: Vec<usize> = vec![0];
    let mut at_line_start = true;
    let mut continued = false;
    let mut i = 0;
    while i < bytes.len() {
        if at_line_start && depth == 0 && !continued {
            let mut width = 0;
            while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\x0c') {
                width = if bytes[i] == b'\t' {
                    (width / 8 + 1) * 8
                } else {
                    width + 1
                };
                i += 1;
            }
            let blank = i >= bytes.len() || matches!(bytes[i], b'\n' | b'\r' | b'#');
            if !blank {
                if width > *indents.last().unwrap_or(&0) {
                    indents.push(width);
                    if indents.len() > MAX_INDENTS + 1 {
                        return Some((line, "too many levels of indentation".into()));
                    }
                } else {
                    while indents.len() > 1 && indents.last().is_some_and(|&w| w > width) {
                        indents.pop();
                    }
                }
            }
        }
        at_line_start = false;
        let Some(&b) = bytes.get(i) else { break };
        if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
            {
                i += 1;
            }
            operand = true;
            if &bytes[start..i] == b"not" {
                chain += 1;
                total += 1;
                operand = false;
                if total > MAX_CHAIN {
                    return too_deep(line);
                }
            }
            continued = false;
            continue;
        }
        let deeper = |chain: &mut usize, total: &mut usize| {
            *chain += 1;
            *total += 1;
            *total > MAX_CHAIN
        };
        match b {
            b'\n' => {
                line += 1;
                at_line_start = true;
                if depth == 0 && !continued {
                    total -= chain;
                    chain = 0;
                    operand = false;
                }
                i += 1;
                continue;
            }
            b'.' if operand
                && bytes
                    .get(i + 1)
                    .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80) =>
            {
                if deeper(&mut chain, &mut total) {
                    return too_deep(line);
                }
                operand = false;
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'@' | b'|' | b'&' | b'^' | b'~' => {
                if deeper(&mut chain, &mut total) {
                    return too_deep(line);
                }
                operand = false;
            }
            b',' | b';' | b'=' | b':' => {
                total -= chain;
                chain = 0;
                operand = false;
            }
            b'\\' => {
                // A line continuation, or an escape outside a string (a syntax error the parser
                // reports).
                continued = bytes.get(i + 1) == Some(&b'\n')
                    || (bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n'));
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_BRACKETS {
                    return Some((line, "too many nested parentheses".into()));
                }
                // A call or subscript of an operand is one level deeper.
                if operand && b != b'{' && deeper(&mut chain, &mut total) {
                    return too_deep(line);
                }
                saved.push(chain);
                chain = 0;
                operand = false;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                total -= chain;
                chain = saved.pop().unwrap_or(0);
                operand = true;
            }
            b'"' | b'\'' => {
                let triple = bytes.get(i + 1) == Some(&b) && bytes.get(i + 2) == Some(&b);
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => {
                            if bytes.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 2;
                            continue;
                        }
                        b'\n' if !triple => break,
                        b'\n' => line += 1,
                        c if c == b
                            && (!triple
                                || (bytes.get(i + 1) == Some(&b)
                                    && bytes.get(i + 2) == Some(&b))) =>
                        {
                            i += if triple { 3 } else { 1 };
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                continued = false;
                operand = true;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => {}
            _ => operand = false,
        }
        if !matches!(b, b' ' | b'\t' | b'\r') {
            continued = false;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::nesting_limit;

    #[test]
    fn pep263_declarations() {
        use super::declared_encoding;
        let name = |b: &[u8]| declared_encoding(b).map(|e| e.name());
        assert_eq!(
            name(b"# -*- coding: latin-1 -*-\nx = 1\n"),
            Some("windows-1252")
        );
        assert_eq!(
            name(b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-15 :\n"),
            Some("ISO-8859-15")
        );
        assert_eq!(name(b"# coding=cp1252\n"), Some("windows-1252"));
        assert_eq!(
            name(b"x = 1\n\n# coding: latin-1\n"),
            None,
            "only lines 1 and 2"
        );
        assert_eq!(name(b"# coding: utf-8\n"), None);
    }

    #[test]
    fn cpython_nesting_limits() {
        let ok = format!("x = {}{}\n", "[".repeat(200), "]".repeat(200));
        assert_eq!(nesting_limit(&ok), None);
        let deep = format!("y = 1\nx = {}{}\n", "(".repeat(201), ")".repeat(201));
        assert_eq!(
            nesting_limit(&deep),
            Some((2, "too many nested parentheses".into()))
        );
        // Brackets inside strings and comments do not count; lines are counted through
        // triple-quoted strings.
        let strings = format!(
            "s = '{0}'\nt = \"\"\"\n{0}\n\"\"\"  # {0}\nx = (\n)\n",
            "(".repeat(300)
        );
        assert_eq!(nesting_limit(&strings), None);
        let mut indented = String::new();
        for i in 0..101 {
            indented.push_str(&format!("{}if x:\n", " ".repeat(i)));
        }
        indented.push_str(&format!("{}pass\n", " ".repeat(101)));
        assert_eq!(
            nesting_limit(&indented),
            Some((102, "too many levels of indentation".into()))
        );
        // Continuation lines and bracketed lines are not indentation.
        let cont = "x = (1,\n        2)\ny = 1 + \\\n            2\nz = 3\n";
        assert_eq!(nesting_limit(cont), None);
    }
}
