//! Weir's Spark-compatible functions: those missing from DataFusion and datafusion-spark,
//! or present there with different semantics.
//!
//! | function | why ours |
//! |---|---|
//! | `to_json(struct \| map \| array)` | missing |
//! | `unix_timestamp([ts \| date \| string [, fmt]])` | missing |
//! | `from_unixtime(secs [, fmt])` | DataFusion returns a timestamp and reads `fmt` as a time zone; Spark returns formatted text |
//! | `date_format(ts \| date \| string, fmt)` | DataFusion's takes chrono patterns; Spark's takes Java patterns (`yyyy-MM-dd`) |
//! | `to_date(str [, fmt])`, `to_timestamp(str [, fmt])` | Spark patterns instead of chrono ones |

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

pub mod datetime;
pub mod pattern;
pub mod to_json;

/// Scalar functions to register after datafusion-spark's (they replace same-named ones).
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(to_json::ToJson::new())),
        Arc::new(ScalarUDF::from(datetime::UnixTimestamp::new())),
        Arc::new(ScalarUDF::from(datetime::FromUnixtime::new())),
        Arc::new(ScalarUDF::from(datetime::DateFormat::new())),
        Arc::new(ScalarUDF::from(datetime::ToTemporal::date())),
        Arc::new(ScalarUDF::from(datetime::ToTemporal::timestamp())),
    ]
}

/// Aggregate functions of ours (none yet: datafusion-spark has `collect_list`/`collect_set`).
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    Vec::new()
}
