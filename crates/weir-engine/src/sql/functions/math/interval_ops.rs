//! `+ - * /` where one side is an interval: planned as Spark's interval arithmetic (the
//! `try_` functions' kernels, [`super::interval_arith`]). Where Spark's operator fails
//! (an overflow, ÷ 0) the answer is NULL.

use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::RawBinaryExpr;
use datafusion::logical_expr::{Expr, ExprSchemable};
use datafusion::sql::sqlparser::ast::BinaryOperator;

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
    let Some(udf) = super::try_arith::functions().into_iter().find(|f| f.name() == name) else {
        return Ok(None);
    };
    Ok(Some(Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![expr.left.clone(), expr.right.clone()]))))
}
