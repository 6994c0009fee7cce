//! Spark map functions (`map_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod lambda;
pub mod map_concat;
pub mod map_contains_key;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(map_concat::MapConcat::new())),
        Arc::new(ScalarUDF::from(map_contains_key::MapContainsKey::new())),
    ]
}
