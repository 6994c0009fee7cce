//! Writing files in formats DataFusion has no writer for (Avro, ORC) through DataFusion's own
//! file-sink machinery: its demultiplexer splits the rows into files and `partitionBy`
//! directories exactly as for ParquetLoad, and each file is encoded by a [`BatchEncoder`]
//! (an Arrow-native writer) and streamed to the object store as its bytes are produced.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::common::runtime::SpawnedTask;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::write::demux::DemuxedStreamReceiver;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::datasource::physical_plan::{FileGroup, FileOutputMode, FileSink, FileSinkConfig};
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, SendableRecordBatchStream};
use object_store::ObjectStore;
use tokio::io::AsyncWriteExt;

/// An Arrow-native file writer: batches in, bytes out to the [`SharedBuffer`] it was made with.
pub trait BatchEncoder: Send {
    /// Encodes one batch (of the schema the encoder was made for).
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError>;
    /// Writes what is left (footer, last block).
    fn finish(self: Box<Self>) -> Result<(), ArrowError>;
}

/// Makes the encoder of one file, for the schema of its rows (partition columns removed).
pub type EncoderFactory =
    Arc<dyn Fn(SchemaRef, SharedBuffer) -> Result<Box<dyn BatchEncoder>, ArrowError> + Send + Sync>;

/// The bytes an encoder wrote since they were last taken.
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A file sink writing each file with an [`EncoderFactory`].
struct EncodedSink {
    config: FileSinkConfig,
    format: &'static str,
    encoder: EncoderFactory,
}

impl std::fmt::Debug for EncodedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedSink").field("format", &self.format).finish()
    }
}

impl DisplayAs for EncodedSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}Sink(file_groups=[])", self.format)
    }
}

#[async_trait]
impl DataSink for EncodedSink {
    fn schema(&self) -> &SchemaRef {
        self.config.output_schema()
    }

    async fn write_all(&self, data: SendableRecordBatchStream, context: &Arc<TaskContext>) -> Result<u64> {
        FileSink::write_all(self, data, context).await
    }
}

/// Writes one file: its batches encoded and streamed to the store in parts.
async fn write_file(
    store: Arc<dyn ObjectStore>,
    location: object_store::path::Path,
    schema: SchemaRef,
    make: EncoderFactory,
    mut batches: tokio::sync::mpsc::Receiver<RecordBatch>,
) -> Result<u64> {
    let fail = |e: &dyn std::fmt::Display| DataFusionError::Execution(format!("cannot write '{location}': {e}"));
    let buffer = SharedBuffer::default();
    let mut encoder = make(schema, buffer.clone())?;
    let mut writer = object_store::buffered::BufWriter::new(store, location.clone());
    let mut rows = 0u64;
    while let Some(batch) = batches.recv().await {
        rows += batch.num_rows() as u64;
        encoder.write(&batch)?;
        let bytes = buffer.take();
        if !bytes.is_empty() {
            writer.put(bytes.into()).await.map_err(|e| fail(&e))?;
        }
    }
    encoder.finish()?;
    let bytes = buffer.take();
    if !bytes.is_empty() {
        writer.put(bytes.into()).await.map_err(|e| fail(&e))?;
    }
    writer.shutdown().await.map_err(|e| fail(&e))?;
    Ok(rows)
}

#[async_trait]
impl FileSink for EncodedSink {
    fn config(&self) -> &FileSinkConfig {
        &self.config
    }

    async fn spawn_writer_tasks_and_join(
        &self,
        _context: &Arc<TaskContext>,
        demux_task: SpawnedTask<Result<()>>,
        mut file_stream_rx: DemuxedStreamReceiver,
        object_store: Arc<dyn ObjectStore>,
    ) -> Result<u64> {
        let output = self.config.output_schema();
        let partition_columns: Vec<&str> = self.config.table_partition_cols.iter().map(|(n, _)| n.as_str()).collect();
        let file_schema = Arc::new(Schema::new(
            output
                .fields()
                .iter()
                .filter(|f| !partition_columns.contains(&f.name().as_str()))
                .cloned()
                .collect::<Vec<_>>(),
        ));
        let mut writers = tokio::task::JoinSet::new();
        while let Some((location, batches)) = file_stream_rx.recv().await {
            writers.spawn(write_file(
                object_store.clone(),
                location,
                file_schema.clone(),
                self.encoder.clone(),
                batches,
            ));
        }
        let mut rows = 0u64;
        let mut first_error = None;
        while let Some(done) = writers.join_next().await {
            match done.map_err(|e| DataFusionError::ExecutionJoin(Box::new(e))).and_then(|r| r) {
                Ok(n) => rows += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // A writer's error explains a demultiplexer that stopped because that writer's channel closed.
        if let Some(e) = first_error {
            return Err(e);
        }
        demux_task.join_unwind().await.map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
        Ok(rows)
    }
}

/// Writes `df` as files of `format` (file extension `extension`) under the directory `target`,
/// in `partition_by` directories, as DataFusion writes Parquet. Returns the rows written.
pub async fn write(
    df: DataFrame,
    target: &url::Url,
    partition_by: &[String],
    format: &'static str,
    extension: &str,
    encoder: EncoderFactory,
) -> Result<u64> {
    let task_ctx = Arc::new(df.task_ctx());
    let output_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let mut table_partition_cols = Vec::with_capacity(partition_by.len());
    for name in partition_by {
        let field = output_schema.field_with_name(name).map_err(|_| {
            DataFusionError::Plan(format!("partitionBy column '{name}' does not exist in the input view."))
        })?;
        table_partition_cols.push((name.clone(), field.data_type().clone()));
    }
    let table_url = ListingTableUrl::parse(target.as_str())?;
    let config = FileSinkConfig {
        original_url: target.to_string(),
        object_store_url: table_url.object_store(),
        file_group: FileGroup::default(),
        table_paths: vec![table_url],
        output_schema,
        table_partition_cols,
        insert_op: InsertOp::Append,
        keep_partition_by_columns: false,
        file_extension: extension.to_string(),
        file_output_mode: FileOutputMode::Directory,
    };
    let sink = EncodedSink { config, format, encoder };
    let stream = df.execute_stream().await?;
    FileSink::write_all(&sink, stream, &task_ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_buffer_hands_over_what_was_written_once() {
        let mut buffer = SharedBuffer::default();
        buffer.write_all(b"abc").unwrap();
        let clone = buffer.clone();
        assert_eq!(clone.take(), b"abc");
        assert!(buffer.take().is_empty());
    }
}
