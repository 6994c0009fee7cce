//! Writing a view as files (Parquet, CSV, JSON lines) with Spark's save modes.
//!
//! New files are first written under a hidden staging prefix next to the target
//! (`_weir_staging_<name>_<id>/`). Only when every file is written are they moved into the
//! target — after the old files are removed for `Overwrite` — so a failed write leaves the
//! previous output untouched. A `_SUCCESS` marker is written last, as Spark does.

use async_trait::async_trait;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStoreExt};
use serde_json::{Map, Value};

use crate::session::Session;
use crate::stages::{LoadCommon, Outcome, SaveMode, Stage, StageError};
use crate::storage::{object_path, parse_uri};

/// The file format of a load.
#[derive(Debug, Clone)]
pub enum FileFormat {
    Parquet,
    Json,
    Csv { delimiter: u8, quote: u8, header: bool },
}

/// A file load: the shared options and the format.
#[derive(Debug, Clone)]
pub struct FileLoad {
    pub stage: &'static str,
    pub common: LoadCommon,
    pub format: FileFormat,
    pub extra: Map<String, Value>,
}

async fn list(session: &Session, url: &url::Url) -> Result<Vec<ObjectMeta>, StageError> {
    let store = session.storage.store(url)?;
    let prefix = object_path(url)?;
    let listed: Vec<ObjectMeta> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| StageError::msg(format!("cannot list '{url}': {e}")))?;
    Ok(listed)
}

impl FileLoad {
    async fn write(&self, df: DataFrame, staging: &str) -> Result<u64, StageError> {
        let options = DataFrameWriteOptions::new().with_partition_by(self.common.partition_by.clone());
        let counts = match &self.format {
            FileFormat::Parquet => df.write_parquet(staging, options, None).await?,
            FileFormat::Json => df.write_json(staging, options, None).await?,
            FileFormat::Csv { delimiter, quote, header } => {
                let csv = datafusion::common::config::CsvOptions {
                    has_header: Some(*header),
                    delimiter: *delimiter,
                    quote: *quote,
                    ..Default::default()
                };
                df.write_csv(staging, options, Some(csv)).await?
            }
        };
        let rows = counts
            .iter()
            .filter_map(|b| b.column(0).as_any().downcast_ref::<datafusion::arrow::array::UInt64Array>())
            .map(|a| a.iter().flatten().sum::<u64>())
            .sum();
        Ok(rows)
    }
}

#[async_trait]
impl Stage for FileLoad {
    fn detail(&self) -> Map<String, Value> {
        let mut m = self.common.detail();
        m.extend(self.extra.clone());
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let mut df = crate::stages::load::delta::load_input(session, &self.common.input_view, self.stage).await?;
        if let Some(n) = self.common.num_partitions {
            df = df.repartition(datafusion::logical_expr::Partitioning::RoundRobinBatch(n))?;
        }
        let mut target = parse_uri(&self.common.output_uri)?;
        if !target.path().ends_with('/') {
            target.set_path(&format!("{}/", target.path()));
        }
        session.storage.register(&session.ctx, &target)?;
        let existing = list(session, &target).await?;
        if !existing.is_empty() {
            match self.common.save_mode {
                SaveMode::Ignore => return Ok(Outcome { rows: Some(0), ..Default::default() }),
                SaveMode::ErrorIfExists => {
                    return Err(StageError::msg(format!(
                        "Output '{}' already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue.",
                        self.common.output_uri
                    )));
                }
                _ => {}
            }
        }
        let name = target.path().trim_end_matches('/').rsplit('/').next().unwrap_or("out").to_string();
        let staging_url = target
            .join(&format!("../_weir_staging_{name}_{}_{}/", std::process::id(), chrono::Utc::now().timestamp_micros()))
            .map_err(|e| StageError::msg(e.to_string()))?;
        let store = session.storage.store(&target)?;
        let result = self.write(df, staging_url.as_str()).await;
        let staged = list(session, &staging_url).await?;
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                for meta in &staged {
                    let _ = store.delete(&meta.location).await;
                }
                return Err(e);
            }
        };
        // Swap: remove the old files (Overwrite), then move the new ones in.
        if self.common.save_mode == SaveMode::Overwrite {
            for meta in &existing {
                store
                    .delete(&meta.location)
                    .await
                    .map_err(|e| StageError::msg(format!("cannot replace '{target}': {e}")))?;
            }
        }
        let staging_prefix = object_path(&staging_url)?;
        let target_prefix = object_path(&target)?;
        for meta in &staged {
            let relative =
                meta.location.as_ref().strip_prefix(staging_prefix.as_ref()).unwrap_or(meta.location.as_ref());
            let dest = ObjectPath::parse(format!("{}/{}", target_prefix.as_ref(), relative.trim_start_matches('/')))
                .map_err(|e| StageError::msg(e.to_string()))?;
            store
                .rename(&meta.location, &dest)
                .await
                .map_err(|e| StageError::msg(format!("cannot move output into '{target}': {e}")))?;
        }
        let success = ObjectPath::parse(format!("{}/_SUCCESS", target_prefix.as_ref()))
            .map_err(|e| StageError::msg(e.to_string()))?;
        store.put(&success, bytes::Bytes::new().into()).await.map_err(|e| StageError::msg(e.to_string()))?;
        if staging_url.scheme() == "file"
            && let Ok(dir) = staging_url.to_file_path()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
        let mut outcome = Outcome { rows: Some(rows), ..Default::default() };
        outcome.detail.insert("count".into(), rows.into());
        Ok(outcome)
    }
}
