//! YAML for untrusted input.
//!
//! Deployment files and advisory records come from repositories anyone can send a pull
//! request to, so reading them must be bounded: this crate builds a small tree from
//! `saphyr-parser`'s event stream with an explicit stack (no recursion on input depth), stops
//! at the first syntax error instead of asking the parser again (a parser that has failed
//! keeps returning the same error), caps nesting depth, and counts every node it creates,
//! alias expansions included, so that an alias bomb ("billion laughs") is refused rather than
//! materialised. Every node keeps the line and column the parser gave it.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Nesting deeper than this is refused (real deployment files and advisories stay under 20).
pub const MAX_DEPTH: usize = 128;
/// Nodes per file, counting every node an alias expands to.
pub const MAX_NODES: usize = 500_000;

/// A YAML node with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text as written (after unquoting), with whether it was plain (unquoted),
    /// which decides whether `true` or `1.0` is a boolean or a number rather than text.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; merge keys (`<<`) are kept and resolved by [`Node::entries`].
    Map(Vec<(Node, Node)>),
}

/// Why a YAML file could not be read, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for Error {}

/// What a file held: the documents read before any error, and the error if one stopped the
/// reading (later documents of a stream are then not read).
#[derive(Debug, Default)]
pub struct Documents {
    pub documents: Vec<Node>,
    pub error: Option<Error>,
}

enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Scalar keys seen so far, with their lines.
        seen: HashMap<String, usize>,
    },
}

/// Reads every document of a YAML stream.
pub fn parse(text: &str) -> Documents {
    let mut out = Documents::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                out.error = Some(Error {
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                    message: e.info().to_string(),
                });
                break;
            }
        };
        let fail = |span: &Span, message: String| Error {
            line: span.start.line(),
            column: span.start.col() + 1,
            message,
        };
        let finished: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    out.error = Some(fail(
                        &span,
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                    break;
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        start: span,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        start: span,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        seen: HashMap::new(),
                    }
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) => Some((node(&start, Value::Seq(items)), anchor)),
                Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) => Some((node(&start, Value::Map(entries)), anchor)),
                None => None,
            },
            Event::Scalar(text, style, anchor, _) => Some((
                node(
                    &span,
                    Value::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                ),
                anchor,
            )),
            Event::Alias(id) => match anchors.get(&id) {
                Some(target) => {
                    let size = count(target);
                    if nodes + size > MAX_NODES {
                        out.error = Some(fail(
                            &span,
                            format!("aliases expand to more than {MAX_NODES} nodes"),
                        ));
                        break;
                    }
                    nodes += size;
                    let mut copy = target.clone();
                    copy.line = span.start.line();
                    copy.column = span.start.col() + 1;
                    Some((copy, 0))
                }
                None => {
                    out.error = Some(fail(&span, "alias to an unknown anchor".into()));
                    break;
                }
            },
            _ => None,
        };
        let Some((done, anchor)) = finished else {
            continue;
        };
        nodes += 1;
        if nodes > MAX_NODES {
            out.error = Some(fail(&span, format!("more than {MAX_NODES} nodes")));
            break;
        }
        if anchor != 0 {
            anchors.insert(anchor, done.clone());
        }
        match stack.last_mut() {
            None => out.documents.push(done),
            Some(Frame::Seq { items, .. }) => items.push(done),
            Some(Frame::Map {
                entries, key, seen, ..
            }) => match key.take() {
                None => {
                    // YAML forbids a repeated key; docker compose and kubectl refuse the
                    // file rather than pick one of the values, and so does this reader.
                    if let Value::Scalar { text, .. } = &done.value {
                        if text != "<<" {
                            if let Some(first) = seen.insert(text.clone(), done.line) {
                                out.error = Some(Error {
                                    line: done.line,
                                    column: done.column,
                                    message: format!(
                                        "duplicate key `{text}` (first at line {first})"
                                    ),
                                });
                                break;
                            }
                        }
                    }
                    *key = Some(done)
                }
                Some(k) => entries.push((k, done)),
            },
        }
    }
    out
}

fn node(span: &Span, value: Value) -> Node {
    Node {
        line: span.start.line(),
        // The parser counts columns from 0.
        column: span.start.col() + 1,
        value,
    }
}

/// Nodes in a tree, without recursion (trees are bounded by [`MAX_DEPTH`] anyway).
fn count(n: &Node) -> usize {
    let mut todo = vec![n];
    let mut total = 0;
    while let Some(n) = todo.pop() {
        total += 1;
        match &n.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => {
                for (k, v) in entries {
                    todo.push(k);
                    todo.push(v);
                }
            }
            Value::Scalar { .. } => {}
        }
    }
    total
}

impl Node {
    /// The scalar's text, if this is a scalar other than null.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, plain } if !(*plain && is_null(text)) => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if is_null(text))
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// A mapping's entries with merge keys (`<<: *defaults`) resolved the way YAML 1.1 tools
    /// (docker compose among them) do: explicit keys win over merged ones, earlier merged maps
    /// over later ones. Empty for anything but a mapping.
    pub fn entries(&self) -> Vec<(&Node, &Node)> {
        let Value::Map(entries) = &self.value else {
            return Vec::new();
        };
        let mut out: Vec<(&Node, &Node)> = Vec::new();
        let mut merged: Vec<(&Node, &Node)> = Vec::new();
        for (k, v) in entries {
            if k.as_str() == Some("<<") {
                let sources: Vec<&Node> = match &v.value {
                    Value::Seq(items) => items.iter().collect(),
                    _ => vec![v],
                };
                for source in sources {
                    if let Value::Map(inner) = &source.value {
                        for (mk, mv) in inner {
                            merged.push((mk, mv));
                        }
                    }
                }
            } else {
                out.push((k, v));
            }
        }
        for (mk, mv) in merged {
            let key = mk.as_str();
            if key.is_some() && !out.iter().any(|(k, _)| k.as_str() == key) {
                out.push((mk, mv));
            }
        }
        out
    }

    /// The value of `key` in a mapping (the last one, if a key is repeated).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .into_iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar as text the way a consumer of environment values sees it: booleans, numbers
    /// and quoted strings as written. `None` for null, sequences and mappings.
    pub fn scalar_text(&self) -> Option<String> {
        self.as_str().map(str::to_string)
    }

    /// The node as JSON, for readers that deserialize records with serde. Plain scalars follow
    /// the YAML 1.2 core schema, except that numbers other than canonical integers keep their
    /// text: `fixed: 6.10` is the version "6.10", not the float 6.1.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar { text, plain: false } => J::String(text.clone()),
            Value::Scalar { text, plain: true } => {
                if is_null(text) {
                    J::Null
                } else if let Some(b) = core_bool(text) {
                    J::Bool(b)
                } else if let Some(i) = text.parse::<i64>().ok().filter(|i| i.to_string() == *text)
                {
                    J::Number(i.into())
                } else {
                    J::String(text.clone())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(_) => {
                let mut map = serde_json::Map::new();
                for (k, v) in self.entries() {
                    let key = match &k.value {
                        Value::Scalar { text, .. } => text.clone(),
                        _ => continue,
                    };
                    map.insert(key, v.to_json());
                }
                J::Object(map)
            }
        }
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn core_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let docs = parse(text);
        assert!(docs.error.is_none(), "{:?}", docs.error);
        docs.documents.into_iter().next().unwrap()
    }

    #[test]
    fn positions_come_from_the_parser() {
        let doc = one("services:\n  web:\n    environment:\n      DEBUG: \"1\"\n");
        let debug = doc
            .get("services")
            .and_then(|s| s.get("web"))
            .and_then(|w| w.get("environment"))
            .and_then(|e| e.get("DEBUG"))
            .unwrap();
        assert_eq!((debug.line, debug.column), (4, 14));
        assert_eq!(debug.as_str(), Some("1"));
    }

    #[test]
    fn several_documents_and_an_error_after_them() {
        let docs = parse("a: 1\n---\nb: [1, 2\n---\nc: 3\n");
        assert_eq!(docs.documents.len(), 1);
        let err = docs.error.unwrap();
        assert!(err.line >= 3, "{err}");
    }

    #[test]
    fn helm_template_braces_are_an_error_not_a_hang() {
        let docs =
            parse("apiVersion: v1\nkind: Pod\nspec:\n  image: {{ .Values.image }}\n  x: [\n");
        assert!(docs.error.is_some());
    }

    #[test]
    fn merge_keys_resolve_with_explicit_keys_winning() {
        let doc = one("base: &b\n  DEBUG: \"0\"\n  A: x\nweb:\n  <<: *b\n  DEBUG: \"1\"\n");
        let web = doc.get("web").unwrap();
        assert_eq!(web.get("DEBUG").unwrap().as_str(), Some("1"));
        assert_eq!(web.get("A").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        let docs = parse(&text);
        let err = docs.error.expect("refused");
        assert!(err.message.contains("aliases expand"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let docs = parse(&text);
        assert!(docs.error.is_some());
        let block: String = (0..5_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(parse(&block).error.is_some());
    }

    #[test]
    fn json_keeps_version_text() {
        let doc = one("fixed: 6.10\nn: 3\nq: '6.1'\nb: true\nz: ~\nlead: 010\n");
        let j = doc.to_json();
        assert_eq!(j["fixed"], "6.10");
        assert_eq!(j["n"], 3);
        assert_eq!(j["q"], "6.1");
        assert_eq!(j["b"], true);
        assert!(j["z"].is_null());
        assert_eq!(j["lead"], "010");
    }
}
