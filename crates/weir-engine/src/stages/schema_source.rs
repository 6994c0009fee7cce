//! Where a stage's Arc schema comes from: the inline `schema` list, a document at `schemaURI`,
//! or the rows of a view named by `schemaView` (each row one field object, read as Arc reads
//! it: the view's rows as Spark's `toJSON` writes them, NULL fields left out).
//!
//! Inline and URI schemas are read and checked before any stage runs ([`SchemaSource::prepare`]);
//! a schema view only exists once the stages before have run, so it is read when the stage
//! runs ([`SchemaSource::fields`]).

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::StageError;
use crate::typing::FieldSpec;

/// One of `schema`, `schemaURI`, `schemaView`.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    Inline(Value),
    Uri(String),
    View(String),
}

impl SchemaSource {
    /// Reads exactly one of `schema`, `schemaURI` and `schemaView`, recording Arc's problems.
    pub fn read(c: &mut StageConfig) -> Option<Self> {
        let inline = c.node("schema").map(|n| n.to_json());
        let uri = c.string("schemaURI");
        let view = c.string("schemaView");
        match (inline, uri, view) {
            (Some(schema), None, None) => Some(SchemaSource::Inline(schema)),
            (None, Some(uri), None) => Some(SchemaSource::Uri(uri)),
            (None, None, Some(view)) => Some(SchemaSource::View(view)),
            (None, None, None) => {
                c.error("schema", "One of ['schema', 'schemaURI', 'schemaView'] must be set.");
                None
            }
            _ => {
                // Arc's text, stray quote included (ConfigUtils.checkOneOf).
                c.error("schema", "Only one attribute of '['schema', 'schemaURI', 'schemaView'] is allowed.");
                None
            }
        }
    }

    /// The optional read schema of an extract: `schemaView`, else `schemaURI` (as Arc, the
    /// view wins when both are given).
    pub fn read_optional(c: &mut StageConfig) -> Option<Self> {
        match (c.string("schemaURI"), c.string("schemaView")) {
            (_, Some(view)) => Some(SchemaSource::View(view)),
            (Some(uri), None) => Some(SchemaSource::Uri(uri)),
            (None, None) => None,
        }
    }

    /// `schemaURI` / `schemaView` for the stage's events (an inline schema is not repeated).
    pub fn detail(&self, m: &mut Map<String, Value>) {
        match self {
            SchemaSource::Inline(_) => {}
            SchemaSource::Uri(uri) => {
                m.insert("schemaURI".into(), uri.clone().into());
            }
            SchemaSource::View(view) => {
                m.insert("schemaView".into(), view.clone().into());
            }
        }
    }

    /// The attribute the schema came from, for messages.
    pub fn attribute(&self) -> &'static str {
        match self {
            SchemaSource::Inline(_) => "schema",
            SchemaSource::Uri(_) => "schemaURI",
            SchemaSource::View(_) => "schemaView",
        }
    }

    /// Reads and checks an inline or URI schema before the job runs; `None` for a schema view,
    /// which is read when the stage runs.
    pub async fn prepare(&self, session: &Session) -> Result<Option<Vec<FieldSpec>>, Vec<ConfigError>> {
        let doc = match self {
            SchemaSource::Inline(v) => {
                if !session.settings.inline_schema {
                    return Err(vec![ConfigError::new(
                        "schema",
                        None,
                        "Inline Schema (use of the 'schema' attribute) has been disabled by policy. The schema must be supplied via other method.",
                    )]);
                }
                v.clone()
            }
            SchemaSource::Uri(uri) => crate::stages::transform::typing::load_schema(session, uri)
                .await
                .map_err(|e| vec![ConfigError::new("schemaURI", None, e)])?,
            SchemaSource::View(_) => return Ok(None),
        };
        crate::stages::transform::typing::schema_fields(&doc, self.attribute()).map(Some)
    }

    /// The fields: those `prepare` read, or the schema view's, read now.
    pub async fn fields(&self, session: &Session, prepared: &[FieldSpec]) -> Result<Vec<FieldSpec>, StageError> {
        match self {
            SchemaSource::View(view) => view_fields(session, view).await,
            _ => Ok(prepared.to_vec()),
        }
    }
}

/// An extract's optional read schema (`schemaURI` / `schemaView`): a URI's document read and
/// checked before the job runs, a view's rows when the stage runs.
#[derive(Debug, Clone, Default)]
pub struct ReadSchema {
    source: Option<SchemaSource>,
    /// The fields read before the job runs (`schemaURI`).
    fields: Vec<FieldSpec>,
}

impl ReadSchema {
    pub fn read(c: &mut StageConfig) -> Self {
        Self { source: SchemaSource::read_optional(c), fields: Vec::new() }
    }

    pub fn is_given(&self) -> bool {
        self.source.is_some()
    }

    pub fn detail(&self, m: &mut Map<String, Value>) {
        if let Some(source) = &self.source {
            source.detail(m);
        }
    }

    pub async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        if let Some(source) = &self.source
            && let Some(fields) = source.prepare(session).await?
        {
            self.fields = fields;
        }
        Ok(())
    }

    /// The schema's fields (a view's read now); `None` when no schema is given.
    pub async fn specs(&self, session: &Session) -> Result<Option<Vec<FieldSpec>>, StageError> {
        match &self.source {
            Some(source) => source.fields(session, &self.fields).await.map(Some),
            None => Ok(None),
        }
    }

    /// The Arrow schema: the columns with their Arc metadata, every one nullable (as Spark's
    /// readers make them) or as the schema says. `None` when no schema is given.
    pub async fn arrow(
        &self,
        session: &Session,
        stage: &str,
        all_nullable: bool,
    ) -> Result<Option<SchemaRef>, StageError> {
        let Some(source) = &self.source else { return Ok(None) };
        let specs = source.fields(session, &self.fields).await?;
        let fields = specs
            .iter()
            .map(|spec| {
                let data_type = crate::typing::arrow_type(spec)
                    .map_err(|e| StageError::msg(format!("{stage} '{}': {e}", source.attribute())))?;
                Ok(Field::new(&spec.name, data_type, all_nullable || spec.nullable)
                    .with_metadata(crate::typing::field_metadata(spec)))
            })
            .collect::<Result<Vec<_>, StageError>>()?;
        Ok(Some(Arc::new(Schema::new(fields))))
    }
}

/// The Arc schema held by a view: one field object per row, as Arc reads `schemaView`.
pub async fn view_fields(session: &Session, view: &str) -> Result<Vec<FieldSpec>, StageError> {
    let df = crate::stages::transform::json::to_json_rows(session, view).await?;
    let batches = df.collect().await?;
    let mut fields = Vec::new();
    for batch in &batches {
        let column = datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
        let text = datafusion::arrow::array::AsArray::as_string::<i32>(&column);
        for row in text.iter().flatten() {
            let value: Value = serde_json::from_str(row)
                .map_err(|e| StageError::msg(format!("Schema view '{view}' holds a row that is not JSON: {e}.")))?;
            fields.push(value);
        }
    }
    crate::typing::parse_schema(&Value::Array(fields)).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        StageError::msg(format!("Schema view '{view}' to cannot be parsed as it has errors: {}.", errors.join(", ")))
    })
}
