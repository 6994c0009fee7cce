//! The PostgreSQL store, shared by several `weir serve` instances. A run is claimed by exactly
//! one instance (`FOR UPDATE SKIP LOCKED`); the unique dedupe key makes every object version
//! one run whichever instance sees it first. Each instance renews a lease (`instances`); the
//! runs of an instance whose lease has expired — it was killed, or its machine died — are
//! failed by any live instance (and retried per policy); an instance restarting under the
//! same name adopts or finishes its own leftovers (their children run on its machine).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls, Row};

use super::{
    Backend, Columns, Finished, NewRun, Queued, RUN_COLUMNS, Run, STAGE_COLUMNS, StageRecord, Status, StoreError, now,
    run_from, stage_from, time_text,
};

/// How long an instance's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id BIGSERIAL PRIMARY KEY,
    job TEXT NOT NULL,
    trigger TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL,
    env TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    exit_code BIGINT,
    error TEXT,
    duplicates BIGINT NOT NULL DEFAULT 0,
    log TEXT NOT NULL DEFAULT '',
    attempt BIGINT NOT NULL DEFAULT 1,
    retry_of BIGINT,
    not_before TEXT,
    instance TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, id);
CREATE TABLE IF NOT EXISTS stages (
    run_id BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    duration_ms BIGINT,
    rows BIGINT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS retired_keys (
    dedupe_key TEXT PRIMARY KEY,
    run_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    heartbeat_at TEXT NOT NULL
);
";

/// The PostgreSQL run store.
pub struct PostgresStore {
    client: Mutex<Client>,
    /// This instance's name (its lease).
    instance: String,
}

super::impl_columns!(Row, try_get);

/// This instance's name: `WEIR_INSTANCE`, else host name and data directory (stable across
/// restarts, distinct for instances with their own data directories).
pub fn instance_name(data_dir: &std::path::Path) -> String {
    if let Ok(name) = std::env::var("WEIR_INSTANCE")
        && !name.trim().is_empty()
    {
        return name.trim().to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into());
    let dir = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
    format!("{}:{}", host.trim(), dir.display())
}

impl PostgresStore {
    /// The runs a query returns (rows of [`RUN_COLUMNS`]).
    async fn runs(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Run>, StoreError> {
        self.client.lock().await.query(sql, params).await?.iter().map(run_from).collect()
    }

    /// Records a run that ended without being run (skipped, or failed at enqueue), once per
    /// dedupe key.
    async fn record_ended(&self, run: NewRun, status: Status, reason: String) -> Result<(), StoreError> {
        let t = now();
        let env = serde_json::to_string(&run.env)?;
        self.client
            .lock()
            .await
            .execute(
                "INSERT INTO runs (job, trigger, dedupe_key, status, env, created_at, finished_at, error) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
                &[&run.job, &run.trigger, &run.dedupe_key, &status.as_str(), &env, &t, &reason],
            )
            .await?;
        Ok(())
    }

    /// Connects and creates the tables if needed (serialised between instances starting at once).
    pub async fn connect(url: &str, instance: String) -> Result<Self, StoreError> {
        let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!("PostgreSQL store connection lost: {e}");
            }
        });
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7745686563)", &[]).await?;
        tx.batch_execute(SCHEMA).await?;
        for (column, _, kind) in super::ADDED_COLUMNS {
            tx.batch_execute(&format!("ALTER TABLE runs ADD COLUMN IF NOT EXISTS {column} {kind}")).await?;
        }
        tx.commit().await?;
        let store = PostgresStore { client: Mutex::new(client), instance };
        store.heartbeat().await?;
        Ok(store)
    }
}

#[async_trait]
impl Backend for PostgresStore {
    async fn enqueue(&self, run: NewRun) -> Result<Queued, StoreError> {
        let mut client = self.client.lock().await;
        let tx = client.transaction().await?;
        if let Some(key) = &run.dedupe_key
            && let Some(row) = tx.query_opt("SELECT run_id FROM retired_keys WHERE dedupe_key = $1", &[key]).await?
        {
            tx.commit().await?;
            return Ok(Queued::Duplicate(row.try_get(0)?));
        }
        // The unique dedupe key decides, also against another instance queueing it at once.
        let env = serde_json::to_string(&run.env)?;
        let version = run.snapshot.as_ref().map(|s| s.version.clone());
        let hash = run.snapshot.as_ref().map(|s| s.hash());
        let content = run.snapshot.as_ref().map(|s| s.content.as_slice());
        let inserted = tx
            .query_opt(
                "INSERT INTO runs (job, trigger, dedupe_key, status, env, created_at, job_version, job_hash, job_snapshot) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                &[&run.job, &run.trigger, &run.dedupe_key, &env, &now(), &version, &hash, &content],
            )
            .await?;
        let queued = match inserted {
            Some(row) => Queued::New(row.try_get(0)?),
            None => {
                let row = tx
                    .query_one(
                        "UPDATE runs SET duplicates = duplicates + CASE WHEN $2 THEN 1 ELSE 0 END WHERE dedupe_key = $1 RETURNING id",
                        &[&run.dedupe_key, &run.count_duplicate],
                    )
                    .await?;
                Queued::Duplicate(row.try_get(0)?)
            }
        };
        tx.commit().await?;
        Ok(queued)
    }

    async fn retry(&self, of: &Run, delay: Duration) -> Result<i64, StoreError> {
        let not_before = time_text(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default());
        let env = serde_json::to_string(&of.env)?;
        let row = self
            .client
            .lock()
            .await
            .query_one(
                "INSERT INTO runs (job, trigger, status, env, created_at, attempt, retry_of, not_before, job_version, job_hash, job_snapshot)
                 SELECT $1, $2, 'queued', $3, $4, $5, $6, $7, job_version, job_hash, job_snapshot FROM runs WHERE id = $6 RETURNING id",
                &[&of.job, &of.trigger, &env, &now(), &(of.attempt + 1), &of.id, &not_before],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    async fn purge(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time_text(cutoff);
        let mut client = self.client.lock().await;
        let tx = client.transaction().await?;
        let old = "SELECT id FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < $1";
        tx.execute(
            &format!("INSERT INTO retired_keys (dedupe_key, run_id) SELECT dedupe_key, id FROM runs WHERE dedupe_key IS NOT NULL AND id IN ({old}) ON CONFLICT DO NOTHING"),
            &[&cutoff],
        )
        .await?;
        tx.execute(&format!("DELETE FROM stages WHERE run_id IN ({old})"), &[&cutoff]).await?;
        let n = tx.execute(&format!("DELETE FROM runs WHERE id IN ({old})"), &[&cutoff]).await?;
        tx.commit().await?;
        Ok(n as usize)
    }

    async fn claim(&self) -> Result<Option<Run>, StoreError> {
        let row = self
            .client
            .lock()
            .await
            .query_opt(
                &format!(
                    "UPDATE runs SET status = 'running', started_at = $1, instance = $2 WHERE id = (
                        SELECT id FROM runs WHERE status = 'queued' AND (not_before IS NULL OR not_before <= $1)
                        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING {RUN_COLUMNS}"
                ),
                &[&now(), &self.instance],
            )
            .await?;
        row.as_ref().map(run_from).transpose()
    }

    async fn finish(&self, id: i64, end: Finished) -> Result<(), StoreError> {
        let Finished { status, exit_code, error, log, stages } = end;
        let mut client = self.client.lock().await;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE runs SET status = $2, finished_at = $3, exit_code = $4, error = $5, log = $6 WHERE id = $1",
            &[&id, &status.as_str(), &now(), &exit_code, &error, &log],
        )
        .await?;
        tx.execute("DELETE FROM stages WHERE run_id = $1", &[&id]).await?;
        for s in &stages {
            tx.execute(
                "INSERT INTO stages (run_id, idx, name, type, status, duration_ms, rows) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&id, &s.index, &s.name, &s.type_name, &s.status, &s.duration_ms, &s.rows],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn cancel_queued(&self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .client
            .lock()
            .await
            .execute(
                "UPDATE runs SET status = 'cancelled', finished_at = $2, error = 'cancelled before it started' WHERE id = $1 AND status = 'queued'",
                &[&id, &now()],
            )
            .await?;
        Ok(n > 0)
    }

    async fn recover(&self, at_start: bool) -> Result<super::Recovered, StoreError> {
        let expired = time_text(Utc::now() - chrono::Duration::from_std(LEASE).unwrap_or_default());
        // This instance's own leftovers stay running: their children may be alive on this machine.
        let orphans = match at_start {
            true => {
                self.runs(
                    &format!("SELECT {RUN_COLUMNS} FROM runs WHERE status = 'running' AND instance = $1 ORDER BY id"),
                    &[&self.instance],
                )
                .await?
            }
            false => Vec::new(),
        };
        // Another instance's children are on its machine: not seen from here, failed once its lease expired.
        let failed = self
            .runs(
                &format!(
                    "UPDATE runs SET status = 'failed', finished_at = $1,
                        error = 'the service instance running it stopped while the run was in progress (' || COALESCE(instance, '?') || ')'
                     WHERE status = 'running' AND (instance IS NULL
                        OR (instance <> $2 AND instance NOT IN (SELECT id FROM instances WHERE heartbeat_at > $3)))
                     RETURNING {RUN_COLUMNS}"
                ),
                &[&now(), &self.instance, &expired],
            )
            .await?;
        Ok(super::Recovered { orphans, failed })
    }

    async fn set_pid(&self, id: i64, pid: i64, start: i64) -> Result<(), StoreError> {
        self.client
            .lock()
            .await
            .execute("UPDATE runs SET pid = $2, pid_start = $3 WHERE id = $1", &[&id, &pid, &start])
            .await?;
        Ok(())
    }

    async fn set_task(&self, id: i64, task_arn: &str) -> Result<(), StoreError> {
        self.client.lock().await.execute("UPDATE runs SET task_arn = $2 WHERE id = $1", &[&id, &task_arn]).await?;
        Ok(())
    }

    async fn snapshot(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self.client.lock().await.query_opt("SELECT job_snapshot FROM runs WHERE id = $1", &[&id]).await?;
        Ok(match row {
            Some(r) => r.try_get::<_, Option<Vec<u8>>>(0)?,
            None => None,
        })
    }

    async fn record_failed(&self, run: NewRun, reason: String) -> Result<(), StoreError> {
        self.record_ended(run, Status::Failed, reason).await
    }

    async fn list(&self, status: Option<Status>, job: Option<String>, limit: i64) -> Result<Vec<Run>, StoreError> {
        let status = status.map(Status::as_str);
        self.runs(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR job LIKE '%' || $2 || '%') ORDER BY id DESC LIMIT $3"
                ),
                &[&status, &job, &limit],
            )
            .await
    }

    async fn get(&self, id: i64) -> Result<Option<(Run, Vec<StageRecord>, String)>, StoreError> {
        let client = self.client.lock().await;
        let Some(row) = client.query_opt(&format!("SELECT {RUN_COLUMNS}, log FROM runs WHERE id = $1"), &[&id]).await?
        else {
            return Ok(None);
        };
        let run = run_from(&row)?;
        let log = row.text(18)?;
        let stages = client
            .query(&format!("SELECT {STAGE_COLUMNS} FROM stages WHERE run_id = $1 ORDER BY idx"), &[&id])
            .await?
            .iter()
            .map(stage_from)
            .collect::<Result<_, _>>()?;
        Ok(Some((run, stages, log)))
    }

    async fn active_for_trigger(&self, trigger: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self
            .client
            .lock()
            .await
            .query(
                "SELECT id, status FROM runs WHERE trigger = $1 AND status IN ('queued', 'running') ORDER BY id",
                &[&trigger],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    async fn last_created_for_trigger(&self, trigger: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = self
            .client
            .lock()
            .await
            .query_one("SELECT MAX(created_at) FROM runs WHERE trigger = $1", &[&trigger])
            .await?;
        let last: Option<String> = row.try_get(0)?;
        Ok(last.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc)))
    }

    async fn record_skipped(&self, run: NewRun, reason: String) -> Result<(), StoreError> {
        self.record_ended(run, Status::Cancelled, reason).await
    }

    async fn jobs(&self) -> Result<Vec<super::JobSummary>, StoreError> {
        let rows = self.client.lock().await.query(super::JOBS_QUERY, &[]).await?;
        rows.iter().map(super::job_from).collect()
    }

    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = self
            .client
            .lock()
            .await
            .query("SELECT status, COUNT(*) FROM runs GROUP BY status ORDER BY status", &[])
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        self.client
            .lock()
            .await
            .execute(
                "INSERT INTO instances (id, heartbeat_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET heartbeat_at = $2",
                &[&self.instance, &now()],
            )
            .await?;
        Ok(())
    }

    fn shared(&self) -> bool {
        true
    }
}
