//! Binding a call's arguments to a function's parameters exactly as Python does:
//! positional arguments fill positional parameters in order (after `self`/`cls` when the call
//! binds them), keywords fill parameters by name, `*args` takes the extra positional
//! arguments and `**kwargs` the extra keywords; `*x`/`**x` at the call are expanded when their
//! value is known. A parameter that an argument of unknown contents may fill is unknown, never
//! guessed from a neighbour.

use ruff_python_ast::{self as ast, Expr};

use crate::value::{Tracked, Val};

/// One argument of a call: an expression to evaluate where the call is, or a value already
/// taken out of a `*x`/`**x` the analysis could follow.
#[derive(Clone)]
pub(crate) enum Arg<'a> {
    Expr(&'a Expr),
    Value(Tracked),
}

/// A call's arguments, with `*x`/`**x` expanded where they could be.
#[derive(Clone, Default)]
pub(crate) struct CallArgs<'a> {
    pub positional: Vec<Arg<'a>>,
    /// A `*x` of unknown length: no positional argument from it on has a known position.
    pub more_positional: bool,
    pub keywords: Vec<(String, Arg<'a>)>,
    /// A `**x` of unknown keys: any keyword may be among them.
    pub more_keywords: bool,
}

impl CallArgs<'_> {
    /// Drops the first `n` positional arguments (the callee of `functools.partial(f, ...)`,
    /// the `self` of `Base.__init__(self, ...)` when the signature has no `self`).
    pub fn skip(&mut self, n: usize) {
        let n = n.min(self.positional.len());
        self.positional.drain(..n);
    }
}

/// What a call passes for one parameter.
pub(crate) enum Passed<'a> {
    Arg(Arg<'a>),
    /// Nothing: the parameter's default applies.
    Default(Option<&'a Expr>),
    /// `*args`: the positional arguments left over.
    Rest(Vec<Arg<'a>>),
    /// `**kwargs`: the keywords left over, and whether a `**x` may add more.
    Keywords(Vec<(String, Arg<'a>)>, bool),
    /// An argument of unknown contents may fill it.
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    PositionalOnly,
    Either,
    KeywordOnly,
}

/// The parameters of a function as a call sees them.
pub(crate) struct Signature<'a> {
    params: Vec<(&'a str, Kind, Option<&'a Expr>)>,
    vararg: Option<&'a str>,
    kwarg: Option<&'a str>,
}

impl<'a> Signature<'a> {
    /// `def`'s parameters; `bound` drops the first positional one (`self`/`cls` that the call
    /// supplies itself: `obj.method(...)`, `Class(...)`, `super().__init__(...)`).
    pub fn of(parameters: &'a ast::Parameters, bound: bool) -> Self {
        let mut params: Vec<(&'a str, Kind, Option<&'a Expr>)> = Vec::new();
        let mut push = |list: &'a [ast::ParameterWithDefault], kind| {
            for p in list {
                params.push((p.parameter.name.as_str(), kind, p.default.as_deref()));
            }
        };
        push(&parameters.posonlyargs, Kind::PositionalOnly);
        push(&parameters.args, Kind::Either);
        push(&parameters.kwonlyargs, Kind::KeywordOnly);
        if bound && params.first().is_some_and(|p| p.1 != Kind::KeywordOnly) {
            params.remove(0);
        }
        Self {
            params,
            vararg: parameters.vararg.as_deref().map(|p| p.name.as_str()),
            kwarg: parameters.kwarg.as_deref().map(|p| p.name.as_str()),
        }
    }

    /// `tornado.web.Application.__init__(self, handlers=None, default_host=None,
    /// transforms=None, **settings)`, without `self`.
    pub fn application() -> Self {
        Self {
            params: ["handlers", "default_host", "transforms"]
                .into_iter()
                .map(|n| (n, Kind::Either, None))
                .collect(),
            vararg: None,
            kwarg: Some("settings"),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.0 == name)
            || self.vararg == Some(name)
            || self.kwarg == Some(name)
    }

    /// What `args` passes for the parameter `name` (`None`: no such parameter).
    pub fn bind(&self, args: &CallArgs<'a>, name: &str) -> Option<Passed<'a>> {
        let keyword = |n: &str| {
            args.keywords
                .iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, a)| a.clone())
        };
        let positional: Vec<_> = self
            .params
            .iter()
            .filter(|p| p.1 != Kind::KeywordOnly)
            .collect();
        if let Some((_, kind, default)) = self.params.iter().find(|p| p.0 == name) {
            if *kind != Kind::PositionalOnly {
                if let Some(a) = keyword(name) {
                    return Some(Passed::Arg(a));
                }
            }
            if let Some(i) = positional.iter().position(|p| p.0 == name) {
                if let Some(a) = args.positional.get(i) {
                    return Some(Passed::Arg(a.clone()));
                }
                if args.more_positional {
                    return Some(Passed::Unknown);
                }
            }
            if *kind != Kind::PositionalOnly && args.more_keywords {
                return Some(Passed::Unknown);
            }
            return Some(Passed::Default(*default));
        }
        if self.vararg == Some(name) {
            if args.more_positional {
                return Some(Passed::Unknown);
            }
            let rest = args.positional.iter().skip(positional.len()).cloned();
            return Some(Passed::Rest(rest.collect()));
        }
        if self.kwarg == Some(name) {
            let named = |k: &str| {
                self.params
                    .iter()
                    .any(|p| p.0 == k && p.1 != Kind::PositionalOnly)
            };
            let mut rest: Vec<(String, Arg<'a>)> = Vec::new();
            for (k, a) in &args.keywords {
                if named(k) {
                    continue;
                }
                // A later keyword of the same name (from a `**x`) wins, as in a dict.
                rest.retain(|(old, _)| old != k);
                rest.push((k.clone(), a.clone()));
            }
            return Some(Passed::Keywords(rest, args.more_keywords));
        }
        None
    }
}

/// One value from the values several callers pass for a parameter: the same value when they
/// agree, dicts joined key by key (a key one caller leaves out is not set there), otherwise
/// a value that depends on which caller runs.
pub(crate) fn join(mut values: Vec<Tracked>, condition: &str) -> Tracked {
    if values.len() <= 1 {
        return values.pop().unwrap_or_else(Tracked::unknown);
    }
    if values.iter().all(|v| matches!(v.val, Val::Dict(_))) {
        type Items = Vec<(String, Tracked)>;
        let dicts: Vec<(Items, Vec<crate::value::Step>)> = values
            .into_iter()
            .map(|v| match v.val {
                Val::Dict(items) => (items, v.chain),
                _ => (Vec::new(), v.chain),
            })
            .collect();
        let mut keys: Vec<String> = Vec::new();
        for (items, _) in &dicts {
            for (k, _) in items {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
        }
        let items = keys
            .into_iter()
            .map(|k| {
                let per_caller = dicts
                    .iter()
                    .map(|(items, _)| {
                        let open = items.iter().any(|(key, _)| key == crate::eval::OPEN);
                        match items.iter().find(|(key, _)| *key == k) {
                            Some((_, v)) => v.clone(),
                            None if open => Tracked::unknown(),
                            None => Tracked::bare(Val::None),
                        }
                    })
                    .collect();
                let v = join(per_caller, condition);
                (k, v)
            })
            .collect();
        let chain = dicts.into_iter().next().map(|d| d.1).unwrap_or_default();
        return Tracked {
            val: Val::Dict(items),
            chain,
        };
    }
    let first = values[0].truth();
    if values.iter().all(|v| v.truth() == first) {
        return values.swap_remove(0);
    }
    let then = values
        .iter()
        .find(|v| v.truth() == crate::value::Truth::True)
        .cloned();
    let orelse = values
        .iter()
        .find(|v| v.truth() != crate::value::Truth::True)
        .cloned();
    Tracked::bare(Val::Cond {
        condition: condition.to_string(),
        then: Box::new(then.unwrap_or_else(Tracked::unknown)),
        orelse: Box::new(orelse.unwrap_or_else(Tracked::unknown)),
    })
}
