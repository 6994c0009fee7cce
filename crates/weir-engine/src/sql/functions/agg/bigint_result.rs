//! DataFusion aggregates that count into an unsigned 64-bit integer where Spark returns
//! `bigint`: `regr_count` and `approx_count_distinct` (DataFusion's `approx_distinct`, a
//! HyperLogLog like Spark's; exact on small inputs).

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature};

/// `inner` with its result cast to `bigint`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BigintResult {
    name: &'static str,
    inner: Arc<AggregateUDF>,
}

/// `regr_count`, `approx_count_distinct`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    vec![
        Arc::new(AggregateUDF::from(BigintResult {
            name: "regr_count",
            inner: functions_aggregate::regr::regr_count_udaf(),
        })),
        Arc::new(AggregateUDF::from(BigintResult {
            name: "approx_count_distinct",
            inner: functions_aggregate::approx_distinct::approx_distinct_udaf(),
        })),
    ]
}

impl AggregateUDFImpl for BigintResult {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(BigintAccumulator { inner: self.inner.accumulator(acc_args)? }))
    }

    fn default_value(&self, _data_type: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }
}

#[derive(Debug)]
struct BigintAccumulator {
    inner: Box<dyn Accumulator>,
}

impl Accumulator for BigintAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.update_batch(values)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.evaluate()?.cast_to(&DataType::Int64)
    }

    fn size(&self) -> usize {
        self.inner.size() + std::mem::size_of::<Self>()
    }
}
