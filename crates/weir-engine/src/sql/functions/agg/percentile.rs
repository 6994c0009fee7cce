//! `percentile(x, p)` with `p` a number or an array of numbers in [0, 1]: Spark's exact
//! percentile of the non-null numeric values as a double (an array of doubles for an array of
//! percentages), interpolating linearly between the values at ranks `floor(p·(n−1))` and
//! `ceil(p·(n−1))`; NULL for no values. Of intervals (every function here) the percentile is
//! an interval of the same kind, truncated to whole months or microseconds. The frequency
//! argument is not supported yet. `percentile_cont(p) WITHIN GROUP (ORDER BY x)` is
//! `percentile`.
//!
//! `percentile_disc(p) WITHIN GROUP (ORDER BY x [DESC])` is the first value (in that order)
//! whose cumulative distribution reaches `p`, as a double. `percentile_approx(x, p[,
//! accuracy])` / `approx_percentile` return, in `x`'s (integer or floating point) type, the
//! value of rank ⌈p·n⌉ — what Spark's quantile summary gives while it holds every value
//! (small inputs); on large inputs Spark's answer is approximate (within its documented
//! error) and Weir's stays exact.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::sql::functions::datetime::interval_fields::{as_i64, is_interval};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Variant {
    Continuous,
    Discrete,
    Approx,
    /// `median(x)`: `percentile(x, 0.5)`.
    Median,
}

/// `percentile`, `percentile_disc` or `percentile_approx`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Percentile {
    name: &'static str,
    variant: Variant,
    signature: Signature,
}

/// `percentile`, `percentile_disc`, `percentile_approx`, `approx_percentile`.
pub fn functions() -> Vec<Arc<datafusion::logical_expr::AggregateUDF>> {
    [
        ("percentile", Variant::Continuous),
        ("percentile_disc", Variant::Discrete),
        ("percentile_approx", Variant::Approx),
        ("approx_percentile", Variant::Approx),
        ("median", Variant::Median),
        ("percentile_cont", Variant::Continuous),
    ]
    .into_iter()
    .map(|(name, variant)| {
        Arc::new(datafusion::logical_expr::AggregateUDF::from(Percentile {
            name,
            variant,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

fn is_list(t: &DataType) -> bool {
    matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..))
}

fn list_of_doubles() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

impl AggregateUDFImpl for Percentile {
    fn name(&self) -> &str {
        self.name
    }

    fn supports_within_group_clause(&self) -> bool {
        self.variant == Variant::Discrete || self.name == "percentile_cont"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name;
        let arity_ok = match self.variant {
            Variant::Approx => (2..=3).contains(&arg_types.len()),
            Variant::Median => arg_types.len() == 1,
            _ => arg_types.len() == 2,
        };
        if !arity_ok {
            return plan_err!("function {name} is not supported yet: {} arguments", arg_types.len());
        }
        let value = &arg_types[0];
        let value_ok = match self.variant {
            Variant::Approx => value.is_integer() || value.is_floating() || is_interval(value),
            _ => value.is_numeric() || value.is_null() || is_interval(value),
        };
        if !value_ok {
            return plan_err!("function {name} is not supported yet: values of type {value}");
        }
        // Intervals keep their type (the percentile is an interval).
        let value_type = if is_interval(value) { value.clone() } else { DataType::Float64 };
        if self.variant == Variant::Median {
            return Ok(vec![value_type]);
        }
        let p = match &arg_types[1] {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => list_of_doubles(),
            t if t.is_numeric() => DataType::Float64,
            t => return plan_err!("function {name} is not supported yet: percentage of type {t}"),
        };
        if self.variant == Variant::Approx {
            if arg_types.len() == 3 && !arg_types[2].is_integer() {
                return plan_err!("function {name} is not supported yet: accuracy of type {}", arg_types[2]);
            }
            let mut types = vec![value.clone(), p];
            types.extend(arg_types.get(2).map(|_| DataType::Int64));
            return Ok(types);
        }
        Ok(vec![value_type, p])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let element = if self.variant == Variant::Approx || is_interval(&arg_types[0]) {
            arg_types[0].clone()
        } else {
            DataType::Float64
        };
        if arg_types.get(1).is_some_and(is_list) {
            Ok(DataType::List(Arc::new(Field::new_list_field(element, true))))
        } else {
            Ok(element)
        }
    }

    /// The approximate percentile is a value of the input: an interval result (or each
    /// element of an array of them) keeps the input's Spark subtype. Spark's exact
    /// percentiles interpolate and widen it (`interval year to month`).
    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        use crate::sql::types::{interval_subtype, with_interval_subtype};
        let types: Vec<DataType> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let subtype = if self.variant == Variant::Approx { interval_subtype(&arg_fields[0]) } else { None };
        let field = match self.return_type(&types)? {
            DataType::List(element) => {
                let element = with_interval_subtype(element.as_ref().clone(), subtype);
                Field::new(self.name(), DataType::List(Arc::new(element)), true)
            }
            t => with_interval_subtype(Field::new(self.name(), t, true), subtype),
        };
        Ok(Arc::new(field))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "values"), list_of_doubles(), true))])
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if self.variant == Variant::Median {
            let input = acc_args.expr_fields[0].data_type();
            return Ok(Box::new(PercentileAccumulator {
                percentages: vec![0.5],
                values: Vec::new(),
                variant: Variant::Continuous,
                descending: false,
                output: if is_interval(input) { input.clone() } else { DataType::Float64 },
                result: acc_args.return_field.data_type().clone(),
            }));
        }
        let Some(literal) = acc_args.exprs.get(1).and_then(|e| e.downcast_ref::<Literal>()) else {
            return exec_err!("{}: the percentage must be a constant", self.name);
        };
        let percentages = match literal.value() {
            ScalarValue::List(list) => {
                let values = cast(list.values(), &DataType::Float64)?;
                values.as_primitive::<Float64Type>().iter().collect::<Vec<_>>()
            }
            other => match other.cast_to(&DataType::Float64)? {
                ScalarValue::Float64(p) => vec![p],
                _ => vec![None],
            },
        };
        let mut checked = Vec::with_capacity(percentages.len());
        for p in percentages {
            match p {
                Some(p) if (0.0..=1.0).contains(&p) => checked.push(p),
                _ => return exec_err!("percentile: the percentage must be between 0.0 and 1.0"),
            }
        }
        let descending = acc_args.order_bys.first().is_some_and(|o| o.options.descending);
        let output = acc_args.expr_fields[0].data_type().clone();
        Ok(Box::new(PercentileAccumulator {
            percentages: checked,
            values: Vec::new(),
            variant: self.variant,
            descending,
            output: if self.variant == Variant::Approx || is_interval(&output) { output } else { DataType::Float64 },
            result: acc_args.return_field.data_type().clone(),
        }))
    }
}

/// A percentile as a value of `output`: intervals truncate to whole months or microseconds,
/// as Spark's.
fn typed(value: f64, output: &DataType) -> Result<ScalarValue> {
    Ok(match output {
        DataType::Interval(_) => ScalarValue::IntervalYearMonth(Some(value as i32)),
        DataType::Duration(_) => ScalarValue::DurationMicrosecond(Some(value as i64)),
        _ => ScalarValue::Float64(Some(value)).cast_to(output)?,
    })
}

#[derive(Debug)]
struct PercentileAccumulator {
    percentages: Vec<f64>,
    values: Vec<f64>,
    variant: Variant,
    descending: bool,
    /// The result's (element) type.
    output: DataType,
    /// The result's type (with its element field's metadata).
    result: DataType,
}

/// The value of the first rank whose cumulative share reaches `p` in `sorted` (not empty).
fn at_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// The percentile `p` of `sorted` (not empty) as Spark interpolates it.
fn at(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let (lower, upper) = (position.floor(), position.ceil());
    let (lo, hi) = (sorted[lower as usize], sorted[upper as usize]);
    if lower == upper { lo } else { (upper - position) * lo + (position - lower) * hi }
}

impl Accumulator for PercentileAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = if is_interval(values[0].data_type()) { as_i64(&values[0])? } else { values[0].clone() };
        let values = cast(&values, &DataType::Float64)?;
        self.values.extend(values.as_primitive::<Float64Type>().iter().flatten());
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for list in lists.iter().flatten() {
            self.values.extend(list.as_primitive::<Float64Type>().iter().flatten());
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let values = Arc::new(Float64Array::from(self.values.clone()));
        Ok(vec![ScalarValue::List(Arc::new(ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            datafusion::arrow::buffer::OffsetBuffer::from_lengths([self.values.len()]),
            values,
            None,
        )))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return ScalarValue::try_from(&self.result);
        }
        self.values.sort_by(f64::total_cmp);
        if self.descending {
            self.values.reverse();
        }
        let pick = |p: f64| match self.variant {
            Variant::Continuous | Variant::Median => at(&self.values, p),
            Variant::Discrete | Variant::Approx => at_rank(&self.values, p),
        };
        let results: Vec<ScalarValue> =
            self.percentages.iter().map(|p| typed(pick(*p), &self.output)).collect::<Result<_>>()?;
        if let DataType::List(element) = &self.result {
            let values = if results.is_empty() {
                datafusion::arrow::array::new_empty_array(element.data_type())
            } else {
                ScalarValue::iter_to_array(results)?
            };
            let offsets = datafusion::arrow::buffer::OffsetBuffer::from_lengths([values.len()]);
            Ok(ScalarValue::List(Arc::new(ListArray::new(element.clone(), offsets, values, None))))
        } else {
            match results.into_iter().next() {
                Some(v) => Ok(v),
                None => ScalarValue::try_from(&self.output),
            }
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.values.capacity() * 8 + self.percentages.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::at;

    #[test]
    fn interpolates_like_spark() {
        assert_eq!(at(&[0.0, 10.0], 0.3), 3.0);
        assert_eq!(at(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
        assert_eq!(at(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert_eq!(at(&[5.0], 0.9), 5.0);
        assert_eq!(super::at_rank(&[0.0, 1.0, 2.0, 10.0], 0.5), 1.0);
        assert_eq!(super::at_rank(&[0.0, 1.0, 2.0, 10.0], 0.1), 0.0);
        assert_eq!(super::at_rank(&[0.0, 6.0, 7.0, 9.0, 10.0], 0.5), 7.0);
        assert_eq!(super::at_rank(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.9), 5.0);
    }
}
