//! BytesExtract: one row per file, its whole content as binary `value` (decompressed by
//! extension like every file extract) and its URI as `_filename`. The files are those of
//! `inputURI` (a file, directory or glob), or of every URI or glob in the first column of
//! `inputView`'s rows (as Arc reads a list of paths from a view).

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
    input: Input,
    output_view: String,
    fail_mode: FailMode,
    common: ViewCommon,
}

/// Where the paths come from.
#[derive(Debug)]
enum Input {
    Uri(String),
    /// A view whose first column holds URIs or globs.
    View(String),
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    // As Arc: `inputView` when given, else `inputURI`.
    let input = match c.string("inputView") {
        Some(view) => {
            let _ = c.string("inputURI");
            Some(Input::View(view))
        }
        None => c.required_string("inputURI").map(Input::Uri),
    };
    let output_view = c.required_string("outputView");
    let fail_mode = c.choice(
        "failMode",
        &[("failfast", FailMode::FailFast), ("permissive", FailMode::Permissive)],
        FailMode::FailFast,
    );
    let _ = c.bool("contiguousIndex");
    let _ = c.node("authentication");
    let common = ViewCommon::read(c);
    Some(Box::new(BytesExtract { input: input?, output_view: output_view?, fail_mode: fail_mode?, common }))
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
        let mut m = crate::obj! { "outputView" => self.output_view, "failMode" => fail_mode };
        match &self.input {
            Input::Uri(uri) => m.insert("inputURI".into(), uri.clone().into()),
            Input::View(view) => m.insert("inputView".into(), view.clone().into()),
        };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let locations = match &self.input {
            Input::Uri(uri) => vec![uri.clone()],
            Input::View(view) => view_locations(session, view).await?,
        };
        let mut files = Vec::new();
        for location in &locations {
            match session.storage.list_files(location).await? {
                Some(found) => files.extend(found),
                None if self.fail_mode == FailMode::Permissive => {}
                None => {
                    return Err(StageError::msg(format!(
                        "Path '{location}' does not exist and 'failMode' is 'failfast' (use 'permissive' for an empty view)."
                    )));
                }
            }
        }
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

/// The non-NULL strings of the first column of `view`, in row order.
async fn view_locations(session: &Session, view: &str) -> Result<Vec<String>, StageError> {
    let df = session.view(view).await?;
    let Some(first) = df.schema().fields().first().cloned() else {
        return Err(StageError::msg(format!("BytesExtract inputView '{view}' has no columns.")));
    };
    if !matches!(first.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Err(StageError::msg(format!(
            "BytesExtract requires the first column '{}' of inputView '{view}' (the paths) to be of type 'string' but it is '{}'.",
            first.name(),
            crate::sql::types::spark_field_type_name(&first).unwrap_or_else(|| first.data_type().to_string())
        )));
    }
    let column = datafusion::common::Column::from_name(first.name().clone());
    let mut out = Vec::new();
    for batch in df.select(vec![datafusion::prelude::col(column)])?.collect().await? {
        let values = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
        let strings = datafusion::arrow::array::AsArray::as_string::<i32>(&values);
        out.extend(strings.iter().flatten().map(str::to_string));
    }
    Ok(out)
}
