//! Which file of the repository a deployment command starts, when it names the script by its
//! path inside the image or server (`CMD ["python", "/srv/server.py"]`, or a relative path
//! under `WORKDIR /srv`): mapped back through the Dockerfile's `COPY`/`ADD` from the build
//! context, else matched by the longest path suffix that names exactly one file.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use stormwatch_deploy::CommandLine;

/// Script arguments of one command resolved against the file list.
const MAX_SCRIPTS: usize = 4;

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The command's words, with script paths (`*.py`) replaced by the repository file they
/// name, when that can be told. `root` is the scanned directory, `files` its Python files
/// (relative).
pub fn resolved_args(cmd: &CommandLine, root: &Path, files: &HashSet<&Path>) -> Vec<String> {
    // The build context: the Dockerfile's directory, relative to the scan.
    let context = cmd
        .file
        .strip_prefix(root)
        .unwrap_or(&cmd.file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // A command starts one script; a few are looked up, so that a hostile file with many
    // `.py` words costs no more than a scan of the file list each.
    let mut lookups = 0;
    cmd.full()
        .into_iter()
        .map(|a| {
            if !a.ends_with(".py") || lookups >= MAX_SCRIPTS {
                return a.to_string();
            }
            lookups += 1;
            match script(a, cmd, &context, files) {
                Some(p) => p.to_string_lossy().into_owned(),
                None => a.to_string(),
            }
        })
        .collect()
}

fn script(arg: &str, cmd: &CommandLine, context: &Path, files: &HashSet<&Path>) -> Option<PathBuf> {
    let written = Path::new(arg);
    let absolute = if written.is_absolute() {
        normalize(written)
    } else {
        match cmd.workdir.as_deref().filter(|w| w.starts_with('/')) {
            Some(w) => normalize(&Path::new(w).join(written)),
            // Relative to a directory the file does not name: matched as written.
            None => return None,
        }
    };
    // The latest copy into a directory holding the path wins, as in the image.
    for (src, dest) in cmd.copies.iter().rev() {
        let dest = Path::new(dest);
        let source = normalize(&context.join(src));
        if let Ok(rest) = absolute.strip_prefix(dest) {
            // A directory's contents (`COPY . /srv`, `COPY src/ /app/`).
            let candidate = normalize(&source.join(rest));
            if files.contains(candidate.as_path()) {
                return Some(candidate);
            }
            // One file copied into a directory (`COPY server.py /srv/`).
            if rest.file_name().is_some()
                && source.file_name() == rest.file_name()
                && files.contains(source.as_path())
            {
                return Some(source);
            }
        }
        // One file copied under a new name (`COPY main.py /srv/app.py`).
        if absolute == dest && files.contains(source.as_path()) {
            return Some(source);
        }
    }
    // No copy says: the longest suffix of the path that names exactly one file (a bare file
    // name only at the top of the repository).
    let parts: Vec<Component> = absolute
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    // Deeper than any real path: not a path to look up suffix by suffix.
    if parts.len() > 32 {
        return None;
    }
    for skip in 0..parts.len() {
        let suffix: PathBuf = parts[skip..].iter().collect();
        let whole_name = parts.len() - skip == 1;
        let mut found = files.iter().filter(|f| {
            if whole_name {
                **f == suffix
            } else {
                f.ends_with(&suffix)
            }
        });
        if let (Some(f), None) = (found.next(), found.next()) {
            return Some(f.to_path_buf());
        }
    }
    None
}
