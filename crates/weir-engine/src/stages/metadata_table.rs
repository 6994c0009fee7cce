//! A view's schema as Arc's metadata table: one row per column with `metadata` (a struct of
//! every metadata key any column has, typed as Spark's JSON reader infers it: boolean, long,
//! double or string), `name`, `nullable` and `type` (Spark's JSON type name: `integer`,
//! `long`, `string`, `decimal(10,2)`...), in that order as Arc's table has them. The
//! Metadata stages query it as a view named `metadata`.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringArray, StringBuilder,
    StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;

use crate::session::Session;
use crate::stages::StageError;

/// The name Arc gives the metadata view while a Metadata stage's SQL runs.
pub const VIEW: &str = "metadata";

/// The `type` of a column in the metadata table: Spark's `typeName`, or for nested types
/// (where Spark's schema JSON holds a type document) their simple string.
fn json_type_name(t: &DataType) -> String {
    match t {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::Map(..)
        | DataType::Struct(_) => crate::sql::types::spark_type_name(t).unwrap_or_else(|| t.to_string()),
        _ => crate::sql::types::spark_type_word(t),
    }
}

/// How a metadata key's values are typed: the narrowest of boolean, long, double, string
/// that holds every value.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Boolean,
    Long,
    Double,
    Text,
}

fn kind_of(value: &str) -> Kind {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Bool(_)) => Kind::Boolean,
        Ok(serde_json::Value::Number(n)) if n.is_i64() => Kind::Long,
        Ok(serde_json::Value::Number(_)) => Kind::Double,
        _ => Kind::Text,
    }
}

/// The metadata table of `schema` (Weir's own metadata keys left out).
pub fn metadata_batch(schema: &Schema) -> Result<RecordBatch, StageError> {
    let user_key = |k: &String| !k.starts_with("weir.");
    let keys: BTreeSet<String> =
        schema.fields().iter().flat_map(|f| f.metadata().keys().filter(|k| user_key(k)).cloned()).collect();
    let mut meta_fields = Vec::new();
    let mut meta_columns: Vec<ArrayRef> = Vec::new();
    for key in &keys {
        let values: Vec<Option<&String>> = schema.fields().iter().map(|f| f.metadata().get(key)).collect();
        // Mixed kinds widen: booleans with numbers become text, as in Spark's inference.
        let kinds: BTreeSet<Kind> = values.iter().flatten().map(|v| kind_of(v)).collect();
        let kind = match (kinds.len(), kinds.iter().next()) {
            (1, Some(k)) => *k,
            _ if kinds.iter().all(|k| matches!(k, Kind::Long | Kind::Double)) => Kind::Double,
            _ => Kind::Text,
        };
        let (data_type, column): (DataType, ArrayRef) = match kind {
            Kind::Boolean => {
                let mut b = BooleanBuilder::new();
                values.iter().for_each(|v| b.append_option(v.map(|v| v == "true")));
                (DataType::Boolean, Arc::new(b.finish()))
            }
            Kind::Long => {
                let mut b = Int64Builder::new();
                values.iter().for_each(|v| b.append_option(v.and_then(|v| v.parse().ok())));
                (DataType::Int64, Arc::new(b.finish()))
            }
            Kind::Double => {
                let mut b = Float64Builder::new();
                values.iter().for_each(|v| b.append_option(v.and_then(|v| v.parse().ok())));
                (DataType::Float64, Arc::new(b.finish()))
            }
            Kind::Text => {
                let mut b = StringBuilder::new();
                values.iter().for_each(|v| b.append_option(*v));
                (DataType::Utf8, Arc::new(b.finish()))
            }
        };
        meta_fields.push(Field::new(key, data_type, true));
        meta_columns.push(column);
    }
    let rows = schema.fields().len();
    let metadata: ArrayRef = if meta_fields.is_empty() {
        // No keys: an empty map per column, as Arc adds (`typedLit(Map[String, String]())`).
        let mut b = datafusion::arrow::array::MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for _ in 0..rows {
            b.append(true)?;
        }
        Arc::new(b.finish())
    } else {
        Arc::new(StructArray::try_new(Fields::from(meta_fields), meta_columns, None)?)
    };
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let types: Vec<String> = schema.fields().iter().map(|f| json_type_name(f.data_type())).collect();
    let out = Schema::new(vec![
        Field::new("metadata", metadata.data_type().clone(), false),
        Field::new("name", DataType::Utf8, false),
        Field::new("nullable", DataType::Boolean, false),
        Field::new("type", DataType::Utf8, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(out),
        vec![
            metadata,
            Arc::new(StringArray::from(names)),
            Arc::new(BooleanArray::from(schema.fields().iter().map(|f| f.is_nullable()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(types)),
        ],
    )?)
}

/// The metadata table of `input` as a DataFrame.
pub fn metadata_frame(session: &Session, input: &DataFrame) -> Result<DataFrame, StageError> {
    let batch = metadata_batch(input.schema().as_arrow())?;
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    Ok(session.ctx.read_table(Arc::new(table))?)
}

/// Runs `sql` with the metadata of `input_view` registered as the `metadata` view (replaced
/// for the query and dropped after, as Arc does), returning the collected result.
pub async fn query(session: &Session, input_view: &str, sql: &str) -> Result<DataFrame, StageError> {
    let input = session.view(input_view).await?;
    let batch = metadata_batch(input.schema().as_arrow())?;
    session.drop_view(VIEW);
    session.register_view(VIEW, Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?))?;
    let result = async {
        let batches = session.sql(sql).await?.collect().await?;
        let schema = batches.first().map(|b| b.schema()).unwrap_or_else(|| Arc::new(Schema::empty()));
        let table = MemTable::try_new(schema, vec![batches])?;
        Ok::<_, StageError>(session.ctx.read_table(Arc::new(table))?)
    }
    .await;
    session.drop_view(VIEW);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn metadata_keys_become_typed_struct_fields() {
        let meta = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let schema = Schema::new(vec![
            Field::new("a", DataType::Int32, true).with_metadata(meta(&[("private", "true"), ("id", "7")])),
            Field::new("b", DataType::Utf8, false)
                .with_metadata(meta(&[("private", "false"), ("weir.spark_type", "x")])),
        ]);
        let batch = metadata_batch(&schema).unwrap();
        let schema_out = batch.schema();
        let names: Vec<&str> = schema_out.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["metadata", "name", "nullable", "type"]);
        let DataType::Struct(fields) = batch.schema().field(0).data_type().clone() else { panic!() };
        let keys: Vec<(String, DataType)> = fields.iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        assert_eq!(keys, [("id".to_string(), DataType::Int64), ("private".to_string(), DataType::Boolean)]);
        let types = batch.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((types.value(0), types.value(1)), ("integer", "string"));
        let plain = metadata_batch(&Schema::new(vec![Field::new("x", DataType::Int64, true)])).unwrap();
        assert!(matches!(plain.schema().field(0).data_type(), DataType::Map(_, _)));
    }
}
