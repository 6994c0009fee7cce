//! Date arithmetic and epoch conversions, as Spark (non-ANSI) computes them:
//! `date_add`/`dateadd`/`date_sub(start, days)`, `add_months(start, n)` (the day clamped to
//! the month's last), `last_day`, `next_day(start, 'TU' | 'TUE' | 'TUESDAY')` (null for an
//! unknown day), `months_between(t1, t2[, roundOff])` (31-day months below a month, rounded
//! to 8 digits unless `roundOff` is false), `date_from_unix_date`, `unix_date`,
//! `unix_seconds`/`unix_millis`/`unix_micros` (floor) and `timestamp_seconds`/
//! `timestamp_millis`/`timestamp_micros`. Results that leave the representable range are
//! null.

use std::sync::Arc;

use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{
    MICROS_PER_DAY, MICROS_PER_SECOND, arrays, coerce_int, coerce_string, coerce_temporal, date_of, days, days_of,
    expect_args, is_integer, is_numeric, is_string, micros, strings, timestamp_type,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    DateAdd,
    DateSub,
    AddMonths,
    LastDay,
    NextDay,
    MonthsBetween,
    DateFromUnixDate,
    UnixDate,
    UnixSeconds,
    UnixMillis,
    UnixMicros,
    TimestampSeconds,
    TimestampMillis,
    TimestampMicros,
}

/// One of the functions above.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateArith {
    name: &'static str,
    op: Op,
    signature: Signature,
}

impl DateArith {
    pub fn new(name: &'static str, op: Op) -> Self {
        Self { name, op, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

fn last_of_month(date: NaiveDate) -> Option<NaiveDate> {
    let first = date.with_day(1)?;
    first.checked_add_months(Months::new(1))?.pred_opt()
}

/// Monday = 0 ... Sunday = 6 for Spark's day names.
fn day_of_week(text: &str) -> Option<u32> {
    Some(match text.trim().to_ascii_uppercase().as_str() {
        "MO" | "MON" | "MONDAY" => 0,
        "TU" | "TUE" | "TUESDAY" => 1,
        "WE" | "WED" | "WEDNESDAY" => 2,
        "TH" | "THU" | "THURSDAY" => 3,
        "FR" | "FRI" | "FRIDAY" => 4,
        "SA" | "SAT" | "SATURDAY" => 5,
        "SU" | "SUN" | "SUNDAY" => 6,
        _ => return None,
    })
}

/// Spark's `monthsBetween` in UTC.
pub fn months_between(t1: i64, t2: i64, round_off: bool) -> Option<f64> {
    let (d1, d2) = (t1.div_euclid(MICROS_PER_DAY), t2.div_euclid(MICROS_PER_DAY));
    let date1 = date_of(i32::try_from(d1).ok()?)?;
    let date2 = date_of(i32::try_from(d2).ok()?)?;
    let months1 = i64::from(date1.year()) * 12 + i64::from(date1.month());
    let months2 = i64::from(date2.year()) * 12 + i64::from(date2.month());
    let month_diff = (months1 - months2) as f64;
    let last1 = last_of_month(date1)? == date1;
    let last2 = last_of_month(date2)? == date2;
    if date1.day() == date2.day() || (last1 && last2) {
        return Some(month_diff);
    }
    let seconds1 = (t1 - d1 * MICROS_PER_DAY) / MICROS_PER_SECOND;
    let seconds2 = (t2 - d2 * MICROS_PER_DAY) / MICROS_PER_SECOND;
    let seconds_diff = (i64::from(date1.day()) - i64::from(date2.day())) * 86_400 + seconds1 - seconds2;
    let diff = month_diff + seconds_diff as f64 / (31.0 * 86_400.0);
    Some(if round_off { (diff * 1e8 + 0.5).floor() / 1e8 } else { diff })
}

fn ints(array: &ArrayRef) -> Result<Int32Array> {
    Ok(cast(array, &DataType::Int32)?.as_primitive::<Int32Type>().clone())
}

fn longs(array: &ArrayRef) -> Result<Int64Array> {
    Ok(cast(array, &DataType::Int64)?.as_primitive::<Int64Type>().clone())
}

fn timestamps(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(values.collect::<TimestampMicrosecondArray>().with_timezone("+00:00"))
}

/// `timestamp_seconds` of any number: integers exactly, decimals and doubles to the
/// microsecond (truncated, as Spark's `toLong`).
fn seconds_to_micros(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => {
            let scale = i32::from(*scale);
            let values = cast(array, &DataType::Decimal128(38, scale.max(0) as i8))?;
            let values = values.as_primitive::<Decimal128Type>();
            let scale = scale.max(0);
            timestamps(values.iter().map(|v| {
                let v = v?;
                let micros = if scale <= 6 {
                    v.checked_mul(10i128.pow((6 - scale) as u32))?
                } else {
                    v / 10i128.pow((scale - 6) as u32)
                };
                i64::try_from(micros).ok()
            }))
        }
        t if t.is_floating() => {
            let values = cast(array, &DataType::Float64)?;
            timestamps(values.as_primitive::<Float64Type>().iter().map(|v| {
                let micros = v? * 1e6;
                (micros.is_finite() && micros.abs() < 9.2e18).then_some(micros as i64)
            }))
        }
        _ => timestamps(longs(array)?.iter().map(|v| v?.checked_mul(MICROS_PER_SECOND))),
    })
}

impl ScalarUDFImpl for DateArith {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name;
        match self.op {
            Op::DateAdd | Op::DateSub | Op::AddMonths => {
                expect_args(name, types, 2..=2)?;
                Ok(vec![coerce_temporal(name, &types[0])?, coerce_int(name, &types[1])?])
            }
            Op::LastDay | Op::UnixDate | Op::UnixSeconds | Op::UnixMillis | Op::UnixMicros => {
                expect_args(name, types, 1..=1)?;
                Ok(vec![coerce_temporal(name, &types[0])?])
            }
            Op::NextDay => {
                expect_args(name, types, 2..=2)?;
                Ok(vec![coerce_temporal(name, &types[0])?, coerce_string(name, &types[1])?])
            }
            Op::MonthsBetween => {
                expect_args(name, types, 2..=3)?;
                let mut out = vec![coerce_temporal(name, &types[0])?, coerce_temporal(name, &types[1])?];
                if let Some(t) = types.get(2) {
                    match t {
                        DataType::Boolean | DataType::Null => out.push(DataType::Boolean),
                        t if is_string(t) => out.push(DataType::Boolean),
                        other => return plan_err!("{name}: roundOff must be a boolean, not {other}"),
                    }
                }
                Ok(out)
            }
            Op::DateFromUnixDate => {
                expect_args(name, types, 1..=1)?;
                Ok(vec![coerce_int(name, &types[0])?])
            }
            Op::TimestampSeconds => {
                expect_args(name, types, 1..=1)?;
                match &types[0] {
                    DataType::Null => Ok(vec![DataType::Int64]),
                    t if is_integer(t) => Ok(vec![DataType::Int64]),
                    t if is_numeric(t) => Ok(vec![t.clone()]),
                    other => plan_err!("{name} expects a number, not {other}"),
                }
            }
            Op::TimestampMillis | Op::TimestampMicros => {
                expect_args(name, types, 1..=1)?;
                match &types[0] {
                    DataType::Null => Ok(vec![DataType::Int64]),
                    t if is_integer(t) => Ok(vec![DataType::Int64]),
                    other => plan_err!("{name} expects an integer, not {other}"),
                }
            }
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::DateAdd | Op::DateSub | Op::AddMonths | Op::LastDay | Op::NextDay | Op::DateFromUnixDate => {
                DataType::Date32
            }
            Op::MonthsBetween => DataType::Float64,
            Op::UnixDate => DataType::Int32,
            Op::UnixSeconds | Op::UnixMillis | Op::UnixMicros => DataType::Int64,
            Op::TimestampSeconds | Op::TimestampMillis | Op::TimestampMicros => timestamp_type(),
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        let Some(first) = a.first() else {
            return exec_err!("{} needs an argument", self.name);
        };
        let out: ArrayRef = match self.op {
            Op::DateAdd | Op::DateSub => {
                let (start, n) = (days(first)?, ints(&a[1])?);
                let sub = self.op == Op::DateSub;
                let out: Date32Array = start
                    .iter()
                    .zip(n.iter())
                    .map(|(d, n)| {
                        let n = if sub { n?.checked_neg()? } else { n? };
                        let d = date_of(d?)?.checked_add_signed(chrono::TimeDelta::try_days(i64::from(n))?)?;
                        Some(days_of(d))
                    })
                    .collect();
                Arc::new(out)
            }
            Op::AddMonths => {
                let (start, n) = (days(first)?, ints(&a[1])?);
                let out: Date32Array = start
                    .iter()
                    .zip(n.iter())
                    .map(|(d, n)| {
                        let (d, n) = (date_of(d?)?, n?);
                        let moved = if n >= 0 {
                            d.checked_add_months(Months::new(n.unsigned_abs()))
                        } else {
                            d.checked_sub_months(Months::new(n.unsigned_abs()))
                        };
                        moved.map(days_of)
                    })
                    .collect();
                Arc::new(out)
            }
            Op::LastDay => {
                let out: Date32Array = days(first)?.iter().map(|d| last_of_month(date_of(d?)?).map(days_of)).collect();
                Arc::new(out)
            }
            Op::NextDay => {
                let (start, names) = (days(first)?, strings(&a[1])?);
                let out: Date32Array = start
                    .iter()
                    .zip(names.iter())
                    .map(|(d, name)| {
                        let target = day_of_week(name?)?;
                        let d = d?;
                        let current = date_of(d)?.weekday().num_days_from_monday();
                        let ahead = (target + 7 - current) % 7;
                        d.checked_add(if ahead == 0 { 7 } else { ahead as i32 })
                    })
                    .collect();
                Arc::new(out)
            }
            Op::MonthsBetween => {
                let (t1, t2) = (micros(first)?, micros(&a[1])?);
                let round: BooleanArray = match a.get(2) {
                    Some(r) => cast(r, &DataType::Boolean)?.as_boolean().clone(),
                    None => BooleanArray::from(vec![true; t1.len()]),
                };
                let out: Float64Array = t1
                    .iter()
                    .zip(t2.iter())
                    .zip(round.iter())
                    .map(|((t1, t2), r)| months_between(t1?, t2?, r?))
                    .collect();
                Arc::new(out)
            }
            Op::DateFromUnixDate => {
                let out: Date32Array = ints(first)?.iter().map(|d| d.filter(|d| date_of(*d).is_some())).collect();
                Arc::new(out)
            }
            Op::UnixDate => {
                let out: Int32Array = days(first)?.iter().collect();
                Arc::new(out)
            }
            Op::UnixSeconds | Op::UnixMillis | Op::UnixMicros => {
                let per = match self.op {
                    Op::UnixSeconds => MICROS_PER_SECOND,
                    Op::UnixMillis => 1000,
                    _ => 1,
                };
                let out: Int64Array = micros(first)?.iter().map(|m| m.map(|m| m.div_euclid(per))).collect();
                Arc::new(out)
            }
            Op::TimestampSeconds => seconds_to_micros(first)?,
            Op::TimestampMillis => timestamps(longs(first)?.iter().map(|v| v?.checked_mul(1000))),
            Op::TimestampMicros => timestamps(longs(first)?.iter()),
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::parse_timestamp;
    use super::*;

    #[test]
    fn months_between_as_spark() {
        let t = |s: &str| parse_timestamp(s).expect("timestamp");
        assert_eq!(months_between(t("1997-02-28 10:30:00"), t("1996-10-30"), true), Some(3.94959677));
        let exact = months_between(t("1997-02-28 10:30:00"), t("1996-10-30"), false).expect("value");
        assert!((exact - 3.9495967741935485).abs() < 1e-15);
        assert_eq!(months_between(t("2024-03-31"), t("2024-02-29"), true), Some(1.0));
    }

    #[test]
    fn next_day_names() {
        assert_eq!(day_of_week("tu"), Some(1));
        assert_eq!(day_of_week("Sunday"), Some(6));
        assert_eq!(day_of_week("xx"), None);
    }
}
