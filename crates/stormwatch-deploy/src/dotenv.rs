//! `.env` files: `KEY=value` lines, `export` allowed, `#` comments.

use std::path::Path;

use super::Reader;

pub(crate) fn read(r: &mut Reader, text: &str, file: &Path) {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        if let Some((k, v)) = line.split_once('=') {
            let v = match v.find(" #") {
                Some(c) if !v.trim_start().starts_with(['"', '\'']) => &v[..c],
                _ => v,
            };
            r.env(k, v, i + 1, file);
        }
    }
}
