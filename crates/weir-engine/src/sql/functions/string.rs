//! Spark string functions (`string_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    Vec::new()
}
