//! Spark's arithmetic with intervals, for `try_add`, `try_subtract`, `try_multiply`,
//! `try_divide` (NULL where Spark's `+ - * /` would fail):
//!
//! - date ± `interval year to month` is a date (the day clamped to the month's last, as
//!   `add_months`); timestamp ± either interval kind is a timestamp;
//! - interval ± interval of the same kind is that kind;
//! - interval × integer and interval ÷ integer are the interval's kind; division rounds half
//!   away from zero (Spark's `HALF_UP`), ÷ 0 is NULL.
//!
//! Not supported yet: date ± `interval day to second` (Spark's answer is a date for an
//! interval of whole days typed `DAY`, a timestamp otherwise, which Weir's one day-time type
//! cannot tell apart) and fractional multipliers and divisors.

use std::sync::Arc;

use chrono::{DateTime, Months, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, DurationMicrosecondType, Int64Type, IntervalUnit, IntervalYearMonthType,
    TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::{Result, exec_err, plan_err};

/// The operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalOp {
    Add,
    Subtract,
    Multiply,
    Divide,
}

const YM: DataType = DataType::Interval(IntervalUnit::YearMonth);
const DT: DataType = DataType::Duration(TimeUnit::Microsecond);

fn is_ym(t: &DataType) -> bool {
    *t == YM
}

fn is_dt(t: &DataType) -> bool {
    matches!(t, DataType::Duration(_))
}

/// Whether interval arithmetic applies to these argument types.
pub fn applies(a: &DataType, b: &DataType) -> bool {
    [a, b].iter().any(|t| is_ym(t) || is_dt(t))
}

fn ts(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Timestamp(_, tz) => Some(DataType::Timestamp(TimeUnit::Microsecond, tz.clone())),
        _ => None,
    }
}

fn kind(t: &DataType) -> DataType {
    if is_ym(t) { YM } else { DT }
}

/// The argument types Spark's arithmetic takes (see the module doc).
pub fn coerce(name: &str, op: IntervalOp, a: &DataType, b: &DataType) -> Result<Vec<DataType>> {
    let interval = |t: &DataType| is_ym(t) || is_dt(t);
    let integer = |t: &DataType| t.is_integer() || t.is_null();
    match op {
        IntervalOp::Add | IntervalOp::Subtract => {
            if let Some(t) = ts(a)
                && interval(b)
            {
                return Ok(vec![t, kind(b)]);
            }
            if op == IntervalOp::Add
                && let Some(t) = ts(b)
                && interval(a)
            {
                return Ok(vec![kind(a), t]);
            }
            if *a == DataType::Date32 && is_ym(b) {
                return Ok(vec![DataType::Date32, YM]);
            }
            if op == IntervalOp::Add && *b == DataType::Date32 && is_ym(a) {
                return Ok(vec![YM, DataType::Date32]);
            }
            if (*a == DataType::Date32 && is_dt(b)) || (*b == DataType::Date32 && is_dt(a)) {
                return plan_err!(
                    "function {name} is not supported yet: a date and an INTERVAL DAY TO SECOND (use a timestamp)"
                );
            }
            if is_ym(a) && is_ym(b) {
                return Ok(vec![YM, YM]);
            }
            if is_dt(a) && is_dt(b) {
                return Ok(vec![DT, DT]);
            }
        }
        IntervalOp::Multiply => {
            if interval(a) && integer(b) {
                return Ok(vec![kind(a), DataType::Int64]);
            }
            if integer(a) && interval(b) {
                return Ok(vec![DataType::Int64, kind(b)]);
            }
            if (interval(a) && b.is_numeric()) || (a.is_numeric() && interval(b)) {
                return plan_err!("function {name} is not supported yet: an interval times a fractional number");
            }
        }
        IntervalOp::Divide => {
            if interval(a) && integer(b) {
                return Ok(vec![kind(a), DataType::Int64]);
            }
            if interval(a) && b.is_numeric() {
                return plan_err!("function {name} is not supported yet: an interval divided by a fractional number");
            }
        }
    }
    plan_err!("[DATATYPE_MISMATCH] function {name} does not take arguments of types {a} and {b}")
}

/// The result type for coerced argument types.
pub fn return_type(a: &DataType, b: &DataType) -> DataType {
    if let Some(t) = ts(a).or_else(|| ts(b)) {
        return t;
    }
    if *a == DataType::Date32 || *b == DataType::Date32 {
        return DataType::Date32;
    }
    if is_ym(a) || is_dt(a) { a.clone() } else { b.clone() }
}

fn zip<A, B, O>(a: &ArrayRef, b: &ArrayRef, f: impl Fn(A::Native, B::Native) -> Option<O::Native>) -> PrimitiveArray<O>
where
    A: ArrowPrimitiveType,
    B: ArrowPrimitiveType,
    O: ArrowPrimitiveType,
{
    let (a, b) = (a.as_primitive::<A>(), b.as_primitive::<B>());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => f(x, y),
            _ => None,
        })
        .collect()
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn shift_months(date: chrono::NaiveDateTime, months: i64) -> Option<chrono::NaiveDateTime> {
    let n = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 { date.checked_add_months(n) } else { date.checked_sub_months(n) }
}

fn date_plus_months(days: i32, months: i64) -> Option<i32> {
    let date = epoch().checked_add_signed(chrono::Duration::days(i64::from(days)))?;
    let shifted = shift_months(date.and_hms_opt(0, 0, 0)?, months)?.date();
    i32::try_from(shifted.signed_duration_since(epoch()).num_days()).ok()
}

/// `micros` (UTC microseconds) plus `months`, clamped to the month's last day as Spark's
/// `add_months`.
pub fn timestamp_plus_months(micros: i64, months: i64) -> Option<i64> {
    let t = DateTime::from_timestamp_micros(micros)?.naive_utc();
    Some(shift_months(t, months)?.and_utc().timestamp_micros())
}

/// Spark's `HALF_UP` integer division; None for ÷ 0 and overflow.
pub fn div_half_up(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    let r = a % b;
    if r != 0 && (r.unsigned_abs() as u128) * 2 >= b.unsigned_abs() as u128 {
        return q.checked_add(if (a < 0) == (b < 0) { 1 } else { -1 });
    }
    Some(q)
}

/// `a op b` on coerced arrays.
pub fn invoke(op: IntervalOp, a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    let neg = op == IntervalOp::Subtract;
    let sign = |v: i64| if neg { v.checked_neg() } else { Some(v) };
    let (ta, tb) = (a.data_type().clone(), b.data_type().clone());
    let out: ArrayRef = match (&ta, &tb, op) {
        (DataType::Date32, _, _) => Arc::new(zip::<Date32Type, IntervalYearMonthType, Date32Type>(a, b, |d, m| {
            date_plus_months(d, sign(i64::from(m))?)
        })),
        (_, DataType::Date32, _) => Arc::new(zip::<IntervalYearMonthType, Date32Type, Date32Type>(a, b, |m, d| {
            date_plus_months(d, i64::from(m))
        })),
        (DataType::Timestamp(_, tz), _, _) => {
            let out: PrimitiveArray<TimestampMicrosecondType> = if is_ym(&tb) {
                zip::<TimestampMicrosecondType, IntervalYearMonthType, TimestampMicrosecondType>(a, b, |t, m| {
                    timestamp_plus_months(t, sign(i64::from(m))?)
                })
            } else {
                zip::<TimestampMicrosecondType, DurationMicrosecondType, TimestampMicrosecondType>(a, b, |t, d| {
                    t.checked_add(sign(d)?)
                })
            };
            Arc::new(out.with_timezone_opt(tz.clone()))
        }
        (_, DataType::Timestamp(_, tz), _) => {
            let out: PrimitiveArray<TimestampMicrosecondType> = if is_ym(&ta) {
                zip::<IntervalYearMonthType, TimestampMicrosecondType, TimestampMicrosecondType>(a, b, |m, t| {
                    timestamp_plus_months(t, i64::from(m))
                })
            } else {
                zip::<DurationMicrosecondType, TimestampMicrosecondType, TimestampMicrosecondType>(a, b, |d, t| {
                    t.checked_add(d)
                })
            };
            Arc::new(out.with_timezone_opt(tz.clone()))
        }
        _ => {
            // Interval with interval or an integer: on i64 values, then back to the kind.
            let result_kind = if is_ym(&ta) || is_dt(&ta) { ta.clone() } else { tb.clone() };
            let as_i64 = crate::sql::functions::datetime::interval_fields::as_i64;
            let (x, y) = (as_i64(a)?, as_i64(b)?);
            let f = match op {
                IntervalOp::Add => i64::checked_add,
                IntervalOp::Subtract => i64::checked_sub,
                IntervalOp::Multiply => i64::checked_mul,
                IntervalOp::Divide => div_half_up,
            };
            let values = zip::<Int64Type, Int64Type, Int64Type>(&x, &y, f);
            if is_ym(&result_kind) {
                // Months must fit an int.
                let months: PrimitiveArray<IntervalYearMonthType> =
                    values.iter().map(|v| v.and_then(|v| i32::try_from(v).ok())).collect();
                Arc::new(months)
            } else if is_dt(&result_kind) {
                Arc::new(values.reinterpret_cast::<DurationMicrosecondType>())
            } else {
                return exec_err!("interval arithmetic on {ta} and {tb}");
            }
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_up_division_and_month_ends() {
        assert_eq!(div_half_up(3, 2), Some(2));
        assert_eq!(div_half_up(-3, 2), Some(-2));
        assert_eq!(div_half_up(2, 2), Some(1));
        assert_eq!(div_half_up(5, 0), None);
        // 2024-01-31 + 1 month = 2024-02-29.
        let jan31 = 19_753;
        assert_eq!(date_plus_months(jan31, 1), Some(jan31 + 29));
    }
}
