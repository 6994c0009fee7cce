//! Small Spark math functions: `e()` (Euler's number), `positive(x)` (`x` unchanged, any
//! numeric type), `log1p(x)` (ln(1 + x) as a double, NULL for x ≤ −1) and `factorial(n)`
//! (bigint; NULL outside 0..=20). `ln`, `log10`, `log2` and `log(base, x)` (or `log(x)`, the
//! natural logarithm) are doubles, as are `sign`/`signum` (Java's `Math.signum`), `rint` (ties to even) and `sqrt`
//! (NaN below zero), and NULL where the argument or base is ≤ 0, as Spark's.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use crate::sql::functions::conditional::{arrays, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    E,
    Positive,
    Log1p,
    Factorial,
    Ln,
    Log10,
    Log2,
    Log,
    Sign,
    Signum,
    Rint,
    Sqrt,
}

/// One of the small math functions.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SimpleMath {
    kind: Kind,
    signature: Signature,
}

/// `e`, `positive`, `log1p`, `factorial`.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [
        Kind::E,
        Kind::Positive,
        Kind::Log1p,
        Kind::Factorial,
        Kind::Ln,
        Kind::Log10,
        Kind::Log2,
        Kind::Log,
        Kind::Sign,
        Kind::Signum,
        Kind::Rint,
        Kind::Sqrt,
    ]
    .into_iter()
    .map(|kind| {
        let signature = match kind {
            Kind::E => Signature::nullary(Volatility::Immutable),
            _ => Signature::user_defined(Volatility::Immutable),
        };
        Arc::new(ScalarUDF::from(SimpleMath { kind, signature }))
    })
    .collect()
}

const FACTORIALS: [i64; 21] = {
    let mut table = [1i64; 21];
    let mut i = 1;
    while i < 21 {
        table[i] = table[i - 1] * i as i64;
        i += 1;
    }
    table
};

fn is_stringy(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl ScalarUDFImpl for SimpleMath {
    fn name(&self) -> &str {
        match self.kind {
            Kind::E => "e",
            Kind::Positive => "positive",
            Kind::Log1p => "log1p",
            Kind::Factorial => "factorial",
            Kind::Ln => "ln",
            Kind::Log10 => "log10",
            Kind::Log2 => "log2",
            Kind::Log => "log",
            Kind::Sign => "sign",
            Kind::Signum => "signum",
            Kind::Rint => "rint",
            Kind::Sqrt => "sqrt",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        match (self.kind, arg_types) {
            (Kind::Positive, [t]) if t.is_numeric() => Ok(vec![t.clone()]),
            (Kind::Positive, [t]) if t.is_null() => Ok(vec![DataType::Float64]),
            (Kind::Log1p, [t]) if t.is_numeric() || t.is_null() || is_stringy(t) => Ok(vec![DataType::Float64]),
            (Kind::Factorial, [t]) if t.is_integer() || t.is_null() => Ok(vec![DataType::Int64]),
            (Kind::Ln | Kind::Log10 | Kind::Log2 | Kind::Log, [t])
                if t.is_numeric() || t.is_null() || is_stringy(t) =>
            {
                Ok(vec![DataType::Float64])
            }
            // Spark's `sign` of an interval: of its months or microseconds.
            (Kind::Sign | Kind::Signum, [t]) if crate::sql::functions::datetime::interval_fields::is_interval(t) => {
                Ok(vec![t.clone()])
            }
            (Kind::Sign | Kind::Signum | Kind::Rint | Kind::Sqrt, [t])
                if t.is_numeric() || t.is_null() || is_stringy(t) =>
            {
                Ok(vec![DataType::Float64])
            }
            (Kind::Log, [a, b]) if [a, b].iter().all(|t| t.is_numeric() || t.is_null() || is_stringy(t)) => {
                Ok(vec![DataType::Float64, DataType::Float64])
            }
            (_, [t]) => plan_err!("function {name} is not supported yet: argument of type {t}"),
            _ => plan_err!("function {name} takes 1 argument"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::Sign | Kind::Signum | Kind::Rint | Kind::Sqrt => Ok(DataType::Float64),
            Kind::E | Kind::Log1p | Kind::Ln | Kind::Log10 | Kind::Log2 | Kind::Log => Ok(DataType::Float64),
            Kind::Positive => Ok(arg_types[0].clone()),
            Kind::Factorial => Ok(DataType::Int64),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.kind == Kind::E {
            return Ok(ColumnarValue::Scalar(ScalarValue::Float64(Some(std::f64::consts::E))));
        }
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let x = &arrays[0];
        let out: ArrayRef = match self.kind {
            Kind::Positive | Kind::E => x.clone(),
            Kind::Ln | Kind::Log10 | Kind::Log2 | Kind::Log if arrays.len() == 1 => {
                let f = match self.kind {
                    Kind::Log10 => f64::log10,
                    Kind::Log2 => f64::log2,
                    _ => f64::ln,
                };
                let out: Float64Array =
                    x.as_primitive::<Float64Type>().iter().map(|v| v.filter(|v| *v > 0.0).map(f)).collect();
                Arc::new(out)
            }
            Kind::Ln | Kind::Log10 | Kind::Log2 | Kind::Log => {
                let (base, x) = (x.as_primitive::<Float64Type>(), arrays[1].as_primitive::<Float64Type>());
                let out: Float64Array = base
                    .iter()
                    .zip(x.iter())
                    .map(|(b, x)| match (b, x) {
                        (Some(b), Some(x)) if b > 0.0 && x > 0.0 => Some(x.ln() / b.ln()),
                        _ => None,
                    })
                    .collect();
                Arc::new(out)
            }
            Kind::Sign | Kind::Signum => {
                // Java's `Math.signum`: zeros (of either sign) and NaN are returned unchanged.
                use crate::sql::functions::datetime::interval_fields::{as_i64, is_interval};
                let x = &if is_interval(x.data_type()) { cast(&as_i64(x)?, &DataType::Float64)? } else { x.clone() };
                let out: Float64Array = x
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| v.map(|v| if v == 0.0 || v.is_nan() { v } else { v.signum() }))
                    .collect();
                Arc::new(out)
            }
            Kind::Rint => {
                // Java's `Math.rint`: the nearest integer, ties to even.
                let out: Float64Array =
                    x.as_primitive::<Float64Type>().iter().map(|v| v.map(f64::round_ties_even)).collect();
                Arc::new(out)
            }
            Kind::Sqrt => {
                // Java's `Math.sqrt`: NaN below zero.
                let out: Float64Array = x.as_primitive::<Float64Type>().iter().map(|v| v.map(f64::sqrt)).collect();
                Arc::new(out)
            }
            Kind::Log1p => {
                let x = cast(x, &DataType::Float64)?;
                let out: Float64Array =
                    x.as_primitive::<Float64Type>().iter().map(|v| v.filter(|v| *v > -1.0).map(f64::ln_1p)).collect();
                Arc::new(out)
            }
            Kind::Factorial => {
                let out: Int64Array = x
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.and_then(|n| usize::try_from(n).ok()).and_then(|n| FACTORIALS.get(n).copied()))
                    .collect();
                Arc::new(out)
            }
        };
        result(out, scalar)
    }
}

#[cfg(test)]
mod tests {
    use super::FACTORIALS;

    #[test]
    fn factorials() {
        assert_eq!(FACTORIALS[5], 120);
        assert_eq!(FACTORIALS[20], 2432902008176640000);
    }
}
