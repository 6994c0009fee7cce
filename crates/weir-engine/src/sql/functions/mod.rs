//! Weir's Spark-compatible functions: those missing from DataFusion and datafusion-spark,
//! or present there with different semantics. One module per Spark function group (Spark's
//! own grouping: `DESCRIBE FUNCTION EXTENDED` shows it); each lists its functions in
//! `scalar()` (or `aggregate()`).
//!
//! Registered after datafusion-spark's, so a function here replaces the same-named one.

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, HigherOrderUDF, ScalarUDF, WindowUDF};

pub mod adapt;
pub mod agg;
pub mod array;
pub mod conditional;
pub mod conversion;
pub mod datetime;
pub mod hash;
pub mod json;
pub mod map;
pub mod math;
pub mod misc;
pub mod pattern;
pub mod simple;
pub mod string;
pub mod structs;
pub mod window;

/// Scalar functions to register after datafusion-spark's (they replace same-named ones).
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    [
        string::scalar(),
        datetime::scalar(),
        math::scalar(),
        json::scalar(),
        array::scalar(),
        map::scalar(),
        conditional::scalar(),
        hash::scalar(),
        conversion::scalar(),
        misc::scalar(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Aggregate functions to register after datafusion-spark's.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    agg::aggregate()
}

/// Window functions replacing DataFusion's same-named ones.
pub fn window_functions() -> Vec<Arc<WindowUDF>> {
    window::window()
}

/// Higher-order (lambda) functions under their Spark names: `transform`, `filter`, `exists`,
/// `forall`, `aggregate`, `reduce`, `zip_with`, `map_filter`, `transform_keys`, `transform_values`,
/// `map_zip_with`.
pub fn higher_order_functions() -> Vec<Arc<HigherOrderUDF>> {
    [
        array::lambda::functions(),
        array::lambda_fold::functions(),
        map::lambda::functions(),
        vec![array::array_sort_by::function()],
    ]
    .into_iter()
    .flatten()
    .collect()
}
