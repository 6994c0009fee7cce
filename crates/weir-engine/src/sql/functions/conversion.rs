//! Spark conversion functions (`conversion_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod shorthand;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    shorthand::udfs()
}
