//! The durable run history. [`Store`] is the service's only view of persistence; the
//! embedded default is SQLite in the data directory (WAL mode, one writer at a time).
//!
//! A run is inserted as `queued` with a dedupe key (trigger + object + version) that is unique:
//! a repeat of the same object version is recorded as a duplicate of the first run instead of a
//! new run. Workers claim queued runs atomically, so each run is executed once.
//!
//! A failed run may be retried: the retry is a new run (`attempt` + 1, `retry_of` the failed
//! one) that is not claimed before its `not_before` time. Retention deletes finished runs with
//! their stages and logs, keeping their dedupe keys (`retired_keys`), so a purged object
//! version still never runs twice.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
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
}

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
    Task(String),
}

/// The SQLite run store.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    trigger TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL,
    env TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    exit_code INTEGER,
    error TEXT,
    duplicates INTEGER NOT NULL DEFAULT 0,
    log TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, id);
CREATE TABLE IF NOT EXISTS retired_keys (
    dedupe_key TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_ms INTEGER,
    rows INTEGER,
    PRIMARY KEY (run_id, idx)
);
";

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        // Columns added after the first release: stores made by it gain them.
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('runs')")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (column, ddl) in [
            ("attempt", "ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1"),
            ("retry_of", "ALTER TABLE runs ADD COLUMN retry_of INTEGER"),
            ("not_before", "ALTER TABLE runs ADD COLUMN not_before TEXT"),
        ] {
            if !columns.iter().any(|c| c == column) {
                conn.execute_batch(ddl)?;
            }
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Durably queues a run (or records a duplicate). Returns once committed.
    pub async fn enqueue(&self, run: NewRun) -> Result<Queued, StoreError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            if let Some(key) = &run.dedupe_key {
                let existing: Option<i64> =
                    tx.query_row("SELECT id FROM runs WHERE dedupe_key = ?1", [key], |r| r.get(0)).optional()?;
                let retired: Option<i64> = match existing {
                    Some(_) => None,
                    None => tx
                        .query_row("SELECT run_id FROM retired_keys WHERE dedupe_key = ?1", [key], |r| r.get(0))
                        .optional()?,
                };
                if let Some(id) = retired {
                    tx.commit()?;
                    return Ok(Queued::Duplicate(id));
                }
                if let Some(id) = existing {
                    if run.count_duplicate {
                        tx.execute("UPDATE runs SET duplicates = duplicates + 1 WHERE id = ?1", [id])?;
                    }
                    tx.commit()?;
                    return Ok(Queued::Duplicate(id));
                }
            }
            tx.execute(
                "INSERT INTO runs (job, trigger, dedupe_key, status, env, created_at) VALUES (?1, ?2, ?3, 'queued', ?4, ?5)",
                params![run.job, run.trigger, run.dedupe_key, serde_json::to_string(&run.env)?, now()],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Queued::New(id))
        })
        .await
    }

    /// Queues a retry of the failed run `of`, not to start before `delay` has passed.
    pub async fn retry(&self, of: &Run, delay: std::time::Duration) -> Result<i64, StoreError> {
        let (job, trigger, env, attempt, id) =
            (of.job.clone(), of.trigger.clone(), serde_json::to_string(&of.env)?, of.attempt + 1, of.id);
        let not_before = (chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        self.with(move |c| {
            c.execute(
                "INSERT INTO runs (job, trigger, status, env, created_at, attempt, retry_of, not_before) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7)",
                params![job, trigger, env, now(), attempt, id, not_before],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Deletes runs that finished before `cutoff`, with their stages and logs, keeping their
    /// dedupe keys so their object versions are still never run again. Returns how many.
    pub async fn purge(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, StoreError> {
        let cutoff = cutoff.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        self.with(move |c| {
            let tx = c.transaction()?;
            let old = "SELECT id FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ?1";
            tx.execute(
                &format!("INSERT OR IGNORE INTO retired_keys (dedupe_key, run_id) SELECT dedupe_key, id FROM runs WHERE dedupe_key IS NOT NULL AND id IN ({old})"),
                [&cutoff],
            )?;
            tx.execute(&format!("DELETE FROM stages WHERE run_id IN ({old})"), [&cutoff])?;
            let n = tx.execute(&format!("DELETE FROM runs WHERE id IN ({old})"), [&cutoff])?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Claims the oldest queued run that is due (marks it running), if any.
    pub async fn claim(&self) -> Result<Option<Run>, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM runs WHERE status = 'queued' AND (not_before IS NULL OR not_before <= ?1) ORDER BY id LIMIT 1",
                    [now()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else { return Ok(None) };
            tx.execute("UPDATE runs SET status = 'running', started_at = ?2 WHERE id = ?1", params![id, now()])?;
            let run = get_run(&tx, id)?;
            tx.commit()?;
            Ok(run)
        })
        .await
    }

    /// Records a run's end.
    pub async fn finish(
        &self,
        id: i64,
        status: Status,
        exit_code: Option<i64>,
        error: Option<String>,
        log: String,
        stages: Vec<StageRecord>,
    ) -> Result<(), StoreError> {
        self.with(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, exit_code = ?4, error = ?5, log = ?6 WHERE id = ?1",
                params![id, status.as_str(), now(), exit_code, error, log],
            )?;
            tx.execute("DELETE FROM stages WHERE run_id = ?1", [id])?;
            for s in &stages {
                tx.execute(
                    "INSERT INTO stages (run_id, idx, name, type, status, duration_ms, rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, s.index, s.name, s.type_name, s.status, s.duration_ms, s.rows],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Marks a queued run cancelled; true when it was queued.
    pub async fn cancel_queued(&self, id: i64) -> Result<bool, StoreError> {
        self.with(move |c| {
            let n = c.execute(
                "UPDATE runs SET status = 'cancelled', finished_at = ?2, error = 'cancelled before it started' WHERE id = ?1 AND status = 'queued'",
                params![id, now()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// After a restart: runs left `running` by a previous process are failed (their process is
    /// gone). Returns them, for the retry policy.
    pub async fn recover(&self) -> Result<Vec<Run>, StoreError> {
        self.with(|c| {
            let tx = c.transaction()?;
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM runs WHERE status = 'running' ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            tx.execute(
                "UPDATE runs SET status = 'failed', finished_at = ?1, error = 'the service stopped while the run was in progress' WHERE status = 'running'",
                [now()],
            )?;
            let mut runs = Vec::new();
            for id in ids {
                runs.extend(get_run(&tx, id)?);
            }
            tx.commit()?;
            Ok(runs)
        })
        .await
    }

    /// Runs, newest first, optionally filtered.
    pub async fn list(&self, status: Option<Status>, job: Option<String>, limit: i64) -> Result<Vec<Run>, StoreError> {
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR job LIKE '%' || ?2 || '%') ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![status.map(Status::as_str), job, limit], run_row)?;
            rows.map(|r| r.map_err(StoreError::from).and_then(|r| r)).collect()
        })
        .await
    }

    /// One run with its stages and log.
    pub async fn get(&self, id: i64) -> Result<Option<(Run, Vec<StageRecord>, String)>, StoreError> {
        self.with(move |c| {
            let Some(run) = get_run(c, id)? else { return Ok(None) };
            let mut stmt = c.prepare(
                "SELECT idx, name, type, status, duration_ms, rows FROM stages WHERE run_id = ?1 ORDER BY idx",
            )?;
            let stages = stmt
                .query_map([id], |r| {
                    Ok(StageRecord {
                        index: r.get(0)?,
                        name: r.get(1)?,
                        type_name: r.get(2)?,
                        status: r.get(3)?,
                        duration_ms: r.get(4)?,
                        rows: r.get(5)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let log: String = c.query_row("SELECT log FROM runs WHERE id = ?1", [id], |r| r.get(0))?;
            Ok(Some((run, stages, log)))
        })
        .await
    }

    /// Queued or running runs of a trigger, oldest first: (id, status).
    pub async fn active_for_trigger(&self, trigger: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let trigger = trigger.to_string();
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, status FROM runs WHERE trigger = ?1 AND status IN ('queued', 'running') ORDER BY id",
            )?;
            let rows = stmt.query_map([trigger], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    /// When a trigger last queued (or skipped) a run.
    pub async fn last_created_for_trigger(
        &self,
        trigger: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let trigger = trigger.to_string();
        self.with(move |c| {
            let last: Option<String> =
                c.query_row("SELECT MAX(created_at) FROM runs WHERE trigger = ?1", [trigger], |r| r.get(0))?;
            Ok(last.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&chrono::Utc)))
        })
        .await
    }

    /// Records a fire that did not start a run (e.g. concurrency `forbid`), with the reason.
    pub async fn record_skipped(&self, run: NewRun, reason: String) -> Result<(), StoreError> {
        self.with(move |c| {
            let t = now();
            c.execute(
                "INSERT OR IGNORE INTO runs (job, trigger, dedupe_key, status, env, created_at, finished_at, error) VALUES (?1, ?2, ?3, 'cancelled', ?4, ?5, ?5, ?6)",
                params![run.job, run.trigger, run.dedupe_key, serde_json::to_string(&run.env)?, t, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// Run counts by status (metrics).
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT status, COUNT(*) FROM runs GROUP BY status ORDER BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}

const RUN_COLUMNS: &str = "id, job, trigger, status, created_at, started_at, finished_at, exit_code, error, duplicates, env, attempt, retry_of, not_before";

/// A run from a row of [`RUN_COLUMNS`] (the inner error is the `env` JSON).
fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Run, StoreError>> {
    let status: String = r.get(3)?;
    let env: String = r.get(10)?;
    let env = match serde_json::from_str(&env) {
        Ok(env) => env,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(Ok(Run {
        id: r.get(0)?,
        job: r.get(1)?,
        trigger: r.get(2)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        created_at: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        exit_code: r.get(7)?,
        error: r.get(8)?,
        duplicates: r.get(9)?,
        env,
        attempt: r.get(11)?,
        retry_of: r.get(12)?,
        not_before: r.get(13)?,
    }))
}

fn get_run(c: &Connection, id: i64) -> Result<Option<Run>, StoreError> {
    c.query_row(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), [id], run_row).optional()?.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_run(key: Option<&str>) -> NewRun {
        NewRun {
            job: "/jobs/a.json".into(),
            trigger: "directory".into(),
            dedupe_key: key.map(String::from),
            count_duplicate: true,
            env: Default::default(),
        }
    }

    #[tokio::test]
    async fn runs_are_deduplicated_claimed_once_and_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("weir.db")).unwrap();
        assert_eq!(store.enqueue(new_run(Some("k1"))).await.unwrap(), Queued::New(1));
        assert_eq!(store.enqueue(new_run(Some("k1"))).await.unwrap(), Queued::Duplicate(1));
        assert_eq!(store.enqueue(new_run(None)).await.unwrap(), Queued::New(2));
        let first = store.claim().await.unwrap().unwrap();
        assert_eq!((first.id, first.status, first.duplicates), (1, Status::Running, 1));
        let second = store.claim().await.unwrap().unwrap();
        assert_eq!(second.id, 2);
        assert!(store.claim().await.unwrap().is_none());
        let stage = StageRecord {
            index: 0,
            name: "x".into(),
            type_name: "SQLTransform".into(),
            status: "succeeded".into(),
            duration_ms: Some(3),
            rows: Some(7),
        };
        store.finish(1, Status::Succeeded, Some(0), None, "log".into(), vec![stage.clone()]).await.unwrap();
        // A restart fails what was in flight.
        let reopened = Store::open(&dir.path().join("weir.db")).unwrap();
        assert_eq!(reopened.recover().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [2]);
        let runs = reopened.list(None, None, 10).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| (r.id, r.status)).collect::<Vec<_>>(),
            [(2, Status::Failed), (1, Status::Succeeded)]
        );
        let (run, stages, log) = reopened.get(1).await.unwrap().unwrap();
        assert_eq!((run.exit_code, stages, log.as_str()), (Some(0), vec![stage], "log"));
    }

    #[tokio::test]
    async fn retries_wait_for_their_time_and_purged_versions_stay_done() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("weir.db")).unwrap();
        store.enqueue(new_run(Some("k1"))).await.unwrap();
        let run = store.claim().await.unwrap().unwrap();
        store.finish(run.id, Status::Failed, Some(1), Some("boom".into()), String::new(), vec![]).await.unwrap();
        let retry = store.retry(&run, std::time::Duration::from_millis(300)).await.unwrap();
        assert!(store.claim().await.unwrap().is_none(), "not before its time");
        tokio::time::sleep(std::time::Duration::from_millis(350)).await;
        let claimed = store.claim().await.unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempt, claimed.retry_of), (retry, 2, Some(run.id)));
        store.finish(retry, Status::Succeeded, Some(0), None, String::new(), vec![]).await.unwrap();

        // Retention: both finished runs go; the object version is still known.
        assert_eq!(store.purge(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 2);
        assert!(store.list(None, None, 10).await.unwrap().is_empty());
        assert_eq!(store.enqueue(new_run(Some("k1"))).await.unwrap(), Queued::Duplicate(run.id));
        assert!(matches!(store.enqueue(new_run(Some("k2"))).await.unwrap(), Queued::New(_)));
        // Unfinished runs are kept.
        assert_eq!(store.purge(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 0);
    }
}
