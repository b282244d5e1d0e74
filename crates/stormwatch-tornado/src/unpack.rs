//! Unpacking assignments (`a, b = v`, `first, *rest = v`, nested targets) and integer
//! subscripts: which part of a list or tuple value a name takes.

use ruff_python_ast::{self as ast, Expr};

use crate::value::{Tracked, Val};
use crate::walk::is_name;

/// The values of a list or tuple display.
fn elements(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::List(l) => Some(&l.elts),
        Expr::Tuple(t) => Some(&t.elts),
        _ => None,
    }
}

/// Where a name sits in an unpacking target: the position of each level, from the front,
/// from the back (after a starred name), or the starred name itself.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    Front(usize),
    Back(usize),
    Star { before: usize, after: usize },
}

/// The slots that lead to `name` in an unpacking target (`a, (b, *c) = ...`).
pub(crate) fn unpack_path(target: &Expr, name: &str) -> Option<Vec<Slot>> {
    let elts = elements(target)?;
    let star = elts.iter().position(|e| e.is_starred_expr());
    let n = elts.len();
    elts.iter().enumerate().find_map(|(i, e)| {
        let slot = match star {
            Some(s) if i == s => Slot::Star {
                before: s,
                after: n - s - 1,
            },
            Some(s) if i > s => Slot::Back(n - 1 - i),
            _ => Slot::Front(i),
        };
        let inner = match e {
            Expr::Starred(s) => &*s.value,
            other => other,
        };
        if is_name(inner, name) {
            return Some(vec![slot]);
        }
        let mut rest = unpack_path(inner, name)?;
        rest.insert(0, slot);
        Some(rest)
    })
}

/// The part of an unpacked value that `path` names; unknown unless the value is a list or
/// tuple of the length the target takes.
pub(crate) fn unpack(v: Tracked, path: &[Slot]) -> Tracked {
    let Some((slot, rest)) = path.split_first() else {
        return v;
    };
    let chain = v.chain;
    let Val::List(items) = v.val else {
        return Tracked::unknown();
    };
    let n = items.len();
    let part = match *slot {
        Slot::Front(i) => items.into_iter().nth(i),
        Slot::Back(j) => n.checked_sub(j + 1).and_then(|i| items.into_iter().nth(i)),
        Slot::Star { before, after } if before + after <= n => Some(Tracked {
            val: Val::List(items[before..n - after].to_vec()),
            chain,
        }),
        Slot::Star { .. } => None,
    };
    match part {
        Some(p) => unpack(p, rest),
        None => Tracked::unknown(),
    }
}

/// An integer literal, negative ones included (`-1`).
pub(crate) fn int_lit(e: &Expr) -> Option<i64> {
    match e {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64(),
            _ => None,
        },
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => int_lit(&u.operand).map(|i| -i),
        _ => None,
    }
}
