//! Spark datetime functions (`datetime_funcs`), in the session time zone UTC. Here:
//! `unix_timestamp`/`to_unix_timestamp`, `from_unixtime`, `date_format`, `to_date`/
//! `try_to_date`, `to_timestamp`/`try_to_timestamp`/`to_timestamp_ltz`, with Spark (Java)
//! patterns; the rest in the submodules.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use super::pattern::to_chrono;

pub mod arith;
pub mod bucket;
pub mod casts;
pub mod common;
pub mod fields;
pub mod interval;
pub mod interval_fields;
pub mod make;
pub mod ntz;
pub mod time_window;
pub mod timestampadd;
pub mod trunc;
pub mod unsupported;
pub mod zones;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<datafusion::logical_expr::ScalarUDF>> {
    use arith::{DateArith, Op};
    use datafusion::logical_expr::ScalarUDF;
    use fields::{Extract, Part};
    use make::{Make, MakeTemporal};
    let mut out = vec![
        ScalarUDF::from(UnixTimestamp::new()).with_aliases(["to_unix_timestamp"]),
        ScalarUDF::from(FromUnixtime::new()),
        ScalarUDF::from(DateFormat::new()),
        ScalarUDF::from(ToTemporal::date()).with_aliases(["try_to_date"]),
        ScalarUDF::from(ToTemporal::timestamp()).with_aliases(["try_to_timestamp", "to_timestamp_ltz"]),
        ScalarUDF::from(DateArith::new("date_add", Op::DateAdd)).with_aliases(["dateadd"]),
        ScalarUDF::from(DateArith::new("date_sub", Op::DateSub)),
        ScalarUDF::from(DateArith::new("add_months", Op::AddMonths)),
        ScalarUDF::from(DateArith::new("last_day", Op::LastDay)),
        ScalarUDF::from(DateArith::new("next_day", Op::NextDay)),
        ScalarUDF::from(DateArith::new("months_between", Op::MonthsBetween)),
        ScalarUDF::from(DateArith::new("date_from_unix_date", Op::DateFromUnixDate)),
        ScalarUDF::from(DateArith::new("unix_date", Op::UnixDate)),
        ScalarUDF::from(DateArith::new("unix_seconds", Op::UnixSeconds)),
        ScalarUDF::from(DateArith::new("unix_millis", Op::UnixMillis)),
        ScalarUDF::from(DateArith::new("unix_micros", Op::UnixMicros)),
        ScalarUDF::from(DateArith::new("timestamp_seconds", Op::TimestampSeconds)),
        ScalarUDF::from(DateArith::new("timestamp_millis", Op::TimestampMillis)),
        ScalarUDF::from(DateArith::new("timestamp_micros", Op::TimestampMicros)),
        ScalarUDF::from(MakeTemporal::new("make_date", Make::Date)),
        ScalarUDF::from(MakeTemporal::new("make_timestamp", Make::Timestamp)).with_aliases([
            "make_timestamp_ltz",
            "try_make_timestamp",
            "try_make_timestamp_ltz",
        ]),
        ScalarUDF::from(MakeTemporal::new("make_timestamp_ntz", Make::TimestampNtz))
            .with_aliases(["try_make_timestamp_ntz"]),
        ScalarUDF::from(ToTemporal::timestamp_ntz()),
        ScalarUDF::from(ntz::ConvertTimezone::new()),
        ScalarUDF::from(ntz::LocalTimestamp::new()),
        ScalarUDF::from(timestampadd::TimestampAdd::new()),
        ScalarUDF::from(time_window::TimeWindows::new()),
        ScalarUDF::from(time_window::SessionStart::new()),
        ScalarUDF::from(time_window::SessionEnd::new()),
        ScalarUDF::from(time_window::WindowTime::new()),
        ScalarUDF::from(timestampadd::TimestampDiff::new()),
        ScalarUDF::from(MakeTemporal::new("make_ym_interval", Make::YmInterval)),
        ScalarUDF::from(zones::ShiftZone::from_utc()),
        ScalarUDF::from(zones::ShiftZone::to_utc()),
        ScalarUDF::from(trunc::Trunc::date()),
        ScalarUDF::from(trunc::Trunc::timestamp()),
        ScalarUDF::from(casts::CastFunction::date()),
        ScalarUDF::from(casts::CastFunction::timestamp()),
        ScalarUDF::from(casts::CurrentTimezone::new()),
        ScalarUDF::from(bucket::TimeBucket::new()),
        datafusion::functions::datetime::current_date().as_ref().clone().with_aliases(["curdate"]),
    ];
    let extractors: &[(&'static str, &'static [&'static str], Part)] = &[
        ("year", &[], Part::Year),
        ("quarter", &[], Part::Quarter),
        ("month", &[], Part::Month),
        ("day", &["dayofmonth"], Part::Day),
        ("dayofweek", &[], Part::DayOfWeek),
        ("weekday", &[], Part::Weekday),
        ("dayofyear", &[], Part::DayOfYear),
        ("weekofyear", &[], Part::Week),
        ("hour", &[], Part::Hour),
        ("minute", &[], Part::Minute),
        ("second", &[], Part::Second),
        ("dayname", &[], Part::DayName),
        ("monthname", &[], Part::MonthName),
    ];
    for (name, aliases, part) in extractors {
        out.push(ScalarUDF::from(Extract::new(name, *part)).with_aliases(aliases.iter().copied()));
    }
    for (name, reason) in unsupported::UNSUPPORTED {
        out.push(ScalarUDF::from(unsupported::Unsupported::new(name, reason)));
    }
    let mut out: Vec<Arc<ScalarUDF>> = out.into_iter().map(Arc::new).collect();
    out.push(fields::date_part_udf());
    out.extend(interval::functions());
    out
}

const DEFAULT_FORMAT: &str = "yyyy-MM-dd HH:mm:ss";

/// Microseconds since the epoch for each row of a timestamp, date or string column.
fn micros(array: &ArrayRef, pattern: Option<&str>) -> Result<Vec<Option<i64>>> {
    match array.data_type() {
        DataType::Timestamp(..) => {
            let as_micros = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let values = as_micros.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            Ok(values.iter().collect())
        }
        DataType::Date32 | DataType::Date64 => {
            let days = cast(array, &DataType::Date32)?;
            let values = days.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
            Ok(values.iter().map(|d| d.map(|d| i64::from(d) * 86_400_000_000)).collect())
        }
        DataType::Null => Ok(vec![None; array.len()]),
        DataType::Time32(_) | DataType::Time64(_) => {
            // A time of day: on 1970-01-01.
            let as_micros = cast(array, &DataType::Time64(TimeUnit::Microsecond))?;
            let values = as_micros.as_primitive::<datafusion::arrow::datatypes::Time64MicrosecondType>();
            Ok(values.iter().collect())
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let format = pattern
                .map(|p| to_chrono(p, true))
                .transpose()
                .map_err(datafusion::error::DataFusionError::Execution)?;
            Ok(text.iter().map(|s| s.and_then(|s| parse_text(s, format.as_deref()))).collect())
        }
        other => exec_err!("expected a timestamp, date or string but got {other}"),
    }
}

/// Parses text with a chrono format (date-only formats give midnight), or Spark's default
/// casts when there is none.
fn parse_text(text: &str, format: Option<&str>) -> Option<i64> {
    let text = text.trim();
    let parsed = match format {
        Some(f) => NaiveDateTime::parse_from_str(text, f)
            .ok()
            .or_else(|| NaiveDate::parse_from_str(text, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
            .or_else(|| DateTime::parse_from_str(text, f).ok().map(|d| d.naive_utc())),
        None => ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|d| d.naive_utc()))
            .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))),
    }?;
    Some(parsed.and_utc().timestamp_micros())
}

/// The pattern argument: one value for a literal, or one per row.
fn patterns(arg: Option<&ColumnarValue>, rows: usize) -> Result<Vec<Option<String>>> {
    match arg {
        None => Ok(vec![Some(DEFAULT_FORMAT.to_string()); rows]),
        Some(ColumnarValue::Scalar(s)) => {
            let text = match s {
                ScalarValue::Utf8(v) | ScalarValue::LargeUtf8(v) | ScalarValue::Utf8View(v) => v.clone(),
                ScalarValue::Null => None,
                other => return exec_err!("the format must be a string, not {}", other.data_type()),
            };
            Ok(vec![text; rows])
        }
        Some(ColumnarValue::Array(a)) => {
            let text = cast(a, &DataType::Utf8)?;
            Ok(text.as_string::<i32>().iter().map(|s| s.map(str::to_string)).collect())
        }
    }
}

fn rows_of(args: &ScalarFunctionArgs) -> usize {
    args.number_rows
}

fn format_rows(values: Vec<Option<i64>>, patterns: Vec<Option<String>>) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    let mut cached: Option<(String, String)> = None;
    for (value, pattern) in values.into_iter().zip(patterns) {
        let (Some(micros), Some(pattern)) = (value, pattern) else {
            out.append_null();
            continue;
        };
        if cached.as_ref().map(|(p, _)| p != &pattern).unwrap_or(true) {
            let chrono = to_chrono(&pattern, false).map_err(datafusion::error::DataFusionError::Execution)?;
            cached = Some((pattern, chrono));
        }
        let chrono = &cached.as_ref().map(|(_, c)| c.clone()).unwrap_or_default();
        match Utc.timestamp_micros(micros).single() {
            Some(ts) => {
                let mut text = String::new();
                if write!(text, "{}", ts.format(chrono)).is_err() {
                    return exec_err!("cannot format with pattern '{chrono}'");
                }
                out.append_value(text);
            }
            None => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

macro_rules! udf_boilerplate {
    ($name:expr, $ret:expr) => {
        fn name(&self) -> &str {
            $name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
        fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
            Ok($ret)
        }
    };
}

/// `unix_timestamp()`, `unix_timestamp(ts | date | string [, fmt])`: seconds since the epoch
/// (null when a string does not match).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UnixTimestamp {
    signature: Signature,
}

impl UnixTimestamp {
    pub fn new() -> Self {
        Self {
            signature: Signature::one_of(
                vec![TypeSignature::Nullary, TypeSignature::Any(1), TypeSignature::Any(2)],
                Volatility::Stable,
            ),
        }
    }
}

impl Default for UnixTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for UnixTimestamp {
    udf_boilerplate!("unix_timestamp", DataType::Int64);

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.is_empty() {
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(Utc::now().timestamp()))));
        }
        let rows = rows_of(&args);
        let input = args.args[0].to_array(rows)?;
        let pats = patterns(args.args.get(1), rows)?;
        let values: Vec<Option<i64>> =
            if matches!(input.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                && pats.windows(2).any(|w| w[0] != w[1])
            {
                // A pattern per row.
                let text = cast(&input, &DataType::Utf8)?;
                let text = text.as_string::<i32>();
                text.iter()
                    .zip(&pats)
                    .map(|(s, p)| {
                        let format = p.as_deref().and_then(|p| to_chrono(p, true).ok());
                        s.and_then(|s| format.as_deref().and_then(|f| parse_text(s, Some(f))))
                    })
                    .collect()
            } else {
                let pattern = pats.first().cloned().flatten();
                match pattern {
                    Some(p) => micros(&input, Some(&p))?,
                    None => vec![None; rows],
                }
            };
        let mut out = Int64Builder::with_capacity(values.len());
        for v in values {
            out.append_option(v.map(|m| m.div_euclid(1_000_000)));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `from_unixtime(secs [, fmt])`: text of a Unix time, `yyyy-MM-dd HH:mm:ss` by default.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FromUnixtime {
    signature: Signature,
}

impl FromUnixtime {
    pub fn new() -> Self {
        Self { signature: Signature::one_of(vec![TypeSignature::Any(1), TypeSignature::Any(2)], Volatility::Immutable) }
    }
}

impl Default for FromUnixtime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for FromUnixtime {
    udf_boilerplate!("from_unixtime", DataType::Utf8);

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let secs = cast(&args.args[0].to_array(rows)?, &DataType::Int64)?;
        let values: Vec<Option<i64>> = secs
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .iter()
            .map(|s| s.map(|s| s * 1_000_000))
            .collect();
        Ok(ColumnarValue::Array(format_rows(values, patterns(args.args.get(1), rows)?)?))
    }
}

/// `date_format(ts | date | string, fmt)` with a Spark pattern.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateFormat {
    signature: Signature,
}

impl DateFormat {
    pub fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl Default for DateFormat {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for DateFormat {
    udf_boilerplate!("date_format", DataType::Utf8);

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let values = micros(&args.args[0].to_array(rows)?, None)?;
        Ok(ColumnarValue::Array(format_rows(values, patterns(args.args.get(1), rows)?)?))
    }
}

/// `to_date(str [, fmt])` and `to_timestamp(str [, fmt])` with Spark patterns (null when the
/// text does not match, as Spark without ANSI mode).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToTemporal {
    signature: Signature,
    date: bool,
    /// `to_timestamp_ntz`: a TIMESTAMP_NTZ.
    ntz: bool,
}

impl ToTemporal {
    pub fn date() -> Self {
        Self {
            signature: Signature::one_of(vec![TypeSignature::Any(1), TypeSignature::Any(2)], Volatility::Immutable),
            date: true,
            ntz: false,
        }
    }
    pub fn timestamp() -> Self {
        Self { date: false, ..Self::date() }
    }
    pub fn timestamp_ntz() -> Self {
        Self { ntz: true, ..Self::timestamp() }
    }
}

impl ScalarUDFImpl for ToTemporal {
    fn name(&self) -> &str {
        if self.date {
            "to_date"
        } else if self.ntz {
            "to_timestamp_ntz"
        } else {
            "to_timestamp"
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.date {
            DataType::Date32
        } else if self.ntz {
            crate::sql::timestamps::ntz()
        } else {
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_of(&args);
        let pattern = match args.args.get(1) {
            None => None,
            Some(_) => patterns(args.args.get(1), rows)?.into_iter().next().flatten(),
        };
        let input = args.args[0].to_array(rows)?;
        let values = if self.ntz && args.args.len() == 1 && common::is_string(input.data_type()) {
            // Spark's cast to TIMESTAMP_NTZ: a zone in the text is ignored.
            common::strings(&input)?.iter().map(|s| s.and_then(common::parse_timestamp_ntz)).collect()
        } else if self.ntz && common::is_string(input.data_type()) {
            // With a pattern: the text's wall clock; text with a zone gives NULL.
            let format = match pattern.as_deref() {
                Some(p) => Some(to_chrono(p, true).map_err(datafusion::error::DataFusionError::Execution)?),
                None => None,
            };
            let text = common::strings(&input)?;
            text.iter()
                .map(|s| {
                    let (s, f) = (s?.trim(), format.as_deref()?);
                    NaiveDateTime::parse_from_str(s, f)
                        .ok()
                        .or_else(|| NaiveDate::parse_from_str(s, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                        .map(|t| t.and_utc().timestamp_micros())
                })
                .collect()
        } else {
            micros(&input, pattern.as_deref())?
        };
        if self.date {
            let mut out = Date32Builder::with_capacity(rows);
            for v in values {
                out.append_option(v.map(|m| m.div_euclid(86_400_000_000) as i32));
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        } else {
            let mut out = TimestampMicrosecondBuilder::with_capacity(rows);
            if !self.ntz {
                out = out.with_timezone("+00:00");
            }
            for v in values {
                out.append_option(v);
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish())))
        }
    }
}
