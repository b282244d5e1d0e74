//! A module-level settings dict passed as `Application(**settings)` and filled in by key
//! from a setup function (`settings["debug"] = options.debug` in `extract_settings()`):
//! Python mutates the one dict object, so the keys written reach the application. Only the
//! debug family is taken (what decides debug mode); a write under a condition the analysis
//! cannot decide leaves the setting depending on it.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::engine::{FileId, Project};
use crate::eval::Scope;
use crate::rules::DEBUG_FAMILY;
use crate::value::{Tracked, Val};
use crate::walk::str_lit;

/// Whether `f` binds `name` itself (a parameter or an assignment in its body): then its
/// `name[...] = v` writes a local dict, not the module's.
fn binds_locally(f: &ast::StmtFunctionDef, name: &str) -> bool {
    f.parameters.iter().any(|p| p.name().as_str() == name)
        || f.body.iter().any(|s| match s {
            Stmt::Assign(a) => a
                .targets
                .iter()
                .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)),
            Stmt::AnnAssign(a) => matches!(&*a.target, Expr::Name(n) if n.id.as_str() == name),
            _ => false,
        })
}

impl<'a> Project<'a> {
    /// The debug-family keys written into the module dicts `call` unpacks with `**`.
    pub(crate) fn keyed_writes_into(
        &self,
        file: FileId,
        call: &'a ast::ExprCall,
    ) -> Vec<(String, Tracked)> {
        let mut out = Vec::new();
        for kw in call.arguments.keywords.iter().filter(|k| k.arg.is_none()) {
            if !matches!(kw.value, Expr::Name(_)) {
                continue;
            }
            let Some(dict) = self.qualify(file, &kw.value) else {
                continue;
            };
            for (i, scan) in self.scans.iter().enumerate() {
                let f = FileId(i);
                if crate::rules::is_test_file(&self.files[f].rel) {
                    continue;
                }
                for (assign, ctx) in &scan.keyed_writes {
                    let Some(func) = ctx.function else { continue };
                    for t in &assign.targets {
                        let Expr::Subscript(s) = t else { continue };
                        let Expr::Name(n) = &*s.value else { continue };
                        let Some(key) = str_lit(&s.slice) else {
                            continue;
                        };
                        let Some((_, bad)) = DEBUG_FAMILY.iter().find(|(k, _)| *k == key) else {
                            continue;
                        };
                        if binds_locally(func, n.id.as_str())
                            || self.qualify(f, &s.value).as_deref() != Some(dict.as_str())
                        {
                            continue;
                        }
                        let scope = Scope {
                            function: ctx.function,
                            class: ctx.class,
                        };
                        let at = assign.range().start().to_usize();
                        let step = self.step(
                            f,
                            *assign,
                            format!("{}[\"{key}\"] = ... in {}()", n.id, func.name),
                        );
                        let v = self.eval(f, &assign.value, scope, at, 0).via(step);
                        let v = match ctx.condition {
                            None => v,
                            Some(cond) => Tracked {
                                chain: v.chain.clone(),
                                val: Val::Cond {
                                    condition: cond.text(&self.files[f]),
                                    then: Box::new(v),
                                    // Tornado's default when the key is not written.
                                    orelse: Box::new(Tracked::bare(Val::Bool(!bad))),
                                },
                            },
                        };
                        out.push((key, v));
                    }
                }
            }
        }
        out
    }
}
