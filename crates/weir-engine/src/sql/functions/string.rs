//! Spark string functions (`string_funcs`).

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub mod bytes;
pub mod decode;
pub mod encoding;
pub mod mask;
pub mod number_format;
pub mod regexp;
pub mod replace;
pub mod search;
pub mod sentences;
pub mod similarity;

/// The group's scalar functions.
pub fn scalar() -> Vec<Arc<ScalarUDF>> {
    let mut out = vec![mask::udf(), decode::udf()];
    out.extend(search::udfs());
    out.extend(regexp::udfs());
    out.extend(encoding::udfs());
    out.extend(similarity::udfs());
    out.extend(bytes::udfs());
    out.extend(number_format::udfs());
    out.extend(sentences::udfs());
    out.extend(replace::udfs());
    // Spark's `lcase` / `ucase` are `lower` / `upper` (full Unicode case mapping, as Rust's).
    out.push(Arc::new(datafusion::functions::string::lower().as_ref().clone().with_aliases(["lcase"])));
    out.push(Arc::new(datafusion::functions::string::upper().as_ref().clone().with_aliases(["ucase"])));
    out
}
