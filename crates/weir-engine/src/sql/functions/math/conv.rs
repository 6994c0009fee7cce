//! `conv(num, from_base, to_base)`: `num` (a string or number) read in base `from_base` and
//! written in base `to_base` (upper-case digits), as Spark's `NumberConverter`: digits are read
//! up to the first that is not one of the base's, the value is an unsigned 64-bit number (a
//! leading `-` negates it in two's complement; overflow saturates), and a negative
//! `to_base` writes it as signed. NULL for an empty number or a base outside 2..=36.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::sql::functions::conditional::{arrays, result};

/// `conv`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    signature: Signature,
}

impl Conv {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for Conv {
    fn default() -> Self {
        Self::new()
    }
}

/// Converts one number; `None` for Spark's NULL.
fn convert(num: &str, from: i32, to: i32) -> Option<String> {
    let (from_base, to_base) = (from.unsigned_abs(), to.unsigned_abs());
    if !(2..=36).contains(&from_base) || !(2..=36).contains(&to_base) {
        return None;
    }
    let (negative, digits) = match num.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, num),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(from_base) else { break };
        match value.checked_mul(from_base as u64).and_then(|v| v.checked_add(d as u64)) {
            Some(v) => value = v,
            None => {
                value = u64::MAX;
                break;
            }
        }
    }
    if negative {
        value = (value as i64).wrapping_neg() as u64;
    }
    let (sign, magnitude) =
        if to < 0 && (value as i64) < 0 { ("-", (value as i64).unsigned_abs()) } else { ("", value) };
    let mut out = Vec::new();
    let mut m = magnitude;
    loop {
        let d = (m % to_base as u64) as u32;
        out.push(char::from_digit(d, to_base).unwrap_or('0').to_ascii_uppercase());
        m /= to_base as u64;
        if m == 0 {
            break;
        }
    }
    out.reverse();
    Some(format!("{sign}{}", out.into_iter().collect::<String>()))
}

impl ScalarUDFImpl for Conv {
    fn name(&self) -> &str {
        "conv"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [n, f, t]
                if (n.is_integer()
                    || n.is_null()
                    || matches!(n, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
                    && [f, t].iter().all(|b| b.is_integer() || b.is_null()) =>
            {
                Ok(vec![DataType::Utf8, DataType::Int32, DataType::Int32])
            }
            _ => plan_err!("function conv is not supported yet: arguments {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let num = cast(&arrays[0], &DataType::Utf8)?;
        let Some(num) = num.as_any().downcast_ref::<StringArray>() else {
            return exec_err!("conv expects a string");
        };
        let (from, to) = (arrays[1].as_primitive::<Int32Type>(), arrays[2].as_primitive::<Int32Type>());
        let mut out = StringBuilder::with_capacity(num.len(), num.len() * 8);
        for i in 0..num.len() {
            if num.is_null(i) || from.is_null(i) || to.is_null(i) {
                out.append_null();
                continue;
            }
            out.append_option(convert(num.value(i), from.value(i), to.value(i)));
        }
        let array: ArrayRef = Arc::new(out.finish());
        result(array, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::convert;

    #[test]
    fn spark_examples() {
        assert_eq!(convert("100", 2, 10).as_deref(), Some("4"));
        assert_eq!(convert("-10", 16, -10).as_deref(), Some("-16"));
        assert_eq!(convert("ff", 16, 10).as_deref(), Some("255"));
        assert_eq!(convert("-1", 10, 16).as_deref(), Some("FFFFFFFFFFFFFFFF"));
        assert_eq!(convert("zz", 36, 2).as_deref(), Some("10100001111"));
        assert_eq!(convert("", 10, 2), None);
    }
}
