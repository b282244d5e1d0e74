//! Reading input files defensively: size limits, binary detection, UTF-8 errors with a line.

use std::path::Path;

use crate::ManifestError;

/// Manifests and lockfiles larger than this are refused rather than read into memory.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// How an I/O failure on `path` is worded to the user; tells a broken symbolic link apart
/// from a missing file.
pub fn describe_io_error(path: &Path, err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(path).is_ok() {
                "broken symbolic link (its target does not exist)".to_string()
            } else {
                "no such file or directory".to_string()
            }
        }
        _ => format!("cannot read: {err}"),
    }
}

/// Reads a manifest as UTF-8 text, refusing binary files, oversized files and invalid UTF-8
/// with an error that names the path and, where it can, the line.
pub fn read_text(path: &Path) -> Result<String, ManifestError> {
    let meta = std::fs::metadata(path).map_err(|e| ManifestError::io(path, &e))?;
    if meta.is_dir() {
        return Err(ManifestError::new(
            path,
            0,
            "is a directory, expected a file",
        ));
    }
    if !meta.is_file() {
        // A FIFO or a device named like a manifest would block or never end.
        return Err(ManifestError::new(
            path,
            0,
            "not a regular file (a FIFO, socket or device); skipped",
        ));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(ManifestError::new(
            path,
            0,
            format!(
                "file is {} bytes, larger than the {} byte limit for manifests",
                meta.len(),
                MAX_INPUT_BYTES
            ),
        ));
    }
    let bytes = read_capped(path, MAX_INPUT_BYTES).map_err(|e| ManifestError::io(path, &e))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(ManifestError::new(
            path,
            0,
            format!(
                "file grew past the {MAX_INPUT_BYTES} byte limit for manifests while being read"
            ),
        ));
    }
    decode(path, bytes)
}

/// Whether `path`, with every symbolic link followed, is inside `root`. Scanned repositories
/// are untrusted: a link or include to `/etc/passwd` must not be read as the project's.
pub fn is_within(path: &Path, root: &Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        // A missing target is reported by whoever reads it.
        (Err(_), _) => true,
        (_, Err(_)) => false,
    }
}

/// Reads at most `limit + 1` bytes, so a file that grows while it is read cannot exhaust memory.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Decodes bytes as UTF-8 (dropping a BOM), reporting the line of the first bad byte.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ManifestError> {
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        let line = line_of_byte(&bytes, pos);
        return Err(ManifestError::new(
            path,
            line,
            "binary data (NUL byte); expected a text file",
        ));
    }
    match String::from_utf8(bytes) {
        Ok(mut s) => {
            if s.starts_with('\u{feff}') {
                s.drain(..3);
            }
            Ok(s)
        }
        Err(e) => {
            let pos = e.utf8_error().valid_up_to();
            let line = line_of_byte(e.as_bytes(), pos);
            Err(ManifestError::new(path, line, "invalid UTF-8"))
        }
    }
}

fn line_of_byte(bytes: &[u8], pos: usize) -> usize {
    bytes[..pos].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Maps byte offsets to 1-based line numbers and columns.
pub struct LineIndex {
    starts: Vec<usize>,
    /// Whether the text is ASCII: columns are then byte distances, found without scanning
    /// the line (a file on one long line would otherwise cost its length per position).
    ascii: bool,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self {
            starts,
            ascii: text.is_ascii(),
        }
    }

    /// The 1-based column, in characters, of byte `offset` of `text` (the text this index
    /// was built from).
    pub fn column(&self, text: &str, offset: usize) -> usize {
        let line = self.line(offset);
        let start = self.starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let before = text.get(start..offset).unwrap_or("");
        if self.ascii {
            before.len() + 1
        } else {
            before.chars().count() + 1
        }
    }

    /// Byte offsets at which lines start, the first line's (0) included.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// The text of 1-based line `line` (without its line break), if the text has it.
    pub fn line_text<'a>(&self, text: &'a str, line: usize) -> Option<&'a str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map_or(text.len(), |&e| e - 1);
        text.get(start..end)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }

    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        let text = "ab\ncd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.column(text, 0), 1);
        assert_eq!(idx.column(text, 4), 2);
        let text = "é = 1\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.column(text, 2), 2, "é is one character");
        assert_eq!(idx.column(text, 7), 1);
    }

    #[test]
    fn line_index_maps_offsets() {
        let idx = LineIndex::new("a\nbc\n\nd");
        assert_eq!(idx.line(0), 1);
        assert_eq!(idx.line(1), 1);
        assert_eq!(idx.line(2), 2);
        assert_eq!(idx.line(5), 3);
        assert_eq!(idx.line(6), 4);
        let text = "a\r\nbc\n\nd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_text(text, 1), Some("a"));
        assert_eq!(idx.line_text(text, 2), Some("bc"));
        assert_eq!(idx.line_text(text, 3), Some(""));
        assert_eq!(idx.line_text(text, 4), Some("d"));
        assert_eq!(idx.line_text(text, 5), None);
        assert_eq!(idx.line_text(text, 0), None);
    }

    #[test]
    fn decode_reports_line_of_invalid_utf8() {
        let err = decode(Path::new("r.txt"), b"ok\nfine\n\xff\xfe\n".to_vec()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn decode_rejects_binary() {
        let err = decode(Path::new("r.txt"), b"abc\n\x00\x01".to_vec()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("binary"));
    }

    #[test]
    fn decode_strips_bom() {
        let s = decode(Path::new("r.txt"), b"\xef\xbb\xbftornado==6.1\n".to_vec()).unwrap();
        assert_eq!(s, "tornado==6.1\n");
    }
}
