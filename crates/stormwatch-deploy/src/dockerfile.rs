//! Dockerfile: `ENV`, `CMD`, `ENTRYPOINT` and `WORKDIR` of the final build stage.

use super::{joined_lines, shell, Reader};

#[derive(Clone, Default)]
struct Stage {
    name: Option<String>,
    env: Vec<(String, String, usize)>,
    cmd: Option<(Vec<String>, usize)>,
    entrypoint: Option<(Vec<String>, usize)>,
    workdir: Option<String>,
    /// `COPY`/`ADD` from the build context: (source, absolute destination).
    copies: Vec<(String, String)>,
}

/// `COPY [--chown=..] src... dest` from the build context (not `--from` another stage or an
/// image, not a URL), with the destination made absolute against `WORKDIR`.
fn copies(rest: &str, workdir: Option<&str>) -> Vec<(String, String)> {
    let words = instruction_args(rest);
    if words.iter().any(|w| w.starts_with("--from")) {
        return Vec::new();
    }
    let paths: Vec<&String> = words.iter().filter(|w| !w.starts_with("--")).collect();
    let Some((dest, sources)) = paths.split_last() else {
        return Vec::new();
    };
    let dest = if dest.starts_with('/') {
        dest.to_string()
    } else {
        match workdir {
            Some(w) => format!("{}/{}", w.trim_end_matches('/'), dest),
            None => format!("/{dest}"),
        }
    };
    sources
        .iter()
        .filter(|s| !s.contains("://"))
        .map(|s| (s.to_string(), dest.clone()))
        .collect()
}

/// Exec form (`["python", "app.py"]`) or shell form.
fn instruction_args(rest: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(rest.trim())
        .map(shell::flatten)
        .unwrap_or_else(|_| shell::words(rest))
}

/// Only the final stage runs in production: earlier stages are build steps, unless the final
/// stage is built `FROM` one of them, in which case it inherits that stage's settings.
pub(crate) fn read(r: &mut Reader, text: &str) {
    let mut stages: Vec<Stage> = Vec::new();
    let mut current = Stage::default();
    for (line, instr) in joined_lines(text, &['#']) {
        let trimmed = instr.trim();
        let (word, rest) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        match word.to_ascii_uppercase().as_str() {
            "FROM" => {
                let words = shell::words(rest);
                let base = words.iter().find(|w| !w.starts_with("--"));
                let name = words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("as"))
                    .and_then(|i| words.get(i + 1))
                    .cloned();
                let previous = std::mem::take(&mut current);
                if previous.name.is_some() || previous.cmd.is_some() || !previous.env.is_empty() {
                    stages.push(previous);
                }
                current = base
                    .and_then(|b| stages.iter().rev().find(|s| s.name.as_deref() == Some(b)))
                    .cloned()
                    .unwrap_or_default();
                current.name = name;
            }
            "ENV" => {
                let rest = rest.trim();
                if rest.contains('=') {
                    for token in shell::words(rest) {
                        if let Some((k, v)) = token.split_once('=') {
                            current.env.push((k.to_string(), v.to_string(), line));
                        }
                    }
                } else if let Some((k, v)) = rest.split_once(char::is_whitespace) {
                    current.env.push((k.to_string(), v.to_string(), line));
                }
            }
            "WORKDIR" => {
                // A relative WORKDIR is relative to the previous one.
                let dir = rest.trim();
                current.workdir = Some(match &current.workdir {
                    Some(prev) if !dir.starts_with('/') => {
                        format!("{}/{dir}", prev.trim_end_matches('/'))
                    }
                    _ => dir.to_string(),
                });
            }
            "COPY" | "ADD" => {
                let found = copies(rest, current.workdir.as_deref());
                current.copies.extend(found);
            }
            "CMD" => current.cmd = Some((instruction_args(rest), line)),
            "ENTRYPOINT" => {
                current.entrypoint = Some((instruction_args(rest), line));
                // A new ENTRYPOINT resets the CMD inherited from the base image.
                current.cmd = None;
            }
            _ => {}
        }
    }
    let path = r.path.to_path_buf();
    for (k, v, line) in &current.env {
        r.env(k, v, *line, &path);
    }
    let workdir = current.workdir.clone();
    let entry = current.entrypoint.clone();
    let before = r.out.commands.len();
    if let Some((args, line)) = &entry {
        r.command(args.clone(), *line, workdir.clone());
    }
    if let Some((args, line)) = current.cmd {
        let prefix = entry.map(|(a, _)| a).unwrap_or_default();
        r.command_with(prefix, args, line, workdir);
    }
    // Where the image's paths come from in the repository, for linking a script the command
    // starts by its absolute path.
    for cmd in &mut r.out.commands[before..] {
        cmd.copies = current.copies.clone();
    }
}
