//! `sort_array(arr[, asc])`: Spark sorts ascending with NULLs first, or descending with NULLs
//! last. `asc` must be a constant boolean.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::functions_nested as nested;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::super::adapt::{Recipe, adapt, coerced};

/// `sort_array`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SortArray {
    signature: Signature,
    asc: Arc<ScalarUDF>,
    desc: Arc<ScalarUDF>,
}

fn utf8(text: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(text.to_string()))
}

impl SortArray {
    pub fn new() -> Self {
        let asc = adapt(
            "sort_array",
            nested::sort::array_sort_udf(),
            Recipe { extra: vec![utf8("ASC"), utf8("NULLS FIRST")], ..Default::default() },
        );
        let desc = adapt(
            "sort_array",
            nested::sort::array_sort_udf(),
            Recipe { extra: vec![utf8("DESC"), utf8("NULLS LAST")], ..Default::default() },
        );
        Self { signature: Signature::user_defined(Volatility::Immutable), asc, desc }
    }

    fn order(&self, flag: Option<&ColumnarValue>) -> Result<&Arc<ScalarUDF>> {
        match flag {
            None | Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)))) => Ok(&self.asc),
            Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(false)))) => Ok(&self.desc),
            Some(_) => exec_err!("sort_array: the sort order must be a constant boolean (true or false)"),
        }
    }
}

impl Default for SortArray {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SortArray {
    fn name(&self) -> &str {
        "sort_array"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [list] => coerced(&[list.clone()], &self.asc),
            [list, DataType::Boolean] => {
                let mut types = coerced(&[list.clone()], &self.asc)?;
                types.push(DataType::Boolean);
                Ok(types)
            }
            _ => plan_err!("function sort_array with these arguments is not supported yet: {args:?}"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        datafusion::common::internal_err!("sort_array computes its type from its arguments' fields")
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if args.arg_fields.len() == 2
            && !matches!(args.scalar_arguments.get(1), Some(Some(ScalarValue::Boolean(Some(_)))))
        {
            return plan_err!(
                "function sort_array is not supported yet: with a sort order that is not a boolean literal"
            );
        }
        self.asc.return_field_from_args(ReturnFieldArgs {
            arg_fields: &args.arg_fields[..1],
            scalar_arguments: &args.scalar_arguments[..1],
        })
    }
    fn invoke_with_args(&self, mut args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let inner = self.order(args.args.get(1))?.clone();
        args.args.truncate(1);
        args.arg_fields.truncate(1);
        inner.invoke_with_args(args)
    }
}
