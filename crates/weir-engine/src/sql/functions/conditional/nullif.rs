//! `nullif(a, b)`: NULL when `a = b`, else `a` — Spark's `if(a = b, NULL, a)`, so the result
//! has `a`'s type (`nullif(1.0, 1)` is a `decimal(2,1)`, `nullif(NULL, 1)` is NULL's type).
//! The comparison is at the two arguments' common type. Only numbers with numbers, strings
//! with strings and a type with itself are compared; other pairs are not supported yet.

use std::sync::Arc;

use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::compute::{cast, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

use super::{arrays, result};

/// `nullif`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NullIf {
    signature: Signature,
}

/// `nullif`.
pub fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(NullIf { signature: Signature::user_defined(Volatility::Immutable) }))
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The type `a` and `b` are compared at.
fn comparison_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let comparable =
        a == b || a.is_null() || b.is_null() || (a.is_numeric() && b.is_numeric()) || (is_string(a) && is_string(b));
    if !comparable {
        return None;
    }
    comparison_coercion(a, b)
}

impl ScalarUDFImpl for NullIf {
    fn name(&self) -> &str {
        "nullif"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [a, b] if comparison_type(a, b).is_some() => Ok(arg_types.to_vec()),
            [a, b] => plan_err!("function nullif is not supported yet: comparing {a} with {b}"),
            _ => plan_err!("function nullif takes 2 arguments, not {}", arg_types.len()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let (a, b) = (&arrays[0], &arrays[1]);
        if a.data_type().is_null() || b.data_type().is_null() {
            // `a = NULL` is never true.
            return result(a.clone(), scalar);
        }
        let Some(t) = comparison_type(a.data_type(), b.data_type()) else {
            return plan_err!(
                "function nullif is not supported yet: comparing {} with {}",
                a.data_type(),
                b.data_type()
            );
        };
        let equal = eq(&cast(a, &t)?, &cast(b, &t)?)?;
        result(nullif(a.as_ref(), &equal)?, scalar)
    }
}
