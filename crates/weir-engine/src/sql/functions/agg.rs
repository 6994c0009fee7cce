//! Spark aggregate functions (`agg_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::AggregateUDF;

/// The group's aggregate functions.
pub fn aggregate() -> Vec<Arc<AggregateUDF>> {
    Vec::new()
}
