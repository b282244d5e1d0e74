//! `tornado.options` set in code (`options.debug = True`, `options.logging = "debug"`): the
//! value the code assigns replaces the option's default. An assignment under an `if` whose
//! test the analysis decides applies, or not, accordingly; under any other condition the
//! option depends on it.

use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

use crate::engine::{FileId, OptionDef, Project};
use crate::eval::Scope;
use crate::value::{Tracked, Truth, Val};
use crate::walk::Condition;

/// Options Tornado defines itself, with their defaults, for assignments to them.
fn builtin(name: &str) -> Tracked {
    match name {
        "logging" => Tracked::bare(Val::Str("info".into())),
        _ => Tracked::unknown(),
    }
}

impl Project<'_> {
    pub(crate) fn apply_option_writes(&mut self) {
        let mut writes = Vec::new();
        for (i, scan) in self.scans.iter().enumerate() {
            let file = FileId(i);
            for (assign, ctx) in &scan.option_writes {
                for t in &assign.targets {
                    let Expr::Attribute(x) = t else { continue };
                    if self.qualify(file, &x.value).as_deref() == Some("tornado.options.options") {
                        writes.push((file, x.attr.to_string(), *assign, *ctx));
                    }
                }
            }
        }
        // Unconditional assignments first: the conditions of the others may read them.
        for conditional in [false, true] {
            let mut updates = Vec::new();
            for (file, name, assign, ctx) in &writes {
                if ctx.condition.is_some() != conditional {
                    continue;
                }
                let scope = Scope {
                    function: ctx.function,
                    class: ctx.class,
                };
                let at = assign.range().start().to_usize();
                let step = self.step(*file, *assign, format!("options.{name} = ... in code"));
                let v = self.eval(*file, &assign.value, scope, at, 0).via(step);
                let Some(cond) = ctx.condition else {
                    updates.push((name.clone(), v));
                    continue;
                };
                let (test, negated) = match cond {
                    Condition::If(t) => (Some(t), false),
                    Condition::Else(t) => (Some(t), true),
                    _ => (None, false),
                };
                let runs = test.map(|t| self.eval(*file, t, scope, at, 0).truth());
                match (runs, negated) {
                    (Some(Truth::False), false) | (Some(Truth::True), true) => {}
                    (Some(Truth::True), false) | (Some(Truth::False), true) => {
                        updates.push((name.clone(), v))
                    }
                    _ => {
                        let prev = self
                            .options
                            .get(name)
                            .map_or_else(|| builtin(name), |o| o.value.clone());
                        let chain = v.chain.clone();
                        let val = Val::Cond {
                            condition: cond.text(&self.files[*file]),
                            then: Box::new(v),
                            orelse: Box::new(prev),
                        };
                        updates.push((name.clone(), Tracked { val, chain }));
                    }
                }
            }
            for (name, value) in updates {
                self.options
                    .entry(name)
                    .or_insert_with(|| OptionDef {
                        value: Tracked::unknown(),
                        group: None,
                    })
                    .value = value;
            }
        }
    }
}
