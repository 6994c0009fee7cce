//! Spark math functions (`math_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod conv;
pub mod div;
pub mod interval_abs;
pub mod interval_arith;
pub mod interval_ops;
pub mod negative;
pub mod random;
pub mod rounding;
pub mod simple;
pub mod try_arith;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut functions = simple::functions();
    functions.extend(try_arith::functions());
    functions.extend(rounding::functions());
    functions.push(Arc::new(ScalarUDF::from(conv::Conv::new())));
    functions.push(interval_abs::abs());
    functions.push(div::div_udf());
    functions.extend(random::functions());
    functions.push(negative::udf());
    functions
}
