//! BytesExtract: one row per file, its whole content as binary `value` (decompressed by
//! extension like every file extract) and its URI as `_filename`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, BinaryArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// What a missing input does: fail (Arc's default) or give an empty view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailMode {
    FailFast,
    Permissive,
}

/// `BytesExtract` configuration.
#[derive(Debug)]
pub struct BytesExtract {
    input_uri: String,
    output_view: String,
    fail_mode: FailMode,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    if c.has("inputView") {
        c.error(
            "inputView",
            "Reading file paths from a view ('inputView') is not supported yet by Weir; use 'inputURI'.",
        );
    }
    let output_view = c.required_string("outputView");
    let fail_mode = c.choice(
        "failMode",
        &[("failfast", FailMode::FailFast), ("permissive", FailMode::Permissive)],
        FailMode::FailFast,
    );
    let _ = c.bool("contiguousIndex");
    let _ = c.node("authentication");
    let common = ViewCommon::read(c);
    Some(Box::new(BytesExtract { input_uri: input_uri?, output_view: output_view?, fail_mode: fail_mode?, common }))
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("value", DataType::Binary, false),
        Field::new("_filename", DataType::Utf8, false),
    ]))
}

#[async_trait]
impl Stage for BytesExtract {
    fn detail(&self) -> Map<String, Value> {
        let fail_mode = match self.fail_mode {
            FailMode::FailFast => "failfast",
            FailMode::Permissive => "permissive",
        };
        let mut m =
            crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view, "failMode" => fail_mode };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = match session.storage.list_files(&self.input_uri).await? {
            Some(files) => files,
            None if self.fail_mode == FailMode::Permissive => Vec::new(),
            None => {
                return Err(StageError::msg(format!(
                    "Path '{}' does not exist and 'failMode' is 'failfast' (use 'permissive' for an empty view).",
                    self.input_uri
                )));
            }
        };
        let mut batches = Vec::with_capacity(files.len());
        for file in &files {
            let bytes = crate::compression::read_all(&session.storage, &file.url).await?;
            let columns: Vec<ArrayRef> = vec![
                Arc::new(BinaryArray::from(vec![bytes.as_ref()])),
                Arc::new(StringArray::from(vec![file.url.to_string()])),
            ];
            batches.push(RecordBatch::try_new(schema(), columns)?);
        }
        let df = session.ctx.read_table(Arc::new(MemTable::try_new(schema(), vec![batches])?))?;
        self.common.register(session, &self.output_view, df).await
    }
}
