//! Deployment files: where production actually starts the application. Each reader extracts
//! the environment variables and command lines a file gives the process, with their lines.

use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;
use stormwatch_manifest::text::{read_text, LineIndex};

use crate::source::SkippedFile;

/// Which environment a file is for, judged from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Production,
    Development,
    /// Nothing in the name says; treated as production, since that is where it may run.
    Unmarked,
}

/// The kinds of deployment file understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dockerfile,
    Compose,
    Kubernetes,
    Systemd,
    Procfile,
    DotEnv,
    Supervisord,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Dockerfile => "Dockerfile",
            Kind::Compose => "docker-compose",
            Kind::Kubernetes => "Kubernetes/Helm",
            Kind::Systemd => "systemd unit",
            Kind::Procfile => "Procfile",
            Kind::DotEnv => ".env file",
            Kind::Supervisord => "supervisord",
        }
    }
}

/// An environment variable a deployment file sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSetting {
    pub var: String,
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
    pub stage: Stage,
    pub kind: Kind,
}

/// A command line a deployment file starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub args: Vec<String>,
    pub file: PathBuf,
    pub line: usize,
    pub stage: Stage,
    pub kind: Kind,
}

#[derive(Debug, Default)]
pub struct Deployment {
    pub files: Vec<(PathBuf, Kind, Stage)>,
    pub env: Vec<EnvSetting>,
    pub commands: Vec<CommandLine>,
    pub skipped: Vec<SkippedFile>,
}

const DEV_WORDS: &[&str] = &[
    "dev",
    "devel",
    "development",
    "local",
    "test",
    "tests",
    "testing",
    "example",
    "examples",
    "sample",
    "debug",
];
const PROD_WORDS: &[&str] = &["prod", "production", "live", "release"];

/// Development or production, from the words of the path (`docker-compose.dev.yml`,
/// `.env.production`, `k8s/staging/...` is unmarked).
pub fn classify(rel: &Path) -> Stage {
    let lower = rel.to_string_lossy().to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| PROD_WORDS.contains(w)) {
        Stage::Production
    } else if words.iter().any(|w| DEV_WORDS.contains(w)) {
        Stage::Development
    } else {
        Stage::Unmarked
    }
}

fn kind_of(path: &Path, text_hint: Option<&str>) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if lower == "dockerfile" || lower.starts_with("dockerfile.") || lower.ends_with(".dockerfile") {
        return Some(Kind::Dockerfile);
    }
    if (lower.starts_with("docker-compose") || lower.starts_with("compose"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
    {
        return Some(Kind::Compose);
    }
    if lower == "procfile" || lower.starts_with("procfile.") {
        return Some(Kind::Procfile);
    }
    if lower == ".env" || lower.starts_with(".env.") || lower.ends_with(".env") {
        return Some(Kind::DotEnv);
    }
    if lower.ends_with(".service") {
        return Some(Kind::Systemd);
    }
    if lower == "supervisord.conf"
        || (lower.ends_with(".conf") && text_hint.is_some_and(|t| t.contains("[program:")))
    {
        return Some(Kind::Supervisord);
    }
    if lower.ends_with(".yml") || lower.ends_with(".yaml") {
        let t = text_hint?;
        let k8s = t.contains("apiVersion:") && t.contains("kind:");
        let helm = lower.starts_with("values") && (t.contains("env:") || t.contains("args:"));
        if k8s || helm {
            return Some(Kind::Kubernetes);
        }
    }
    None
}

/// Reads every deployment file under `root`.
pub fn scan(root: &Path) -> Deployment {
    let mut out = Deployment::default();
    if root.is_file() {
        return out;
    }
    // Hidden files (`.env`) count; hidden directories (`.git`, `.venv`) do not.
    let paths = stormwatch_manifest::project_files(root);
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let maybe = name.contains("docker")
            || name.starts_with("compose")
            || name.starts_with("procfile")
            || name.contains(".env")
            || name == ".env"
            || name.ends_with(".service")
            || name.ends_with(".conf")
            || name.ends_with(".yml")
            || name.ends_with(".yaml");
        if !maybe {
            continue;
        }
        let text = match read_text(&path) {
            Ok(t) => t,
            Err(e) => {
                if kind_of(&path, None).is_some() {
                    out.skipped.push(SkippedFile {
                        path: path.clone(),
                        line: e.line,
                        message: e.message,
                    });
                }
                continue;
            }
        };
        let Some(kind) = kind_of(&path, Some(&text)) else {
            continue;
        };
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let stage = classify(&rel);
        out.files.push((path.clone(), kind, stage));
        let mut ctx = Ctx {
            path: &path,
            text: &text,
            lines: LineIndex::new(&text),
            stage,
            kind,
            out: &mut out,
        };
        if let Err(message) = ctx.read() {
            let line = message.0;
            out.skipped.push(SkippedFile {
                path: path.clone(),
                line,
                message: message.1,
            });
        }
    }
    out
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    lines: LineIndex,
    stage: Stage,
    kind: Kind,
    out: &'a mut Deployment,
}

impl Ctx<'_> {
    fn read(&mut self) -> Result<(), (usize, String)> {
        match self.kind {
            Kind::Dockerfile => self.dockerfile(),
            Kind::DotEnv => self.dotenv(self.text, self.path.to_path_buf()),
            Kind::Procfile => self.procfile(),
            Kind::Systemd => self.systemd(),
            Kind::Supervisord => self.supervisord(),
            Kind::Compose | Kind::Kubernetes => self.yaml(),
        }
        Ok(())
    }

    fn env(&mut self, var: &str, value: &str, line: usize, file: PathBuf) {
        self.out.env.push(EnvSetting {
            var: var.trim().to_string(),
            value: unquote(value.trim()).to_string(),
            file,
            line,
            stage: self.stage,
            kind: self.kind,
        });
    }

    fn command(&mut self, args: Vec<String>, line: usize) {
        if args.is_empty() {
            return;
        }
        self.out.commands.push(CommandLine {
            args,
            file: self.path.to_path_buf(),
            line,
            stage: self.stage,
            kind: self.kind,
        });
    }

    /// Line of the first occurrence of `needle` at or after line `from`.
    fn line_of(&self, needle: &str, from: usize) -> usize {
        let start = self
            .text
            .lines()
            .take(from.saturating_sub(1))
            .map(|l| l.len() + 1)
            .sum::<usize>();
        self.text
            .get(start..)
            .and_then(|t| t.find(needle))
            .map(|i| self.lines.line(start + i))
            .unwrap_or(from.max(1))
    }

    fn dockerfile(&mut self) {
        for (line, instr) in joined_lines(self.text) {
            let trimmed = instr.trim();
            let (word, rest) = trimmed
                .split_once(char::is_whitespace)
                .unwrap_or((trimmed, ""));
            match word.to_ascii_uppercase().as_str() {
                "ENV" => {
                    let rest = rest.trim();
                    if rest.contains('=') {
                        for token in shell_words(rest) {
                            if let Some((k, v)) = token.split_once('=') {
                                self.env(k, v, line, self.path.to_path_buf());
                            }
                        }
                    } else if let Some((k, v)) = rest.split_once(char::is_whitespace) {
                        self.env(k, v, line, self.path.to_path_buf());
                    }
                }
                "CMD" | "ENTRYPOINT" => {
                    let args = serde_json::from_str::<Vec<String>>(rest.trim())
                        .unwrap_or_else(|_| shell_words(rest));
                    self.command(args, line);
                }
                _ => {}
            }
        }
    }

    fn dotenv(&mut self, text: &str, file: PathBuf) {
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
                self.env(k, v, i + 1, file.clone());
            }
        }
    }

    fn procfile(&mut self) {
        for (i, raw) in self.text.lines().enumerate() {
            if let Some((_, cmd)) = raw.split_once(':') {
                if !raw.trim_start().starts_with('#') {
                    self.command(shell_words(cmd), i + 1);
                }
            }
        }
    }

    fn systemd(&mut self) {
        for (line, raw) in joined_lines(self.text) {
            let Some((key, value)) = raw.trim().split_once('=') else {
                continue;
            };
            match key.trim() {
                "Environment" => {
                    for token in shell_words(value) {
                        if let Some((k, v)) = token.split_once('=') {
                            self.env(k, v, line, self.path.to_path_buf());
                        }
                    }
                }
                "EnvironmentFile" => self.env_file(value.trim().trim_start_matches('-')),
                "ExecStart" => {
                    let cmd = value.trim().trim_start_matches(['@', '-', ':', '+', '!']);
                    self.command(shell_words(cmd), line);
                }
                _ => {}
            }
        }
    }

    fn supervisord(&mut self) {
        let mut in_program = false;
        for (i, raw) in self.text.lines().enumerate() {
            let line = raw.trim();
            if line.starts_with('[') {
                in_program = line.starts_with("[program:");
                continue;
            }
            if !in_program {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim() {
                "command" => self.command(shell_words(value), i + 1),
                "environment" => {
                    for pair in split_supervisor_env(value) {
                        if let Some((k, v)) = pair.split_once('=') {
                            self.env(k, v, i + 1, self.path.to_path_buf());
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// An env file referenced by another file (compose `env_file`, systemd `EnvironmentFile`).
    fn env_file(&mut self, reference: &str) {
        let base = self.path.parent().unwrap_or(Path::new("."));
        let path = base.join(reference.trim());
        if let Ok(text) = read_text(&path) {
            self.dotenv(&text, path);
        }
    }

    fn yaml(&mut self) {
        for doc in serde_yaml::Deserializer::from_str(self.text) {
            let Ok(value) = <Yaml as serde::Deserialize>::deserialize(doc) else {
                continue;
            };
            if self.kind == Kind::Compose {
                self.compose(&value);
            } else {
                self.k8s(&value, 1);
            }
        }
    }

    fn compose(&mut self, doc: &Yaml) {
        let Some(services) = doc.get("services").and_then(Yaml::as_mapping) else {
            return;
        };
        for (name, svc) in services {
            let name = name.as_str().unwrap_or("");
            let from = self.line_of(&format!("{name}:"), 1);
            if let Some(env) = svc.get("environment") {
                self.env_block(env, from);
            }
            for key in ["command", "entrypoint"] {
                if let Some(cmd) = svc.get(key) {
                    let line = self.line_of(&format!("{key}:"), from);
                    self.command(yaml_args(cmd), line);
                }
            }
            match svc.get("env_file") {
                Some(Yaml::String(f)) => self.env_file(f),
                Some(Yaml::Sequence(files)) => {
                    for f in files {
                        if let Some(f) = f.as_str().or_else(|| f.get("path").and_then(Yaml::as_str))
                        {
                            self.env_file(f);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// `environment:` as a map or as a list of `KEY=value`.
    fn env_block(&mut self, env: &Yaml, from: usize) {
        match env {
            Yaml::Mapping(m) => {
                for (k, v) in m {
                    let (Some(k), Some(v)) = (k.as_str(), scalar(v)) else {
                        continue;
                    };
                    let line = self.line_of(k, from);
                    self.env(k, &v, line, self.path.to_path_buf());
                }
            }
            Yaml::Sequence(items) => {
                for item in items {
                    if let Some(s) = item.as_str() {
                        if let Some((k, v)) = s.split_once('=') {
                            let line = self.line_of(s, from);
                            self.env(k, v, line, self.path.to_path_buf());
                        }
                    } else if let (Some(k), Some(v)) = (
                        item.get("name").and_then(Yaml::as_str),
                        item.get("value").and_then(scalar),
                    ) {
                        let line = self.line_of(k, from);
                        self.env(k, &v, line, self.path.to_path_buf());
                    }
                }
            }
            _ => {}
        }
    }

    /// Containers anywhere in a manifest (Deployment, Pod, CronJob, ...), ConfigMap data,
    /// and the `env`/`args` blocks of Helm values.
    fn k8s(&mut self, v: &Yaml, from: usize) {
        match v {
            Yaml::Mapping(m) => {
                let is_configmap = m
                    .get("kind")
                    .and_then(Yaml::as_str)
                    .is_some_and(|k| k == "ConfigMap");
                for (k, child) in m {
                    let key = k.as_str().unwrap_or("");
                    match key {
                        "env" | "extraEnv" | "environment" => self.env_block(child, from),
                        "data" if is_configmap => self.env_block(child, from),
                        "command" | "args" if child.is_sequence() || child.is_string() => {
                            let line = self.line_of(&format!("{key}:"), from);
                            self.command(yaml_args(child), line);
                        }
                        _ => self.k8s(child, from),
                    }
                }
            }
            Yaml::Sequence(items) => items.iter().for_each(|i| self.k8s(i, from)),
            _ => {}
        }
    }
}

fn scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn yaml_args(v: &Yaml) -> Vec<String> {
    match v {
        Yaml::String(s) => shell_words(s),
        Yaml::Sequence(items) => items
            .iter()
            .filter_map(scalar)
            .flat_map(|s| {
                // `sh -c "python app.py --debug"` carries the real command in one argument.
                if s.contains(' ') {
                    shell_words(&s)
                } else {
                    vec![s]
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Lines with backslash continuations joined, numbered by their first line.
fn joined_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') && pending.is_none() {
            continue;
        }
        let (body, cont) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b.to_string(), true),
            None => (line.to_string(), false),
        };
        let entry = pending.get_or_insert((i + 1, String::new()));
        entry.1.push_str(&body);
        entry.1.push(' ');
        if !cont {
            out.extend(pending.take());
        }
    }
    out.extend(pending);
    out
}

/// Splits a command line the way a POSIX shell would for plain words and quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// supervisord `environment=A="1",B="x,y"`: commas separate pairs outside quotes.
fn split_supervisor_env(s: &str) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_from_path() {
        assert_eq!(
            classify(Path::new("docker-compose.dev.yml")),
            Stage::Development
        );
        assert_eq!(classify(Path::new(".env.development")), Stage::Development);
        assert_eq!(classify(Path::new(".env.example")), Stage::Development);
        assert_eq!(
            classify(Path::new("deploy/prod/app.yaml")),
            Stage::Production
        );
        assert_eq!(classify(Path::new(".env.production")), Stage::Production);
        assert_eq!(classify(Path::new("Dockerfile")), Stage::Unmarked);
        assert_eq!(
            classify(Path::new("devops/Dockerfile")),
            Stage::Unmarked,
            "whole words only"
        );
    }

    #[test]
    fn readers_extract_env_and_commands_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("chart")).unwrap();
        std::fs::write(
            p.join("chart/values.yaml"),
            "replicaCount: 2\nenv:\n  - name: APP_DEBUG\n    value: \"1\"\nargs: [\"--debug\"]\n",
        )
        .unwrap();
        std::fs::write(
            p.join("supervisord.conf"),
            "[supervisord]\nnodaemon=true\n\n[program:web]\ncommand=python app.py --autoreload\nenvironment=APP_DEBUG=\"yes\",OTHER=\"a,b\"\n",
        )
        .unwrap();
        std::fs::write(p.join("app.env"), "APP_DEBUG=on\n").unwrap();
        std::fs::write(
            p.join("web.service"),
            "[Service]\nEnvironmentFile=-app.env\nExecStart=/usr/bin/python app.py\n",
        )
        .unwrap();
        std::fs::write(
            p.join("compose.yaml"),
            "services:\n  web:\n    image: x\n    env_file: shared.env\n    command: [\"python\", \"app.py\"]\n",
        )
        .unwrap();
        std::fs::write(p.join("shared.env"), "# comment\nexport SHARED=1\n").unwrap();
        let d = scan(p);
        let env = |var: &str| -> Vec<(String, String, usize)> {
            d.env
                .iter()
                .filter(|e| e.var == var)
                .map(|e| {
                    let name = e.file.file_name().unwrap().to_string_lossy().into_owned();
                    (name, e.value.clone(), e.line)
                })
                .collect()
        };
        let mut debug = env("APP_DEBUG");
        debug.sort();
        assert_eq!(
            debug,
            [
                ("app.env".into(), "on".into(), 1),
                ("app.env".into(), "on".into(), 1),
                ("supervisord.conf".into(), "yes".into(), 6),
                ("values.yaml".into(), "1".into(), 3),
            ],
            "app.env is read as a .env file and through EnvironmentFile"
        );
        assert_eq!(env("OTHER")[0].1, "a,b");
        assert_eq!(env("SHARED")[0].0, "shared.env");
        let cmd = |needle: &str| {
            d.commands
                .iter()
                .find(|c| c.args.iter().any(|a| a == needle))
                .map(|c| (c.kind, c.line))
        };
        assert_eq!(cmd("--debug"), Some((Kind::Kubernetes, 5)));
        assert_eq!(cmd("--autoreload"), Some((Kind::Supervisord, 5)));
        assert!(d
            .commands
            .iter()
            .any(|c| c.kind == Kind::Systemd && c.line == 3));
        assert!(d
            .commands
            .iter()
            .any(|c| c.kind == Kind::Compose && c.line == 5));
    }

    #[test]
    fn shell_splitting() {
        assert_eq!(
            shell_words("python app.py --debug"),
            ["python", "app.py", "--debug"]
        );
        assert_eq!(shell_words("sh -c \"a b\" ''"), ["sh", "-c", "a b", ""]);
        assert_eq!(
            split_supervisor_env("A=\"1\",B=\"x,y\""),
            ["A=\"1\"", "B=\"x,y\""]
        );
    }
}
