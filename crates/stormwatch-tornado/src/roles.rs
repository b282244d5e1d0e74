//! Where code runs: production, or something else (tests, examples, documentation,
//! benchmarks, maintenance scripts, vendored libraries, Tornado's own source).
//!
//! Real repositories hold far more non-production Python than application code; a finding in
//! a test's `Application(debug=True)` is not one a maintainer acts on. Files are judged by the
//! conventions of their path, except that a file a deployment command starts
//! (`python scripts/serve.py`) is production wherever it lives.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Why a file is not production code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Test,
    Example,
    Documentation,
    Benchmark,
    Maintenance,
    Script,
    Vendored,
    TornadoItself,
}

impl Role {
    pub fn reason(self) -> &'static str {
        match self {
            Role::Test => "test code",
            Role::Example => "example code",
            Role::Documentation => "documentation code",
            Role::Benchmark => "benchmark code",
            Role::Maintenance => "maintenance script",
            Role::Script => "script not started by any deployment file",
            Role::Vendored => "vendored third-party code",
            Role::TornadoItself => "Tornado's own source",
        }
    }
}

const DIRS: &[(&str, Role)] = &[
    ("test", Role::Test),
    ("tests", Role::Test),
    ("testing", Role::Test),
    ("e2e", Role::Test),
    ("example", Role::Example),
    ("examples", Role::Example),
    ("demo", Role::Example),
    ("demos", Role::Example),
    ("sample", Role::Example),
    ("samples", Role::Example),
    ("doc", Role::Documentation),
    ("docs", Role::Documentation),
    ("benchmark", Role::Benchmark),
    ("benchmarks", Role::Benchmark),
    ("bench", Role::Benchmark),
    ("maint", Role::Maintenance),
    ("scripts", Role::Script),
];

/// Whether a deployment file sits where tests, examples, demos, documentation or benchmarks
/// live: it deploys that demo, not the application, so the scripts it starts are not made
/// production code by it.
pub fn deploys_a_demo(rel: &Path) -> bool {
    rel.parent().is_some_and(|dir| {
        dir.components().any(|c| {
            let name = c.as_os_str().to_str().unwrap_or("").to_ascii_lowercase();
            DIRS.iter().any(|(d, r)| {
                *d == name
                    && matches!(
                        r,
                        Role::Test | Role::Example | Role::Documentation | Role::Benchmark
                    )
            })
        })
    })
}

/// Directory names under which projects copy other projects' packages.
const VENDOR_DIRS: &[&str] = &[
    "lib",
    "libs",
    "ext",
    "extlib",
    "extlibs",
    "external",
    "vendor",
    "vendored",
    "_vendor",
    "third_party",
    "thirdparty",
    "3rdparty",
    "deps",
];

/// Classifies the Python files of one scan.
pub struct Roles {
    /// Vendor directories (relative): ones holding several top-level packages, or a copy of
    /// Tornado, and installation targets. Each top-level package inside is one library.
    vendored: Vec<PathBuf>,
    /// Directories that are one library each (see `crate::vendored`).
    vendored_packages: Vec<PathBuf>,
    /// Files a deployment command starts (relative, as written after the interpreter).
    started: HashSet<PathBuf>,
    /// Modules a deployment command starts with `python -m`.
    started_modules: HashSet<String>,
    /// Copies of Tornado (relative package directories), whatever their module names.
    tornado_copies: Vec<PathBuf>,
    /// Files that a declared entry point reaches through imports (empty when the project
    /// declares none): production wherever they live.
    reached: HashSet<PathBuf>,
}

impl Roles {
    /// `files`: every Python file, relative to the scanned directory; `commands`: the
    /// deployment command lines, for the scripts they start.
    pub fn new<'a>(files: &[&Path], commands: impl IntoIterator<Item = Vec<&'a str>>) -> Self {
        let mut packages_under: std::collections::HashMap<&Path, HashSet<&std::ffi::OsStr>> =
            Default::default();
        for f in files {
            if f.file_name().is_some_and(|n| n == "__init__.py") {
                let Some(package) = f.parent() else { continue };
                let (Some(parent), Some(name)) = (package.parent(), package.file_name()) else {
                    continue;
                };
                packages_under.entry(parent).or_default().insert(name);
            }
        }
        let vendored = packages_under
            .into_iter()
            .filter(|(dir, packages)| {
                let named = dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| VENDOR_DIRS.contains(&n.to_ascii_lowercase().as_str()));
                // `lib/myapp/` alone is an application's own layout; `lib/` holding several
                // unrelated packages, or Tornado itself, is a vendored copy (sometimes with an
                // `__init__.py` of its own).
                named && (packages.len() >= 3 || packages.contains(std::ffi::OsStr::new("tornado")))
            })
            .map(|(dir, _)| dir.to_path_buf())
            .collect();
        let mut started = HashSet::new();
        let mut started_modules = HashSet::new();
        for args in commands {
            for (i, a) in args.iter().enumerate() {
                if a.ends_with(".py") {
                    started.insert(PathBuf::from(a.trim_start_matches("./")));
                } else if *a == "-m" {
                    if let Some(m) = args.get(i + 1) {
                        started_modules.insert(m.to_string());
                    }
                }
            }
        }
        Roles {
            vendored,
            vendored_packages: Vec::new(),
            tornado_copies: Vec::new(),
            started,
            started_modules,
            reached: HashSet::new(),
        }
    }

    /// Adds directories recognised as other projects' code (see `crate::vendored`) and
    /// copies of Tornado.
    pub(crate) fn add_vendored(&mut self, found: crate::vendored::Found) {
        self.vendored.extend(found.targets);
        self.vendored_packages.extend(found.packages);
        self.tornado_copies.extend(found.tornado);
    }

    /// The vendored library that `rel` belongs to, named by its directory (or module file):
    /// the top-level package or module under the outermost vendor directory holding it
    /// (`lib3/requests` for `lib3/requests/api.py`), or a vendored package directory.
    /// `None` for the application's own code.
    pub fn library(&self, rel: &Path) -> Option<PathBuf> {
        let within = self.vendored.iter().filter(|v| rel.starts_with(v));
        let target = within.min_by_key(|v| v.components().count());
        let package = self
            .vendored_packages
            .iter()
            .filter(|p| rel.starts_with(p))
            .min_by_key(|p| p.components().count());
        match (target, package) {
            (Some(t), p) if p.is_none_or(|p| t.components().count() <= p.components().count()) => {
                let top = rel.strip_prefix(t).ok()?.components().next()?;
                Some(t.join(top))
            }
            (_, Some(p)) => Some(p.clone()),
            _ => None,
        }
    }

    /// Marks the files an entry point reaches (relative to the scanned directory).
    pub fn set_reached(&mut self, reached: impl IntoIterator<Item = PathBuf>) {
        self.reached = reached.into_iter().collect();
    }

    /// Whether a deployment command runs this file as a script (`python app/server.py`,
    /// `python -m app.server`, or a package's `__main__`).
    pub fn started_by_deployment(&self, rel: &Path, module: &str) -> bool {
        let by_path = self
            .started
            .iter()
            .any(|s| rel == s || (s.components().count() > 1 && rel.ends_with(s)));
        let package_main = module.strip_suffix(".__main__");
        by_path
            || self.started_modules.contains(module)
            || package_main.is_some_and(|p| self.started_modules.contains(p))
    }

    /// Why `rel` (relative to the scanned directory) is not production code, if it is not;
    /// `module` is its dotted module name.
    pub fn of(&self, rel: &Path, module: &str) -> Option<Role> {
        if self.started_by_deployment(rel, module) {
            return None;
        }
        let mut vendored = self.vendored.iter().chain(&self.vendored_packages);
        if vendored.any(|v| rel.starts_with(v)) {
            return Some(Role::Vendored);
        }
        let tornado_copy = self.tornado_copies.iter().any(|t| rel.starts_with(t));
        if tornado_copy || module == "tornado" || module.starts_with("tornado.") {
            return Some(Role::TornadoItself);
        }
        if self.reached.contains(rel) {
            return None;
        }
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("test_")
            || name.ends_with("_test.py")
            || name.ends_with("_tests.py")
            || name == "tests.py"
            || name == "conftest.py"
        {
            return Some(Role::Test);
        }
        rel.parent()?.components().find_map(|c| {
            let dir = c.as_os_str().to_str()?.to_ascii_lowercase();
            DIRS.iter().find(|(d, _)| *d == dir).map(|(_, r)| *r)
        })
    }
}

/// The modules that packaging metadata under `root` declares as commands:
/// `[project.scripts]`/`[project.gui-scripts]` and `[tool.poetry.scripts]` in
/// `pyproject.toml`, `console_scripts` in `setup.cfg`, and `"name = module:function"`
/// strings in `setup.py` (read as text, never run).
pub fn packaging_entry_points(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let read = |name: &str| {
        let path = root.join(name);
        let small =
            std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() < 1024 * 1024);
        small.then(|| std::fs::read_to_string(&path).ok()).flatten()
    };
    let mut add = |spec: &str| {
        let module = spec.split(':').next().unwrap_or("").trim();
        let valid = !module.is_empty()
            && module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if valid && spec.contains(':') {
            out.push(module.to_string());
        }
    };
    if let Some(text) = read("pyproject.toml") {
        if let Ok(doc) = text.parse::<toml_edit::DocumentMut>() {
            let tables = [
                doc.get("project").and_then(|p| p.get("scripts")),
                doc.get("project").and_then(|p| p.get("gui-scripts")),
                doc.get("tool")
                    .and_then(|t| t.get("poetry"))
                    .and_then(|p| p.get("scripts")),
            ];
            for table in tables.into_iter().flatten() {
                let Some(t) = table.as_table_like() else {
                    continue;
                };
                for (_, v) in t.iter() {
                    if let Some(spec) = v.as_str() {
                        add(spec);
                    } else if let Some(spec) = v
                        .as_table_like()
                        .and_then(|t| t.get("callable"))
                        .and_then(|c| c.as_str())
                    {
                        add(spec);
                    }
                }
            }
        }
    }
    if let Some(text) = read("setup.cfg") {
        let mut in_scripts = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') {
                in_scripts = false;
            } else if trimmed.starts_with("console_scripts") || trimmed.starts_with("gui_scripts") {
                in_scripts = true;
                if let Some((_, rest)) = trimmed.split_once('=') {
                    if let Some((_, spec)) = rest.split_once('=') {
                        add(spec);
                    }
                }
            } else if in_scripts && line.starts_with(char::is_whitespace) {
                if let Some((_, spec)) = trimmed.split_once('=') {
                    add(spec);
                }
            } else if !trimmed.is_empty() {
                in_scripts = false;
            }
        }
    }
    if let Some(text) = read("setup.py") {
        // Quoted "name = module:function" strings (entry_points={'console_scripts': [...]}).
        for quote in ['"', '\''] {
            for (i, piece) in text.split(quote).enumerate() {
                if i % 2 == 1 && piece.len() < 200 {
                    if let Some((name, spec)) = piece.split_once('=') {
                        let name = name.trim();
                        if !name.is_empty() && !name.contains(char::is_whitespace) {
                            add(spec);
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_file_of_a_demo_deploys_the_demo() {
        assert!(deploys_a_demo(Path::new("demos/blog/Dockerfile")));
        assert!(deploys_a_demo(Path::new(
            "examples/chat/docker-compose.yml"
        )));
        assert!(deploys_a_demo(Path::new("tests/fixtures/app/Procfile")));
        assert!(!deploys_a_demo(Path::new("Dockerfile")));
        assert!(!deploys_a_demo(Path::new("deploy/k8s/app.yaml")));
        assert!(!deploys_a_demo(Path::new("scripts/moonraker.service")));
    }

    #[test]
    fn conventions_vendoring_and_started_scripts() {
        let files: Vec<&Path> = [
            "app/__init__.py",
            "app/web.py",
            "tests/test_web.py",
            "app/web_test.py",
            "conftest.py",
            "examples/chat/chat.py",
            "docs/conf.py",
            "scripts/serve.py",
            "scripts/migrate.py",
            "maint/bump.py",
            "ext/guessit/__init__.py",
            "ext/requests/__init__.py",
            "ext/six/__init__.py",
            "ext/guessit/cli.py",
            "libs/tornado/__init__.py",
            "libs/tornado/web.py",
            "lib/streamlit/__init__.py",
            "lib/streamlit/server.py",
            "latest/demo_mode.py",
        ]
        .iter()
        .map(Path::new)
        .collect();
        let roles = Roles::new(&files, [vec!["python", "scripts/serve.py"]]);
        let of = |p: &str, m: &str| roles.of(Path::new(p), m);
        assert_eq!(of("app/web.py", "app.web"), None);
        assert_eq!(of("tests/test_web.py", "test_web"), Some(Role::Test));
        assert_eq!(of("app/web_test.py", "app.web_test"), Some(Role::Test));
        assert_eq!(of("conftest.py", "conftest"), Some(Role::Test));
        assert_eq!(of("examples/chat/chat.py", "chat"), Some(Role::Example));
        assert_eq!(of("docs/conf.py", "conf"), Some(Role::Documentation));
        assert_eq!(
            of("scripts/serve.py", "serve"),
            None,
            "started by a deployment file"
        );
        assert_eq!(of("scripts/migrate.py", "migrate"), Some(Role::Script));
        assert_eq!(of("maint/bump.py", "bump"), Some(Role::Maintenance));
        assert_eq!(
            of("ext/guessit/cli.py", "guessit.cli"),
            Some(Role::Vendored)
        );
        assert_eq!(
            of("libs/tornado/web.py", "tornado.web"),
            Some(Role::Vendored)
        );
        assert_eq!(
            of("lib/streamlit/server.py", "streamlit.server"),
            None,
            "one package under lib/ is the application's own"
        );
        assert_eq!(
            of("tornado/autoreload.py", "tornado.autoreload"),
            Some(Role::TornadoItself)
        );
        assert_eq!(
            of("latest/demo_mode.py", "demo_mode"),
            None,
            "whole names only"
        );
    }

    #[test]
    fn a_library_is_a_top_level_package_under_the_outermost_vendor_directory() {
        let files: Vec<&Path> = ["app/web.py"].iter().map(Path::new).collect();
        let mut roles = Roles::new(&files, Vec::<Vec<&str>>::new());
        roles.add_vendored(crate::vendored::Found {
            targets: vec![PathBuf::from("lib3"), PathBuf::from("lib3/pkg/_vendor")],
            packages: vec![PathBuf::from("lib/guessit"), PathBuf::from("lib3/six_pkg")],
            tornado: Vec::new(),
        });
        let library = |p: &str| roles.library(Path::new(p));
        assert_eq!(library("app/web.py"), None);
        assert_eq!(
            library("lib3/requests/api.py"),
            Some("lib3/requests".into())
        );
        assert_eq!(library("lib3/six.py"), Some("lib3/six.py".into()));
        assert_eq!(library("lib3/pkg/_vendor/x/y.py"), Some("lib3/pkg".into()));
        assert_eq!(library("lib3/six_pkg/a/b.py"), Some("lib3/six_pkg".into()));
        assert_eq!(library("lib/guessit/sub/m.py"), Some("lib/guessit".into()));
        assert_eq!(
            roles.of(Path::new("lib/guessit/sub/m.py"), "guessit.sub.m"),
            Some(Role::Vendored)
        );
    }
}
