//! Spark's cast shorthands `int(x)`, `bigint`, `smallint`, `tinyint`, `double`, `float`,
//! `boolean`, `string`, `date`, `timestamp` and `decimal` (decimal(10,0)), with Spark's
//! non-ANSI cast rules: text is trimmed, integers read from text drop a fraction (`'1.9'` is
//! 1) and are NULL out of range, narrowing an integer wraps, a double becomes an integer by
//! truncation (saturating, NaN is 0), booleans read `t/true/y/yes/1` and `f/false/n/no/0`,
//! dates read `yyyy`, `yyyy-m`, `yyyy-m-d` (then anything after `T` or a space), decimals round
//! HALF_UP and are NULL when too wide. Conversions whose Spark text form Weir does not
//! reproduce (floats or timestamps to string, binary) are "not supported yet".

use std::str::FromStr;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder,
    Int64Builder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::ScalarUDF;

use crate::sql::functions::simple::{Simple, check_arity, is_integer, is_string, plain, utf8};
use crate::sql::functions::string::number_format::round_half;

pub fn udfs() -> Vec<Arc<ScalarUDF>> {
    let mut out: Vec<Arc<ScalarUDF>> = ["int", "bigint", "smallint", "tinyint"]
        .into_iter()
        .map(|name| Simple::new(name, coerce, ret, eval_int).udf())
        .collect();
    for name in ["double", "float", "boolean", "string", "date", "timestamp", "decimal"] {
        out.push(Simple::new(name, coerce, ret, eval_other).udf());
    }
    out
}

fn target(name: &str) -> DataType {
    match name {
        "int" => DataType::Int32,
        "bigint" => DataType::Int64,
        "smallint" => DataType::Int16,
        "tinyint" => DataType::Int8,
        "double" => DataType::Float64,
        "float" => DataType::Float32,
        "boolean" => DataType::Boolean,
        "string" => DataType::Utf8,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => DataType::Decimal128(10, 0),
    }
}

fn coerce(name: &str, t: &[DataType]) -> Result<Vec<DataType>> {
    check_arity(name, t, 1, 1)?;
    let from = plain(&t[0]);
    let to = target(name);
    let text = is_string(&from);
    let ok = match &to {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            text || is_integer(&from)
                || matches!(from, DataType::Float32 | DataType::Float64 | DataType::Boolean | DataType::Null)
        }
        DataType::Float64 | DataType::Float32 => {
            text || is_integer(&from) || matches!(from, DataType::Float32 | DataType::Float64 | DataType::Null)
        }
        DataType::Boolean => text || is_integer(&from) || matches!(from, DataType::Boolean | DataType::Null),
        DataType::Utf8 => {
            text || is_integer(&from)
                || matches!(from, DataType::Boolean | DataType::Date32 | DataType::Decimal128(..) | DataType::Null)
        }
        DataType::Date32 => text || matches!(from, DataType::Date32 | DataType::Timestamp(..) | DataType::Null),
        DataType::Timestamp(..) => text || matches!(from, DataType::Date32 | DataType::Timestamp(..) | DataType::Null),
        _ => text || is_integer(&from) || matches!(from, DataType::Decimal128(..) | DataType::Null),
    };
    if !ok {
        return plan_err!("function {name} is not supported yet: converting {from}");
    }
    Ok(vec![from])
}

fn ret(name: &str, _: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    Ok(target(name))
}

/// Spark trims ASCII whitespace and control characters from text before casting.
fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// An integer from text: optional sign, digits, an optional fraction that is dropped.
pub fn parse_integer(s: &str) -> Option<i64> {
    let s = trim(s);
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        let d = (b - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg { v.checked_sub(d)? } else { v.checked_add(d)? };
    }
    Some(v)
}

fn wrap(v: i64, ret: &DataType) -> i64 {
    match ret {
        DataType::Int8 => v as i8 as i64,
        DataType::Int16 => v as i16 as i64,
        DataType::Int32 => v as i32 as i64,
        _ => v,
    }
}

fn eval_int(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let (lo, hi) = match ret {
        DataType::Int8 => (i8::MIN as i64, i8::MAX as i64),
        DataType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        DataType::Int32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let mut out = Int64Builder::with_capacity(a.len());
    match plain(a.data_type()) {
        t if is_string(&t) => {
            let s = utf8(a)?;
            for i in 0..s.len() {
                match s.is_valid(i).then(|| parse_integer(s.value(i))).flatten() {
                    Some(v) if v >= lo && v <= hi => out.append_value(v),
                    _ => out.append_null(),
                }
            }
        }
        DataType::Float32 | DataType::Float64 => {
            let f = cast(a, &DataType::Float64)?;
            let f = f.as_primitive::<Float64Type>();
            for i in 0..f.len() {
                if f.is_null(i) {
                    out.append_null();
                } else {
                    // Java's (int)/(long) conversion: truncation, saturating, NaN is 0; byte
                    // and short go through int and then wrap.
                    let v = f.value(i);
                    let n = match ret {
                        DataType::Int64 => v as i64,
                        DataType::Int32 => v as i32 as i64,
                        _ => wrap(v as i32 as i64, ret),
                    };
                    out.append_value(n);
                }
            }
        }
        _ => {
            let n = cast(a, &DataType::Int64)?;
            let n = n.as_primitive::<Int64Type>();
            for i in 0..n.len() {
                if n.is_null(i) { out.append_null() } else { out.append_value(wrap(n.value(i), ret)) }
            }
        }
    }
    Ok(cast(&(Arc::new(out.finish()) as ArrayRef), ret)?)
}

/// A date from text as Spark reads it.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = trim(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let end = s.find(['T', ' ']).unwrap_or(s.len());
    let parts: Vec<&str> = s[..end].split('-').collect();
    let num = |p: &str, max_len: usize| -> Option<u32> {
        if !p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()) { p.parse().ok() } else { None }
    };
    let (y, m, d) = match parts.as_slice() {
        [y] => (num(y, 7)?, 1, 1),
        [y, m] => (num(y, 7)?, num(m, 2)?, 1),
        [y, m, d] => (num(y, 7)?, num(m, 2)?, num(d, 2)?),
        _ => return None,
    };
    if parts[0].len() < 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// A timestamp (UTC micros) from text: a date, optionally `[T ]hh:mm[:ss[.f]]`, optionally a
/// `Z`, `±hh:mm`, `±hhmm`, `UTC`/`GMT` or region zone.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = trim(s);
    let Some(split) = s.find(['T', ' ']) else {
        return parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc().timestamp_micros());
    };
    let date = parse_date(&s[..split])?;
    let rest = &s[split + 1..];
    let zone_at = rest
        .find(|c: char| c == 'Z' || c == '+' || c == '-' || c == ' ' || c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let (time, zone) = (&rest[..zone_at], rest[zone_at..].trim());
    let parts: Vec<&str> = time.split(':').collect();
    let field = |p: &str| if p.len() == 1 || p.len() == 2 { p.parse::<u32>().ok() } else { None };
    let (h, mi, sec, nanos) = match parts.as_slice() {
        [h, m] => (field(h)?, field(m)?, 0, 0),
        [h, m, s] => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
                return None;
            }
            let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse::<u32>().ok()? };
            (field(h)?, field(m)?, field(whole)?, nanos)
        }
        _ => return None,
    };
    // Spark keeps microseconds.
    let local: NaiveDateTime = date.and_hms_nano_opt(h, mi, sec, nanos / 1000 * 1000)?;
    let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
    if zone.is_empty() || zone == "Z" || zone.eq_ignore_ascii_case("UTC") || zone.eq_ignore_ascii_case("GMT") {
        return Some(micros(local));
    }
    if let Some(sign) = zone.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
            return None;
        }
        let hh: i64 = digits[..2].parse().ok()?;
        let mm: i64 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
        let offset = (hh * 3600 + mm * 60) * 1_000_000;
        return Some(if sign == '+' { micros(local) - offset } else { micros(local) + offset });
    }
    let tz = chrono_tz::Tz::from_str(zone).ok()?;
    tz.from_local_datetime(&local).earliest().map(|t| t.naive_utc()).map(micros)
}

fn parse_double(s: &str) -> Option<f64> {
    let t = trim(s);
    let t = match t.strip_suffix(['d', 'D', 'f', 'F']) {
        Some(x) if x.bytes().any(|b| b.is_ascii_digit()) => x,
        _ => t,
    };
    f64::from_str(t).ok()
}

fn parse_decimal(s: &str, scale: usize, limit: i128) -> Option<i128> {
    let t = trim(s);
    let t = t.strip_prefix('+').unwrap_or(t);
    let body = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let valid = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let (i, f, neg) = round_half(t, scale, false);
    let digits = format!("{i}{f}");
    let v: i128 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    if v >= limit {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn eval_other(args: &[ArrayRef], ret: &DataType) -> Result<ArrayRef> {
    let a = &args[0];
    let text = is_string(&plain(a.data_type()));
    match ret {
        DataType::Float64 | DataType::Float32 if text => {
            let s = utf8(a)?;
            let mut out = Float64Builder::with_capacity(s.len());
            for i in 0..s.len() {
                out.append_option(s.is_valid(i).then(|| parse_double(s.value(i))).flatten());
            }
            Ok(cast(&(Arc::new(out.finish()) as ArrayRef), ret)?)
        }
        DataType::Boolean if text => {
            let s = utf8(a)?;
            let mut out = BooleanBuilder::with_capacity(s.len());
            for i in 0..s.len() {
                let v = s.is_valid(i).then(|| match trim(s.value(i)).to_ascii_lowercase().as_str() {
                    "t" | "true" | "y" | "yes" | "1" => Some(true),
                    "f" | "false" | "n" | "no" | "0" => Some(false),
                    _ => None,
                });
                out.append_option(v.flatten());
            }
            Ok(Arc::new(out.finish()))
        }
        DataType::Date32 if text => {
            let s = utf8(a)?;
            let mut out = Date32Builder::with_capacity(s.len());
            for i in 0..s.len() {
                let v = s.is_valid(i).then(|| parse_date(s.value(i))).flatten();
                out.append_option(v.map(|d| (d - NaiveDate::default()).num_days() as i32));
            }
            Ok(Arc::new(out.finish()))
        }
        DataType::Timestamp(..) if text => {
            let s = utf8(a)?;
            let mut out = TimestampMicrosecondBuilder::with_capacity(s.len()).with_timezone("+00:00");
            for i in 0..s.len() {
                out.append_option(s.is_valid(i).then(|| parse_timestamp(s.value(i))).flatten());
            }
            Ok(Arc::new(out.finish()))
        }
        DataType::Decimal128(p, sc) => {
            let s = utf8(a)?;
            let mut out = Decimal128Builder::with_capacity(s.len());
            let limit = 10i128.pow(*p as u32);
            for i in 0..s.len() {
                out.append_option(s.is_valid(i).then(|| parse_decimal(s.value(i), *sc as usize, limit)).flatten());
            }
            Ok(Arc::new(out.finish().with_precision_and_scale(*p, *sc)?))
        }
        DataType::Boolean => {
            let n = cast(a, &DataType::Int64)?;
            let n = n.as_primitive::<Int64Type>();
            Ok(Arc::new((0..n.len()).map(|i| n.is_valid(i).then(|| n.value(i) != 0)).collect::<BooleanArray>()))
        }
        _ => Ok(cast(a, ret)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spark_text_casts() {
        assert_eq!(parse_integer(" 12 "), Some(12));
        assert_eq!(parse_integer("-1.9"), Some(-1));
        assert_eq!(parse_integer("+7"), Some(7));
        assert_eq!(parse_integer("12abc"), None);
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_date("2024-2-9"), NaiveDate::from_ymd_opt(2024, 2, 9));
        assert_eq!(parse_date("2024"), NaiveDate::from_ymd_opt(2024, 1, 1));
        assert_eq!(parse_date("2024-02-29T10:00:00"), NaiveDate::from_ymd_opt(2024, 2, 29));
        assert_eq!(parse_date("2023-02-29"), None);
        let t =
            |s| parse_timestamp(s).and_then(chrono::DateTime::from_timestamp_micros).map(|d| d.naive_utc().to_string());
        assert_eq!(t("2024-02-29 12:00:00+01:00").as_deref(), Some("2024-02-29 11:00:00"));
        assert_eq!(t("2024-02-29 12:00:00 America/New_York").as_deref(), Some("2024-02-29 17:00:00"));
        assert_eq!(t("2024-02-29 25:00:00"), None);
        assert_eq!(t("2024-02-29").as_deref(), Some("2024-02-29 00:00:00"));
        assert_eq!(parse_decimal("1.239", 0, 10i128.pow(10)), Some(1));
        assert_eq!(parse_decimal("-1.5", 0, 10i128.pow(10)), Some(-2));
        assert_eq!(parse_double(" 2.5 "), Some(2.5));
    }
}
