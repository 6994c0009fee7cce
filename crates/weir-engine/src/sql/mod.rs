//! Spark SQL on DataFusion. Text is parsed with Spark's dialect ([`dialect`]), rewritten
//! for Spark's literal typing and case-insensitive columns ([`rewrite`]), planned with Spark's
//! operators and accessors ([`planner`]) and typing rules ([`analyzer`], [`cast`]), with the
//! `datafusion-spark` functions plus Weir's own ([`functions`]) and Spark type names in
//! `CAST`; errors speak Spark's terms ([`errors`]). Arc's `sqlParams` injection is in
//! [`params`].
//!
//! Spark settings followed: non-ANSI (`spark.sql.ansi.enabled=false`: an invalid cast is
//! NULL), case-insensitive columns (`spark.sql.caseSensitive=false`), session time zone
//! UTC, NULLs first in ascending order and last in descending order, decimal literals
//! (`0.1` is DECIMAL(1,1)).

pub mod analyzer;
pub mod cast;
pub mod dialect;
pub mod errors;
pub mod functions;
pub mod interval;
pub mod lateral;
pub mod params;
pub mod plan;
pub mod planner;
pub mod prepass;
pub mod rewrite;
pub mod set_all;
pub mod struct_star;
pub mod table_functions;
pub mod time_window;
pub mod timestamps;
pub mod types;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::optimizer::{Analyzer, AnalyzerRule};
use datafusion::prelude::SessionConfig;
use datafusion_spark::SessionStateBuilderSpark;

pub use params::{SqlParamError, inject_sql_params};
pub use plan::SqlOptions;

/// Session settings for Spark SQL: case-preserving identifiers, UTC, Spark's NULL ordering
/// and decimal literals.
pub fn session_config() -> SessionConfig {
    let mut config = SessionConfig::new().with_information_schema(false);
    let options = config.options_mut();
    options.sql_parser.dialect = datafusion::common::config::Dialect::Databricks;
    options.sql_parser.enable_ident_normalization = false;
    options.sql_parser.parse_float_as_decimal = true;
    options.sql_parser.default_null_ordering = "nulls_min".to_string();
    options.execution.time_zone = Some("+00:00".to_string());
    // Strings read from Parquet (and Delta) as plain Utf8, not views: a view array keeps its
    // whole page buffers alive, so joins and sorts holding a few rows hold (and count against
    // the memory limit) every page they came from.
    options.execution.parquet.schema_force_view_types = false;
    config
}

/// Adds Spark functions (datafusion-spark's, then Weir's, which win on name clashes), Spark
/// type names, Spark's expression planner and analyzer rules to a session builder.
pub fn with_spark(builder: SessionStateBuilder, options: SqlOptions) -> SessionStateBuilder {
    let mut builder = builder.with_spark_features();
    let scalars = builder.scalar_functions().get_or_insert_with(Vec::new);
    // datafusion-spark's `input_file_name` fails when run; Weir's scans do not track files yet,
    // so without it the function is refused at plan time as not supported.
    scalars.retain(|f| f.name() != "input_file_name");
    scalars.extend(functions::scalar_functions());
    builder.aggregate_functions().get_or_insert_with(Vec::new).extend(functions::aggregate_functions());
    builder.window_functions().get_or_insert_with(Vec::new).extend(functions::window_functions());
    builder.higher_order_functions().get_or_insert_with(Vec::new).extend(functions::higher_order_functions());
    let tables = builder.table_functions().get_or_insert_with(Default::default);
    for function in table_functions::table_functions() {
        tables.insert(function.name().to_string(), function);
    }
    let planners = builder.expr_planners().get_or_insert_with(Vec::new);
    planners
        .insert(0, Arc::new(planner::SparkExprPlanner { ansi: options.ansi, case_sensitive: options.case_sensitive }));
    let to_string = Arc::new(ScalarUDF::from(cast::SparkCastString::new()));
    let mut rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> = vec![Arc::new(analyzer::SparkLiterals)];
    rules.extend(Analyzer::new().rules);
    let mut conversions = functions::conversion::shorthand::udfs();
    conversions.push(Arc::new(ScalarUDF::from(functions::datetime::ToTemporal::timestamp_ntz())));
    rules.push(Arc::new(analyzer::SparkCasts { ansi: options.ansi, to_string, conversions }));
    rules.push(Arc::new(functions::agg::rewrite::WindowAggregates));
    builder.with_analyzer_rules(rules).with_type_planner(Arc::new(types::SparkTypePlanner))
}

/// Checks that `sql` is exactly one statement of Spark SQL (a trailing `;` is fine).
/// A Spark SQL identifier in backquotes, for SQL Weir writes itself.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A Spark SQL string literal, for SQL Weir writes itself.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

pub fn check_syntax(sql: &str) -> Result<(), String> {
    plan::parse(sql).map(|_| ()).map_err(|e| e.to_string().trim_start_matches("Error during planning: ").to_string())
}

#[cfg(test)]
mod tests;
