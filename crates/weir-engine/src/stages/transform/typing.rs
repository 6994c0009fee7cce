//! TypingTransform: types an all-string view with an Arc schema (see [`crate::typing`]),
//! adding the `_errors` column. The result is a streaming view: batches are typed as they are
//! read, each time the view is read.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::typing::{self, FailMode, FieldSpec};

#[derive(Debug)]
enum SchemaSource {
    Inline(Value),
    Uri(String),
}

/// `TypingTransform` configuration.
pub struct TypingTransform {
    input_view: String,
    output_view: String,
    source: SchemaSource,
    fail_mode: FailMode,
    common: ViewCommon,
    fields: Arc<Vec<FieldSpec>>,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let inline = c.node("schema").map(|n| n.to_json());
    let uri = c.string("schemaURI");
    let view = c.string("schemaView");
    let fail_mode = c.choice(
        "failMode",
        &[("permissive", FailMode::Permissive), ("failfast", FailMode::FailFast)],
        FailMode::Permissive,
    );
    let common = ViewCommon::read(c);
    let source = match (inline, uri, view) {
        (Some(schema), None, None) => Some(SchemaSource::Inline(schema)),
        (None, Some(uri), None) => Some(SchemaSource::Uri(uri)),
        (None, None, Some(_)) => {
            c.error("schemaView", "'schemaView' is not supported yet by Weir; use 'schema' or 'schemaURI'.");
            None
        }
        (None, None, None) => {
            c.error("schema", "One of ['schema', 'schemaURI', 'schemaView'] must be set.");
            None
        }
        _ => {
            c.error("schema", "Only one of ['schema', 'schemaURI', 'schemaView'] may be set.");
            None
        }
    };
    Some(Box::new(TypingTransform {
        input_view: input_view?,
        output_view: output_view?,
        source: source?,
        fail_mode: fail_mode?,
        common,
        fields: Arc::new(Vec::new()),
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
            "failMode" => match self.fail_mode { FailMode::Permissive => "permissive", FailMode::FailFast => "failfast" },
        };
        if let SchemaSource::Uri(uri) = &self.source {
            m.insert("schemaURI".into(), uri.clone().into());
        }
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        let (attribute, doc) = match &self.source {
            SchemaSource::Inline(v) => {
                if !session.settings.inline_schema {
                    return Err(vec![ConfigError::new(
                        "schema",
                        None,
                        "Inline Schema (use of the 'schema' attribute) has been disabled by policy. The schema must be supplied via other method.",
                    )]);
                }
                ("schema", v.clone())
            }
            SchemaSource::Uri(uri) => (
                "schemaURI",
                load_schema(session, uri).await.map_err(|e| vec![ConfigError::new("schemaURI", None, e)])?,
            ),
        };
        self.fields = Arc::new(schema_fields(&doc, attribute)?);
        Ok(())
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let input = session.view(&self.input_view).await?;
        let input_schema = input.schema().as_arrow().clone();
        let out_schema =
            typing::output_schema(&input_schema, &self.fields).map_err(|e| StageError::msg(e.to_string()))?;
        let plan = input.create_physical_plan().await?;
        let partitions: Vec<Arc<dyn PartitionStream>> = (0..plan.properties().output_partitioning().partition_count())
            .map(|partition| {
                Arc::new(TypedPartition {
                    plan: plan.clone(),
                    partition,
                    fields: self.fields.clone(),
                    schema: out_schema.clone(),
                    fail_mode: self.fail_mode,
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let table = StreamingTable::try_new(out_schema, partitions)?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
}

/// One input partition, typed batch by batch.
#[derive(Debug)]
struct TypedPartition {
    plan: Arc<dyn ExecutionPlan>,
    partition: usize,
    fields: Arc<Vec<FieldSpec>>,
    schema: SchemaRef,
    fail_mode: FailMode,
}

impl PartitionStream for TypedPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let fields = self.fields.clone();
        let fail_mode = self.fail_mode;
        let input = self.plan.execute(self.partition, ctx);
        let out_schema = schema.clone();
        let stream = futures::stream::once(async move { input }).flat_map(
            move |input| -> futures::stream::BoxStream<'static, _> {
                match input {
                    Ok(batches) => {
                        let fields = fields.clone();
                        let schema = out_schema.clone();
                        batches
                            .map(move |batch| {
                                batch.and_then(|b| {
                                    typing::type_batch(&b, &fields, &schema, fail_mode)
                                        .map_err(|e| DataFusionError::Execution(e.to_string()))
                                })
                            })
                            .boxed()
                    }
                    Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
                }
            },
        );
        Box::pin(RecordBatchStreamAdapter::new(schema, stream))
    }
}
