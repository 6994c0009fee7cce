//! `round`, `bround`, `ceil`/`ceiling` and `floor` with a scale argument, as Spark's
//! `RoundBase`: on a decimal(p, s) with scale d the result is decimal(p − s + min(s, d) + 1,
//! min(s, d)) for d ≥ 0 and decimal(max(p − s, −d) + 1, 0) for d < 0, rounded HALF_UP
//! (`round`), HALF_EVEN (`bround`), up (`ceil`) or down (`floor`); on an integer `round`
//! and `bround` keep the integer type. The one-argument forms, and `round` of a floating
//! point number, are the functions registered before (datafusion-spark's). Other inputs with a
//! scale are not supported yet. The scale must be a constant.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Field, FieldRef, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::conditional::{arrays, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    HalfUp,
    HalfEven,
    Ceil,
    Floor,
}

/// A rounding function; `inner` handles the forms Weir does not.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Rounding {
    name: &'static str,
    mode: Mode,
    inner: Option<Arc<ScalarUDF>>,
    signature: Signature,
}

/// Wraps the registered `round`, `ceil`, `floor` (from datafusion-spark) and adds `bround`.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    use datafusion_spark::function::math as spark;
    [
        ("round", Mode::HalfUp, Some(spark::round())),
        ("bround", Mode::HalfEven, None),
        ("ceil", Mode::Ceil, Some(spark::ceil())),
        ("ceiling", Mode::Ceil, Some(spark::ceil())),
        ("floor", Mode::Floor, Some(spark::floor())),
    ]
    .into_iter()
    .map(|(name, mode, inner)| {
        Arc::new(ScalarUDF::from(Rounding {
            name,
            mode,
            inner,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

fn scale_of(value: Option<&ScalarValue>) -> Option<i32> {
    match value? {
        ScalarValue::Int8(Some(v)) => Some(*v as i32),
        ScalarValue::Int16(Some(v)) => Some(*v as i32),
        ScalarValue::Int32(Some(v)) => Some(*v),
        ScalarValue::Int64(Some(v)) => i32::try_from(*v).ok(),
        _ => None,
    }
}

/// Spark's result type of rounding decimal(p, s) to scale d.
fn decimal_type(p: u8, s: i8, d: i32) -> (u8, i8) {
    let (p, s) = (p as i32, s as i32);
    let (np, ns) = if d < 0 { ((p - s).max(-d) + 1, 0) } else { (p - s + s.min(d) + 1, s.min(d)) };
    (np.clamp(1, 38) as u8, ns as i8)
}

/// Rounds the unscaled `v` (scale `s`) to scale `d` (unscaled at `max(d, 0)`).
fn round_unscaled(v: i128, s: i32, d: i32, mode: Mode) -> Option<i128> {
    if d >= s {
        return Some(v);
    }
    let factor = 10i128.checked_pow((s - d) as u32)?;
    let (q, r) = (v / factor, v % factor);
    let twice = r.abs().checked_mul(2)?;
    let bump = match mode {
        Mode::HalfUp => twice >= factor,
        Mode::HalfEven => twice > factor || (twice == factor && q % 2 != 0),
        Mode::Ceil => r > 0,
        Mode::Floor => r < 0,
    };
    let sign = match mode {
        Mode::Ceil => 1,
        Mode::Floor => -1,
        _ => v.signum(),
    };
    let q = if bump && r != 0 { q + sign } else { q };
    if d < 0 { q.checked_mul(10i128.checked_pow((-d) as u32)?) } else { Some(q) }
}

fn ints<T>(x: &ArrayRef, d: i32, mode: Mode) -> PrimitiveArray<T>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i128> + TryFrom<i128>,
{
    x.as_primitive::<T>()
        .iter()
        .map(|v| v.and_then(|v| round_unscaled(v.into(), 0, d, mode)).and_then(|r| T::Native::try_from(r).ok()))
        .collect()
}

impl Rounding {
    fn with_scale(&self, arg_types: &[DataType]) -> bool {
        arg_types.len() == 2
    }
}

impl ScalarUDFImpl for Rounding {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name;
        match arg_types {
            [DataType::Decimal128(..), s] if s.is_integer() => Ok(arg_types.to_vec()),
            [x, s] if x.is_integer() && s.is_integer() && matches!(self.mode, Mode::HalfUp | Mode::HalfEven) => {
                Ok(arg_types.to_vec())
            }
            [x, s] if x.is_floating() && s.is_integer() && self.mode == Mode::HalfUp => Ok(arg_types.to_vec()),
            [x, s] if x.is_null() && s.is_integer() => Ok(vec![DataType::Float64, s.clone()]),
            [x] if self.inner.is_none() && (x.is_integer() || matches!(x, DataType::Decimal128(..))) => {
                Ok(vec![x.clone(), DataType::Int32])
            }
            [x] if self.inner.is_none() && x.is_null() => Ok(vec![DataType::Float64, DataType::Int32]),
            [_] if self.inner.is_some() => {
                let inner = self.inner.as_ref().map(|u| u.as_ref());
                match inner {
                    Some(udf) =>
                    {
                        #[allow(deprecated)]
                        datafusion::logical_expr::type_coercion::functions::data_types_with_scalar_udf(arg_types, udf)
                    }
                    None => plan_err!("function {name} is not supported yet"),
                }
            }
            _ => plan_err!("function {name} is not supported yet: arguments {arg_types:?}"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        plan_err!("{}: return_field_from_args is used", self.name)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let delegate = !self.with_scale(&types) || types[0].is_floating();
        if let (true, Some(inner)) = (delegate, &self.inner) {
            return inner.return_field_from_args(args);
        }
        let d = if types.len() == 1 { Some(0) } else { scale_of(args.scalar_arguments.get(1).copied().flatten()) };
        let Some(d) = d else {
            return plan_err!("function {} is not supported yet: a scale that is not a constant integer", self.name);
        };
        let out = match &types[0] {
            DataType::Decimal128(p, s) => {
                let (p, s) = decimal_type(*p, *s, d);
                DataType::Decimal128(p, s)
            }
            DataType::Float64 if self.inner.is_none() => {
                return plan_err!("function {} is not supported yet: on a double", self.name);
            }
            t => t.clone(),
        };
        Ok(Arc::new(Field::new(self.name, out, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        // Spark rounds a double through its decimal text (1.005D rounds to 1.01).
        if self.mode == Mode::HalfUp
            && self.with_scale(&types)
            && types[0] == DataType::Float64
            && let Some(ColumnarValue::Scalar(v)) = args.args.get(1)
            && let Some(d) = scale_of(Some(v))
        {
            let x = args.args[0].to_array(args.number_rows)?;
            let out: datafusion::arrow::array::Float64Array = x
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .iter()
                .map(|v| v.map(|v| round_text(v, d)))
                .collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let delegate = !self.with_scale(&types) || types[0].is_floating();
        if let (true, Some(inner)) = (delegate, &self.inner) {
            return inner.invoke_with_args(args);
        }
        let d = match args.args.get(1) {
            None => 0,
            Some(ColumnarValue::Scalar(v)) => match scale_of(Some(v)) {
                Some(d) => d,
                None => return exec_err!("{}: the scale must be a constant integer", self.name),
            },
            Some(ColumnarValue::Array(_)) => return exec_err!("{}: the scale must be a constant integer", self.name),
        };
        let (arrays, scalar) = arrays(&args.args[..1], args.number_rows)?;
        let x = &arrays[0];
        let mode = self.mode;
        let out: ArrayRef = match x.data_type() {
            DataType::Decimal128(p, s) => {
                let (np, ns) = decimal_type(*p, *s, d);
                let s = *s as i32;
                let limit = 10i128.pow(np as u32);
                let out: PrimitiveArray<Decimal128Type> = x
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| {
                        let r = round_unscaled(v?, s, d, mode)?;
                        // At a scale above the input's the value keeps its digits: rescale.
                        let r = if d >= s { r.checked_mul(10i128.pow((ns as i32 - s).max(0) as u32))? } else { r };
                        (r.abs() < limit).then_some(r)
                    })
                    .collect();
                Arc::new(out.with_precision_and_scale(np, ns)?)
            }
            DataType::Int8 => Arc::new(ints::<Int8Type>(x, d, mode)),
            DataType::Int16 => Arc::new(ints::<Int16Type>(x, d, mode)),
            DataType::Int32 => Arc::new(ints::<Int32Type>(x, d, mode)),
            DataType::Int64 => Arc::new(ints::<Int64Type>(x, d, mode)),
            t => return exec_err!("{}: unexpected argument type {t}", self.name),
        };
        result(out, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(round_unscaled(25, 1, 0, Mode::HalfUp), Some(3));
        assert_eq!(round_unscaled(25, 1, 0, Mode::HalfEven), Some(2));
        assert_eq!(round_unscaled(-25, 1, 0, Mode::HalfEven), Some(-2));
        assert_eq!(round_unscaled(35, 1, 0, Mode::HalfEven), Some(4));
        assert_eq!(round_unscaled(25, 0, -1, Mode::HalfEven), Some(20));
        assert_eq!(round_unscaled(31411, 4, 3, Mode::Ceil), Some(3142));
        assert_eq!(round_unscaled(31411, 4, -3, Mode::Ceil), Some(1000));
        assert_eq!(round_unscaled(31411, 4, -3, Mode::Floor), Some(0));
        assert_eq!(round_unscaled(-1, 1, 0, Mode::Ceil), Some(0));
        assert_eq!(round_unscaled(-1, 1, 0, Mode::Floor), Some(-1));
        assert_eq!(decimal_type(5, 4, 3), (5, 3));
        assert_eq!(decimal_type(5, 4, -3), (4, 0));
        assert_eq!(decimal_type(2, 1, 0), (2, 0));
        assert_eq!(decimal_type(5, 1, -2), (5, 0));
    }
}

/// `v` rounded half-up at `d` decimal places of its shortest decimal text.
fn round_text(v: f64, d: i32) -> f64 {
    if !v.is_finite() {
        return v;
    }
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    // Digit i has weight 10^(exponent - i); keep those with weight >= 10^-d.
    let keep = exponent + d + 1;
    if keep < 0 {
        return 0.0f64.copysign(v);
    }
    let keep = keep as usize;
    if keep >= digits.len() {
        return v;
    }
    let mut kept: Vec<u8> = digits[..keep].to_vec();
    let mut carry = digits[keep] >= 5;
    for digit in kept.iter_mut().rev() {
        if !carry {
            break;
        }
        *digit += 1;
        carry = *digit == 10;
        if carry {
            *digit = 0;
        }
    }
    let mut text = String::new();
    if carry {
        text.push('1');
    }
    text.extend(kept.iter().map(|d| (b'0' + d) as char));
    if text.is_empty() {
        text.push('0');
    }
    let shift = exponent + if carry { 1 } else { 0 } - (text.len() as i32 - 1);
    let value: f64 = format!("{text}e{shift}").parse().unwrap_or(v);
    value.copysign(v)
}

#[cfg(test)]
mod round_text_tests {
    #[test]
    fn doubles_round_through_their_text() {
        assert_eq!(super::round_text(1.005, 2), 1.01);
        assert_eq!(super::round_text(0.125, 2), 0.13);
        assert_eq!(super::round_text(2.5, 0), 3.0);
        assert_eq!(super::round_text(-2.5, 0), -3.0);
        assert_eq!(super::round_text(9.995, 2), 10.0);
        assert_eq!(super::round_text(1234.5, -2), 1200.0);
        assert_eq!(super::round_text(0.004, 2), 0.0);
    }
}
