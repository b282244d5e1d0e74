//! Finding and parsing the Python files of a repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ruff_python_ast::ModModule;
use stormwatch_manifest::text::{read_text, LineIndex};

/// Python files larger than this are generated or vendored, not application settings.
const MAX_PY_BYTES: u64 = 4 * 1024 * 1024;

/// One parsed Python file.
pub struct PyFile {
    pub path: PathBuf,
    /// The path relative to the scanned root (what "test code" and module names are judged by).
    pub rel: PathBuf,
    /// Dotted module name relative to the scan root (`app.settings`).
    pub module: String,
    pub text: String,
    pub lines: LineIndex,
    pub ast: ModModule,
}

impl PyFile {
    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.lines.line(offset);
        let line_start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        (line, self.text[line_start..offset].chars().count() + 1)
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

fn module_name(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
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

/// Reads and parses files in parallel. Unreadable and unparsable files are returned
/// separately with the line of the problem.
pub fn parse_all(root: &Path, files: &[PathBuf]) -> (Vec<PyFile>, Vec<SkippedFile>) {
    let base = if root.is_file() {
        root.parent().unwrap_or(Path::new("."))
    } else {
        root
    };
    let results: Vec<Result<PyFile, SkippedFile>> = files
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
            let text = read_text(path).map_err(|e| skipped(e.line, e.message))?;
            let lines = LineIndex::new(&text);
            let parsed = ruff_python_parser::parse_module(&text).map_err(|e| {
                let line = lines.line(e.location.start().to_usize());
                skipped(line, format!("Python syntax error: {}", e.error))
            })?;
            Ok(PyFile {
                module: module_name(base, path),
                rel: path.strip_prefix(base).unwrap_or(path).to_path_buf(),
                path: path.clone(),
                ast: parsed.into_syntax(),
                lines,
                text,
            })
        })
        .collect();
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

/// Dotted module name to file index, also under names without a leading `src.`.
pub fn module_index(files: &[PyFile]) -> HashMap<String, usize> {
    let mut index = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        index.entry(f.module.clone()).or_insert(i);
        if let Some(rest) = f.module.strip_prefix("src.") {
            index.entry(rest.to_string()).or_insert(i);
        }
    }
    index
}
