//! `trunc(date, fmt)` (a date: `YEAR`/`YYYY`/`YY`, `QUARTER`, `MONTH`/`MM`/`MON`, `WEEK`
//! = Monday) and `date_trunc(fmt, ts)` (a timestamp: those and `DAY`/`DD`, `HOUR`, `MINUTE`,
//! `SECOND`, `MILLISECOND`, `MICROSECOND`), null for an unknown format, as Spark.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Date32Array, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{
    MICROS_PER_DAY, arrays, coerce_string, coerce_temporal, date_of, days, days_of, expect_args, micros, strings,
    timestamp_type,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
    Microsecond,
}

fn level(text: &str, of_date: bool) -> Option<Level> {
    let level = match text.trim().to_ascii_uppercase().as_str() {
        "YEAR" | "YYYY" | "YY" => Level::Year,
        "QUARTER" => Level::Quarter,
        "MONTH" | "MM" | "MON" => Level::Month,
        "WEEK" => Level::Week,
        "DAY" | "DD" => Level::Day,
        "HOUR" => Level::Hour,
        "MINUTE" => Level::Minute,
        "SECOND" => Level::Second,
        "MILLISECOND" => Level::Millisecond,
        "MICROSECOND" => Level::Microsecond,
        _ => return None,
    };
    (!of_date || matches!(level, Level::Year | Level::Quarter | Level::Month | Level::Week)).then_some(level)
}

/// The first day of the year, quarter, month or (Monday) week of a date.
fn trunc_date(date: NaiveDate, level: Level) -> Option<NaiveDate> {
    match level {
        Level::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1),
        Level::Quarter => NaiveDate::from_ymd_opt(date.year(), date.month0() / 3 * 3 + 1, 1),
        Level::Month => date.with_day(1),
        Level::Week => date.checked_sub_days(chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))),
        _ => Some(date),
    }
}

fn trunc_micros(t: i64, level: Level) -> Option<i64> {
    let unit = match level {
        Level::Year | Level::Quarter | Level::Month | Level::Week => {
            let day = i32::try_from(t.div_euclid(MICROS_PER_DAY)).ok()?;
            return trunc_date(date_of(day)?, level).map(|d| i64::from(days_of(d)) * MICROS_PER_DAY);
        }
        Level::Day => MICROS_PER_DAY,
        Level::Hour => 3_600_000_000,
        Level::Minute => 60_000_000,
        Level::Second => 1_000_000,
        Level::Millisecond => 1000,
        Level::Microsecond => 1,
    };
    Some(t - t.rem_euclid(unit))
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Trunc {
    /// `date_trunc(fmt, ts)` rather than `trunc(date, fmt)`.
    timestamp: bool,
    signature: Signature,
}

impl Trunc {
    pub fn date() -> Self {
        Self { timestamp: false, signature: Signature::user_defined(Volatility::Immutable) }
    }
    pub fn timestamp() -> Self {
        Self { timestamp: true, ..Self::date() }
    }
}

impl ScalarUDFImpl for Trunc {
    fn name(&self) -> &str {
        if self.timestamp { "date_trunc" } else { "trunc" }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        expect_args(name, types, 2..=2)?;
        Ok(if self.timestamp {
            vec![coerce_string(name, &types[0])?, coerce_temporal(name, &types[1])?]
        } else {
            vec![coerce_temporal(name, &types[0])?, coerce_string(name, &types[1])?]
        })
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.timestamp { timestamp_type() } else { DataType::Date32 })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = arrays(&args)?;
        if self.timestamp {
            let (formats, values) = (strings(&a[0])?, micros(&a[1])?);
            let out: TimestampMicrosecondArray =
                formats.iter().zip(values.iter()).map(|(f, t)| trunc_micros(t?, level(f?, false)?)).collect();
            Ok(ColumnarValue::Array(Arc::new(out.with_timezone("+00:00"))))
        } else {
            let (dates, formats) = (days(&a[0])?, strings(&a[1])?);
            let out: Date32Array = dates
                .iter()
                .zip(formats.iter())
                .map(|(d, f)| trunc_date(date_of(d?)?, level(f?, true)?).map(days_of))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_dates() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(trunc_date(d("2019-08-04"), Level::Week), Some(d("2019-07-29")));
        assert_eq!(trunc_date(d("2019-08-04"), Level::Quarter), Some(d("2019-07-01")));
        assert_eq!(level("xx", true), None);
        assert_eq!(level("hour", true), None);
    }
}
