//! A HOCON parser for Arc jobs, keeping source positions.
//!
//! Supports what Arc jobs rely on: JSON, `//` and `#` comments, unquoted keys and strings,
//! `:`/`=` or no separator before an object, newlines instead of commas, trailing commas,
//! dotted keys, duplicate keys (later wins, objects merge), triple-quoted strings, and
//! substitutions `${path}` / `${?path}` with value concatenation such as
//! `"s3a://"${BUCKET}"/data.csv"`. `${...}` inside a quoted string is literal text (Arc's
//! SQL placeholders rely on that).
//!
//! [`parse`] returns an unresolved [`Document`]; [`Document::resolve`] resolves one subtree
//! at a time, so an unresolved variable in one stage is reported for that stage only.
//! Substitutions look in [`Vars::dynamic`] (values a running job produced) first, then
//! [`Vars::overrides`] (command-line variables), then the document, then [`Vars::env`].
//!
//! Not supported: `include`, `+=`, self-referential substitutions, object/array
//! concatenation (`${a} { b = 1 }`), durations and sizes units.

pub(crate) mod parser;
mod resolve;

use std::collections::HashMap;
use std::fmt;

pub use parser::parse;

/// A resolved value with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub line: u32,
}

/// Resolved values. Objects keep their keys in file order, each once.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The value of a key of an object node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a dotted path (`a.b.c`) below an object node.
    pub fn path(&self, path: &str) -> Option<&Node> {
        path.split('.').try_fold(self, |node, segment| node.get(segment))
    }

    /// Converts from JSON; every node gets `line`.
    pub fn from_json(value: &serde_json::Value, line: u32) -> Node {
        let value = match value {
            serde_json::Value::Null => NodeValue::Null,
            serde_json::Value::Bool(b) => NodeValue::Bool(*b),
            serde_json::Value::Number(n) => NodeValue::Number(n.clone()),
            serde_json::Value::String(s) => NodeValue::String(s.clone()),
            serde_json::Value::Array(items) => {
                NodeValue::Array(items.iter().map(|v| Node::from_json(v, line)).collect())
            }
            serde_json::Value::Object(fields) => {
                NodeValue::Object(fields.iter().map(|(k, v)| (k.clone(), Node::from_json(v, line))).collect())
            }
        };
        Node { value, line }
    }

    /// Converts to JSON (numbers keep their precision, objects their order).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            NodeValue::Null => serde_json::Value::Null,
            NodeValue::Bool(b) => serde_json::Value::Bool(*b),
            NodeValue::Number(n) => serde_json::Value::Number(n.clone()),
            NodeValue::String(s) => serde_json::Value::String(s.clone()),
            NodeValue::Array(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Object(fields) => {
                serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

/// A position in the source text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {message}")]
pub struct ParseError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// A substitution that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ResolveError {
    /// The variable, as written: `${X}`.
    pub name: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// Where substitutions look, after the document itself.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// Highest priority: values produced while a job runs (Arc's `ConfigExecute` output), an
    /// object whose paths (`a.b`) substitute; only stages resolved late (`resolution: lazy`)
    /// see them.
    pub dynamic: Option<Node>,
    /// Then command-line `--KEY=VALUE` variables (dotted keys as written).
    pub overrides: HashMap<String, String>,
    /// Lowest priority: environment variables.
    pub env: HashMap<String, String>,
}

/// A piece of a (possibly concatenated) simple value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Quoted or unquoted text.
    Text {
        text: String,
        quoted: bool,
    },
    /// Whitespace between two pieces (kept only in string concatenations).
    Space(String),
    Subst {
        path: String,
        optional: bool,
        pos: Pos,
    },
}

/// An unresolved value, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct UNode {
    pub pos: Pos,
    pub(crate) kind: UKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UKind {
    Object(Vec<(String, UNode)>),
    Array(Vec<UNode>),
    Value(Vec<Piece>),
}

impl UNode {
    /// Line the value starts on.
    pub fn line(&self) -> u32 {
        self.pos.line
    }

    /// A key of an object.
    pub fn get(&self, key: &str) -> Option<&UNode> {
        match &self.kind {
            UKind::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[UNode]> {
        match &self.kind {
            UKind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The keys of an object, in order.
    pub fn keys(&self) -> Vec<&str> {
        match &self.kind {
            UKind::Object(fields) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// The dotted paths of the values below an object that are not objects themselves
    /// (Typesafe Config's `entrySet` keys), sorted, each once.
    pub fn leaf_paths(&self) -> Vec<String> {
        fn walk(node: &UNode, prefix: &str, out: &mut Vec<String>) {
            if let UKind::Object(fields) = &node.kind {
                for (key, value) in fields {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    match &value.kind {
                        UKind::Object(_) => walk(value, &path, out),
                        _ => out.push(path),
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, "", &mut out);
        out.sort();
        out.dedup();
        out
    }
}

/// A parsed, unresolved document.
#[derive(Debug, Clone)]
pub struct Document {
    root: UNode,
}

impl Document {
    /// The unresolved root (an object, or an array for list documents such as schemas).
    pub fn root(&self) -> &UNode {
        &self.root
    }

    /// Resolves one subtree of this document.
    pub fn resolve(&self, node: &UNode, vars: &Vars) -> Result<Node, ResolveError> {
        resolve::Resolver::new(self, vars).node(node)
    }

    /// Resolves the whole document.
    pub fn resolve_all(&self, vars: &Vars) -> Result<Node, ResolveError> {
        self.resolve(&self.root, vars)
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.col)
    }
}

#[cfg(test)]
mod tests;
