//! A TOML document that remembers where each value came from.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, Table, TableLike, Value};

use crate::text::{read_text, LineIndex};
use crate::{ManifestError, Source};

pub(crate) struct TomlFile {
    pub path: PathBuf,
    pub doc: Document<String>,
    lines: LineIndex,
}

impl TomlFile {
    pub fn open(path: &Path) -> Result<Self, ManifestError> {
        let text = read_text(path)?;
        let lines = LineIndex::new(&text);
        let doc = Document::parse(text).map_err(|e| {
            let line = e.span().map(|s| lines.line(s.start)).unwrap_or(0);
            let msg = e.message().trim().to_string();
            ManifestError::new(path, line, format!("invalid TOML: {msg}"))
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            doc,
            lines,
        })
    }

    pub fn root(&self) -> &Table {
        self.doc.as_table()
    }

    pub fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map(|s| self.lines.line(s.start)).unwrap_or(0)
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
            .map(|s| self.lines.line(s.start))
            .unwrap_or(0)
    }
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
