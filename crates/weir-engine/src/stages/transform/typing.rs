//! TypingTransform: types an all-string view with an Arc schema (see [`crate::typing`]),
//! adding the `_errors` column. The result is a streaming view: batches are typed as they are
//! read, each time the view is read.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::mapped::{BatchFn, mapped_table};
use crate::stages::schema_source::SchemaSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::typing::{self, FailMode, FieldSpec};

/// `TypingTransform` configuration.
pub struct TypingTransform {
    input_view: String,
    output_view: String,
    source: SchemaSource,
    fail_mode: FailMode,
    common: ViewCommon,
    /// The schema's fields when read before the job runs (inline or URI schemas).
    fields: Vec<FieldSpec>,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let source = SchemaSource::read(c);
    let fail_mode = FailMode::read(c);
    let common = ViewCommon::read(c);
    Some(Box::new(TypingTransform {
        input_view: input_view?,
        output_view: output_view?,
        source: source?,
        fail_mode: fail_mode?,
        common,
        fields: Vec::new(),
    }))
}

/// Reads an Arc schema document (JSON or HOCON text).
pub async fn load_schema(session: &Session, uri: &str) -> Result<Value, String> {
    let url = crate::storage::parse_uri(uri).map_err(|e| e.to_string())?;
    let text = session.storage.read_text(&url).await.map_err(|e| e.to_string())?;
    match serde_json::from_str(&text) {
        Ok(v) => Ok(v),
        Err(json_err) => weir_config::hocon::parse(&text)
            .map_err(|e| format!("schema at {uri} is not valid JSON ({json_err}) or HOCON ({e})"))
            .and_then(|doc| doc.resolve_all(&Default::default()).map_err(|e| e.to_string()))
            .map(|node| node.to_json()),
    }
}

/// Parses an Arc schema, turning its problems into config errors of `attribute`.
pub fn schema_fields(doc: &Value, attribute: &str) -> Result<Vec<FieldSpec>, Vec<ConfigError>> {
    typing::parse_schema(doc)
        .map_err(|errors| errors.into_iter().map(|e| ConfigError::new(attribute, None, e.to_string())).collect())
}

#[async_trait]
impl Stage for TypingTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputView" => self.input_view,
            "outputView" => self.output_view,
            "failMode" => self.fail_mode.name(),
        };
        self.source.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        if let Some(fields) = self.source.prepare(session).await? {
            self.fields = fields;
        }
        Ok(())
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let fields = Arc::new(self.source.fields(session, &self.fields).await?);
        let input = session.view(&self.input_view).await?;
        let input_schema = input.schema().as_arrow().clone();
        let out_schema = typing::output_schema(&input_schema, &fields).map_err(|e| StageError::msg(e.to_string()))?;
        let plan = input.create_physical_plan().await?;
        let fail_mode = self.fail_mode;
        let typed = out_schema.clone();
        let type_batch: BatchFn = Arc::new(move |b: &RecordBatch| {
            typing::type_batch(b, &fields, &typed, fail_mode).map_err(|e| DataFusionError::Execution(e.to_string()))
        });
        let table = mapped_table(plan, out_schema, type_batch)?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
}
