//! A TOML document that remembers where each value came from.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use toml_edit::{Document, Item, Table, TableLike, Value};

use crate::text::{read_text, LineIndex};
use crate::{ManifestError, Source};

/// Lockfiles larger than this are parsed in pieces of about this size.
const PART_BYTES: usize = 8 * 1024;

/// A TOML document, or one piece of a larger one (see [`TomlFile::map_parts`]).
pub(crate) struct TomlFile {
    pub path: PathBuf,
    pub doc: Document<String>,
    lines: Arc<LineIndex>,
    /// Offset of this piece in the whole file: spans are relative to the piece.
    base: usize,
}

impl TomlFile {
    pub fn open(path: &Path) -> Result<Self, ManifestError> {
        let text = read_text(path)?;
        let lines = Arc::new(LineIndex::new(&text));
        Self::parse(path, text, lines, 0)
    }

    fn parse(
        path: &Path,
        text: String,
        lines: Arc<LineIndex>,
        base: usize,
    ) -> Result<Self, ManifestError> {
        // toml_edit 0.23 can panic in its error recovery on some invalid documents (two
        // found by fuzzing, both regression tests): such a panic is an invalid file.
        let parsed = std::panic::catch_unwind(move || Document::parse(text)).map_err(|_| {
            ManifestError::new(path, 0, "invalid TOML: the document does not parse")
        })?;
        let doc = parsed.map_err(|e| {
            let line = e.span().map(|s| lines.line(base + s.start)).unwrap_or(0);
            let msg = e.message().trim().to_string();
            ManifestError::new(path, line, format!("invalid TOML: {msg}"))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
            lines,
            base,
        })
    }

    /// Reads a file made of a header and a long run of `[[key]]` entries (a lockfile),
    /// handing each piece to `f` as a document of its own: large files are cut between
    /// entries and the pieces parsed in parallel, each dropped once read, so that a
    /// 10,000-package lockfile neither waits on one core nor holds its whole syntax tree.
    /// A piece that does not parse alone (a cut inside a multi-line string) makes the
    /// whole file parse as one document, so errors and results are those of the file.
    pub fn map_parts<T: Send>(
        path: &Path,
        key: &str,
        f: impl Fn(&TomlFile) -> Result<T, ManifestError> + Sync,
    ) -> Result<Vec<T>, ManifestError> {
        let text = read_text(path)?;
        let lines = Arc::new(LineIndex::new(&text));
        let cuts = part_starts(&text, &lines, key);
        if cuts.len() > 1 {
            let ends: Vec<usize> = cuts.iter().skip(1).copied().chain([text.len()]).collect();
            let parts: Result<Vec<T>, ManifestError> = cuts
                .par_iter()
                .zip(ends.par_iter())
                .map(|(&start, &end)| {
                    let piece =
                        Self::parse(path, text[start..end].to_string(), lines.clone(), start)?;
                    f(&piece)
                })
                .collect();
            if let Ok(parts) = parts {
                return Ok(parts);
            }
        }
        let whole = Self::parse(path, text, lines, 0)?;
        Ok(vec![f(&whole)?])
    }

    pub fn root(&self) -> &Table {
        self.doc.as_table()
    }

    pub fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map(|s| self.lines.line(self.base + s.start))
            .unwrap_or(0)
    }

    pub fn source_of_value(&self, value: &Value) -> Source {
        self.source_at(self.line(value.span()))
    }

    pub fn source_at(&self, line: usize) -> Source {
        Source {
            path: self.path.clone(),
            line,
        }
    }

    pub fn error(&self, line: usize, message: impl Into<String>) -> ManifestError {
        ManifestError::new(&self.path, line, message)
    }

    /// Best line for a table-like item: its `name`/`version` key if any, else the item itself.
    pub fn table_line(&self, table: &Table, key: &str) -> usize {
        table
            .get(key)
            .and_then(|i| i.span())
            .or_else(|| table.span())
            .map(|s| self.lines.line(self.base + s.start))
            .unwrap_or(0)
    }
}

/// Where the pieces of a large file start: offset 0, then line starts of `[[key]]` headers,
/// at most one per [`PART_BYTES`]. One piece (`[0]`) for small files.
fn part_starts(text: &str, lines: &LineIndex, key: &str) -> Vec<usize> {
    let mut starts = vec![0];
    if text.len() < 2 * PART_BYTES {
        return starts;
    }
    let header = format!("[[{key}]]");
    for (i, &offset) in lines.starts().iter().enumerate() {
        if offset >= starts[starts.len() - 1] + PART_BYTES
            && lines.line_text(text, i + 1).map(str::trim_end) == Some(header.as_str())
        {
            starts.push(offset);
        }
    }
    starts
}

/// Walks a dotted path of tables (`tool.poetry.dependencies`), inline or not.
pub(crate) fn get_path<'a>(table: &'a dyn TableLike, path: &[&str]) -> Option<&'a Item> {
    let (first, rest) = path.split_first()?;
    let item = table.get(first)?;
    if rest.is_empty() {
        return Some(item);
    }
    get_path(item.as_table_like()?, rest)
}

/// A string field from a table or inline table.
pub(crate) fn str_field<'a>(item: &'a dyn TableLike, key: &str) -> Option<&'a str> {
    item.get(key).and_then(|i| i.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_start_at_entry_headers() {
        let entry = "[[package]]\r\nname = \"a\"\r\nversion = \"1.0\"\r\n\r\n";
        let mut text = String::from("version = 1\n\n");
        while text.len() < 5 * PART_BYTES {
            text.push_str(entry);
        }
        let lines = LineIndex::new(&text);
        let starts = part_starts(&text, &lines, "package");
        assert!(starts.len() >= 4, "{starts:?}");
        assert_eq!(starts[0], 0);
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= PART_BYTES);
        }
        assert!(starts[1..]
            .iter()
            .all(|&s| text[s..].starts_with("[[package]]\r\n")));
        // A small file is one piece.
        let small = "[[package]]\nname = \"a\"\n";
        assert_eq!(
            part_starts(small, &LineIndex::new(small), "package"),
            vec![0]
        );
    }
}
