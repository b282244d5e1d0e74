//! `x or y` / `x and y` as Python computes them: the first operand that decides the result is
//! the result. An environment read with a fallback after `or`
//! (`os.environ.get("SECRET") or "dev-secret"`) stays an environment value whose unset case is
//! the fallback, so rules see the literal production gets when the variable is missing.
//! Likewise a string default of `.get` on a mapping read at run time.

use crate::value::{EnvTest, Step, Tracked, Truth, Val};

/// Folds already evaluated operands of one boolean operation, right to left (iterative, so a
/// long chain of operands costs no stack).
pub(crate) fn fold(operands: Vec<Tracked>, is_or: bool, condition: &str, step: Step) -> Tracked {
    let mut iter = operands.into_iter().rev();
    let Some(mut acc) = iter.next() else {
        return Tracked::unknown();
    };
    for left in iter {
        acc = pair(left, acc, is_or, condition, step.clone());
    }
    acc
}

/// `left or right` (or `left and right`).
fn pair(left: Tracked, right: Tracked, is_or: bool, condition: &str, step: Step) -> Tracked {
    match (left.truth(), is_or) {
        (Truth::True, true) | (Truth::False, false) => left,
        (Truth::False, true) | (Truth::True, false) => right,
        (Truth::Env { when_unset, .. }, true) => match left.val {
            Val::Env {
                var, unset, test, ..
            } => {
                let fallback = right.val.clone();
                Tracked::new(
                    Val::Env {
                        var,
                        // Unset: the default when it is truthy, else what follows `or`.
                        unset: Box::new(if when_unset {
                            *unset
                        } else {
                            right.via(step.clone())
                        }),
                        condition: condition.to_string(),
                        test: EnvTest::Or {
                            inner: Box::new(test),
                            fallback: Box::new(fallback),
                        },
                    },
                    step,
                )
            }
            _ => undecided(condition, step),
        },
        _ => undecided(condition, step),
    }
}

/// Decided by a truth the analysis does not know: only its dependence is kept.
fn undecided(condition: &str, step: Step) -> Tracked {
    Tracked::new(
        Val::Cond {
            condition: condition.to_string(),
            then: Box::new(Tracked::new(Val::Bool(true), step.clone())),
            orelse: Box::new(Tracked::new(Val::Bool(false), step.clone())),
        },
        step,
    )
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
