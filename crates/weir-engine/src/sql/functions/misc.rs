//! Spark misc functions (`misc_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod hmac;
pub mod info;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut out = info::udfs();
    out.push(hmac::udf());
    out
}
