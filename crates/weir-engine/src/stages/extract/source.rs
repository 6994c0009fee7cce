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

impl IndexColumn {
    /// `contiguousIndex` (default true): `_index`, else `_monotonically_increasing_id`.
    pub fn read(c: &mut crate::config::StageConfig) -> Self {
        match c.bool_or("contiguousIndex", true) {
            true => IndexColumn::Contiguous,
            false => IndexColumn::Monotonic,
        }
    }
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
        let label = url.to_string();
        let feed = Feed::new(self.schema.clone(), label.clone(), label, self.file_index, self.index);
        let make_decoder = self.decoder.clone();
        feed.spawn(move |mut feed| async move {
            let mut bytes = crate::compression::open(&storage, &url).await.map_err(|e| feed.fail(e))?;
            feed.start(&make_decoder)?;
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk.map_err(|e| feed.fail(e))?;
                if !feed.push(&chunk).await? {
                    return Ok(());
                }
            }
            feed.finish().await
        })
    }
}

/// Feeds one partition's bytes to a decoder and sends its batches, with the internal columns,
/// down a channel (the partition's stream).
struct Feed {
    decoder: Option<Box<dyn ChunkDecoder>>,
    tx: futures::channel::mpsc::Sender<Result<RecordBatch, DataFusionError>>,
    rx: Option<futures::channel::mpsc::Receiver<Result<RecordBatch, DataFusionError>>>,
    schema: SchemaRef,
    /// The `_filename` value.
    filename: String,
    /// What errors name (the file, or the view).
    label: String,
    file_index: usize,
    index: IndexColumn,
    rows: i64,
}

impl Feed {
    fn new(schema: SchemaRef, filename: String, label: String, file_index: usize, index: IndexColumn) -> Self {
        let (tx, rx) = futures::channel::mpsc::channel(2);
        Feed { decoder: None, tx, rx: Some(rx), schema, filename, label, file_index, index, rows: 0 }
    }

    fn fail(&self, e: impl std::fmt::Display) -> DataFusionError {
        DataFusionError::Execution(format!("{}: {e}", self.label))
    }

    fn start(&mut self, make_decoder: &DecoderFactory) -> Result<(), DataFusionError> {
        self.decoder = Some(make_decoder().map_err(|e| self.fail(e))?);
        Ok(())
    }

    /// Runs `body` as a task feeding the returned stream; its error ends the stream.
    fn spawn<F, Fut>(mut self, body: F) -> SendableRecordBatchStream
    where
        F: FnOnce(Feed) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), DataFusionError>> + Send + 'static,
    {
        let rx = self.rx.take().expect("a feed is spawned once");
        let schema = self.schema.clone();
        let mut tx = self.tx.clone();
        tokio::spawn(async move {
            if let Err(e) = body(self).await {
                let _ = futures::SinkExt::send(&mut tx, Err(e)).await;
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(schema, rx))
    }

    /// Sends a decoded batch with the internal columns; false when nobody reads any more.
    async fn emit(&mut self, batch: RecordBatch) -> Result<bool, DataFusionError> {
        let out = decorate(batch, &self.schema, &self.filename, self.rows, self.file_index, self.index)
            .map_err(|e| self.fail(e))?;
        self.rows += out.num_rows() as i64;
        Ok(futures::SinkExt::send(&mut self.tx, Ok(out)).await.is_ok())
    }

    fn decoder(&mut self) -> Result<&mut Box<dyn ChunkDecoder>, DataFusionError> {
        match self.decoder.as_mut() {
            Some(d) => Ok(d),
            None => Err(DataFusionError::Internal("feed without a decoder".into())),
        }
    }

    /// Decodes a chunk of bytes; false when nobody reads any more.
    async fn push(&mut self, chunk: &[u8]) -> Result<bool, DataFusionError> {
        let mut buf: &[u8] = chunk;
        while !buf.is_empty() {
            let used = self.decoder()?.decode(buf);
            let used = used.map_err(|e| self.fail(e))?;
            buf = &buf[used..];
            if !buf.is_empty() || used == 0 {
                let flushed = self.decoder()?.flush();
                if let Some(batch) = flushed.map_err(|e| self.fail(e))? {
                    if !self.emit(batch).await? {
                        return Ok(false);
                    }
                } else if used == 0 {
                    break;
                }
            }
        }
        Ok(true)
    }

    /// End of input: lets the decoder finish a last line without a newline (and takes
    /// whatever it still holds, a batch at a time).
    async fn finish(&mut self) -> Result<(), DataFusionError> {
        loop {
            let decoded = self.decoder()?.decode(&[]);
            decoded.map_err(|e| self.fail(e))?;
            let flushed = self.decoder()?.flush();
            let Some(batch) = flushed.map_err(|e| self.fail(e))? else { break };
            if batch.num_rows() == 0 || !self.emit(batch).await? {
                break;
            }
        }
        Ok(())
    }
}

/// Where a text extract's input comes from: files, or a string column of a view.
#[derive(Debug, Clone)]
pub enum TextInput {
    Uri(String),
    View { view: String, field: Option<String> },
}

impl TextInput {
    /// As Arc: `inputView` when given (then `inputURI` is not read), else `inputURI`.
    pub fn read(c: &mut crate::config::StageConfig) -> Option<Self> {
        match c.string("inputView") {
            Some(view) => Some(TextInput::View { view, field: c.string("inputField") }),
            None => {
                let _ = c.string("inputField");
                c.required_string("inputURI").map(TextInput::Uri)
            }
        }
    }

    /// `inputURI`, or `inputView` and `inputField`, for the stage's events.
    pub fn detail(&self, m: &mut serde_json::Map<String, serde_json::Value>) {
        match self {
            TextInput::Uri(uri) => {
                m.insert("inputURI".into(), uri.clone().into());
            }
            TextInput::View { view, field } => {
                m.insert("inputView".into(), view.clone().into());
                if let Some(field) = field {
                    m.insert("inputField".into(), field.clone().into());
                }
            }
        }
    }
}

/// Which strings of a view's text column a decoder sees (each followed by a line break).
pub type KeepText = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A re-scannable table decoding the text held in a view (`inputView` + `inputField`): the
/// strings of `text`'s only column, each followed by a line break, form one stream of bytes.
/// The internal columns are added as Arc adds them to a dataset read from no file: `_filename`
/// is empty and `_index` numbers the rows from 1.
pub fn view_table(
    text: datafusion::dataframe::DataFrame,
    view: &str,
    data_schema: SchemaRef,
    decoder: DecoderFactory,
    keep: KeepText,
    index: IndexColumn,
) -> Result<StreamingTable, DataFusionError> {
    let schema = with_internal_columns(&data_schema, index);
    let partition = ViewPartition { text, view: view.to_string(), schema: schema.clone(), decoder, keep, index };
    StreamingTable::try_new(schema, vec![Arc::new(partition)])
}

struct ViewPartition {
    text: datafusion::dataframe::DataFrame,
    view: String,
    schema: SchemaRef,
    decoder: DecoderFactory,
    keep: KeepText,
    index: IndexColumn,
}

impl std::fmt::Debug for ViewPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewPartition").field("view", &self.view).finish()
    }
}

impl PartitionStream for ViewPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let feed = Feed::new(self.schema.clone(), String::new(), format!("inputView '{}'", self.view), 0, self.index);
        let (text, make_decoder, keep) = (self.text.clone(), self.decoder.clone(), self.keep.clone());
        feed.spawn(move |mut feed| async move {
            feed.start(&make_decoder)?;
            let mut strings = text.execute_stream().await?;
            let mut bytes = Vec::new();
            while let Some(batch) = strings.next().await {
                let column = datafusion::arrow::compute::cast(batch?.column(0), &DataType::Utf8)?;
                bytes.clear();
                for s in datafusion::arrow::array::AsArray::as_string::<i32>(&column).iter().flatten() {
                    if keep(s) {
                        bytes.extend_from_slice(s.as_bytes());
                        bytes.push(b'\n');
                    }
                }
                if !feed.push(&bytes).await? {
                    return Ok(());
                }
            }
            feed.finish().await
        })
    }
}

/// The text column of a view for `inputView` + `inputField`, as one string column: the named
/// column, else the view's only column, else its `value` column.
pub async fn view_text(
    session: &crate::session::Session,
    stage: &str,
    view: &str,
    field: Option<&str>,
) -> Result<datafusion::dataframe::DataFrame, crate::stages::StageError> {
    use crate::stages::StageError;
    let df = session.view(view).await?;
    let names: Vec<String> = df.schema().fields().iter().map(|f| f.name().clone()).collect();
    let name = match field {
        Some(name) if names.iter().any(|n| n == name) => name.to_string(),
        Some(name) => {
            return Err(StageError::msg(format!(
                "{stage} 'inputField' names column '{name}' but inputView '{view}' has: [{}].",
                names.join(", ")
            )));
        }
        None if names.len() == 1 => names[0].clone(),
        None if names.iter().any(|n| n == "value") => "value".to_string(),
        None => {
            return Err(StageError::msg(format!(
                "{stage} needs 'inputField' to know which column of inputView '{view}' holds the text: it has [{}].",
                names.join(", ")
            )));
        }
    };
    let (_, field) = df.schema().qualified_field_with_unqualified_name(&name)?;
    if !matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Err(StageError::msg(format!(
            "{stage} requires '{name}' of inputView '{view}' to be of type 'string' but it is '{}'.",
            crate::sql::types::spark_field_type_name(field).unwrap_or_else(|| field.data_type().to_string())
        )));
    }
    Ok(df.select(vec![datafusion::prelude::col(datafusion::common::Column::from_name(name))])?)
}

/// The first string of a view's text column that `keep` takes, if any (reads no further).
pub async fn first_text(
    text: &datafusion::dataframe::DataFrame,
    keep: &(dyn Fn(&str) -> bool + Send + Sync),
) -> Result<Option<String>, DataFusionError> {
    let mut strings = text.clone().execute_stream().await?;
    while let Some(batch) = strings.next().await {
        let column = datafusion::arrow::compute::cast(batch?.column(0), &DataType::Utf8)?;
        if let Some(s) = datafusion::arrow::array::AsArray::as_string::<i32>(&column).iter().flatten().find(|s| keep(s))
        {
            return Ok(Some(s.to_string()));
        }
    }
    Ok(None)
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
    files_or_empty(storage, location, false).await
}

/// The files a location names; when there are none, no files if the stage has a read schema
/// to make an empty view of (`schema_given`), else Arc's error.
pub async fn files_or_empty(
    storage: &Storage,
    location: &str,
    schema_given: bool,
) -> Result<Vec<FileEntry>, crate::stages::StageError> {
    match storage.list_files(location).await? {
        Some(files) if !files.is_empty() => Ok(files),
        _ if schema_given => Ok(Vec::new()),
        Some(_) => Err(crate::stages::StageError::msg(format!(
            "No files matched '{location}' and no schema has been provided to create an empty dataframe."
        ))),
        None => Err(crate::stages::StageError::msg(format!(
            "Path '{location}' does not exist and no schema has been provided to create an empty dataframe."
        ))),
    }
}

/// Arc's empty result of an extract whose input has no files: the read schema's columns
/// (typed as the schema says) and the internal columns, no rows.
pub async fn empty_table(
    session: &crate::session::Session,
    schema: &crate::stages::schema_source::ReadSchema,
    stage: &str,
    index: IndexColumn,
) -> Result<Option<datafusion::datasource::MemTable>, crate::stages::StageError> {
    let Some(data) = schema.arrow(session, stage, false).await? else { return Ok(None) };
    let schema = with_internal_columns(&data, index);
    Ok(Some(datafusion::datasource::MemTable::try_new(schema, vec![Vec::new()])?))
}

/// Decodes one whole file into its schema and batches (formats that need the whole file, as
/// Avro's and ORC's readers do).
pub type WholeFileDecoder = fn(bytes::Bytes) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError>;

/// An extract of a whole-file format (AvroExtract, ORCExtract): files into a view with the
/// internal columns, each file decoded by `decode`.
#[derive(Debug)]
pub struct WholeFileExtract {
    input_uri: String,
    output_view: String,
    index: IndexColumn,
    decode: WholeFileDecoder,
    stage: &'static str,
    /// `schemaURI`/`schemaView`: the columns of an empty result when no file matches.
    schema: crate::stages::schema_source::ReadSchema,
    common: crate::stages::ViewCommon,
}

impl WholeFileExtract {
    /// Reads the options the whole-file extracts share.
    pub fn build(
        c: &mut crate::config::StageConfig,
        stage: &'static str,
        decode: WholeFileDecoder,
    ) -> Option<Box<dyn crate::stages::Stage>> {
        let input_uri = c.required_string("inputURI");
        let output_view = c.required_string("outputView");
        let index = IndexColumn::read(c);
        let _ = c.string("basePath");
        let _ = c.node("authentication");
        let schema = crate::stages::schema_source::ReadSchema::read(c);
        let common = crate::stages::ViewCommon::read(c);
        Some(Box::new(WholeFileExtract {
            input_uri: input_uri?,
            output_view: output_view?,
            index,
            decode,
            stage,
            schema,
            common,
        }))
    }
}

#[async_trait::async_trait]
impl crate::stages::Stage for WholeFileExtract {
    fn detail(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view };
        m.insert("contiguousIndex".into(), (self.index == IndexColumn::Contiguous).into());
        self.schema.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &crate::session::Session) -> Result<(), Vec<crate::config::ConfigError>> {
        self.schema.prepare(session).await
    }

    async fn execute(
        &self,
        session: &crate::session::Session,
    ) -> Result<crate::stages::Outcome, crate::stages::StageError> {
        let files = files_or_empty(&session.storage, &self.input_uri, self.schema.is_given()).await?;
        let table = match empty_table(session, &self.schema, self.stage, self.index).await? {
            Some(empty) if files.is_empty() => empty,
            _ => whole_file_table(&session.storage, &files, self.decode, self.index).await?,
        };
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
}

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
