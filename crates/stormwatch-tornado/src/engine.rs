//! The project model: every file's imports, top-level definitions, classes and calls (from
//! one traversal each, see [`crate::walk`]), the `tornado.options` the repository defines, and
//! the places where settings and routes reach `tornado.web.Application`. Values are followed
//! by [`crate::eval`].

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rayon::prelude::*;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::eval::Scope;
use crate::imports::{module_index, Imports};
use crate::source::{PyFile, Source};
use crate::value::{Step, Tracked, Val};
pub use crate::walk::Condition;
use crate::walk::{self, str_lit, text_of, Context, FileScan};

pub(crate) const APPLICATION: &str = "tornado.web.Application";

/// The most parts a dotted name is followed through (`a.b().c` has three).
const MAX_NAME_PARTS: usize = 32;

/// A file of the project being analysed: its place in [`Project::files`] (and in every
/// per-file table of the project).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub usize);

/// A class of the project being analysed: its place in the project's class table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub usize);

impl<T> std::ops::Index<FileId> for [T] {
    type Output = T;
    fn index(&self, i: FileId) -> &T {
        &self[i.0]
    }
}

impl<T> std::ops::Index<FileId> for Vec<T> {
    type Output = T;
    fn index(&self, i: FileId) -> &T {
        &self[i.0]
    }
}

impl<T> std::ops::Index<ClassId> for Vec<T> {
    type Output = T;
    fn index(&self, i: ClassId) -> &T {
        &self[i.0]
    }
}

pub use crate::routes::RouteTable;

/// One place where settings reach an `Application`.
pub struct AppSite {
    /// The file's index in the project it was found in.
    pub file: FileId,
    pub path: std::path::PathBuf,
    pub line: usize,
    pub column: usize,
    /// Every setting passed, by name, with its evaluated value.
    pub settings: Vec<(String, Tracked)>,
    /// Whether every setting could be followed: `**unknown`, settings changed after
    /// construction in ways the analysis cannot read, make "not set" unknowable.
    pub complete: bool,
    /// The route table as far as it could be followed (the positional `handlers`, `url()`,
    /// `URLSpec`, `Rule`, lists built up and imported, and `add_handlers` in the same file).
    pub routes: RouteTable,
}

/// Any other call, for the rules that look at calls (`tornado.autoreload.start()`,
/// `self.set_cookie(...)`, `logging.basicConfig(...)`).
pub struct CallSite<'a> {
    pub file: FileId,
    pub line: usize,
    pub column: usize,
    /// The dotted name of the callee (`tornado.autoreload.start`, `self.set_cookie`).
    pub qualified: String,
    /// Whether the call sits under `if __name__ == "__main__":`.
    pub main_guarded: bool,
    /// The innermost condition the call runs under (an `if` test, an exception handler, a
    /// `match` case), other than the `__main__` guard.
    pub condition: Option<Condition<'a>>,
    pub call: &'a ast::ExprCall,
    /// The function and class around the call, for evaluating its arguments.
    pub scope: Scope<'a>,
}

/// A class of the repository with its resolved base classes.
pub struct ClassInfo<'a> {
    pub file: FileId,
    pub qualified: String,
    pub bases: Vec<String>,
    pub def: &'a ast::StmtClassDef,
}

/// A top-level definition of a module.
#[derive(Clone, Copy)]
pub enum TopDef<'a> {
    Function(&'a ast::StmtFunctionDef),
    Class,
}

/// A `define(...)`d option: its value (default, or from a config file) and group.
pub struct OptionDef {
    pub value: Tracked,
    pub group: Option<String>,
}

/// A call of a function of the repository, for following what callers pass.
#[derive(Clone, Copy)]
pub(crate) struct CallRef<'a> {
    pub file: FileId,
    pub call: &'a ast::ExprCall,
    pub context: Context<'a>,
}

pub struct Project<'a> {
    pub files: &'a [PyFile],
    /// Every file of the repository, beyond the group being analysed (for what is only
    /// searched as text).
    pub repository: &'a [&'a Source],
    pub(crate) scans: Vec<FileScan<'a>>,
    pub(crate) imports: Vec<Imports>,
    /// Each file's top-level classes and functions, so that resolving a name is a lookup
    /// rather than a scan of the module.
    pub(crate) top_level: Vec<HashMap<String, TopDef<'a>>>,
    pub(crate) index: HashMap<String, FileId>,
    pub(crate) classes: Vec<ClassInfo<'a>>,
    /// Qualified name -> class.
    pub(crate) class_index: HashMap<String, ClassId>,
    /// Class definition (by address) -> class.
    by_def: HashMap<usize, ClassId>,
    pub(crate) app_classes: HashSet<String>,
    /// The simple names of `app_classes`, to rule out most calls before resolving them.
    pub(crate) app_class_names: HashSet<String>,
    /// Class -> the classes that name it as a base, by the base's dotted name.
    children: HashMap<String, Vec<usize>>,
    pub(crate) options: HashMap<String, OptionDef>,
    /// Calls by the last part of the callee's name, for the names the repository defines.
    callers: HashMap<String, Vec<CallRef<'a>>>,
    pub command_line_options: bool,
    /// The scanned directory (data files are read only from inside it).
    pub(crate) root: std::path::PathBuf,
    /// Data files read by the code, by path and how they were read.
    pub(crate) data_files: std::sync::Mutex<DataFileCache>,
    /// `super().__init__(...)`/`Base.__init__(self, ...)` calls by the class they sit in.
    pub(crate) init_calls: HashMap<ClassId, Vec<CallRef<'a>>>,
    /// `os.environ.setdefault("X", v)` calls outside tests, by variable.
    pub(crate) env_defaults: HashMap<String, Vec<CallRef<'a>>>,
    /// The statements that change each name, for every scope body of every file.
    pub(crate) bindings: crate::bindings::ScopeBindings<'a>,
    /// Each class's resolution order, computed once (see [`crate::classes`]).
    pub(crate) mro_cache: Vec<std::sync::OnceLock<Vec<ClassId>>>,
}

type DataFileCache = HashMap<(std::path::PathBuf, crate::data_files::DataFormat), Option<Tracked>>;

/// The scanned directory, from a file's path and its path relative to it.
fn scan_root(path: &Path, rel: &Path) -> std::path::PathBuf {
    let mut root = path.to_path_buf();
    for _ in rel.components() {
        root.pop();
    }
    root
}

/// The last part of a callee (`self.make_app` -> `make_app`).
pub(crate) fn last_name(func: &Expr) -> Option<&str> {
    match func {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

impl<'a> Project<'a> {
    pub fn new(files: &'a [PyFile], repository: &'a [&'a Source]) -> Self {
        let index = module_index(files);
        // Per-file passes run on every core; cross-file passes below read their results.
        let imports = files.par_iter().map(Imports::of).collect();
        let scans: Vec<FileScan<'a>> = files.par_iter().map(|f| walk::scan(&f.ast.body)).collect();
        let top_level = files
            .par_iter()
            .map(|f| {
                f.ast
                    .body
                    .iter()
                    .filter_map(|s| match s {
                        Stmt::ClassDef(c) => Some((c.name.to_string(), TopDef::Class)),
                        Stmt::FunctionDef(d) => Some((d.name.to_string(), TopDef::Function(d))),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        let mut p = Project {
            files,
            repository,
            scans,
            imports,
            top_level,
            index,
            classes: Vec::new(),
            class_index: HashMap::new(),
            by_def: HashMap::new(),
            app_classes: Default::default(),
            app_class_names: Default::default(),
            children: HashMap::new(),
            options: HashMap::new(),
            callers: HashMap::new(),
            command_line_options: false,
            root: files
                .first()
                .map(|f| scan_root(&f.path, &f.rel))
                .unwrap_or_default(),
            data_files: Default::default(),
            env_defaults: HashMap::new(),
            init_calls: HashMap::new(),
            bindings: crate::bindings::ScopeBindings::of(files),
            mro_cache: Vec::new(),
        };
        p.collect_classes();
        p.mro_cache = (0..p.classes.len()).map(|_| Default::default()).collect();
        p.app_classes = p
            .subclasses_of(APPLICATION)
            .into_iter()
            .map(|c| c.qualified.clone())
            .collect();
        p.app_class_names = p
            .subclasses_of(APPLICATION)
            .into_iter()
            .map(|c| c.def.name.to_string())
            .collect();
        p.index_callers();
        p.env_defaults = crate::environ::setdefaults(&p, &p.scans);
        p.collect_options();
        p.apply_option_writes();
        p
    }

    fn collect_classes(&mut self) {
        let per_file: Vec<Vec<ClassInfo<'a>>> = self
            .scans
            .par_iter()
            .enumerate()
            .map(|(i, scan)| {
                let i = FileId(i);
                scan.classes
                    .iter()
                    .map(|c| ClassInfo {
                        file: i,
                        qualified: format!("{}.{}", self.files[i].module, c.name.as_str()),
                        bases: c
                            .arguments
                            .as_ref()
                            .map(|a| a.args.iter().filter_map(|b| self.qualify(i, b)).collect())
                            .unwrap_or_default(),
                        def: c,
                    })
                    .collect()
            })
            .collect();
        self.classes = per_file.into_iter().flatten().collect();
        for (i, c) in self.classes.iter().enumerate() {
            for b in &c.bases {
                self.children.entry(b.clone()).or_default().push(i);
            }
            self.class_index
                .entry(c.qualified.clone())
                .or_insert(ClassId(i));
            self.by_def.insert(c.def as *const _ as usize, ClassId(i));
        }
    }

    /// Calls of the functions and methods the repository defines, by name.
    fn index_callers(&mut self) {
        let mut defined: HashSet<&str> = HashSet::new();
        for top in &self.top_level {
            for (name, def) in top {
                if matches!(def, TopDef::Function(_)) {
                    defined.insert(name.as_str());
                }
            }
        }
        for c in &self.classes {
            // `Class(...)` runs the class's `__init__`.
            defined.insert(c.def.name.as_str());
            for s in &c.def.body {
                if let Stmt::FunctionDef(d) = s {
                    defined.insert(d.name.as_str());
                }
            }
        }
        let mut callers: HashMap<String, Vec<CallRef<'a>>> = HashMap::new();
        for (file, scan) in self.scans.iter().enumerate() {
            for raw in &scan.calls {
                if let Some(name) = last_name(&raw.call.func) {
                    if defined.contains(name) {
                        callers.entry(name.to_string()).or_default().push(CallRef {
                            file: FileId(file),
                            call: raw.call,
                            context: raw.context,
                        });
                    }
                }
            }
        }
        let mut init_calls: HashMap<ClassId, Vec<CallRef<'a>>> = HashMap::new();
        for c in callers.get("__init__").map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(k) = c.context.class.and_then(|k| self.class_of_def(k)) {
                init_calls.entry(k).or_default().push(*c);
            }
        }
        self.init_calls = init_calls;
        self.callers = callers;
    }

    /// Every call of every file, in file order.
    pub(crate) fn each_call(&self, f: &mut dyn FnMut(FileId, &'a ast::ExprCall)) {
        for (i, scan) in self.scans.iter().enumerate() {
            for raw in &scan.calls {
                f(FileId(i), raw.call);
            }
        }
    }

    /// Each file's `<expr>.settings["key"] = value` statements.
    pub(crate) fn settings_writes(
        &self,
        file: FileId,
    ) -> impl Iterator<Item = &'a ast::StmtAssign> + '_ {
        self.scans[file].settings_writes.iter().map(|(a, _)| *a)
    }

    pub(crate) fn callers_of(&self, name: &str) -> &[CallRef<'a>] {
        self.callers.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The class a definition belongs to.
    pub(crate) fn class_of_def(&self, def: &ast::StmtClassDef) -> Option<ClassId> {
        self.by_def.get(&(def as *const _ as usize)).copied()
    }

    pub fn class(&self, i: ClassId) -> &ClassInfo<'a> {
        &self.classes[i]
    }

    pub fn class_index(&self, qualified: &str) -> Option<ClassId> {
        self.class_index.get(qualified).copied()
    }

    /// Classes that derive, directly or through classes of the repository, from `base`.
    /// One breadth-first walk over a parent -> children index: linear in the number of
    /// classes, whatever the depth of the hierarchy.
    pub fn subclasses_of(&self, base: &str) -> Vec<&ClassInfo<'a>> {
        let children = &self.children;
        let mut seen = vec![false; self.classes.len()];
        let mut queue: Vec<&str> = vec![base];
        let mut out = Vec::new();
        while let Some(name) = queue.pop() {
            for &i in children.get(name).map(Vec::as_slice).unwrap_or(&[]) {
                if !seen[i] {
                    seen[i] = true;
                    out.push(i);
                    queue.push(self.classes[i].qualified.as_str());
                }
            }
        }
        out.sort_unstable();
        out.into_iter().map(|i| &self.classes[i]).collect()
    }

    /// The names of the `tornado.options` options the files define.
    pub fn option_names(&self) -> Vec<String> {
        self.options.keys().cloned().collect()
    }

    /// The source text of a node.
    pub fn text(&self, file: FileId, node: &impl Ranged) -> &str {
        text_of(&self.files[file], node)
    }

    /// 1-based line and column of a node.
    pub fn position(&self, file: FileId, node: &impl Ranged) -> (usize, usize) {
        self.files[file].position(node.range().start().to_usize())
    }

    /// The dotted name an expression refers to (`tw.Application` -> `tornado.web.Application`).
    pub fn qualify(&self, file: FileId, e: &Expr) -> Option<String> {
        self.qualify_within(file, e, MAX_NAME_PARTS)
    }

    /// Names longer than any real dotted path are not names: stopping there keeps a chain
    /// like `a()()()...` (every call in it is qualified) linear.
    fn qualify_within(&self, file: FileId, e: &Expr, parts: usize) -> Option<String> {
        let parts = parts.checked_sub(1)?;
        match e {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(q) = self.imports[file].get(id) {
                    return Some(q.to_string());
                }
                let module = &self.files[file].module;
                if self.top_level[file].contains_key(id) {
                    Some(format!("{module}.{id}"))
                } else {
                    Some(id.to_string())
                }
            }
            Expr::Attribute(a) => Some(format!(
                "{}.{}",
                self.qualify_within(file, &a.value, parts)?,
                a.attr.as_str()
            )),
            // `logging.getLogger("x").setLevel` -> `logging.getLogger().setLevel`.
            Expr::Call(c) => Some(format!("{}()", self.qualify_within(file, &c.func, parts)?)),
            _ => None,
        }
    }

    fn is_options_call(&self, file: FileId, func: &Expr, name: &str) -> bool {
        // Most calls end in another name: rule them out before building qualified names.
        last_name(func) == Some(name)
            && self.qualify(file, func).is_some_and(|q| {
                q.strip_suffix(name)
                    .is_some_and(|p| p == "tornado.options." || p == "tornado.options.options.")
            })
    }

    /// `define(name, default=..., group=...)` across the repository, then the module-level
    /// assignments of every config file read with `parse_config_file(...)` (a path literal,
    /// or an option whose value is one).
    fn collect_options(&mut self) {
        let mut config_calls = Vec::new();
        let mut defines = Vec::new();
        for (i, scan) in self.scans.iter().enumerate() {
            let i = FileId(i);
            for raw in &scan.calls {
                let func = &raw.call.func;
                if self.is_options_call(i, func, "define") {
                    defines.push((i, raw.call));
                } else if self.is_options_call(i, func, "parse_command_line") {
                    self.command_line_options = true;
                } else if self.is_options_call(i, func, "parse_config_file") {
                    config_calls.push((i, raw.call, raw.context));
                }
            }
        }
        for (i, call) in defines {
            let Some(name) = call.arguments.args.first().and_then(str_lit) else {
                continue;
            };
            let keyword = |k: &str| call.arguments.find_keyword(k).map(|kw| &kw.value);
            let default = keyword("default").or_else(|| call.arguments.args.get(1));
            let step = self.step(i, call, format!("define(\"{name}\", ...)"));
            let value = match default {
                Some(d) => self.eval(i, d, Scope::default(), usize::MAX, 0).via(step),
                None => Tracked::new(Val::None, step),
            };
            let group = keyword("group").and_then(str_lit);
            self.options.insert(name, OptionDef { value, group });
        }
        for (from, call, context) in config_calls {
            let Some(arg) = call.arguments.args.first() else {
                continue;
            };
            let scope = Scope {
                function: context.function,
                class: context.class,
            };
            let at = call.range().start().to_usize();
            let Val::Str(path) = self.eval(from, arg, scope, at, 0).val else {
                continue;
            };
            let Some(target) = self.resolve_config_path(from, &path) else {
                continue;
            };
            let step = self.step(from, call, "parse_config_file");
            let names: Vec<String> = self.options.keys().cloned().collect();
            for name in names {
                let value = self.module_binding(target, &name, 0);
                if !matches!(value.val, Val::Unknown | Val::Ref(_)) {
                    // The config file's assignment is where the value is set; reading it
                    // with parse_config_file is the next step.
                    let note = format!("read by parse_config_file for options.{name}");
                    let read = Step {
                        note,
                        ..step.clone()
                    };
                    if let Some(o) = self.options.get_mut(&name) {
                        o.value = value.via(read);
                    }
                }
            }
        }
    }

    /// The file a config path names: relative to the calling file, or to the scanned root.
    fn resolve_config_path(&self, from: FileId, path: &str) -> Option<FileId> {
        let base = self.files[from].path.parent().unwrap_or(Path::new("."));
        let wanted = [base.join(path), Path::new(path).to_path_buf()];
        self.files
            .iter()
            .position(|f| {
                wanted.iter().any(|w| {
                    f.path == *w
                        || (w.is_relative() && f.path.ends_with(w.strip_prefix(".").unwrap_or(w)))
                })
            })
            .map(FileId)
    }
}
