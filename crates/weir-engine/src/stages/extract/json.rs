//! JSONExtract: JSON files into a view, the schema inferred from the data. `multiLine`
//! (the default) reads each file as one JSON document — an object or an array of objects;
//! `multiLine: false` streams JSON lines. `_filename` and `_index` are added.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::json::reader::{ReaderBuilder, infer_json_schema, infer_json_schema_from_iterator};
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::extract::source::{self, DecoderFactory, IndexColumn};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::storage::FileEntry;

/// `JSONExtract` configuration.
#[derive(Debug)]
pub struct JsonExtract {
    input_uri: String,
    output_view: String,
    multi_line: bool,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    if c.has("inputView") {
        c.error("inputView", "Parsing JSON from a view ('inputView') is not supported yet by Weir; use 'inputURI'.");
    }
    let output_view = c.required_string("outputView");
    let multi_line = c.bool_or("multiLine", true);
    let _ = c.bool("contiguousIndex");
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("schemaURI") || c.has("schemaView") {
        c.error("schemaURI", "A read schema ('schemaURI'/'schemaView') is not supported yet by Weir's JSONExtract; the schema is inferred.");
    }
    let common = ViewCommon::read(c);
    Some(Box::new(JsonExtract { input_uri: input_uri?, output_view: output_view?, multi_line, common }))
}

fn err(file: &FileEntry, e: impl std::fmt::Display) -> StageError {
    StageError::msg(format!("{}: {e}", file.url))
}

impl JsonExtract {
    /// Whole-document files: parsed in memory (as Spark's multiLine does).
    async fn documents(&self, session: &Session, files: &[FileEntry]) -> Result<MemTable, StageError> {
        let mut per_file: Vec<(String, Vec<Value>)> = Vec::new();
        for file in files {
            let bytes = crate::compression::read_all(&session.storage, &file.url).await?;
            let rows = match serde_json::from_slice::<Value>(&bytes).map_err(|e| err(file, e))? {
                Value::Array(items) => items,
                other => vec![other],
            };
            per_file.push((file.url.to_string(), rows));
        }
        let all = per_file.iter().flat_map(|(_, rows)| rows.iter());
        let data_schema =
            Arc::new(infer_json_schema_from_iterator(all.map(Ok)).map_err(|e| StageError::msg(e.to_string()))?);
        let schema = source::with_internal_columns(&data_schema, IndexColumn::Contiguous);
        let mut batches = Vec::new();
        for (name, rows) in &per_file {
            let mut decoder = ReaderBuilder::new(data_schema.clone()).build_decoder()?;
            decoder.serialize(rows)?;
            let mut first = 0i64;
            while let Some(batch) = decoder.flush()? {
                if batch.num_rows() == 0 {
                    break;
                }
                let n = batch.num_rows();
                let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
                columns.push(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(name.as_str(), n))));
                columns.push(Arc::new(Int64Array::from_iter_values(first + 1..=first + n as i64)));
                first += n as i64;
                batches.push(RecordBatch::try_new(schema.clone(), columns)?);
            }
        }
        Ok(MemTable::try_new(schema, vec![batches])?)
    }
}

#[async_trait]
impl Stage for JsonExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view, "multiLine" => self.multi_line };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = crate::stages::extract::source::require_files(&session.storage, &self.input_uri).await?;
        let df = if self.multi_line {
            let table = self.documents(session, &files).await?;
            session.ctx.read_table(Arc::new(table))?
        } else {
            let head = source::head_bytes(&session.storage, &files[0], 1 << 20).await?;
            let (inferred, _) =
                infer_json_schema(std::io::Cursor::new(head.as_ref()), Some(1000)).map_err(|e| err(&files[0], e))?;
            let data_schema: SchemaRef = Arc::new(Schema::new(inferred.fields().clone()));
            let decoder_schema = data_schema.clone();
            let factory: DecoderFactory = Arc::new(move || {
                Ok(Box::new(ReaderBuilder::new(decoder_schema.clone()).with_batch_size(8192).build_decoder()?))
            });
            let table = source::file_table(&session.storage, files, data_schema, factory, IndexColumn::Contiguous)?;
            session.ctx.read_table(Arc::new(table))?
        };
        self.common.register(session, &self.output_view, df).await
    }
}
