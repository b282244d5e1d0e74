//! Kubernetes manifests (containers anywhere: Deployment, Pod, CronJob, ...), ConfigMap data,
//! and the `env`/`args` blocks of Helm values files. Helm templates are read with their
//! `{{ }}` actions blanked (see [`Reader::yaml`]).

use stormwatch_yaml::Node;

use super::{
    compose::{args, args_with_lines},
    Reader,
};

pub(crate) fn read(r: &mut Reader, text: &str) {
    r.yaml(text, |r, doc| walk(r, doc, None));
}

fn walk(r: &mut Reader, v: &Node, workdir: Option<&str>) {
    if let Some(items) = v.as_seq() {
        for item in items {
            walk(r, item, workdir);
        }
        return;
    }
    if !v.is_map() {
        return;
    }
    let is_configmap = v.get("kind").and_then(Node::as_str) == Some("ConfigMap");
    let workdir = v.get("workingDir").and_then(Node::as_str).or(workdir);
    let entries = v.entries();
    let command = entries
        .iter()
        .find(|(k, _)| k.as_str() == Some("command"))
        .map(|(_, c)| args(c))
        .unwrap_or_default();
    for (k, child) in entries {
        match k.as_str().unwrap_or("") {
            "env" | "extraEnv" | "environment" => env_block(r, child),
            "data" if is_configmap => env_block(r, child),
            "command" if child.as_str().is_some() || child.as_seq().is_some() => {
                r.command_lines(
                    Vec::new(),
                    args_with_lines(child),
                    child.line,
                    workdir.map(str::to_string),
                );
            }
            // A container's `args` follow its `command`; each is reported on its own line.
            "args" if child.as_str().is_some() || child.as_seq().is_some() => {
                r.command_lines(
                    command.clone(),
                    args_with_lines(child),
                    child.line,
                    workdir.map(str::to_string),
                );
            }
            _ => walk(r, child, workdir),
        }
    }
}

/// `environment:`/`env:` as a map, a list of `KEY=value`, or a list of `{name, value}`.
pub(crate) fn env_block(r: &mut Reader, env: &Node) {
    let path = r.path.to_path_buf();
    if env.is_map() {
        for (k, v) in env.entries() {
            if let (Some(k), Some(value)) = (k.as_str(), v.scalar_text()) {
                r.env(k, &value, v.line, &path);
            }
        }
        return;
    }
    for item in env.as_seq().unwrap_or(&[]) {
        if let Some(s) = item.as_str() {
            if let Some((k, v)) = s.split_once('=') {
                r.env(k, v, item.line, &path);
            }
        } else if let (Some(k), Some(v)) = (
            item.get("name").and_then(Node::as_str),
            item.get("value").and_then(Node::scalar_text),
        ) {
            r.env(k, &v, item.line, &path);
        }
    }
}
