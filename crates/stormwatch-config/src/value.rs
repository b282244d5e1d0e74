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
    /// Decided by an environment variable: `unset` is the value when the variable is not set,
    /// `condition` the source text that reads it.
    Env {
        var: String,
        unset: Box<Tracked>,
        condition: String,
    },
    /// Decided by a condition the analysis cannot evaluate.
    Cond {
        condition: String,
        then: Box<Tracked>,
        orelse: Box<Tracked>,
    },
    Unknown,
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

    pub fn unknown() -> Self {
        Self {
            val: Val::Unknown,
            chain: Vec::new(),
        }
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
            Val::Env {
                var,
                unset,
                condition,
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
            Val::Unknown => Truth::Unknown,
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
