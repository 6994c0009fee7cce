//! `time_bucket(width, ts [, origin])`: the start of the `width`-wide bucket holding `ts`,
//! buckets counted from `origin` (1970-01-01 00:00:00 UTC by default), as Spark. A day-time
//! width divides the time since `origin`; a year-month width counts whole months from
//! `origin` (the day clamped to the month's last). A width that is not positive gives null.

use std::sync::Arc;

use chrono::Months;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, DurationMicrosecondType, IntervalDayTimeType, IntervalMonthDayNanoType, IntervalUnit,
    IntervalYearMonthType, TimeUnit,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{MICROS_PER_DAY, arrays, coerce_temporal, date_of, days_of, expect_args, micros, timestamp_type};

/// A bucket width: months, or microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Width {
    Months(i64),
    Micros(i64),
}

/// The width of each row (None for null), or an error for a width mixing months and days.
fn widths(array: &ArrayRef) -> Result<Vec<Option<Width>>> {
    let mut out = Vec::with_capacity(array.len());
    match array.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => {
            for v in array.as_primitive::<IntervalYearMonthType>().iter() {
                out.push(v.map(|m| Width::Months(i64::from(m))));
            }
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            for v in array.as_primitive::<IntervalDayTimeType>().iter() {
                out.push(
                    v.map(|d| Width::Micros(i64::from(d.days) * MICROS_PER_DAY + i64::from(d.milliseconds) * 1000)),
                );
            }
        }
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            for v in array.as_primitive::<IntervalMonthDayNanoType>().iter() {
                out.push(match v {
                    None => None,
                    Some(v) if v.months != 0 && (v.days != 0 || v.nanoseconds != 0) => {
                        return exec_err!(
                            "function time_bucket is not supported yet: a width of both months and days or time"
                        );
                    }
                    Some(v) if v.months != 0 => Some(Width::Months(i64::from(v.months))),
                    Some(v) => Some(Width::Micros(i64::from(v.days) * MICROS_PER_DAY + v.nanoseconds / 1000)),
                });
            }
        }
        DataType::Duration(_) => {
            let d = cast(array, &DataType::Duration(TimeUnit::Microsecond))?;
            for v in d.as_primitive::<DurationMicrosecondType>().iter() {
                out.push(v.map(Width::Micros));
            }
        }
        DataType::Null => out.resize(array.len(), None),
        other => return exec_err!("time_bucket: the width must be an interval, not {other}"),
    }
    Ok(out)
}

/// The start of the bucket of `t` (both microseconds, UTC).
fn bucket(width: Width, t: i64, origin: i64) -> Option<i64> {
    match width {
        Width::Micros(w) if w > 0 => {
            let n = t.checked_sub(origin)?.div_euclid(w);
            origin.checked_add(n.checked_mul(w)?)
        }
        Width::Months(m) if m > 0 => {
            let day = |micros: i64| i32::try_from(micros.div_euclid(MICROS_PER_DAY)).ok();
            let (origin_day, t_day) = (day(origin)?, day(t)?);
            let time_of_day = origin.rem_euclid(MICROS_PER_DAY);
            let (o, d) = (date_of(origin_day)?, date_of(t_day)?);
            use chrono::Datelike;
            let month_index = |d: chrono::NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
            let shifted = |n: i64| -> Option<i64> {
                let moved = if n >= 0 {
                    o.checked_add_months(Months::new(u32::try_from(n).ok()?))?
                } else {
                    o.checked_sub_months(Months::new(u32::try_from(-n).ok()?))?
                };
                Some(i64::from(days_of(moved)) * MICROS_PER_DAY + time_of_day)
            };
            let mut n = month_index(d) - month_index(o);
            if shifted(n)? > t {
                n -= 1;
            }
            shifted(n.div_euclid(m) * m)
        }
        _ => None,
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimeBucket {
    signature: Signature,
}

impl TimeBucket {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TimeBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TimeBucket {
    fn name(&self) -> &str {
        "time_bucket"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args("time_bucket", types, 2..=3)?;
        let width = match &types[0] {
            t @ (DataType::Interval(_) | DataType::Duration(_) | DataType::Null) => t.clone(),
            other => return plan_err!("time_bucket: the width must be an interval, not {other}"),
        };
        let mut out = vec![width];
        for t in &types[1..] {
            match t {
                DataType::Timestamp(..) | DataType::Date32 | DataType::Null => {
                    out.push(coerce_temporal("time_bucket", t)?)
                }
                other => return plan_err!("function time_bucket is not supported yet: a {other} argument"),
            }
        }
        Ok(out)
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_type())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        let widths = widths(&a[0])?;
        let values = micros(&a[1])?;
        let origins = match a.get(2) {
            Some(o) => Some(micros(o)?),
            None => None,
        };
        let out: TimestampMicrosecondArray = (0..values.len())
            .map(|row| {
                let width = widths.get(row).copied().flatten()?;
                if values.is_null(row) || origins.as_ref().is_some_and(|o| o.is_null(row)) {
                    return None;
                }
                let origin = origins.as_ref().map(|o| o.value(row)).unwrap_or(0);
                bucket(width, values.value(row), origin)
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out.with_timezone("+00:00"))))
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::parse_timestamp;
    use super::*;

    #[test]
    fn buckets_as_spark() {
        let t = |s: &str| parse_timestamp(s).expect("timestamp");
        let minutes = Width::Micros(15 * 60_000_000);
        assert_eq!(bucket(minutes, t("2024-01-01 11:27:00"), 0), Some(t("2024-01-01 11:15:00")));
        let month = Width::Months(1);
        assert_eq!(bucket(month, t("2024-07-20 14:30:00"), t("2024-06-15 09:00:00")), Some(t("2024-07-15 09:00:00")));
        assert_eq!(bucket(month, t("2024-07-15 08:00:00"), t("2024-06-15 09:00:00")), Some(t("2024-06-15 09:00:00")));
        assert_eq!(bucket(Width::Micros(0), 5, 0), None);
    }
}
