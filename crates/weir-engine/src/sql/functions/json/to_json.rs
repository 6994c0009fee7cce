//! `to_json(struct | map | array)`: the value as JSON text, as Spark renders it (null
//! struct fields left out, nested values as JSON, timestamps as ISO-8601 text).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringBuilder, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::json::writer::{JsonArray, WriterBuilder};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// `to_json`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToJson {
    signature: Signature,
}

impl ToJson {
    pub fn new() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl Default for ToJson {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `t` holds a map keyed by something other than strings (Spark writes those keys as
/// their string casts; Arrow's JSON writer cannot).
fn has_non_string_map_key(t: &DataType) -> bool {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                !matches!(kv[0].data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                    || has_non_string_map_key(kv[1].data_type())
            }
            _ => true,
        },
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            has_non_string_map_key(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| has_non_string_map_key(f.data_type())),
        _ => false,
    }
}

/// Renders each row of `array` as JSON text; null rows stay null.
pub fn to_json_strings(array: &ArrayRef) -> Result<ArrayRef> {
    let (batch, unwrap) = match array.data_type() {
        DataType::Struct(_) => {
            let structs = array.as_any().downcast_ref::<StructArray>().expect("struct array");
            (RecordBatch::from(structs.clone()), false)
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) | DataType::FixedSizeList(..) => {
            let schema = Arc::new(Schema::new(vec![Field::new("v", array.data_type().clone(), true)]));
            (RecordBatch::try_new(schema, vec![array.clone()])?, true)
        }
        other => return exec_err!("to_json expects a struct, map or array, not {other}"),
    };
    let mut buffer = Vec::new();
    {
        let mut writer = WriterBuilder::new().with_explicit_nulls(false).build::<_, JsonArray>(&mut buffer);
        writer.write(&batch)?;
        writer.finish()?;
    }
    let rows: Vec<serde_json::Value> = if buffer.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&buffer).map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))?
    };
    let mut out = StringBuilder::with_capacity(array.len(), array.len() * 32);
    for (i, row) in rows.iter().enumerate().take(array.len()) {
        if array.is_null(i) {
            out.append_null();
            continue;
        }
        let value = if unwrap { row.get("v").cloned().unwrap_or(serde_json::Value::Null) } else { row.clone() };
        out.append_value(value.to_string());
    }
    for _ in rows.len()..array.len() {
        out.append_null();
    }
    Ok(Arc::new(out.finish()))
}

impl ScalarUDFImpl for ToJson {
    fn name(&self) -> &str {
        "to_json"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() != 1 {
            return datafusion::common::plan_err!("function to_json is not supported yet: with options");
        }
        if has_non_string_map_key(&arg_types[0]) {
            return datafusion::common::plan_err!(
                "function to_json is not supported yet: a map whose keys are not strings"
            );
        }
        if let Some(t) = spark_rendered(&arg_types[0]) {
            return datafusion::common::plan_err!(
                "function to_json is not supported yet: values of type {t} (Spark's JSON text differs)"
            );
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let is_scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let array = args.args[0].to_array(if is_scalar { 1 } else { args.number_rows })?;
        let result = to_json_strings(&array)?;
        if is_scalar {
            Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

/// A nested type whose JSON text Spark writes differently from Arrow's writer (timestamps
/// with a zone suffix, decimals with their scale, NaN as a string).
fn spark_rendered(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Timestamp(..)
        | DataType::Decimal128(..)
        | DataType::Float32
        | DataType::Float64
        | DataType::Interval(_)
        | DataType::Duration(_)
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
        | DataType::Time32(_)
        | DataType::Time64(_) => Some(t.clone()),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => {
            spark_rendered(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().find_map(|f| spark_rendered(f.data_type())),
        _ => None,
    }
}
