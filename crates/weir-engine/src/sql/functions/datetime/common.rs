//! Shared pieces of the datetime functions: Spark's implicit casts (string → date, string →
//! timestamp, date ↔ timestamp) in the session time zone UTC, and time zones resolved as
//! Java's `ZonedDateTime` does (a local time in a DST gap moves later by the gap, one in an
//! overlap takes the earlier offset).

use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Int64Type, TimeUnit, TimestampMicrosecondType};
use datafusion::common::{Result, exec_err, plan_err};

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Spark's `timestamp` as Weir stores it: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
}

pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

pub fn is_integer(t: &DataType) -> bool {
    t.is_integer()
}

pub fn is_numeric(t: &DataType) -> bool {
    t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..))
}

/// An argument Spark casts to a date or timestamp: kept as it is (converted when run).
pub fn coerce_temporal(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Null | DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => Ok(t.clone()),
        t if is_string(t) => Ok(t.clone()),
        DataType::Duration(_) | DataType::Interval(_) => {
            plan_err!("function {name} is not supported yet: interval arguments")
        }
        other => plan_err!("function {name} expects a date, timestamp or string, not {other}"),
    }
}

/// An argument Spark casts to `int` (integers and strings).
pub fn coerce_int(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Null => Ok(DataType::Int32),
        t if is_integer(t) || is_string(t) => Ok(DataType::Int32),
        other => plan_err!("function {name} expects an integer, not {other}"),
    }
}

/// An argument Spark casts to `string`.
pub fn coerce_string(name: &str, t: &DataType) -> Result<DataType> {
    match t {
        DataType::Null => Ok(DataType::Utf8),
        t if is_string(t) || is_numeric(t) => Ok(DataType::Utf8),
        other => plan_err!("function {name} expects a string, not {other}"),
    }
}

/// Expects exactly `n` arguments (or a count within `range`).
pub fn expect_args(name: &str, types: &[DataType], range: std::ops::RangeInclusive<usize>) -> Result<()> {
    if range.contains(&types.len()) {
        Ok(())
    } else {
        plan_err!("function {name} takes {} to {} arguments, not {}", range.start(), range.end(), types.len())
    }
}

/// Text of a column (any string type, or another type cast to text).
pub fn strings(array: &ArrayRef) -> Result<StringArray> {
    let text = cast(array, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}

/// The date of days since the epoch.
pub fn date_of(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_FROM_CE)?)
}

/// Days since the epoch of a date.
pub fn days_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// Each row as days since the epoch (Spark's cast to `date`; null where text is no date).
pub fn days(array: &ArrayRef) -> Result<Date32Array> {
    match array.data_type() {
        DataType::Date32 => Ok(array.as_primitive::<Date32Type>().clone()),
        DataType::Date64 => Ok(cast(array, &DataType::Date32)?.as_primitive::<Date32Type>().clone()),
        DataType::Timestamp(..) => Ok(micros(array)?.unary::<_, Date32Type>(|m| m.div_euclid(MICROS_PER_DAY) as i32)),
        DataType::Null => Ok(Date32Array::new_null(array.len())),
        t if is_string(t) => Ok(strings(array)?.iter().map(|s| s.and_then(parse_date)).collect()),
        other => exec_err!("expected a date, timestamp or string, not {other}"),
    }
}

/// Each row as microseconds since the epoch, UTC (Spark's cast to `timestamp`).
pub fn micros(array: &ArrayRef) -> Result<Int64Array> {
    match array.data_type() {
        DataType::Timestamp(..) => {
            let values = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            Ok(values.as_primitive::<TimestampMicrosecondType>().unary::<_, Int64Type>(|v| v))
        }
        DataType::Date32 | DataType::Date64 => {
            let days = days(array)?;
            Ok(days.unary::<_, Int64Type>(|d| i64::from(d) * MICROS_PER_DAY))
        }
        DataType::Null => Ok(Int64Array::new_null(array.len())),
        t if is_string(t) => Ok(strings(array)?.iter().map(|s| s.and_then(parse_timestamp)).collect()),
        other => exec_err!("expected a timestamp, date or string, not {other}"),
    }
}

/// Reads up to `max` ASCII digits; returns the value and how many were read.
fn digits(bytes: &[u8], max: usize) -> (i64, usize) {
    let mut value = 0i64;
    let mut n = 0;
    while n < max && n < bytes.len() && bytes[n].is_ascii_digit() {
        value = value * 10 + i64::from(bytes[n] - b'0');
        n += 1;
    }
    (value, n)
}

/// `[+-]yyyy[-[m]m[-[d]d]]` (years of 4 to 7 digits), as Spark's cast to `date` reads it.
fn parse_date_part(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let (negative, mut i) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let (year, n) = digits(&bytes[i..], 7);
    if n < 4 {
        return None;
    }
    i += n;
    let year = if negative { -year } else { year };
    let (mut month, mut day) = (1, 1);
    if i < bytes.len() {
        if bytes[i] != b'-' {
            return None;
        }
        let (m, n) = digits(&bytes[i + 1..], 2);
        if n == 0 {
            return None;
        }
        month = m;
        i += 1 + n;
        if i < bytes.len() {
            if bytes[i] != b'-' {
                return None;
            }
            let (d, n) = digits(&bytes[i + 1..], 2);
            if n == 0 || i + 1 + n != bytes.len() {
                return None;
            }
            day = d;
        }
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// Spark's cast of text to `date`: the date part of `yyyy-MM-dd[ |T]...`; null otherwise.
pub fn parse_date(text: &str) -> Option<i32> {
    let text = text.trim();
    let date = match text.find([' ', 'T']) {
        Some(i) => &text[..i],
        None => text,
    };
    parse_date_part(date).map(days_of)
}

/// Spark's cast of text to `timestamp`: `yyyy-MM-dd[( |T)[h]h:[m]m[:[s]s[.fraction]]][zone]`
/// (a missing zone is the session's, UTC).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let (local, zone) = parse_local_timestamp(text)?;
    if zone.is_empty() {
        return Some(local);
    }
    Zone::parse(zone)?.local_to_utc(local)
}

/// Spark's cast of text to `timestamp_ntz`: as [`parse_timestamp`], with a zone in the
/// text checked but ignored (the wall-clock time is kept).
pub fn parse_timestamp_ntz(text: &str) -> Option<i64> {
    let (local, zone) = parse_local_timestamp(text)?;
    if !zone.is_empty() {
        Zone::parse(zone)?;
    }
    Some(local)
}

/// The wall-clock time of a timestamp's text (microseconds) and the zone text after it.
fn parse_local_timestamp(text: &str) -> Option<(i64, &str)> {
    let text = text.trim();
    let (date, rest) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    };
    let day = i64::from(days_of(parse_date_part(date)?));
    let bytes = rest.as_bytes();
    if bytes.is_empty() {
        return Some((day * MICROS_PER_DAY, ""));
    }
    let (hour, n) = digits(bytes, 2);
    if n == 0 || bytes.get(n) != Some(&b':') {
        return None;
    }
    let mut i = n + 1;
    let (minute, n) = digits(&bytes[i..], 2);
    if n == 0 {
        return None;
    }
    i += n;
    let (mut second, mut fraction) = (0, 0);
    if bytes.get(i) == Some(&b':') {
        let (s, n) = digits(&bytes[i + 1..], 2);
        if n == 0 {
            return None;
        }
        second = s;
        i += 1 + n;
        if bytes.get(i) == Some(&b'.') {
            let (f, n) = digits(&bytes[i + 1..], 9);
            // Microseconds: the first six digits.
            fraction = if n <= 6 { f * 10i64.pow(6 - n as u32) } else { f / 10i64.pow(n as u32 - 6) };
            i += 1 + n;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let local = day * MICROS_PER_DAY + ((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + fraction;
    Some((local, rest[i..].trim()))
}

/// A time zone as Spark's `ZoneId.of(id, SHORT_IDS)` reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(i64),
    Named(Tz),
}

/// Java's `ZoneId.SHORT_IDS`.
const SHORT_IDS: &[(&str, &str)] = &[
    ("ACT", "Australia/Darwin"),
    ("AET", "Australia/Sydney"),
    ("AGT", "America/Argentina/Buenos_Aires"),
    ("ART", "Africa/Cairo"),
    ("AST", "America/Anchorage"),
    ("BET", "America/Sao_Paulo"),
    ("BST", "Asia/Dhaka"),
    ("CAT", "Africa/Harare"),
    ("CNT", "America/St_Johns"),
    ("CST", "America/Chicago"),
    ("CTT", "Asia/Shanghai"),
    ("EAT", "Africa/Addis_Ababa"),
    ("ECT", "Europe/Paris"),
    ("IET", "America/Indiana/Indianapolis"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("MIT", "Pacific/Apia"),
    ("NET", "Asia/Yerevan"),
    ("NST", "Pacific/Auckland"),
    ("PLT", "Asia/Karachi"),
    ("PNT", "America/Phoenix"),
    ("PRT", "America/Puerto_Rico"),
    ("PST", "America/Los_Angeles"),
    ("SST", "Pacific/Guadalcanal"),
    ("VST", "Asia/Ho_Chi_Minh"),
    ("EST", "-05:00"),
    ("MST", "-07:00"),
    ("HST", "-10:00"),
];

/// `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss` (and `-`), at most 18 hours.
fn parse_offset(text: &str) -> Option<i64> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = &text[1..];
    let parts: Vec<&str> = if body.contains(':') {
        body.split(':').collect()
    } else if body.len() > 2 {
        vec![body.get(..2)?, body.get(2..)?]
    } else {
        vec![body]
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
        return None;
    }
    let mut values = [0i64; 3];
    for (slot, part) in values.iter_mut().zip(&parts) {
        let (v, n) = digits(part.as_bytes(), 2);
        if n != part.len() {
            return None;
        }
        *slot = v;
    }
    let [h, m, s] = values;
    if h > 18 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + s))
}

impl Zone {
    pub fn parse(text: &str) -> Option<Zone> {
        let text = text.trim();
        match text {
            "Z" | "UTC" | "GMT" | "UT" | "z" => return Some(Zone::Fixed(0)),
            _ => {}
        }
        if text.starts_with(['+', '-']) {
            return parse_offset(text).map(Zone::Fixed);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            match text.strip_prefix(prefix) {
                Some(rest) if rest.starts_with(['+', '-']) => return parse_offset(rest).map(Zone::Fixed),
                _ => {}
            }
        }
        if let Some((_, id)) = SHORT_IDS.iter().find(|(short, _)| *short == text) {
            return Zone::parse(id);
        }
        Tz::from_str(text).ok().map(Zone::Named)
    }

    /// Seconds east of UTC at an instant (microseconds since the epoch, UTC).
    pub fn offset_at(&self, utc: i64) -> Option<i64> {
        match self {
            Zone::Fixed(s) => Some(*s),
            Zone::Named(tz) => {
                let at = DateTime::from_timestamp_micros(utc)?.naive_utc();
                Some(i64::from(tz.offset_from_utc_datetime(&at).fix().local_minus_utc()))
            }
        }
    }

    /// The instant (UTC microseconds) of a wall-clock time in this zone (given as
    /// microseconds since the epoch as if it were UTC).
    pub fn local_to_utc(&self, local: i64) -> Option<i64> {
        match self {
            Zone::Fixed(s) => local.checked_sub(s * MICROS_PER_SECOND),
            Zone::Named(tz) => {
                let at = DateTime::from_timestamp_micros(local)?.naive_utc();
                match tz.from_local_datetime(&at) {
                    LocalResult::Single(t) => Some(t.timestamp_micros()),
                    LocalResult::Ambiguous(a, b) => Some(a.timestamp_micros().min(b.timestamp_micros())),
                    LocalResult::None => {
                        // In a gap: the offset before it, which moves the time later by the gap.
                        let before = self.offset_at(local.checked_sub(MICROS_PER_DAY)?)?;
                        local.checked_sub(before * MICROS_PER_SECOND)
                    }
                }
            }
        }
    }
}

/// A time zone argument, or a plan-time-style error naming it.
pub fn zone(name: &str, text: &str) -> Result<Zone> {
    match Zone::parse(text) {
        Some(z) => Ok(z),
        None => exec_err!("{name}: invalid time zone '{text}'"),
    }
}

/// The zone of each row of a time zone column, parsing each distinct text once.
pub fn zones(name: &str, array: &StringArray) -> Result<Vec<Option<Zone>>> {
    let mut cached: Option<(String, Zone)> = None;
    let mut out = Vec::with_capacity(array.len());
    for text in array.iter() {
        let Some(text) = text else {
            out.push(None);
            continue;
        };
        match &cached {
            Some((t, z)) if t == text => out.push(Some(*z)),
            _ => {
                let z = zone(name, text)?;
                cached = Some((text.to_string(), z));
                out.push(Some(z));
            }
        }
    }
    Ok(out)
}

/// The value for `row` of a per-row list, or of a one-value list (a scalar argument).
pub fn value_at<T: Copy>(values: &[Option<T>], row: usize) -> Option<T> {
    if values.len() == 1 { values[0] } else { values.get(row).copied().flatten() }
}

/// Converts every argument to an array of the batch's rows.
pub fn arrays(args: &datafusion::logical_expr::ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    args.args.iter().map(|a| a.to_array(args.number_rows)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Option<String> {
        parse_timestamp(text)
            .and_then(DateTime::from_timestamp_micros)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }

    #[test]
    fn casts_text_as_spark() {
        assert_eq!(parse_date("2024-2-9").and_then(date_of).map(|d| d.to_string()), Some("2024-02-09".into()));
        assert_eq!(parse_date("2024").and_then(date_of).map(|d| d.to_string()), Some("2024-01-01".into()));
        assert_eq!(
            parse_date(" 2024-02-29T10:00:00 ").and_then(date_of).map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(ts("2015-03-05T09:32:05.359"), Some("2015-03-05 09:32:05.359000".into()));
        assert_eq!(ts("1970-01-01 00:00:01Z"), Some("1970-01-01 00:00:01.000000".into()));
        assert_eq!(ts("2024-02-29 12:00"), Some("2024-02-29 12:00:00.000000".into()));
        assert_eq!(ts("2024-02-29 12:00:00+05:30"), Some("2024-02-29 06:30:00.000000".into()));
        assert_eq!(ts("2024-02-29 25:00:00"), None);
    }

    #[test]
    fn ntz_text_keeps_the_wall_clock() {
        let local = parse_timestamp("2024-02-29 12:00:00");
        assert_eq!(parse_timestamp_ntz("2024-02-29 12:00:00+05:30"), local);
        assert_eq!(parse_timestamp_ntz("2024-02-29 12:00:00 America/New_York"), local);
        assert_eq!(parse_timestamp_ntz("2024-02-29 12:00:00 Nowhere/Else"), None);
        assert_eq!(parse_timestamp_ntz("2024-02-29"), parse_timestamp("2024-02-29"));
    }

    #[test]
    fn resolves_zones_as_java() {
        let ny = Zone::parse("America/New_York").expect("zone");
        let local = |t: &str| parse_timestamp(t).expect("timestamp");
        // A gap: 02:30 does not exist and moves to 03:30 EDT.
        assert_eq!(ny.local_to_utc(local("2024-03-10 02:30:00")), Some(local("2024-03-10 07:30:00")));
        // An overlap: the earlier offset (EDT).
        assert_eq!(ny.local_to_utc(local("2024-11-03 01:30:00")), Some(local("2024-11-03 05:30:00")));
        assert_eq!(Zone::parse("+05:30"), Some(Zone::Fixed(19_800)));
        assert_eq!(Zone::parse("GMT-8"), Some(Zone::Fixed(-28_800)));
        assert!(Zone::parse("CET").is_some());
        assert!(Zone::parse("Nowhere/Else").is_none());
    }
}
