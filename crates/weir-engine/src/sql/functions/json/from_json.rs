//! `from_json(json, schema[, options])`: Spark parses JSON text into the value the DDL
//! `schema` describes (a struct for a field list, or an array, map or struct type). Spark's
//! default PERMISSIVE mode: text that is not JSON, or not of the schema's shape, gives a
//! struct of NULL fields (NULL for an array or map schema); a value that does not convert to
//! its field's type is NULL, the other fields kept. Field names match exactly; a repeated key
//! keeps its last value. Strings take any JSON value (as JSON text when not a string);
//! integers take integral numbers in range; floating point also `NaN`/`Infinity` strings;
//! dates and timestamps are parsed from strings (`dateFormat`/`timestampFormat` options or
//! Spark's casts), timestamps also from integral seconds. `mode` `FAILFAST` makes bad records
//! an error.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray, TimestampMicrosecondArray,
    new_null_array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use serde_json::Value;

use super::ddl::parse_schema;
use crate::sql::functions::datetime::common::{days_of, parse_date, parse_timestamp};
use crate::sql::functions::pattern::to_chrono;

/// `from_json`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FromJson {
    signature: Signature,
}

impl FromJson {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for FromJson {
    fn default() -> Self {
        Self::new()
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null)
}

/// The types Weir reads from JSON; others are refused at plan time.
fn readable(t: &DataType) -> bool {
    match t {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Utf8
        | DataType::Date32
        | DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => true,
        DataType::List(f) => readable(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| readable(f.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                kv[0].data_type() == &DataType::Utf8 && readable(kv[1].data_type())
            }
            _ => false,
        },
        _ => false,
    }
}

fn schema_of(arg: Option<&Option<&ScalarValue>>) -> Result<DataType> {
    let text = match arg {
        Some(Some(ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)))) => s,
        _ => return plan_err!("function from_json is not supported yet: with a schema that is not a string literal"),
    };
    let t = match parse_schema(text) {
        Ok(t) => t,
        Err(e) => return plan_err!("function from_json is not supported yet: schema {text:?} ({e})"),
    };
    if !readable(&t) {
        return plan_err!("function from_json is not supported yet: schema {text:?} (one of its types)");
    }
    Ok(t)
}

impl ScalarUDFImpl for FromJson {
    fn name(&self) -> &str {
        "from_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [json, schema] if is_text(json) && is_text(schema) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            [json, schema, DataType::Map(..)] if is_text(json) && is_text(schema) => {
                Ok(vec![DataType::Utf8, DataType::Utf8, args[2].clone()])
            }
            _ => plan_err!("function from_json with these arguments is not supported yet: {args:?}"),
        }
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        datafusion::common::internal_err!("from_json computes its type from its schema argument")
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let t = schema_of(args.scalar_arguments.get(1))?;
        Ok(Arc::new(Field::new(self.name(), t, true)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let target = args.return_field.data_type().clone();
        let options = match args.args.get(2) {
            Some(o) => Options::from(o)?,
            None => Options::default(),
        };
        let text = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let result = parse_all(text, &target, &options)?;
        if all_scalar {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
        }
        Ok(ColumnarValue::Array(result))
    }
}

/// The options Weir honours.
#[derive(Debug, Default)]
struct Options {
    fail_fast: bool,
    timestamp_format: Option<String>,
    date_format: Option<String>,
}

impl Options {
    fn from(arg: &ColumnarValue) -> Result<Self> {
        let array = arg.to_array(1)?;
        let mut options = Options::default();
        let DataType::Map(..) = array.data_type() else { return exec_err!("from_json: options must be a map") };
        if array.is_empty() || array.is_null(0) {
            return Ok(options);
        }
        let map = array.as_map();
        let entries = map.value(0);
        let keys = cast(entries.column(0), &DataType::Utf8)?;
        let values = cast(entries.column(1), &DataType::Utf8)?;
        let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
        for i in 0..keys.len() {
            let key = keys.value(i);
            let value = if values.is_null(i) { None } else { Some(values.value(i).to_string()) };
            match key.to_ascii_lowercase().as_str() {
                "mode" => match value.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    Some("PERMISSIVE") | None => {}
                    Some("FAILFAST") => options.fail_fast = true,
                    Some(other) => return exec_err!("from_json: mode {other} is not supported yet"),
                },
                "timestampformat" => {
                    options.timestamp_format = value
                        .map(|p| to_chrono(&p, true))
                        .transpose()
                        .map_err(datafusion::error::DataFusionError::Execution)?
                }
                "dateformat" => {
                    options.date_format = value
                        .map(|p| to_chrono(&p, true))
                        .transpose()
                        .map_err(datafusion::error::DataFusionError::Execution)?
                }
                _ => return exec_err!("from_json: option {key} is not supported yet"),
            }
        }
        Ok(options)
    }
}

fn parse_all(text: &datafusion::arrow::array::StringArray, target: &DataType, options: &Options) -> Result<ArrayRef> {
    let empty = Value::Object(serde_json::Map::new());
    let mut parsed: Vec<Option<Value>> = Vec::with_capacity(text.len());
    for row in text.iter() {
        let Some(row) = row else {
            parsed.push(None);
            continue;
        };
        if row.trim().is_empty() {
            parsed.push(None);
            continue;
        }
        // Jackson reads a number beyond DOUBLE's range as ±Infinity (and keeps its text for a STRING
        // field); serde_json refuses it, so such numbers are carried as marked strings.
        let value = serde_json::from_str::<Value>(row).or_else(|e| {
            if e.to_string().contains("number out of range") {
                serde_json::from_str::<Value>(&mark_overflowing_numbers(row))
            } else {
                Err(e)
            }
        });
        match value {
            Ok(v) => {
                let fits = matches!(
                    (target, &v),
                    (DataType::Struct(_) | DataType::Map(..), Value::Object(_)) | (DataType::List(_), Value::Array(_))
                );
                if options.fail_fast && !(fits && converts(target, &v, options)) {
                    return exec_err!(
                        "[MALFORMED_RECORD_IN_PARSING] Malformed records are detected in record parsing: {row}"
                    );
                }
                if fits {
                    parsed.push(Some(v));
                } else if matches!(v, Value::Null) {
                    parsed.push(None);
                } else if matches!(target, DataType::Struct(_)) {
                    parsed.push(Some(empty.clone()));
                } else {
                    parsed.push(None);
                }
            }
            Err(_) => {
                if options.fail_fast {
                    return exec_err!(
                        "[MALFORMED_RECORD_IN_PARSING] Malformed records are detected in record parsing: {row}"
                    );
                }
                parsed.push(matches!(target, DataType::Struct(_)).then(|| empty.clone()));
            }
        }
    }
    let values: Vec<Option<&Value>> = parsed.iter().map(Option::as_ref).collect();
    build(target, &values, options)
}

/// Whether `v` converts to `t` with nothing lost to NULL (FAILFAST's test).
fn converts(t: &DataType, v: &Value, options: &Options) -> bool {
    if v.is_null() {
        return true;
    }
    match t {
        DataType::List(f) => match v {
            Value::Array(items) => items.iter().all(|i| converts(f.data_type(), i, options)),
            _ => false,
        },
        DataType::Struct(fields) => match v {
            Value::Object(o) => {
                fields.iter().all(|f| o.get(f.name()).is_none_or(|x| converts(f.data_type(), x, options)))
            }
            _ => false,
        },
        DataType::Map(entries, _) => match (v, entries.data_type()) {
            (Value::Object(o), DataType::Struct(kv)) => o.values().all(|x| converts(kv[1].data_type(), x, options)),
            _ => false,
        },
        _ => {
            let one = [Some(v)];
            build(t, &one, options).is_ok_and(|a| a.is_valid(0))
        }
    }
}

/// Prefix of a string standing for a JSON number too large for a DOUBLE (see `mark_overflowing_numbers`).
const OVERFLOW_MARK: &str = "\u{1}weir-number:";

/// `row` with every number token that overflows a DOUBLE turned into the string `OVERFLOW_MARK` + its text.
fn mark_overflowing_numbers(row: &str) -> String {
    let mut out = String::with_capacity(row.len() + 16);
    let mut chars = row.char_indices().peekable();
    let (mut in_string, mut escaped) = (false, false);
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !(d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-')) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let token = &row[i..end];
            if token.parse::<f64>().is_ok_and(f64::is_infinite) {
                out.push_str(&Value::String(format!("{OVERFLOW_MARK}{token}")).to_string());
            } else {
                out.push_str(token);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.strip_prefix(OVERFLOW_MARK) {
            Some(number) => number.parse().ok(),
            None => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" | "+Infinity" | "INF" | "+INF" => Some(f64::INFINITY),
                "-Infinity" | "-INF" => Some(f64::NEG_INFINITY),
                _ => None,
            },
        },
        _ => None,
    }
}

/// A JSON number as a decimal of `precision` and `scale` (rounded half up), if it fits.
fn decimal(v: &Value, precision: u8, scale: i8) -> Option<i128> {
    let Value::Number(n) = v else { return None };
    let text = if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        let f = n.as_f64()?;
        if !f.is_finite() {
            return None;
        }
        format!("{f}")
    };
    decimal_from_text(&text, precision, scale)
}

fn decimal_from_text(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(i) => (&digits[..i], digits[i + 1..].parse::<i32>().ok()?),
        None => (digits, 0),
    };
    let (whole, fraction) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all: String = format!("{whole}{fraction}");
    if all.is_empty() || !all.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = all * 10^(exponent - fraction.len()); wanted: value * 10^scale.
    let shift = exponent - fraction.len() as i32 + i32::from(scale);
    let mut value: i128 = 0;
    let mut digits: Vec<u8> = all.bytes().map(|b| b - b'0').collect();
    let mut round_up = false;
    if shift < 0 {
        let drop = (-shift) as usize;
        if drop > digits.len() {
            digits.clear();
        } else {
            let kept = digits.len() - drop;
            round_up = digits[kept] >= 5;
            digits.truncate(kept);
        }
    }
    for d in digits {
        value = value.checked_mul(10)?.checked_add(i128::from(d))?;
    }
    if shift > 0 {
        value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
    }
    if round_up {
        value += 1;
    }
    if value >= 10i128.pow(u32::from(precision)) {
        return None;
    }
    Some(if negative { -value } else { value })
}

fn timestamp(v: &Value, options: &Options) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64()?.checked_mul(1_000_000),
        Value::String(s) => match &options.timestamp_format {
            None => parse_timestamp(s),
            Some(f) => {
                let s = s.trim();
                NaiveDateTime::parse_from_str(s, f)
                    .ok()
                    .or_else(|| NaiveDate::parse_from_str(s, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                    .or_else(|| DateTime::parse_from_str(s, f).ok().map(|d| d.naive_utc()))
                    .map(|t| t.and_utc().timestamp_micros())
            }
        },
        _ => None,
    }
}

fn date(v: &Value, options: &Options) -> Option<i32> {
    let Value::String(s) = v else { return None };
    match &options.date_format {
        None => parse_date(s),
        Some(f) => NaiveDate::parse_from_str(s.trim(), f).ok().map(days_of),
    }
}

/// The column of `values` as `t`; NULL where a value is NULL, missing or does not convert.
fn build(t: &DataType, values: &[Option<&Value>], options: &Options) -> Result<ArrayRef> {
    let present = values.iter().map(|v| v.filter(|v| !v.is_null()));
    let array: ArrayRef = match t {
        DataType::Boolean => Arc::new(present.map(|v| v.and_then(Value::as_bool)).collect::<BooleanArray>()),
        DataType::Int8 => {
            Arc::new(present.map(|v| v.and_then(int).and_then(|i| i8::try_from(i).ok())).collect::<Int8Array>())
        }
        DataType::Int16 => {
            Arc::new(present.map(|v| v.and_then(int).and_then(|i| i16::try_from(i).ok())).collect::<Int16Array>())
        }
        DataType::Int32 => {
            Arc::new(present.map(|v| v.and_then(int).and_then(|i| i32::try_from(i).ok())).collect::<Int32Array>())
        }
        DataType::Int64 => Arc::new(present.map(|v| v.and_then(int)).collect::<Int64Array>()),
        DataType::Float32 => Arc::new(present.map(|v| v.and_then(float).map(|f| f as f32)).collect::<Float32Array>()),
        DataType::Float64 => Arc::new(present.map(|v| v.and_then(float)).collect::<Float64Array>()),
        DataType::Decimal128(p, s) => Arc::new(
            present
                .map(|v| v.and_then(|v| decimal(v, *p, *s)))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*p, *s)?,
        ),
        DataType::Utf8 => Arc::new(
            present
                .map(|v| {
                    v.map(|v| match v {
                        Value::String(s) => s.strip_prefix(OVERFLOW_MARK).unwrap_or(s).to_string(),
                        other => other.to_string(),
                    })
                })
                .collect::<StringArray>(),
        ),
        DataType::Date32 => Arc::new(present.map(|v| v.and_then(|v| date(v, options))).collect::<Date32Array>()),
        DataType::Timestamp(TimeUnit::Microsecond, zone) => Arc::new(
            present
                .map(|v| v.and_then(|v| timestamp(v, options)))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone_opt(zone.clone()),
        ),
        DataType::List(item) => {
            let mut offsets: Vec<i32> = vec![0];
            let mut children: Vec<Option<&Value>> = Vec::new();
            let mut valid = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Some(Value::Array(items)) => {
                        children.extend(items.iter().map(Some));
                        valid.push(true);
                    }
                    _ => valid.push(false),
                }
                let Ok(end) = i32::try_from(children.len()) else { return exec_err!("from_json: an array too large") };
                offsets.push(end);
            }
            let child = build(item.data_type(), &children, options)?;
            let nulls = NullBuffer::from(valid);
            let nulls = (nulls.null_count() > 0).then_some(nulls);
            Arc::new(ListArray::try_new(item.clone(), OffsetBuffer::new(offsets.into()), child, nulls)?)
        }
        DataType::Struct(fields) => {
            let valid: Vec<bool> = values.iter().map(|v| matches!(v, Some(Value::Object(_)))).collect();
            let mut columns = Vec::with_capacity(fields.len());
            for f in fields {
                let children: Vec<Option<&Value>> = values
                    .iter()
                    .map(|v| match v {
                        Some(Value::Object(o)) => o.get(f.name()),
                        _ => None,
                    })
                    .collect();
                columns.push(build(f.data_type(), &children, options)?);
            }
            let nulls = NullBuffer::from(valid);
            let nulls = (nulls.null_count() > 0).then_some(nulls);
            if fields.is_empty() {
                return Ok(new_null_array(t, values.len()));
            }
            Arc::new(StructArray::try_new(fields.clone(), columns, nulls)?)
        }
        DataType::Map(entries, sorted) => {
            let DataType::Struct(kv) = entries.data_type() else { return exec_err!("from_json: bad map type {t}") };
            let mut offsets: Vec<i32> = vec![0];
            let mut keys: Vec<&str> = Vec::new();
            let mut children: Vec<Option<&Value>> = Vec::new();
            let mut valid = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    Some(Value::Object(o)) => {
                        for (k, x) in o {
                            keys.push(k);
                            children.push(Some(x));
                        }
                        valid.push(true);
                    }
                    _ => valid.push(false),
                }
                let Ok(end) = i32::try_from(children.len()) else { return exec_err!("from_json: a map too large") };
                offsets.push(end);
            }
            let key_array: ArrayRef = Arc::new(StringArray::from(keys));
            let value_array = build(kv[1].data_type(), &children, options)?;
            let entries_array = StructArray::try_new(kv.clone(), vec![key_array, value_array], None)?;
            let nulls = NullBuffer::from(valid);
            let nulls = (nulls.null_count() > 0).then_some(nulls);
            Arc::new(MapArray::try_new(
                entries.clone(),
                OffsetBuffer::new(offsets.into()),
                entries_array,
                nulls,
                *sorted,
            )?)
        }
        other => return exec_err!("from_json: type {other} is not supported yet"),
    };
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal_from_text("1.25", 5, 2), Some(125));
        assert_eq!(decimal_from_text("1.255", 5, 2), Some(126));
        assert_eq!(decimal_from_text("-3", 5, 2), Some(-300));
        assert_eq!(decimal_from_text("1e2", 5, 2), Some(10000));
        assert_eq!(decimal_from_text("1000", 5, 2), None);
    }

    #[test]
    fn structs() {
        let text = StringArray::from(vec![Some(r#"{"a":1,"b":"x"}"#), Some(r#"{"a":"no"}"#), Some("bad"), None]);
        let t = parse_schema("a INT, b STRING").expect("schema");
        let result = parse_all(&text, &t, &Options::default()).expect("parse");
        let s = result.as_struct();
        assert!(s.is_valid(2) && s.is_null(3));
        let a = s.column(0).as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some(1), None, None, None]);
    }

    #[test]
    fn numbers_beyond_double_are_infinite_or_their_text() {
        assert_eq!(
            mark_overflowing_numbers(r#"{"x":1e400,"y":"1e400","z":-2e999,"w":1.5}"#),
            r#"{"x":"\u0001weir-number:1e400","y":"1e400","z":"\u0001weir-number:-2e999","w":1.5}"#
        );
        let text = StringArray::from(vec![Some(r#"{"d":1e400,"s":-1e400,"i":1e400,"n":"\"1e400"}"#)]);
        let t = parse_schema("d DOUBLE, s STRING, i BIGINT, n STRING").expect("schema");
        let result = parse_all(&text, &t, &Options::default()).expect("parse");
        let s = result.as_struct();
        let d = s.column(0).as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert_eq!(d.value(0), f64::INFINITY);
        assert_eq!(s.column(1).as_string::<i32>().value(0), "-1e400");
        assert!(s.column(2).is_null(0));
        assert_eq!(s.column(3).as_string::<i32>().value(0), "\"1e400");
    }
}
