//! ORCExtract: ORC files (a file, a directory or a glob) into a view, with `_filename` and
//! `_index` (or `_monotonically_increasing_id`) added as Arc does. Types as Spark's ORC source
//! reads them: `char`/`varchar` → string, `decimal` → decimal, `timestamp` and `timestamp with
//! local time zone` → timestamp (Spark writes its timestamps in UTC), nested types as theirs.
//!
//! Not yet: `schemaURI`/`schemaView` (config error).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::extract::avro::{file_index, to_spark_types};
use crate::stages::extract::source::{self, IndexColumn};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `ORCExtract` configuration.
#[derive(Debug)]
pub struct OrcExtract {
    input_uri: String,
    output_view: String,
    index: IndexColumn,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let output_view = c.required_string("outputView");
    let index = file_index(c);
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("schemaURI") || c.has("schemaView") {
        c.error("schemaURI", "A schema ('schemaURI'/'schemaView') is not supported yet by Weir's ORCExtract.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(OrcExtract { input_uri: input_uri?, output_view: output_view?, index, common }))
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
    let batches = batches
        .into_iter()
        .map(|batch| {
            let columns = batch
                .columns()
                .iter()
                .zip(target.fields())
                .map(|(c, f)| match c.data_type() == f.data_type() {
                    true => Ok(c.clone()),
                    false => datafusion::arrow::compute::cast(c, f.data_type()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            RecordBatch::try_new(target.clone(), columns)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((target, batches))
}

#[async_trait]
impl Stage for OrcExtract {
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
    fn garbage_is_not_a_readable_orc_file() {
        let err = decode(bytes::Bytes::from_static(b"not orc at all")).unwrap_err().to_string();
        assert!(err.contains("not a readable ORC file"), "{err}");
    }
}
