//! Typed access to one resolved stage object, with Arc's validation messages.
//!
//! A stage's `build` function asks [`StageConfig`] for each attribute it knows. Every
//! lookup is remembered, so once the stage has asked for everything, [`StageConfig::finish`]
//! reports the keys nobody asked for as `Invalid attribute 'x'. Perhaps you meant one of:
//! ['y'].` Problems are collected rather than returned one at a time, so a job with several
//! mistakes reports them all at once, each with its attribute and line.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use weir_config::hocon::{Node, NodeValue};

/// One problem with one attribute of a stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    pub attribute: String,
    #[serde(rename = "lineNumber", skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

impl ConfigError {
    pub fn new(attribute: impl Into<String>, line: Option<u32>, message: impl Into<String>) -> Self {
        Self { attribute: attribute.into(), line, message: message.into() }
    }
}

/// Keys every stage accepts (handled by the job loader, not by the stage).
pub const COMMON_KEYS: &[&str] = &["type", "name", "environments", "id", "description", "resolution", "params"];

/// Reader over one stage object.
pub struct StageConfig<'a> {
    fields: &'a [(String, Node)],
    line: u32,
    asked: BTreeSet<String>,
    errors: Vec<ConfigError>,
}

impl<'a> StageConfig<'a> {
    /// Wraps a resolved stage object. A non-object node yields an empty config with one error.
    pub fn new(node: &'a Node) -> Self {
        let mut config = Self { fields: &[], line: node.line, asked: BTreeSet::new(), errors: Vec::new() };
        match &node.value {
            NodeValue::Object(fields) => config.fields = fields,
            _ => config.errors.push(ConfigError::new("stage", Some(node.line), "Expected a stage object.")),
        }
        for key in COMMON_KEYS {
            config.asked.insert((*key).to_string());
        }
        config
    }

    /// Line where the stage object starts.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// Records a problem found by the stage itself.
    pub fn error(&mut self, attribute: &str, message: impl Into<String>) {
        let line = self.line_of(attribute);
        self.errors.push(ConfigError::new(attribute, line, message));
    }

    /// Line of an attribute, when it is present.
    pub fn line_of(&self, key: &str) -> Option<u32> {
        self.lookup(key).map(|n| n.line)
    }

    fn lookup(&self, key: &str) -> Option<&'a Node> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, n)| n)
    }

    /// The raw node of an attribute (marks it as known).
    pub fn node(&mut self, key: &str) -> Option<&'a Node> {
        self.asked.insert(key.to_string());
        self.lookup(key).filter(|n| !matches!(n.value, NodeValue::Null))
    }

    /// True when the attribute is present (marks it as known).
    pub fn has(&mut self, key: &str) -> bool {
        self.node(key).is_some()
    }

    fn wrong_type(&mut self, key: &str, node: &Node, expected: &str) {
        self.errors.push(ConfigError::new(key, Some(node.line), format!("Wrong type, expected: '{expected}'.")));
    }

    fn missing(&mut self, key: &str) {
        self.errors.push(ConfigError::new(key, None, format!("Missing required attribute '{key}'.")));
    }

    /// An optional string; numbers and booleans are accepted as their text (Typesafe coercion).
    pub fn string(&mut self, key: &str) -> Option<String> {
        let node = self.node(key)?;
        match scalar_text(node) {
            Some(s) => Some(s),
            None => {
                self.wrong_type(key, node, "string");
                None
            }
        }
    }

    /// A required string.
    pub fn required_string(&mut self, key: &str) -> Option<String> {
        if self.node(key).is_none() {
            self.missing(key);
            return None;
        }
        self.string(key)
    }

    /// An optional boolean (`true`/`yes`/`on` and `false`/`no`/`off` strings accepted).
    pub fn bool(&mut self, key: &str) -> Option<bool> {
        let node = self.node(key)?;
        let parsed = match &node.value {
            NodeValue::Bool(b) => Some(*b),
            NodeValue::String(s) => match s.as_str() {
                "true" | "yes" | "on" => Some(true),
                "false" | "no" | "off" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(key, node, "boolean");
        }
        parsed
    }

    /// A boolean with a default.
    pub fn bool_or(&mut self, key: &str, default: bool) -> bool {
        self.bool(key).unwrap_or(default)
    }

    /// An optional number read by `from_json` (a string holding one is accepted, as Typesafe
    /// coerces); otherwise Arc's wrong-type error naming `kind`.
    fn number<T: std::str::FromStr>(
        &mut self,
        key: &str,
        kind: &str,
        from_json: impl Fn(&serde_json::Number) -> Option<T>,
    ) -> Option<T> {
        let node = self.node(key)?;
        let parsed = match &node.value {
            NodeValue::Number(n) => from_json(n),
            NodeValue::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.wrong_type(key, node, kind);
        }
        parsed
    }

    /// An optional integer (numeric strings accepted).
    pub fn int(&mut self, key: &str) -> Option<i64> {
        self.number(key, "int", serde_json::Number::as_i64)
    }

    /// An optional number (numeric strings accepted).
    pub fn double(&mut self, key: &str) -> Option<f64> {
        self.number(key, "double", serde_json::Number::as_f64)
    }

    /// An optional positive integer that fits in `usize`.
    pub fn positive(&mut self, key: &str) -> Option<usize> {
        let value = self.int(key)?;
        if value < 1 {
            self.error(key, format!("'{key}' must be greater than 0 but is {value}."));
            return None;
        }
        usize::try_from(value).ok()
    }

    /// An optional list of strings (a single string is accepted as a one-element list).
    pub fn string_list(&mut self, key: &str) -> Option<Vec<String>> {
        let node = self.node(key)?;
        match &node.value {
            NodeValue::Array(items) => {
                let texts: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                if texts.is_none() {
                    self.wrong_type(key, node, "string array");
                }
                texts
            }
            NodeValue::String(s) => Some(vec![s.clone()]),
            _ => {
                self.wrong_type(key, node, "string array");
                None
            }
        }
    }

    /// An optional object of string values (`sqlParams`, `options`), in file order.
    pub fn string_map(&mut self, key: &str) -> Option<Vec<(String, String)>> {
        let node = self.node(key)?;
        match &node.value {
            NodeValue::Object(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    match scalar_text(v) {
                        Some(text) => out.push((k.clone(), text)),
                        None => self.errors.push(ConfigError::new(
                            format!("{key}.{k}"),
                            Some(v.line),
                            "Wrong type, expected: 'string'.",
                        )),
                    }
                }
                Some(out)
            }
            _ => {
                self.wrong_type(key, node, "object");
                None
            }
        }
    }

    /// An optional object, returned as a nested reader over its keys.
    pub fn object(&mut self, key: &str) -> Option<&'a Node> {
        let node = self.node(key)?;
        if matches!(node.value, NodeValue::Object(_)) {
            Some(node)
        } else {
            self.wrong_type(key, node, "object");
            None
        }
    }

    /// One of a fixed set of values (case-sensitive, as Arc), with a default when absent.
    pub fn choice<T: Copy>(&mut self, key: &str, choices: &[(&str, T)], default: T) -> Option<T> {
        let Some(text) = self.string(key) else {
            return if self.lookup(key).is_some() { None } else { Some(default) };
        };
        if let Some((_, v)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*v);
        }
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("'{n}'")).collect();
        self.error(key, format!("Invalid value '{text}'. Expected one of: [{}].", names.join(", ")));
        None
    }

    /// Merges the errors of a nested reader (e.g. a clause object) under a prefix.
    pub fn absorb(&mut self, prefix: &str, nested: StageConfig<'_>) {
        for mut e in nested.finish_errors() {
            e.attribute = format!("{prefix}.{}", e.attribute);
            self.errors.push(e);
        }
    }

    /// Checks for attributes nobody asked for and returns every problem found.
    pub fn finish(self) -> Result<(), Vec<ConfigError>> {
        let errors = self.finish_errors();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    fn finish_errors(mut self) -> Vec<ConfigError> {
        for (key, node) in self.fields {
            if self.asked.contains(key) {
                continue;
            }
            let suggestions = did_you_mean(key, self.asked.iter().map(String::as_str));
            let message = if suggestions.is_empty() {
                format!("Invalid attribute '{key}'.")
            } else {
                let quoted: Vec<String> = suggestions.iter().map(|s| format!("'{s}'")).collect();
                format!("Invalid attribute '{key}'. Perhaps you meant one of: [{}].", quoted.join(", "))
            };
            self.errors.push(ConfigError::new(key.clone(), Some(node.line), message));
        }
        self.errors
    }
}

/// A nested reader for a clause object such as `whenMatchedUpdate` (no common keys).
pub fn nested(node: &Node) -> StageConfig<'_> {
    let mut config = StageConfig::new(node);
    config.asked.clear();
    config
}

/// Candidates within Levenshtein distance < 4, closest first (Arc's rule).
pub fn did_you_mean<'b>(key: &str, candidates: impl Iterator<Item = &'b str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = candidates
        .map(|c| (strsim::levenshtein(&key.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d < 4)
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, c)| c.to_string()).collect()
}

/// Text of a scalar node (string, number or boolean).
pub fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::String(s) => Some(s.clone()),
        NodeValue::Number(n) => Some(n.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Converts a node to JSON for logs.
pub fn to_json_map(entries: &[(String, String)]) -> Map<String, Value> {
    entries.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
}
