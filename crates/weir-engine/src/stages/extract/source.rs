//! Streaming file sources shared by the text-based extracts: each listed file is one
//! partition, decoded chunk by chunk as its bytes arrive from the object store, with Arc's
//! internal columns `_filename` and `_index` (or `_monotonically_increasing_id`) appended.
//! The table can be scanned any number of times (each scan re-reads the files).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;

use crate::storage::{FileEntry, Storage};

/// A push decoder: bytes in, batches out (arrow-csv's and arrow-json's decoders fit).
pub trait ChunkDecoder: Send {
    /// Consumes bytes, returning how many were used (less than given when a batch is full).
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError>;
    /// Returns the rows decoded so far as a batch.
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError>;
}

impl ChunkDecoder for datafusion::arrow::csv::reader::Decoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        datafusion::arrow::csv::reader::Decoder::decode(self, buf)
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        datafusion::arrow::csv::reader::Decoder::flush(self)
    }
}

impl ChunkDecoder for datafusion::arrow::json::reader::Decoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        datafusion::arrow::json::reader::Decoder::decode(self, buf)
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        datafusion::arrow::json::reader::Decoder::flush(self)
    }
}

/// Makes a fresh decoder for each file scan.
pub type DecoderFactory = Arc<dyn Fn() -> Result<Box<dyn ChunkDecoder>, ArrowError> + Send + Sync>;

/// Which row-number column to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexColumn {
    /// `_index`: 1-based row number within each file.
    Contiguous,
    /// `_monotonically_increasing_id`: unique, not contiguous.
    Monotonic,
}

/// The output schema: data columns, then `_filename` and the index column.
pub fn with_internal_columns(data: &Schema, index: IndexColumn) -> SchemaRef {
    let mut fields: Vec<Field> = data.fields().iter().map(|f| f.as_ref().clone()).collect();
    let filename = Field::new("_filename", DataType::Utf8, false);
    match index {
        IndexColumn::Contiguous => {
            fields.push(filename);
            fields.push(Field::new("_index", DataType::Int64, false));
        }
        IndexColumn::Monotonic => {
            fields.push(Field::new("_monotonically_increasing_id", DataType::Int64, false));
            fields.push(filename);
        }
    }
    Arc::new(Schema::new(fields))
}

/// A re-scannable table over files.
pub fn file_table(
    storage: &Storage,
    files: Vec<FileEntry>,
    data_schema: SchemaRef,
    decoder: DecoderFactory,
    index: IndexColumn,
) -> Result<StreamingTable, DataFusionError> {
    let schema = with_internal_columns(&data_schema, index);
    let partitions: Vec<Arc<dyn PartitionStream>> = files
        .into_iter()
        .enumerate()
        .map(|(file_index, file)| {
            Arc::new(FilePartition {
                storage: storage.clone(),
                file,
                file_index,
                schema: schema.clone(),
                decoder: decoder.clone(),
                index,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    if partitions.is_empty() {
        return StreamingTable::try_new(schema.clone(), vec![Arc::new(EmptyPartition(schema))]);
    }
    StreamingTable::try_new(schema, partitions)
}

#[derive(Debug)]
struct EmptyPartition(SchemaRef);

impl PartitionStream for EmptyPartition {
    fn schema(&self) -> &SchemaRef {
        &self.0
    }
    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(self.0.clone(), futures::stream::empty()))
    }
}

struct FilePartition {
    storage: Storage,
    file: FileEntry,
    file_index: usize,
    schema: SchemaRef,
    decoder: DecoderFactory,
    index: IndexColumn,
}

impl std::fmt::Debug for FilePartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePartition").field("file", &self.file.url.as_str()).finish()
    }
}

/// Appends the internal columns to a decoded batch.
pub fn decorate(
    batch: RecordBatch,
    schema: &SchemaRef,
    file: &str,
    first_row: i64,
    file_index: usize,
    index: IndexColumn,
) -> Result<RecordBatch, ArrowError> {
    let n = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(file, n)));
    match index {
        IndexColumn::Contiguous => {
            columns.push(names);
            columns.push(Arc::new(Int64Array::from_iter_values((first_row..first_row + n as i64).map(|i| i + 1))));
        }
        IndexColumn::Monotonic => {
            let base = (file_index as i64) << 33;
            columns.push(Arc::new(Int64Array::from_iter_values((first_row..first_row + n as i64).map(|i| base + i))));
            columns.push(names);
        }
    }
    RecordBatch::try_new(schema.clone(), columns)
}

impl PartitionStream for FilePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let storage = self.storage.clone();
        let url = self.file.url.clone();
        let schema = self.schema.clone();
        let make_decoder = self.decoder.clone();
        let (file_index, index) = (self.file_index, self.index);
        let (tx, rx) = futures::channel::mpsc::channel::<Result<RecordBatch, DataFusionError>>(2);
        let stream_schema = schema.clone();
        let task = async move {
            let mut tx = tx;
            let label = url.to_string();
            let fail = |e: String| DataFusionError::Execution(format!("{label}: {e}"));
            let result: Result<(), DataFusionError> = async {
                let mut bytes = crate::compression::open(&storage, &url).await.map_err(|e| fail(e.to_string()))?;
                let mut decoder = make_decoder().map_err(|e| fail(e.to_string()))?;
                let mut rows: i64 = 0;
                let emit = |batch: RecordBatch, rows: &mut i64| -> Result<RecordBatch, DataFusionError> {
                    let out =
                        decorate(batch, &schema, &label, *rows, file_index, index).map_err(|e| fail(e.to_string()))?;
                    *rows += out.num_rows() as i64;
                    Ok(out)
                };
                while let Some(chunk) = bytes.next().await {
                    let chunk = chunk.map_err(|e| fail(e.to_string()))?;
                    let mut buf: &[u8] = &chunk;
                    while !buf.is_empty() {
                        let used = decoder.decode(buf).map_err(|e| fail(e.to_string()))?;
                        buf = &buf[used..];
                        if !buf.is_empty() || used == 0 {
                            if let Some(batch) = decoder.flush().map_err(|e| fail(e.to_string()))? {
                                let out = emit(batch, &mut rows)?;
                                if futures::SinkExt::send(&mut tx, Ok(out)).await.is_err() {
                                    return Ok(());
                                }
                            } else if used == 0 {
                                break;
                            }
                        }
                    }
                }
                // End of input: let the decoder finish a last line without a newline (and take
                // whatever it still holds, a batch at a time).
                loop {
                    decoder.decode(&[]).map_err(|e| fail(e.to_string()))?;
                    let Some(batch) = decoder.flush().map_err(|e| fail(e.to_string()))? else { break };
                    if batch.num_rows() == 0 {
                        break;
                    }
                    let out = emit(batch, &mut rows)?;
                    if futures::SinkExt::send(&mut tx, Ok(out)).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(())
            }
            .await;
            if let Err(e) = result {
                let _ = futures::SinkExt::send(&mut tx, Err(e)).await;
            }
        };
        tokio::spawn(task);
        Box::pin(RecordBatchStreamAdapter::new(stream_schema, rx))
    }
}

/// Reads the first `limit` bytes of a file's (decompressed) content, to find its header or
/// infer its schema.
pub async fn head_bytes(
    storage: &Storage,
    file: &FileEntry,
    limit: u64,
) -> Result<bytes::Bytes, crate::storage::StorageError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    Ok(crate::compression::head(storage, &file.url, limit).await?.into())
}

/// The files a location names, or Arc's error when there are none.
pub async fn require_files(storage: &Storage, location: &str) -> Result<Vec<FileEntry>, crate::stages::StageError> {
    match storage.list_files(location).await? {
        Some(files) if !files.is_empty() => Ok(files),
        Some(_) => Err(crate::stages::StageError::msg(format!(
            "No files matched '{location}' and no schema has been provided to create an empty dataframe."
        ))),
        None => Err(crate::stages::StageError::msg(format!(
            "Path '{location}' does not exist and no schema has been provided to create an empty dataframe."
        ))),
    }
}

/// Decodes one whole file into its schema and batches (formats that need the whole file, as
/// Avro's and ORC's readers do).
pub type WholeFileDecoder = fn(bytes::Bytes) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError>;

/// A table of files decoded whole, each file's batches with the internal columns (unless the
/// data has one of them already, as Arc does). Every file must have the first file's columns
/// and types; a column is nullable when it is in any file.
pub async fn whole_file_table(
    storage: &Storage,
    files: &[FileEntry],
    decode: WholeFileDecoder,
    index: IndexColumn,
) -> Result<datafusion::datasource::MemTable, crate::stages::StageError> {
    use crate::stages::StageError;
    let mut decoded: Vec<(String, Vec<RecordBatch>)> = Vec::with_capacity(files.len());
    let mut data_schema: Option<Schema> = None;
    for file in files {
        let name = file.url.to_string();
        let bytes = crate::compression::read_all(storage, &file.url).await?;
        let (schema, batches) = tokio::task::spawn_blocking(move || decode(bytes::Bytes::from(bytes)))
            .await
            .map_err(|e| StageError::msg(format!("{name}: {e}")))?
            .map_err(|e| StageError::msg(format!("{name}: {e}")))?;
        match &mut data_schema {
            None => data_schema = Some(schema.as_ref().clone()),
            Some(first) => {
                let types = |s: &Schema| -> Vec<(String, DataType)> {
                    s.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect()
                };
                if types(first) != types(&schema) {
                    return Err(StageError::msg(format!(
                        "{name}: its columns {:?} differ from those of '{}': {:?}.",
                        types(&schema),
                        decoded[0].0,
                        types(first)
                    )));
                }
                let fields: Vec<Field> = first
                    .fields()
                    .iter()
                    .zip(schema.fields())
                    .map(|(a, b)| a.as_ref().clone().with_nullable(a.is_nullable() || b.is_nullable()))
                    .collect();
                *first = Schema::new(fields);
            }
        }
        decoded.push((name, batches));
    }
    let data_schema = Arc::new(data_schema.unwrap_or_else(Schema::empty));
    let internal = ["_filename", "_index", "_monotonically_increasing_id"];
    let add_internal = !data_schema.fields().iter().any(|f| internal.contains(&f.name().as_str()));
    let schema = if add_internal { with_internal_columns(&data_schema, index) } else { data_schema.clone() };
    let mut out = Vec::new();
    for (file_index, (name, batches)) in decoded.into_iter().enumerate() {
        let mut first_row = 0i64;
        for batch in batches {
            let batch = RecordBatch::try_new(data_schema.clone(), batch.columns().to_vec())?;
            let n = batch.num_rows() as i64;
            out.push(match add_internal {
                true => decorate(batch, &schema, &name, first_row, file_index, index)?,
                false => batch,
            });
            first_row += n;
        }
    }
    Ok(datafusion::datasource::MemTable::try_new(schema, vec![out])?)
}
