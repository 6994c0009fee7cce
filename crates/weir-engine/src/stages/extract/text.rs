//! TextExtract: text files into a view with one `value` per line (or, with `multiLine`,
//! one row per file), plus `_filename` and `_index`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::extract::source::{self, ChunkDecoder, DecoderFactory, IndexColumn};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `TextExtract` configuration.
#[derive(Debug)]
pub struct TextExtract {
    input_uri: String,
    output_view: String,
    multi_line: bool,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    if c.has("inputView") {
        c.error("inputView", "Reading text from a view ('inputView') is not supported yet by Weir; use 'inputURI'.");
    }
    let output_view = c.required_string("outputView");
    let multi_line = c.bool_or("multiLine", false);
    let _ = c.bool("contiguousIndex");
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    let common = ViewCommon::read(c);
    Some(Box::new(TextExtract { input_uri: input_uri?, output_view: output_view?, multi_line, common }))
}

fn value_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("value", DataType::Utf8, true)]))
}

/// Splits bytes into lines (`\n`, with a trailing `\r` removed), 8192 lines a batch.
#[derive(Default)]
pub struct LineDecoder {
    partial: Vec<u8>,
    lines: Vec<String>,
}

impl LineDecoder {
    fn push_line(&mut self, bytes: &[u8]) -> Result<(), ArrowError> {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| ArrowError::ParseError(format!("line is not UTF-8: {e}")))?;
        self.lines.push(text.to_string());
        Ok(())
    }
}

impl ChunkDecoder for LineDecoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        if buf.is_empty() {
            if !self.partial.is_empty() {
                let last = std::mem::take(&mut self.partial);
                self.push_line(&last)?;
            }
            return Ok(0);
        }
        let mut used = 0;
        while used < buf.len() && self.lines.len() < 8192 {
            match buf[used..].iter().position(|b| *b == b'\n') {
                Some(end) => {
                    let mut line = std::mem::take(&mut self.partial);
                    line.extend_from_slice(&buf[used..used + end]);
                    self.push_line(&line)?;
                    used += end + 1;
                }
                None => {
                    self.partial.extend_from_slice(&buf[used..]);
                    used = buf.len();
                }
            }
        }
        Ok(used)
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if self.lines.is_empty() {
            return Ok(None);
        }
        let mut values = StringBuilder::new();
        for line in self.lines.drain(..) {
            values.append_value(line);
        }
        Ok(Some(RecordBatch::try_new(value_schema(), vec![Arc::new(values.finish())])?))
    }
}

#[async_trait]
impl Stage for TextExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view, "multiLine" => self.multi_line };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = match session.storage.list_files(&self.input_uri).await? {
            Some(files) => files,
            None => {
                return Err(StageError::msg(format!(
                    "Path '{}' does not exist and no schema has been provided to create an empty dataframe.",
                    self.input_uri
                )));
            }
        };
        let df = if self.multi_line {
            let schema = source::with_internal_columns(&value_schema(), IndexColumn::Contiguous);
            let mut batches = Vec::new();
            for file in &files {
                let bytes = crate::compression::read_all(&session.storage, &file.url).await?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from(vec![text])),
                    Arc::new(StringArray::from(vec![file.url.to_string()])),
                    Arc::new(Int64Array::from(vec![1])),
                ];
                batches.push(RecordBatch::try_new(schema.clone(), columns)?);
            }
            session.ctx.read_table(Arc::new(MemTable::try_new(schema, vec![batches])?))?
        } else {
            let factory: DecoderFactory = Arc::new(|| Ok(Box::new(LineDecoder::default())));
            let table = source::file_table(&session.storage, files, value_schema(), factory, IndexColumn::Contiguous)?;
            session.ctx.read_table(Arc::new(table))?
        };
        self.common.register(session, &self.output_view, df).await
    }
}
