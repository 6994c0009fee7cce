//! `sequence(start, stop[, step])` over integers: Spark's array from `start` to `stop`
//! inclusive, by `step` (default 1, or -1 when `stop < start`). A step of the wrong sign (or
//! zero, unless start = stop) is an error. The element type is the arguments' common
//! integer type. Over dates and timestamps the step is an interval (default one day, or
//! minus one day): element `i` is `start + i * step` (months first, as `add_months`, then
//! microseconds, in UTC), so month ends stay month ends; a date sequence's step must be at
//! least a day or a month, and a date with a timestamp is a timestamp sequence.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, Int64Builder, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, IntervalUnit, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// Spark's limit on an array's length.
const MAX_LENGTH: i64 = i32::MAX as i64 - 15;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Whether `t` is a start or stop of a temporal sequence.
fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Timestamp(..))
}

/// The argument types of a sequence over dates or timestamps.
fn coerce_temporal(args: &[DataType]) -> Result<Vec<DataType>> {
    let bounds = &args[..2];
    let element = match bounds.iter().find(|t| matches!(t, DataType::Timestamp(..))) {
        Some(DataType::Timestamp(_, tz)) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
        _ => DataType::Date32,
    };
    for t in bounds {
        if !(is_temporal(t) || t.is_null()) {
            return plan_err!("function sequence is not supported yet: from {} to {}", bounds[0], bounds[1]);
        }
    }
    let mut types = vec![element.clone(), element];
    match args.get(2) {
        None => {}
        Some(DataType::Interval(IntervalUnit::YearMonth)) => types.push(DataType::Interval(IntervalUnit::YearMonth)),
        Some(DataType::Duration(_) | DataType::Null) => types.push(DataType::Duration(TimeUnit::Microsecond)),
        Some(t) => {
            return plan_err!("sequence over dates or timestamps steps by an interval, not by {t}");
        }
    }
    Ok(types)
}

/// The microseconds of a date or timestamp array (UTC), as Int64.
fn instants(a: &ArrayRef) -> Result<Int64Array> {
    Ok(match a.data_type() {
        DataType::Date32 => {
            let days = cast(a, &DataType::Int32)?;
            days.as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .unary_opt(|d| i64::from(d).checked_mul(MICROS_PER_DAY))
        }
        _ => cast(&cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?, &DataType::Int64)?
            .as_primitive::<Int64Type>()
            .clone(),
    })
}

/// `(months, micros)` of each row's step (one day or minus one day when absent).
fn steps(step: Option<&ArrayRef>, rows: usize) -> Result<Vec<Option<(i64, i64)>>> {
    let Some(step) = step else { return Ok(vec![None; rows]) };
    Ok(match step.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => step
            .as_primitive::<datafusion::arrow::datatypes::IntervalYearMonthType>()
            .iter()
            .map(|m| m.map(|m| (i64::from(m), 0)))
            .collect(),
        _ => cast(step, &DataType::Int64)?.as_primitive::<Int64Type>().iter().map(|us| us.map(|us| (0, us))).collect(),
    })
}

/// `start + i * (months, micros)`.
fn shifted(start: i64, i: i64, months: i64, micros: i64) -> Option<i64> {
    let t = if months == 0 {
        start
    } else {
        crate::sql::functions::math::interval_arith::timestamp_plus_months(start, i.checked_mul(months)?)?
    };
    t.checked_add(i.checked_mul(micros)?)
}

/// A sequence over dates or timestamps (see the module doc).
fn temporal(inputs: &[ArrayRef], element: &DataType, rows: usize) -> Result<ArrayRef> {
    let dates = *element == DataType::Date32;
    let start = instants(&inputs[0])?;
    let stop = instants(&inputs[1])?;
    let step_nulls = inputs.get(2).map(|s| s.logical_nulls());
    let steps = steps(inputs.get(2), rows)?;
    let mut values = Int64Builder::new();
    let mut offsets: Vec<i32> = vec![0];
    let mut valid = Vec::with_capacity(rows);
    let mut total: i64 = 0;
    for row in 0..rows {
        let step_null = step_nulls.as_ref().is_some_and(|n| n.as_ref().is_some_and(|n| n.is_null(row)));
        if start.is_null(row) || stop.is_null(row) || step_null {
            valid.push(false);
            offsets.push(total as i32);
            continue;
        }
        let (a, b) = (start.value(row), stop.value(row));
        let (months, micros) = match steps[row] {
            Some(step) => step,
            None if b >= a => (0, MICROS_PER_DAY),
            None => (0, -MICROS_PER_DAY),
        };
        if dates && months == 0 && micros.abs() < MICROS_PER_DAY {
            return exec_err!(
                "sequence step must be an interval of day granularity (a day or more, or months) if start and end values are dates"
            );
        }
        // Spark's estimate of the step's sign: a month as 28 days.
        let estimate = i128::from(micros) + i128::from(months) * 28 * i128::from(MICROS_PER_DAY);
        let ok = (estimate > 0 && a <= b) || (estimate < 0 && a >= b) || (estimate == 0 && a == b);
        if !ok {
            return exec_err!("[INVALID_SEQUENCE_BOUNDARIES] Illegal sequence boundaries: {a} to {b} by {estimate}");
        }
        let mut i: i64 = 0;
        let mut t = a;
        loop {
            if (estimate > 0 && t > b) || (estimate < 0 && t < b) {
                break;
            }
            values.append_value(if dates { t.div_euclid(MICROS_PER_DAY) } else { t });
            total += 1;
            i += 1;
            if i > MAX_LENGTH || total > i64::from(i32::MAX) {
                return exec_err!("sequence: too long a sequence (over {MAX_LENGTH} elements)");
            }
            if estimate == 0 {
                break;
            }
            let Some(next) = shifted(a, i, months, micros) else {
                return exec_err!("sequence: a date or timestamp out of range");
            };
            t = next;
        }
        offsets.push(total as i32);
        valid.push(true);
    }
    let values: ArrayRef = Arc::new(values.finish());
    let values =
        if dates { cast(&cast(&values, &DataType::Int32)?, &DataType::Date32)? } else { cast(&values, element)? };
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    let field = Arc::new(Field::new_list_field(element.clone(), false));
    Ok(Arc::new(ListArray::try_new(field, OffsetBuffer::new(offsets.into()), values, nulls)?))
}

/// `sequence`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sequence {
    signature: Signature,
}

impl Sequence {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for Sequence {
    fn default() -> Self {
        Self::new()
    }
}

fn rank(t: &DataType) -> Option<u8> {
    match t {
        DataType::Null => Some(0),
        DataType::Int8 => Some(1),
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(3),
        DataType::Int64 => Some(4),
        _ => None,
    }
}

impl ScalarUDFImpl for Sequence {
    fn name(&self) -> &str {
        "sequence"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&args.len()) {
            return plan_err!("sequence takes 2 or 3 arguments, got {}", args.len());
        }
        if args[..2].iter().any(is_temporal) {
            return coerce_temporal(args);
        }
        let mut widest = DataType::Null;
        for t in args {
            match (rank(t), rank(&widest)) {
                (Some(a), Some(b)) => {
                    if a > b {
                        widest = t.clone();
                    }
                }
                _ => {
                    return plan_err!("function sequence is not supported yet: over {t} (only integers are)");
                }
            }
        }
        if widest == DataType::Null {
            widest = DataType::Int32;
        }
        Ok(vec![widest; args.len()])
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(args[0].clone(), false))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = args.number_rows;
        let element = args.arg_fields[0].data_type().clone();
        if is_temporal(&element) {
            let inputs: Vec<ArrayRef> = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<_>>()?;
            let result = temporal(&inputs, &element, rows)?;
            if all_scalar {
                return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
            }
            return Ok(ColumnarValue::Array(result));
        }
        let inputs: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(rows).and_then(|a| Ok(cast(&a, &DataType::Int64)?)))
            .collect::<Result<_>>()?;
        let start = inputs[0].as_primitive::<Int64Type>();
        let stop = inputs[1].as_primitive::<Int64Type>();
        let step = inputs.get(2).map(|s| s.as_primitive::<Int64Type>());
        let mut values = Int64Builder::new();
        let mut offsets: Vec<i32> = vec![0];
        let mut valid = Vec::with_capacity(rows);
        let mut total: i64 = 0;
        for row in 0..rows {
            let null = start.is_null(row) || stop.is_null(row) || step.is_some_and(|s| s.is_null(row));
            if null {
                valid.push(false);
                offsets.push(total as i32);
                continue;
            }
            let (a, b) = (start.value(row), stop.value(row));
            let s = match step {
                Some(s) => s.value(row),
                None if b >= a => 1,
                None => -1,
            };
            let ok = (s > 0 && a <= b) || (s < 0 && a >= b) || (s == 0 && a == b);
            if !ok {
                return exec_err!("[INVALID_SEQUENCE_BOUNDARIES] Illegal sequence boundaries: {a} to {b} by {s}");
            }
            let count = if s == 0 { 1 } else { ((b as i128 - a as i128) / s as i128) as i64 + 1 };
            if count > MAX_LENGTH || total + count > i32::MAX as i64 {
                return exec_err!("sequence: too long a sequence ({count} elements)");
            }
            for k in 0..count {
                values.append_value((a as i128 + k as i128 * s as i128) as i64);
            }
            total += count;
            offsets.push(total as i32);
            valid.push(true);
        }
        let values = cast(&values.finish(), &element)?;
        let nulls = NullBuffer::from(valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let field = Arc::new(Field::new_list_field(element, false));
        let result: ArrayRef = Arc::new(ListArray::try_new(field, OffsetBuffer::new(offsets.into()), values, nulls)?);
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}
