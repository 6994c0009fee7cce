//! `max_by(x, y, n)` / `min_by(x, y, n)` (Spark 4): the array of the `x` of the `n` rows with
//! the largest (smallest) `y`, best first; rows whose `y` is NULL are skipped, and an earlier
//! row goes first among equal `y`. `n` is a constant positive integer.
//!
//! The accumulator keeps at most `n` candidate rows, best first: each batch is appended and
//! the `n` best are taken again with a sort limited to `n`.

use std::sync::Arc;

use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{SortColumn, SortOptions, concat, filter, is_not_null, lexsort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::Accumulator;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::physical_expr::expressions::Literal;

/// The state: the candidates' `x` and `y`, each a list.
pub fn state_fields(args: &StateFieldsArgs) -> Vec<FieldRef> {
    let list = |suffix: &str, t: &DataType| {
        Arc::new(Field::new_list(format_state_name(args.name, suffix), Field::new_list_field(t.clone(), true), true))
    };
    vec![list("values", args.input_fields[0].data_type()), list("ords", args.input_fields[1].data_type())]
}

/// The accumulator of `name(x, y, n)`; `n` must be a positive integer literal.
pub fn accumulator(name: &str, max: bool, args: &AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
    let n = match args.exprs.get(2).and_then(|e| e.downcast_ref::<Literal>()).map(|l| l.value()) {
        Some(ScalarValue::Int64(Some(n))) if *n > 0 => *n,
        Some(ScalarValue::Int32(Some(n))) if *n > 0 => i64::from(*n),
        _ => return exec_err!("function {name}: the count must be a positive integer constant"),
    };
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20);
    let value_type = args.expr_fields[0].data_type().clone();
    let ord_type = args.expr_fields[1].data_type().clone();
    Ok(Box::new(TopByAccumulator {
        max,
        n,
        values: datafusion::arrow::array::new_empty_array(&value_type),
        ords: datafusion::arrow::array::new_empty_array(&ord_type),
        value_type,
    }))
}

#[derive(Debug)]
struct TopByAccumulator {
    max: bool,
    n: usize,
    /// The candidates, best first.
    values: ArrayRef,
    ords: ArrayRef,
    value_type: DataType,
}

impl TopByAccumulator {
    fn offer(&mut self, values: &ArrayRef, ords: &ArrayRef) -> Result<()> {
        if ords.is_empty() {
            return Ok(());
        }
        let present = is_not_null(ords.as_ref())?;
        let (values, ords) = (filter(values.as_ref(), &present)?, filter(ords.as_ref(), &present)?);
        if ords.is_empty() {
            return Ok(());
        }
        let all_values = concat(&[self.values.as_ref(), values.as_ref()])?;
        let all_ords = concat(&[self.ords.as_ref(), ords.as_ref()])?;
        // Ties go to the earlier row: sort by (y, position).
        let positions: ArrayRef = Arc::new(UInt32Array::from_iter_values(0..all_ords.len() as u32));
        let columns = [
            SortColumn {
                values: all_ords.clone(),
                options: Some(SortOptions { descending: self.max, nulls_first: false }),
            },
            SortColumn { values: positions, options: Some(SortOptions { descending: false, nulls_first: false }) },
        ];
        let best = lexsort_to_indices(&columns, Some(self.n))?;
        self.values = take(all_values.as_ref(), &best, None)?;
        self.ords = take(all_ords.as_ref(), &best, None)?;
        Ok(())
    }
}

impl Accumulator for TopByAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.offer(&values[0], &values[1])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (values, ords) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for i in 0..values.len() {
            if values.is_null(i) || ords.is_null(i) {
                continue;
            }
            self.offer(&values.value(i), &ords.value(i))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            SingleRowListArrayBuilder::new(self.values.clone()).build_list_scalar(),
            SingleRowListArrayBuilder::new(self.ords.clone()).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return ScalarValue::try_from(&DataType::new_list(self.value_type.clone(), true));
        }
        Ok(SingleRowListArrayBuilder::new(self.values.clone()).build_list_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.get_array_memory_size() + self.ords.get_array_memory_size()
    }
}
