//! MetadataTransform: attaches an Arc schema's column metadata to the columns of `inputView`
//! with the same names, as Arc does (a column's metadata is replaced by the schema field's:
//! its `metadata` object, `id`, `description`, `nullable` and `internal: false`). Types and
//! values are unchanged. `failMode: failfast` first requires the schema and the view to have
//! the same column names; `permissive` (the default) attaches what matches and leaves the rest.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema};
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::mapped::{BatchFn, mapped_table};
use crate::stages::schema_source::SchemaSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::typing::{FailMode, FieldSpec, field_metadata};

/// `MetadataTransform` configuration.
#[derive(Debug)]
pub struct MetadataTransform {
    input_view: String,
    output_view: String,
    source: SchemaSource,
    fail_mode: FailMode,
    common: ViewCommon,
    fields: Vec<FieldSpec>,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let source = SchemaSource::read(c);
    let fail_mode = FailMode::read(c);
    let common = ViewCommon::read(c);
    let _ = c.node("authentication");
    let _ = c.node("params");
    Some(Box::new(MetadataTransform {
        input_view: input_view?,
        output_view: output_view?,
        source: source?,
        fail_mode: fail_mode?,
        common,
        fields: Vec::new(),
    }))
}

/// Arc's list of quoted names: `['a', 'b']`.
fn quoted(names: &BTreeSet<&str>) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", items.join(", "))
}

impl MetadataTransform {
    /// Arc's failfast check: the schema's names and the view's must be the same sets.
    fn check_same_columns(&self, schema: &[FieldSpec], input: &Schema) -> Result<(), StageError> {
        let wanted: BTreeSet<&str> = schema.iter().map(|f| f.name.as_str()).collect();
        let found: BTreeSet<&str> = input.fields().iter().map(|f| f.name().as_str()).collect();
        if wanted == found {
            return Ok(());
        }
        let input = &self.input_view;
        let (wanted, found) = (quoted(&wanted), quoted(&found));
        Err(StageError::msg(match &self.source {
            SchemaSource::View(view) => format!(
                "MetadataTransform with failMode = 'failfast' ensures that the schemaView '{view}' has the same columns as inputView '{input}' but schemaView '{view}' has columns: {wanted} and '{input}' contains columns: {found}."
            ),
            SchemaSource::Uri(uri) => format!(
                "MetadataTransform with failMode = 'failfast' ensures that the schema supplied in schemaURI '{uri}' has the same columns as inputView '{input}' but schema supplied in '{uri}' has columns: {wanted} and '{input}' contains columns: {found}."
            ),
            SchemaSource::Inline(_) => format!(
                "MetadataTransform with failMode = 'failfast' ensures that the schema supplied in 'schema' has the same columns as inputView '{input}' but the schema has columns: {wanted} and '{input}' contains columns: {found}."
            ),
        }))
    }
}

/// The metadata a column keeps whatever MetadataTransform attaches: Weir's own keys
/// (`weir.*`, e.g. an interval's Spark subtype), which describe the values, not the column.
fn weir_keys(field: &Field) -> HashMap<String, String> {
    field.metadata().iter().filter(|(k, _)| k.starts_with("weir.")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `schema` with each column named in `fields` carrying that field's Arc metadata (replacing
/// what it had, Weir's own keys kept), as Arc's `MetadataUtils.setMetadata`.
pub(crate) fn with_schema_metadata(schema: &Schema, fields: &[FieldSpec]) -> Arc<Schema> {
    let by_name: HashMap<&str, &FieldSpec> = fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let relabelled: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match by_name.get(field.name().as_str()) {
            Some(spec) => {
                let mut metadata = weir_keys(field);
                metadata.extend(field_metadata(spec));
                field.as_ref().clone().with_metadata(metadata)
            }
            None => field.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(relabelled, schema.metadata().clone()))
}

#[async_trait]
impl Stage for MetadataTransform {
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
        let fields = self.source.fields(session, &self.fields).await?;
        let input = session.view(&self.input_view).await?;
        let input_schema = input.schema().as_arrow().clone();
        if self.fail_mode == FailMode::FailFast {
            self.check_same_columns(&fields, &input_schema)?;
        }
        let schema = with_schema_metadata(&input_schema, &fields);
        let plan = input.create_physical_plan().await?;
        let out = schema.clone();
        let relabel: BatchFn =
            Arc::new(move |b: &RecordBatch| Ok(RecordBatch::try_new(out.clone(), b.columns().to_vec())?));
        let df = session.ctx.read_table(Arc::new(mapped_table(plan, schema, relabel)?))?;
        self.common.register(session, &self.output_view, df).await
    }
}
