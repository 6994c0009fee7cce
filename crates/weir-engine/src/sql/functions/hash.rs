//! Spark hash functions (`hash_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod murmur3;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    vec![murmur3::udf()]
}
