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
