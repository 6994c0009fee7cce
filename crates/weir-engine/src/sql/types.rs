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

/// The field metadata key that holds Spark's name of an interval subtype (`interval day`,
/// `interval hour to second`, `interval year`...), which Arrow's two interval types cannot
/// tell apart. Interval literals set it; negation, `try_add`/`try_subtract` (and `+`/`-`)
/// and the aggregates that return an input value keep it; other expressions drop it and
/// their result is named after its Arrow type.
pub const SPARK_TYPE_KEY: &str = "weir.spark_type";

/// The Spark interval subtype a field's metadata names, when it fits the field's Arrow type.
pub fn interval_subtype(field: &Field) -> Option<&str> {
    let name = field.metadata().get(SPARK_TYPE_KEY)?.as_str();
    let year_month = name.starts_with("interval year") || name.starts_with("interval month");
    match field.data_type() {
        DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::YearMonth) if year_month => Some(name),
        DataType::Duration(_) if !year_month && name.starts_with("interval ") => Some(name),
        _ => None,
    }
}

/// `field` with Spark's interval subtype `name` as its metadata (none: without).
pub fn with_interval_subtype(field: Field, name: Option<&str>) -> Field {
    let mut metadata = field.metadata().clone();
    match name {
        Some(name) => metadata.insert(SPARK_TYPE_KEY.to_string(), name.to_string()),
        None => metadata.remove(SPARK_TYPE_KEY),
    };
    field.with_metadata(metadata)
}

/// Spark's interval type that holds values of both subtypes: from the wider start field to
/// the narrower end field (`interval day` and `interval hour` make `interval day to hour`).
pub fn widen_interval_subtypes(a: &str, b: &str) -> Option<String> {
    const FIELDS: [&str; 6] = ["year", "month", "day", "hour", "minute", "second"];
    let span = |name: &str| -> Option<(usize, usize)> {
        let rest = name.strip_prefix("interval ")?;
        let (from, to) = rest.split_once(" to ").unwrap_or((rest, rest));
        Some((FIELDS.iter().position(|f| *f == from)?, FIELDS.iter().position(|f| *f == to)?))
    };
    let ((a0, a1), (b0, b1)) = (span(a)?, span(b)?);
    if (a0 < 2) != (b0 < 2) {
        return None;
    }
    let (from, to) = (a0.min(b0), a1.max(b1));
    Some(if from == to {
        format!("interval {}", FIELDS[from])
    } else {
        format!("interval {} to {}", FIELDS[from], FIELDS[to])
    })
}

/// Spark's name of a field's type: [`spark_type_name`], with the interval subtype its
/// metadata names (see [`SPARK_TYPE_KEY`]), here and in nested fields.
pub fn spark_field_type_name(field: &Field) -> Option<String> {
    match interval_subtype(field) {
        Some(name) => Some(name.to_string()),
        None => spark_type_name(field.data_type()),
    }
}

/// Spark's `simpleString` of an Arrow type as Weir maps Spark's types (`int`, `decimal(10,2)`,
/// `array<string>`, `struct<a:int>`…); None for a type Spark has no name for. A bare interval
/// type is named by its Arrow kind (`interval day to second`, `interval year to month`);
/// nested fields may name a narrower subtype ([`spark_field_type_name`]).
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
            format!("array<{}>", spark_field_type_name(f)?)
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", spark_field_type_name(&kv[0])?, spark_field_type_name(&kv[1])?)
            }
            _ => return None,
        },
        DataType::Struct(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|f| spark_field_type_name(f).map(|t| format!("{}:{t}", f.name())))
                .collect::<Option<_>>()?;
            format!("struct<{}>", inner.join(","))
        }
        DataType::Dictionary(_, v) => spark_type_name(v)?,
        _ => return None,
    })
}

/// Spark's `DataType.typeName` (`integer`, `long`, `decimal(10,2)`, `array`...): the word
/// Spark's schema JSON and Arc's messages use.
pub fn spark_type_word(t: &DataType) -> String {
    match t {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "byte".into(),
        DataType::Int16 => "short".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 => "long".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp".into(),
        DataType::Timestamp(_, None) => "timestamp_ntz".into(),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => "array".into(),
        DataType::Map(..) => "map".into(),
        DataType::Struct(_) => "struct".into(),
        DataType::Null => "void".into(),
        other => spark_type_name(other).unwrap_or_else(|| other.to_string().to_lowercase()),
    }
}
