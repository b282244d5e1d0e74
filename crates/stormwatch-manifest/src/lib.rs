//! The dependency layer of stormwatch: every way a Python project pins its packages.
//!
//! Each reader turns one input format into [`Dependency`] records that say *what* is
//! required (a PEP 503 normalized name and a [`Spec`]) and *where* (a [`Source`] with file
//! and line), so that the audit can point at the exact line to change. Nothing here knows
//! about advisories.

use std::fmt;
use std::path::{Path, PathBuf};

pub use pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};

mod discover;
mod installed;
mod lockfiles;
pub mod markers;
mod pipfile;
mod poetry;
mod pyproject;
mod requirements;
pub mod text;
mod tomlfile;

pub use discover::{detect_format, discover, discover_checked, project_files, Format};
pub use installed::{python_site_packages, read_site_packages};
pub use poetry::parse_poetry_constraint;
pub use requirements::{parse_requirements, parse_requirements_in, parse_requirements_str};

/// PEP 503 normalization: lowercase, with runs of `-`, `_` and `.` collapsed to `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            // Nearly every name is ASCII: Unicode case tables cost more than the rest.
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// Where a dependency was declared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    pub path: PathBuf,
    /// 1-based; 0 when the format has no meaningful line (e.g. an installed distribution).
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}", self.path.display(), self.line)
        } else {
            write!(f, "{}", self.path.display())
        }
    }
}

/// What versions a dependency may resolve to.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// Exactly one version (`==1.2.3`, a lockfile entry, an installed distribution).
    /// `parsed` is `None` when the string is not valid PEP 440; matching then falls back
    /// to exact string comparison with advisories' explicit version lists.
    Pinned {
        version: String,
        parsed: Option<Version>,
    },
    /// Any version satisfying one of the alternatives (several only for Poetry's `||`).
    /// An empty list means no constraint at all.
    Range {
        alternatives: Vec<VersionSpecifiers>,
        text: String,
    },
    /// A direct URL, VCS checkout, local path or editable install: not auditable by version.
    Unauditable { reason: String, reference: String },
}

impl Spec {
    pub fn pinned(version: &str) -> Spec {
        let version = version.trim().to_string();
        let parsed = version.parse::<Version>().ok();
        Spec::Pinned { version, parsed }
    }

    /// Classifies a PEP 440 specifier set: a single `==V` (no wildcard) or `===V` is a pin.
    pub fn from_specifiers(specs: VersionSpecifiers) -> Spec {
        let text = specs.to_string();
        if specs.len() == 1 {
            let s = specs.iter().next().expect("one specifier");
            match s.operator() {
                Operator::Equal => {
                    return Spec::Pinned {
                        version: s.version().to_string(),
                        parsed: Some(s.version().clone()),
                    }
                }
                #[allow(deprecated)]
                Operator::ExactEqual => return Spec::pinned(&s.version().to_string()),
                _ => {}
            }
        }
        Spec::Range {
            alternatives: if specs.is_empty() {
                Vec::new()
            } else {
                vec![specs]
            },
            text,
        }
    }

    pub fn any() -> Spec {
        Spec::Range {
            alternatives: Vec::new(),
            text: String::new(),
        }
    }

    pub fn unauditable(reason: impl Into<String>, reference: impl Into<String>) -> Spec {
        Spec::Unauditable {
            reason: reason.into(),
            reference: reference.into(),
        }
    }

    pub fn is_pinned(&self) -> bool {
        matches!(self, Spec::Pinned { .. })
    }

    /// Whether `version` satisfies the requirement; `None` for a URL, VCS or path source,
    /// which names no version.
    pub fn admits(&self, version: &Version) -> Option<bool> {
        match self {
            Spec::Pinned {
                parsed: Some(p), ..
            } => Some(p == version),
            Spec::Pinned { version: v, .. } => Some(*v == version.to_string()),
            Spec::Range { alternatives, .. } => {
                Some(alternatives.is_empty() || alternatives.iter().any(|a| a.contains(version)))
            }
            Spec::Unauditable { .. } => None,
        }
    }

    /// The version or range as a reader would write it.
    pub fn text(&self) -> &str {
        match self {
            Spec::Pinned { version, .. } => version,
            Spec::Range { text, .. } => text,
            Spec::Unauditable { reference, .. } => reference,
        }
    }
}

/// How the dependency entered the project, which decides how sure we are of its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Declared by hand (requirements file, pyproject, Pipfile).
    Manifest,
    /// Resolved by a locking tool.
    Lockfile,
    /// Present in an installed environment.
    Installed,
}

/// One requirement on one package, with where it was declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// PEP 503 normalized.
    pub name: String,
    pub spec: Spec,
    pub source: Source,
    pub origin: Origin,
    /// An environment marker, kept verbatim; dependencies are audited whatever it says.
    pub marker: Option<String>,
    /// The group or extra that pulls it in (`dev`, `test`, ...), when the format says.
    pub group: Option<String>,
}

/// Something worth telling the user that is not a vulnerability (an ignored option, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub source: Source,
    pub message: String,
}

/// Everything read from one or more inputs.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub files: Vec<(PathBuf, Format)>,
    pub dependencies: Vec<Dependency>,
    pub notes: Vec<Note>,
    /// Files that were not read (outside the scanned tree, not regular files): the audit of
    /// these inputs is incomplete.
    pub unread: Vec<Note>,
}

impl Inputs {
    pub fn extend(&mut self, other: Inputs) {
        self.files.extend(other.files);
        self.dependencies.extend(other.dependencies);
        self.notes.extend(other.notes);
        self.unread.extend(other.unread);
    }
}

/// An input that cannot be read or understood. Always names the file, and the line when known.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}: {message}", location(path, *line))]
pub struct ManifestError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

fn location(path: &Path, line: usize) -> String {
    if line > 0 {
        format!("{}:{}", path.display(), line)
    } else {
        path.display().to_string()
    }
}

impl ManifestError {
    pub fn new(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Self::new(path, 0, text::describe_io_error(path, err))
    }
}

/// The reader a file name calls for (see [`detect_format`]); any `.txt`/`.in` named
/// explicitly is read as requirements.
pub fn file_format(path: &Path) -> Result<Format, ManifestError> {
    let is_text = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt") || e.eq_ignore_ascii_case("in"));
    detect_format(path)
        .or(is_text.then_some(Format::Requirements))
        .ok_or_else(|| {
            ManifestError::new(
                path,
                0,
                "unknown input format; expected requirements*.txt, pyproject.toml, poetry.lock, \
             Pipfile, Pipfile.lock, uv.lock, pdm.lock or pylock.toml",
            )
        })
}

/// Reads one input file, choosing the reader from its name (see [`file_format`]).
pub fn parse_file(path: &Path) -> Result<Inputs, ManifestError> {
    parse_as(path, file_format(path)?)
}

/// Reads one input file of a scanned tree: the file and its includes must stay inside `root`
/// (after following symbolic links); those that do not are not read, with a note each.
pub fn parse_in(path: &Path, format: Format, root: &Path) -> Result<Inputs, ManifestError> {
    if !text::is_within(path, root) {
        return Ok(Inputs {
            unread: vec![Note {
                source: Source {
                    path: path.to_path_buf(),
                    line: 0,
                },
                message: "symbolic link to a file outside the scanned directory; not read"
                    .to_string(),
            }],
            ..Inputs::default()
        });
    }
    match format {
        Format::Requirements => requirements::parse_requirements_in(path, root),
        _ => parse_as(path, format),
    }
}

/// Reads one input file with an explicitly chosen reader.
pub fn parse_as(path: &Path, format: Format) -> Result<Inputs, ManifestError> {
    let mut inputs = match format {
        Format::Requirements => return parse_requirements(path),
        Format::Pyproject => pyproject::parse(path)?,
        Format::Pipfile => pipfile::parse_pipfile(path)?,
        Format::PipfileLock => pipfile::parse_lock(path)?,
        Format::PoetryLock => lockfiles::parse_poetry_lock(path)?,
        Format::UvLock => lockfiles::parse_uv_lock(path)?,
        Format::PdmLock => lockfiles::parse_pdm_lock(path)?,
        Format::Pylock => lockfiles::parse_pylock(path)?,
        Format::Installed => {
            let dir = path.parent().unwrap_or(path);
            return read_site_packages(dir);
        }
    };
    inputs.files.insert(0, (path.to_path_buf(), format));
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_normalization() {
        assert_eq!(normalize_name("Tornado"), "tornado");
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY-BARD"), "friendly-bard");
        assert_eq!(normalize_name("friendly.bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly_bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly--bard"), "friendly-bard");
        assert_eq!(normalize_name("FrIeNdLy-._.-bArD"), "friendly-bard");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        // The ASCII fast path and the general one agree at the edges.
        assert_eq!(normalize_name("  _Lead.Trail_ "), "lead-trail");
        assert_eq!(normalize_name("Ünïcode__Pkg"), "ünïcode-pkg");
        assert_eq!(normalize_name("ÄB.C"), "äb-c");
    }

    #[test]
    fn specs_admit_versions() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(Spec::pinned("6.5.1").admits(&v("6.5.1")), Some(true));
        assert_eq!(Spec::pinned("6.5.1").admits(&v("6.4.2")), Some(false));
        let range = Spec::from_specifiers(">=6.5".parse().unwrap());
        assert_eq!(range.admits(&v("6.4.2")), Some(false));
        assert_eq!(range.admits(&v("6.5.1")), Some(true));
        assert_eq!(Spec::any().admits(&v("1")), Some(true));
        assert_eq!(Spec::unauditable("local path", "./x").admits(&v("1")), None);
    }

    #[test]
    fn specifier_classification() {
        let pin = Spec::from_specifiers("==6.1".parse().unwrap());
        assert!(pin.is_pinned());
        let star = Spec::from_specifiers("==6.1.*".parse().unwrap());
        assert!(!star.is_pinned());
        let range = Spec::from_specifiers(">=5,<6".parse().unwrap());
        assert!(!range.is_pinned());
        let arbitrary = Spec::from_specifiers("===6.1".parse().unwrap());
        assert!(arbitrary.is_pinned());
    }
}
