//! AvroExtract: Avro object container files (a file, a directory or a glob) into a view, with
//! `_filename` and `_index` (or `_monotonically_increasing_id`) added as Arc does. Types as
//! Spark's Avro source reads them: `date` → date, `timestamp-micros`/`-millis` → timestamp,
//! `local-timestamp-*` → timestamp_ntz, `decimal` → decimal, `enum` → string, `fixed` → binary,
//! a union with `null` → a nullable column.
//!
//! With `inputView`, each row of the binary column `inputField` (default `value`) is one
//! Avro binary-encoded record of the schema at `avroSchemaURI` (Spark's `from_avro`, as Arc
//! reads Kafka payloads); the record's fields become the columns.
//!
//! `schemaURI`/`schemaView`: when no file matches, the view is empty with the schema's columns
//! (Arc's empty-input fallback).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

use crate::config::StageConfig;
use crate::stages::Stage;
use crate::stages::extract::source::WholeFileExtract;

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    if c.has("inputView") {
        return view::build(c);
    }
    let _ = c.string("inputField");
    if c.has("avroSchemaURI") {
        c.error(
            "avroSchemaURI",
            "'avroSchemaURI' (the schema of Avro records in a binary column) is read with 'inputView'; Weir's AvroExtract takes an Avro file's own schema.",
        );
    }
    WholeFileExtract::build(c, "AvroExtract", decode)
}

/// The type Spark reads for an Arrow type decoded from Avro or ORC: dictionaries (Avro
/// enums) as their values, fixed-size binary as binary; nested types likewise.
pub(crate) fn spark_read_type(t: &DataType) -> DataType {
    match t {
        DataType::Dictionary(_, value) => spark_read_type(value),
        DataType::FixedSizeBinary(_) | DataType::LargeBinary | DataType::BinaryView => DataType::Binary,
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::List(f) => DataType::List(Arc::new(read_field(f))),
        DataType::LargeList(f) => DataType::List(Arc::new(read_field(f))),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| read_field(f)).collect::<Fields>()),
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(read_field(entries)), *sorted),
        other => other.clone(),
    }
}

/// A field as Spark reads it: its type mapped by [`spark_read_type`], the reader's own
/// metadata (Avro names, ORC ids) left out.
fn read_field(f: &Field) -> Field {
    Field::new(f.name(), spark_read_type(f.data_type()), f.is_nullable())
}

/// Casts decoded batches to the types Spark reads (see [`spark_read_type`]).
pub(crate) fn to_spark_types(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let target: SchemaRef = Arc::new(Schema::new(schema.fields().iter().map(|f| read_field(f)).collect::<Fields>()));
    let out = batches.iter().map(|b| crate::stages::cast_batch(b, &target)).collect::<Result<Vec<_>, _>>()?;
    Ok((target, out))
}

/// Decodes one Avro object container file.
fn decode(bytes: bytes::Bytes) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let reader = arrow_avro::reader::ReaderBuilder::new()
        .with_batch_size(8192)
        .build(std::io::Cursor::new(bytes))
        .map_err(|e| ArrowError::ParseError(format!("not a readable Avro file: {e}")))?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    to_spark_types(schema, batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn garbage_is_not_a_readable_avro_file() {
        let err = decode(bytes::Bytes::from_static(b"not avro")).unwrap_err().to_string();
        assert!(err.contains("not a readable Avro file"), "{err}");
    }
}

/// AvroExtract from a binary column of a view.
mod view {
    use std::sync::Arc;

    use async_trait::async_trait;
    use datafusion::arrow::array::{Array, AsArray, UInt32Array};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use datafusion::datasource::MemTable;
    use serde_json::{Map, Value};

    use crate::config::{ConfigError, StageConfig};
    use crate::session::Session;
    use crate::stages::extract::source::{self, IndexColumn};
    use crate::stages::{Outcome, Stage, StageError, ViewCommon};

    #[derive(Debug)]
    struct AvroViewExtract {
        input_view: String,
        input_field: String,
        avro_schema_uri: String,
        /// The Avro schema (JSON text), read by `prepare`.
        avro_schema: String,
        output_view: String,
        index: IndexColumn,
        common: ViewCommon,
    }

    pub(super) fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
        let input_view = c.required_string("inputView");
        let input_field = c.string("inputField").unwrap_or_else(|| "value".to_string());
        let avro_schema_uri = c.required_string("avroSchemaURI");
        let output_view = c.required_string("outputView");
        let index = IndexColumn::read(c);
        let _ = c.string("inputURI");
        let _ = c.string("basePath");
        let _ = c.node("authentication");
        // Arc uses these only for an empty result without columns, which a record schema
        // (`avroSchemaURI`) never gives.
        let _ = c.string("schemaURI");
        let _ = c.string("schemaView");
        let common = ViewCommon::read(c);
        Some(Box::new(AvroViewExtract {
            input_view: input_view?,
            input_field,
            avro_schema_uri: avro_schema_uri?,
            avro_schema: String::new(),
            output_view: output_view?,
            index,
            common,
        }))
    }

    impl AvroViewExtract {
        /// The binary column's values, in row order (NULL rows as `None`).
        async fn datums(&self, session: &Session) -> Result<Vec<Option<Vec<u8>>>, StageError> {
            let df = session.view(&self.input_view).await?;
            let names: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
            let Ok((_, field)) = df.schema().qualified_field_with_unqualified_name(&self.input_field) else {
                return Err(StageError::msg(format!(
                    "AvroExtract 'inputField' names column '{}' but inputView '{}' has: [{}].",
                    self.input_field,
                    self.input_view,
                    names.join(", ")
                )));
            };
            if !matches!(field.data_type(), DataType::Binary | DataType::LargeBinary | DataType::BinaryView) {
                return Err(StageError::msg(format!(
                    "AvroExtract requires '{}' of inputView '{}' to be of type 'binary' but it is '{}'.",
                    self.input_field,
                    self.input_view,
                    crate::sql::types::spark_field_type_name(field).unwrap_or_else(|| field.data_type().to_string())
                )));
            }
            let column = datafusion::common::Column::from_name(self.input_field.clone());
            let mut out = Vec::new();
            for batch in df.select(vec![datafusion::prelude::col(column)])?.collect().await? {
                let values = datafusion::arrow::compute::cast(batch.column(0), &DataType::Binary)?;
                out.extend(values.as_binary::<i32>().iter().map(|v| v.map(<[u8]>::to_vec)));
            }
            Ok(out)
        }
    }

    #[async_trait]
    impl Stage for AvroViewExtract {
        fn detail(&self) -> Map<String, Value> {
            let mut m = crate::obj! {
                "inputView" => self.input_view,
                "inputField" => self.input_field,
                "avroSchemaURI" => self.avro_schema_uri,
                "outputView" => self.output_view,
            };
            m.insert("contiguousIndex".into(), (self.index == IndexColumn::Contiguous).into());
            self.common.detail(&mut m);
            m
        }

        async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
            let fail = |e: String| vec![ConfigError::new("avroSchemaURI", None, e)];
            let url = crate::storage::parse_uri(&self.avro_schema_uri).map_err(|e| fail(e.to_string()))?;
            let text = session.storage.read_text(&url).await.map_err(|e| fail(e.to_string()))?;
            let schema: Value = serde_json::from_str(&text)
                .map_err(|e| fail(format!("'{}' is not an Avro schema (JSON): {e}", self.avro_schema_uri)))?;
            self.avro_schema = schema.to_string();
            Ok(())
        }

        async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
            let datums = self.datums(session).await?;
            let present: Vec<&[u8]> = datums.iter().flatten().map(Vec::as_slice).collect();
            let file = crate::stages::load::avro::container(&self.avro_schema, &present);
            let label = format!("inputView '{}'", self.input_view);
            let (schema, batches) = super::decode(bytes::Bytes::from(file)).map_err(|e| {
                StageError::msg(format!("AvroExtract {label} with avroSchemaURI '{}': {e}", self.avro_schema_uri))
            })?;
            let decoded = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
            // A NULL row is a row of NULLs, as Spark's from_avro gives it.
            let mut next = 0u32;
            let rows: UInt32Array = datums
                .iter()
                .map(|d| {
                    d.as_ref().map(|_| {
                        next += 1;
                        next - 1
                    })
                })
                .collect();
            let any_null = rows.null_count() > 0;
            let data_schema: SchemaRef = Arc::new(Schema::new(
                schema
                    .fields()
                    .iter()
                    .map(|f| Field::new(f.name(), f.data_type().clone(), f.is_nullable() || any_null))
                    .collect::<Vec<_>>(),
            ));
            let columns = decoded
                .columns()
                .iter()
                .map(|c| datafusion::arrow::compute::take(c.as_ref(), &rows, None))
                .collect::<Result<Vec<_>, _>>()?;
            let batch = datafusion::arrow::array::RecordBatch::try_new(data_schema.clone(), columns)?;
            let table_schema = source::with_internal_columns(&data_schema, self.index);
            let batch = source::decorate(batch, &table_schema, "", 0, 0, self.index)?;
            let table = MemTable::try_new(table_schema, vec![vec![batch]])?;
            let df = session.ctx.read_table(Arc::new(table))?;
            self.common.register(session, &self.output_view, df).await
        }
    }
}
