//! Substitution resolution: dynamic values, overrides, then the document, then the environment.

use super::{Document, Node, NodeValue, Piece, ResolveError, UKind, UNode, Vars};

/// Most substitutions one resolution may perform (each `${...}` met, including those inside
/// the values it refers to). Real jobs use dozens; the bound stops documents whose
/// substitutions refer to each other in a doubling chain, which expand exponentially.
pub const MAX_SUBSTITUTIONS: usize = 10_000;

/// Most text (in bytes) one resolution may produce.
pub const MAX_EXPANDED_BYTES: usize = 64 * 1024 * 1024;

pub(crate) struct Resolver<'a> {
    doc: &'a Document,
    vars: &'a Vars,
    /// Paths being resolved, to detect cycles.
    stack: Vec<String>,
    /// Substitutions performed so far.
    substitutions: usize,
    /// Bytes of text produced so far.
    produced: usize,
}

/// What a substitution found.
enum Found {
    Value(Node),
    Missing,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(doc: &'a Document, vars: &'a Vars) -> Self {
        Self { doc, vars, stack: Vec::new(), substitutions: 0, produced: 0 }
    }

    /// Counts `bytes` of produced text against [`MAX_EXPANDED_BYTES`]; `path` is the
    /// substitution that produced them, if any.
    fn charge(&mut self, bytes: usize, line: u32, col: u32, path: Option<&str>) -> Result<(), ResolveError> {
        self.produced += bytes;
        if self.produced <= MAX_EXPANDED_BYTES {
            return Ok(());
        }
        let limit = format!("Substitutions expand to more than {} MiB of text", MAX_EXPANDED_BYTES / (1024 * 1024));
        Err(match path {
            Some(path) => {
                ResolveError { name: format!("${{{path}}}"), line, col, message: format!("{limit} (at ${{{path}}})") }
            }
            None => ResolveError { name: String::new(), line, col, message: limit },
        })
    }

    pub(crate) fn node(&mut self, node: &UNode) -> Result<Node, ResolveError> {
        self.resolve(node).map(|n| n.unwrap_or(Node { value: NodeValue::Null, line: node.pos.line }))
    }

    /// `None` when the value is an optional substitution that found nothing.
    fn resolve(&mut self, node: &UNode) -> Result<Option<Node>, ResolveError> {
        let line = node.pos.line;
        match &node.kind {
            UKind::Object(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                for (k, v) in fields {
                    if let Some(resolved) = self.resolve(v)? {
                        out.push((k.clone(), resolved));
                    }
                }
                Ok(Some(Node { value: NodeValue::Object(out), line }))
            }
            UKind::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(resolved) = self.resolve(item)? {
                        out.push(resolved);
                    }
                }
                Ok(Some(Node { value: NodeValue::Array(out), line }))
            }
            UKind::Value(pieces) => self.pieces(pieces, line),
        }
    }

    fn pieces(&mut self, pieces: &[Piece], line: u32) -> Result<Option<Node>, ResolveError> {
        let bytes: usize = pieces.iter().map(|p| if let Piece::Text { text, .. } = p { text.len() } else { 0 }).sum();
        self.charge(bytes, line, 1, None)?;
        if let [single] = pieces {
            return match single {
                Piece::Text { text, quoted: true } => Ok(Some(Node { value: NodeValue::String(text.clone()), line })),
                Piece::Text { text, quoted: false } => Ok(Some(Node { value: unquoted_value(text), line })),
                Piece::Space(s) => Ok(Some(Node { value: NodeValue::String(s.clone()), line })),
                Piece::Subst { path, optional, pos } => match self.lookup(path, pos.line, pos.col)? {
                    Found::Value(mut n) => {
                        n.line = line;
                        Ok(Some(n))
                    }
                    Found::Missing if *optional => Ok(None),
                    Found::Missing => Err(missing(path, pos.line, pos.col)),
                },
            };
        }
        // A concatenation: every piece becomes text.
        let mut text = String::new();
        let mut all_optional_missing = true;
        for piece in pieces {
            match piece {
                Piece::Text { text: t, .. } => {
                    all_optional_missing = false;
                    text.push_str(t);
                }
                Piece::Space(s) => text.push_str(s),
                Piece::Subst { path, optional, pos } => match self.lookup(path, pos.line, pos.col)? {
                    Found::Value(n) => {
                        all_optional_missing = false;
                        match scalar_text(&n) {
                            Some(t) => {
                                self.charge(t.len(), pos.line, pos.col, Some(path))?;
                                text.push_str(&t)
                            }
                            None => {
                                return Err(ResolveError {
                                    name: format!("${{{path}}}"),
                                    line: pos.line,
                                    col: pos.col,
                                    message: format!(
                                        "Cannot concatenate ${{{path}}}: it is an object or a list, not a simple value"
                                    ),
                                });
                            }
                        }
                    }
                    Found::Missing if *optional => {}
                    Found::Missing => return Err(missing(path, pos.line, pos.col)),
                },
            }
        }
        if all_optional_missing && pieces.iter().all(|p| !matches!(p, Piece::Text { .. })) {
            return Ok(None);
        }
        Ok(Some(Node { value: NodeValue::String(text), line }))
    }

    fn lookup(&mut self, path: &str, line: u32, col: u32) -> Result<Found, ResolveError> {
        self.substitutions += 1;
        if self.substitutions > MAX_SUBSTITUTIONS {
            return Err(ResolveError {
                name: format!("${{{path}}}"),
                line,
                col,
                message: format!(
                    "More than {MAX_SUBSTITUTIONS} substitutions while resolving this value (at ${{{path}}}): substitutions that refer to each other expand exponentially"
                ),
            });
        }
        if let Some(found) = self.vars.dynamic.as_ref().and_then(|root| root.path(path)) {
            return Ok(Found::Value(Node { value: found.value.clone(), line }));
        }
        if let Some(v) = self.vars.overrides.get(path) {
            return Ok(Found::Value(Node { value: NodeValue::String(v.clone()), line }));
        }
        if let Some(target) = find_path(self.doc.root(), path) {
            if self.stack.iter().any(|p| p == path) {
                return Err(ResolveError {
                    name: format!("${{{path}}}"),
                    line,
                    col,
                    message: format!("Substitution ${{{path}}} refers to itself (a cycle)"),
                });
            }
            self.stack.push(path.to_string());
            let result = self.resolve(target);
            self.stack.pop();
            if let Some(node) = result? {
                return Ok(Found::Value(node));
            }
        }
        if let Some(v) = self.vars.env.get(path) {
            return Ok(Found::Value(Node { value: NodeValue::String(v.clone()), line }));
        }
        Ok(Found::Missing)
    }
}

fn missing(path: &str, line: u32, col: u32) -> ResolveError {
    ResolveError {
        name: format!("${{{path}}}"),
        line,
        col,
        message: format!("Could not resolve substitution to a value: ${{{path}}}"),
    }
}

/// Finds `a.b.c` in the document.
fn find_path<'n>(root: &'n UNode, path: &str) -> Option<&'n UNode> {
    let mut node = root;
    for segment in path.split('.') {
        node = node.get(segment)?;
    }
    Some(node)
}

/// An unquoted scalar: number, boolean, null, or text.
fn unquoted_value(text: &str) -> NodeValue {
    match text {
        "true" => NodeValue::Bool(true),
        "false" => NodeValue::Bool(false),
        "null" => NodeValue::Null,
        _ => match serde_json::from_str::<serde_json::Number>(text) {
            Ok(n) if !text.starts_with('+') && !text.starts_with('.') => NodeValue::Number(n),
            _ => NodeValue::String(text.to_string()),
        },
    }
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::String(s) => Some(s.clone()),
        NodeValue::Number(n) => Some(n.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Null => Some("null".to_string()),
        _ => None,
    }
}
