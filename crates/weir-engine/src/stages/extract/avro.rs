//! AvroExtract: Avro object container files (a file, a directory or a glob) into a view, with
//! `_filename` and `_index` (or `_monotonically_increasing_id`) added as Arc does. Types as
//! Spark's Avro source reads them: `date` → date, `timestamp-micros`/`-millis` → timestamp,
//! `local-timestamp-*` → timestamp_ntz, `decimal` → decimal, `enum` → string, `fixed` → binary,
//! a union with `null` → a nullable column.
//!
//! Not yet: `inputView` + `inputField` (Avro records in a binary column), `avroSchemaURI`,
//! `schemaURI`/`schemaView` (config errors).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

use crate::config::StageConfig;
use crate::stages::Stage;
use crate::stages::extract::source::{IndexColumn, WholeFileExtract};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    for key in ["inputView", "inputField", "avroSchemaURI"] {
        if c.has(key) {
            c.error(
                key,
                &format!("Reading Avro records from a binary column ('{key}') is not supported yet by Weir's AvroExtract; use 'inputURI'."),
            );
        }
    }
    WholeFileExtract::build(c, "AvroExtract", decode)
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
