//! `CAST(x AS STRING)` as Spark renders values: doubles as Java prints them (`1.0E20`,
//! `1.0E-4`, `100.0`), timestamps as `2024-01-01 10:00:00.5` (no `T`, fraction without
//! trailing zeros, in the session time zone UTC), arrays as `[1, 2]`, structs as `{1, a}`,
//! maps as `{a -> 1}`, NULLs inside them as `null`.

use std::fmt::Write as _;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// Types whose Arrow rendering differs from Spark's.
pub fn renders_differently(t: &DataType) -> bool {
    match t {
        DataType::Float32 | DataType::Float64 | DataType::Timestamp(_, _) => true,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => true,
        DataType::Struct(_) | DataType::Map(_, _) => true,
        _ => false,
    }
}

/// Java's `Double.toString`: plain between 1e-3 and 1e7, otherwise `d.dddE±n`, always with
/// a fractional digit; digits are the shortest that read back to the same value.
pub fn java_double(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Shortest round-trip digits and exponent, from Rust's `{:e}` (e.g. "1.2345e-5").
    let sci = if single { format!("{:e}", v as f32) } else { format!("{v:e}") };
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-3..7).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        let text = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{text}")
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{}E{exponent}", &digits[..1], rest)
    }
}

/// Spark's text for a timestamp given in microseconds since the epoch (UTC).
pub fn spark_timestamp(micros: i64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_micros(micros)?;
    let mut text = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let fraction = micros.rem_euclid(1_000_000);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        let _ = write!(text, ".{}", digits.trim_end_matches('0'));
    }
    Some(text)
}

/// Renders row `i` of `array` as Spark's `CAST(… AS STRING)` does; None for NULL.
fn render(array: &ArrayRef, i: usize, out: &mut String) -> Result<()> {
    if array.is_null(i) || array.data_type() == &DataType::Null {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Float64 => out.push_str(&java_double(array.as_primitive::<Float64Type>().value(i), false)),
        DataType::Float32 => out.push_str(&java_double(array.as_primitive::<Float32Type>().value(i) as f64, true)),
        DataType::Timestamp(unit, _) => {
            let micros = match unit {
                TimeUnit::Microsecond => cast(array, &DataType::Int64)?.as_primitive::<Int64Type>().value(i),
                _ => {
                    let us = cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                    cast(&us, &DataType::Int64)?.as_primitive::<Int64Type>().value(i)
                }
            };
            match spark_timestamp(micros) {
                Some(text) => out.push_str(&text),
                None => return exec_err!("timestamp {micros} µs is out of range"),
            }
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let values = match array.data_type() {
                DataType::List(_) => array.as_list::<i32>().value(i),
                DataType::LargeList(_) => array.as_list::<i64>().value(i),
                _ => array.as_fixed_size_list().value(i),
            };
            out.push('[');
            for j in 0..values.len() {
                if j > 0 {
                    out.push_str(", ");
                }
                render(&values, j, out)?;
            }
            out.push(']');
        }
        DataType::Struct(_) => {
            let s = array.as_struct();
            out.push('{');
            for (j, column) in s.columns().iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                render(column, i, out)?;
            }
            out.push('}');
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(i);
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push_str(", ");
                }
                render(entries.column(0), j, out)?;
                out.push_str(" -> ");
                render(entries.column(1), j, out)?;
            }
            out.push('}');
        }
        _ => {
            let text = cast(&array.slice(i, 1), &DataType::Utf8)?;
            out.push_str(text.as_string::<i32>().value(0));
        }
    }
    Ok(())
}

/// `spark_cast_string(x)`: the analyzer's replacement for casts to string of the types in
/// [`renders_differently`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SparkCastString {
    signature: Signature,
}

impl SparkCastString {
    pub fn new() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl Default for SparkCastString {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SparkCastString {
    fn name(&self) -> &str {
        "spark_cast_string"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [arg] = args.args.as_slice() else { return exec_err!("spark_cast_string takes one argument") };
        let is_scalar = matches!(arg, ColumnarValue::Scalar(_));
        let array = arg.to_array(args.number_rows)?;
        let mut builder = StringBuilder::with_capacity(array.len(), array.len() * 16);
        let mut text = String::new();
        for i in 0..array.len() {
            if array.is_null(i) {
                builder.append_null();
            } else {
                text.clear();
                render(&array, i, &mut text)?;
                builder.append_value(&text);
            }
        }
        let result: ArrayRef = Arc::new(builder.finish());
        if is_scalar {
            Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&result, 0)?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java() {
        for (v, text) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (1.0e20, "1.0E20"),
            (0.001, "0.001"),
            (1.0e-4, "1.0E-4"),
            (-2.5e-5, "-2.5E-5"),
            (123.456, "123.456"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(java_double(v, false), text, "{v}");
        }
        assert_eq!(java_double(0.1f32 as f64, true), "0.1");
    }

    #[test]
    fn timestamps_print_as_spark() {
        assert_eq!(spark_timestamp(0).as_deref(), Some("1970-01-01 00:00:00"));
        assert_eq!(spark_timestamp(1_500_000).as_deref(), Some("1970-01-01 00:00:01.5"));
    }
}
