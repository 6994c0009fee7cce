//! Spark conditional and predicate functions (`conditional_funcs`, `predicate_funcs`).

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};

pub mod null_tests;
pub mod nullif;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut functions = null_tests::functions();
    // `nvl(a, b)` and `ifnull(a, b)` are `coalesce(a, b)` with coalesce's type rules (an
    // array stays an array), text winning over numbers as in Spark.
    let coalesce = super::adapt::adapt(
        "coalesce",
        datafusion::functions::core::coalesce(),
        super::adapt::Recipe { text_wins: true, ..Default::default() },
    );
    functions.push(Arc::new(coalesce.as_ref().clone().with_aliases(["nvl", "ifnull"])));
    functions.push(nullif::udf());
    functions
}

/// The arguments as arrays of `rows` rows, and whether all were scalars (then `rows` is 1).
pub(crate) fn arrays(args: &[ColumnarValue], rows: usize) -> Result<(Vec<ArrayRef>, bool)> {
    let scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if scalar { 1 } else { rows };
    Ok((args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<_>>>()?, scalar))
}

/// `array` as the function's result: a scalar when every argument was.
pub(crate) fn result(array: ArrayRef, scalar: bool) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?))
    } else {
        Ok(ColumnarValue::Array(array))
    }
}
