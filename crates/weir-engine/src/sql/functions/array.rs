//! Spark array and collection functions (`array_funcs`, `collection_funcs`), higher-order functions included.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    Vec::new()
}
