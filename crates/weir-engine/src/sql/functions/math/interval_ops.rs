//! `+ - * /` where one side is an interval: planned as Spark's interval arithmetic (the
//! `try_` functions' kernels, [`super::interval_arith`]). Where Spark's operator fails
//! (an overflow, ÷ 0) the answer is NULL. A date plus or minus a literal in days only
//! (`INTERVAL 1 DAY`, Spark's `interval day`) is a date, as Spark's.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::RawBinaryExpr;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::sql::sqlparser::ast::BinaryOperator;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The planned operation, or None when no side is an interval.
pub fn plan(expr: &RawBinaryExpr, schema: &DFSchema) -> Result<Option<Expr>> {
    let name = match expr.op {
        BinaryOperator::Plus => "try_add",
        BinaryOperator::Minus => "try_subtract",
        BinaryOperator::Multiply => "try_multiply",
        BinaryOperator::Divide => "try_divide",
        _ => return Ok(None),
    };
    let (left, right) = (expr.left.get_type(schema)?, expr.right.get_type(schema)?);
    if !super::interval_arith::applies(&left, &right) {
        return Ok(None);
    }
    // date ± `INTERVAL n DAY` (Spark's `interval day`) is a date: the date plus n days.
    let mut args = vec![expr.left.clone(), expr.right.clone()];
    let day_literal = |e: &Expr| match e {
        Expr::ScalarFunction(f) if f.name() == "weir_interval_days" => match f.args.as_slice() {
            [Expr::Literal(v, _), ..] => match v.cast_to(&DataType::Int64).ok()? {
                ScalarValue::Int64(Some(us)) => i32::try_from(us / MICROS_PER_DAY).ok(),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    let is_date = |t: &DataType| *t == DataType::Date32;
    if matches!(expr.op, BinaryOperator::Plus | BinaryOperator::Minus) {
        if is_date(&left)
            && let Some(days) = day_literal(&expr.right)
        {
            args[1] = Expr::Literal(ScalarValue::Int32(Some(days)), None);
        } else if expr.op == BinaryOperator::Plus
            && is_date(&right)
            && let Some(days) = day_literal(&expr.left)
        {
            args[0] = Expr::Literal(ScalarValue::Int32(Some(days)), None);
        }
    }
    let Some(udf) = super::try_arith::functions().into_iter().find(|f| f.name() == name) else {
        return Ok(None);
    };
    Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))))
}
