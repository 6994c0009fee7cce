//! `avg` / `try_avg` of intervals: Spark sums in the interval's own type (months as an int,
//! microseconds as a bigint) and divides the sum by the count rounding half away from zero
//! (`HALF_UP`), giving an interval of the same kind. A sum that overflows fails `avg` and
//! makes `try_avg` NULL; no values give NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, IntervalUnit};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

use crate::sql::functions::datetime::interval_fields::{as_i64, is_interval};

/// The average of an interval column.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalAvg {
    name: &'static str,
    /// `try_avg`: NULL instead of an error on overflow.
    try_: bool,
    signature: Signature,
}

/// `avg` (failing on overflow) or `try_avg` of intervals.
pub fn interval_avg(try_: bool) -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(IntervalAvg {
        name: if try_ { "try_avg" } else { "avg" },
        try_,
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

impl AggregateUDFImpl for IntervalAvg {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if is_interval(t) => Ok(vec![t.clone()]),
            _ => exec_err!("{}: expected an interval argument", self.name),
        }
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "sum"), DataType::Int64, true)),
            Arc::new(Field::new(format_state_name(args.name, "count"), DataType::Int64, true)),
            Arc::new(Field::new(format_state_name(args.name, "overflow"), DataType::Boolean, true)),
        ])
    }
    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let output = acc_args.expr_fields[0].data_type().clone();
        Ok(Box::new(IntervalAvgAccumulator { output, try_: self.try_, sum: 0, count: 0, overflow: false }))
    }
}

#[derive(Debug)]
struct IntervalAvgAccumulator {
    output: DataType,
    try_: bool,
    sum: i64,
    count: i64,
    overflow: bool,
}

impl IntervalAvgAccumulator {
    fn add(&mut self, v: i64) -> Result<()> {
        let limit_ok =
            |s: i64| !matches!(self.output, DataType::Interval(IntervalUnit::YearMonth)) || i32::try_from(s).is_ok();
        match self.sum.checked_add(v).filter(|s| limit_ok(*s)) {
            Some(s) => self.sum = s,
            None if self.try_ => self.overflow = true,
            None => return exec_err!("[ARITHMETIC_OVERFLOW] the sum of the intervals overflows in avg"),
        }
        Ok(())
    }
}

impl Accumulator for IntervalAvgAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = as_i64(&values[0])?;
        for v in values.as_primitive::<Int64Type>().iter().flatten() {
            self.count += 1;
            self.add(v)?;
        }
        Ok(())
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (sums, counts, overflows) =
            (states[0].as_primitive::<Int64Type>(), states[1].as_primitive::<Int64Type>(), states[2].as_boolean());
        for i in 0..sums.len() {
            if overflows.is_valid(i) && overflows.value(i) {
                self.overflow = true;
            }
            if counts.is_valid(i) {
                self.count += counts.value(i);
            }
            if sums.is_valid(i) {
                self.add(sums.value(i))?;
            }
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.sum)),
            ScalarValue::Int64(Some(self.count)),
            ScalarValue::Boolean(Some(self.overflow)),
        ])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mean = if self.count == 0 || self.overflow {
            None
        } else {
            crate::sql::functions::math::interval_arith::div_half_up(self.sum, self.count)
        };
        let array: ArrayRef = Arc::new(Int64Array::from(vec![mean]));
        let typed = match &self.output {
            DataType::Interval(_) => {
                let months: datafusion::arrow::array::IntervalYearMonthArray =
                    array.as_primitive::<Int64Type>().iter().map(|v| v.and_then(|v| i32::try_from(v).ok())).collect();
                Arc::new(months) as ArrayRef
            }
            _ => Arc::new(
                array
                    .as_primitive::<Int64Type>()
                    .reinterpret_cast::<datafusion::arrow::datatypes::DurationMicrosecondType>(),
            ),
        };
        ScalarValue::try_from_array(&typed, 0)
    }
    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}
