//! Classes as Python resolves them: base names followed through re-exports to the class that
//! defines them, the method resolution order by C3 linearisation, and attribute lookup along
//! it, where a class-body alias (`post = get`, `put = BaseHandler.post`) binds the same
//! function as the name it copies.

use std::collections::HashMap;

use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::engine::{ClassId, Project, TopDef};

/// The most classes a resolution order holds, and the most re-exports or aliases followed
/// for one name: far beyond real hierarchies, a bound on hostile ones.
const MAX_MRO: usize = 64;
const MAX_HOPS: usize = 8;

/// What a class body binds a name to, last binding first wins as in Python.
enum Binding<'a> {
    Function(ClassId, &'a ast::StmtFunctionDef),
    /// Bound to something else (`post = None`, `post = wrap(get)`): it shadows the bases, and
    /// is not a function the analysis can read.
    Other,
}

impl<'a> Project<'a> {
    /// The repository class a dotted name refers to, following `from .x import Name`
    /// re-exports of packages (`pkg.BaseHandler` defined in `pkg/base.py`).
    pub(crate) fn class_by_name(&self, qualified: &str) -> Option<ClassId> {
        let mut name = qualified.to_string();
        for _ in 0..MAX_HOPS {
            if let Some(&c) = self.class_index.get(name.as_str()) {
                return Some(c);
            }
            let (module, attr) = name.rsplit_once('.')?;
            let &file = self.index.get(module)?;
            name = self.imports[file].get(attr)?.to_string();
        }
        None
    }

    /// The repository classes a class derives from directly, in the order written.
    fn bases_of(&self, class: ClassId) -> Vec<ClassId> {
        self.classes[class]
            .bases
            .iter()
            .filter_map(|b| self.class_by_name(b))
            .filter(|&b| b != class)
            .collect()
    }

    /// The class and its repository bases in Python's method resolution order (C3); bases
    /// outside the repository are left out. When the hierarchy has no C3 order (Python
    /// would refuse to create the class) or is cyclic, depth-first order, each class once.
    pub fn mro(&self, class: ClassId) -> Vec<ClassId> {
        let compute = || {
            let mut memo: HashMap<ClassId, Option<Vec<ClassId>>> = HashMap::new();
            self.c3(class, &mut memo, 0)
                .unwrap_or_else(|| self.depth_first(class))
        };
        match self.mro_cache.get(class.0) {
            Some(cell) => cell.get_or_init(compute).clone(),
            None => compute(),
        }
    }

    fn c3(
        &self,
        class: ClassId,
        memo: &mut HashMap<ClassId, Option<Vec<ClassId>>>,
        depth: usize,
    ) -> Option<Vec<ClassId>> {
        if let Some(known) = memo.get(&class) {
            // `None` here is also a class still being linearised: a cycle.
            return known.clone();
        }
        if depth > MAX_MRO || memo.len() > MAX_MRO * 4 {
            return None;
        }
        memo.insert(class, None);
        let bases = self.bases_of(class);
        let mut seqs: Vec<Vec<ClassId>> = Vec::with_capacity(bases.len() + 1);
        for &b in &bases {
            seqs.push(self.c3(b, memo, depth + 1)?);
        }
        seqs.push(bases);
        let mut out = vec![class];
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                break;
            }
            if out.len() > MAX_MRO {
                return None;
            }
            // The first head that is in no other sequence's tail.
            let head = seqs
                .iter()
                .map(|s| s[0])
                .find(|h| !seqs.iter().any(|s| s[1..].contains(h)))?;
            out.push(head);
            for s in &mut seqs {
                if s[0] == head {
                    s.remove(0);
                }
            }
        }
        memo.insert(class, Some(out.clone()));
        Some(out)
    }

    fn depth_first(&self, class: ClassId) -> Vec<ClassId> {
        let mut out = Vec::new();
        let mut stack = vec![class];
        while let Some(c) = stack.pop() {
            if out.contains(&c) {
                continue;
            }
            out.push(c);
            if out.len() >= MAX_MRO {
                break;
            }
            stack.extend(self.bases_of(c).into_iter().rev());
        }
        out
    }

    /// A method by name, as `instance.name` finds it: the first class of the resolution
    /// order whose body binds the name. An alias in a class body (`post = get`) is the
    /// function it names; a binding the analysis cannot read hides the bases' methods.
    pub fn method_in_mro(
        &self,
        class: ClassId,
        name: &str,
    ) -> Option<(ClassId, &'a ast::StmtFunctionDef)> {
        self.method_hops(class, name, 0)
    }

    fn method_hops(
        &self,
        class: ClassId,
        name: &str,
        hops: usize,
    ) -> Option<(ClassId, &'a ast::StmtFunctionDef)> {
        if hops > MAX_HOPS {
            return None;
        }
        for c in self.mro(class) {
            let body = &self.classes[c].def.body;
            match self.bound_in_body(c, body, body.len(), name, hops)? {
                Some(Binding::Function(owner, def)) => return Some((owner, def)),
                Some(Binding::Other) => return None,
                None => continue,
            }
        }
        None
    }

    /// The last binding of `name` among the first `end` statements of a class body: `None`
    /// when the body does not bind it; the outer `None` when following it went too far.
    fn bound_in_body(
        &self,
        class: ClassId,
        body: &'a [Stmt],
        end: usize,
        name: &str,
        hops: usize,
    ) -> Option<Option<Binding<'a>>> {
        if hops > MAX_HOPS {
            return None;
        }
        for (i, stmt) in body[..end].iter().enumerate().rev() {
            let value = match stmt {
                Stmt::FunctionDef(f) if f.name.as_str() == name => {
                    return Some(Some(Binding::Function(class, f)));
                }
                Stmt::Assign(a) if a.targets.iter().any(|t| is_name(t, name)) => &*a.value,
                Stmt::AnnAssign(a) if is_name(&a.target, name) => match &a.value {
                    Some(v) => &**v,
                    None => continue,
                },
                Stmt::ClassDef(c) if c.name.as_str() == name => return Some(Some(Binding::Other)),
                _ => continue,
            };
            return Some(Some(self.alias_target(class, body, i, value, hops + 1)?));
        }
        Some(None)
    }

    /// The function a class-body assignment binds: an earlier name of the same body (`post =
    /// get`), a function of the module, or a method of a class (`post = Base.get`).
    fn alias_target(
        &self,
        class: ClassId,
        body: &'a [Stmt],
        at: usize,
        value: &Expr,
        hops: usize,
    ) -> Option<Binding<'a>> {
        match value {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(found) = self.bound_in_body(class, body, at, id, hops)? {
                    return Some(found);
                }
                // Class bodies see module globals, not the bases' attributes.
                let file = self.classes[class].file;
                Some(match self.top_level[file].get(id) {
                    Some(TopDef::Function(f)) => Binding::Function(class, f),
                    _ => Binding::Other,
                })
            }
            Expr::Attribute(a) => {
                let file = self.classes[class].file;
                let owner = self
                    .qualify(file, &a.value)
                    .and_then(|q| self.class_by_name(&q));
                Some(
                    match owner.and_then(|o| self.method_hops(o, a.attr.as_str(), hops)) {
                        Some((c, def)) => Binding::Function(c, def),
                        None => Binding::Other,
                    },
                )
            }
            _ => Some(Binding::Other),
        }
    }

    /// Whether a class derives from `base` (a dotted name) through repository classes.
    pub fn derives_from(&self, class: ClassId, base: &str) -> bool {
        self.mro(class)
            .into_iter()
            .any(|c| self.classes[c].bases.iter().any(|b| b == base))
    }
}

fn is_name(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Name(n) if n.id.as_str() == name)
}
