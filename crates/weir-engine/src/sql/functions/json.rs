//! Spark JSON functions (`json_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod to_json;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(to_json::ToJson::new()))]
}
