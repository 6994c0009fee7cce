//! JSONExtract: JSON into a view, the schema inferred from the data or given by
//! `schemaURI`/`schemaView`. `multiLine` (the default) reads each file as one JSON document —
//! an object or an array of objects; `multiLine: false` streams JSON lines, a line holding an
//! array giving a row per element (as Spark's JSON lines reader does). `_filename` and
//! `_index` (or `_monotonically_increasing_id`) are added.
//!
//! With `inputView` each row's string (`inputField`, else the view's only column, else
//! `value`) is one JSON document, as Spark's `json(Dataset[String])` reads it; blank rows are
//! skipped, `_filename` is empty and `_index` numbers the rows from 1. The strings are parsed
//! in memory, as multiLine files are.
//!
//! A read schema (`schemaURI`/`schemaView`, an Arc schema) gives exactly its columns, typed as
//! it says (all nullable, the schema's metadata on them, as Arc sets it): fields missing in the
//! data are NULL, fields not in the schema are ignored. Deviation from Spark: a value that does
//! not fit its column's type fails the stage instead of becoming NULL.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::reader::{ReaderBuilder, infer_json_schema, infer_json_schema_from_iterator};
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::extract::source::{self, ChunkDecoder, DecoderFactory, IndexColumn, TextInput};
use crate::stages::schema_source::ReadSchema;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::storage::FileEntry;

/// `JSONExtract` configuration.
pub struct JsonExtract {
    input: TextInput,
    output_view: String,
    multi_line: bool,
    index: IndexColumn,
    schema: ReadSchema,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input = TextInput::read(c);
    let output_view = c.required_string("outputView");
    let multi_line = c.bool_or("multiLine", true);
    let index = IndexColumn::read(c);
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    let schema = ReadSchema::read(c);
    if c.has("watermark") {
        c.error("watermark", "Streaming ('watermark') is not supported by Weir.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(JsonExtract { input: input?, output_view: output_view?, multi_line, index, schema, common }))
}

fn err(file: &FileEntry, e: impl std::fmt::Display) -> StageError {
    StageError::msg(format!("{}: {e}", file.url))
}

/// The rows of one JSON document: an array's elements, or the document itself.
fn rows_of(doc: Value) -> Vec<Value> {
    match doc {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// A decoder of JSON with `schema`: fields not in it are ignored, numbers and booleans read
/// into string columns as their text (as Spark reads them).
fn decoder_builder(schema: SchemaRef) -> ReaderBuilder {
    ReaderBuilder::new(schema).with_coerce_primitive(true).with_batch_size(8192)
}

/// A table of parsed documents, grouped by the file (or `""` for a view) they came from, with
/// the internal columns. The schema is inferred over every row when not given.
fn documents_table(
    groups: &[(String, Vec<Value>)],
    schema: Option<SchemaRef>,
    index: IndexColumn,
) -> Result<MemTable, StageError> {
    let data_schema = match schema {
        Some(schema) => schema,
        None => {
            let all = groups.iter().flat_map(|(_, rows)| rows.iter());
            Arc::new(infer_json_schema_from_iterator(all.map(Ok)).map_err(|e| StageError::msg(e.to_string()))?)
        }
    };
    let schema = source::with_internal_columns(&data_schema, index);
    let mut batches = Vec::new();
    for (file_index, (name, rows)) in groups.iter().enumerate() {
        let mut decoder = decoder_builder(data_schema.clone()).build_decoder()?;
        decoder.serialize(rows).map_err(|e| StageError::msg(format!("{name}: {e}")))?;
        let mut first = 0i64;
        while let Some(batch) = decoder.flush().map_err(|e| StageError::msg(format!("{name}: {e}")))? {
            if batch.num_rows() == 0 {
                break;
            }
            let n = batch.num_rows() as i64;
            batches.push(source::decorate(batch, &schema, name, first, file_index, index)?);
            first += n;
        }
    }
    Ok(MemTable::try_new(schema, vec![batches])?)
}

impl JsonExtract {
    /// Whole-document files: parsed in memory (as Spark's multiLine does).
    async fn documents(&self, session: &Session, files: &[FileEntry]) -> Result<Vec<(String, Vec<Value>)>, StageError> {
        let mut groups = Vec::new();
        for file in files {
            let bytes = crate::compression::read_all(&session.storage, &file.url).await?;
            let doc = serde_json::from_slice::<Value>(&bytes).map_err(|e| err(file, e))?;
            groups.push((file.url.to_string(), rows_of(doc)));
        }
        Ok(groups)
    }

    /// Each non-blank string of the view's text column is a JSON document.
    async fn view_documents(session: &Session, view: &str, field: Option<&str>) -> Result<Vec<Value>, StageError> {
        let text = source::view_text(session, "JSONExtract", view, field).await?;
        let mut rows = Vec::new();
        let mut row = 0usize;
        // Partition by partition, in order (as Spark numbers a Dataset's rows), never interleaved.
        for batch in text.collect_partitioned().await?.into_iter().flatten() {
            let column =
                datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
            for s in datafusion::arrow::array::AsArray::as_string::<i32>(&column).iter() {
                row += 1;
                let Some(s) = s.filter(|s| !s.trim().is_empty()) else { continue };
                let doc = serde_json::from_str::<Value>(s)
                    .map_err(|e| StageError::msg(format!("JSONExtract row {row} of inputView '{view}': {e}")))?;
                rows.extend(rows_of(doc));
            }
        }
        Ok(rows)
    }

    /// JSON lines, streamed; the schema inferred from the start of the first file when not given.
    async fn lines(
        &self,
        session: &Session,
        files: Vec<FileEntry>,
        schema: Option<SchemaRef>,
    ) -> Result<datafusion::catalog::streaming::StreamingTable, StageError> {
        let data_schema = match schema {
            Some(schema) => schema,
            None => {
                let sample = lines_sample(session, &files[0]).await?;
                let (inferred, _) =
                    infer_json_schema(std::io::Cursor::new(sample), Some(1000)).map_err(|e| err(&files[0], e))?;
                Arc::new(Schema::new(inferred.fields().clone()))
            }
        };
        let decoder_schema = data_schema.clone();
        let factory: DecoderFactory = Arc::new(move || {
            let inner = decoder_builder(decoder_schema.clone()).build_decoder()?;
            Ok(Box::new(LinesDecoder { inner, arrays: TopLevelArrays::default(), pending: Vec::new() }))
        });
        Ok(source::file_table(&session.storage, files, data_schema, factory, self.index)?)
    }
}

/// The first MiB of a file of JSON lines, arrays expanded, to infer the schema from (the whole
/// file when its first line is an array longer than that).
async fn lines_sample(session: &Session, file: &FileEntry) -> Result<Vec<u8>, StageError> {
    let head = source::head_bytes(&session.storage, file, 1 << 20).await?;
    let mut arrays = TopLevelArrays::default();
    let mut sample = Vec::new();
    arrays.feed(&head, &mut sample).map_err(|e| err(file, e))?;
    if sample.iter().all(|b| b.is_ascii_whitespace()) && arrays.open() {
        let all = crate::compression::read_all(&session.storage, &file.url).await?;
        let mut arrays = TopLevelArrays::default();
        sample.clear();
        arrays.feed(&all, &mut sample).map_err(|e| err(file, e))?;
    }
    Ok(sample)
}

/// Finds the JSON arrays at the top level of a stream of JSON values (outside any object,
/// array or string) and writes each of their elements as a line of its own; everything else
/// passes through.
#[derive(Debug, Default)]
struct TopLevelArrays {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The bytes of the top-level array being read.
    array: Option<Vec<u8>>,
}

impl TopLevelArrays {
    /// Whether a top-level array is still open.
    fn open(&self) -> bool {
        self.array.is_some()
    }

    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ArrowError> {
        out.reserve(input.len());
        for &b in input {
            if let Some(array) = &mut self.array {
                array.push(b);
            }
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'[' if self.depth == 0 => {
                        self.depth = 1;
                        self.array = Some(vec![b'[']);
                        continue;
                    }
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth = self.depth.saturating_sub(1);
                        if self.depth == 0 {
                            if let Some(array) = self.array.take() {
                                Self::expand(&array, out)?;
                                continue;
                            }
                        }
                    }
                    _ => {}
                }
            }
            if self.array.is_none() {
                out.push(b);
            }
        }
        Ok(())
    }

    fn expand(array: &[u8], out: &mut Vec<u8>) -> Result<(), ArrowError> {
        let items: Vec<Value> = serde_json::from_slice(array)
            .map_err(|e| ArrowError::JsonError(format!("a JSON array that is not valid JSON: {e}")))?;
        out.push(b'\n');
        for item in items {
            serde_json::to_writer(&mut *out, &item).map_err(|e| ArrowError::JsonError(e.to_string()))?;
            out.push(b'\n');
        }
        Ok(())
    }
}

/// arrow-json's decoder behind [`TopLevelArrays`].
struct LinesDecoder {
    inner: datafusion::arrow::json::reader::Decoder,
    arrays: TopLevelArrays,
    /// Expanded bytes the decoder has not taken yet (its batch was full).
    pending: Vec<u8>,
}

impl LinesDecoder {
    /// Feeds pending bytes; whether all were taken.
    fn drain(&mut self) -> Result<bool, ArrowError> {
        let used = self.inner.decode(&self.pending)?;
        self.pending.drain(..used);
        Ok(self.pending.is_empty())
    }
}

impl ChunkDecoder for LinesDecoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        if !self.pending.is_empty() && !self.drain()? {
            return Ok(0);
        }
        if buf.is_empty() {
            if self.arrays.open() {
                return Err(ArrowError::JsonError("a JSON array is never closed".into()));
            }
            return self.inner.decode(&[]);
        }
        self.arrays.feed(buf, &mut self.pending)?;
        self.drain()?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        self.inner.flush()
    }
}

#[async_trait]
impl Stage for JsonExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "outputView" => self.output_view,
            "multiLine" => self.multi_line,
            "contiguousIndex" => (self.index == IndexColumn::Contiguous),
        };
        self.input.detail(&mut m);
        self.schema.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.schema.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let schema = self.schema.arrow(session, "JSONExtract", true).await?;
        let df = match &self.input {
            TextInput::View { view, field } => {
                let rows = Self::view_documents(session, view, field.as_deref()).await?;
                if rows.is_empty() && schema.is_none() {
                    return Err(StageError::msg(
                        "JSONExtract has produced 0 columns and no schema has been provided to create an empty dataframe.",
                    ));
                }
                let table = documents_table(&[(String::new(), rows)], schema, self.index)?;
                session.ctx.read_table(Arc::new(table))?
            }
            TextInput::Uri(uri) => {
                // No files: the read schema's columns, empty.
                let files = source::files_or_empty(&session.storage, uri, schema.is_some()).await?;
                if files.is_empty() || self.multi_line {
                    let groups = self.documents(session, &files).await?;
                    session.ctx.read_table(Arc::new(documents_table(&groups, schema, self.index)?))?
                } else {
                    session.ctx.read_table(Arc::new(self.lines(session, files, schema).await?))?
                }
            }
        };
        self.common.register(session, &self.output_view, df).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(chunks: &[&str]) -> Result<String, ArrowError> {
        let mut arrays = TopLevelArrays::default();
        let mut out = Vec::new();
        for chunk in chunks {
            arrays.feed(chunk.as_bytes(), &mut out)?;
        }
        assert!(!arrays.open());
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    #[test]
    fn top_level_arrays_become_lines() {
        let out =
            expand(&["{\"a\": [1, \"]\"]}\n[{\"a\"", ": 2}, {\"a\": \"[x\\\"]\"}]\n{\"a\": 3}\n"]).unwrap_or_default();
        let lines: Vec<&str> = out.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, ["{\"a\": [1, \"]\"]}", "{\"a\":2}", "{\"a\":\"[x\\\"]\"}", "{\"a\": 3}"]);
        assert!(expand(&["[{\"a\": 1},]"]).is_err());
    }
}
