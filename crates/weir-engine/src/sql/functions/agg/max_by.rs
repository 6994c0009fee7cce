//! `max_by(x, y)` / `min_by(x, y)`: the `x` of the row with the largest (smallest) `y`;
//! rows whose `y` is NULL are skipped, and the first such row wins a tie. Spark 4's
//! three-argument form `max_by(x, y, n)` is the array of the `x` of the `n` rows with the
//! largest (smallest) `y`, best first (see [`top_by`](super::top_by)).

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{SortOptions, sort_to_indices};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};

/// `max_by` (`max` true) or `min_by`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ExtremeBy {
    max: bool,
    signature: Signature,
}

/// `max_by`, `min_by`.
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    [true, false]
        .into_iter()
        .map(|max| {
            Arc::new(AggregateUDF::from(ExtremeBy { max, signature: Signature::user_defined(Volatility::Immutable) }))
        })
        .collect()
}

impl AggregateUDFImpl for ExtremeBy {
    fn name(&self) -> &str {
        if self.max { "max_by" } else { "min_by" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types.len() {
            2 => Ok(arg_types.to_vec()),
            3 if arg_types[2].is_integer() => Ok(vec![arg_types[0].clone(), arg_types[1].clone(), DataType::Int64]),
            3 => plan_err!("function {}: the count must be an integer, not {}", self.name(), arg_types[2]),
            n => plan_err!("function {} takes 2 or 3 arguments, not {n}", self.name()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.len() {
            2 => Ok(arg_types[0].clone()),
            _ => Ok(DataType::new_list(arg_types[0].clone(), true)),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        if args.input_fields.len() == 3 {
            return Ok(super::top_by::state_fields(&args));
        }
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "value"), args.input_fields[0].data_type().clone(), true)),
            Arc::new(Field::new(format_state_name(args.name, "ord"), args.input_fields[1].data_type().clone(), true)),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if acc_args.exprs.len() == 3 {
            return super::top_by::accumulator(self.name(), self.max, &acc_args);
        }
        let value = ScalarValue::try_from(acc_args.expr_fields[0].data_type())?;
        let ord = ScalarValue::try_from(acc_args.expr_fields[1].data_type())?;
        Ok(Box::new(ExtremeByAccumulator { max: self.max, value, ord }))
    }
}

#[derive(Debug)]
struct ExtremeByAccumulator {
    max: bool,
    value: ScalarValue,
    ord: ScalarValue,
}

impl ExtremeByAccumulator {
    fn offer(&mut self, values: &ArrayRef, ords: &ArrayRef) -> Result<()> {
        if ords.is_empty() {
            return Ok(());
        }
        let options = SortOptions { descending: self.max, nulls_first: false };
        let best = sort_to_indices(ords, Some(options), None)?;
        let Some(first) = best.iter().flatten().next() else { return Ok(()) };
        // The earliest row among those equal to the best.
        let mut index = first as usize;
        let candidate = ScalarValue::try_from_array(ords, index)?;
        if candidate.is_null() {
            return Ok(());
        }
        for i in best.iter().flatten().skip(1) {
            let i = i as usize;
            if ScalarValue::try_from_array(ords, i)? != candidate {
                break;
            }
            index = index.min(i);
        }
        let better = self.ord.is_null()
            || match candidate.partial_cmp(&self.ord) {
                Some(Ordering::Greater) => self.max,
                Some(Ordering::Less) => !self.max,
                _ => false,
            };
        if better {
            self.ord = candidate;
            self.value = ScalarValue::try_from_array(values, index)?;
        }
        Ok(())
    }
}

impl Accumulator for ExtremeByAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.offer(&values[0], &values[1])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.offer(&states[0], &states[1])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), self.ord.clone()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.value.size() + self.ord.size()
    }
}
