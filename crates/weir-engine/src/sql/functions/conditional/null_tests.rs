//! `isnull(x)`, `isnotnull(x)` (never NULL), `equal_null(a, b)` (`a <=> b`: NULLs are equal,
//! never NULL; the arguments compared in their common type as Spark's `=` does),
//! `nullifzero(x)` (NULL when `x` is 0) and `zeroifnull(x)` (0 when `x` is NULL; an untyped
//! NULL is an int).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Scalar};
use datafusion::arrow::compute::kernels::cmp::{eq, not_distinct};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{is_not_null, is_null, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::{arrays, result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    IsNull,
    IsNotNull,
    EqualNull,
    NullIfZero,
    ZeroIfNull,
}

/// One of the null tests.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NullTest {
    kind: Kind,
    signature: Signature,
}

/// `isnull`, `isnotnull`, `equal_null`, `nullifzero`, `zeroifnull`.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [Kind::IsNull, Kind::IsNotNull, Kind::EqualNull, Kind::NullIfZero, Kind::ZeroIfNull]
        .into_iter()
        .map(|kind| {
            Arc::new(ScalarUDF::from(NullTest { kind, signature: Signature::user_defined(Volatility::Immutable) }))
        })
        .collect()
}

fn zero_of(t: &DataType) -> Result<ScalarValue> {
    ScalarValue::new_zero(t)
}

impl ScalarUDFImpl for NullTest {
    fn name(&self) -> &str {
        match self.kind {
            Kind::IsNull => "isnull",
            Kind::IsNotNull => "isnotnull",
            Kind::EqualNull => "equal_null",
            Kind::NullIfZero => "nullifzero",
            Kind::ZeroIfNull => "zeroifnull",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        match (self.kind, arg_types) {
            (Kind::IsNull | Kind::IsNotNull, [t]) => Ok(vec![t.clone()]),
            (Kind::EqualNull, [a, b]) => match comparison_coercion(a, b) {
                Some(t) => Ok(vec![t.clone(), t]),
                None => plan_err!("function {name} is not supported yet: comparing {a} with {b}"),
            },
            (Kind::NullIfZero | Kind::ZeroIfNull, [t]) if t.is_null() => Ok(vec![DataType::Int32]),
            (Kind::NullIfZero | Kind::ZeroIfNull, [t]) if t.is_numeric() => Ok(vec![t.clone()]),
            (Kind::NullIfZero | Kind::ZeroIfNull, [t]) => {
                plan_err!("function {name} is not supported yet: argument of type {t}")
            }
            _ => plan_err!("function {name} does not take {} arguments", arg_types.len()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match self.kind {
            Kind::IsNull | Kind::IsNotNull | Kind::EqualNull => Ok(DataType::Boolean),
            Kind::NullIfZero | Kind::ZeroIfNull => match &arg_types[0] {
                DataType::Null => Ok(DataType::Int32),
                t => Ok(t.clone()),
            },
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let x = &arrays[0];
        let out: ArrayRef = match self.kind {
            Kind::IsNull => Arc::new(is_null(x)?),
            Kind::IsNotNull => Arc::new(is_not_null(x)?),
            Kind::EqualNull => Arc::new(not_distinct(x, &arrays[1])?),
            Kind::NullIfZero => {
                let zero = Scalar::new(zero_of(x.data_type())?.to_array()?);
                nullif(x, &eq(x, &zero)?)?
            }
            Kind::ZeroIfNull => {
                let zero = Scalar::new(zero_of(x.data_type())?.to_array()?);
                zip(&is_null(x)?, &zero, x)?
            }
        };
        let _ = out.len();
        result(out, scalar)
    }
}
