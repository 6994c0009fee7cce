//! Writing a view as files (Parquet, CSV, JSON lines, Avro, ORC) with Spark's save modes.
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
use crate::stages::load::{encoded, swap};
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
    Csv {
        delimiter: u8,
        quote: u8,
        header: bool,
    },
    /// One string column, one line per row (Spark's text source: NULL as an empty line).
    Text,
    /// Avro object container files (see `load::avro`).
    Avro,
    /// ORC files (see `load::orc`).
    Orc,
}

/// The one-row `count` batch DataFusion's writers return, for a writer of ours.
fn count_batch(rows: u64) -> Result<datafusion::arrow::array::RecordBatch, StageError> {
    let array = datafusion::arrow::array::UInt64Array::from(vec![rows]);
    Ok(datafusion::arrow::array::RecordBatch::try_from_iter([("count", std::sync::Arc::new(array) as _)])?)
}

/// The synthetic partition column that spreads rows over `numPartitions` files; it names a
/// directory level of the staged output that [`flatten_file_partitions`] removes.
const FILE_PART: &str = "__weir_file_part";

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
    async fn write(&self, session: &Session, df: DataFrame, staging: &url::Url) -> Result<u64, StageError> {
        if let FileFormat::Text = self.format {
            return write_text(session, df, staging, self.common.num_partitions.unwrap_or(1)).await;
        }
        let mut partition_by = self.common.partition_by.clone();
        let df = match self.common.num_partitions {
            // Spark's repartition(n): rows dealt round-robin over n files (fewer when there are
            // fewer rows), each partition directory getting up to n.
            Some(n) => {
                use datafusion::prelude::{cast, lit};
                let mut columns: Vec<datafusion::prelude::Expr> =
                    df.schema().columns().into_iter().map(datafusion::prelude::Expr::Column).collect();
                let row = datafusion::functions_window::expr_fn::row_number();
                let part = (row - lit(1u64)) % lit(n as u64);
                columns.push(cast(part, datafusion::arrow::datatypes::DataType::Utf8).alias(FILE_PART));
                partition_by.push(FILE_PART.to_string());
                df.select(columns)?
            }
            None => df,
        };
        let options = DataFrameWriteOptions::new().with_partition_by(partition_by.clone());
        let staging_str = staging.as_str();
        let counts = match &self.format {
            FileFormat::Parquet => df.write_parquet(staging_str, options, None).await?,
            FileFormat::Json => df.write_json(staging_str, options, None).await?,
            FileFormat::Csv { delimiter, quote, header } => {
                let csv = datafusion::common::config::CsvOptions {
                    has_header: Some(*header),
                    delimiter: *delimiter,
                    quote: *quote,
                    ..Default::default()
                };
                df.write_csv(staging_str, options, Some(csv)).await?
            }
            FileFormat::Avro => {
                let encoder = crate::stages::load::avro::encoder();
                let rows = encoded::write(df, staging, &partition_by, "Avro", "avro", encoder).await?;
                vec![count_batch(rows)?]
            }
            FileFormat::Orc => {
                // Refused before anything is written when a column cannot be.
                crate::stages::load::orc::written_schema(df.schema().as_arrow())?;
                let encoder = crate::stages::load::orc::encoder();
                let rows = encoded::write(df, staging, &partition_by, "ORC", "orc", encoder).await?;
                vec![count_batch(rows)?]
            }
            FileFormat::Text => unreachable!("text is written above"),
        };
        let rows = counts
            .iter()
            .filter_map(|b| b.column(0).as_any().downcast_ref::<datafusion::arrow::array::UInt64Array>())
            .map(|a| a.iter().flatten().sum::<u64>())
            .sum();
        if self.common.num_partitions.is_some() {
            flatten_file_partitions(session, staging).await?;
        }
        Ok(rows)
    }
}

/// Moves `.../__weir_file_part=i/NAME` to `.../part-0000i-NAME`: the files of one output
/// directory, as Spark names them.
async fn flatten_file_partitions(session: &Session, staging: &url::Url) -> Result<(), StageError> {
    let store = session.storage.store(staging)?;
    let marker = format!("{FILE_PART}=");
    for meta in list(session, staging).await? {
        let parts: Vec<String> = meta.location.parts().map(|p| p.as_ref().to_string()).collect();
        let Some(at) = parts.iter().position(|p| p.starts_with(&marker)) else { continue };
        let index: usize = parts[at][marker.len()..].parse().unwrap_or_default();
        let mut target: Vec<String> = parts[..at].to_vec();
        let name = parts.last().cloned().unwrap_or_default();
        target.push(format!("part-{index:05}-{name}"));
        let to = object_store::path::Path::from_iter(target);
        store
            .rename(&meta.location, &to)
            .await
            .map_err(|e| StageError::msg(format!("cannot move '{}' to '{to}': {e}", meta.location)))?;
    }
    Ok(())
}

/// Writes a one-string-column view as text files of one line per row, its rows dealt
/// round-robin over `files` files in `staging`.
async fn write_text(session: &Session, df: DataFrame, staging: &url::Url, files: usize) -> Result<u64, StageError> {
    use datafusion::arrow::array::{Array, AsArray};
    use tokio::io::AsyncWriteExt;
    let store = session.storage.store(staging)?;
    let base = object_path(staging)?;
    let stamp = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp_micros());
    let mut writers: Vec<Option<object_store::buffered::BufWriter>> = (0..files).map(|_| None).collect();
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    while let Some(batch) = futures::StreamExt::next(&mut stream).await {
        let batch = batch?;
        let column = datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8)?;
        let values = column.as_string::<i32>();
        let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); files];
        for i in 0..values.len() {
            let buffer = &mut buffers[(rows as usize + i) % files];
            if !values.is_null(i) {
                buffer.extend_from_slice(values.value(i).as_bytes());
            }
            buffer.push(b'\n');
        }
        rows += values.len() as u64;
        for (index, buffer) in buffers.into_iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            let writer = writers[index].get_or_insert_with(|| {
                let path = base.clone().join(format!("part-{index:05}-{stamp}.txt").as_str());
                object_store::buffered::BufWriter::new(store.clone(), path)
            });
            writer
                .put(buffer.into())
                .await
                .map_err(|e| StageError::msg(format!("cannot write text to '{staging}': {e}")))?;
        }
    }
    for mut writer in writers.into_iter().flatten() {
        writer.shutdown().await.map_err(|e| StageError::msg(format!("cannot write text to '{staging}': {e}")))?;
    }
    Ok(rows)
}

#[async_trait]
impl Stage for FileLoad {
    fn detail(&self) -> Map<String, Value> {
        let mut m = self.common.detail();
        m.extend(self.extra.clone());
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = crate::stages::load::delta::load_input(session, &self.common.input_view, self.stage).await?;
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
        let rows = match self.write(session, df, &staging_url).await {
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
