//! `collect_union(arr)`: the distinct non-null elements of all the non-null arrays, as an
//! array (empty for none) — `collect_set` over the arrays' elements, in the same ascending
//! order Weir gives `collect_set`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, new_empty_array};
use datafusion::arrow::compute::{SortOptions, concat};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::functions_aggregate::array_agg::DistinctArrayAggAccumulator;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

/// `collect_union`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CollectUnion {
    signature: Signature,
}

/// `collect_union`.
pub fn function() -> Arc<AggregateUDF> {
    Arc::new(AggregateUDF::from(CollectUnion { signature: Signature::user_defined(Volatility::Immutable) }))
}

fn element_type(t: &DataType) -> Option<&DataType> {
    match t {
        DataType::List(f) => Some(f.data_type()),
        _ => None,
    }
}

impl AggregateUDFImpl for CollectUnion {
    fn name(&self) -> &str {
        "collect_union"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t @ DataType::List(_)] => Ok(vec![t.clone()]),
            [DataType::LargeList(f) | DataType::FixedSizeList(f, _)] => {
                Ok(vec![DataType::List(Arc::new(Field::new_list_field(f.data_type().clone(), true)))])
            }
            _ => plan_err!("function collect_union is not supported yet: arguments {arg_types:?} (an array)"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match element_type(&arg_types[0]) {
            Some(t) => Ok(DataType::new_list(t.clone(), true)),
            None => plan_err!("function collect_union takes an array"),
        }
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let Some(t) = element_type(args.input_fields[0].data_type()) else {
            return plan_err!("function collect_union takes an array");
        };
        Ok(vec![
            Field::new_list(
                format_state_name(args.name, "collect_union"),
                Field::new_list_field(t.clone(), true),
                true,
            )
            .into(),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let Some(t) = element_type(acc_args.expr_fields[0].data_type()) else {
            return exec_err!("function collect_union takes an array");
        };
        let sort = SortOptions { descending: false, nulls_first: true };
        Ok(Box::new(UnionAccumulator {
            inner: DistinctArrayAggAccumulator::try_new(t, Some(sort), true)?,
            element_type: t.clone(),
        }))
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        match element_type(data_type) {
            Some(t) => Ok(ScalarValue::List(ScalarValue::new_list_nullable(&[], t))),
            None => ScalarValue::try_from(data_type),
        }
    }
}

#[derive(Debug)]
struct UnionAccumulator {
    inner: DistinctArrayAggAccumulator,
    element_type: DataType,
}

impl Accumulator for UnionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let lists = values[0].as_list::<i32>();
        let parts: Vec<ArrayRef> = (0..lists.len()).filter(|i| lists.is_valid(*i)).map(|i| lists.value(i)).collect();
        if parts.is_empty() {
            return Ok(());
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        self.inner.update_batch(&[concat(&refs)?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let result = self.inner.evaluate()?;
        if result.is_null() {
            let empty = new_empty_array(&self.element_type);
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(&[], empty.data_type())))
        } else {
            Ok(result)
        }
    }

    fn size(&self) -> usize {
        self.inner.size() + std::mem::size_of::<Self>()
    }
}
