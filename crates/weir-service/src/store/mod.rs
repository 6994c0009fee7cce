//! The durable run history. [`Store`] is the service's only view of persistence: the embedded
//! default is SQLite in the data directory (WAL mode, one writer at a time, one instance);
//! PostgreSQL (`--store postgres://...`) lets several instances share the history and the queue.
//!
//! A run is inserted as `queued` with a dedupe key (trigger + object + version) that is unique:
//! a repeat of the same object version is recorded as a duplicate of the first run instead of a
//! new run. Workers claim queued runs atomically, so each run is executed once.
//!
//! A failed run may be retried: the retry is a new run (`attempt` + 1, `retry_of` the failed
//! one) that is not claimed before its `not_before` time. Retention deletes finished runs with
//! their stages and logs, keeping their dedupe keys (`retired_keys`), so a purged object
//! version still never runs twice.

/// Implements [`Columns`] for a row type whose typed getter by index is `$get`.
macro_rules! impl_columns {
    ($row:ty, $get:ident) => {
        impl super::Columns for $row {
            fn text(&self, i: usize) -> Result<String, StoreError> {
                Ok(self.$get(i)?)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
                Ok(self.$get(i)?)
            }
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                Ok(self.$get(i)?)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                Ok(self.$get(i)?)
            }
        }
    };
}
use impl_columns;

pub mod postgres;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "succeeded" => Status::Succeeded,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }
}

/// A run as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    /// The job file's URI or path.
    pub job: String,
    /// What started it: `directory`, `api`, `s3-event`...
    pub trigger: String,
    pub status: Status,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    /// Repeats of the same object version seen after this run was queued.
    pub duplicates: i64,
    /// `ETL_CONF_*` and other variables the run gets.
    pub env: serde_json::Map<String, serde_json::Value>,
    /// 1 for a first run, 2 for its first retry...
    pub attempt: i64,
    /// The failed run this one retries.
    pub retry_of: Option<i64>,
    /// A retry is not started before this time.
    pub not_before: Option<String>,
    /// The version of the job file this run executes (ETag / versionId, else size and
    /// modification time), when its content was snapshotted at enqueue.
    pub job_version: Option<String>,
    /// MD5 (hex) of the snapshotted content.
    pub job_hash: Option<String>,
    /// The child process's id, once started.
    pub pid: Option<i64>,
    /// The child's start time (clock ticks since boot, /proc/PID/stat field 22): with `pid`,
    /// identifies the process even if its pid is reused.
    pub pid_start: Option<i64>,
    /// The ECS task running it, with the ECS launcher (`[launcher] type = "ecs"`).
    pub task_arn: Option<String>,
}

/// A job file's content as read when its run was queued: the run executes exactly this.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub content: Vec<u8>,
    /// ETag / versionId, else size and modification time.
    pub version: String,
}

impl Snapshot {
    /// MD5 of the content, hex.
    pub fn hash(&self) -> String {
        use md5::Digest;
        md5::Md5::digest(&self.content).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Largest job file snapshotted at enqueue.
pub const MAX_SNAPSHOT_BYTES: usize = 16 << 20;

/// One stage of a run, from its JSON events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageRecord {
    pub index: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub status: String,
    pub duration_ms: Option<i64>,
    pub rows: Option<i64>,
}

/// A new run to queue.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub job: String,
    pub trigger: String,
    /// Unique per object version; `None` for runs that are never deduplicated (API submits).
    pub dedupe_key: Option<String>,
    /// Whether a repeat counts as a duplicate delivery (events do; re-listing a directory doesn't).
    pub count_duplicate: bool,
    pub env: serde_json::Map<String, serde_json::Value>,
    /// The job file's content at enqueue (`None`: the run reads the job path when it starts).
    pub snapshot: Option<Snapshot>,
}

/// A job in the history.
#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    pub job: String,
    pub runs: i64,
    pub last_run: i64,
    pub last_status: Status,
    pub last_created_at: String,
}

/// The query behind [`Backend::jobs`] (the same SQL in both stores).
pub(crate) const JOBS_QUERY: &str = "SELECT r.job, c.n, r.id, r.status, r.created_at FROM runs r \
    JOIN (SELECT job, COUNT(*) AS n, MAX(id) AS last FROM runs GROUP BY job) c ON r.id = c.last ORDER BY r.id DESC";

pub(crate) fn job_from(r: &impl Columns) -> Result<JobSummary, StoreError> {
    Ok(JobSummary {
        job: r.text(0)?,
        runs: r.int(1)?,
        last_run: r.int(2)?,
        last_status: Status::parse(&r.text(3)?).unwrap_or(Status::Failed),
        last_created_at: r.text(4)?,
    })
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: Status,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    pub log: String,
    pub stages: Vec<StageRecord>,
}

/// What [`Backend::recover`] found.
#[derive(Debug, Clone, Default)]
pub struct Recovered {
    /// Left `running` by this instance before a restart: adopt or finish them.
    pub orphans: Vec<Run>,
    /// Failed by the store (instances whose lease expired): retry per policy.
    pub failed: Vec<Run>,
}

/// What queueing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    New(i64),
    /// The same object version already has this run.
    Duplicate(i64),
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("run store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("run store: {0}")]
    Json(#[from] serde_json::Error),
    #[error("run store: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("run store: {0}")]
    Task(String),
}

/// What a run store does; see [`Store`].
#[async_trait]
pub trait Backend: Send + Sync {
    /// Durably queues a run (or records a duplicate). Returns once committed.
    async fn enqueue(&self, run: NewRun) -> Result<Queued, StoreError>;
    /// Queues a retry of the failed run `of`, not to start before `delay` has passed.
    async fn retry(&self, of: &Run, delay: Duration) -> Result<i64, StoreError>;
    /// Deletes runs that finished before `cutoff`, with their stages and logs, keeping their
    /// dedupe keys so their object versions are still never run again. Returns how many.
    async fn purge(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError>;
    /// Claims the oldest queued run that is due (marks it running, by this instance), if any.
    async fn claim(&self) -> Result<Option<Run>, StoreError>;
    /// Records a run's end.
    async fn finish(&self, id: i64, end: Finished) -> Result<(), StoreError>;
    /// Marks a queued run cancelled; true when it was queued.
    async fn cancel_queued(&self, id: i64) -> Result<bool, StoreError>;
    /// Runs left `running` by an instance that is gone. At start (`at_start`) this instance's
    /// own leftovers from before a restart are returned in [`Recovered::orphans`], still
    /// `running`: their children may be alive, the caller adopts or finishes them. With a
    /// shared store the runs of any other instance whose lease has expired (and runs of no
    /// instance) are failed and returned in [`Recovered::failed`], for the retry policy.
    async fn recover(&self, at_start: bool) -> Result<Recovered, StoreError>;
    /// Records the child process of a running run (pid and start time).
    async fn set_pid(&self, id: i64, pid: i64, start: i64) -> Result<(), StoreError>;
    /// Records the ECS task of a running run.
    async fn set_task(&self, id: i64, task_arn: &str) -> Result<(), StoreError>;
    /// The job content snapshotted for a run at enqueue, if any.
    async fn snapshot(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records a run that failed before it could be queued (e.g. a job file too big to
    /// snapshot), with the reason as its error.
    async fn record_failed(&self, run: NewRun, reason: String) -> Result<(), StoreError>;
    /// Runs, newest first, optionally filtered.
    async fn list(&self, status: Option<Status>, job: Option<String>, limit: i64) -> Result<Vec<Run>, StoreError>;
    /// One run with its stages and log.
    async fn get(&self, id: i64) -> Result<Option<(Run, Vec<StageRecord>, String)>, StoreError>;
    /// Queued or running runs of a trigger, oldest first: (id, status).
    async fn active_for_trigger(&self, trigger: &str) -> Result<Vec<(i64, String)>, StoreError>;
    /// When a trigger last queued (or skipped) a run.
    async fn last_created_for_trigger(&self, trigger: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Records a fire that did not start a run (e.g. concurrency `forbid`), with the reason.
    async fn record_skipped(&self, run: NewRun, reason: String) -> Result<(), StoreError>;
    /// Run counts by status (metrics).
    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Every job that has runs, most recently queued first, with its run count and last run.
    async fn jobs(&self) -> Result<Vec<JobSummary>, StoreError>;
    /// Renews this instance's lease (shared stores; a no-op for SQLite).
    async fn heartbeat(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether other instances share this store (then [`Backend::recover`] runs periodically).
    fn shared(&self) -> bool {
        false
    }
}

/// The run store the service uses: SQLite or PostgreSQL behind [`Backend`].
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        self.backend.as_ref()
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite store at `path`.
    pub fn open(path: &std::path::Path) -> Result<Self, StoreError> {
        Ok(Store { backend: Arc::new(sqlite::SqliteStore::open(path)?) })
    }

    /// Connects to a PostgreSQL store (creating its tables if needed) shared by instances;
    /// `instance` names this one (its lease; see [`postgres::instance_name`]).
    pub async fn connect_postgres(url: &str, instance: String) -> Result<Self, StoreError> {
        Ok(Store { backend: Arc::new(postgres::PostgresStore::connect(url, instance).await?) })
    }
}

/// The columns a [`Run`] is read from, in [`run_from`]'s order (both stores).
pub(crate) const RUN_COLUMNS: &str = "id, job, trigger, status, created_at, started_at, finished_at, exit_code, error, duplicates, env, attempt, retry_of, not_before, job_version, job_hash, pid, pid_start, task_arn";

/// The columns added to `runs` since the first releases (both stores migrate in place):
/// (name, SQLite type, PostgreSQL type).
pub(crate) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("job_version", "TEXT", "TEXT"),
    ("job_hash", "TEXT", "TEXT"),
    ("job_snapshot", "BLOB", "BYTEA"),
    ("pid", "INTEGER", "BIGINT"),
    ("pid_start", "INTEGER", "BIGINT"),
    ("task_arn", "TEXT", "TEXT"),
];

/// The columns a [`StageRecord`] is read from, in [`stage_from`]'s order.
pub(crate) const STAGE_COLUMNS: &str = "idx, name, type, status, duration_ms, rows";

/// A result row of either store, read by column index.
pub(crate) trait Columns {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
}

/// A run from a row of [`RUN_COLUMNS`].
pub(crate) fn run_from(r: &impl Columns) -> Result<Run, StoreError> {
    Ok(Run {
        id: r.int(0)?,
        job: r.text(1)?,
        trigger: r.text(2)?,
        status: Status::parse(&r.text(3)?).unwrap_or(Status::Failed),
        created_at: r.text(4)?,
        started_at: r.opt_text(5)?,
        finished_at: r.opt_text(6)?,
        exit_code: r.opt_int(7)?,
        error: r.opt_text(8)?,
        duplicates: r.int(9)?,
        env: serde_json::from_str(&r.text(10)?)?,
        attempt: r.int(11)?,
        retry_of: r.opt_int(12)?,
        not_before: r.opt_text(13)?,
        job_version: r.opt_text(14)?,
        job_hash: r.opt_text(15)?,
        pid: r.opt_int(16)?,
        pid_start: r.opt_int(17)?,
        task_arn: r.opt_text(18)?,
    })
}

/// A stage from a row of [`STAGE_COLUMNS`].
pub(crate) fn stage_from(r: &impl Columns) -> Result<StageRecord, StoreError> {
    Ok(StageRecord {
        index: r.int(0)?,
        name: r.text(1)?,
        type_name: r.text(2)?,
        status: r.text(3)?,
        duration_ms: r.opt_int(4)?,
        rows: r.opt_int(5)?,
    })
}

/// Times are stored as fixed-width UTC text, so they compare as text in both stores.
pub(crate) fn time_text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn now() -> String {
    time_text(Utc::now())
}
