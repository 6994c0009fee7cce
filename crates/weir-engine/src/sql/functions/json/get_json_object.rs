//! `get_json_object(json, path)`: the value at a JSONPath (`$`, `.name`, `['name']`, `[n]`,
//! `[*]`, `.*`) of a JSON text. A string value comes back unquoted, JSON `null`, a missing
//! path, invalid JSON or an invalid path give NULL, and anything else comes back as compact
//! JSON. A wildcard collects its matches into a JSON array (one match is returned alone, as
//! Spark does).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use serde_json::Value;

use crate::sql::functions::conditional::{arrays, result};

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
    /// `[*]` or `.*`.
    Any,
}

/// Parses Spark's JSON path subset; `None` for an invalid path.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                if chars.get(i) == Some(&'*') {
                    steps.push(Step::Any);
                    i += 1;
                    continue;
                }
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                if start == i {
                    return None;
                }
                steps.push(Step::Key(chars[start..i].iter().collect()));
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'\'') {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    if chars.get(i + 1) != Some(&']') {
                        return None;
                    }
                    steps.push(Step::Key(chars[start..i].iter().collect()));
                    i += 2;
                } else {
                    let start = i;
                    while i < chars.len() && chars[i] != ']' {
                        i += 1;
                    }
                    if i >= chars.len() {
                        return None;
                    }
                    let inner: String = chars[start..i].iter().collect();
                    i += 1;
                    if inner.trim() == "*" {
                        steps.push(Step::Any);
                    } else {
                        steps.push(Step::Index(inner.trim().parse().ok()?));
                    }
                }
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// The values `steps` reach from `value`, and whether a wildcard was crossed.
fn walk<'a>(value: &'a Value, steps: &[Step], out: &mut Vec<&'a Value>, wild: &mut bool) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(value);
        return;
    };
    match (step, value) {
        (Step::Key(k), Value::Object(map)) => {
            if let Some(v) = map.get(k) {
                walk(v, rest, out, wild);
            }
        }
        (Step::Index(n), Value::Array(items)) => {
            if let Some(v) = items.get(*n) {
                walk(v, rest, out, wild);
            }
        }
        (Step::Any, Value::Array(items)) => {
            *wild = true;
            items.iter().for_each(|v| walk(v, rest, out, wild));
        }
        (Step::Any, Value::Object(map)) => {
            *wild = true;
            map.values().for_each(|v| walk(v, rest, out, wild));
        }
        _ => {}
    }
}

/// The text `get_json_object` returns for `json` at `steps`.
fn extract(json: &str, steps: &[Step]) -> Option<String> {
    let value: Value = serde_json::from_str(json).ok()?;
    let mut found = Vec::new();
    let mut wild = false;
    walk(&value, steps, &mut found, &mut wild);
    let picked = match (found.len(), wild) {
        (0, _) => return None,
        (1, _) => found[0].clone(),
        _ => Value::Array(found.into_iter().cloned().collect()),
    };
    match picked {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// `get_json_object`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct GetJsonObject {
    signature: Signature,
}

impl GetJsonObject {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for GetJsonObject {
    fn default() -> Self {
        Self::new()
    }
}

fn stringy(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
}

impl ScalarUDFImpl for GetJsonObject {
    fn name(&self) -> &str {
        "get_json_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [a, b] if stringy(a) && stringy(b) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("function get_json_object is not supported yet: arguments {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let json = cast(&arrays[0], &DataType::Utf8)?;
        let paths = cast(&arrays[1], &DataType::Utf8)?;
        let (json, paths) = (
            json.as_any().downcast_ref::<datafusion::arrow::array::StringArray>(),
            paths.as_any().downcast_ref::<datafusion::arrow::array::StringArray>(),
        );
        let (Some(json), Some(paths)) = (json, paths) else {
            return datafusion::common::exec_err!("get_json_object expects strings");
        };
        let mut out = StringBuilder::with_capacity(json.len(), json.len() * 8);
        // The path is usually a constant: parse it once.
        let mut cached: Option<(String, Option<Vec<Step>>)> = None;
        for i in 0..json.len() {
            if json.is_null(i) || paths.is_null(i) {
                out.append_null();
                continue;
            }
            let path = paths.value(i);
            if cached.as_ref().is_none_or(|(p, _)| p != path) {
                cached = Some((path.to_string(), parse_path(path)));
            }
            match cached.as_ref().and_then(|(_, steps)| steps.as_ref()).and_then(|s| extract(json.value(i), s)) {
                Some(text) => out.append_value(text),
                None => out.append_null(),
            }
        }
        let array: ArrayRef = Arc::new(out.finish());
        result(array, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(json: &str, path: &str) -> Option<String> {
        extract(json, &parse_path(path)?)
    }

    #[test]
    fn paths() {
        assert_eq!(get(r#"{"a":"b"}"#, "$.a").as_deref(), Some("b"));
        assert_eq!(get(r#"[{"a":"b"},{"a":"c"}]"#, "$[0].a").as_deref(), Some("b"));
        assert_eq!(get(r#"[{"a":"b"},{"a":"c"}]"#, "$[*].a").as_deref(), Some(r#"["b","c"]"#));
        assert_eq!(get(r#"{"a b":1}"#, "$['a b']").as_deref(), Some("1"));
        assert_eq!(get(r#"{"a":{"b":1}}"#, "$.a").as_deref(), Some(r#"{"b":1}"#));
        assert_eq!(get(r#"{"a":null}"#, "$.a"), None);
        assert_eq!(get("not json", "$.a"), None);
        assert_eq!(get(r#"{"a":1}"#, "$").as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(get(r#"{"a":1}"#, "a"), None);
    }
}
