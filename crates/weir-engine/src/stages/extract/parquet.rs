//! ParquetExtract: reads Parquet files (a file, a directory or a glob) into a view, with
//! Arc's internal columns `_filename` and `_index` (or `_monotonically_increasing_id` with
//! `contiguousIndex: false`) unless the data has one of them already. Each file is one
//! partition, streamed a batch at a time in its row order (which `_index` counts). The
//! columns are those of every file, in the order first seen (a column some file lacks is NULL
//! there; one column with two types fails); each keeps the field metadata its first file
//! holds (Arc's `description` and the like, as ParquetLoad writes them). With `schemaURI` or
//! `schemaView`, no matching file gives an empty view of the schema's columns (Arc's fallback).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, new_null_array};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::parquet::arrow::arrow_reader::ArrowReaderMetadata;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::extract::source::{self, IndexColumn};
use crate::stages::schema_source::ReadSchema;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::storage::{FileEntry, Storage};

/// `ParquetExtract` configuration.
#[derive(Debug)]
pub struct ParquetExtract {
    input_uri: String,
    output_view: String,
    index: IndexColumn,
    /// `schemaURI`/`schemaView`: the columns of an empty result when no file matches.
    schema: ReadSchema,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let output_view = c.required_string("outputView");
    let index = IndexColumn::read(c);
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    let schema = ReadSchema::read(c);
    let common = ViewCommon::read(c);
    Some(Box::new(ParquetExtract { input_uri: input_uri?, output_view: output_view?, index, schema, common }))
}

/// Reads a Parquet file's byte ranges from its object store.
#[derive(Clone)]
struct FileReader {
    store: Arc<dyn object_store::ObjectStore>,
    path: object_store::path::Path,
    size: u64,
}

fn reader(storage: &Storage, file: &FileEntry) -> Result<FileReader, StageError> {
    let store = storage.store(&file.url)?;
    let path = crate::storage::object_path(&file.url)?;
    Ok(FileReader { store, path, size: file.meta.size })
}

impl AsyncFileReader for FileReader {
    fn get_bytes(&mut self, range: std::ops::Range<u64>) -> BoxFuture<'_, Result<bytes::Bytes, ParquetError>> {
        Box::pin(async move {
            self.store.get_range(&self.path, range).await.map_err(|e| ParquetError::External(Box::new(e)))
        })
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, Result<Vec<bytes::Bytes>, ParquetError>> {
        Box::pin(async move {
            self.store.get_ranges(&self.path, &ranges).await.map_err(|e| ParquetError::External(Box::new(e)))
        })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, Result<Arc<ParquetMetaData>, ParquetError>> {
        Box::pin(async move {
            let size = self.size;
            let reader = ParquetMetaDataReader::new().with_prefetch_hint(Some(64 << 10));
            Ok(Arc::new(reader.load_and_finish(self, size).await?))
        })
    }
}

/// A file's footer: its row groups and Arrow schema (with the field metadata written there).
async fn footer(storage: &Storage, file: &FileEntry) -> Result<ArrowReaderMetadata, StageError> {
    let mut reader = reader(storage, file)?;
    ArrowReaderMetadata::load_async(&mut reader, Default::default())
        .await
        .map_err(|e| StageError::msg(format!("{}: {e}", file.url)))
}

/// The columns of all files: in the order first seen, nullable when any file's is or some file
/// lacks it, with the first file's field metadata.
fn merged_schema(files: &[FileEntry], footers: &[ArrowReaderMetadata]) -> Result<Schema, StageError> {
    let mut fields: Vec<Field> = Vec::new();
    let mut first_seen: Vec<usize> = Vec::new();
    for (i, (file, footer)) in files.iter().zip(footers).enumerate() {
        let schema = footer.schema();
        for field in schema.fields() {
            match fields.iter_mut().position(|f| f.name() == field.name()) {
                Some(at) if fields[at].data_type() != field.data_type() => {
                    return Err(StageError::msg(format!(
                        "{}: column '{}' is of type {} but of type {} in '{}'.",
                        file.url,
                        field.name(),
                        field.data_type(),
                        fields[at].data_type(),
                        files[first_seen[at]].url
                    )));
                }
                Some(at) => {
                    let nullable = fields[at].is_nullable() || field.is_nullable();
                    fields[at].set_nullable(nullable);
                }
                None => {
                    fields.push(field.as_ref().clone().with_nullable(field.is_nullable() || i > 0));
                    first_seen.push(i);
                }
            }
        }
        for f in fields.iter_mut().filter(|f| schema.field_with_name(f.name()).is_err()) {
            f.set_nullable(true);
        }
    }
    Ok(Schema::new(fields))
}

/// A file's batch with the view's columns (NULL where the file lacks one).
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, DataFusionError> {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| match batch.column_by_name(f.name()) {
            Some(column) => column.clone(),
            None => new_null_array(f.data_type(), batch.num_rows()),
        })
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

struct ParquetPartition {
    reader: FileReader,
    footer: ArrowReaderMetadata,
    name: String,
    file_index: usize,
    data_schema: SchemaRef,
    schema: SchemaRef,
    /// `Some` when the internal columns are added.
    index: Option<IndexColumn>,
}

impl std::fmt::Debug for ParquetPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetPartition").field("file", &self.name).finish()
    }
}

impl PartitionStream for ParquetPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let name = self.name.clone();
        let fail = move |e: &dyn std::fmt::Display| DataFusionError::Execution(format!("{name}: {e}"));
        let (reader, footer) = (self.reader.clone(), self.footer.clone());
        let (open_fail, read_fail) = (fail.clone(), fail.clone());
        let batches = futures::stream::once(async move {
            let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, footer).with_batch_size(8192);
            let stream = builder.build().map_err(|e| open_fail(&e))?;
            Ok::<_, DataFusionError>(stream.map_err(move |e| read_fail(&e)))
        })
        .try_flatten();
        let (data_schema, schema, index, file_index) =
            (self.data_schema.clone(), self.schema.clone(), self.index, self.file_index);
        let label = self.name.clone();
        let mut first_row = 0i64;
        let out = batches.map(move |batch| {
            let batch = conform(batch?, &data_schema)?;
            let n = batch.num_rows() as i64;
            let out = match index {
                Some(index) => source::decorate(batch, &schema, &label, first_row, file_index, index)?,
                None => batch,
            };
            first_row += n;
            Ok(out)
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), out))
    }
}

#[async_trait]
impl Stage for ParquetExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputURI" => self.input_uri,
            "outputView" => self.output_view,
            "contiguousIndex" => (self.index == IndexColumn::Contiguous),
        };
        self.schema.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.schema.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = source::files_or_empty(&session.storage, &self.input_uri, self.schema.is_given()).await?;
        if files.is_empty()
            && let Some(empty) = source::empty_table(session, &self.schema, "ParquetExtract", self.index).await?
        {
            let df = session.ctx.read_table(Arc::new(empty))?;
            return self.common.register(session, &self.output_view, df).await;
        }
        let reads: Vec<_> = files.iter().map(|file| footer(&session.storage, file)).collect();
        let footers: Vec<ArrowReaderMetadata> = futures::stream::iter(reads).buffered(16).try_collect().await?;
        let data_schema = Arc::new(merged_schema(&files, &footers)?);
        // As Arc: no internal columns when the data has one of them.
        let has_internal =
            data_schema.fields().iter().any(|f| crate::typing::INTERNAL_COLUMNS.contains(&f.name().as_str()));
        let index = (!has_internal).then_some(self.index);
        let schema = match index {
            Some(index) => source::with_internal_columns(&data_schema, index),
            None => data_schema.clone(),
        };
        let mut partitions: Vec<Arc<dyn PartitionStream>> = Vec::with_capacity(files.len());
        for (file_index, (file, footer)) in files.iter().zip(footers).enumerate() {
            partitions.push(Arc::new(ParquetPartition {
                reader: reader(&session.storage, file)?,
                footer,
                name: file.url.to_string(),
                file_index,
                data_schema: data_schema.clone(),
                schema: schema.clone(),
                index,
            }));
        }
        let table = StreamingTable::try_new(schema, partitions)?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
}
