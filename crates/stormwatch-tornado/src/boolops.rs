//! `x or y` / `x and y` as Python evaluates them: the first operand that decides, else the
//! last. An operand read from the environment decides only when the variable is set to
//! something truthy (`or`) or falsy (`and`); otherwise the rest of the expression is the
//! value: `os.environ.get("DEBUG") or True` is True when DEBUG is unset.

use ruff_python_ast::{self as ast, Expr};

use crate::engine::{FileId, Project};
use crate::eval::Scope;
use crate::value::{plain_truth, EnvTest, Step, Tracked, Truth, Val};
use crate::walk::{short, text_of};

impl<'a> Project<'a> {
    pub(crate) fn eval_boolop(
        &self,
        file: FileId,
        e: &'a Expr,
        b: &'a ast::ExprBoolOp,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let text = short(text_of(f, e));
        let here = |note: &str| self.step(file, e, note.to_string());
        let undecided = || {
            Tracked::new(
                Val::Cond {
                    condition: text.clone(),
                    then: Box::new(Tracked::new(Val::Bool(true), here("True"))),
                    orelse: Box::new(Tracked::new(Val::Bool(false), here("False"))),
                },
                here(&text),
            )
        };
        let is_or = matches!(b.op, ast::BoolOp::Or);
        let n = b.values.len();
        // Operands read from the environment, before the one that gives the value when
        // none of them decides.
        let mut envs: Vec<Tracked> = Vec::new();
        let mut result = Tracked::unknown();
        for (i, v) in b.values.iter().enumerate() {
            let t = self.eval(file, v, scope, at, depth + 1);
            let last = i + 1 == n;
            match t.truth() {
                Truth::True if is_or => {
                    result = t;
                    break;
                }
                Truth::False if !is_or => {
                    result = t;
                    break;
                }
                Truth::True | Truth::False if !last => {}
                Truth::Env { .. } if !last && matches!(t.val, Val::Env { .. }) => envs.push(t),
                Truth::True | Truth::False | Truth::Env { .. } if last => result = t,
                _ => return undecided(),
            }
        }
        for env in envs.into_iter().rev() {
            match fallback(env, result, is_or, &text) {
                Some(v) => result = v.via(here(&text)),
                None => return undecided(),
            }
        }
        result
    }
}

/// `env or rest` (`env and rest`): the variable's value when it decides, else `rest`, which
/// must be a plain value for the environment's effect to stay exact.
fn fallback(env: Tracked, rest: Tracked, is_or: bool, text: &str) -> Option<Tracked> {
    plain_truth(&rest.val)?;
    let Val::Env {
        var, unset, test, ..
    } = env.val
    else {
        return None;
    };
    let unset_truthy = plain_truth(&unset.val)?;
    let from_rest = unset_truthy != is_or;
    // When the rest gives the value the variable has unset, the trace starts at it.
    let chain = if from_rest {
        rest.chain.iter().chain(&env.chain).cloned().collect()
    } else {
        env.chain
    };
    let unset = if from_rest { rest.clone() } else { *unset };
    Some(Tracked {
        val: Val::Env {
            var,
            unset: Box::new(unset),
            condition: text.to_string(),
            test: EnvTest::Fallback {
                inner: Box::new(test),
                other: Box::new(rest.val),
                or: is_or,
            },
        },
        chain,
    })
}

/// `mapping.get(key, default)` on a mapping whose contents are unknown: a string default
/// stays visible as the value taken when the mapping lacks the key. Other defaults (flags,
/// numbers) stay unknown, as before: only a literal string is worth reporting (a secret).
pub(crate) fn mapping_default(mapping: &str, key: &str, default: Tracked, step: Step) -> Tracked {
    match &default.val {
        Val::Str(s) if !s.is_empty() => Tracked::new(
            Val::Cond {
                condition: format!("{mapping} has no \"{key}\""),
                then: Box::new(default.via(step.clone())),
                orelse: Box::new(Tracked::unknown()),
            },
            step,
        ),
        _ => Tracked::unknown(),
    }
}
