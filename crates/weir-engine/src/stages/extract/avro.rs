//! AvroExtract: Avro object container files (a file, a directory or a glob) into a view, with
//! `_filename` and `_index` (or `_monotonically_increasing_id`) added as Arc does. Types as
//! Spark's Avro source reads them: `date` → date, `timestamp-micros`/`-millis` → timestamp,
//! `local-timestamp-*` → timestamp_ntz, `decimal` → decimal, `enum` → string, `fixed` → binary,
//! a union with `null` → a nullable column.
//!
//! Not yet: `inputView` + `inputField` (Avro records in a binary column), `avroSchemaURI`,
//! `schemaURI`/`schemaView` (config errors).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::extract::source::{self, IndexColumn};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `AvroExtract` configuration.
#[derive(Debug)]
pub struct AvroExtract {
    input_uri: String,
    output_view: String,
    index: IndexColumn,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    for key in ["inputView", "inputField", "avroSchemaURI"] {
        if c.has(key) {
            c.error(
                key,
                &format!("Reading Avro records from a binary column ('{key}') is not supported yet by Weir's AvroExtract; use 'inputURI'."),
            );
        }
    }
    let input_uri = c.required_string("inputURI");
    let output_view = c.required_string("outputView");
    let index = file_index(c);
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("schemaURI") || c.has("schemaView") {
        c.error("schemaURI", "A schema ('schemaURI'/'schemaView') is not supported yet by Weir's AvroExtract.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(AvroExtract { input_uri: input_uri?, output_view: output_view?, index, common }))
}

/// `contiguousIndex` (true): `_index`, else `_monotonically_increasing_id`.
pub(crate) fn file_index(c: &mut StageConfig) -> IndexColumn {
    match c.bool_or("contiguousIndex", true) {
        true => IndexColumn::Contiguous,
        false => IndexColumn::Monotonic,
    }
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
    let mut out = Vec::with_capacity(batches.len());
    for batch in batches {
        let columns = batch
            .columns()
            .iter()
            .zip(target.fields())
            .map(|(c, f)| match c.data_type() == f.data_type() {
                true => Ok(c.clone()),
                false => datafusion::arrow::compute::cast(c, f.data_type()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(RecordBatch::try_new(target.clone(), columns)?);
    }
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

#[async_trait]
impl Stage for AvroExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view };
        m.insert("contiguousIndex".into(), (self.index == IndexColumn::Contiguous).into());
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = source::require_files(&session.storage, &self.input_uri).await?;
        let table = source::whole_file_table(&session.storage, &files, decode, self.index).await?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
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
