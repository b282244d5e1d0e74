//! Import resolution: what each local name of a file refers to (`from .settings import X` in
//! `app.web` is `app.settings.X`), and which file of the repository a module name is.

use crate::engine::FileId;
use std::collections::HashMap;

use ruff_python_ast::Stmt;

use crate::source::PyFile;
use crate::walk::for_each_stmt;

/// A file's import bindings: local name -> dotted name, from imports anywhere in the file
/// (module level, in functions, under `if`/`try`).
#[derive(Debug, Default)]
pub struct Imports {
    names: HashMap<String, String>,
    /// Every module the file imports (`a.b.c` for `import a.b.c`; `x` and `x.y` for
    /// `from x import y`), for following what an entry point reaches.
    modules: Vec<String>,
    /// Modules whose public names `from M import *` binds, in import order.
    star: Vec<String>,
}

impl Imports {
    pub fn of(f: &PyFile) -> Self {
        let is_pkg = f.path.file_name().is_some_and(|n| n == "__init__.py");
        collect(&f.ast.body, &f.module, is_pkg)
    }

    pub fn get(&self, local: &str) -> Option<&str> {
        self.names.get(local).map(String::as_str)
    }

    pub fn modules(&self) -> &[String] {
        &self.modules
    }

    /// The modules imported with `from M import *`, last first (a later import wins).
    pub fn star_modules(&self) -> impl Iterator<Item = &str> {
        self.star.iter().rev().map(String::as_str)
    }
}

/// The package a relative import of `level` dots starts from, in module `module` (a package's
/// `__init__` when `is_package`): `from . import x` in `a.b.c` is `a.b`; in package `a.b` it
/// is `a.b` itself. `None` when the dots go above the top of the tree.
pub fn relative_base(module: &str, is_package: bool, level: u32) -> Option<String> {
    let parts: Vec<&str> = if module.is_empty() {
        Vec::new()
    } else {
        module.split('.').collect()
    };
    let up = (level as usize).saturating_sub(usize::from(is_package));
    let keep = parts.len().checked_sub(up)?;
    Some(parts[..keep].join("."))
}

fn collect(body: &[Stmt], module: &str, is_package: bool) -> Imports {
    let mut imports = Imports::default();
    collect_into(&mut imports, body, module, is_package);
    imports
}

fn collect_into(imports: &mut Imports, body: &[Stmt], module: &str, is_package: bool) {
    for_each_stmt(body, None, &mut |s, _| match s {
        Stmt::FunctionDef(d) => collect_into(imports, &d.body, module, is_package),
        Stmt::ClassDef(c) => collect_into(imports, &c.body, module, is_package),
        Stmt::Import(i) => {
            let map = &mut imports.names;
            for alias in &i.names {
                let full = alias.name.as_str();
                imports.modules.push(full.to_string());
                match &alias.asname {
                    Some(a) => {
                        map.insert(a.as_str().to_string(), full.to_string());
                    }
                    None => {
                        // `import a.b.c` binds `a`.
                        let top = full.split('.').next().unwrap_or(full);
                        map.insert(top.to_string(), top.to_string());
                    }
                }
            }
        }
        Stmt::ImportFrom(i) => {
            let mut base = if i.level > 0 {
                match relative_base(module, is_package, i.level) {
                    Some(b) => b,
                    None => return,
                }
            } else {
                String::new()
            };
            if let Some(m) = &i.module {
                if !base.is_empty() {
                    base.push('.');
                }
                base.push_str(m.as_str());
            }
            let map = &mut imports.names;
            if !base.is_empty() {
                imports.modules.push(base.clone());
            }
            for alias in &i.names {
                if alias.name.as_str() == "*" {
                    if !base.is_empty() {
                        imports.star.push(base.clone());
                    }
                    continue;
                }
                let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                let full = if base.is_empty() {
                    alias.name.as_str().to_string()
                } else {
                    format!("{base}.{}", alias.name.as_str())
                };
                imports.modules.push(full.clone());
                map.insert(local.to_string(), full);
            }
        }
        _ => {}
    });
}

/// Module name -> file. A `src.` prefix (a src layout scanned from above) also answers to the
/// name without it; the first file wins when two have the same name.
pub fn module_index(files: &[PyFile]) -> HashMap<String, FileId> {
    let mut index = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let i = FileId(i);
        index.entry(f.module.clone()).or_insert(i);
        if let Some(rest) = f.module.strip_prefix("src.") {
            index.entry(rest.to_string()).or_insert(i);
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str, module: &str, is_package: bool) -> Imports {
        let m = ruff_python_parser::parse_module(src).unwrap().into_syntax();
        collect(&m.body, module, is_package)
    }

    #[test]
    fn relative_bases() {
        assert_eq!(relative_base("a.b.c", false, 1).as_deref(), Some("a.b"));
        assert_eq!(relative_base("a.b.c", false, 2).as_deref(), Some("a"));
        assert_eq!(relative_base("a.b", true, 1).as_deref(), Some("a.b"));
        assert_eq!(relative_base("a.b", true, 2).as_deref(), Some("a"));
        assert_eq!(relative_base("a", false, 1).as_deref(), Some(""));
        assert_eq!(relative_base("a", false, 3), None);
    }

    #[test]
    fn absolute_relative_and_aliased() {
        let i = imports(
            "import os.path\nimport tornado.web as tw\nfrom . import config\n\
             from .settings import DEBUG as D\nfrom ..views import Base\n\
             def f():\n    from tornado.options import options\n",
            "app.web.main",
            false,
        );
        assert_eq!(i.get("os"), Some("os"));
        assert_eq!(i.get("tw"), Some("tornado.web"));
        assert_eq!(i.get("config"), Some("app.web.config"));
        assert_eq!(i.get("D"), Some("app.web.settings.DEBUG"));
        assert_eq!(i.get("Base"), Some("app.views.Base"));
        assert_eq!(i.get("options"), Some("tornado.options.options"));
        assert_eq!(i.get("path"), None);
    }

    #[test]
    fn package_init_and_too_many_dots() {
        let i = imports(
            "from .handlers import routes\nfrom .... import nothing\n",
            "app",
            true,
        );
        assert_eq!(i.get("routes"), Some("app.handlers.routes"));
        assert_eq!(i.get("nothing"), None);
    }
}
