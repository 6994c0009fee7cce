//! The embedded SQLite store (one instance): WAL mode, `synchronous = FULL`, one writer.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Backend, Finished, NewRun, Queued, RUN_COLUMNS, Run, STAGE_COLUMNS, Status, StoreError, now, run_from, stage_from,
    time_text,
};

/// The SQLite run store.
pub struct SqliteStore {
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

/// Creates the database file readable by its owner only (SQLite gives the `-wal` and `-shm`
/// files it makes the database file's mode), and restricts files left by older versions.
fn owner_only_files(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Task(format!("{}: {e}", path.display()));
        std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path).map_err(io)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        owner_only_files(path)?;
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
        for (column, kind, _) in super::ADDED_COLUMNS {
            if !columns.iter().any(|c| c == column) {
                conn.execute_batch(&format!("ALTER TABLE runs ADD COLUMN {column} {kind}"))?;
            }
        }
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Records a run that ended without being run (skipped, or failed at enqueue), once per
    /// dedupe key.
    async fn record_ended(&self, run: NewRun, status: Status, reason: String) -> Result<(), StoreError> {
        self.with(move |c| {
            let t = now();
            c.execute(
                "INSERT OR IGNORE INTO runs (job, trigger, dedupe_key, status, env, created_at, finished_at, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                params![run.job, run.trigger, run.dedupe_key, status.as_str(), serde_json::to_string(&run.env)?, t, reason],
            )?;
            Ok(())
        })
        .await
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
}

#[async_trait]
impl Backend for SqliteStore {
    /// Durably queues a run (or records a duplicate). Returns once committed.
    async fn enqueue(&self, run: NewRun) -> Result<Queued, StoreError> {
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
            let (version, hash) = (run.snapshot.as_ref().map(|s| s.version.clone()), run.snapshot.as_ref().map(|s| s.hash()));
            tx.execute(
                "INSERT INTO runs (job, trigger, dedupe_key, status, env, created_at, job_version, job_hash, job_snapshot) VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?8)",
                params![
                    run.job,
                    run.trigger,
                    run.dedupe_key,
                    serde_json::to_string(&run.env)?,
                    now(),
                    version,
                    hash,
                    run.snapshot.map(|s| s.content)
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Queued::New(id))
        })
        .await
    }

    /// Queues a retry of the failed run `of`, not to start before `delay` has passed.
    async fn retry(&self, of: &Run, delay: std::time::Duration) -> Result<i64, StoreError> {
        let (job, trigger, env, attempt, id) =
            (of.job.clone(), of.trigger.clone(), serde_json::to_string(&of.env)?, of.attempt + 1, of.id);
        let not_before = time_text(chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
        self.with(move |c| {
            // The retry runs the same snapshot as the failed attempt.
            c.execute(
                "INSERT INTO runs (job, trigger, status, env, created_at, attempt, retry_of, not_before, job_version, job_hash, job_snapshot)
                 SELECT ?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, job_version, job_hash, job_snapshot FROM runs WHERE id = ?6",
                params![job, trigger, env, now(), attempt, id, not_before],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Deletes runs that finished before `cutoff`, with their stages and logs, keeping their
    /// dedupe keys so their object versions are still never run again. Returns how many.
    async fn purge(&self, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, StoreError> {
        let cutoff = time_text(cutoff);
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
    async fn claim(&self) -> Result<Option<Run>, StoreError> {
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
    async fn finish(&self, id: i64, end: Finished) -> Result<(), StoreError> {
        let Finished { status, exit_code, error, log, stages } = end;
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
    async fn cancel_queued(&self, id: i64) -> Result<bool, StoreError> {
        self.with(move |c| {
            let n = c.execute(
                "UPDATE runs SET status = 'cancelled', finished_at = ?2, error = 'cancelled before it started' WHERE id = ?1 AND status = 'queued'",
                params![id, now()],
            )?;
            Ok(n > 0)
        })
        .await
    }

    /// After a restart: runs left `running` by the previous process are returned as orphans
    /// (their children may still be alive); one instance, so nothing else leaves runs behind.
    async fn recover(&self, at_start: bool) -> Result<super::Recovered, StoreError> {
        if !at_start {
            return Ok(super::Recovered::default());
        }
        self.with(|c| {
            let orphans =
                collect(c, &format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = 'running' ORDER BY id"), [], |r| {
                    run_from(r)
                })?;
            Ok(super::Recovered { orphans, failed: Vec::new() })
        })
        .await
    }

    async fn set_pid(&self, id: i64, pid: i64, start: i64) -> Result<(), StoreError> {
        self.with(move |c| {
            c.execute("UPDATE runs SET pid = ?2, pid_start = ?3 WHERE id = ?1", params![id, pid, start])?;
            Ok(())
        })
        .await
    }

    async fn set_task(&self, id: i64, task_arn: &str) -> Result<(), StoreError> {
        let task_arn = task_arn.to_string();
        self.with(move |c| {
            c.execute("UPDATE runs SET task_arn = ?2 WHERE id = ?1", params![id, task_arn])?;
            Ok(())
        })
        .await
    }

    async fn snapshot(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(move |c| {
            Ok(c.query_row("SELECT job_snapshot FROM runs WHERE id = ?1", [id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()?
                .flatten())
        })
        .await
    }

    async fn record_failed(&self, run: NewRun, reason: String) -> Result<(), StoreError> {
        self.record_ended(run, Status::Failed, reason).await
    }

    /// Runs, newest first, optionally filtered.
    async fn list(&self, status: Option<Status>, job: Option<String>, limit: i64) -> Result<Vec<Run>, StoreError> {
        self.with(move |c| {
            collect(
                c,
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR job LIKE '%' || ?2 || '%') ORDER BY id DESC LIMIT ?3"
                ),
                params![status.map(Status::as_str), job, limit],
                |r| run_from(r),
            )
        })
        .await
    }

    /// One run with its stages and log.
    async fn get(&self, id: i64) -> Result<Option<(Run, Vec<super::StageRecord>, String)>, StoreError> {
        self.with(move |c| {
            let Some(run) = get_run(c, id)? else { return Ok(None) };
            let stages =
                collect(c, &format!("SELECT {STAGE_COLUMNS} FROM stages WHERE run_id = ?1 ORDER BY idx"), [id], |r| {
                    stage_from(r)
                })?;
            let log: String = c.query_row("SELECT log FROM runs WHERE id = ?1", [id], |r| r.get(0))?;
            Ok(Some((run, stages, log)))
        })
        .await
    }

    /// Queued or running runs of a trigger, oldest first: (id, status).
    async fn active_for_trigger(&self, trigger: &str) -> Result<Vec<(i64, String)>, StoreError> {
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
    async fn last_created_for_trigger(
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
    async fn record_skipped(&self, run: NewRun, reason: String) -> Result<(), StoreError> {
        self.record_ended(run, Status::Cancelled, reason).await
    }

    /// Run counts by status (metrics).
    async fn jobs(&self) -> Result<Vec<super::JobSummary>, StoreError> {
        self.with(|c| collect(c, super::JOBS_QUERY, [], |r| super::job_from(r))).await
    }

    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT status, COUNT(*) FROM runs GROUP BY status ORDER BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }
}

super::impl_columns!(rusqlite::Row<'_>, get);

/// Every row of a query, read with `read`.
fn collect<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(read(row)?);
    }
    Ok(out)
}

fn get_run(c: &Connection, id: i64) -> Result<Option<Run>, StoreError> {
    Ok(collect(c, &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"), [id], |r| run_from(r))?.pop())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StageRecord, Store};

    fn done(status: Status, log: &str, stages: Vec<StageRecord>) -> Finished {
        let exit_code = Some(if status == Status::Succeeded { 0 } else { 1 });
        Finished { status, exit_code, error: None, log: log.into(), stages }
    }

    fn new_run(key: Option<&str>) -> NewRun {
        NewRun {
            job: "/jobs/a.json".into(),
            trigger: "directory".into(),
            dedupe_key: key.map(String::from),
            count_duplicate: true,
            env: Default::default(),
            snapshot: None,
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
        store.finish(1, done(Status::Succeeded, "log", vec![stage.clone()])).await.unwrap();
        // A restart finds what was in flight (still running: its child may be alive).
        let reopened = Store::open(&dir.path().join("weir.db")).unwrap();
        let recovered = reopened.recover(true).await.unwrap();
        assert_eq!(recovered.orphans.iter().map(|r| r.id).collect::<Vec<_>>(), [2]);
        assert!(recovered.failed.is_empty());
        reopened.set_pid(2, 4242, 99).await.unwrap();
        let runs = reopened.list(None, None, 10).await.unwrap();
        assert_eq!(
            runs.iter().map(|r| (r.id, r.status, r.pid, r.pid_start)).collect::<Vec<_>>(),
            [(2, Status::Running, Some(4242), Some(99)), (1, Status::Succeeded, None, None)]
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
        store.finish(run.id, done(Status::Failed, "", vec![])).await.unwrap();
        let retry = store.retry(&run, std::time::Duration::from_millis(300)).await.unwrap();
        assert!(store.claim().await.unwrap().is_none(), "not before its time");
        tokio::time::sleep(std::time::Duration::from_millis(350)).await;
        let claimed = store.claim().await.unwrap().unwrap();
        assert_eq!((claimed.id, claimed.attempt, claimed.retry_of), (retry, 2, Some(run.id)));
        store.finish(retry, done(Status::Succeeded, "", vec![])).await.unwrap();

        // Retention: both finished runs go; the object version is still known.
        assert_eq!(store.purge(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 2);
        assert!(store.list(None, None, 10).await.unwrap().is_empty());
        assert_eq!(store.enqueue(new_run(Some("k1"))).await.unwrap(), Queued::Duplicate(run.id));
        assert!(matches!(store.enqueue(new_run(Some("k2"))).await.unwrap(), Queued::New(_)));
        // Unfinished runs are kept.
        assert_eq!(store.purge(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn snapshots_are_kept_for_the_run_and_its_retry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("weir.db")).unwrap();
        let snapshot = crate::store::Snapshot { content: b"{\"stages\": []}".to_vec(), version: "v1".into() };
        let run = NewRun { snapshot: Some(snapshot.clone()), ..new_run(Some("k1")) };
        let Queued::New(id) = store.enqueue(run).await.unwrap() else { panic!("queued") };
        let claimed = store.claim().await.unwrap().unwrap();
        assert_eq!(claimed.job_version.as_deref(), Some("v1"));
        assert_eq!(claimed.job_hash.as_deref(), Some(snapshot.hash().as_str()));
        assert_eq!(store.snapshot(id).await.unwrap().as_deref(), Some(snapshot.content.as_slice()));
        store.finish(id, done(Status::Failed, "", vec![])).await.unwrap();
        let retry = store.retry(&claimed, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(store.snapshot(retry).await.unwrap(), Some(snapshot.content), "the retry runs the same version");
        let Queued::New(plain) = store.enqueue(new_run(None)).await.unwrap() else { panic!("queued") };
        assert_eq!(store.snapshot(plain).await.unwrap(), None);
        store.record_failed(new_run(Some("big")), "too big".into()).await.unwrap();
        store.record_failed(new_run(Some("big")), "too big".into()).await.unwrap();
        let failed = store.list(Some(Status::Failed), None, 10).await.unwrap();
        assert_eq!(failed.iter().filter(|r| r.error.as_deref() == Some("too big")).count(), 1, "once per version");
    }

    #[tokio::test]
    async fn a_store_of_an_earlier_release_gains_the_new_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("weir.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, trigger TEXT NOT NULL,
                   dedupe_key TEXT UNIQUE, status TEXT NOT NULL, env TEXT NOT NULL, created_at TEXT NOT NULL,
                   started_at TEXT, finished_at TEXT, exit_code INTEGER, error TEXT,
                   duplicates INTEGER NOT NULL DEFAULT 0, log TEXT NOT NULL DEFAULT '');
                 INSERT INTO runs (job, trigger, status, env, created_at) VALUES ('/a.json', 'directory', 'queued', '{}', '2026-01-01T00:00:00.000Z');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let run = store.claim().await.unwrap().expect("the old queued run");
        assert_eq!((run.job.as_str(), run.attempt, run.job_version, run.pid), ("/a.json", 1, None, None));
        assert_eq!(store.snapshot(run.id).await.unwrap(), None, "an old run reads its job path");
    }
}
