//! Writing a view as files (Parquet, CSV, JSON lines) with Spark's save modes.
//!
//! New files are first written under a hidden staging directory next to the target; only
//! when every file is written does [`swap::commit`] make them the output (atomically on local
//! disk, through a journal on object stores), so a failed or killed write leaves the previous
//! output. Each load first runs [`swap::recover`] for its path, finishing what a killed load
//! left. A `_SUCCESS` marker is written last, as Spark does.

use async_trait::async_trait;
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStoreExt};
use serde_json::{Map, Value};

use crate::session::Session;
use crate::stages::load::swap;
use crate::stages::{LoadCommon, Outcome, SaveMode, Stage, StageError};
use crate::storage::{object_path, parse_uri};

/// On object stores a staging directory this recent may belong to a load still running (there
/// is no lock), so a load's own recovery keeps it; `weir vacuum` does not wait.
const OBJECT_STORE_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

fn swap_error(e: swap::SwapError) -> StageError {
    StageError::msg(e.to_string())
}

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
        let output = swap::Output::new(&target).map_err(swap_error)?;
        // Complete or roll back what a killed load to this path left (see `swap`).
        for done in swap::recover(&session.storage, &output, true, OBJECT_STORE_GRACE).await.map_err(swap_error)? {
            session.log.warn(crate::obj! {
                "event" => "recovery", "action" => done.action, "path" => done.path, "files" => done.files,
                "message" => "finished what an interrupted load to this output left",
            });
        }
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
        let staging_url = output.new_staging().map_err(swap_error)?;
        let lock = swap::StagingLock::create(&staging_url).map_err(swap_error)?;
        let store = session.storage.store(&target)?;
        let rows = match self.write(df, staging_url.as_str()).await {
            Ok(rows) => rows,
            Err(e) => {
                // Best effort: what is left is deleted by the next load's recovery or a vacuum.
                for meta in list(session, &staging_url).await.unwrap_or_default() {
                    let _ = store.delete(&meta.location).await;
                }
                if let Ok(dir) = staging_url.to_file_path() {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Err(e);
            }
        };
        swap::commit(&session.storage, &output, &staging_url, self.common.save_mode == SaveMode::Overwrite)
            .await
            .map_err(swap_error)?;
        drop(lock);
        let mut outcome = Outcome { rows: Some(rows), ..Default::default() };
        outcome.detail.insert("count".into(), rows.into());
        Ok(outcome)
    }
}
