//! `negative(x)` and the unary minus `-x` (Spark's `UnaryMinus`): `x` negated, of `x`'s type.
//! Integers wrap in Spark's default non-ANSI mode (`-(-2147483648)` is `-2147483648`) and
//! fail on overflow in ANSI mode; decimals, doubles, floats and intervals negate exactly
//! (`-0.0` stays signed); strings are read as doubles, as Spark's implicit cast does.
//!
//! The parser's `-x` (for an `x` other than a number literal) is rewritten to `negative(x)`
//! by [`rewrite_unary_minus`], since DataFusion's negation fails on integer overflow.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::kernels::numeric::neg;
use datafusion::arrow::datatypes::{DataType, Int8Type, Int16Type, Int32Type, Int64Type};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::sql::sqlparser::ast::{self, Expr as SqlExpr, UnaryOperator, Value, VisitMut, VisitorMut};

use crate::sql::functions::conditional::{arrays, result};

/// `negative`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Negative {
    signature: Signature,
}

/// `negative`.
pub fn udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Negative { signature: Signature::user_defined(Volatility::Immutable) }))
}

impl ScalarUDFImpl for Negative {
    fn name(&self) -> &str {
        "negative"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View] => Ok(vec![DataType::Float64]),
            [t] if matches!(t, DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64)
                || matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
                || matches!(t, DataType::Decimal128(_, _) | DataType::Decimal256(_, _))
                || matches!(t, DataType::Interval(_) | DataType::Duration(_) | DataType::Null) =>
            {
                Ok(vec![t.clone()])
            }
            [t] => plan_err!("function negative is not supported yet: argument of type {t}"),
            _ => plan_err!("function negative takes 1 argument"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ansi = args.config_options.execution.enable_ansi_mode;
        let (arrays, scalar) = arrays(&args.args, args.number_rows)?;
        let x = &arrays[0];
        let out: ArrayRef = match x.data_type() {
            DataType::Null => x.clone(),
            DataType::Int8 if !ansi => Arc::new(x.as_primitive::<Int8Type>().unary::<_, Int8Type>(i8::wrapping_neg)),
            DataType::Int16 if !ansi => {
                Arc::new(x.as_primitive::<Int16Type>().unary::<_, Int16Type>(i16::wrapping_neg))
            }
            DataType::Int32 if !ansi => {
                Arc::new(x.as_primitive::<Int32Type>().unary::<_, Int32Type>(i32::wrapping_neg))
            }
            DataType::Int64 if !ansi => {
                Arc::new(x.as_primitive::<Int64Type>().unary::<_, Int64Type>(i64::wrapping_neg))
            }
            _ => neg(x.as_ref())?,
        };
        result(out, scalar)
    }
}

/// Rewrites `-x` to `negative(x)` where `x` is not a number literal (`-1` stays a literal).
pub fn rewrite_unary_minus(statement: &mut ast::Statement) {
    struct Minus;
    impl VisitorMut for Minus {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
            if let SqlExpr::UnaryOp { op: UnaryOperator::Minus, expr: operand } = expr
                && !matches!(&**operand, SqlExpr::Value(v) if matches!(v.value, Value::Number(..)))
                && !matches!(&**operand, SqlExpr::Interval(_) | SqlExpr::Value(_))
            {
                let operand = (**operand).clone();
                *expr = SqlExpr::Function(ast::Function {
                    name: ast::ObjectName::from(vec![ast::Ident::new("negative")]),
                    uses_odbc_syntax: false,
                    parameters: ast::FunctionArguments::None,
                    args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                        duplicate_treatment: None,
                        args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(operand))],
                        clauses: Vec::new(),
                    }),
                    filter: None,
                    null_treatment: None,
                    over: None,
                    within_group: Vec::new(),
                });
            }
            ControlFlow::Continue(())
        }
    }
    let _ = VisitMut::visit(statement, &mut Minus);
}
