//! Tornado (and Jinja) templates as far as the rules need them: where a template a handler
//! renders lives, and whether a variable it is given is shown only under a condition on a
//! debug setting (`{% if debug %}{{ error_trace }}{% end %}`).
//!
//! Templates come from the scanned repository: only regular files inside the root are read,
//! at most [`MAX_BYTES`]; the scan is one linear pass over the text.

use std::path::{Path, PathBuf};

/// Larger files are not templates.
const MAX_BYTES: u64 = 1024 * 1024;

/// The template `name` that code in `from_dir` renders: `name` under a `templates` directory
/// of `from_dir` or one of its parents inside `root` (where `template_path` is usually set,
/// next to the application's module), or beside them.
pub fn find(root: &Path, from_dir: &Path, name: &str) -> Option<PathBuf> {
    if name.contains("..") || Path::new(name).is_absolute() {
        return None;
    }
    let canonical_root = root.canonicalize().ok()?;
    let mut dir = Some(from_dir);
    while let Some(d) = dir {
        for candidate in [d.join("templates").join(name), d.join(name)] {
            if crate::data_files::regular_inside(&candidate, &canonical_root, MAX_BYTES) {
                return Some(candidate);
            }
        }
        if d == root {
            break;
        }
        dir = d.parent().filter(|p| p.starts_with(root));
    }
    None
}

/// How a template shows a variable.
#[derive(Debug, PartialEq, Eq)]
pub enum Shown {
    /// Nowhere.
    Never,
    /// Only inside blocks whose condition reads this debug setting.
    OnlyWhen(&'static str),
    /// Somewhere without such a condition.
    Always,
}

/// The debug setting a template condition reads, if any.
fn debug_condition(cond: &str) -> Option<&'static str> {
    if has_word(cond, "serve_traceback") {
        Some("serve_traceback")
    } else if has_word(cond, "debug") {
        Some("debug")
    } else {
        None
    }
}

/// Whether `text` holds `word` as a whole identifier.
fn has_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Tags that open a block closed by `{% end %}` (Tornado) or `{% endX %}` (Jinja).
const OPENERS: &[&str] = &[
    "if", "for", "while", "try", "block", "apply", "with", "macro", "call", "filter",
];

/// How `template` shows `var` in `{{ ... }}` expressions: never, only under a condition on
/// a debug setting (not in its `else`), or unconditionally.
pub fn shows(template: &str, var: &str) -> Shown {
    // Each open block: the debug setting its current branch requires, if any.
    let mut stack: Vec<Option<&'static str>> = Vec::new();
    let mut shown = Shown::Never;
    let mut rest = template;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let is_tag = rest[start..].starts_with("{%");
        let close = if is_tag { "%}" } else { "}}" };
        let Some(len) = rest[start + 2..].find(close) else {
            break;
        };
        let inner = rest[start + 2..start + 2 + len]
            .trim()
            .trim_matches('-')
            .trim();
        rest = &rest[start + 2 + len + 2..];
        if !is_tag {
            if has_word(inner, var) {
                match stack.iter().flatten().next() {
                    Some(gate) if shown != Shown::Always => shown = Shown::OnlyWhen(gate),
                    Some(_) => {}
                    None => return Shown::Always,
                }
            }
            continue;
        }
        let (keyword, cond) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        match keyword {
            "if" => stack.push(debug_condition(cond)),
            "elif" => {
                if let Some(top) = stack.last_mut() {
                    *top = debug_condition(cond);
                }
            }
            "else" => {
                if let Some(top) = stack.last_mut() {
                    *top = None;
                }
            }
            k if k == "end" || k.starts_with("end") => {
                stack.pop();
            }
            k if OPENERS.contains(&k) => stack.push(None),
            _ => {}
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_under_a_debug_condition_is_shown_only_then() {
        let t = "{% block c %}{% if debug %}<pre>{{ error_trace }}</pre>{% else %}Error {{ code }}{% end %}{% end %}";
        assert_eq!(shows(t, "error_trace"), Shown::OnlyWhen("debug"));
        assert_eq!(shows(t, "code"), Shown::Always);
        assert_eq!(shows(t, "missing"), Shown::Never);
    }

    #[test]
    fn the_else_branch_of_a_debug_condition_is_not_gated() {
        let t = "{% if settings.serve_traceback %}x{% else %}{{ trace }}{% endif %}";
        assert_eq!(shows(t, "trace"), Shown::Always);
        let t = "{% if serve_traceback %}{{ trace }}{% endif %}";
        assert_eq!(shows(t, "trace"), Shown::OnlyWhen("serve_traceback"));
    }

    #[test]
    fn words_are_matched_whole_and_unclosed_tags_end_the_scan() {
        assert_eq!(shows("{{ trace_id }}", "trace"), Shown::Never);
        assert_eq!(
            shows("{% if debugger %}{{ trace }}{% end %}", "trace"),
            Shown::Always
        );
        assert_eq!(shows("{{ trace", "trace"), Shown::Never);
    }
}
