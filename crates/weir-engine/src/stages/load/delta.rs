//! DeltaLakeLoad: writes a view as a Delta table (one atomic commit; a failed write leaves
//! the table at its previous version).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use deltalake::operations::write::SchemaMode;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::{LoadCommon, Outcome, SaveMode, Stage, StageError};

/// `DeltaLakeLoad` configuration.
#[derive(Debug)]
pub struct DeltaLakeLoad {
    common: LoadCommon,
    options: Vec<(String, String)>,
    generate_symlink_manifest: bool,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let options = c.string_map("options").unwrap_or_default();
    let generate_symlink_manifest = c.bool_or("generateSymlinkManifest", true);
    let _ = c.string("outputMode");
    let _ = c.node("authentication");
    for (key, _) in &options {
        if !["replaceWhere", "overwriteSchema", "mergeSchema"].contains(&key.as_str()) {
            c.error(&format!("options.{key}"), format!("Delta option '{key}' is not supported by Weir; supported: replaceWhere, overwriteSchema, mergeSchema."));
        }
    }
    Some(Box::new(DeltaLakeLoad { common: common?, options, generate_symlink_manifest }))
}

impl DeltaLakeLoad {
    fn option(&self, key: &str) -> Option<&str> {
        self.options.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Maps a Spark save mode to delta-rs's.
pub fn delta_save_mode(mode: SaveMode) -> deltalake::protocol::SaveMode {
    match mode {
        SaveMode::Append => deltalake::protocol::SaveMode::Append,
        SaveMode::ErrorIfExists => deltalake::protocol::SaveMode::ErrorIfExists,
        SaveMode::Ignore => deltalake::protocol::SaveMode::Ignore,
        SaveMode::Overwrite => deltalake::protocol::SaveMode::Overwrite,
    }
}

/// The input view, with NullType columns dropped (or refused) as Arc's policy says.
pub async fn load_input(
    session: &Session,
    view: &str,
    stage: &str,
) -> Result<datafusion::dataframe::DataFrame, StageError> {
    let df = session.view(view).await?;
    let nulls: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .filter(|f| f.data_type() == &datafusion::arrow::datatypes::DataType::Null)
        .map(|f| f.name().clone())
        .collect();
    if nulls.is_empty() {
        return Ok(df);
    }
    if !session.settings.drop_unsupported {
        return Err(StageError::msg(format!(
            "inputView '{view}' contains types {{\"NullType\":{}}} which are unsupported by {stage} and 'dropUnsupported' is set to false.",
            serde_json::to_string(&nulls).unwrap_or_default()
        )));
    }
    session.log.warn(crate::obj! { "event" => "drop", "inputView" => view, "drop" => nulls, "message" => "NullType columns dropped" });
    let names: Vec<&str> = nulls.iter().map(String::as_str).collect();
    Ok(df.drop_columns(&names)?)
}

#[async_trait]
impl Stage for DeltaLakeLoad {
    fn detail(&self) -> Map<String, Value> {
        let mut m = self.common.detail();
        m.insert("options".into(), Value::Object(crate::config::to_json_map(&self.options)));
        m.insert("generateSymlinkManifest".into(), self.generate_symlink_manifest.into());
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let mut df = load_input(session, &self.common.input_view, "DeltaLakeLoad").await?;
        if let Some(n) = self.common.num_partitions {
            df = df.repartition(datafusion::logical_expr::Partitioning::RoundRobinBatch(n))?;
        }
        let table = match crate::delta::open(session, &self.common.output_uri).await? {
            Some(table) => table,
            None => crate::delta::uninitialized(session, &self.common.output_uri)?,
        };
        let existed = table.version().is_some();
        if existed {
            match self.common.save_mode {
                SaveMode::Ignore => return Ok(Outcome { rows: Some(0), ..Default::default() }),
                SaveMode::ErrorIfExists => {
                    return Err(StageError::msg(format!(
                        "Delta table '{}' already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue.",
                        self.common.output_uri
                    )));
                }
                _ => {}
            }
        }
        let state = session.ctx.state();
        table.update_datafusion_session(&state)?;
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(df.logical_plan().clone())
            .with_session_state(Arc::new(state))
            .with_save_mode(delta_save_mode(self.common.save_mode));
        if !self.common.partition_by.is_empty() {
            builder = builder.with_partition_columns(self.common.partition_by.clone());
        }
        let overwrite_schema = self.option("overwriteSchema").map(|v| v == "true").unwrap_or(true);
        if self.common.save_mode == SaveMode::Overwrite && overwrite_schema {
            builder = builder.with_schema_mode(SchemaMode::Overwrite);
        } else if self.option("mergeSchema") == Some("true") {
            builder = builder.with_schema_mode(SchemaMode::Merge);
        }
        if let Some(predicate) = self.option("replaceWhere") {
            builder = builder.with_replace_where(predicate.to_string());
        }
        let table = builder.await?;
        if self.generate_symlink_manifest {
            crate::delta::write_symlink_manifest(session, &self.common.output_uri, &table).await?;
        }
        let commit = crate::delta::commit_detail(&table).await;
        let rows = commit
            .get("operationMetrics")
            .and_then(|m| m.get("num_added_rows").or_else(|| m.get("numOutputRows")))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
        let mut outcome = Outcome { rows, ..Default::default() };
        if let Some(rows) = rows {
            outcome.detail.insert("count".into(), rows.into());
        }
        outcome.detail.insert("commit".into(), commit);
        Ok(outcome)
    }
}
