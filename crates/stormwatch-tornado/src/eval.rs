//! The value evaluator: what an expression of the repository holds, as far as it can be
//! known without running it, with every step it came through.
//!
//! Followed: literals, dicts and lists (with `**`/`dict(...)`/`.copy()`/`.update()`/
//! `setdefault`/`|=`/`d[k] = v`, `+`, `.append`/`.extend`), names in function, class and
//! module scope and across imports, function parameters (through the repository's calls of
//! the function, or its default), what functions and methods return, instance attributes set
//! in methods (`self.settings`), class attributes through repository base classes,
//! `tornado.options` values, `os.environ`/`os.getenv`, `bool`/`int`/`str` conversions,
//! comparisons, `not`, `and`/`or` and conditional expressions.

use crate::bindings::Event;
use crate::data_files::DataFormat;
use crate::engine::{ClassId, FileId};
use std::path::Path;

use ruff_python_ast::{self as ast, CmpOp, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::engine::Project;
use crate::unpack::{int_lit, unpack, unpack_path};
use crate::value::{convert, literal_eq, EnvTest, Step, Tracked, Truth, Val};
use crate::walk::{for_each_stmt, is_name, short, str_lit, text_of, Condition};

/// How many names, calls and imports one value may be followed through. Deeper chains are
/// not guessed: the value is unknown, and the reason says so.
pub const MAX_DEPTH: usize = 24;

/// Most expressions one top-level evaluation may visit. Following parameters through their
/// callers branches; code written to make that explode (functions calling each other many
/// times over) ends here, reported, instead of running for minutes.
const MAX_STEPS: usize = 10_000;

thread_local! {
    /// Expressions visited by the current top-level evaluation on this thread.
    static STEPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one step of the current evaluation (`depth` 0 starts a new one); false when the
/// budget is spent.
fn within_budget(depth: usize) -> bool {
    STEPS.with(|s| {
        let n = if depth == 0 { 1 } else { s.get() + 1 };
        s.set(n);
        n <= MAX_STEPS
    })
}

/// Starts a new evaluation budget on this thread (for a site whose parts are evaluated at a
/// depth above 0).
pub(crate) fn reset_budget() {
    within_budget(0);
}

/// How a step that declares or reads a command-line flag begins (`command-line flag --debug`).
pub(crate) const FLAG_NOTE: &str = "command-line flag ";

/// A key of [`Val::Dict`] that stands for "and possibly more keys": the dict took in a value
/// that could not be followed (`**unknown`, `.update(unknown)`).
pub const OPEN: &str = "**";

/// How a class's instances get their fields (see [`Project::field_class`]).
pub(crate) enum FieldClass {
    /// From the constructor's keywords, else the class defaults.
    Fields,
    /// A pydantic settings model: the environment variable `PREFIX` + field name, else the
    /// constructor's keyword, else the default.
    Settings { prefix: String },
}

/// Where an expression is evaluated: the function and class around it.
#[derive(Clone, Copy, Default)]
pub struct Scope<'a> {
    pub function: Option<&'a ast::StmtFunctionDef>,
    pub class: Option<&'a ast::StmtClassDef>,
}

/// The items of a dict nothing is known about.
fn open_items() -> Vec<(String, Tracked)> {
    let mut items = Vec::new();
    open_dict(&mut items);
    items
}

/// A dict's items, `OPEN` marking that it may hold more.
fn open_dict(items: &mut Vec<(String, Tracked)>) {
    if !items.iter().any(|(k, _)| k == OPEN) {
        items.push((OPEN.to_string(), Tracked::unknown()));
    }
}

/// Later keys win, as in Python.
pub(crate) fn merge(items: &mut Vec<(String, Tracked)>, new: Vec<(String, Tracked)>) {
    for (k, v) in new {
        match items.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => items.push((k, v)),
        }
    }
}

/// Takes a value into a dict: its items when it is one, otherwise the dict becomes open.
fn absorb(items: &mut Vec<(String, Tracked)>, v: Tracked) {
    match v.val {
        Val::Dict(inner) => merge(items, inner),
        Val::None => {}
        _ => open_dict(items),
    }
}

/// A value that applies only when `cond` holds; otherwise the previous value (or "not set").
fn conditional(v: Tracked, cond: Option<&str>, prev: Option<Tracked>) -> Tracked {
    let Some(cond) = cond else { return v };
    let chain = v.chain.clone();
    Tracked {
        val: Val::Cond {
            condition: cond.to_string(),
            then: Box::new(v),
            orelse: Box::new(prev.unwrap_or(Tracked::bare(Val::None))),
        },
        chain,
    }
}

fn negate(inner: Tracked, step: Step) -> Tracked {
    let env_test = match &inner.val {
        Val::Env { test, .. } => Some(test.clone()),
        _ => None,
    };
    match inner.truth() {
        Truth::True => Tracked::new(Val::Bool(false), step),
        Truth::False => Tracked::new(Val::Bool(true), step),
        Truth::Env {
            var,
            when_unset,
            condition,
        } => Tracked::new(
            Val::Env {
                var,
                unset: Box::new(Tracked::new(Val::Bool(!when_unset), step.clone())),
                condition: format!("not ({condition})"),
                test: EnvTest::Not(Box::new(env_test.unwrap_or(EnvTest::Raw))),
            },
            step,
        ),
        _ => Tracked::unknown(),
    }
}

/// A string method or conversion applied to a value; an environment variable stays one, with
/// the conversion recorded so that a deployment's value can be judged exactly.
fn map_str(t: Tracked, method: &str) -> Tracked {
    match t.val {
        Val::Env {
            var,
            unset,
            condition,
            test,
        } => {
            let unset = map_str(*unset, method);
            Tracked {
                val: Val::Env {
                    var,
                    unset: Box::new(unset),
                    condition,
                    test: EnvTest::Map(method.to_string(), Box::new(test)),
                },
                chain: t.chain,
            }
        }
        ref v => match convert(method, v) {
            Val::Unknown => Tracked::unknown(),
            val => Tracked {
                val,
                chain: t.chain,
            },
        },
    }
}

/// What a value is when following it went deeper than [`MAX_DEPTH`].
fn too_deep() -> Tracked {
    Tracked::bare(Val::Opaque(format!(
        "followed through more than {MAX_DEPTH} names, calls and imports; not followed further"
    )))
}

/// The values of a list, tuple or set display.
fn elements(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::List(l) => Some(&l.elts),
        Expr::Tuple(t) => Some(&t.elts),
        Expr::Set(s) => Some(&s.elts),
        _ => None,
    }
}

fn is_self(e: &Expr) -> bool {
    is_name(e, "self")
}

impl<'a> Project<'a> {
    pub(crate) fn step(&self, file: FileId, node: &impl Ranged, note: impl Into<String>) -> Step {
        let f = &self.files[file];
        let (line, column) = f.position(node.range().start().to_usize());
        Step {
            file: f.path.clone(),
            line,
            column,
            note: note.into(),
        }
    }

    /// Evaluates `e` as seen at byte offset `at` of `file`, in `scope`.
    pub fn eval(
        &self,
        file: FileId,
        e: &'a Expr,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        if depth > MAX_DEPTH {
            return too_deep();
        }
        if !within_budget(depth) {
            return Tracked::bare(Val::Opaque(format!(
                "more than {MAX_STEPS} expressions away; not followed further"
            )));
        }
        let f = &self.files[file];
        let here = |note: &str| self.step(file, e, note.to_string());
        let sub = |x: &'a Expr| self.eval(file, x, scope, at, depth + 1);
        match e {
            Expr::BooleanLiteral(b) => {
                Tracked::new(Val::Bool(b.value), here(&short(text_of(f, e))))
            }
            Expr::StringLiteral(s) => Tracked::new(
                Val::Str(s.value.to_str().to_string()),
                here(&short(text_of(f, e))),
            ),
            Expr::NumberLiteral(n) => match &n.value {
                ast::Number::Int(i) => Tracked::new(
                    i.as_i64().map_or(Val::Unknown, Val::Int),
                    here(&short(text_of(f, e))),
                ),
                _ => Tracked::unknown(),
            },
            Expr::NoneLiteral(_) => Tracked::new(Val::None, here("None")),
            Expr::Dict(d) => {
                let mut items = Vec::new();
                for item in &d.items {
                    match &item.key {
                        Some(k) => match str_lit(k) {
                            Some(key) => merge(&mut items, vec![(key, sub(&item.value))]),
                            None => open_dict(&mut items),
                        },
                        None => absorb(&mut items, sub(&item.value)),
                    }
                }
                Tracked::new(Val::Dict(items), here("dict"))
            }
            Expr::List(_) | Expr::Tuple(_) => {
                let items = elements(e).unwrap_or_default();
                let mut out = Vec::with_capacity(items.len());
                for x in items {
                    if let Expr::Starred(s) = x {
                        match sub(&s.value).val {
                            Val::List(inner) => out.extend(inner),
                            // Zero or more elements nobody can name: kept as such.
                            _ => out.push(self.spliced_from(file, x)),
                        }
                    } else {
                        out.push(sub(x));
                    }
                }
                Tracked::new(Val::List(out), here("list"))
            }
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add | ast::Operator::BitOr) => {
                let (l, r) = (sub(&b.left), sub(&b.right));
                match (l.val, r.val) {
                    (Val::Dict(mut a), Val::Dict(b2)) if matches!(b.op, ast::Operator::BitOr) => {
                        merge(&mut a, b2);
                        Tracked::new(Val::Dict(a), here(&short(text_of(f, e))))
                    }
                    (l, r) if matches!(b.op, ast::Operator::Add) => self
                        .list_sum(file, b, l, r)
                        .map_or_else(Tracked::unknown, |a| {
                            Tracked::new(Val::List(a), here(&short(text_of(f, e))))
                        }),
                    _ => Tracked::unknown(),
                }
            }
            Expr::Name(n) if n.id.as_str() == "__file__" => Tracked::new(
                Val::Str(f.path.to_string_lossy().into_owned()),
                here("__file__"),
            ),
            Expr::Name(n) => self.lookup(file, n.id.as_str(), scope, at, depth + 1),
            Expr::Attribute(a) => self.eval_attribute(file, e, a, scope, at, depth),
            Expr::Subscript(s) => {
                // `SETTINGS["debug"]`, `os.environ["DEBUG"]`, `args[0]`.
                let Some(key) = str_lit(&s.slice) else {
                    return match (int_lit(&s.slice), sub(&s.value).val) {
                        (Some(i), Val::List(items)) => {
                            let at = if i < 0 {
                                items.len().checked_sub(i.unsigned_abs() as usize)
                            } else {
                                usize::try_from(i).ok()
                            };
                            at.and_then(|i| items.into_iter().nth(i))
                                .map(|v| v.via(here(&short(text_of(f, e)))))
                                .unwrap_or_else(Tracked::unknown)
                        }
                        _ => Tracked::unknown(),
                    };
                };
                if self.qualify(file, &s.value).as_deref() == Some("os.environ") {
                    let text = short(text_of(f, e));
                    let step = here(&text);
                    return self.env_read(key, Tracked::unknown(), text, step, depth);
                }
                key_of(sub(&s.value), &key, &here(&short(text_of(f, e))), 0)
            }
            Expr::Call(call) => self.eval_call(file, e, call, scope, at, depth),
            Expr::Compare(c) => self.eval_compare(file, e, c, scope, at, depth),
            Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
                negate(sub(&u.operand), here(&short(text_of(f, e))))
            }
            Expr::If(i) => {
                let test = sub(&i.test);
                let body = sub(&i.body);
                let orelse = sub(&i.orelse);
                let step = here(&short(text_of(f, e)));
                let env_test = match &test.val {
                    Val::Env { test: t, .. } => Some(t.clone()),
                    _ => None,
                };
                match test.truth() {
                    Truth::True => body.via(step),
                    Truth::False => orelse.via(step),
                    Truth::Env {
                        var,
                        when_unset,
                        condition,
                    } => Tracked::new(
                        Val::Env {
                            var,
                            test: EnvTest::Select {
                                inner: Box::new(env_test.unwrap_or(EnvTest::Raw)),
                                then: Box::new(body.val.clone()),
                                orelse: Box::new(orelse.val.clone()),
                            },
                            unset: Box::new(if when_unset { body } else { orelse }),
                            condition,
                        },
                        step,
                    ),
                    _ => Tracked::new(
                        Val::Cond {
                            condition: short(text_of(f, &*i.test)),
                            then: Box::new(body),
                            orelse: Box::new(orelse),
                        },
                        step,
                    ),
                }
            }
            Expr::BoolOp(b) => self.eval_boolop(file, e, b, scope, at, depth),
            _ => Tracked::unknown(),
        }
    }

    fn eval_attribute(
        &self,
        file: FileId,
        e: &'a Expr,
        a: &'a ast::ExprAttribute,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let here = || self.step(file, e, short(text_of(f, e)));
        let attr = a.attr.as_str();
        // `self.settings`, `cls.DEBUG`: set in a method of the class or a repository base.
        if (is_self(&a.value) || is_name(&a.value, "cls")) && scope.class.is_some() {
            let class = scope.class.and_then(|c| self.class_of_def(c));
            return match class.and_then(|c| self.instance_attribute(c, attr, depth + 1)) {
                Some(v) => v.via(here()),
                None => Tracked::unknown(),
            };
        }
        let option = |name: &str| match self.options.get(name) {
            Some(o) => o
                .value
                .clone()
                .via(self.step(file, e, format!("options.{name}"))),
            None => Tracked::unknown(),
        };
        let qual = self.qualify(file, &a.value);
        if qual.as_deref() == Some("tornado.options.options") {
            return option(attr);
        }
        if let Some(q) = &qual {
            // `module.NAME` for a module of this repository.
            if let Some(&target) = self.index.get(q.as_str()) {
                return self.module_binding(target, attr, depth + 1).via(here());
            }
            // `Config.DEBUG` for a class of this repository.
            if let Some(c) = self.class_index.get(q.as_str()) {
                if let Some(v) = self.instance_attribute(*c, attr, depth + 1) {
                    return v.via(here());
                }
            }
        }
        // An attribute of a value the analysis holds: `options` under another name, an
        // instance of a repository class.
        let base = self.eval(file, &a.value, scope, at, depth + 1);
        if let Val::Object {
            class,
            fields,
            complete,
        } = base.val
        {
            if let Some((_, v)) = fields.iter().find(|(k, _)| k == attr) {
                return v.clone().via(here());
            }
            let c = self.class_index.get(class.as_str()).copied();
            return match c.and_then(|c| self.object_field(c, fields, complete, attr, depth)) {
                Some(v) => v.via(here()),
                None => Tracked::unknown(),
            };
        }
        if let Val::Ref(q) = base.val {
            // `options` passed around as a parameter (`get_app_settings(options)`).
            if q == "tornado.options.options" {
                return option(attr);
            }
            if let Some(c) = self.class_index.get(q.as_str()) {
                if let Some(v) = self.instance_attribute(*c, attr, depth + 1) {
                    return v.via(here());
                }
            }
        }
        // Something outside the repository (`tornado.web.RedirectHandler`): known by name.
        match qual {
            Some(q) => Tracked::bare(Val::Ref(format!("{q}.{attr}"))),
            None => Tracked::unknown(),
        }
    }

    fn eval_call(
        &self,
        file: FileId,
        e: &'a Expr,
        call: &'a ast::ExprCall,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let here = self.step(file, e, short(text_of(f, e)));
        let sub = |x: &'a Expr| self.eval(file, x, scope, at, depth + 1);
        let qual = self.qualify(file, &call.func).unwrap_or_default();
        let args = &call.arguments;
        match qual.as_str() {
            "os.environ.get" | "os.getenv" => {
                let Some(var) = args.args.first().and_then(str_lit) else {
                    return Tracked::unknown();
                };
                let unset = match args.args.get(1) {
                    Some(d) => sub(d),
                    None => Tracked::new(Val::None, here.clone()),
                };
                return self.env_read(var, unset, short(text_of(f, e)), here, depth);
            }
            "dict" => {
                let mut items = Vec::new();
                if let Some(first) = args.args.first() {
                    absorb(&mut items, sub(first));
                }
                for kw in args.keywords.iter() {
                    let v = sub(&kw.value);
                    match &kw.arg {
                        Some(k) => merge(&mut items, vec![(k.as_str().to_string(), v)]),
                        None => absorb(&mut items, v),
                    }
                }
                return Tracked::new(Val::Dict(items), here);
            }
            "bool" => {
                if let Some(a) = args.args.first() {
                    let v = sub(a);
                    let known = match v.truth() {
                        Truth::True => Some(true),
                        Truth::False => Some(false),
                        _ => None,
                    };
                    return match known {
                        Some(b) => Tracked {
                            val: Val::Bool(b),
                            chain: v.chain,
                        }
                        .via(here),
                        None => v.via(here),
                    };
                }
            }
            "int" | "distutils.util.strtobool" | "ast.literal_eval" | "json.loads" => {
                if let Some(a) = args.args.first() {
                    let method = match qual.as_str() {
                        "int" => "int",
                        "distutils.util.strtobool" => "strtobool",
                        "ast.literal_eval" => "literal_eval",
                        _ => "json",
                    };
                    return map_str(sub(a), method).via(here);
                }
            }
            // A copy of a sequence holds its elements.
            "list" | "tuple" if args.args.len() == 1 && args.keywords.is_empty() => {
                let v = sub(&args.args[0]);
                if matches!(v.val, Val::List(_)) {
                    return v.via(here);
                }
            }
            "tornado.web.url"
            | "tornado.web.URLSpec"
            | "tornado.routing.URLSpec"
            | "tornado.routing.Rule" => {
                // A route: read like the tuple it stands for.
                let items = args.args.iter().map(sub).collect();
                return Tracked::new(Val::List(items), here);
            }
            "os.path.dirname" | "os.path.abspath" | "os.path.realpath" | "os.path.normpath" => {
                if let Some(Val::Str(p)) = args.args.first().map(|a| sub(a).val) {
                    let path = if qual == "os.path.dirname" {
                        Path::new(&p)
                            .parent()
                            .map_or_else(String::new, |d| d.to_string_lossy().into_owned())
                    } else {
                        p
                    };
                    return Tracked::new(Val::Str(path), here);
                }
            }
            "os.path.join" => {
                let mut joined = std::path::PathBuf::new();
                for a in args.args.iter() {
                    match sub(a).val {
                        Val::Str(part) => joined.push(part),
                        _ => return Tracked::unknown(),
                    }
                }
                return Tracked::new(Val::Str(joined.to_string_lossy().into_owned()), here);
            }
            "json.load" | "yaml.safe_load" | "yaml.load" | "yaml.full_load" => {
                if let Some(v) = args
                    .args
                    .first()
                    .and_then(|a| self.opened_path(file, a, scope, depth))
                    .and_then(|p| self.data_file(file, &p, DataFormat::Structured))
                {
                    return v.via(here);
                }
            }
            "tornado.options.options.group_dict" | "tornado.options.options.as_dict" => {
                let group = args.args.first().and_then(str_lit);
                let items = self
                    .options
                    .iter()
                    .filter(|(_, o)| group.is_none() || o.group == group)
                    .map(|(k, o)| (k.clone(), o.value.clone().via(here.clone())))
                    .collect();
                return Tracked::new(Val::Dict(items), here);
            }
            _ => {}
        }
        if let Expr::Attribute(a) = &*call.func {
            let method = a.attr.as_str();
            // String methods on a value keep environment dependence:
            // `os.getenv("X", "0").lower()`.
            if matches!(method, "lower" | "upper" | "strip" | "casefold") {
                return map_str(sub(&a.value), method).via(here);
            }
            // `config.getboolean("server", "debug")` on a ConfigParser that read a file.
            if matches!(method, "get" | "getboolean" | "getint") && args.args.len() == 2 {
                if let (Expr::Name(parser), Some(section), Some(key)) =
                    (&*a.value, str_lit(&args.args[0]), str_lit(&args.args[1]))
                {
                    if let Some(v) =
                        self.ini_value(file, parser.id.as_str(), &section, &key, scope, depth)
                    {
                        let v = match method {
                            "getboolean" => map_str(v, "strtobool"),
                            "getint" => map_str(v, "int"),
                            _ => v,
                        };
                        return v.via(here);
                    }
                }
            }
            // `config.get("debug", False)` on a dict the analysis holds.
            if method == "get" {
                if let Some(key) = args.args.first().and_then(str_lit) {
                    if let Val::Dict(items) = sub(&a.value).val {
                        if let Some((_, v)) = items.iter().find(|(k, _)| *k == key) {
                            return v.clone().via(here);
                        }
                        if !items.iter().any(|(k, _)| k == OPEN) {
                            return match args.args.get(1) {
                                Some(d) => sub(d).via(here),
                                None => Tracked::new(Val::None, here),
                            };
                        }
                    }
                    // A mapping the analysis does not hold whole (a config file read at run
                    // time): its value, else a literal default that production then uses.
                    if let Some(d) = args.args.get(1) {
                        return crate::boolops::mapping_default(
                            &short(text_of(f, &*a.value)),
                            &key,
                            sub(d),
                            here,
                        );
                    }
                    return Tracked::unknown();
                }
            }
            if method == "parse_args" {
                if let Expr::Name(parser) = &*a.value {
                    let fields = self.argparse_flags(file, parser.id.as_str(), scope, depth);
                    return Tracked::new(
                        Val::Object {
                            class: "argparse.Namespace".into(),
                            fields,
                            complete: false,
                        },
                        here,
                    );
                }
            }
            if method == "copy" && args.args.is_empty() {
                let v = sub(&a.value);
                if matches!(v.val, Val::Dict(_) | Val::List(_)) {
                    return v.via(here);
                }
            }
        }
        // A function or method of the repository: what it returns.
        if let Some((def, class, def_file)) = self.callee(file, &call.func, scope) {
            let inner = Scope {
                function: Some(def),
                class,
            };
            let returned = self.returns(def_file, def, inner, depth + 1);
            return match returned.val {
                Val::Unknown => Tracked::unknown(),
                _ => returned.via(self.step(file, e, format!("returned by {}()", def.name))),
            };
        }
        // An instance of a repository class.
        if let Some(&c) = self.class_index.get(qual.as_str()) {
            let class = self.classes[c].qualified.clone();
            if self.field_class(c).is_none() {
                return Tracked::new(Val::Ref(class), here);
            }
            let mut fields = Vec::new();
            let mut complete = args.args.is_empty();
            for kw in args.keywords.iter() {
                match &kw.arg {
                    Some(k) => fields.push((k.to_string(), sub(&kw.value))),
                    None => complete = false,
                }
            }
            return Tracked::new(
                Val::Object {
                    class,
                    fields,
                    complete,
                },
                here,
            );
        }
        Tracked::unknown()
    }

    /// The path of a file object: `open(PATH)`, or a name bound by `with open(PATH) as f:` in
    /// the enclosing function (or module).
    fn opened_path(
        &self,
        file: FileId,
        e: &'a Expr,
        scope: Scope<'a>,
        depth: usize,
    ) -> Option<String> {
        let is_open = |c: &ast::ExprCall| {
            matches!(
                self.qualify(file, &c.func).as_deref(),
                Some("open" | "io.open" | "codecs.open")
            )
        };
        let call = match e {
            Expr::Call(c) if is_open(c) => c,
            Expr::Name(n) => {
                let body = self.scope_body(file, scope);
                let mut found = None;
                for_each_stmt(body, None, &mut |stmt, _| {
                    if let Stmt::With(w) = stmt {
                        for item in &w.items {
                            if let (Expr::Call(c), Some(var)) =
                                (&item.context_expr, item.optional_vars.as_deref())
                            {
                                if is_name(var, n.id.as_str()) && is_open(c) {
                                    found = Some(c);
                                }
                            }
                        }
                    }
                });
                found?
            }
            _ => return None,
        };
        let path = call.arguments.args.first()?;
        match self.eval(file, path, scope, usize::MAX, depth + 1).val {
            Val::Str(p) => Some(p),
            _ => None,
        }
    }

    /// `section`/`key` of the INI file that `parser.read(PATH)` reads in the enclosing
    /// function or the module.
    fn ini_value(
        &self,
        file: FileId,
        parser: &str,
        section: &str,
        key: &str,
        scope: Scope<'a>,
        depth: usize,
    ) -> Option<Tracked> {
        let bodies = [
            scope.function.map(|d| &d.body[..]),
            Some(&self.files[file].ast.body[..]),
        ];
        let mut path = None;
        for (body, in_function) in bodies.into_iter().zip([true, false]) {
            let Some(body) = body else { continue };
            let scope = if in_function { scope } else { Scope::default() };
            crate::walk::calls_in(body, &mut |call: &'a ast::ExprCall| {
                if path.is_some() {
                    return;
                }
                let Expr::Attribute(a) = &*call.func else {
                    return;
                };
                if a.attr.as_str() != "read" || !is_name(&a.value, parser) {
                    return;
                }
                if let Some(p) = call.arguments.args.first() {
                    if let Val::Str(p) = self.eval(file, p, scope, usize::MAX, depth + 1).val {
                        path = Some(p);
                    }
                }
            });
            if path.is_some() {
                break;
            }
        }
        let ini = self.data_file(file, &path?, DataFormat::Ini)?;
        let Val::Dict(sections) = ini.val else {
            return None;
        };
        let (_, entries) = sections.into_iter().find(|(s, _)| s == section)?;
        let Val::Dict(entries) = entries.val else {
            return None;
        };
        let key = key.to_lowercase();
        entries.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// A data file of the repository named in `file`'s code, read once per audit.
    fn data_file(&self, file: FileId, path: &str, format: DataFormat) -> Option<Tracked> {
        let dir = self.files[file].path.parent().unwrap_or(Path::new("."));
        let resolved = crate::data_files::resolve(&self.root, dir, path)?;
        let mut cache = self.data_files.lock().ok()?;
        cache
            .entry((resolved.clone(), format))
            .or_insert_with(|| format.load(&resolved))
            .clone()
    }

    /// The statements of the enclosing function, or of the module.
    fn scope_body(&self, file: FileId, scope: Scope<'a>) -> &'a [Stmt] {
        match scope.function {
            Some(def) => &def.body,
            None => &self.files[file].ast.body,
        }
    }

    /// The step where a command-line flag is declared or read; the deployment rule finds the
    /// flag by [`FLAG_NOTE`].
    fn flag_step(&self, file: FileId, node: &impl Ranged, flag: &str) -> Step {
        self.step(
            file,
            node,
            format!("{FLAG_NOTE}{flag} (its value when the command line does not pass it)"),
        )
    }

    /// A parameter that a `@click.option("--debug", is_flag=True, default=...)` decorator
    /// fills: its value when the command line does not pass the flag (the default, or False
    /// for a flag without one).
    pub(crate) fn click_option(
        &self,
        file: FileId,
        def: &'a ast::StmtFunctionDef,
        name: &str,
        depth: usize,
    ) -> Option<Tracked> {
        def.decorator_list.iter().find_map(|d| {
            let Expr::Call(call) = &d.expression else {
                return None;
            };
            if self.qualify(file, &call.func).as_deref() != Some("click.option") {
                return None;
            }
            let args = &call.arguments;
            let names: Vec<String> = args.args.iter().filter_map(str_lit).collect();
            let flag = names.iter().find(|n| n.starts_with("--"))?;
            let flag_name = flag.trim_start_matches('-');
            // `--debug/--no-debug` declares both spellings at once.
            let (on, _) = flag_name.split_once('/').unwrap_or((flag_name, ""));
            let dest = names
                .iter()
                .find(|n| !n.starts_with('-'))
                .cloned()
                .unwrap_or_else(|| on.replace('-', "_"));
            if dest != name {
                return None;
            }
            let keyword = |k: &str| args.find_keyword(k).map(|kw| &kw.value);
            let step = self.flag_step(file, call, &format!("--{on}"));
            Some(match keyword("default") {
                Some(d) => self
                    .eval(file, d, Scope::default(), usize::MAX, depth + 1)
                    .via(step),
                None if keyword("is_flag").is_some() || flag_name.contains('/') => {
                    Tracked::new(Val::Bool(false), step)
                }
                None => Tracked::new(Val::None, step),
            })
        })
    }

    /// The options `parser.add_argument(...)` declares in the scope that parses them, each
    /// with the value it has when the command line does not pass it (`store_true`: False,
    /// `store_false`: True, else its `default`). The step names the flag, for the deployment
    /// rule that looks for it on production command lines.
    fn argparse_flags(
        &self,
        file: FileId,
        parser: &str,
        scope: Scope<'a>,
        depth: usize,
    ) -> Vec<(String, Tracked)> {
        let body = self.scope_body(file, scope);
        let mut out = Vec::new();
        crate::walk::calls_in(body, &mut |call: &'a ast::ExprCall| {
            let Expr::Attribute(a) = &*call.func else {
                return;
            };
            if a.attr.as_str() != "add_argument" || !is_name(&a.value, parser) {
                return;
            }
            let args = &call.arguments;
            let keyword = |k: &str| args.find_keyword(k).map(|kw| &kw.value);
            let names: Vec<String> = args.args.iter().filter_map(str_lit).collect();
            let Some(flag) = names.iter().find(|n| n.starts_with("--")) else {
                return;
            };
            let dest = keyword("dest")
                .and_then(str_lit)
                .unwrap_or_else(|| flag.trim_start_matches('-').replace('-', "_"));
            let action = keyword("action").and_then(str_lit);
            let step = self.flag_step(file, call, flag);
            let value = match (keyword("default"), action.as_deref()) {
                (Some(d), _) => self.eval(file, d, scope, usize::MAX, depth + 1).via(step),
                (None, Some("store_true")) => Tracked::new(Val::Bool(false), step),
                (None, Some("store_false")) => Tracked::new(Val::Bool(true), step),
                (None, _) => Tracked::new(Val::None, step),
            };
            out.push((dest, value));
        });
        out
    }

    /// Whether instances of a class take their fields from the constructor's keywords (a
    /// dataclass, an attrs class, a pydantic model), and for pydantic settings models, the
    /// prefix of the environment variables that override them.
    pub(crate) fn field_class(&self, c: ClassId) -> Option<FieldClass> {
        const SETTINGS: &[&str] = &["pydantic_settings.BaseSettings", "pydantic.BaseSettings"];
        const MODELS: &[&str] = &["pydantic.BaseModel", "pydantic.main.BaseModel"];
        const DECORATORS: &[&str] = &[
            "dataclasses.dataclass",
            "dataclass",
            "attr.s",
            "attr.attrs",
            "attr.define",
            "attr.frozen",
            "attrs.define",
            "attrs.frozen",
            "pydantic.dataclasses.dataclass",
        ];
        if SETTINGS.iter().any(|b| self.derives_from(c, b)) {
            return Some(FieldClass::Settings {
                prefix: self.env_prefix(c),
            });
        }
        if MODELS.iter().any(|b| self.derives_from(c, b)) {
            return Some(FieldClass::Fields);
        }
        let class = &self.classes[c];
        class
            .def
            .decorator_list
            .iter()
            .any(|d| {
                let target = match &d.expression {
                    Expr::Call(call) => &*call.func,
                    other => other,
                };
                self.qualify(class.file, target)
                    .is_some_and(|q| DECORATORS.contains(&q.as_str()))
            })
            .then_some(FieldClass::Fields)
    }

    /// `model_config = SettingsConfigDict(env_prefix="APP_")` or `class Config: env_prefix =
    /// "APP_"` in a settings class or its bases.
    fn env_prefix(&self, c: ClassId) -> String {
        for k in self.mro(c) {
            for stmt in &self.classes[k].def.body {
                let literal = match stmt {
                    Stmt::Assign(a) if a.targets.iter().any(|t| is_name(t, "model_config")) => {
                        match &*a.value {
                            Expr::Call(call) => call
                                .arguments
                                .find_keyword("env_prefix")
                                .and_then(|kw| str_lit(&kw.value)),
                            Expr::Dict(d) => d.items.iter().find_map(|item| {
                                (item.key.as_ref().and_then(str_lit).as_deref()
                                    == Some("env_prefix"))
                                .then(|| str_lit(&item.value))
                                .flatten()
                            }),
                            _ => None,
                        }
                    }
                    Stmt::ClassDef(inner) if inner.name.as_str() == "Config" => {
                        inner.body.iter().find_map(|s| match s {
                            Stmt::Assign(a)
                                if a.targets.iter().any(|t| is_name(t, "env_prefix")) =>
                            {
                                str_lit(&a.value)
                            }
                            _ => None,
                        })
                    }
                    _ => None,
                };
                if let Some(p) = literal {
                    return p;
                }
            }
        }
        String::new()
    }

    /// An attribute of an [`Val::Object`]: the constructor's keyword, else the class default
    /// (for a settings model, overridden by its environment variable).
    fn object_field(
        &self,
        c: ClassId,
        fields: Vec<(String, Tracked)>,
        complete: bool,
        attr: &str,
        depth: usize,
    ) -> Option<Tracked> {
        if let Some((_, v)) = fields.into_iter().find(|(k, _)| k == attr) {
            return Some(v);
        }
        if !complete {
            return None;
        }
        let default = self.instance_attribute(c, attr, depth + 1)?;
        match self.field_class(c) {
            Some(FieldClass::Settings { prefix }) => {
                let var = format!("{prefix}{attr}").to_uppercase();
                let condition = format!("{} field `{attr}` (${var})", self.classes[c].qualified);
                // pydantic reads booleans as `1/0`, `true/false`, `yes/no`, `on/off`.
                let test = if matches!(default.val, Val::Bool(_)) {
                    EnvTest::Map("strtobool".into(), Box::new(EnvTest::Raw))
                } else {
                    EnvTest::Raw
                };
                let chain = default.chain.clone();
                Some(Tracked {
                    val: Val::Env {
                        var,
                        unset: Box::new(default),
                        condition,
                        test,
                    },
                    chain,
                })
            }
            _ => Some(default),
        }
    }

    /// The function a call goes to, when it is defined in the repository: a function of this
    /// module or an imported one, or a method of the enclosing class (or its bases).
    pub(crate) fn callee(
        &self,
        file: FileId,
        func: &'a Expr,
        scope: Scope<'a>,
    ) -> Option<(
        &'a ast::StmtFunctionDef,
        Option<&'a ast::StmtClassDef>,
        FileId,
    )> {
        if let Expr::Attribute(a) = func {
            if is_self(&a.value) {
                let class = self.class_of_def(scope.class?)?;
                let (c, def) = self.method_in_mro(class, a.attr.as_str())?;
                return Some((def, Some(self.classes[c].def), self.classes[c].file));
            }
        }
        let q = self.qualify(file, func)?;
        let (module, name) = q.rsplit_once('.')?;
        let &target = self.index.get(module)?;
        match self.top_level[target].get(name)? {
            crate::engine::TopDef::Function(d) => Some((d, None, target)),
            crate::engine::TopDef::Class => None,
        }
    }

    /// What a function returns: its `return` statements folded in order, a conditional
    /// return making the value depend on its condition.
    fn returns(
        &self,
        file: FileId,
        def: &'a ast::StmtFunctionDef,
        scope: Scope<'a>,
        depth: usize,
    ) -> Tracked {
        if depth > MAX_DEPTH {
            return too_deep();
        }
        let mut found: Vec<(&'a Stmt, Option<Condition<'a>>)> = Vec::new();
        for_each_stmt(&def.body, None, &mut |s, c| {
            if matches!(s, Stmt::Return(r) if r.value.is_some()) {
                found.push((s, c));
            }
        });
        let f = &self.files[file];
        let mut value: Option<Tracked> = None;
        for (stmt, cond) in found.into_iter().rev() {
            let Stmt::Return(r) = stmt else { continue };
            let Some(x) = r.value.as_deref() else {
                continue;
            };
            let v = self
                .eval(file, x, scope, stmt.range().start().to_usize(), depth + 1)
                .via(self.step(file, stmt, "return"));
            value = Some(match cond {
                None => v,
                Some(c) => conditional(v, Some(&c.text(f)), value.take()),
            });
        }
        value.unwrap_or_else(Tracked::unknown)
    }

    /// A name as seen at `at`: local assignments first, then parameters, then module level,
    /// then imports; a class or function of the repository is a reference to it.
    fn lookup(
        &self,
        file: FileId,
        name: &str,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        if depth > MAX_DEPTH {
            return too_deep();
        }
        if let Some(def) = scope.function {
            // A parameter is the starting value that the body's statements then change
            // (`settings.update(...)` on a dict a caller passed); a name the function only
            // changes (`settings["k"] = v`) is the module's or an import's.
            let param = self.parameter_value(file, def, scope, name, depth);
            let outer = || match &param {
                Some(p) => Some(p.clone()),
                None => Some(self.lookup(file, name, Scope::default(), usize::MAX, depth + 1)),
            };
            if let Some(v) = self.binding_from(
                file,
                &def.body,
                name,
                scope,
                at,
                depth,
                param.clone(),
                &outer,
            ) {
                return v;
            }
            if let Some(v) = param {
                return v;
            }
        }
        let module_at = if scope.function.is_some() {
            usize::MAX
        } else {
            at
        };
        let body = &self.files[file].ast.body;
        let imported = || self.import_value(file, name, depth);
        let scope0 = Scope::default();
        if let Some(v) =
            self.binding_from(file, body, name, scope0, module_at, depth, None, &imported)
        {
            return v;
        }
        if let Some(v) = imported() {
            return v;
        }
        if self.top_level[file].contains_key(name) {
            return self.local_ref(file, name);
        }
        Tracked::unknown()
    }

    /// What an import binds `name` to in `file`: the value in the repository module it comes
    /// from, or a reference to what it names outside the repository; else what a
    /// `from M import *` of a repository module brings in.
    fn import_value(&self, file: FileId, name: &str, depth: usize) -> Option<Tracked> {
        let Some(q) = self.imports[file].get(name) else {
            return self.star_value(file, name, depth);
        };
        if let Some((module, attr)) = q.rsplit_once('.') {
            if let Some(&target) = self.index.get(module) {
                if target != file {
                    return Some(self.module_binding(target, attr, depth + 1));
                }
            }
        }
        Some(Tracked::bare(Val::Ref(q.to_string())))
    }

    /// `name` from the repository modules `file` imports with `*` (the last that binds it;
    /// names starting with `_` are not exported).
    fn star_value(&self, file: FileId, name: &str, depth: usize) -> Option<Tracked> {
        if name.starts_with('_') || depth > MAX_DEPTH {
            return None;
        }
        self.imports[file].star_modules().find_map(|m| {
            let &target = self.index.get(m)?;
            if target == file {
                return None;
            }
            let v = self.module_binding(target, name, depth + 1);
            if matches!(v.val, Val::Unknown) {
                return None;
            }
            // The import statement is the next step (module level, where `*` is allowed).
            let stmt = self.files[file].ast.body.iter().find(|s| {
                matches!(s, Stmt::ImportFrom(i) if i.names.iter().any(|a| a.name.as_str() == "*")
                    && i.module.as_ref().is_some_and(|x| m.ends_with(x.as_str())))
            });
            Some(match stmt {
                Some(s) => v.via(self.step(file, s, format!("from {m} import *"))),
                None => v,
            })
        })
    }

    /// A class or function defined at the top of `file`, by its dotted name.
    fn local_ref(&self, file: FileId, name: &str) -> Tracked {
        Tracked::bare(Val::Ref(format!("{}.{name}", self.files[file].module)))
    }

    pub(crate) fn module_binding(&self, file: FileId, name: &str, depth: usize) -> Tracked {
        if depth > MAX_DEPTH {
            return too_deep();
        }
        if depth == 0 {
            within_budget(0);
        }
        let body = &self.files[file].ast.body;
        self.binding_in(file, body, name, Scope::default(), usize::MAX, depth)
            .or_else(|| {
                // `from other import NAME` re-exported by this module.
                let q = self.imports[file].get(name)?;
                let (module, attr) = q.rsplit_once('.')?;
                let &target = self.index.get(module)?;
                (target != file).then(|| self.module_binding(target, attr, depth + 1))
            })
            .or_else(|| {
                self.top_level[file]
                    .contains_key(name)
                    .then(|| self.local_ref(file, name))
            })
            .or_else(|| self.star_value(file, name, depth))
            .unwrap_or_else(Tracked::unknown)
    }

    /// An attribute of instances of class `c`: assigned to `self.NAME` in its methods
    /// (`__init__` first), or a class attribute; then the same in its repository bases.
    fn instance_attribute(&self, c: ClassId, name: &str, depth: usize) -> Option<Tracked> {
        if depth > MAX_DEPTH {
            return None;
        }
        let class = &self.classes[c];
        let file = class.file;
        let scope = Scope {
            function: None,
            class: Some(class.def),
        };
        // Class body: `settings = {...}`.
        let class_level = self.binding_in(file, &class.def.body, name, scope, usize::MAX, depth);
        // Methods, `__init__` first: `self.settings = {...}`.
        let mut methods: Vec<&ast::StmtFunctionDef> = class
            .def
            .body
            .iter()
            .filter_map(|s| match s {
                Stmt::FunctionDef(d) => Some(d),
                _ => None,
            })
            .collect();
        methods.sort_by_key(|d| d.name.as_str() != "__init__");
        for def in methods {
            let scope = Scope {
                function: Some(def),
                class: Some(class.def),
            };
            let mut found: Option<&'a ast::StmtAssign> = None;
            for_each_stmt(&def.body, None, &mut |s, _| {
                if let Stmt::Assign(a) = s {
                    if a.targets.iter().any(|t| {
                        matches!(t, Expr::Attribute(x) if is_self(&x.value) && x.attr.as_str() == name)
                    }) {
                        found = Some(a);
                    }
                }
            });
            if let Some(a) = found {
                let at = a.range().start().to_usize();
                let v = self
                    .eval(file, &a.value, scope, at, depth + 1)
                    .via(self.step(file, a, format!("self.{name} = ...")));
                return Some(v);
            }
        }
        if class_level.is_some() {
            return class_level;
        }
        class
            .bases
            .iter()
            .filter_map(|b| self.class_index.get(b.as_str()))
            .find_map(|&base| self.instance_attribute(base, name, depth + 1))
    }

    /// Folds every assignment to `name` in `stmts` that precedes `at`: plain and annotated
    /// assignment, `name[key] = v`, `name.update(...)`, `name.setdefault(...)`, `name |= {...}`,
    /// `name += [...]`, `name.append(...)`, `name.extend(...)`. Assignments inside
    /// `if`/`try`/loops/`match` make the value conditional.
    pub(crate) fn binding_in(
        &self,
        file: FileId,
        stmts: &'a [Stmt],
        name: &str,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Option<Tracked> {
        self.binding_from(file, stmts, name, scope, at, depth, None, &|| None)
    }

    /// [`Self::binding_in`] starting from a known value (a parameter's), or from `outer`'s
    /// when the first statement changes the name without binding it. `None` when no
    /// statement changes the name.
    #[allow(clippy::too_many_arguments)]
    fn binding_from(
        &self,
        file: FileId,
        stmts: &'a [Stmt],
        name: &str,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
        initial: Option<Tracked>,
        outer: &dyn Fn() -> Option<Tracked>,
    ) -> Option<Tracked> {
        let f = &self.files[file];
        let start = initial.clone();
        let mut current: Option<Tracked> = initial;
        let events = self.bindings.before(stmts, name, at);
        let mut seeded = false;
        for &Event { stmt, cond } in events.iter() {
            let offset = stmt.range().start().to_usize();
            // Under an `if` whose test is decided, a branch that cannot run changes nothing.
            let never = match cond {
                Some(Condition::If(t)) => Some((t, Truth::False)),
                Some(Condition::Else(t)) => Some((t, Truth::True)),
                _ => None,
            };
            if let Some((test, skip)) = never {
                if self.eval(file, test, scope, offset, depth + 1).truth() == skip {
                    continue;
                }
            }
            // Changed before any assignment here (`x[k] = v`, `x.update()`): the value it
            // changes is the enclosing scope's.
            if current.is_none() && !seeded && !self.bindings.rebinds(stmt, name) {
                seeded = true;
                current = outer().filter(|v| !matches!(v.val, Val::Unknown));
            }
            let eval = |x: &'a Expr| self.eval(file, x, scope, offset, depth + 1);
            // Worded only for the statements that bind the name.
            let cond = || cond.map(|c| c.text(f));
            let fold_items = |current: &mut Option<Tracked>,
                              added: Vec<(String, Tracked)>,
                              open: bool,
                              note: String| {
                let step = self.step(file, stmt, note);
                // A dict chosen by a condition (`cfg.X` if it has one, else the defaults):
                // the keys written after are added to each branch, which stays visible.
                if let Some(Tracked {
                    val:
                        Val::Cond {
                            condition,
                            then,
                            orelse,
                        },
                    ..
                }) = current.as_ref().filter(|c| {
                    matches!(&c.val, Val::Cond { then, orelse, .. }
                        if orelse.val != Val::None
                            && (matches!(then.val, Val::Dict(_)) || matches!(orelse.val, Val::Dict(_))))
                }) {
                    let c = cond();
                    let added: Vec<(String, Tracked)> = added
                        .into_iter()
                        .map(|(k, v)| (k, conditional(v.via(step.clone()), c.as_deref(), None)))
                        .collect();
                    let branch = |b: &Tracked| {
                        let mut items = match &b.val {
                            Val::Dict(items) => items.clone(),
                            _ => open_items(),
                        };
                        merge(&mut items, added.clone());
                        if open {
                            open_dict(&mut items);
                        }
                        Box::new(Tracked::new(Val::Dict(items), step.clone()))
                    };
                    let val = Val::Cond {
                        condition: condition.clone(),
                        then: branch(then),
                        orelse: branch(orelse),
                    };
                    *current = Some(Tracked::new(val, step));
                    return;
                }
                let mut items = match current.take().map(|c| c.val) {
                    Some(Val::Dict(items)) => items,
                    // Bound only under a condition: the call runs where the dict exists
                    // (elsewhere the name is unbound or None and the call raises).
                    Some(Val::Cond { then, orelse, .. }) if orelse.val == Val::None => {
                        match then.val {
                            Val::Dict(items) => items,
                            _ => open_items(),
                        }
                    }
                    None => Vec::new(),
                    // Something the analysis does not hold whole: it may have more keys.
                    Some(_) => open_items(),
                };
                let c = cond();
                let added = added
                    .into_iter()
                    .map(|(k, v)| (k, conditional(v.via(step.clone()), c.as_deref(), None)))
                    .collect();
                merge(&mut items, added);
                if open {
                    open_dict(&mut items);
                }
                *current = Some(Tracked::new(Val::Dict(items), step));
            };
            // `(name := v)` in the statement's own expressions; `a, name = v`.
            let walrus = self.bindings.walrus_of(stmt);
            let walrus = walrus.iter().rev().find(|w| is_name(&w.target, name));
            let unpacked = match stmt {
                Stmt::Assign(a) => a.targets.iter().find_map(|t| unpack_path(t, name)),
                _ => None,
            };
            let update: Option<Tracked> = match stmt {
                _ if walrus.is_some() => walrus.map(|w| eval(&w.value)),
                Stmt::Assign(a) if a.targets.iter().any(|t| is_name(t, name)) => {
                    Some(eval(&a.value))
                }
                Stmt::Assign(a) if unpacked.is_some() => {
                    let path = unpacked.unwrap_or_default();
                    Some(unpack(eval(&a.value), &path))
                }
                Stmt::AnnAssign(a) if is_name(&a.target, name) => a.value.as_deref().map(eval),
                Stmt::FunctionDef(d) if d.name.as_str() == name => Some(self.local_ref(file, name)),
                Stmt::Assign(a) => {
                    let Some(key) = a.targets.iter().find_map(|t| subscript_key(t, name)) else {
                        continue;
                    };
                    let v = eval(&a.value);
                    fold_items(&mut current, vec![(key.clone(), v)], false, {
                        format!("{name}[\"{key}\"] = ...")
                    });
                    continue;
                }
                Stmt::AugAssign(a) if is_name(&a.target, name) => {
                    let v = eval(&a.value);
                    match (a.op, v.val) {
                        (ast::Operator::BitOr, Val::Dict(items)) => {
                            fold_items(&mut current, items, false, format!("{name} |= ..."));
                        }
                        (ast::Operator::Add, Val::List(items)) => {
                            current =
                                Some(self.extend_list(file, current.take(), items, stmt, name));
                        }
                        (ast::Operator::Add, Val::Unknown | Val::Opaque(_)) => {
                            let items = vec![self.spliced_from(file, &a.value)];
                            current =
                                Some(self.extend_list(file, current.take(), items, stmt, name));
                        }
                        _ => current = Some(Tracked::unknown()),
                    }
                    continue;
                }
                Stmt::Expr(x) => {
                    let Expr::Call(call) = &*x.value else {
                        continue;
                    };
                    let Expr::Attribute(attr) = &*call.func else {
                        continue;
                    };
                    if !is_name(&attr.value, name) {
                        continue;
                    }
                    let method = attr.attr.as_str();
                    match method {
                        "update" => {
                            let mut added = Vec::new();
                            let mut open = false;
                            for arg in call.arguments.args.iter() {
                                match eval(arg).val {
                                    Val::Dict(inner) => added.extend(inner),
                                    _ => open = true,
                                }
                            }
                            for kw in call.arguments.keywords.iter() {
                                match &kw.arg {
                                    Some(k) => {
                                        added.push((k.as_str().to_string(), eval(&kw.value)))
                                    }
                                    None => open = true,
                                }
                            }
                            fold_items(&mut current, added, open, format!("{name}.update(...)"));
                        }
                        "setdefault" => {
                            let args = &call.arguments.args;
                            let (Some(key), Some(v)) =
                                (args.first().and_then(str_lit), args.get(1))
                            else {
                                continue;
                            };
                            let present = matches!(&current, Some(Tracked { val: Val::Dict(items), .. })
                                if items.iter().any(|(k, _)| *k == key));
                            if !present {
                                let v = eval(v);
                                fold_items(
                                    &mut current,
                                    vec![(key, v)],
                                    false,
                                    format!("{name}.setdefault(...)"),
                                );
                            }
                        }
                        "append" | "extend" => {
                            let Some(arg) = call.arguments.args.first() else {
                                continue;
                            };
                            let v = eval(arg);
                            let items = match (method, v.val) {
                                ("append", val) => vec![Tracked {
                                    val,
                                    chain: v.chain,
                                }],
                                (_, Val::List(items)) => items,
                                _ => vec![self.spliced_from(file, arg)],
                            };
                            current =
                                Some(self.extend_list(file, current.take(), items, stmt, name));
                        }
                        _ => {}
                    }
                    continue;
                }
                _ => None,
            };
            if let Some(v) = update {
                let v = v.via(self.step(file, stmt, format!("{name} = ...")));
                current = Some(match (cond(), current.take()) {
                    (Some(c), prev) => conditional(v, Some(&c), prev),
                    (None, _) => v,
                });
            }
        }
        if current == start {
            return None;
        }
        current
    }

    fn eval_compare(
        &self,
        file: FileId,
        e: &'a Expr,
        c: &'a ast::ExprCompare,
        scope: Scope<'a>,
        at: usize,
        depth: usize,
    ) -> Tracked {
        let f = &self.files[file];
        let here = self.step(file, e, short(text_of(f, e)));
        if c.ops.len() != 1 {
            return Tracked::unknown();
        }
        let sub = |x: &'a Expr| self.eval(file, x, scope, at, depth + 1);
        let right_expr = &c.comparators[0];
        let op = c.ops[0];
        // `"--debug" in sys.argv`: false unless the command line passes the flag, which the
        // deployment rule looks for.
        if matches!(op, CmpOp::In) && self.qualify(file, right_expr).as_deref() == Some("sys.argv")
        {
            if let Some(flag) = str_lit(&c.left).filter(|f| f.starts_with('-')) {
                let step = self.flag_step(file, e, &flag);
                return Tracked::new(Val::Bool(false), step);
            }
        }
        let left = sub(&c.left);
        let rights: Vec<Val> = match elements(right_expr) {
            Some(xs) => xs.iter().map(|x| sub(x).val).collect(),
            None => vec![sub(right_expr).val],
        };
        let decide = |v: &Val| -> Option<bool> {
            let eq = |r: &Val| literal_eq(v, r);
            let any = || {
                rights
                    .iter()
                    .map(eq)
                    .try_fold(false, |acc, x| x.map(|x| acc || x))
            };
            match op {
                CmpOp::Eq | CmpOp::Is => eq(&rights[0]),
                CmpOp::NotEq | CmpOp::IsNot => eq(&rights[0]).map(|b| !b),
                CmpOp::In => any(),
                CmpOp::NotIn => any().map(|b| !b),
                _ => None,
            }
        };
        let negated = matches!(op, CmpOp::NotEq | CmpOp::NotIn | CmpOp::IsNot);
        match &left.val {
            Val::Env {
                var, unset, test, ..
            } if matches!(op, CmpOp::Eq | CmpOp::NotEq | CmpOp::In | CmpOp::NotIn) => {
                // `os.environ["X"]` has no unset value (it raises): the comparison is still
                // decided by what a deployment sets.
                let unset_result = match (&unset.val, decide(&unset.val)) {
                    (_, Some(b)) => Some(Tracked::new(Val::Bool(b), here.clone())),
                    (Val::Unknown, None) => Some(Tracked::unknown()),
                    _ => None,
                };
                match unset_result {
                    Some(unset_result) => Tracked {
                        val: Val::Env {
                            var: var.clone(),
                            unset: Box::new(unset_result),
                            condition: short(text_of(f, e)),
                            test: EnvTest::Cmp {
                                negate: negated,
                                values: rights.clone(),
                                inner: Box::new(test.clone()),
                            },
                        },
                        chain: left.chain.clone(),
                    }
                    .via(here),
                    None => Tracked::unknown(),
                }
            }
            v => match decide(v) {
                Some(b) => {
                    let mut t = Tracked::new(Val::Bool(b), here);
                    t.chain = left.chain.iter().cloned().chain(t.chain).collect();
                    t
                }
                None => Tracked::unknown(),
            },
        }
    }
}

/// `value[key]` of an evaluated value: a dict's entry, and of a value chosen by a condition
/// (`cfg.X if ... else DEFAULTS`, a name assigned in both branches of an `if`), the entry of
/// each branch under the same condition, so a literal default stays visible.
fn key_of(value: Tracked, key: &str, step: &crate::value::Step, depth: usize) -> Tracked {
    match value.val {
        Val::Dict(items) => items
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.via(step.clone()))
            .unwrap_or_else(Tracked::unknown),
        Val::Cond {
            condition,
            then,
            orelse,
        } if depth < 8 => {
            let then = key_of(*then, key, step, depth + 1);
            let orelse = key_of(*orelse, key, step, depth + 1);
            if matches!(then.val, Val::Unknown) && matches!(orelse.val, Val::Unknown) {
                return Tracked::unknown();
            }
            Tracked::new(
                Val::Cond {
                    condition,
                    then: Box::new(then),
                    orelse: Box::new(orelse),
                },
                step.clone(),
            )
        }
        _ => Tracked::unknown(),
    }
}

fn subscript_key(e: &Expr, name: &str) -> Option<String> {
    match e {
        Expr::Subscript(s) if is_name(&s.value, name) => str_lit(&s.slice),
        _ => None,
    }
}
