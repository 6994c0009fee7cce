//! Spark SQL on DataFusion: the dialect (double-quoted text is a string literal, backticks
//! quote identifiers), Spark type names in `CAST`, the `datafusion-spark` function package
//! plus Weir's own Spark-compatible functions ([`functions`]), and Arc's `sqlParams`
//! injection.
//!
//! Identifiers are not normalized: column aliases keep their case (`SELECT NULL AS
//! mergeKey` gives `mergeKey`, as in Spark), function names resolve in any case. Column
//! names are matched case-sensitively (Spark is case-insensitive); view names are looked up
//! case-insensitively by the session's view catalog.

pub mod functions;
pub mod params;
pub mod types;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::DFParserBuilder;
use datafusion::sql::sqlparser::dialect::DatabricksDialect;
use datafusion_spark::SessionStateBuilderSpark;

pub use params::{SqlParamError, inject_sql_params};

/// Session settings for Spark SQL: Databricks dialect, case-preserving identifiers, UTC.
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new().with_information_schema(false);
    let options = config.options_mut();
    options.sql_parser.dialect = datafusion::common::config::Dialect::Databricks;
    options.sql_parser.enable_ident_normalization = false;
    options.execution.time_zone = Some("+00:00".to_string());
    config
}

/// Adds Spark functions (datafusion-spark's, then Weir's, which win on name clashes) and
/// Spark type names to a session builder.
pub fn with_spark(builder: SessionStateBuilder) -> SessionStateBuilder {
    let mut builder = builder.with_spark_features();
    builder.scalar_functions().get_or_insert_with(Vec::new).extend(functions::scalar_functions());
    builder.aggregate_functions().get_or_insert_with(Vec::new).extend(functions::aggregate_functions());
    builder.with_type_planner(Arc::new(types::SparkTypePlanner))
}

/// Checks that `sql` is exactly one statement of Spark SQL (a trailing `;` is fine).
pub fn check_syntax(sql: &str) -> Result<(), String> {
    let dialect = DatabricksDialect {};
    let mut parser = DFParserBuilder::new(sql).with_dialect(&dialect).build().map_err(|e| clean(e.to_string()))?;
    let statements = parser.parse_statements().map_err(|e| clean(e.to_string()))?;
    match statements.len() {
        1 => Ok(()),
        0 => Err("SQL statement is empty.".into()),
        n => Err(format!("expected one SQL statement but found {n}.")),
    }
}

fn clean(message: String) -> String {
    message.trim_start_matches("SQL error: ").trim_start_matches("ParserError(\"").trim_end_matches("\")").to_string()
}

#[cfg(test)]
mod tests;
