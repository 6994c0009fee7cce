//! DeltaLakeExtract: reads a Delta table, optionally at an earlier version (time travel).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig, nested};
use crate::session::Session;
use crate::stages::schema_source::SchemaSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// Which version to read.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeTravel {
    Latest,
    Version(i64),
    Relative { offset: i64, can_return_last_commit: bool },
    Timestamp(String),
}

/// `DeltaLakeExtract` configuration.
#[derive(Debug)]
pub struct DeltaLakeExtract {
    input_uri: String,
    output_view: String,
    travel: TimeTravel,
    /// Arc schema (`schemaURI` or `schemaView`) for an empty result when the table does not exist.
    schema: Option<SchemaSource>,
    common: ViewCommon,
}

const OPTIONS_ERROR: &str = "Unable to read config value: Only one of ['relativeVersion' ,'timestampAsOf' ,'versionAsOf' ,'canReturnLastCommit'] is supported for time travel.";

fn read_options(c: &mut StageConfig) -> Option<TimeTravel> {
    let Some(node) = c.object("options") else { return Some(TimeTravel::Latest) };
    let mut o = nested(node);
    let relative = o.int("relativeVersion");
    let version = o.int("versionAsOf");
    let timestamp = o.string("timestampAsOf");
    let can_return = o.bool("canReturnLastCommit");
    let travel = match (relative, version, timestamp, can_return) {
        (None, None, None, None) => Some(TimeTravel::Latest),
        (Some(r), None, None, c) if r <= 0 => {
            Some(TimeTravel::Relative { offset: r, can_return_last_commit: c.unwrap_or(false) })
        }
        (Some(_), None, None, _) => {
            o.error(
                "relativeVersion",
                "Unable to read config value: relativeVersion must be less than or equal to zero.",
            );
            None
        }
        (None, Some(v), None, None) => Some(TimeTravel::Version(v)),
        (None, None, Some(t), _) => Some(TimeTravel::Timestamp(t)),
        _ => {
            o.error("options", OPTIONS_ERROR);
            None
        }
    };
    c.absorb("options", o);
    travel
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let output_view = c.required_string("outputView");
    let travel = read_options(c);
    let _ = c.node("authentication");
    let schema = SchemaSource::read_optional(c);
    let common = ViewCommon::read(c);
    Some(Box::new(DeltaLakeExtract {
        input_uri: input_uri?,
        output_view: output_view?,
        travel: travel?,
        schema,
        common,
    }))
}

#[async_trait]
impl Stage for DeltaLakeExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view };
        let options = match &self.travel {
            TimeTravel::Latest => Value::Object(Map::new()),
            TimeTravel::Version(v) => serde_json::json!({ "versionAsOf": v }),
            TimeTravel::Relative { offset, can_return_last_commit } => {
                serde_json::json!({ "relativeVersion": offset, "canReturnLastCommit": can_return_last_commit })
            }
            TimeTravel::Timestamp(t) => serde_json::json!({ "timestampAsOf": t }),
        };
        m.insert("options".into(), options);
        if let Some(source) = &self.schema {
            source.detail(&mut m);
        }
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, _session: &Session) -> Result<(), Vec<ConfigError>> {
        Ok(())
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let Some(mut table) = crate::delta::open(session, &self.input_uri).await? else {
            let Some(source) = &self.schema else {
                return Err(StageError::msg(format!(
                    "Input '{}' does not contain any fields and no schema has been provided to create an empty dataframe.",
                    self.input_uri
                )));
            };
            // As Arc: an empty view with the schema's columns and types.
            let schema = empty_schema(session, source).await?;
            let df = session
                .ctx
                .read_table(std::sync::Arc::new(datafusion::datasource::MemTable::try_new(schema, vec![vec![]])?))?;
            return self.common.register(session, &self.output_view, df).await;
        };
        match &self.travel {
            TimeTravel::Latest => {}
            TimeTravel::Version(v) => {
                let version = u64::try_from(*v)
                    .map_err(|_| StageError::msg(format!("versionAsOf must be 0 or more, not {v}")))?;
                table.load_version(version).await?
            }
            TimeTravel::Relative { offset, can_return_last_commit } => {
                let latest = table.version().unwrap_or(0) as i64;
                let wanted = latest + offset;
                if wanted != latest {
                    let result = match u64::try_from(wanted) {
                        Ok(version) => table.load_version(version).await,
                        Err(_) => Err(deltalake::DeltaTableError::Generic(format!("version {wanted} does not exist"))),
                    };
                    if let Err(e) = result {
                        if !can_return_last_commit {
                            return Err(StageError::msg(format!(
                                "Cannot time travel Delta table to version {offset}. Available versions: [-{latest} ... 0]. ({e})"
                            )));
                        }
                        table.load_version(0).await?;
                    }
                }
            }
            TimeTravel::Timestamp(ts) => {
                let parsed = parse_timestamp(ts).ok_or_else(|| {
                    StageError::msg(format!("timestampAsOf '{ts}' is not a timestamp such as '2020-06-12 13:00:18'"))
                })?;
                table.load_with_datetime(parsed).await?;
            }
        }
        table.update_datafusion_session(&session.ctx.state())?;
        let provider = table.table_provider().await?;
        let df = session.ctx.read_table(provider)?;
        let mut outcome = self.common.register(session, &self.output_view, df).await?;
        outcome.detail.insert("commit".into(), crate::delta::commit_detail(&table).await);
        Ok(outcome)
    }
}

/// The typed columns of the Arc schema at `schemaURI` or in `schemaView` (nullability and
/// descriptions as it gives them).
async fn empty_schema(
    session: &Session,
    source: &SchemaSource,
) -> Result<datafusion::arrow::datatypes::SchemaRef, StageError> {
    use datafusion::arrow::datatypes::{Field, Schema};
    let (specs, name) = match source {
        SchemaSource::View(view) => (crate::stages::schema_source::view_fields(session, view).await?, view),
        SchemaSource::Uri(uri) => {
            let doc = crate::stages::transform::typing::load_schema(session, uri).await.map_err(StageError::msg)?;
            let specs = crate::stages::transform::typing::schema_fields(&doc, "schemaURI").map_err(|errors| {
                StageError::msg(errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "))
            })?;
            (specs, uri)
        }
        // Never built for this stage (it reads no inline `schema`).
        SchemaSource::Inline(_) => return Err(StageError::msg("DeltaLakeExtract takes 'schemaURI' or 'schemaView'.")),
    };
    let attribute = source.attribute();
    let mut fields = Vec::with_capacity(specs.len());
    for spec in &specs {
        let t = crate::typing::arrow_type(spec).map_err(|e| StageError::msg(format!("{attribute} '{name}': {e}")))?;
        fields.push(Field::new(&spec.name, t, spec.nullable));
    }
    Ok(std::sync::Arc::new(Schema::new(fields)))
}

/// Parses `yyyy-MM-dd HH:mm:ss[.SSS]`, ISO-8601 or a date, as UTC.
pub fn parse_timestamp(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = text.trim();
    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(ts.with_timezone(&chrono::Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(ts) = chrono::NaiveDateTime::parse_from_str(text, fmt) {
            return Some(ts.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
}
