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

/// Spark's `simpleString` of an Arrow type as Weir maps Spark's types (`int`, `decimal(10,2)`,
/// `array<string>`, `struct<a:int>`…); None for a type Spark has no name for. Intervals are
/// named by their Arrow kind (`interval day to second`, `interval year to month`): Weir does
/// not keep Spark's narrower interval subtypes.
pub fn spark_type_name(t: &DataType) -> Option<String> {
    Some(match t {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            "binary".into()
        }
        DataType::Date32 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Duration(_) => "interval day to second".into(),
        DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::YearMonth) => "interval year to month".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            format!("array<{}>", spark_type_name(f.data_type())?)
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", spark_type_name(kv[0].data_type())?, spark_type_name(kv[1].data_type())?)
            }
            _ => return None,
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| spark_type_name(f.data_type()).map(|t| format!("{}:{t}", f.name())))
                .collect::<Option<_>>()?;
            format!("struct<{}>", inner.join(","))
        }
        DataType::Dictionary(_, v) => spark_type_name(v)?,
        _ => return None,
    })
}
