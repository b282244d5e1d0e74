//! `os.environ.setdefault("X", v)`: it sets the variable when the environment does not, so a
//! later read of `X` (`os.environ.get("X")`, `os.getenv`, `os.environ["X"]`) has `v` as its
//! value unless the deployment sets `X`. Calls from tests do not change what production
//! reads.

use std::collections::HashMap;

use ruff_text_size::Ranged;

use crate::engine::{last_name, CallRef, FileId, Project};
use crate::eval::Scope;
use crate::value::{Tracked, Val};
use crate::walk::{str_lit, FileScan};

/// The `os.environ.setdefault` calls of the non-test files, by variable.
pub(crate) fn setdefaults<'a>(
    project: &Project<'a>,
    scans: &[FileScan<'a>],
) -> HashMap<String, Vec<CallRef<'a>>> {
    let mut out: HashMap<String, Vec<CallRef<'a>>> = HashMap::new();
    for (i, scan) in scans.iter().enumerate() {
        let file = FileId(i);
        if crate::rules::is_test_file(&project.files[file].rel) {
            continue;
        }
        for raw in &scan.calls {
            if last_name(&raw.call.func) != Some("setdefault")
                || project.qualify(file, &raw.call.func).as_deref() != Some("os.environ.setdefault")
            {
                continue;
            }
            if let Some(var) = raw.call.arguments.args.first().and_then(str_lit) {
                out.entry(var).or_default().push(CallRef {
                    file,
                    call: raw.call,
                    context: raw.context,
                });
            }
        }
    }
    out
}

impl<'a> Project<'a> {
    /// A read of `$var` (`condition` is its source text) at `here`; when a setdefault gives
    /// the value it has unset, the trace starts there.
    pub(crate) fn env_read(
        &self,
        var: String,
        own: Tracked,
        condition: String,
        here: crate::value::Step,
        depth: usize,
    ) -> Tracked {
        let unset = self.env_unset(&var, own.clone(), depth);
        let chain = if unset == own {
            vec![here]
        } else {
            let mut c = unset.chain.clone();
            c.push(here);
            c
        };
        Tracked {
            val: Val::Env {
                var,
                unset: Box::new(unset),
                condition,
                test: crate::value::EnvTest::Raw,
            },
            chain,
        }
    }

    /// The value of `$var` when the deployment does not set it: what an
    /// `os.environ.setdefault` gives it (under its condition, if any), else `own` (the read's
    /// default).
    fn env_unset(&self, var: &str, own: Tracked, depth: usize) -> Tracked {
        let Some(calls) = self.env_defaults.get(var) else {
            return own;
        };
        // An unconditional one decides; otherwise the first conditional one.
        let Some(c) = calls
            .iter()
            .find(|c| c.context.condition.is_none())
            .or_else(|| calls.first())
        else {
            return own;
        };
        let Some(value) = c.call.arguments.args.get(1) else {
            return own;
        };
        let scope = Scope {
            function: c.context.function,
            class: c.context.class,
        };
        let at = c.call.range().start().to_usize();
        let step = self.step(
            c.file,
            c.call,
            format!("os.environ.setdefault(\"{var}\", ...) sets it when the environment does not"),
        );
        let set = self.eval(c.file, value, scope, at, depth + 1).via(step);
        match c.context.condition {
            None => set,
            Some(cond) => Tracked {
                chain: set.chain.clone(),
                val: Val::Cond {
                    condition: cond.text(&self.files[c.file]),
                    then: Box::new(set),
                    orelse: Box::new(own),
                },
            },
        }
    }
}
