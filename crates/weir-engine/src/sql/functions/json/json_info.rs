//! `json_array_length(json)` (the number of elements of a top-level JSON array, an int; NULL
//! for anything else or invalid JSON), `json_object_keys(json)` (the keys of a top-level JSON
//! object in order, an array of strings; NULL otherwise) and `schema_of_json(json)` (the
//! schema Spark infers for a JSON text, as DDL: integers BIGINT, other numbers DOUBLE, NULL
//! STRING, struct fields sorted by name, conflicting types widened to DOUBLE or STRING).
//! `schema_of_json` takes the option `allowNumericLeadingZeros`; others are not supported yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Builder, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use serde_json::Value;

use crate::sql::functions::conditional::{arrays, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    ArrayLength,
    ObjectKeys,
    SchemaOf,
}

/// One of the JSON inspection functions.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonInfo {
    kind: Kind,
    signature: Signature,
}

/// `json_array_length`, `json_object_keys`, `schema_of_json`.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [Kind::ArrayLength, Kind::ObjectKeys, Kind::SchemaOf]
        .into_iter()
        .map(|kind| {
            Arc::new(ScalarUDF::from(JsonInfo { kind, signature: Signature::user_defined(Volatility::Immutable) }))
        })
        .collect()
}

/// A schema inferred from JSON values.
#[derive(Debug, Clone, PartialEq)]
enum Inferred {
    Null,
    Boolean,
    Bigint,
    Double,
    String,
    Array(Box<Inferred>),
    Struct(BTreeMap<String, Inferred>),
}

fn infer(value: &Value) -> Inferred {
    match value {
        Value::Null => Inferred::Null,
        Value::Bool(_) => Inferred::Boolean,
        Value::Number(n) if n.is_i64() => Inferred::Bigint,
        Value::Number(_) => Inferred::Double,
        Value::String(_) => Inferred::String,
        Value::Array(items) => Inferred::Array(Box::new(items.iter().map(infer).fold(Inferred::Null, merge))),
        Value::Object(map) => Inferred::Struct(map.iter().map(|(k, v)| (k.clone(), infer(v))).collect()),
    }
}

fn merge(a: Inferred, b: Inferred) -> Inferred {
    match (a, b) {
        (Inferred::Null, x) | (x, Inferred::Null) => x,
        (a, b) if a == b => a,
        (Inferred::Bigint, Inferred::Double) | (Inferred::Double, Inferred::Bigint) => Inferred::Double,
        (Inferred::Array(a), Inferred::Array(b)) => Inferred::Array(Box::new(merge(*a, *b))),
        (Inferred::Struct(mut a), Inferred::Struct(b)) => {
            for (k, v) in b {
                let merged = match a.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                a.insert(k, merged);
            }
            Inferred::Struct(a)
        }
        _ => Inferred::String,
    }
}

fn ddl(t: &Inferred) -> String {
    match t {
        Inferred::Null | Inferred::String => "STRING".into(),
        Inferred::Boolean => "BOOLEAN".into(),
        Inferred::Bigint => "BIGINT".into(),
        Inferred::Double => "DOUBLE".into(),
        Inferred::Array(e) => format!("ARRAY<{}>", ddl(e)),
        Inferred::Struct(fields) => {
            let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{}: {}", quote(k), ddl(v))).collect();
            format!("STRUCT<{}>", inner.join(", "))
        }
    }
}

/// A field name as Spark's DDL writes it (backquoted unless a plain identifier).
fn quote(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if plain { name.to_string() } else { format!("`{}`", name.replace('`', "``")) }
}

fn stringy(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
}

impl ScalarUDFImpl for JsonInfo {
    fn name(&self) -> &str {
        match self.kind {
            Kind::ArrayLength => "json_array_length",
            Kind::ObjectKeys => "json_object_keys",
            Kind::SchemaOf => "schema_of_json",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if stringy(t) => Ok(vec![DataType::Utf8]),
            [t, DataType::Map(..)] if stringy(t) && self.kind == Kind::SchemaOf => {
                Ok(vec![DataType::Utf8, arg_types[1].clone()])
            }
            _ => plan_err!("function {} is not supported yet: arguments {arg_types:?}", self.name()),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::ArrayLength => DataType::Int32,
            Kind::ObjectKeys => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            Kind::SchemaOf => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let Some(text) = text.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("{} expects a string", self.name());
        };
        let parsed = |i: usize| -> Option<Value> {
            if text.is_null(i) { None } else { serde_json::from_str(text.value(i)).ok() }
        };
        let out: ArrayRef = match self.kind {
            Kind::ArrayLength => {
                let mut b = Int32Builder::with_capacity(text.len());
                for i in 0..text.len() {
                    match parsed(i) {
                        Some(Value::Array(items)) => b.append_option(i32::try_from(items.len()).ok()),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::ObjectKeys => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for i in 0..text.len() {
                    match parsed(i) {
                        Some(Value::Object(map)) => {
                            map.keys().for_each(|k| b.values().append_value(k));
                            b.append(true);
                        }
                        _ => b.append(false),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::SchemaOf => {
                let leading_zeros = match args.args.get(1) {
                    Some(options) => leading_zeros_option(options)?,
                    None => false,
                };
                let mut b = StringBuilder::with_capacity(text.len(), 32);
                for i in 0..text.len() {
                    if text.is_null(i) {
                        b.append_null();
                        continue;
                    }
                    let json = if leading_zeros {
                        std::borrow::Cow::Owned(strip_leading_zeros(text.value(i)))
                    } else {
                        std::borrow::Cow::Borrowed(text.value(i))
                    };
                    match serde_json::from_str::<Value>(&json) {
                        Ok(v) => b.append_value(ddl(&infer(&v))),
                        Err(_) => b.append_value("STRING"),
                    }
                }
                Arc::new(b.finish())
            }
        };
        result(out, scalar)
    }
}

/// `schema_of_json`'s options: only `allowNumericLeadingZeros` is supported.
fn leading_zeros_option(options: &ColumnarValue) -> Result<bool> {
    use datafusion::arrow::array::AsArray;
    let array = options.to_array(1)?;
    let mut allow = false;
    if array.is_empty() || array.is_null(0) {
        return Ok(allow);
    }
    let entries = array.as_map().value(0);
    let keys = cast(entries.column(0), &DataType::Utf8)?;
    let values = cast(entries.column(1), &DataType::Utf8)?;
    let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
    for i in 0..keys.len() {
        let value = if values.is_null(i) { String::new() } else { values.value(i).to_ascii_lowercase() };
        match (keys.value(i).to_ascii_lowercase().as_str(), value.as_str()) {
            ("allownumericleadingzeros", "true") => allow = true,
            ("allownumericleadingzeros", "false") => allow = false,
            (key, _) => return exec_err!("schema_of_json: option {key} is not supported yet"),
        }
    }
    Ok(allow)
}

/// JSON text with the leading zeros of its numbers dropped (`01` → `1`), strings untouched.
fn strip_leading_zeros(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut previous: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '0'
            && !previous.is_some_and(|p| p.is_ascii_digit() || p == '.' || p == 'e' || p == 'E')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            // A leading zero before another digit: dropped.
            i += 1;
            continue;
        } else {
            out.push(c);
        }
        previous = Some(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn leading_zeros() {
        assert_eq!(
            super::strip_leading_zeros(r#"[{"col":01, "s":"01"}, 0.5, 007]"#),
            r#"[{"col":1, "s":"01"}, 0.5, 7]"#
        );
    }

    use super::*;

    #[test]
    fn schemas() {
        let s = |t: &str| ddl(&infer(&serde_json::from_str(t).expect("json")));
        assert_eq!(s(r#"[{"col":0}]"#), "ARRAY<STRUCT<col: BIGINT>>");
        assert_eq!(
            s(r#"{"a":1,"b":[1.5],"c":{"d":"x"}}"#),
            "STRUCT<a: BIGINT, b: ARRAY<DOUBLE>, c: STRUCT<d: STRING>>"
        );
        assert_eq!(s(r#"{"a":null}"#), "STRUCT<a: STRING>");
        assert_eq!(s("[1, 2.5]"), "ARRAY<DOUBLE>");
    }
}
