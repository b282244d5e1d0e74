//! Whether an environment marker can hold on a deployment target: a universal lock pins a
//! package once per fork (`urllib3 2.6.3; python_full_version < '3.10'` beside 2.8.0), and
//! only the forks that apply to the deployment matter. What the target leaves open (a
//! machine, an implementation, an extra) is assumed possible: a pin is left out only when its
//! marker cannot hold on the target, never on a guess.

use std::ops::Bound;
use std::str::FromStr;

use pep440_rs::Version;
use pep508_rs::{MarkerTree, MarkerTreeKind, MarkerValueString, MarkerValueVersion};

/// Markers nested deeper than this are not parsed: the PEP 508 parser rescans the rest of a
/// run of closing parentheses at every level (quadratic), and pip's own parser gives up far
/// earlier (Python's recursion limit). Real markers nest two or three levels.
pub const MAX_MARKER_DEPTH: usize = 32;

/// The deepest parenthesis nesting in `text`, outside quoted strings; one pass.
pub fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut quote = None;
    for b in text.bytes() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, b')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// An operating system as markers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    Macos,
    Windows,
}

impl Platform {
    fn value(self, key: &MarkerValueString) -> Option<&'static str> {
        let (sys_platform, platform_system, os_name) = match self {
            Platform::Linux => ("linux", "Linux", "posix"),
            Platform::Macos => ("darwin", "Darwin", "posix"),
            Platform::Windows => ("win32", "Windows", "nt"),
        };
        match key {
            MarkerValueString::SysPlatform | MarkerValueString::SysPlatformDeprecated => {
                Some(sys_platform)
            }
            MarkerValueString::PlatformSystem => Some(platform_system),
            MarkerValueString::OsName | MarkerValueString::OsNameDeprecated => Some(os_name),
            _ => None,
        }
    }
}

/// The deployment a lock is judged for; `None` fields are unknown (anything goes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// `X.Y`: the minor release (any patch level of it).
    pub python: Option<(u64, u64)>,
    pub platform: Option<Platform>,
}

impl Target {
    pub fn is_open(&self) -> bool {
        self.python.is_none() && self.platform.is_none()
    }

    /// Whether `marker` can be true on this target. A marker that does not parse, or is
    /// nested too deeply to parse, is kept (the dependency stays audited).
    pub fn admits(&self, marker: &str) -> bool {
        if self.is_open() || nesting_depth(marker) > MAX_MARKER_DEPTH {
            return true;
        }
        match MarkerTree::from_str(marker) {
            Ok(tree) => self.possible(&tree),
            Err(_) => true,
        }
    }

    /// The target's value of a platform marker variable, if the target says.
    fn platform_value(&self, key: &MarkerValueString) -> Option<&'static str> {
        self.platform.and_then(|p| p.value(key))
    }

    fn possible(&self, tree: &MarkerTree) -> bool {
        match tree.kind() {
            MarkerTreeKind::True => true,
            MarkerTreeKind::False => false,
            MarkerTreeKind::Version(node) => {
                let Some((major, minor)) = self.python else {
                    return node.edges().any(|(_, child)| self.possible(&child));
                };
                let low = Version::new([major, minor]);
                let high = Version::new([major, minor + 1]);
                node.edges().any(|(ranges, child)| {
                    let hit = match node.key() {
                        MarkerValueVersion::PythonVersion => ranges.contains(&low),
                        MarkerValueVersion::PythonFullVersion => ranges
                            .iter()
                            .any(|(lo, hi)| overlaps(lo.as_ref(), hi.as_ref(), &low, &high)),
                        MarkerValueVersion::ImplementationVersion => true,
                    };
                    hit && self.possible(&child)
                })
            }
            MarkerTreeKind::String(node) => match self.platform_value(node.key()) {
                Some(value) => node.children().any(|(ranges, child)| {
                    ranges.contains(&value.to_string()) && self.possible(&child)
                }),
                None => node.children().any(|(_, child)| self.possible(&child)),
            },
            // `key in 'literal'`.
            MarkerTreeKind::In(node) => match self.platform_value(node.key()) {
                Some(value) => self.possible(&node.edge(node.value().contains(value))),
                None => node.children().any(|(_, child)| self.possible(&child)),
            },
            // `'literal' in key`.
            MarkerTreeKind::Contains(node) => match self.platform_value(node.key()) {
                Some(value) => self.possible(&node.edge(value.contains(node.value()))),
                None => node.children().any(|(_, child)| self.possible(&child)),
            },
            MarkerTreeKind::Extra(node) => node.children().any(|(_, child)| self.possible(&child)),
        }
    }
}

/// Whether the segment `(lo, hi)` meets `[low, high)`.
fn overlaps(lo: Bound<&Version>, hi: Bound<&Version>, low: &Version, high: &Version) -> bool {
    let starts_before_high = match lo {
        Bound::Unbounded => true,
        Bound::Included(v) | Bound::Excluded(v) => v < high,
    };
    let ends_after_low = match hi {
        Bound::Unbounded => true,
        Bound::Included(v) => v >= low,
        Bound::Excluded(v) => v > low,
    };
    starts_before_high && ends_after_low
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Platform::Linux => "linux",
            Platform::Macos => "macos",
            Platform::Windows => "windows",
        })
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "linux" => Ok(Platform::Linux),
            "macos" | "darwin" | "mac" => Ok(Platform::Macos),
            "windows" | "win32" => Ok(Platform::Windows),
            other => Err(format!(
                "unknown platform `{other}`: expected linux, macos or windows"
            )),
        }
    }
}

/// `3.12` as a target Python.
pub fn parse_python_version(s: &str) -> Result<(u64, u64), String> {
    let mut parts = s.trim().split('.');
    let major = parts.next().and_then(|p| p.parse().ok());
    let minor = parts.next().and_then(|p| p.parse().ok());
    match (major, minor, parts.next()) {
        (Some(major), Some(minor), None) => Ok((major, minor)),
        _ => Err(format!("`{s}` is not a Python version like 3.12")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(python: Option<(u64, u64)>, platform: Option<Platform>) -> Target {
        Target { python, platform }
    }

    #[test]
    fn forks_of_a_universal_lock() {
        let old = "python_full_version < '3.10'";
        let new = "python_full_version >= '3.10'";
        assert!(on(Some((3, 9)), None).admits(old));
        assert!(!on(Some((3, 9)), None).admits(new));
        assert!(!on(Some((3, 12)), None).admits(old));
        assert!(on(Some((3, 12)), None).admits(new));
        // A patch-level bound inside the minor release: either side may hold.
        let patch = "python_full_version < '3.10.2'";
        assert!(on(Some((3, 10)), None).admits(patch));
        assert!(!on(Some((3, 11)), None).admits(patch));
        assert!(on(Some((3, 8)), None).admits("python_version < '3.9'"));
        assert!(!on(Some((3, 9)), None).admits("python_version < '3.9'"));
    }

    #[test]
    fn platforms_and_unknowns() {
        let linux = on(None, Some(Platform::Linux));
        let windows = on(None, Some(Platform::Windows));
        assert!(!linux.admits("sys_platform == 'win32'"));
        assert!(windows.admits("sys_platform == 'win32'"));
        assert!(!windows.admits("platform_system != 'Windows'"));
        assert!(linux.admits("os_name == 'posix' and platform_machine == 'arm64'"));
        assert!(!windows.admits("os_name == 'posix'"));
        assert!(linux.admits("'linux' in sys_platform"));
        assert!(!on(None, Some(Platform::Macos)).admits("'linux' in sys_platform"));
        // Extras and implementations are not known: kept.
        assert!(linux.admits("extra == 'yaml'"));
        assert!(linux.admits("implementation_name == 'pypy'"));
        let both = on(Some((3, 12)), Some(Platform::Linux));
        assert!(!both.admits("python_version >= '3.10' and sys_platform == 'darwin'"));
        assert!(both.admits("python_version < '3.10' or sys_platform == 'linux'"));
        // Open targets and unparsable markers keep everything.
        assert!(Target::default().admits("sys_platform == 'win32'"));
        assert!(linux.admits("not a marker ((("));
        let deep = format!(
            "{}sys_platform == 'win32'{}",
            "(".repeat(MAX_MARKER_DEPTH + 1),
            ")".repeat(MAX_MARKER_DEPTH + 1)
        );
        assert!(linux.admits(&deep), "too deep to evaluate: kept");
    }

    #[test]
    fn nesting_ignores_quoted_parentheses() {
        assert_eq!(nesting_depth("a == '((('"), 0);
        assert_eq!(nesting_depth("(a == \"(\") and ((b == 'x'))"), 2);
        assert_eq!(nesting_depth(")))(("), 2);
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_python_version("3.12"), Ok((3, 12)));
        assert!(parse_python_version("3").is_err());
        assert!(parse_python_version("3.12.1").is_err());
        assert_eq!("macOS".parse(), Ok(Platform::Macos));
        assert_eq!(Platform::Macos.to_string(), "macos");
        assert!("beos".parse::<Platform>().is_err());
    }
}
