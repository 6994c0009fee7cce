//! Spark type names that DataFusion's SQL planner does not know (`long`, `byte`, `short`…),
//! and Spark's timestamps (`TIMESTAMP`/`TIMESTAMP_LTZ`, `TIMESTAMP_NTZ`; see [`super::timestamps`]).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast;

/// Maps Spark's type names onto Arrow types.
#[derive(Debug, Default)]
pub struct SparkTypePlanner;

impl TypePlanner for SparkTypePlanner {
    fn plan_type_field(&self, sql_type: &ast::DataType) -> Result<Option<FieldRef>> {
        let data_type = match sql_type {
            ast::DataType::Custom(name, modifiers) if modifiers.is_empty() => {
                match name.to_string().to_ascii_lowercase().as_str() {
                    "long" => Some(DataType::Int64),
                    "byte" => Some(DataType::Int8),
                    "short" => Some(DataType::Int16),
                    "binary" => Some(DataType::Binary),
                    "timestamp_ltz" => Some(super::timestamps::ltz()),
                    "timestamp_ntz" => Some(super::timestamps::ntz()),
                    _ => None,
                }
            }
            ast::DataType::Binary(_) | ast::DataType::Varbinary(_) => Some(DataType::Binary),
            ast::DataType::String(_) => Some(DataType::Utf8),
            // Spark's TIMESTAMP is TIMESTAMP_LTZ (`spark.sql.timestampType`): microseconds, UTC.
            ast::DataType::Timestamp(_, ast::TimezoneInfo::None) => Some(super::timestamps::ltz()),
            ast::DataType::TimestampNtz(_) => Some(super::timestamps::ntz()),
            // `MAP<STRING, INT>`: read as a DDL type.
            ast::DataType::Map(k, v) => super::functions::json::ddl::parse_schema(&format!("MAP<{k}, {v}>")).ok(),
            _ => None,
        };
        Ok(data_type.map(|t| Arc::new(Field::new("", t, true))))
    }
}
