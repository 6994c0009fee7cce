//! `mode(x[, deterministic])` and `mode() WITHIN GROUP (ORDER BY x [DESC])`: the most frequent
//! non-null value (NULL for none). Ties go to the smallest value (`deterministic` true, the
//! plain form, and `ORDER BY x`) or the largest (`ORDER BY x DESC`), as Spark's ordered form
//! does. `mode(x, false)` asks for Spark's hash-order tie-break, which is not reproduced: it
//! is not supported yet; so are intervals other than Spark's two kinds.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, IntervalUnit};
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Expr, Signature, Volatility};

/// `mode`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Mode {
    signature: Signature,
}

impl Mode {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for Mode {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for Mode {
    fn name(&self) -> &str {
        "mode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Interval(IntervalUnit::MonthDayNano | IntervalUnit::DayTime), ..] => {
                plan_err!("function mode is not supported yet: interval values")
            }
            [_] | [_, DataType::Boolean] => Ok(arg_types.to_vec()),
            _ => plan_err!("function mode is not supported yet: arguments {arg_types:?}"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    /// A value of the input: an interval keeps its Spark subtype.
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        use crate::sql::types::{interval_subtype, with_interval_subtype};
        let input = &arg_fields[0];
        let field = Field::new(self.name(), input.data_type().clone(), true);
        Ok(Arc::new(with_interval_subtype(field, interval_subtype(input))))
    }

    fn supports_within_group_clause(&self) -> bool {
        true
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        // Refuse `mode(x, false)` at plan time; `mode(x, true)` is `mode(x)`.
        Some(Box::new(|mut aggregate: AggregateFunction, _info| {
            if let Some(flag) = aggregate.params.args.get(1) {
                match flag {
                    Expr::Literal(ScalarValue::Boolean(Some(true)), _) => {
                        aggregate.params.args.truncate(1);
                    }
                    _ => {
                        return plan_err!("function mode is not supported yet: a tie-break other than deterministic");
                    }
                }
            }
            Ok(Expr::AggregateFunction(aggregate))
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let t = args.input_fields[0].data_type().clone();
        Ok(vec![
            Arc::new(Field::new_list(format_state_name(args.name, "values"), Field::new_list_field(t, true), true)),
            Arc::new(Field::new_list(
                format_state_name(args.name, "counts"),
                Field::new_list_field(DataType::Int64, true),
                true,
            )),
        ])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let data_type = acc_args.expr_fields[0].data_type().clone();
        let largest = acc_args.order_bys.first().is_some_and(|o| o.options.descending);
        Ok(Box::new(ModeAccumulator {
            converter: RowConverter::new(vec![SortField::new(data_type.clone())])?,
            counts: HashMap::new(),
            data_type,
            largest,
        }))
    }
}

#[derive(Debug)]
struct ModeAccumulator {
    converter: RowConverter,
    counts: HashMap<OwnedRow, i64>,
    data_type: DataType,
    largest: bool,
}

impl ModeAccumulator {
    fn add(&mut self, values: &ArrayRef, counts: Option<&Int64Array>) -> Result<()> {
        let rows = self.converter.convert_columns(std::slice::from_ref(values))?;
        for i in 0..values.len() {
            if values.is_null(i) {
                continue;
            }
            let n = counts.map_or(1, |c| c.value(i));
            *self.counts.entry(rows.row(i).owned()).or_insert(0) += n;
        }
        Ok(())
    }
}

impl Accumulator for ModeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], None)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (values, counts) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for i in 0..values.len() {
            if values.is_null(i) || counts.is_null(i) {
                continue;
            }
            let counts = counts.value(i);
            self.add(&values.value(i), Some(counts.as_primitive::<Int64Type>()))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (rows, counts): (Vec<&OwnedRow>, Vec<i64>) = self.counts.iter().map(|(r, n)| (r, *n)).unzip();
        let values = if rows.is_empty() {
            datafusion::arrow::array::new_empty_array(&self.data_type)
        } else {
            self.converter.convert_rows(rows.iter().map(|r| r.row()))?.remove(0)
        };
        let counts: ArrayRef = Arc::new(Int64Array::from(counts));
        Ok(vec![
            SingleRowListArrayBuilder::new(values).build_list_scalar(),
            SingleRowListArrayBuilder::new(counts).build_list_scalar(),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let largest = self.largest;
        let best = self
            .counts
            .iter()
            .max_by(|(ra, na), (rb, nb)| na.cmp(nb).then_with(|| if largest { ra.cmp(rb) } else { rb.cmp(ra) }));
        match best {
            None => ScalarValue::try_from(&self.data_type),
            Some((row, _)) => {
                let arrays = self.converter.convert_rows([row.row()])?;
                ScalarValue::try_from_array(&arrays[0], 0)
            }
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.converter.size() + self.counts.len() * 48
    }
}
