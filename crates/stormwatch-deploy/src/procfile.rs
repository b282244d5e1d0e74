//! Procfile: `name: command` per line.

use super::{shell, Reader};

pub(crate) fn read(r: &mut Reader, text: &str) {
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with('#') {
            continue;
        }
        if let Some((_, cmd)) = raw.split_once(':') {
            r.command(shell::words(cmd), i + 1, None);
        }
    }
}
