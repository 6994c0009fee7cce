//! `collect_set(x)`: the distinct non-null values as an array (empty for no values). Spark's
//! order is its hash set's; for the common small-integer and string cases that is ascending,
//! so Weir sorts.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::array_agg::DistinctArrayAggAccumulator;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

/// `collect_set`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CollectSet {
    signature: Signature,
}

impl CollectSet {
    pub fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl Default for CollectSet {
    fn default() -> Self {
        Self::new()
    }
}

fn empty_list(list_type: &DataType) -> Result<ScalarValue> {
    match list_type {
        DataType::List(f) => Ok(ScalarValue::List(ScalarValue::new_list_nullable(&[], f.data_type()))),
        other => ScalarValue::try_from(other),
    }
}

impl AggregateUDFImpl for CollectSet {
    fn name(&self) -> &str {
        "collect_set"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(arg_types[0].clone(), true))))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Field::new_list(
                format_state_name(args.name, "collect_set"),
                Field::new_list_field(args.input_fields[0].data_type().clone(), true),
                true,
            )
            .into(),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let element_type = acc_args.expr_fields[0].data_type().clone();
        let sort = SortOptions { descending: false, nulls_first: true };
        Ok(Box::new(SortedSet {
            inner: DistinctArrayAggAccumulator::try_new(&element_type, Some(sort), true)?,
            list_type: acc_args.return_type().clone(),
        }))
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        empty_list(data_type)
    }
}

#[derive(Debug)]
struct SortedSet {
    inner: DistinctArrayAggAccumulator,
    list_type: DataType,
}

impl Accumulator for SortedSet {
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
        let result = self.inner.evaluate()?;
        if result.is_null() { empty_list(&self.list_type) } else { Ok(result) }
    }

    fn size(&self) -> usize {
        self.inner.size() + std::mem::size_of::<Self>()
    }
}
