//! Statically evaluated Python values, each carrying the chain of places it came from.

use std::path::PathBuf;

/// One place a value passed through: where it was written, read, or combined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub note: String,
}

/// What the analysis knows about a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Bool(bool),
    Str(String),
    Int(i64),
    None,
    /// A dict with statically known string keys.
    Dict(Vec<(String, Tracked)>),
    /// A list or tuple (a route table, a route).
    List(Vec<Tracked>),
    /// A class or function by its dotted name, or an instance of a repository class
    /// (`pkg.Config()`): not a plain value, but what a route or an attribute refers to.
    Ref(String),
    /// An instance of a repository class whose constructor sets its fields (a dataclass, an
    /// attrs class, a pydantic model): the fields given by keyword, and whether the call
    /// passed others the analysis cannot name (positional or `**kwargs`).
    Object {
        class: String,
        fields: Vec<(String, Tracked)>,
        complete: bool,
    },
    /// Decided by an environment variable: `unset` is the value when the variable is not set,
    /// `condition` the source text that reads it.
    Env {
        var: String,
        unset: Box<Tracked>,
        condition: String,
        /// How the code turns the variable's text into this value, so that a value set by a
        /// deployment file can be judged exactly.
        test: EnvTest,
    },
    /// Decided by a condition the analysis cannot evaluate.
    Cond {
        condition: String,
        then: Box<Tracked>,
        orelse: Box<Tracked>,
    },
    Unknown,
    /// A value the analysis stopped following, with the reason (reported, never guessed).
    Opaque(String),
}

/// How application code derives a value from an environment variable's text.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvTest {
    /// The text itself (`os.environ.get("X", default)`).
    Raw,
    /// A string method (`.lower()`, `.upper()`, `.strip()`) or a conversion (`int`,
    /// `strtobool`, `literal_eval`, `json.loads`) applied to it; see [`convert`].
    Map(String, Box<EnvTest>),
    /// `==`/`in` against literals (`negate` for `!=`/`not in`).
    Cmp {
        negate: bool,
        values: Vec<Val>,
        inner: Box<EnvTest>,
    },
    /// `not ...`
    Not(Box<EnvTest>),
    /// `<test> or other` (`or`), `<test> and other`: the variable's value when its truth
    /// decides, else `other`.
    Fallback {
        inner: Box<EnvTest>,
        other: Box<Val>,
        or: bool,
    },
    /// `a if <test> else b`
    Select {
        inner: Box<EnvTest>,
        then: Box<Val>,
        orelse: Box<Val>,
    },
}

impl EnvTest {
    /// The value the code computes when the variable is set to `text`.
    pub fn apply(&self, text: &str) -> Val {
        match self {
            EnvTest::Raw => Val::Str(text.to_string()),
            EnvTest::Map(method, inner) => convert(method, &inner.apply(text)),
            EnvTest::Cmp {
                negate,
                values,
                inner,
            } => {
                let v = inner.apply(text);
                let hit = values.iter().any(|x| literal_eq(&v, x) == Some(true));
                Val::Bool(hit != *negate)
            }
            EnvTest::Not(inner) => match plain_truth(&inner.apply(text)) {
                Some(b) => Val::Bool(!b),
                None => Val::Unknown,
            },
            EnvTest::Fallback { inner, other, or } => {
                let v = inner.apply(text);
                match plain_truth(&v) {
                    Some(b) if b == *or => v,
                    Some(_) => (**other).clone(),
                    None => Val::Unknown,
                }
            }
            EnvTest::Select {
                inner,
                then,
                orelse,
            } => match plain_truth(&inner.apply(text)) {
                Some(true) => (**then).clone(),
                Some(false) => (**orelse).clone(),
                None => Val::Unknown,
            },
        }
    }
}

/// What a string method or conversion makes of a plain value, as Python computes it
/// (`Unknown` where Python would raise).
pub fn convert(method: &str, v: &Val) -> Val {
    match (method, v) {
        ("lower" | "casefold", Val::Str(s)) => Val::Str(s.to_lowercase()),
        ("upper", Val::Str(s)) => Val::Str(s.to_uppercase()),
        ("strip", Val::Str(s)) => Val::Str(s.trim().to_string()),
        ("int", Val::Str(s)) => s.trim().parse().map_or(Val::Unknown, Val::Int),
        ("int", Val::Int(i)) => Val::Int(*i),
        ("int", Val::Bool(b)) => Val::Int(i64::from(*b)),
        // `distutils.util.strtobool` returns 1 or 0.
        ("strtobool", Val::Str(s)) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "on" | "1" => Val::Int(1),
            "n" | "no" | "f" | "false" | "off" | "0" => Val::Int(0),
            _ => Val::Unknown,
        },
        ("literal_eval" | "json", Val::Str(s)) => {
            let t = s.trim();
            let python = method == "literal_eval";
            match t {
                "True" if python => Val::Bool(true),
                "False" if python => Val::Bool(false),
                "None" if python => Val::None,
                "true" if !python => Val::Bool(true),
                "false" if !python => Val::Bool(false),
                "null" if !python => Val::None,
                _ => {
                    let quoted = |q: char| t.len() >= 2 && t.starts_with(q) && t.ends_with(q);
                    if let Ok(i) = t.parse() {
                        Val::Int(i)
                    } else if quoted('"') || (python && quoted('\'')) {
                        Val::Str(t[1..t.len() - 1].to_string())
                    } else {
                        Val::Unknown
                    }
                }
            }
        }
        _ => Val::Unknown,
    }
}

/// Truthiness of a plain value (`None` for values that are not plain).
pub fn plain_truth(v: &Val) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        Val::Str(s) => Some(!s.is_empty()),
        Val::Int(i) => Some(*i != 0),
        Val::None => Some(false),
        Val::Dict(d) => Some(!d.is_empty()),
        Val::List(l) if l.iter().all(crate::routes::is_spliced) && !l.is_empty() => None,
        Val::List(l) => Some(!l.is_empty()),
        _ => None,
    }
}

/// Python `==` between plain values, when it can be decided.
pub fn literal_eq(a: &Val, b: &Val) -> Option<bool> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Some(x == y),
        (Val::Bool(x), Val::Bool(y)) => Some(x == y),
        (Val::Int(x), Val::Int(y)) => Some(x == y),
        (Val::None, Val::None) => Some(true),
        (Val::None, Val::Str(_) | Val::Bool(_) | Val::Int(_)) => Some(false),
        (Val::Str(_), Val::Bool(_) | Val::Int(_) | Val::None) => Some(false),
        // A class, function, module or instance is never None.
        (Val::Ref(_) | Val::Object { .. }, Val::None) => Some(false),
        (Val::None, Val::Ref(_) | Val::Object { .. }) => Some(false),
        _ => None,
    }
}

/// A value and its provenance, oldest step first.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub val: Val,
    pub chain: Vec<Step>,
}

impl Tracked {
    pub fn new(val: Val, step: Step) -> Self {
        Self {
            val,
            chain: vec![step],
        }
    }

    /// A value with no place recorded yet (the caller adds the step that reaches it).
    pub fn bare(val: Val) -> Self {
        Self {
            val,
            chain: Vec::new(),
        }
    }

    pub fn unknown() -> Self {
        Self::bare(Val::Unknown)
    }

    /// The same value, having also passed through `step`.
    pub fn via(mut self, step: Step) -> Self {
        if self.chain.last() != Some(&step) {
            self.chain.push(step);
        }
        self
    }

    /// Python truthiness as the application would see it.
    pub fn truth(&self) -> Truth {
        match &self.val {
            Val::Bool(b) => Truth::from(*b),
            Val::Str(s) => Truth::from(!s.is_empty()),
            Val::Int(i) => Truth::from(*i != 0),
            Val::None => Truth::False,
            Val::Dict(d) => Truth::from(!d.is_empty()),
            // Elements spliced in from unknown lists may be none at all.
            Val::List(l) if l.iter().all(crate::routes::is_spliced) && !l.is_empty() => {
                Truth::Unknown
            }
            Val::List(l) => Truth::from(!l.is_empty()),
            Val::Ref(_) | Val::Object { .. } => Truth::Unknown,
            Val::Env {
                var,
                unset,
                condition,
                ..
            } => match unset.truth() {
                Truth::True => Truth::Env {
                    var: var.clone(),
                    when_unset: true,
                    condition: condition.clone(),
                },
                Truth::False => Truth::Env {
                    var: var.clone(),
                    when_unset: false,
                    condition: condition.clone(),
                },
                other => other,
            },
            Val::Cond {
                condition,
                then,
                orelse,
            } => match (then.truth(), orelse.truth()) {
                (Truth::True, Truth::True) => Truth::True,
                (Truth::False, Truth::False) => Truth::False,
                _ => Truth::Depends(condition.clone()),
            },
            Val::Unknown | Val::Opaque(_) => Truth::Unknown,
        }
    }
}

/// Truthiness, including the cases that depend on the environment at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    /// Decided by an environment variable; `when_unset` is the result if it is not set.
    Env {
        var: String,
        when_unset: bool,
        condition: String,
    },
    /// Decided by a condition in the code.
    Depends(String),
    Unknown,
}

impl From<bool> for Truth {
    fn from(b: bool) -> Self {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
}
