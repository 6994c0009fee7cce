//! Arc stages. Each stage is one file holding its config struct, its validation (`build`,
//! plus `prepare` for checks that read files) and its execution. Adding a stage means adding
//! its file and one line in [`REGISTRY`].

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::{Session, ViewError};
use crate::storage::StorageError;

pub mod execute;
pub mod extract;
pub mod load;
pub mod mapped;
pub mod metadata_table;
pub mod schema_source;
pub mod sql_source;
pub mod transform;
pub mod validate;

/// What a stage did, for logs, the run summary and the service's history.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Rows produced or written, when known without extra work.
    pub rows: Option<u64>,
    /// Extra fields for the stage's `exit` event (`records`, `commit`, `message`…).
    pub detail: Map<String, Value>,
}

/// A failure while a stage runs.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Delta(#[from] deltalake::DeltaTableError),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    View(#[from] ViewError),
    #[error("{0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Message(String),
}

impl StageError {
    pub fn msg(text: impl Into<String>) -> Self {
        StageError::Message(text.into())
    }
}

/// A configured stage, ready to run.
#[async_trait]
pub trait Stage: Send + Sync {
    /// Arc's stage detail for the `enter`/`exit` events (inputView, outputView, sql…).
    fn detail(&self) -> Map<String, Value>;

    /// Checks that need I/O (reading SQL or schema files), run for every stage before any
    /// stage executes. Problems are reported like config errors.
    async fn prepare(&mut self, _session: &Session) -> Result<(), Vec<ConfigError>> {
        Ok(())
    }

    /// Runs the stage.
    async fn execute(&self, session: &Session) -> Result<Outcome, StageError>;
}

/// Builds a stage from its config, recording every problem in the config; `None` when any.
pub type Build = fn(&mut StageConfig) -> Option<Box<dyn Stage>>;

/// A stage type Weir implements.
pub struct StageType {
    pub name: &'static str,
    pub build: Build,
}

/// Every stage Weir implements, by Arc name.
pub const REGISTRY: &[StageType] = &[
    StageType { name: "DelimitedExtract", build: extract::delimited::build },
    StageType { name: "JSONExtract", build: extract::json::build },
    StageType { name: "ParquetExtract", build: extract::parquet::build },
    StageType { name: "AvroExtract", build: extract::avro::build },
    StageType { name: "ORCExtract", build: extract::orc::build },
    StageType { name: "TextExtract", build: extract::text::build },
    StageType { name: "BytesExtract", build: extract::bytes::build },
    StageType { name: "MetadataExtract", build: extract::metadata::build },
    StageType { name: "StatisticsExtract", build: extract::statistics::build },
    StageType { name: "DeltaLakeExtract", build: extract::delta::build },
    StageType { name: "JDBCExtract", build: extract::jdbc::build },
    StageType { name: "HTTPExtract", build: extract::http::build },
    StageType { name: "SQLTransform", build: transform::sql::build },
    StageType { name: "TypingTransform", build: transform::typing::build },
    StageType { name: "JSONTransform", build: transform::json::build },
    StageType { name: "DiffTransform", build: transform::diff::build },
    StageType { name: "MetadataFilterTransform", build: transform::metadata_filter::build },
    StageType { name: "MetadataTransform", build: transform::metadata::build },
    StageType { name: "HTTPTransform", build: transform::http::build },
    StageType { name: "SimilarityJoinTransform", build: transform::similarity_join::build },
    StageType { name: "SQLValidate", build: validate::sql::build },
    StageType { name: "EqualityValidate", build: validate::equality::build },
    StageType { name: "MetadataValidate", build: validate::metadata::build },
    StageType { name: "DelimitedLoad", build: load::delimited::build },
    StageType { name: "JSONLoad", build: load::json::build },
    StageType { name: "ParquetLoad", build: load::parquet::build },
    StageType { name: "AvroLoad", build: load::avro::build },
    StageType { name: "ORCLoad", build: load::orc::build },
    StageType { name: "TextLoad", build: load::text::build },
    StageType { name: "ConsoleLoad", build: load::console::build },
    StageType { name: "DeltaLakeLoad", build: load::delta::build },
    StageType { name: "DeltaLakeMergeLoad", build: load::delta_merge::build },
    StageType { name: "JDBCLoad", build: load::jdbc::build },
    StageType { name: "HTTPLoad", build: load::http::build },
    StageType { name: "JDBCExecute", build: execute::jdbc::build },
    StageType { name: "LogExecute", build: execute::log::build },
    StageType { name: "ControlFlowExecute", build: execute::control_flow::build },
    StageType { name: "ConfigExecute", build: execute::config::build },
    StageType { name: "HTTPExecute", build: execute::http::build },
];

/// Stage types a failed run of which leaves nothing behind (they read, compute, or write
/// atomically), so the runner may run them again: after a hash join exceeded the memory limit,
/// with joins that spill (see `runner::execute_stage`). Stages that call out (HTTP, JDBC writes,
/// executes) are never run twice.
pub const RERUNNABLE: &[&str] = &[
    "DelimitedExtract",
    "JSONExtract",
    "ParquetExtract",
    "AvroExtract",
    "ORCExtract",
    "TextExtract",
    "BytesExtract",
    "MetadataExtract",
    "StatisticsExtract",
    "DeltaLakeExtract",
    "SQLTransform",
    "TypingTransform",
    "JSONTransform",
    "DiffTransform",
    "MetadataFilterTransform",
    "MetadataTransform",
    "SimilarityJoinTransform",
    "SQLValidate",
    "EqualityValidate",
    "MetadataValidate",
    "DelimitedLoad",
    "JSONLoad",
    "ParquetLoad",
    "AvroLoad",
    "ORCLoad",
    "TextLoad",
    "DeltaLakeLoad",
    "DeltaLakeMergeLoad",
];

/// Arc stage types Weir does not implement yet (they fail validation with a clear message).
pub const NOT_YET_SUPPORTED: &[&str] = &["ImageExtract", "RateExtract", "MLTransform", "TensorFlowServingTransform"];

/// `batch` with `schema`'s columns: each column cast to its type there where it differs.
pub(crate) fn cast_batch(
    batch: &datafusion::arrow::array::RecordBatch,
    schema: &datafusion::arrow::datatypes::SchemaRef,
) -> Result<datafusion::arrow::array::RecordBatch, datafusion::arrow::error::ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(c.clone()),
            false => datafusion::arrow::compute::cast(c, f.data_type()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    datafusion::arrow::array::RecordBatch::try_new(schema.clone(), columns)
}

/// The simple name of a stage type: `ai.tripl.arc.transform.SQLTransform:4.2.0` → `SQLTransform`.
pub fn simple_type_name(type_name: &str) -> &str {
    let without_version = type_name.split(':').next().unwrap_or(type_name);
    without_version.rsplit('.').next().unwrap_or(without_version)
}

/// Stage types replaced by other stages when the job is read (never built as stages).
pub const INLINED: &[&str] = &["PipelineExecute"];

/// Finds a stage type, or explains why it cannot run.
pub fn lookup(type_name: &str) -> Result<&'static StageType, String> {
    let simple = simple_type_name(type_name);
    if let Some(found) = REGISTRY.iter().find(|t| t.name == simple) {
        return Ok(found);
    }
    if INLINED.contains(&simple) {
        return Err(format!(
            "'{simple}' is inlined when the job is read, so it cannot be resolved lazily ('resolution: lazy')."
        ));
    }
    if NOT_YET_SUPPORTED.contains(&simple) {
        return Err(format!(
            "Stage type '{simple}' is not supported yet by Weir. Supported stage types: [{}].",
            supported_names().join(", ")
        ));
    }
    let mut message = format!("No plugins found with name {type_name}.");
    let suggestions = crate::config::did_you_mean(simple, REGISTRY.iter().map(|t| t.name));
    if let Some(best) = suggestions.first() {
        message.push_str(&format!(" Perhaps you meant '{best}'."));
    }
    message.push_str(&format!(" Available plugins: [{}].", supported_names().join(", ")));
    Err(message)
}

/// Names of the implemented stage types, sorted.
pub fn supported_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = REGISTRY.iter().map(|t| t.name).chain(INLINED.iter().copied()).collect();
    names.sort();
    names
}

/// Reads `delimiter` (Comma | Pipe | DefaultHive | Custom with `customDelimiter`) as one byte.
pub(crate) fn read_delimiter(c: &mut StageConfig) -> Option<u8> {
    #[derive(Clone, Copy)]
    enum Delim {
        Comma,
        Pipe,
        Hive,
        Custom,
    }
    let kind = c.choice(
        "delimiter",
        &[("Comma", Delim::Comma), ("Pipe", Delim::Pipe), ("DefaultHive", Delim::Hive), ("Custom", Delim::Custom)],
        Delim::Comma,
    );
    let custom = c.string("customDelimiter");
    match kind? {
        Delim::Comma => Some(b','),
        Delim::Pipe => Some(b'|'),
        Delim::Hive => Some(0x01),
        Delim::Custom => match custom.as_deref().map(str::as_bytes) {
            Some([b]) if b.is_ascii() => Some(*b),
            None => {
                c.error("customDelimiter", "Missing required attribute 'customDelimiter'.");
                None
            }
            _ => {
                c.error("customDelimiter", "'customDelimiter' must be one ASCII character when delimiter is 'Custom'.");
                None
            }
        },
    }
}

/// Reads the options every load shares: `inputView`, `outputURI`, `saveMode`, `partitionBy`, `numPartitions`.
#[derive(Debug, Clone)]
pub struct LoadCommon {
    pub input_view: String,
    pub output_uri: String,
    pub save_mode: SaveMode,
    pub partition_by: Vec<String>,
    pub num_partitions: Option<usize>,
}

/// Spark save modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    Append,
    ErrorIfExists,
    Ignore,
    Overwrite,
}

impl SaveMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SaveMode::Append => "Append",
            SaveMode::ErrorIfExists => "ErrorIfExists",
            SaveMode::Ignore => "Ignore",
            SaveMode::Overwrite => "Overwrite",
        }
    }
}

pub(crate) const SAVE_MODES: &[(&str, SaveMode)] = &[
    ("Append", SaveMode::Append),
    ("ErrorIfExists", SaveMode::ErrorIfExists),
    ("Ignore", SaveMode::Ignore),
    ("Overwrite", SaveMode::Overwrite),
];

impl LoadCommon {
    pub fn read(c: &mut StageConfig) -> Option<Self> {
        let input_view = c.required_string("inputView");
        let output_uri = c.required_string("outputURI");
        let save_mode = c.choice("saveMode", SAVE_MODES, SaveMode::Overwrite);
        let partition_by = c.string_list("partitionBy").unwrap_or_default();
        let num_partitions = c.positive("numPartitions");
        Some(Self {
            input_view: input_view?,
            output_uri: output_uri?,
            save_mode: save_mode?,
            partition_by,
            num_partitions,
        })
    }

    pub fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputView" => self.input_view,
            "outputURI" => self.output_uri,
            "saveMode" => self.save_mode.as_str(),
            "partitionBy" => self.partition_by,
        };
        if let Some(n) = self.num_partitions {
            m.insert("numPartitions".into(), n.into());
        }
        m
    }
}

/// Reads the options every extract/transform shares: `persist`, `numPartitions`, `partitionBy`.
#[derive(Debug, Clone, Default)]
pub struct ViewCommon {
    pub persist: bool,
    pub num_partitions: Option<usize>,
    pub partition_by: Vec<String>,
}

impl ViewCommon {
    pub fn read(c: &mut StageConfig) -> Self {
        Self {
            persist: c.bool_or("persist", false),
            num_partitions: c.positive("numPartitions"),
            partition_by: c.string_list("partitionBy").unwrap_or_default(),
        }
    }

    /// Registers the stage's result: lazily, or materialized when `persist` is set (then
    /// the row count is known and logged as `records`, as Arc does).
    pub async fn register(
        &self,
        session: &Session,
        name: &str,
        df: datafusion::dataframe::DataFrame,
    ) -> Result<Outcome, StageError> {
        let mut outcome = Outcome::default();
        outcome.detail.insert("outputColumns".into(), df.schema().fields().len().into());
        if self.persist {
            let rows = session.persist_dataframe(name, df).await?;
            outcome.rows = Some(rows);
            outcome.detail.insert("records".into(), rows.into());
        } else {
            // A view computed once is counted through the view (which computes it), so the count
            // costs no extra pass; a lazy one before it replaces any view of the same name.
            let cached = session.caches.expected(name).is_some();
            let counted = match session.settings.count_rows && !cached {
                true => Some(df.clone().count().await? as u64),
                false => None,
            };
            session.register_dataframe(name, df)?;
            let counted = match session.settings.count_rows && cached {
                true => Some(session.view(name).await?.count().await? as u64),
                false => counted,
            };
            if let Some(rows) = counted {
                outcome.rows = Some(rows);
                outcome.detail.insert("records".into(), rows.into());
            }
        }
        Ok(outcome)
    }

    pub fn detail(&self, m: &mut Map<String, Value>) {
        m.insert("persist".into(), self.persist.into());
        m.insert("partitionBy".into(), self.partition_by.clone().into());
        if let Some(n) = self.num_partitions {
            m.insert("numPartitions".into(), n.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(simple_type_name("ai.tripl.arc.transform.SQLTransform:4.2.0"), "SQLTransform");
        assert!(lookup("SQLTransform").is_ok());
        let err = lookup("SQLTransfrom").err().unwrap();
        assert!(err.contains("Perhaps you meant 'SQLTransform'"), "{err}");
        assert!(err.contains("Available plugins: ["), "{err}");
        let err = lookup("MLTransform").err().unwrap();
        assert!(err.contains("not supported yet"), "{err}");
    }
}
