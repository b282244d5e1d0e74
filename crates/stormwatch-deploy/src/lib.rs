//! Deployment files: where production actually starts a Python service.
//!
//! Each reader (one module per format) extracts the environment variables and command lines a
//! file gives the process, with their lines. Nothing here knows Python: judging a value is the
//! analyser's job. Files are untrusted input: a file that does not parse is reported with its
//! line and the scan goes on; references to other files (`env_file`, `EnvironmentFile`) are
//! never followed out of the scanned directory.

use std::path::{Path, PathBuf};

use stormwatch_manifest::text::read_text;

mod compose;
mod dockerfile;
mod dotenv;
mod kubernetes;
mod procfile;
mod shell;
mod supervisord;
mod systemd;

pub use shell::words as shell_words;

/// Which environment a file is for, judged from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Development,
    /// Nothing in the name says; treated as production, since that is where it may run.
    Unmarked,
    Production,
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
    /// What runs before `args` without being written on this line: a Dockerfile
    /// `ENTRYPOINT` for its `CMD`. Flags are judged on `args`; entry points on both.
    pub prefix: Vec<String>,
    /// The working directory the command starts in, when the file says (`WORKDIR`,
    /// `WorkingDirectory=`, `working_dir:`, `workingDir:`, `directory=`).
    pub workdir: Option<String>,
    pub file: PathBuf,
    pub line: usize,
    /// The line of each of `args` when they are written on lines of their own (a YAML list);
    /// empty when the whole command is on `line`.
    pub arg_lines: Vec<usize>,
    /// Where the repository's files are in the container, in order: Dockerfile `COPY`/`ADD`
    /// from the build context, compose bind mounts (`./src:/app`): (source relative to the
    /// file's directory, absolute path in the container).
    pub copies: Vec<(String, String)>,
    pub stage: Stage,
    pub kind: Kind,
}

impl CommandLine {
    /// The line an argument is written on.
    pub fn line_of(&self, arg: &str) -> usize {
        self.args
            .iter()
            .position(|a| a == arg)
            .and_then(|i| self.arg_lines.get(i))
            .copied()
            .unwrap_or(self.line)
    }

    /// The whole command as the process sees it.
    pub fn full(&self) -> Vec<&str> {
        self.prefix
            .iter()
            .chain(&self.args)
            .map(String::as_str)
            .collect()
    }
}

/// A deployment file that could not be read, or a reference that was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// A deployment file that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFile {
    pub path: PathBuf,
    pub kind: Kind,
    pub stage: Stage,
}

#[derive(Debug, Default)]
pub struct Deployment {
    pub files: Vec<DeploymentFile>,
    pub env: Vec<EnvSetting>,
    pub commands: Vec<CommandLine>,
    pub unread: Vec<Unread>,
}

impl Deployment {
    /// The stage of a file that was read.
    pub fn stage_of(&self, path: &Path) -> Option<Stage> {
        self.files.iter().find(|f| f.path == path).map(|f| f.stage)
    }
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
    "demo",
    "demos",
    "docs",
];
const PROD_WORDS: &[&str] = &["prod", "production", "live", "release"];

/// Development or production, from the words of the path (`docker-compose.dev.yml`,
/// `.env.production`; `k8s/staging/...` is unmarked).
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

/// How a file is recognised: by its lower-cased name, and for generic extensions by a look at
/// its text.
struct Pattern {
    kind: Kind,
    name: fn(&str) -> bool,
    text: Option<fn(&str, &str) -> bool>,
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// Every deployment file pattern, in the order they are tried.
const PATTERNS: &[Pattern] = &[
    Pattern {
        kind: Kind::Dockerfile,
        name: |n| n == "dockerfile" || n.starts_with("dockerfile.") || n.ends_with(".dockerfile"),
        text: None,
    },
    Pattern {
        kind: Kind::Compose,
        name: |n| (n.starts_with("docker-compose") || n.starts_with("compose")) && is_yaml(n),
        text: None,
    },
    Pattern {
        kind: Kind::Procfile,
        name: |n| n == "procfile" || n.starts_with("procfile."),
        text: None,
    },
    Pattern {
        kind: Kind::DotEnv,
        name: |n| n == ".env" || n.starts_with(".env.") || n.ends_with(".env"),
        text: None,
    },
    Pattern {
        kind: Kind::Systemd,
        name: |n| n.ends_with(".service"),
        text: None,
    },
    Pattern {
        kind: Kind::Supervisord,
        name: |n| n == "supervisord.conf",
        text: None,
    },
    Pattern {
        kind: Kind::Supervisord,
        name: |n| n.ends_with(".conf"),
        text: Some(|_, t| t.contains("[program:")),
    },
    Pattern {
        kind: Kind::Kubernetes,
        name: is_yaml,
        text: Some(|n, t| {
            let manifest = t.contains("apiVersion:") && t.contains("kind:");
            let helm_values =
                n.starts_with("values") && (t.contains("env:") || t.contains("args:"));
            manifest || helm_values
        }),
    },
];

/// The kind of a deployment file, from its name and (for generic extensions) its text.
pub fn kind_of(path: &Path, text: Option<&str>) -> Option<Kind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    PATTERNS.iter().find_map(|p| {
        if !(p.name)(&name) {
            return None;
        }
        match (p.text, text) {
            (None, _) => Some(p.kind),
            (Some(sniff), Some(t)) => sniff(&name, t).then_some(p.kind),
            (Some(_), None) => None,
        }
    })
}

/// Whether a file name could be a deployment file, before reading it.
fn candidate(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    PATTERNS.iter().any(|p| (p.name)(&name))
}

/// Reads every deployment file under `root` (nothing when `root` is a single file).
pub fn scan(root: &Path) -> Deployment {
    let mut out = Deployment::default();
    if root.is_file() {
        return out;
    }
    let root_real = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for path in stormwatch_manifest::project_files(root) {
        if !candidate(&path) {
            continue;
        }
        let mut damaged = None;
        let text = match read_text(&path) {
            Ok(t) => t,
            // One bad byte must not hide a whole manifest (a Kubernetes file is recognised
            // by its text): read it with the byte replaced, and say so.
            Err(e) if e.message == "invalid UTF-8" => {
                match stormwatch_manifest::text::read_capped(
                    &path,
                    stormwatch_manifest::text::MAX_INPUT_BYTES,
                ) {
                    Ok(bytes) => {
                        damaged = Some(e.line);
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                    Err(_) => continue,
                }
            }
            Err(e) => {
                if kind_of(&path, None).is_some() {
                    out.unread.push(Unread {
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
        if let Some(line) = damaged {
            out.unread.push(Unread {
                path: path.clone(),
                line,
                message: "invalid UTF-8: read with the invalid bytes replaced, so values on \
                          this line may not be what the deployment tool sees"
                    .into(),
            });
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let stage = classify(&rel);
        out.files.push(DeploymentFile {
            path: path.clone(),
            kind,
            stage,
        });
        let mut reader = Reader {
            path: &path,
            text: &text,
            root: &root_real,
            stage,
            kind,
            out: &mut out,
        };
        match kind {
            Kind::Dockerfile => dockerfile::read(&mut reader, &text),
            Kind::DotEnv => dotenv::read(&mut reader, &text, &path),
            Kind::Procfile => procfile::read(&mut reader, &text),
            Kind::Systemd => systemd::read(&mut reader, &text),
            Kind::Supervisord => supervisord::read(&mut reader, &text),
            Kind::Compose => compose::read(&mut reader, &text),
            Kind::Kubernetes => kubernetes::read(&mut reader, &text),
        }
    }
    dedupe_env(&mut out.env);
    out
}

/// A value read both from a `.env` file and through a reference to it (compose `env_file`,
/// systemd `EnvironmentFile`) is one setting: kept once, at the most production-like stage of
/// the files that bring it in.
fn dedupe_env(env: &mut Vec<EnvSetting>) {
    let mut kept: Vec<EnvSetting> = Vec::with_capacity(env.len());
    for e in env.drain(..) {
        match kept
            .iter_mut()
            .find(|k| k.file == e.file && k.line == e.line && k.var == e.var)
        {
            Some(k) => k.stage = k.stage.max(e.stage),
            None => kept.push(e),
        }
    }
    *env = kept;
}

/// What a format reader writes to.
pub(crate) struct Reader<'a> {
    path: &'a Path,
    /// The file's text, for the lines of continued commands' arguments.
    text: &'a str,
    root: &'a Path,
    stage: Stage,
    kind: Kind,
    out: &'a mut Deployment,
}

impl Reader<'_> {
    fn env(&mut self, var: &str, value: &str, line: usize, file: &Path) {
        let var = var.trim();
        if var.is_empty() {
            return;
        }
        self.out.env.push(EnvSetting {
            var: var.to_string(),
            value: unquote(value.trim()).to_string(),
            file: file.to_path_buf(),
            line,
            stage: self.stage,
            kind: self.kind,
        });
    }

    fn command(&mut self, args: Vec<String>, line: usize, workdir: Option<String>) {
        self.command_with(Vec::new(), args, line, workdir);
    }

    fn command_with(
        &mut self,
        prefix: Vec<String>,
        args: Vec<String>,
        line: usize,
        workdir: Option<String>,
    ) {
        self.command_lines(prefix, (args, Vec::new()), line, workdir);
    }

    /// A command whose arguments may each be on a line of their own (`arg_lines`).
    fn command_lines(
        &mut self,
        prefix: Vec<String>,
        (args, arg_lines): (Vec<String>, Vec<usize>),
        line: usize,
        workdir: Option<String>,
    ) {
        if args.is_empty() && prefix.is_empty() {
            return;
        }
        let arg_lines = if arg_lines.len() == args.len() {
            arg_lines
        } else {
            continued_lines(self.text, line, &args)
        };
        self.out.commands.push(CommandLine {
            args,
            prefix,
            workdir,
            file: self.path.to_path_buf(),
            line,
            arg_lines,
            copies: Vec::new(),
            stage: self.stage,
            kind: self.kind,
        });
    }

    fn unread(&mut self, line: usize, message: String) {
        self.out.unread.push(Unread {
            path: self.path.to_path_buf(),
            line,
            message,
        });
    }

    /// An env file referenced by this one (compose `env_file`, systemd `EnvironmentFile`),
    /// read only when it lies inside the scanned directory.
    fn env_file(&mut self, reference: &str, line: usize) {
        let reference = reference.trim();
        if reference.is_empty() {
            return;
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let path = base.join(reference);
        let inside = path
            .canonicalize()
            .map(|real| real.starts_with(self.root))
            .unwrap_or(true);
        if !inside {
            self.unread(
                line,
                format!("env file `{reference}` is outside the scanned directory; not read"),
            );
            return;
        }
        if let Ok(text) = read_text(&path) {
            dotenv::read(self, &text, &path);
        }
    }

    /// Reads a YAML stream, giving each document to `f`; a document that does not parse is
    /// reported and ends the file (the documents before it are kept).
    fn yaml(&mut self, text: &str, mut f: impl FnMut(&mut Self, &stormwatch_yaml::Node)) {
        let templated = text.contains("{{");
        let source = if templated {
            blank_template_actions(text)
        } else {
            text.to_string()
        };
        let docs = stormwatch_yaml::parse(&source);
        for doc in &docs.documents {
            f(self, doc);
        }
        if let Some(e) = docs.error {
            let hint = if templated {
                " (template actions `{{ }}` were blanked before reading; the rest is not YAML)"
            } else {
                ""
            };
            self.unread(
                e.line,
                format!(
                    "not read: invalid YAML at column {}: {}{hint}",
                    e.column, e.message
                ),
            );
        }
    }
}

/// Helm and other Go templates: `{{ ... }}` actions that stand alone on their lines
/// (`{{- if .Values.x }}`) become blank, and actions inside a line (`image: {{ .Values.image }}`)
/// become a one-letter placeholder padded with spaces, so that the YAML around them keeps its
/// lines and columns and can still be read.
fn blank_template_actions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Actions may span lines; each is judged by the line it starts on and the one it ends on.
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find("}}").map_or(after.len(), |e| e + 2);
        let line_before = out.rsplit('\n').next().unwrap_or("");
        let tail = &after[end..];
        let line_after = tail.split('\n').next().unwrap_or("");
        let alone = line_before.trim().is_empty()
            && (line_after.trim().is_empty() || line_after.trim_start().starts_with("{{"));
        for (i, c) in after[..end].chars().enumerate() {
            out.push(match c {
                '\n' => '\n',
                _ if i == 0 && !alone => 'x',
                _ => ' ',
            });
        }
        rest = tail;
    }
    out.push_str(rest);
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

/// The physical line of each argument of a command written over backslash-continued lines
/// starting at `first`: each found on or after the previous one's line (a few lines ahead at
/// most), within the instruction (empty when it is one line).
fn continued_lines(text: &str, first: usize, args: &[String]) -> Vec<usize> {
    let mut span: Vec<&str> = Vec::new();
    for l in text.lines().skip(first.saturating_sub(1)).take(1000) {
        span.push(l);
        let t = l.trim();
        if !t.ends_with('\\') && !t.starts_with(['#', ';']) {
            break;
        }
    }
    if span.len() <= 1 {
        return Vec::new();
    }
    let mut at = 0;
    args.iter()
        .map(|a| {
            // A few lines ahead at most (comments between continued lines), so that the
            // search stays linear in the arguments.
            let window = at..span.len().min(at + 8);
            if let Some(i) = window.into_iter().find(|&i| span[i].contains(a.as_str())) {
                at = i;
            }
            first + at
        })
        .collect()
}

/// Lines with backslash continuations joined, numbered by their first line. Comment lines
/// (those starting with one of `comment`) are skipped, also inside a continuation, as both
/// Docker and systemd do: a comment between continued lines does not end the instruction.
pub(crate) fn joined_lines(text: &str, comment: &[char]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with(comment) {
            continue;
        }
        let (body, cont) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        let entry = pending.get_or_insert((i + 1, String::new()));
        entry.1.push_str(body);
        entry.1.push(' ');
        if !cont {
            out.extend(pending.take());
        }
    }
    out.extend(pending);
    out
}

#[cfg(test)]
mod tests;
