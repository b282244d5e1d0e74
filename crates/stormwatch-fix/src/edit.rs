//! Byte-preserving edits of a pin written by hand: only the version (and, in a hashed
//! requirement, its hashes) changes; comments, markers, extras, spacing, quotes and every
//! other line stay as they were. Each edit is checked by reading the file back.

use std::str::FromStr;

use pep440_rs::Version;
use stormwatch_manifest::text::LineIndex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("line {line}: no `{package}==` pin with version {version} found to change")]
    PinNotFound {
        line: usize,
        package: String,
        version: String,
    },
    #[error(
        "line {line}: the requirement is hash-pinned and no hashes of {package} {version} are \
         known (give --index-url, or regenerate the file with `pip-compile --generate-hashes`)"
    )]
    HashesNeeded {
        line: usize,
        package: String,
        version: String,
    },
    #[error("line {line}: something other than --hash options follows the hashes; not edited")]
    UnusualHashes { line: usize },
    #[error("the edited file does not parse: {0}")]
    Invalid(String),
}

pub use stormwatch_manifest::normalize_name as normalize;

fn not_found(line: usize, package: &str, old: &Version) -> EditError {
    EditError::PinNotFound {
        line,
        package: package.to_string(),
        version: old.to_string(),
    }
}

/// The length of the distribution name at the start of `text`.
fn name_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len())
}

fn is_version_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'!' | b'-' | b'_' | b'*')
}

/// In `text[range]`, the byte range of the version token after `==`/`===` that reads as
/// `old`, stopping at a marker (`;`) or comment (`#`).
fn pinned_version(text: &str, from: usize, to: usize, old: &Version) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i + 1 < to {
        match bytes[i] {
            b';' | b'#' => return None,
            b'=' if bytes[i + 1] == b'=' && (i == from || !b"!<>=~".contains(&bytes[i - 1])) => {
                let mut start = i + 2;
                if start < to && bytes[start] == b'=' {
                    start += 1;
                }
                while start < to && bytes[start] == b' ' {
                    start += 1;
                }
                let mut end = start;
                while end < to && is_version_char(bytes[end]) {
                    end += 1;
                }
                if Version::from_str(&text[start..end]).is_ok_and(|v| &v == old) {
                    return Some((start, end));
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    None
}

/// Changes the `==old` pin of `package` in the requirement that starts at `line` of a
/// requirements file to `new`. A hash-pinned requirement gets `hashes` (sha256 hex) in
/// place of its old ones, in the same layout; without them it is not edited.
pub fn requirements(
    text: &str,
    line: usize,
    package: &str,
    old: &Version,
    new: &Version,
    hashes: Option<&[String]>,
) -> Result<String, EditError> {
    let not_found = || not_found(line, package, old);
    let index = LineIndex::new(text);
    let starts = index.starts();
    let start = *starts.get(line.wrapping_sub(1)).ok_or_else(not_found)?;
    // The logical line: continuations (`\` at the end) included.
    let mut end = start;
    loop {
        let eol = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let physical = text[end..eol].trim_end_matches('\r');
        end = eol;
        if physical.ends_with('\\') && eol < text.len() {
            end = eol + 1;
            continue;
        }
        break;
    }
    let logical = &text[start..end];
    let name_end = name_len(logical);
    let name = logical[..name_end].trim();
    if normalize(name) != normalize(package) {
        return Err(not_found());
    }
    let (vs, ve) = pinned_version(text, start + name_end, end, old).ok_or_else(not_found)?;
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..vs]);
    out.push_str(&new.to_string());
    let hash_at = text[ve..end].find("--hash").map(|i| ve + i);
    match hash_at {
        None => out.push_str(&text[ve..]),
        Some(first) => {
            let Some(hashes) = hashes.filter(|h| !h.is_empty()) else {
                return Err(EditError::HashesNeeded {
                    line,
                    package: package.to_string(),
                    version: new.to_string(),
                });
            };
            // Everything after the first hash must be hashes and their separators.
            let tail = &text[first..end];
            let only_hashes = tail
                .split(|c: char| c.is_whitespace() || c == '\\')
                .filter(|t| !t.is_empty())
                .all(|t| t.starts_with("--hash"));
            if !only_hashes {
                return Err(EditError::UnusualHashes { line });
            }
            // The separator written before the first hash (" \\\n    " in pip-compile's
            // layout) goes between every two.
            let before = text[..first]
                .rfind(|c: char| !(c.is_whitespace() || c == '\\'))
                .map_or(ve, |i| i + 1)
                .max(ve);
            let sep = &text[before..first];
            out.push_str(&text[ve..before]);
            let options: Vec<String> = hashes
                .iter()
                .map(|h| format!("--hash=sha256:{h}"))
                .collect();
            out.push_str(sep);
            out.push_str(&options.join(sep));
            out.push_str(&text[end..]);
        }
    }
    Ok(out)
}

/// Changes the pin of `package` at `line` of a TOML manifest: a PEP 508 string in
/// `pyproject.toml` (`"tornado==6.1"`), a Poetry version (`tornado = "6.1"`,
/// `{ version = "==6.1" }`, or a `version` key under a `[...tornado]` table) or a Pipfile
/// one (`tornado = "==6.1"`). Only the characters of the version change.
pub fn toml(
    text: &str,
    line: usize,
    package: &str,
    old: &Version,
    new: &Version,
) -> Result<String, EditError> {
    let not_found = || not_found(line, package, old);
    let index = LineIndex::new(text);
    let starts = index.starts();
    let wanted = normalize(package);
    // The pin is on the line given, or (a table per dependency) on a `version` key a few
    // lines below it.
    for l in line..line + 6 {
        let Some(&start) = starts.get(l.wrapping_sub(1)) else {
            break;
        };
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let physical = &text[start..end];
        let key = physical
            .split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(['"', '\'', '[', ']']);
        let key_is_package = normalize(key.rsplit('.').next().unwrap_or(key)) == wanted;
        let mut i = 0;
        while let Some(q) = physical[i..].find(['"', '\'']).map(|q| i + q) {
            let quote = physical.as_bytes()[q] as char;
            let Some(close) = physical[q + 1..].find(quote).map(|c| q + 1 + c) else {
                break;
            };
            let content = &physical[q + 1..close];
            let (cs, ce) = (start + q + 1, start + close);
            let name_end = name_len(content);
            let found = if normalize(&content[..name_end]) == wanted {
                // A PEP 508 string.
                pinned_version(text, cs + name_end, ce, old)
            } else if key_is_package || (l > line && key == "version") {
                // A bare version (Poetry's exact pin) or `==version`.
                let after_ops = content.trim_start_matches("===").trim_start_matches("==");
                let offset = content.len() - after_ops.trim_start().len();
                let trimmed = after_ops.trim();
                (Version::from_str(trimmed).is_ok_and(|v| &v == old))
                    .then(|| (cs + offset, cs + offset + trimmed.len()))
            } else {
                None
            };
            if let Some((vs, ve)) = found {
                let out = format!("{}{}{}", &text[..vs], new, &text[ve..]);
                // toml_edit can panic in its error recovery on some invalid documents (found
                // by fuzzing): such a document is invalid.
                let owned = out.clone();
                std::panic::catch_unwind(move || {
                    owned.parse::<toml_edit::DocumentMut>().map(|_| ())
                })
                .map_err(|_| EditError::Invalid("the document does not parse".into()))?
                .map_err(|e| EditError::Invalid(e.message().trim().to_string()))?;
                return Ok(out);
            }
            i = close + 1;
        }
        if l > line && physical.trim_start().starts_with('[') {
            break;
        }
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    #[test]
    fn requirements_pins_change_and_nothing_else() {
        let text = "# pins\r\nrequests==2.0  # http\nTornado[curl] == 6.1 ; python_version >= \"3.8\"  # web\nflask>=2\n";
        let out = requirements(text, 3, "tornado", &v("6.1"), &v("6.5.9"), None).unwrap();
        assert_eq!(
            out,
            "# pins\r\nrequests==2.0  # http\nTornado[curl] == 6.5.9 ; python_version >= \"3.8\"  # web\nflask>=2\n"
        );
        // The version as written may differ from its normal form.
        let out = requirements("a==6.01.0\n", 1, "a", &v("6.1"), &v("6.2"), None).unwrap();
        assert_eq!(out, "a==6.2\n");
        assert!(requirements(text, 2, "tornado", &v("6.1"), &v("6.2"), None).is_err());
        assert!(requirements("a>=6.1\n", 1, "a", &v("6.1"), &v("6.2"), None).is_err());
        assert!(requirements("a!=6.1\n", 1, "a", &v("6.1"), &v("6.2"), None).is_err());
    }

    #[test]
    fn hashes_are_replaced_in_the_same_layout() {
        let text = "tornado==6.1 \\\n    --hash=sha256:aaaa \\\n    --hash=sha256:bbbb\n    # via app\nsix==1.0 --hash=sha256:cccc\n";
        let new = vec!["1111".to_string(), "2222".to_string(), "3333".to_string()];
        let out = requirements(text, 1, "tornado", &v("6.1"), &v("6.5"), Some(&new)).unwrap();
        assert_eq!(
            out,
            "tornado==6.5 \\\n    --hash=sha256:1111 \\\n    --hash=sha256:2222 \\\n    --hash=sha256:3333\n    # via app\nsix==1.0 --hash=sha256:cccc\n"
        );
        let one = requirements(text, 5, "six", &v("1.0"), &v("1.1"), Some(&new[..1])).unwrap();
        assert!(one.ends_with("six==1.1 --hash=sha256:1111\n"), "{one}");
        assert!(matches!(
            requirements(text, 1, "tornado", &v("6.1"), &v("6.5"), None),
            Err(EditError::HashesNeeded { .. })
        ));
    }

    #[test]
    fn toml_pins() {
        let pyproject = "[project]\ndependencies = [\n    'tornado == 6.1',  # web\n    \"requests[socks]==2.0; python_version<'3.12'\",\n]\n";
        let out = toml(pyproject, 3, "tornado", &v("6.1"), &v("6.5.9")).unwrap();
        assert_eq!(out, pyproject.replace("6.1'", "6.5.9'"));
        let out = toml(pyproject, 4, "requests", &v("2.0"), &v("2.32.4")).unwrap();
        assert!(
            out.contains("\"requests[socks]==2.32.4; python_version<'3.12'\""),
            "{out}"
        );
        let poetry = "[tool.poetry.dependencies]\npython = \"^3.9\"\ntornado = \"6.1\"\nflask = { version = \"==2.0.1\", extras = [\"async\"] }\n\n[tool.poetry.dependencies.six]\nversion = \"1.0\"\noptional = true\n";
        let out = toml(poetry, 3, "tornado", &v("6.1"), &v("6.5.9")).unwrap();
        assert!(out.contains("tornado = \"6.5.9\"\n"), "{out}");
        let out = toml(poetry, 4, "flask", &v("2.0.1"), &v("2.2.5")).unwrap();
        assert!(
            out.contains("flask = { version = \"==2.2.5\", extras"),
            "{out}"
        );
        let out = toml(poetry, 6, "six", &v("1.0"), &v("1.16")).unwrap();
        assert!(out.contains("version = \"1.16\"\noptional"), "{out}");
        let pipfile = "[packages]\ntornado = \"==6.1\"\n";
        assert_eq!(
            toml(pipfile, 2, "tornado", &v("6.1"), &v("6.5")).unwrap(),
            "[packages]\ntornado = \"==6.5\"\n"
        );
        assert!(toml(pipfile, 2, "tornado", &v("6.2"), &v("6.5")).is_err());
    }
}
