//! Dockerfile: `ENV`, `CMD`, `ENTRYPOINT` and `WORKDIR` of the final build stage.

use super::{joined_lines, shell, Reader};

#[derive(Clone, Default)]
struct Stage {
    name: Option<String>,
    env: Vec<(String, String, usize)>,
    cmd: Option<(Vec<String>, usize)>,
    entrypoint: Option<(Vec<String>, usize)>,
    workdir: Option<String>,
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
            "WORKDIR" => current.workdir = Some(rest.trim().to_string()),
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
    if let Some((args, line)) = &entry {
        r.command(args.clone(), *line, workdir.clone());
    }
    if let Some((args, line)) = current.cmd {
        let prefix = entry.map(|(a, _)| a).unwrap_or_default();
        r.command_with(prefix, args, line, workdir);
    }
}
