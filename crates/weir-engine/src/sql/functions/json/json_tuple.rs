//! `json_tuple(json, k1, k2, ...)` is a generator in Spark: it yields one column per key
//! (`c0`, `c1`, ...) and is used with `LATERAL VIEW` or directly in a `SELECT`. A scalar
//! function cannot produce several columns, so Weir refuses it at plan time rather than
//! return one struct column.

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// `json_tuple` (not supported yet).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonTuple {
    signature: Signature,
}

impl JsonTuple {
    pub fn new() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl Default for JsonTuple {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for JsonTuple {
    fn name(&self) -> &str {
        "json_tuple"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("function json_tuple is not supported yet: it is a generator of several columns")
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        plan_err!("function json_tuple is not supported yet: it is a generator of several columns")
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        plan_err!("function json_tuple is not supported yet: it is a generator of several columns")
    }
}

/// `json_tuple_field(json, key)`: one column of Spark's `json_tuple` (the SQL rewrite turns
/// `json_tuple(json, k1, k2…)` into one call per key): the value of the top-level `key` of a
/// JSON object, a string unquoted and anything else as JSON text; NULL for a JSON `null`, a
/// missing key, or text that is not a JSON object.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonTupleField {
    signature: Signature,
}

impl JsonTupleField {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for JsonTupleField {
    fn default() -> Self {
        Self::new()
    }
}

fn text_like(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
}

impl ScalarUDFImpl for JsonTupleField {
    fn name(&self) -> &str {
        "json_tuple_field"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, b] if text_like(a) && text_like(b) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            _ => plan_err!("function json_tuple with these arguments is not supported yet: {args:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray, StringArray};
        use datafusion::common::ScalarValue;
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let json = args.args[0].to_array(rows)?;
        let key = args.args[1].to_array(rows)?;
        let (json, key) = (json.as_string::<i32>(), key.as_string::<i32>());
        let result: StringArray = (0..rows)
            .map(|i| {
                if json.is_null(i) || key.is_null(i) {
                    return None;
                }
                let value: serde_json::Value = serde_json::from_str(json.value(i)).ok()?;
                match value.as_object()?.get(key.value(i))? {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                }
            })
            .collect();
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(std::sync::Arc::new(result)))
    }
}
