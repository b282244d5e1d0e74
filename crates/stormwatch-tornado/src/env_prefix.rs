//! `tornado.options` filled from the environment by a prefix: a loop over `os.environ` that
//! sets options by a computed name (`setattr(options, name, value)`,
//! `options.__setattr__(name, value)`). Each option `NAME` then takes the value of
//! `$PREFIX_NAME` when the deployment sets it. The prefix is read from the loop's
//! `startswith(P)` / `replace(P, "")` (or those of the `filter` function it iterates);
//! when it cannot be read, the options' values are opaque with the reason, never guessed.

use std::collections::HashSet;

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextRange};

use crate::engine::{FileId, Project, TopDef};
use crate::eval::Scope;
use crate::value::{EnvTest, Tracked, Val};
use crate::walk::str_lit;

const OPTIONS: &str = "tornado.options.options";

/// One loop that sets options from the environment by a computed name.
struct PrefixLoop {
    file: FileId,
    /// The write, for the trace.
    step: crate::value::Step,
    prefix: Option<String>,
}

/// The `for` statement innermost around byte offset `at`: one descent along the statements
/// that contain it (bounded by the parser's nesting limit).
fn enclosing_for(body: &[Stmt], at: usize) -> Option<&ast::StmtFor> {
    let mut found = None;
    let mut stmts = body;
    'down: loop {
        for s in stmts {
            let r = s.range();
            if r.start().to_usize() > at || r.end().to_usize() <= at {
                continue;
            }
            if let Stmt::For(f) = s {
                found = Some(f);
            }
            for child in children(s) {
                let covers = child.first().zip(child.last()).is_some_and(|(a, b)| {
                    a.range().start().to_usize() <= at && at < b.range().end().to_usize()
                });
                if covers {
                    stmts = child;
                    continue 'down;
                }
            }
            break 'down;
        }
        break;
    }
    found
}

/// The statement lists nested in `s`.
fn children(s: &Stmt) -> Vec<&[Stmt]> {
    match s {
        Stmt::For(f) => vec![&f.body, &f.orelse],
        Stmt::While(w) => vec![&w.body, &w.orelse],
        Stmt::If(i) => {
            let mut v: Vec<&[Stmt]> = vec![&i.body];
            v.extend(i.elif_else_clauses.iter().map(|c| c.body.as_slice()));
            v
        }
        Stmt::With(w) => vec![&w.body],
        Stmt::Try(t) => {
            let mut v: Vec<&[Stmt]> = vec![&t.body, &t.orelse, &t.finalbody];
            v.extend(t.handlers.iter().map(|h| match h {
                ast::ExceptHandler::ExceptHandler(h) => h.body.as_slice(),
            }));
            v
        }
        Stmt::FunctionDef(f) => vec![&f.body],
        Stmt::ClassDef(c) => vec![&c.body],
        Stmt::Match(m) => m.cases.iter().map(|c| c.body.as_slice()).collect(),
        _ => Vec::new(),
    }
}

fn within(inner: TextRange, outer: TextRange) -> bool {
    outer.start() <= inner.start() && inner.end() <= outer.end()
}

impl<'a> Project<'a> {
    /// `setattr(options, <computed>, v)` or `options.__setattr__(<computed>, v)`.
    fn dynamic_option_write(&self, file: FileId, call: &ast::ExprCall) -> bool {
        let args = &call.arguments.args;
        let (target, name) = match &*call.func {
            Expr::Name(n) if n.id.as_str() == "setattr" && args.len() == 3 => (&args[0], &args[1]),
            Expr::Attribute(a) if a.attr.as_str() == "__setattr__" && args.len() == 2 => {
                (&*a.value, &args[0])
            }
            _ => return false,
        };
        str_lit(name).is_none() && self.qualify(file, target).as_deref() == Some(OPTIONS)
    }

    /// The expression a loop iterates, or what a local name it iterates was assigned
    /// (`env = filter(f, os.environ)` before `for k in env:`) in the same body.
    fn loop_source(&self, body: &'a [Stmt], l: &'a ast::StmtFor) -> &'a Expr {
        let Expr::Name(n) = &*l.iter else {
            return &l.iter;
        };
        body.iter()
            .filter(|s| s.range().end() <= l.range().start())
            .filter_map(|s| match s {
                Stmt::Assign(a) => Some(a),
                _ => None,
            })
            .filter(|a| matches!(a.targets.as_slice(), [Expr::Name(t)] if t.id == n.id))
            .map(|a| &*a.value)
            .next_back()
            .unwrap_or(&l.iter)
    }

    /// The prefix of the variables a loop takes: `startswith(P)` or `replace(P, "")` in the
    /// loop, or in the function a `filter(f, os.environ)` source applies.
    fn loop_prefix(&self, file: FileId, l: &ast::StmtFor, source: &Expr) -> Option<String> {
        let mut ranges = vec![l.range()];
        if let Expr::Call(c) = source {
            if matches!(&*c.func, Expr::Name(f) if f.id.as_str() == "filter") {
                if let Some(Expr::Name(f)) = c.arguments.args.first() {
                    if let Some(TopDef::Function(d)) = self.top_level[file.0].get(f.id.as_str()) {
                        ranges.push(d.range());
                    }
                }
            }
        }
        for raw in &self.scans[file.0].calls {
            if !ranges.iter().any(|r| within(raw.call.range(), *r)) {
                continue;
            }
            let Expr::Attribute(a) = &*raw.call.func else {
                continue;
            };
            let args = &raw.call.arguments.args;
            let candidate = match a.attr.as_str() {
                "startswith" if args.len() == 1 => &args[0],
                "replace" if args.len() >= 2 && str_lit(&args[1]).as_deref() == Some("") => {
                    &args[0]
                }
                _ => continue,
            };
            let scope = Scope {
                function: raw.context.function,
                class: raw.context.class,
            };
            let at = raw.call.range().start().to_usize();
            if let Val::Str(p) = self.eval(file, candidate, scope, at, 0).val {
                if !p.is_empty() {
                    return Some(p);
                }
            }
        }
        None
    }

    fn prefix_loops(&self) -> Vec<PrefixLoop> {
        let mut out = Vec::new();
        for (i, scan) in self.scans.iter().enumerate() {
            let file = FileId(i);
            if crate::rules::is_test_file(&self.files[file].rel) {
                continue;
            }
            // `setattr(options, name, v)`, `options.__setattr__(name, v)`, `options[name] = v`.
            let calls = scan
                .calls
                .iter()
                .filter(|raw| self.dynamic_option_write(file, raw.call))
                .map(|raw| (raw.call.range(), raw.context));
            let items = scan
                .option_item_writes
                .iter()
                .filter(|(a, _)| {
                    a.targets.iter().any(|t| {
                        matches!(t, Expr::Subscript(s)
                            if self.qualify(file, &s.value).as_deref() == Some(OPTIONS))
                    })
                })
                .map(|(a, ctx)| (a.range(), *ctx));
            for (range, context) in calls.chain(items) {
                let body: &'a [Stmt] = match context.function {
                    Some(f) => &f.body,
                    None => &self.files[file].ast.body,
                };
                let Some(l) = enclosing_for(body, range.start().to_usize()) else {
                    continue;
                };
                let source = self.loop_source(body, l);
                let text = &self.files[file].text[source.range()];
                if !text.contains("environ") {
                    continue;
                }
                let prefix = self.loop_prefix(file, l, source);
                let note = match &prefix {
                    Some(p) => format!("options set from each ${p}* environment variable"),
                    None => "options filled from environment variables by prefix".to_string(),
                };
                out.push(PrefixLoop {
                    file,
                    step: self.step(file, &range, note),
                    prefix,
                });
            }
        }
        out
    }

    /// An option becomes `$PREFIX_NAME` when set, its previous value when not (bool options
    /// read the text as `strtobool` does, which is what such loops must do for Tornado to
    /// accept the value). Only the debug family and the options whose variable a deployment
    /// file sets are rewritten: making every option depend on the environment would leave
    /// each `if options.x:` undecided and hide what the code does by default.
    pub(crate) fn apply_env_prefix_writes(&mut self, deployed: &HashSet<&str>) {
        let loops = self.prefix_loops();
        for l in loops {
            let step = l.step.clone();
            for (name, def) in self.options.iter_mut() {
                let watched = crate::rules::DEBUG_FAMILY.iter().any(|(k, _)| k == name);
                let var = l
                    .prefix
                    .as_ref()
                    .map(|p| format!("{p}{}", name.replace('-', "_").to_uppercase()));
                if !watched && var.as_deref().is_none_or(|v| !deployed.contains(v)) {
                    continue;
                }
                let prev = def.value.clone();
                def.value = match (&l.prefix, var) {
                    (Some(_), Some(var)) => {
                        let test = if matches!(prev.val, Val::Bool(_)) {
                            EnvTest::Map("strtobool".into(), Box::new(EnvTest::Raw))
                        } else {
                            EnvTest::Raw
                        };
                        let mut chain = prev.chain.clone();
                        chain.push(step.clone());
                        Tracked {
                            val: Val::Env {
                                condition: format!("options.{name} = os.environ[\"{var}\"]"),
                                var,
                                unset: Box::new(prev),
                                test,
                            },
                            chain,
                        }
                    }
                    _ => Tracked {
                        val: Val::Opaque(format!(
                            "filled from environment variables by a prefix the analysis could not read ({}:{})",
                            self.files[l.file].rel.display(),
                            step.line
                        )),
                        chain: vec![step.clone()],
                    },
                };
            }
        }
    }
}
