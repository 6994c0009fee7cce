//! Spark's typed interval literals: `weir_interval_ym(months)` is an `interval year to month`
//! (Arrow `Interval(YearMonth)`) and `weir_interval_dt(micros)` an `interval day to second`
//! (Arrow `Duration(Microsecond)`). [`crate::sql::interval`] writes every Spark interval
//! literal as one of these calls; constant folding makes them literals. `weir_interval_days`
//! is `weir_interval_dt` for a literal in days only (Spark's `interval day`), which the
//! planner adds to dates as a number of days. A second argument, Spark's name of the
//! literal's subtype (`'interval month'`, `'interval hour to second'`), becomes the result
//! field's metadata ([`crate::sql::types::SPARK_TYPE_KEY`]).

use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, IntervalUnit, TimeUnit};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// One of the two literal constructors.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalLiteral {
    year_month: bool,
    /// `weir_interval_days`: a day-time literal in whole days (Spark's `interval day`).
    days: bool,
    signature: Signature,
}

/// `weir_interval_ym`, `weir_interval_dt` and `weir_interval_days`.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [(true, false), (false, false), (false, true)]
        .into_iter()
        .map(|(year_month, days)| {
            Arc::new(ScalarUDF::from(IntervalLiteral {
                year_month,
                days,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

impl IntervalLiteral {
    fn input(&self) -> DataType {
        if self.year_month { DataType::Int32 } else { DataType::Int64 }
    }
    fn output(&self) -> DataType {
        if self.year_month {
            DataType::Interval(IntervalUnit::YearMonth)
        } else {
            DataType::Duration(TimeUnit::Microsecond)
        }
    }
}

impl ScalarUDFImpl for IntervalLiteral {
    fn name(&self) -> &str {
        match (self.year_month, self.days) {
            (true, _) => "weir_interval_ym",
            (false, false) => "weir_interval_dt",
            (false, true) => "weir_interval_days",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let number = |t: &DataType| t.is_integer() || t.is_null();
        match arg_types {
            [t] if number(t) => Ok(vec![self.input()]),
            [t, _] if number(t) => Ok(vec![self.input(), DataType::Utf8]),
            _ => plan_err!("{} takes an integer and the name of its type", self.name()),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.output())
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = args.arg_fields.first().is_none_or(|f| f.is_nullable());
        let subtype = match args.scalar_arguments.get(1) {
            Some(Some(ScalarValue::Utf8(Some(name)))) => Some(name.as_str()),
            _ => None,
        };
        let field = Field::new(self.name(), self.output(), nullable);
        Ok(Arc::new(crate::sql::types::with_interval_subtype(field, subtype)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match &args.args[0] {
            ColumnarValue::Scalar(s) => {
                let array = cast(&s.to_array()?, &self.output())?;
                Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&array, 0)?))
            }
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(cast(a, &self.output())?)),
        }
    }
}
