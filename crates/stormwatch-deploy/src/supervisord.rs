//! supervisord: `command=`, `environment=` and `directory=` of `[program:x]` sections.

use super::{shell, Reader};

pub(crate) fn read(r: &mut Reader, text: &str) {
    let mut in_program = false;
    let mut directory: Option<String> = None;
    let path = r.path.to_path_buf();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            in_program = line.starts_with("[program:");
            directory = None;
            continue;
        }
        if !in_program {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "directory" => directory = Some(value.trim().to_string()),
            "command" => r.command(shell::words(value), i + 1, directory.clone()),
            "environment" => {
                for pair in split_env(value) {
                    if let Some((k, v)) = pair.split_once('=') {
                        r.env(k, v, i + 1, &path);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `environment=A="1",B="x,y"`: commas separate pairs outside quotes.
pub(crate) fn split_env(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}
