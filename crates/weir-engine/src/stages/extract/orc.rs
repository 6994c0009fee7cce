//! ORCExtract: ORC files (a file, a directory or a glob) into a view, with `_filename` and
//! `_index` (or `_monotonically_increasing_id`) added as Arc does. Types as Spark's ORC source
//! reads them: `char`/`varchar` → string, `decimal` → decimal, `timestamp` and `timestamp with
//! local time zone` → timestamp (Spark writes its timestamps in UTC), nested types as theirs.
//!
//! `schemaURI`/`schemaView`: when no file matches, the view is empty with the schema's columns
//! (Arc's empty-input fallback).

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

use crate::config::StageConfig;
use crate::stages::Stage;
use crate::stages::extract::avro::to_spark_types;
use crate::stages::extract::source::WholeFileExtract;

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    WholeFileExtract::build(c, "ORCExtract", decode)
}

/// ORC's timestamps (`timestamp`, which Spark writes in UTC, and `timestamp with local time
/// zone`) as Spark's timestamp; nested types likewise.
fn timestamps_as_spark(t: &DataType) -> DataType {
    let field = |f: &Field| Field::new(f.name(), timestamps_as_spark(f.data_type()), f.is_nullable());
    match t {
        DataType::Timestamp(_, _) => crate::sql::timestamps::ltz(),
        DataType::List(f) => DataType::List(Arc::new(field(f))),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(|f| field(f)).collect::<Fields>()),
        DataType::Map(entries, sorted) => DataType::Map(Arc::new(field(entries)), *sorted),
        other => other.clone(),
    }
}

/// Decodes one ORC file.
fn decode(bytes: bytes::Bytes) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let builder = orc_rust::ArrowReaderBuilder::try_new(bytes)
        .map_err(|e| ArrowError::ParseError(format!("not a readable ORC file: {e}")))?
        .with_batch_size(8192)
        .with_timestamp_precision(orc_rust::TimestampPrecision::Microsecond);
    let schema = builder.schema();
    let reader = builder.build();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let (schema, batches) = to_spark_types(schema, batches)?;
    // Timestamps: the same instants, seen as UTC (a relabelling, no shift).
    let target: SchemaRef = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), timestamps_as_spark(f.data_type()), f.is_nullable()))
            .collect::<Fields>(),
    ));
    if target == schema {
        return Ok((schema, batches));
    }
    let batches = batches.iter().map(|b| crate::stages::cast_batch(b, &target)).collect::<Result<Vec<_>, _>>()?;
    Ok((target, batches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_readable_orc_file() {
        let err = decode(bytes::Bytes::from_static(b"not orc at all")).unwrap_err().to_string();
        assert!(err.contains("not a readable ORC file"), "{err}");
    }
}
