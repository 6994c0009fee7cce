//! `a div b` (and `div(a, b)`): Spark's integral division, a bigint. Integers (and strings
//! and fractional numbers, which Spark casts to bigint) divide truncating toward zero, with
//! `-9223372036854775808 div -1` wrapping as Spark's; decimals divide exactly and truncate;
//! `interval div interval` (both year-month or both day-time) divides months or
//! microseconds. Division by zero is NULL (non-ANSI mode).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::sql::functions::conditional::{arrays, result};
use crate::sql::functions::datetime::interval_fields::is_interval;

/// Spark's `div`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Div {
    signature: Signature,
}

/// The function (the planner plans the `div` operator with it).
pub fn div_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Div { signature: Signature::user_defined(Volatility::Immutable) }))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn decimal_of(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        DataType::Null => Some((1, 0)),
        _ => None,
    }
}

impl ScalarUDFImpl for Div {
    fn name(&self) -> &str {
        "div"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [a, b] = arg_types else { return plan_err!("function div takes 2 arguments") };
        if is_interval(a) || is_interval(b) {
            let same_kind = matches!((a, b), (DataType::Interval(_), DataType::Interval(_)))
                || matches!((a, b), (DataType::Duration(_), DataType::Duration(_)));
            if !same_kind {
                return plan_err!("[DATATYPE_MISMATCH] div does not take arguments of types {a} and {b}");
            }
            return Ok(vec![a.clone(), b.clone()]);
        }
        let decimal = matches!(a, DataType::Decimal128(..)) || matches!(b, DataType::Decimal128(..));
        if decimal && let (Some((p1, s1)), Some((p2, s2))) = (decimal_of(a), decimal_of(b)) {
            let s = s1.max(s2);
            let int_digits = (p1 as i32 - s1 as i32).max(p2 as i32 - s2 as i32);
            if int_digits + s as i32 > 38 {
                return plan_err!("function div is not supported yet: decimals of more than 38 digits");
            }
            return Ok(vec![DataType::Decimal128(38, s), DataType::Decimal128(38, s)]);
        }
        let ok = |t: &DataType| t.is_numeric() || t.is_null() || is_text(t);
        if !ok(a) || !ok(b) {
            return plan_err!("[DATATYPE_MISMATCH] div does not take arguments of types {a} and {b}");
        }
        Ok(vec![DataType::Int64, DataType::Int64])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let (a, b) = (&arrays[0], &arrays[1]);
        let out: Int64Array = match a.data_type() {
            DataType::Decimal128(..) => {
                let (x, y) = (a.as_primitive::<Decimal128Type>(), b.as_primitive::<Decimal128Type>());
                x.iter()
                    .zip(y.iter())
                    .map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if y != 0 => x.checked_div(y).map(|q| q as i64),
                        _ => None,
                    })
                    .collect()
            }
            DataType::Int64 | DataType::Interval(_) | DataType::Duration(_) => {
                let as_i64 = crate::sql::functions::datetime::interval_fields::as_i64;
                let (x, y) = (as_i64(a)?, as_i64(b)?);
                let (x, y) = (x.as_primitive::<Int64Type>(), y.as_primitive::<Int64Type>());
                x.iter()
                    .zip(y.iter())
                    .map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if y != 0 => Some(x.wrapping_div(y)),
                        _ => None,
                    })
                    .collect()
            }
            other => return exec_err!("div: unexpected argument type {other}"),
        };
        let out: ArrayRef = Arc::new(out);
        result(out, scalar)
    }
}
