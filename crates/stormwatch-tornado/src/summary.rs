//! What the audit keeps of every file once its syntax tree is gone: the modules it imports,
//! the `tornado.options` it defines and reads, and the config files it may read. From these,
//! the files are split into groups that can only reach each other ([`components`]): each
//! group is parsed, analysed and freed on its own, so that memory follows the largest group
//! rather than the whole repository, and entry-point reachability ([`reachable`]) needs no
//! syntax tree at all.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::Expr;

use crate::imports::Imports;
use crate::source::{PyFile, Source};
use crate::walk::str_lit;

/// `tornado.options.options` attributes that read every option rather than one.
const READS_EVERY_OPTION: &[&str] = &[
    "group_dict",
    "as_dict",
    "items",
    "groups",
    "parse_config_file",
    "parse_command_line",
    "_options",
];

/// Config-like extensions that `parse_config_file` may be given (Tornado runs them as Python).
pub(crate) const CONFIG_EXTENSIONS: &[&str] = &["conf", "cfg", "cnf", "config", "ini", "py"];

#[derive(Debug, Default)]
pub struct Summary {
    /// Every module the file imports (see [`Imports::modules`]).
    pub modules: Vec<String>,
    /// Option names given to `define("name", ...)`.
    pub defines: Vec<String>,
    /// `options.NAME` read.
    pub reads: Vec<String>,
    /// Reads options as a whole: `options.group_dict()`, `options` passed as a value,
    /// `parse_config_file` (which sets any of them).
    pub reads_all: bool,
    /// Path-like string literals of a file that calls `parse_config_file`.
    pub config_literals: Vec<String>,
    /// The last string literal of each `sys.path.insert/append/extend(...)` or
    /// `site.addsitedir(...)` call (`os.path.join(here, "lib")` gives `lib`).
    pub sys_path: Vec<String>,
}

impl Summary {
    pub fn of(file: &PyFile) -> Self {
        let imports = Imports::of(file);
        let mut v = OptionUse {
            imports: &imports,
            summary: Summary::default(),
        };
        v.visit_body(&file.ast.body);
        let mut summary = v.summary;
        if file.text.contains("parse_config_file") {
            summary.reads_all = true;
            crate::walk::string_literals(&file.ast.body, &mut |s| {
                if looks_like_config_path(s) {
                    summary.config_literals.push(s.to_string());
                }
            });
        }
        summary.modules = imports.modules().to_vec();
        summary
    }
}

pub(crate) fn looks_like_config_path(s: &str) -> bool {
    s.len() < 256
        && !s.contains('\n')
        && Path::new(s)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CONFIG_EXTENSIONS.contains(&e))
}

struct OptionUse<'i> {
    imports: &'i Imports,
    summary: Summary,
}

impl OptionUse<'_> {
    /// Whether a name refers to the options object (`options`, `opts` imported as it).
    fn is_options(&self, e: &Expr) -> bool {
        match e {
            Expr::Name(n) => {
                n.id.as_str() == "options"
                    || self.imports.get(n.id.as_str()) == Some("tornado.options.options")
            }
            Expr::Attribute(a) => a.attr.as_str() == "options",
            _ => false,
        }
    }
}

impl<'a> Visitor<'a> for OptionUse<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Attribute(a) if self.is_options(&a.value) => {
                let name = a.attr.as_str();
                if READS_EVERY_OPTION.contains(&name) {
                    self.summary.reads_all = true;
                } else {
                    self.summary.reads.push(name.to_string());
                }
                return;
            }
            Expr::Name(_) if self.is_options(expr) => self.summary.reads_all = true,
            Expr::Call(c) => {
                let is_define = match &*c.func {
                    Expr::Name(n) => {
                        n.id.as_str() == "define"
                            || self.imports.get(n.id.as_str()) == Some("tornado.options.define")
                    }
                    Expr::Attribute(a) => a.attr.as_str() == "define",
                    _ => false,
                };
                if is_define {
                    if let Some(name) = c.arguments.args.first().and_then(str_lit) {
                        self.summary.defines.push(name);
                    }
                } else if adds_to_sys_path(&c.func) {
                    let mut last = LastString(None);
                    for a in c.arguments.args.iter() {
                        last.visit_expr(a);
                    }
                    self.summary.sys_path.extend(last.0);
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// `sys.path.insert`, `sys.path.append`, `sys.path.extend` or `site.addsitedir`.
fn adds_to_sys_path(func: &Expr) -> bool {
    let Expr::Attribute(a) = func else {
        return false;
    };
    let is = |e: &Expr, name: &str| matches!(e, Expr::Name(n) if n.id.as_str() == name);
    match a.attr.as_str() {
        "insert" | "append" | "extend" => {
            matches!(&*a.value, Expr::Attribute(p) if p.attr.as_str() == "path" && is(&p.value, "sys"))
        }
        "addsitedir" => is(&a.value, "site"),
        _ => false,
    }
}

/// The last string literal of an expression, in source order.
struct LastString(Option<String>);

impl<'a> Visitor<'a> for LastString {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Some(s) = str_lit(expr) {
            self.0 = Some(s);
        }
        visitor::walk_expr(self, expr);
    }
}

/// Module name -> every file of that name (a `src.` prefix also answers to the name without
/// it), in file order: the first is the one Python imports; the others are where the
/// analysis of a group may resolve the name too.
pub struct ModuleIndex<'s>(HashMap<&'s str, Vec<usize>>);

impl<'s> ModuleIndex<'s> {
    pub fn new(sources: &[&'s Source]) -> Self {
        let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in sources.iter().enumerate() {
            index.entry(s.module.as_str()).or_default().push(i);
            if let Some(rest) = s.module.strip_prefix("src.") {
                index.entry(rest).or_default().push(i);
            }
        }
        ModuleIndex(index)
    }

    pub fn all(&self, module: &str) -> &[usize] {
        self.0.get(module).map_or(&[], Vec::as_slice)
    }

    pub fn first(&self, module: &str) -> Option<usize> {
        self.all(module).first().copied()
    }
}

/// A module and the packages above it: importing `a.b.c` runs `a`, `a.b` and `a.b.c`.
fn with_parents(module: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(module), |m| {
        m.rsplit_once('.').map(|(parent, _)| parent)
    })
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

/// Groups of files that the analysis may follow values between: a file and what it imports
/// (every file of that module name), option readers and the files that define those
/// options, and the files that read config files with those files. Each group lists its
/// files in their original order; groups come largest first.
///
/// `library` names, per file, the vendored library it belongs to (`None`: the
/// application's own code). An import, an option or a config file joins two files only
/// within the application or within one library: a library is someone else's code that
/// receives the application's values and returns its own, not a path from one application
/// setting to another (and a library's `options` variable or `.define()` method is rarely
/// Tornado's), so the application's group holds no library code and each library is
/// analysed on its own.
pub fn components(
    sources: &[&Source],
    summaries: &[&Summary],
    index: &ModuleIndex,
    library: &[Option<PathBuf>],
) -> Vec<Vec<usize>> {
    let n = sources.len();
    let mut uf = UnionFind((0..n).collect());
    let mut definers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in summaries.iter().enumerate() {
        for m in &s.modules {
            for &j in with_parents(m).flat_map(|name| index.all(name)) {
                if library[i] == library[j] {
                    uf.union(i, j);
                }
            }
        }
        for d in &s.defines {
            definers.entry(d.as_str()).or_default().push(i);
        }
    }
    // The first file defining options, per library (and for the application): an option
    // is joined to its readers only within one of them, like an import.
    let mut first_definer: HashMap<&Option<PathBuf>, usize> = HashMap::new();
    for &j in definers.values().flatten() {
        let first = first_definer.entry(&library[j]).or_insert(j);
        *first = (*first).min(j);
    }
    let any_definer = |i: usize| first_definer.get(&library[i]).copied();
    // Every definer together, when anything reads options as a whole.
    let reads_all = summaries.iter().any(|s| s.reads_all);
    if reads_all {
        for &j in definers.values().flatten() {
            if let Some(first) = any_definer(j) {
                uf.union(first, j);
            }
        }
    }
    let by_name: HashMap<&str, Vec<usize>> = {
        let mut m: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, s) in sources.iter().enumerate() {
            if let Some(name) = s.path.file_name().and_then(|n| n.to_str()) {
                m.entry(name).or_default().push(i);
            }
        }
        m
    };
    for (i, s) in summaries.iter().enumerate() {
        for r in &s.reads {
            for &j in definers.get(r.as_str()).into_iter().flatten() {
                if library[i] == library[j] {
                    uf.union(i, j);
                }
            }
        }
        if s.reads_all {
            if let Some(first) = any_definer(i) {
                uf.union(i, first);
            }
        }
        // A config file named by a literal, wherever the analysis may resolve it.
        for lit in &s.config_literals {
            let lit_path = Path::new(lit.trim_start_matches("./"));
            let Some(name) = lit_path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            for &j in by_name.get(name).into_iter().flatten() {
                if sources[j].path.ends_with(lit_path) && library[i] == library[j] {
                    uf.union(i, j);
                    if let Some(first) = any_definer(j) {
                        uf.union(j, first);
                    }
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..n {
        let root = uf.find(i);
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    out
}

/// The files that `entries` reach through their imports (themselves included).
pub fn reachable(summaries: &[&Summary], index: &ModuleIndex, entries: &[usize]) -> Vec<bool> {
    let mut seen = vec![false; summaries.len()];
    let mut queue: Vec<usize> = entries.to_vec();
    while let Some(i) = queue.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for m in &summaries[i].modules {
            for target in with_parents(m).filter_map(|name| index.first(name)) {
                if !seen[target] {
                    queue.push(target);
                }
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn file(path: &str, module: &str, text: &str) -> PyFile {
        let source = Arc::new(Source {
            path: PathBuf::from(path),
            rel: PathBuf::from(path),
            module: module.into(),
            text: text.into(),
            lines: stormwatch_manifest::text::LineIndex::new(text),
        });
        crate::source::parse(source).unwrap()
    }

    fn groups(files: &[PyFile]) -> Vec<Vec<usize>> {
        let sources: Vec<&Source> = files.iter().map(|f| &*f.source).collect();
        let summaries: Vec<Summary> = files.iter().map(Summary::of).collect();
        let refs: Vec<&Summary> = summaries.iter().collect();
        let library = vec![None; files.len()];
        let mut g = components(&sources, &refs, &ModuleIndex::new(&sources), &library);
        g.sort();
        g
    }

    #[test]
    fn options_read_and_defined() {
        let f = file(
            "a.py",
            "a",
            "from tornado.options import define, options as opts\n\
             define('debug', default=True)\n\
             x = opts.port\n\
             def f(options):\n    return options.group_dict('app')\n",
        );
        let s = Summary::of(&f);
        assert_eq!(s.defines, ["debug"]);
        assert_eq!(s.reads, ["port"]);
        assert!(s.reads_all);
        assert!(s.modules.contains(&"tornado.options".to_string()));
    }

    #[test]
    fn groups_follow_imports_options_and_config_files() {
        let files = [
            file("app/web.py", "app.web", "from .settings import S\n"),
            file("app/settings.py", "app.settings", "S = {}\n"),
            file(
                "opts.py",
                "opts",
                "from tornado.options import define\ndefine('debug', default=False)\n",
            ),
            file(
                "main.py",
                "main",
                "from tornado.options import options\nprint(options.debug)\n",
            ),
            file("alone.py", "alone", "import os\n"),
            file(
                "boot.py",
                "boot",
                "import tornado.options\ntornado.options.parse_config_file('conf/prod.py')\n",
            ),
            file("conf/prod.py", "conf.prod", "debug = True\n"),
        ];
        assert_eq!(groups(&files), vec![vec![0, 1], vec![2, 3, 5, 6], vec![4]]);
    }

    #[test]
    fn neither_imports_nor_options_join_the_application_to_vendored_libraries_or_libraries_to_each_other(
    ) {
        let files = [
            file(
                "app/web.py",
                "app.web",
                "import requests\nfrom .settings import S\n",
            ),
            file("app/settings.py", "app.settings", "S = {}\n"),
            file(
                "lib3/requests/__init__.py",
                "requests",
                "from . import api\n",
            ),
            file("lib3/requests/api.py", "requests.api", "import urllib3\n"),
            file(
                "lib3/urllib3/__init__.py",
                "urllib3",
                "import app.settings\nfrom tornado.options import define, options\n\
                 define('debug', default=True)\nprint(options.port)\n",
            ),
            file(
                "app/opts.py",
                "app.opts",
                "from tornado.options import define, options\n\
                 define('port', default=80)\nprint(options.debug)\n",
            ),
        ];
        let sources: Vec<&Source> = files.iter().map(|f| &*f.source).collect();
        let summaries: Vec<Summary> = files.iter().map(Summary::of).collect();
        let refs: Vec<&Summary> = summaries.iter().collect();
        let library: Vec<Option<PathBuf>> = [
            None,
            None,
            Some("lib3/requests"),
            Some("lib3/requests"),
            Some("lib3/urllib3"),
            None,
        ]
        .into_iter()
        .map(|l| l.map(PathBuf::from))
        .collect();
        let mut g = components(&sources, &refs, &ModuleIndex::new(&sources), &library);
        g.sort();
        // Nor do options defined on one side and read on the other.
        assert_eq!(g, vec![vec![0, 1], vec![2, 3], vec![4], vec![5]]);
        // Without vendoring, the imports and options make one group.
        assert_eq!(groups(&files), vec![vec![0, 1, 2, 3, 4, 5]]);
    }

    #[test]
    fn reachability_follows_first_module_of_a_name() {
        let files = [
            file("main.py", "main", "import app.web\n"),
            file("app/__init__.py", "app", ""),
            file("app/web.py", "app.web", "from . import util\n"),
            file("app/util.py", "app.util", ""),
            file("tests/test_web.py", "tests.test_web", "import app.web\n"),
        ];
        let sources: Vec<&Source> = files.iter().map(|f| &*f.source).collect();
        let summaries: Vec<Summary> = files.iter().map(Summary::of).collect();
        let refs: Vec<&Summary> = summaries.iter().collect();
        assert_eq!(
            reachable(&refs, &ModuleIndex::new(&sources), &[0]),
            [true, true, true, true, false]
        );
    }
}
