//! `timestampadd(unit, quantity, ts)` and `timestampdiff(unit, start, end)` (also written
//! `dateadd`/`date_add` and `datediff`/`date_diff` with a unit first; the rewrite passes the
//! unit as a string). Units: YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFYEAR, HOUR, MINUTE,
//! SECOND, MILLISECOND, MICROSECOND. Spark adds months as `LocalDateTime.plusMonths` (the
//! day clamps to the month's end) and counts whole units between two times as
//! `ChronoUnit.between` (truncated toward zero; months count only when the day and time of
//! the month are reached). Dates and text are cast to TIMESTAMP; a TIMESTAMP_NTZ stays one.

use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDateTime, TimeDelta};
use datafusion::arrow::array::{Array, AsArray, Int64Array, TimestampMicrosecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{arrays, coerce_temporal, expect_args, is_integer, is_string, micros};
use crate::sql::timestamps::{ltz, ntz};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Micros(i64),
    Months(i64),
}

fn unit(name: &str, text: &str) -> Result<Unit> {
    Ok(match text.trim().to_ascii_uppercase().as_str() {
        "MICROSECOND" => Unit::Micros(1),
        "MILLISECOND" => Unit::Micros(1_000),
        "SECOND" => Unit::Micros(1_000_000),
        "MINUTE" => Unit::Micros(60_000_000),
        "HOUR" => Unit::Micros(3_600_000_000),
        "DAY" | "DAYOFYEAR" => Unit::Micros(86_400_000_000),
        "WEEK" => Unit::Micros(7 * 86_400_000_000),
        "MONTH" => Unit::Months(1),
        "QUARTER" => Unit::Months(3),
        "YEAR" => Unit::Months(12),
        other => return exec_err!("function {name}: unknown unit {other}"),
    })
}

fn unit_arg(name: &str, arg: &ColumnarValue) -> Result<Unit> {
    match arg {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
        ) => unit(name, s),
        _ => exec_err!("function {name} needs a literal unit"),
    }
}

fn date_time(micros: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc())
}

fn add_months(micros: i64, months: i64) -> Option<i64> {
    let t = date_time(micros)?;
    let shifted = if months >= 0 {
        t.checked_add_months(Months::new(u32::try_from(months).ok()?))?
    } else {
        t.checked_sub_months(Months::new(u32::try_from(months.checked_neg()?).ok()?))?
    };
    Some(shifted.and_utc().timestamp_micros())
}

/// Whole months from `a` to `b` as Java's `ChronoUnit.MONTHS.between` counts them.
fn months_between(a: i64, b: i64) -> Option<i64> {
    let (start, end) = (date_time(a)?, date_time(b)?);
    let mut end_date = end.date();
    // LocalDateTime.until: the end's date steps back a day when its time is not yet reached.
    if end_date > start.date() && end.time() < start.time() {
        end_date = end_date.checked_sub_signed(TimeDelta::days(1))?;
    } else if end_date < start.date() && end.time() > start.time() {
        end_date = end_date.checked_add_signed(TimeDelta::days(1))?;
    }
    let month_index = |d: chrono::NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    let mut months = month_index(end_date) - month_index(start.date());
    let days = i64::from(end_date.day()) - i64::from(start.date().day());
    if months > 0 && days < 0 {
        months -= 1;
    } else if months < 0 && days > 0 {
        months += 1;
    }
    Some(months)
}

fn result_type(t: &DataType) -> DataType {
    if matches!(t, DataType::Timestamp(_, None)) { ntz() } else { ltz() }
}

/// `timestampadd`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampAdd {
    signature: Signature,
}

impl TimestampAdd {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TimestampAdd {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TimestampAdd {
    fn name(&self) -> &str {
        "timestampadd"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 3..=3)?;
        if !is_string(&types[0]) {
            return plan_err!("function timestampadd needs a unit");
        }
        let quantity = match &types[1] {
            t if is_integer(t) || matches!(t, DataType::Null) => DataType::Int64,
            other => return plan_err!("function timestampadd expects an integer quantity, not {other}"),
        };
        Ok(vec![types[0].clone(), quantity, coerce_temporal(self.name(), &types[2])?])
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(result_type(&arg_types[2]))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let unit = unit_arg(self.name(), &args.args[0])?;
        let zoned = !matches!(args.args[2].data_type(), DataType::Timestamp(_, None));
        let a = arrays(&args)?;
        let quantity = cast(&a[1], &DataType::Int64)?;
        let quantity = quantity.as_primitive::<Int64Type>();
        let values = micros(&a[2])?;
        let out: TimestampMicrosecondArray = (0..values.len())
            .map(|row| {
                if values.is_null(row) || quantity.is_null(row) {
                    return None;
                }
                let (t, n) = (values.value(row), quantity.value(row));
                match unit {
                    Unit::Micros(per) => t.checked_add(n.checked_mul(per)?),
                    Unit::Months(per) => add_months(t, n.checked_mul(per)?),
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(if zoned { out.with_timezone("+00:00") } else { out })))
    }
}

/// `timestampdiff`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimestampDiff {
    signature: Signature,
}

impl TimestampDiff {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for TimestampDiff {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TimestampDiff {
    fn name(&self) -> &str {
        "timestampdiff"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        expect_args(self.name(), types, 3..=3)?;
        if !is_string(&types[0]) {
            return plan_err!("function timestampdiff needs a unit");
        }
        Ok(vec![types[0].clone(), coerce_temporal(self.name(), &types[1])?, coerce_temporal(self.name(), &types[2])?])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let unit = unit_arg(self.name(), &args.args[0])?;
        let a = arrays(&args)?;
        let (start, end) = (micros(&a[1])?, micros(&a[2])?);
        let out: Int64Array = (0..start.len())
            .map(|row| {
                if start.is_null(row) || end.is_null(row) {
                    return None;
                }
                let (s, e) = (start.value(row), end.value(row));
                match unit {
                    Unit::Micros(per) => Some(e.checked_sub(s)? / per),
                    Unit::Months(per) => Some(months_between(s, e)? / per),
                }
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::functions::datetime::common::parse_timestamp;

    fn ts(text: &str) -> i64 {
        parse_timestamp(text).unwrap_or(i64::MIN)
    }

    #[test]
    fn months_count_when_the_day_is_reached() {
        assert_eq!(months_between(ts("2024-01-31"), ts("2024-02-29")), Some(0));
        assert_eq!(months_between(ts("2024-01-31"), ts("2024-03-31")), Some(2));
        assert_eq!(months_between(ts("2024-01-15 10:00:00"), ts("2024-02-15 09:00:00")), Some(0));
        assert_eq!(months_between(ts("2024-03-31"), ts("2024-01-31")), Some(-2));
        assert_eq!(months_between(ts("2024-03-15"), ts("2024-01-20")), Some(-1));
    }

    #[test]
    fn months_clamp_to_the_end_of_month() {
        assert_eq!(add_months(ts("2024-01-31 00:00:00"), 1), Some(ts("2024-02-29 00:00:00")));
        assert_eq!(add_months(ts("2024-03-31 12:00:00"), -1), Some(ts("2024-02-29 12:00:00")));
    }
}
