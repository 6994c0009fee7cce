//! `abs(x)`: datafusion-spark's for numbers, plus Spark's `abs` of an interval (an interval
//! of the same kind). The most negative interval, whose absolute value Spark fails to
//! compute, is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{DataType, DurationMicrosecondType, IntervalYearMonthType};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::conditional::{arrays, result};
use crate::sql::functions::datetime::interval_fields::is_interval;

/// Spark's `abs`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Abs {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

/// The function, replacing datafusion-spark's `abs` (which it calls for numbers).
pub fn abs() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Abs {
        inner: datafusion_spark::function::math::abs(),
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

impl ScalarUDFImpl for Abs {
    fn name(&self) -> &str {
        "abs"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if let [t] = arg_types
            && is_interval(t)
        {
            return Ok(vec![t.clone()]);
        }
        crate::sql::functions::adapt::coerced(arg_types, &self.inner)
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if let [t] = arg_types
            && is_interval(t)
        {
            return Ok(t.clone());
        }
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<datafusion::arrow::datatypes::FieldRef> {
        if let [f] = args.arg_fields
            && is_interval(f.data_type())
        {
            return Ok(Arc::new(datafusion::arrow::datatypes::Field::new("abs", f.data_type().clone(), true)));
        }
        self.inner.return_field_from_args(args)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let [arg] = args.args.as_slice()
            && is_interval(&arg.data_type())
        {
            let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
            let x = &arrays[0];
            let out: ArrayRef = match x.data_type() {
                DataType::Interval(_) => Arc::new(
                    x.as_primitive::<IntervalYearMonthType>()
                        .iter()
                        .map(|v| v.and_then(i32::checked_abs))
                        .collect::<PrimitiveArray<IntervalYearMonthType>>(),
                ),
                _ => Arc::new(
                    x.as_primitive::<DurationMicrosecondType>()
                        .iter()
                        .map(|v| v.and_then(i64::checked_abs))
                        .collect::<PrimitiveArray<DurationMicrosecondType>>(),
                ),
            };
            return result(out, scalar);
        }
        self.inner.invoke_with_args(args)
    }
}
