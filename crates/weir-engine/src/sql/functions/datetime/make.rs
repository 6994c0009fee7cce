//! Building dates, timestamps and intervals from parts, as Spark does without ANSI mode
//! (invalid parts give null): `make_date(y, m, d)`; `make_timestamp(y, mo, d, h, mi, sec
//! [, tz])` and `make_timestamp(date [, time [, tz]])`, with `make_timestamp_ltz`,
//! `try_make_timestamp` and `try_make_timestamp_ltz` the same function here (the session's
//! time zone is UTC). `sec` is `decimal(16,6)`; 60 is allowed with no fraction and is the
//! next minute. The wall-clock time is read in `tz` (DST gaps move later, overlaps take the
//! earlier offset). `make_ym_interval(years, months)` is an `interval year to month`.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, IntervalYearMonthArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Decimal128Type, Int32Type, IntervalUnit, Time64MicrosecondType, TimeUnit,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::common::{
    MICROS_PER_DAY, MICROS_PER_SECOND, Zone, arrays, coerce_int, coerce_string, days, days_of, is_numeric, is_string,
    strings, timestamp_type, zones,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Make {
    Date,
    Timestamp,
    /// `make_timestamp_ntz`: no time zone argument, a TIMESTAMP_NTZ.
    TimestampNtz,
    YmInterval,
}

/// One of the functions above.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MakeTemporal {
    name: &'static str,
    make: Make,
    signature: Signature,
}

impl MakeTemporal {
    pub fn new(name: &'static str, make: Make) -> Self {
        Self { name, make, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

const SECONDS: DataType = DataType::Decimal128(16, 6);

fn coerce_seconds(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Null => Ok(SECONDS),
        t if is_numeric(t) || is_string(t) => Ok(SECONDS),
        other => plan_err!("function {name} expects seconds as a number, not {other}"),
    }
}

/// Whether the first argument starts the `(date [, time [, tz]])` form.
fn date_form(types: &[DataType]) -> bool {
    types.len() <= 3
        && types
            .first()
            .is_some_and(|t| matches!(t, DataType::Date32 | DataType::Date64 | DataType::Timestamp(..)) || is_string(t))
}

/// Microseconds of a local date and time of day from parts, or None when a part is out of
/// range (seconds as microseconds, below 60 s).
pub fn local_micros(year: i32, month: i32, day: i32, hour: i32, minute: i32, sec_micros: i128) -> Option<i64> {
    let date = NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
    if !(0..24).contains(&hour) || !(0..60).contains(&minute) {
        return None;
    }
    if !(0..i128::from(60 * MICROS_PER_SECOND)).contains(&sec_micros) {
        return None;
    }
    let sec_micros = i64::try_from(sec_micros).ok()?;
    Some(
        i64::from(days_of(date)) * MICROS_PER_DAY
            + (i64::from(hour) * 3600 + i64::from(minute) * 60) * MICROS_PER_SECOND
            + sec_micros,
    )
}

fn to_utc(local: Option<i64>, zone: Option<Zone>) -> Option<i64> {
    match zone {
        None => local,
        Some(z) => z.local_to_utc(local?),
    }
}

impl MakeTemporal {
    fn make_timestamp(&self, a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let mut out = TimestampMicrosecondBuilder::with_capacity(rows);
        if self.make == Make::Timestamp {
            out = out.with_timezone("+00:00");
        }
        if a.len() <= 3 {
            let dates = days(&a[0])?;
            let times = match a.get(1) {
                Some(t) => Some(cast(t, &DataType::Time64(TimeUnit::Microsecond))?),
                None => None,
            };
            let times = times.as_ref().map(|t| t.as_primitive::<Time64MicrosecondType>());
            let zones = match a.get(2) {
                Some(z) => Some(zones(self.name, &strings(z)?)?),
                None => None,
            };
            for row in 0..rows {
                if dates.is_null(row) || times.is_some_and(|t| t.is_null(row)) {
                    out.append_null();
                    continue;
                }
                let zone = match &zones {
                    Some(z) => match z[row] {
                        Some(z) => Some(z),
                        None => {
                            out.append_null();
                            continue;
                        }
                    },
                    None => None,
                };
                let time = times.map(|t| t.value(row)).unwrap_or(0);
                let local = i64::from(dates.value(row)) * MICROS_PER_DAY + time;
                out.append_option(to_utc(Some(local), zone));
            }
            return Ok(Arc::new(out.finish()));
        }
        let parts: Vec<_> = a[..5].iter().map(|p| cast(p, &DataType::Int32)).collect::<std::result::Result<_, _>>()?;
        let parts: Vec<_> = parts.iter().map(|p| p.as_primitive::<Int32Type>()).collect();
        let seconds = cast(&a[5], &SECONDS)?;
        let seconds = seconds.as_primitive::<Decimal128Type>();
        let zones = match a.get(6) {
            Some(z) => Some(zones(self.name, &strings(z)?)?),
            None => None,
        };
        for row in 0..rows {
            if parts.iter().any(|p| p.is_null(row)) || seconds.is_null(row) {
                out.append_null();
                continue;
            }
            let zone = match &zones {
                Some(z) => match z[row] {
                    Some(z) => Some(z),
                    None => {
                        out.append_null();
                        continue;
                    }
                },
                None => None,
            };
            let sec = seconds.value(row);
            let sixty = i128::from(60 * MICROS_PER_SECOND);
            // 60 seconds (no fraction) is the next minute.
            let (sec, carry) = if sec == sixty { (0, 60 * MICROS_PER_SECOND) } else { (sec, 0) };
            let p = |i: usize| parts[i].value(row);
            let local = local_micros(p(0), p(1), p(2), p(3), p(4), sec).map(|l| l + carry);
            out.append_option(to_utc(local, zone));
        }
        Ok(Arc::new(out.finish()))
    }
}

impl ScalarUDFImpl for MakeTemporal {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name;
        match self.make {
            Make::Date => {
                if types.len() != 3 {
                    return plan_err!("function {name} takes 3 arguments, not {}", types.len());
                }
                types.iter().map(|t| coerce_int(name, t)).collect()
            }
            Make::YmInterval => {
                if types.len() > 2 {
                    return plan_err!("function {name} takes at most 2 arguments, not {}", types.len());
                }
                types.iter().map(|t| coerce_int(name, t)).collect()
            }
            Make::Timestamp | Make::TimestampNtz => {
                if self.make == Make::TimestampNtz && (types.len() == 7 || (date_form(types) && types.len() == 3)) {
                    return plan_err!("function {name} takes no time zone argument");
                }
                if date_form(types) {
                    let mut out = vec![DataType::Date32];
                    if let Some(t) = types.get(1) {
                        match t {
                            DataType::Null | DataType::Time32(_) | DataType::Time64(_) => {
                                out.push(DataType::Time64(TimeUnit::Microsecond))
                            }
                            t if is_string(t) => out.push(DataType::Time64(TimeUnit::Microsecond)),
                            other => return plan_err!("function {name} expects a time, not {other}"),
                        }
                    }
                    if let Some(t) = types.get(2) {
                        out.push(coerce_string(name, t)?);
                    }
                    return Ok(out);
                }
                if !(6..=7).contains(&types.len()) {
                    return plan_err!(
                        "function {name} takes 6 or 7 arguments (or a date, time and zone), not {}",
                        types.len()
                    );
                }
                let mut out = Vec::with_capacity(types.len());
                for t in &types[..5] {
                    out.push(coerce_int(name, t)?);
                }
                out.push(coerce_seconds(name, &types[5])?);
                if let Some(t) = types.get(6) {
                    out.push(coerce_string(name, t)?);
                }
                Ok(out)
            }
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.make {
            Make::Date => DataType::Date32,
            Make::Timestamp => timestamp_type(),
            Make::TimestampNtz => crate::sql::timestamps::ntz(),
            Make::YmInterval => DataType::Interval(IntervalUnit::YearMonth),
        })
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let a = arrays(&args)?;
        let out: ArrayRef = match self.make {
            Make::Date => {
                let parts: Vec<_> = a.iter().map(|p| p.as_primitive::<Int32Type>()).collect();
                let out: Date32Array = (0..rows)
                    .map(|row| {
                        if parts.iter().any(|p| p.is_null(row)) {
                            return None;
                        }
                        let (y, m, d) = (parts[0].value(row), parts[1].value(row), parts[2].value(row));
                        NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?).map(days_of)
                    })
                    .collect();
                Arc::new(out)
            }
            Make::YmInterval => {
                let parts: Vec<_> = a.iter().map(|p| p.as_primitive::<Int32Type>()).collect();
                let mut values = Vec::with_capacity(rows);
                for row in 0..rows {
                    if parts.iter().any(|p| p.is_null(row)) {
                        values.push(None);
                        continue;
                    }
                    let years = parts.first().map(|p| p.value(row)).unwrap_or(0);
                    let months = parts.get(1).map(|p| p.value(row)).unwrap_or(0);
                    match years.checked_mul(12).and_then(|y| y.checked_add(months)) {
                        Some(v) => values.push(Some(v)),
                        None => return exec_err!("{}: the interval overflows", self.name),
                    }
                }
                Arc::new(IntervalYearMonthArray::from(values))
            }
            Make::Timestamp | Make::TimestampNtz => {
                if a.is_empty() {
                    return exec_err!("{} needs arguments", self.name);
                }
                self.make_timestamp(&a, rows)?
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_out_of_range_are_none() {
        assert!(local_micros(2024, 2, 29, 23, 59, 59_999_999).is_some());
        assert!(local_micros(2023, 2, 29, 0, 0, 0).is_none());
        assert!(local_micros(2024, 13, 1, 0, 0, 0).is_none());
        assert!(local_micros(2024, 1, 1, 24, 0, 0).is_none());
        assert!(local_micros(2024, 1, 1, 0, 0, 60_500_000).is_none());
        assert!(local_micros(2024, 1, 1, 0, 0, 60_000_000).is_none());
    }
}
