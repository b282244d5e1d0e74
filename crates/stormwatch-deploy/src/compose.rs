//! docker-compose: each service's `environment`, `env_file`, `command`, `entrypoint` and
//! `working_dir`, with merge keys (`<<: *defaults`) resolved.

use stormwatch_yaml::Node;

use super::{kubernetes::env_block, shell, Reader};

pub(crate) fn read(r: &mut Reader, text: &str) {
    r.yaml(text, |r, doc| {
        let Some(services) = doc.get("services") else {
            return;
        };
        for (_, svc) in services.entries() {
            if let Some(env) = svc.get("environment") {
                env_block(r, env);
            }
            let workdir = svc.get("working_dir").and_then(Node::scalar_text);
            let before = r.out.commands.len();
            let entrypoint = svc.get("entrypoint");
            if let Some(e) = entrypoint {
                r.command(args(e), e.line, workdir.clone());
            }
            if let Some(c) = svc.get("command") {
                let prefix = entrypoint.map(args).unwrap_or_default();
                r.command_with(prefix, args(c), c.line, workdir.clone());
            }
            // Bind mounts of the repository (`./src:/app`) say where a script's path in the
            // container comes from, as a Dockerfile's COPY does.
            let mounts = svc.get("volumes").map(bind_mounts).unwrap_or_default();
            for cmd in &mut r.out.commands[before..] {
                cmd.copies.extend(mounts.iter().cloned());
            }
            match svc.get("env_file") {
                Some(f) if f.as_str().is_some() => r.env_file(f.as_str().unwrap_or(""), f.line),
                Some(f) => {
                    for item in f.as_seq().unwrap_or(&[]) {
                        let reference = item
                            .as_str()
                            .or_else(|| item.get("path").and_then(Node::as_str));
                        if let Some(reference) = reference {
                            r.env_file(reference, item.line);
                        }
                    }
                }
                None => {}
            }
        }
    });
}

/// `HOST:CONTAINER[:MODE]` volumes whose host side is a path of the repository (`.`, `./x`,
/// `x/`), or the long form with `type: bind`.
fn bind_mounts(v: &Node) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for item in v.as_seq().unwrap_or(&[]) {
        let (source, target) = match item.as_str() {
            Some(short) => {
                let mut parts = short.splitn(3, ':');
                match (parts.next(), parts.next()) {
                    (Some(s), Some(t)) => (s.to_string(), t.to_string()),
                    _ => continue,
                }
            }
            None => match (
                item.get("source").and_then(Node::as_str),
                item.get("target").and_then(Node::as_str),
            ) {
                (Some(s), Some(t)) => (s.to_string(), t.to_string()),
                _ => continue,
            },
        };
        // A named volume (`data:/var/lib`) or an absolute host path is not the repository.
        let in_repo = source == "." || source.starts_with("./") || source.starts_with("../");
        if in_repo && target.starts_with('/') {
            out.push((source, target));
        }
    }
    out
}

/// A command as a string (shell words) or a list (each item an argument).
pub(crate) fn args(v: &Node) -> Vec<String> {
    args_with_lines(v).0
}

/// The arguments of a command with the line of each (a list item's own line; for a string,
/// the string's line).
pub(crate) fn args_with_lines(v: &Node) -> (Vec<String>, Vec<usize>) {
    if let Some(s) = v.as_str() {
        let words = shell::words(s);
        let lines = vec![v.line; words.len()];
        return (words, lines);
    }
    let mut args = Vec::new();
    let mut lines = Vec::new();
    for item in v.as_seq().unwrap_or(&[]) {
        if let Some(text) = item.scalar_text() {
            let words = shell::flatten([text]);
            lines.extend(std::iter::repeat_n(item.line, words.len()));
            args.extend(words);
        }
    }
    (args, lines)
}
