//! `try_add`, `try_subtract`, `try_multiply`, `try_divide`, `try_mod`: Spark's arithmetic with
//! NULL instead of an error on overflow or division by zero.
//!
//! Types as Spark's: integers keep the wider integer type (`try_divide` is always a double
//! division), any floating point or string argument makes it double, decimals follow Spark's
//! decimal result precision and scale (a result that does not fit is NULL), and
//! `try_add`/`try_subtract` of a date and an integer number of days is a date. Intervals,
//! timestamps, decimal division and decimal results wider than 38 digits are not supported yet.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, PrimitiveArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Decimal128Type, Field, FieldRef, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::sql::functions::conditional::{arrays, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
    Mod,
}

/// One of the `try_` arithmetic functions.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TryArith {
    op: Op,
    signature: Signature,
}

/// The five functions.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [Op::Add, Op::Subtract, Op::Multiply, Op::Divide, Op::Mod]
        .into_iter()
        .map(|op| Arc::new(ScalarUDF::from(TryArith { op, signature: Signature::user_defined(Volatility::Immutable) })))
        .collect()
}

fn int_rank(t: &DataType) -> Option<u8> {
    match t {
        DataType::Int8 => Some(1),
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(3),
        DataType::Int64 => Some(4),
        _ => None,
    }
}

/// The decimal type Spark gives an integer type in decimal arithmetic.
fn as_decimal(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

fn is_stringy(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

impl TryArith {
    fn interval_op(&self) -> Option<super::interval_arith::IntervalOp> {
        use super::interval_arith::IntervalOp;
        match self.op {
            Op::Add => Some(IntervalOp::Add),
            Op::Subtract => Some(IntervalOp::Subtract),
            Op::Multiply => Some(IntervalOp::Multiply),
            Op::Divide => Some(IntervalOp::Divide),
            Op::Mod => None,
        }
    }

    /// Spark's decimal result type for `a op b`.
    fn decimal_result(&self, (p1, s1): (u8, i8), (p2, s2): (u8, i8)) -> Result<(u8, i8)> {
        let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
        let (p, s) = match self.op {
            Op::Add | Op::Subtract => (s1.max(s2) + (p1 - s1).max(p2 - s2) + 1, s1.max(s2)),
            Op::Multiply => (p1 + p2 + 1, s1 + s2),
            Op::Mod => ((p1 - s1).min(p2 - s2) + s1.max(s2), s1.max(s2)),
            Op::Divide => return plan_err!("function {} is not supported yet: decimal division", self.name()),
        };
        if p > 38 || s < 0 {
            return plan_err!("function {} is not supported yet: a decimal result of precision {p}", self.name());
        }
        Ok((p as u8, s as i8))
    }
}

impl ScalarUDFImpl for TryArith {
    fn name(&self) -> &str {
        match self.op {
            Op::Add => "try_add",
            Op::Subtract => "try_subtract",
            Op::Multiply => "try_multiply",
            Op::Divide => "try_divide",
            Op::Mod => "try_mod",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let [a, b] = arg_types else { return plan_err!("function {name} takes 2 arguments") };
        // An untyped NULL takes the other side's type (int when both are NULL).
        let (a, b) = match (a.is_null(), b.is_null()) {
            (true, true) => (DataType::Int32, DataType::Int32),
            (true, false) => (b.clone(), b.clone()),
            (false, true) => (a.clone(), a.clone()),
            _ => (a.clone(), b.clone()),
        };
        if super::interval_arith::applies(&a, &b) {
            let Some(op) = self.interval_op() else {
                return plan_err!("function {name} is not supported yet: interval arguments");
            };
            return super::interval_arith::coerce(name, op, &a, &b);
        }
        if matches!(self.op, Op::Add | Op::Subtract) && a == DataType::Date32 && int_rank(&b).is_some() {
            return Ok(vec![DataType::Date32, DataType::Int32]);
        }
        if self.op == Op::Add && b == DataType::Date32 && int_rank(&a).is_some() {
            return Ok(vec![DataType::Int32, DataType::Date32]);
        }
        let numeric_or_string = |t: &DataType| t.is_numeric() || is_stringy(t);
        if !numeric_or_string(&a) || !numeric_or_string(&b) {
            return plan_err!("function {name} is not supported yet: arguments of types {a} and {b}");
        }
        if self.op == Op::Divide {
            if matches!(a, DataType::Decimal128(..)) || matches!(b, DataType::Decimal128(..)) {
                if !(a.is_floating() || b.is_floating() || is_stringy(&a) || is_stringy(&b)) {
                    return plan_err!("function {name} is not supported yet: decimal division");
                }
            }
            return Ok(vec![DataType::Float64, DataType::Float64]);
        }
        if let (Some(x), Some(y)) = (int_rank(&a), int_rank(&b)) {
            let wider = if x >= y { a.clone() } else { b.clone() };
            return Ok(vec![wider.clone(), wider]);
        }
        if a.is_floating() || b.is_floating() || is_stringy(&a) || is_stringy(&b) {
            return Ok(vec![DataType::Float64, DataType::Float64]);
        }
        match (as_decimal(&a), as_decimal(&b)) {
            (Some((p1, s1)), Some((p2, s2))) => {
                self.decimal_result((p1, s1), (p2, s2))?;
                Ok(vec![DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)])
            }
            _ => plan_err!("function {name} is not supported yet: arguments of types {a} and {b}"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if let [a, b] = arg_types
            && super::interval_arith::applies(a, b)
        {
            return Ok(super::interval_arith::return_type(a, b));
        }
        match arg_types {
            [DataType::Date32, _] | [_, DataType::Date32] => Ok(DataType::Date32),
            [DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)] => {
                let (p, s) = self.decimal_result((*p1, *s1), (*p2, *s2))?;
                Ok(DataType::Decimal128(p, s))
            }
            [a, _] => Ok(a.clone()),
            _ => plan_err!("function {} takes 2 arguments", self.name()),
        }
    }

    /// The sum or difference of two intervals has Spark's interval subtype that holds both
    /// (`interval day` − `interval day` is an `interval day`, + `interval hour` an
    /// `interval day to hour`).
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args.arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let nullable = true;
        let field = Field::new(self.name(), self.return_type(&types)?, nullable);
        let subtype = match (self.op, args.arg_fields) {
            (Op::Add | Op::Subtract, [a, b]) => {
                use crate::sql::types::{interval_subtype, widen_interval_subtypes};
                match (interval_subtype(a), interval_subtype(b)) {
                    (Some(x), Some(y)) => widen_interval_subtypes(x, y),
                    _ => None,
                }
            }
            _ => None,
        };
        Ok(Arc::new(crate::sql::types::with_interval_subtype(field, subtype.as_deref())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let (a, b) = (&arrays[0], &arrays[1]);
        let op = self.op;
        if super::interval_arith::applies(a.data_type(), b.data_type())
            && let Some(interval_op) = self.interval_op()
        {
            return result(super::interval_arith::invoke(interval_op, a, b)?, scalar);
        }
        let out: ArrayRef = match (a.data_type(), b.data_type()) {
            (DataType::Date32, _) => {
                let days = cast(b, &DataType::Int32)?;
                let f = if op == Op::Add { i32::checked_add } else { i32::checked_sub };
                Arc::new(zip_opt::<Date32Type, Int32Type, Date32Type>(a, &days, f))
            }
            (_, DataType::Date32) => {
                let days = cast(a, &DataType::Int32)?;
                Arc::new(zip_opt::<Date32Type, Int32Type, Date32Type>(b, &days, i32::checked_add))
            }
            (DataType::Int8, _) => Arc::new(ints::<Int8Type>(op, a, b)),
            (DataType::Int16, _) => Arc::new(ints::<Int16Type>(op, a, b)),
            (DataType::Int32, _) => Arc::new(ints::<Int32Type>(op, a, b)),
            (DataType::Int64, _) => Arc::new(ints::<Int64Type>(op, a, b)),
            (DataType::Float64, _) => {
                let f = match op {
                    Op::Add => |x: f64, y: f64| Some(x + y),
                    Op::Subtract => |x: f64, y: f64| Some(x - y),
                    Op::Multiply => |x: f64, y: f64| Some(x * y),
                    Op::Divide => |x: f64, y: f64| if y == 0.0 { None } else { Some(x / y) },
                    Op::Mod => |x: f64, y: f64| if y == 0.0 { None } else { Some(x % y) },
                };
                Arc::new(zip_opt::<Float64Type, Float64Type, Float64Type>(a, b, f))
            }
            (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) => {
                let (p, s) = self.decimal_result((*p1, *s1), (*p2, *s2))?;
                Arc::new(decimals(op, a, *s1, b, *s2, p, s)?)
            }
            (x, y) => return exec_err!("{}: unexpected argument types {x} and {y}", self.name()),
        };
        result(out, scalar)
    }
}

/// `f` over the rows where both sides are non-null.
fn zip_opt<A, B, O>(
    a: &ArrayRef,
    b: &ArrayRef,
    f: impl Fn(A::Native, B::Native) -> Option<O::Native>,
) -> PrimitiveArray<O>
where
    A: ArrowPrimitiveType,
    B: ArrowPrimitiveType,
    O: ArrowPrimitiveType,
{
    let (a, b) = (a.as_primitive::<A>(), b.as_primitive::<B>());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => f(x, y),
            _ => None,
        })
        .collect()
}

trait CheckedInt: Copy {
    fn add(self, o: Self) -> Option<Self>;
    fn sub(self, o: Self) -> Option<Self>;
    fn mul(self, o: Self) -> Option<Self>;
    fn rem(self, o: Self) -> Option<Self>;
}

macro_rules! checked_int {
    ($($t:ty),*) => {$(
        impl CheckedInt for $t {
            fn add(self, o: Self) -> Option<Self> { self.checked_add(o) }
            fn sub(self, o: Self) -> Option<Self> { self.checked_sub(o) }
            fn mul(self, o: Self) -> Option<Self> { self.checked_mul(o) }
            // Spark's `MIN % -1` is 0, not an overflow.
            fn rem(self, o: Self) -> Option<Self> { if o == -1 { Some(0) } else { self.checked_rem(o) } }
        }
    )*};
}
checked_int!(i8, i16, i32, i64);

fn ints<T>(op: Op, a: &ArrayRef, b: &ArrayRef) -> PrimitiveArray<T>
where
    T: ArrowPrimitiveType,
    T::Native: CheckedInt,
{
    let f = match op {
        Op::Add => CheckedInt::add,
        Op::Subtract => CheckedInt::sub,
        Op::Multiply => CheckedInt::mul,
        Op::Mod | Op::Divide => CheckedInt::rem,
    };
    zip_opt::<T, T, T>(a, b, f)
}

/// Decimal arithmetic on the unscaled values, NULL where the result does not fit `p` digits.
fn decimals(op: Op, a: &ArrayRef, s1: i8, b: &ArrayRef, s2: i8, p: u8, s: i8) -> Result<Decimal128Array> {
    let limit = 10i128.pow(p as u32);
    let scale_by = |v: i128, from: i8, to: i8| v.checked_mul(10i128.checked_pow((to - from) as u32)?);
    let common = s1.max(s2);
    let f = |x: i128, y: i128| -> Option<i128> {
        let r = match op {
            Op::Multiply => x.checked_mul(y)?,
            _ => {
                let (x, y) = (scale_by(x, s1, common)?, scale_by(y, s2, common)?);
                match op {
                    Op::Add => x.checked_add(y)?,
                    Op::Subtract => x.checked_sub(y)?,
                    _ => {
                        if y == 0 {
                            return None;
                        }
                        x.checked_rem(y)?
                    }
                }
            }
        };
        (r.abs() < limit).then_some(r)
    };
    Ok(zip_opt::<Decimal128Type, Decimal128Type, Decimal128Type>(a, b, f).with_precision_and_scale(p, s)?)
}
