//! Workers: each claims a queued run and executes it as a child `weir run` process, so a job
//! that crashes cannot take the service down. The child's JSON events (stdout) become stage
//! records; its whole output is kept as the run's log.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::Notify;

use crate::store::{Finished, Run, StageRecord, Status, Store};

/// How runs are executed.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The `weir` binary runs are started with.
    pub weir: PathBuf,
    pub workers: usize,
    /// A run still going after this is killed and failed.
    pub timeout: Duration,
    /// Largest log kept per run (the tail is kept).
    pub max_log_bytes: usize,
    /// Retries of failed runs.
    pub policy: crate::RunPolicy,
}

/// Running children, so a cancel can kill them.
#[derive(Default, Clone)]
pub struct Running {
    inner: Arc<Mutex<HashMap<i64, Arc<Notify>>>>,
}

impl Running {
    fn add(&self, id: i64) -> Arc<Notify> {
        let n = Arc::new(Notify::new());
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).insert(id, n.clone());
        n
    }

    fn remove(&self, id: i64) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Asks a running run to stop; false when it is not running here.
    pub fn cancel(&self, id: i64) -> bool {
        match self.inner.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            Some(n) => {
                n.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Stage records from Arc-style JSON events (`enter` / `exit` per stage, final `exit`).
pub fn stages_from_events(lines: &[String]) -> Vec<StageRecord> {
    let mut stages: Vec<StageRecord> = Vec::new();
    for line in lines {
        let Ok(e) = serde_json::from_str::<Value>(line) else { continue };
        let Some(stage) = e.get("stage") else { continue };
        let name = stage.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let type_name = stage.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
        match e.get("event").and_then(Value::as_str) {
            Some("enter") => stages.push(StageRecord {
                index: stages.len() as i64,
                name,
                type_name,
                status: "running".into(),
                duration_ms: None,
                rows: None,
            }),
            Some("exit") => {
                let failed = e.get("status").and_then(Value::as_str) == Some("failure")
                    || stage.get("event").and_then(Value::as_str) == Some("exception");
                if let Some(s) = stages.iter_mut().rev().find(|s| s.name == name && s.status == "running") {
                    s.status = if failed { "failed".into() } else { "succeeded".into() };
                    s.duration_ms = e.get("duration").and_then(Value::as_i64).or(s.duration_ms);
                    s.rows = e
                        .get("rows")
                        .or_else(|| stage.get("count"))
                        .or_else(|| stage.get("records"))
                        .and_then(Value::as_i64);
                }
            }
            _ => {}
        }
    }
    stages
}

/// Starts `config.workers` workers; `wake` is notified when runs are queued.
pub fn start(config: WorkerConfig, store: Store, running: Running, wake: Arc<Notify>) {
    for n in 0..config.workers.max(1) {
        let (config, store, running, wake) = (config.clone(), store.clone(), running.clone(), wake.clone());
        tokio::spawn(async move {
            loop {
                match store.claim().await {
                    Ok(Some(run)) => execute(&config, &store, &running, run).await,
                    Ok(None) => {
                        // Woken by a new run, or poll now and then (another process may queue).
                        let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
                    }
                    Err(e) => {
                        tracing::error!(worker = n, "cannot claim a run: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }
}

/// All lines of a child's output stream.
async fn read_lines<R: tokio::io::AsyncRead + Unpin>(stream: Option<R>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(s) = stream {
        let mut r = BufReader::new(s).lines();
        while let Ok(Some(l)) = r.next_line().await {
            lines.push(l);
        }
    }
    lines
}

async fn execute(config: &WorkerConfig, store: &Store, running: &Running, run: Run) {
    tracing::info!(run = run.id, job = %run.job, "run started");
    let cancel = running.add(run.id);
    let mut cmd = Command::new(&config.weir);
    cmd.arg("run").arg(&run.job).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    // Secret values are resolved from the service's memory here, and masked in what is kept.
    let env = crate::secrets::resolve(&run.env);
    let spawned = match &env {
        Ok(env) => cmd
            .envs(env.vars.iter().cloned())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", config.weir.display())),
        Err(e) => Err(e.to_string()),
    };
    let env = env.unwrap_or_default();
    let (status, exit_code, error, log, stages) = match spawned {
        Err(e) => (Status::Failed, None, Some(e), String::new(), vec![]),
        Ok(mut child) => {
            let stdout = child.stdout.take();
            let stderr = child.stderr.take();
            let out_task = tokio::spawn(read_lines(stdout));
            let err_task = tokio::spawn(read_lines(stderr));
            let outcome = tokio::select! {
                status = child.wait() => Ok(status),
                _ = tokio::time::sleep(config.timeout) => Err(format!("timed out after {} s", config.timeout.as_secs())),
                _ = cancel.notified() => Err("cancelled".to_string()),
            };
            if outcome.is_err() {
                let _ = child.kill().await;
            }
            let out = out_task.await.unwrap_or_default();
            let err = err_task.await.unwrap_or_default();
            let stages = stages_from_events(&out);
            // The CLI's summary: from its last `weir: ` line to the end (config errors span lines).
            let summary = err.iter().rposition(|l| l.starts_with("weir: ")).map(|i| err[i..].join("\n"));
            let mut log = out.join("\n");
            if !err.is_empty() {
                log.push_str("\n--- stderr ---\n");
                log.push_str(&err.join("\n"));
            }
            if log.len() > config.max_log_bytes {
                let cut = log.len() - config.max_log_bytes;
                let cut = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(cut);
                log = format!("[... {cut} bytes cut ...]\n{}", &log[cut..]);
            }
            match outcome {
                Ok(Ok(s)) if s.success() => (Status::Succeeded, s.code().map(i64::from), None, log, stages),
                Ok(Ok(s)) => {
                    let error = summary.unwrap_or_else(|| format!("weir run exited with {s}"));
                    (Status::Failed, s.code().map(i64::from), Some(error), log, stages)
                }
                Ok(Err(e)) => (Status::Failed, None, Some(format!("waiting for the run failed: {e}")), log, stages),
                Err(reason) if reason == "cancelled" => (Status::Cancelled, None, Some(reason), log, stages),
                Err(reason) => (Status::Failed, None, Some(reason), log, stages),
            }
        }
    };
    let (error, log) = (error.map(|e| env.redact(&e)), env.redact(&log));
    running.remove(run.id);
    tracing::info!(run = run.id, status = status.as_str(), "run finished");
    // A run that failed before any stage started (weir reported the job invalid or unreadable)
    // would fail the same way again.
    let retryable = status == Status::Failed && !(stages.is_empty() && exit_code.is_some());
    if let Err(e) = store.finish(run.id, Finished { status, exit_code, error, log, stages }).await {
        tracing::error!(run = run.id, "cannot record the run's end: {e}");
        return;
    }
    if retryable && let Some(delay) = config.policy.retry_delay(run.attempt) {
        match store.retry(&run, delay).await {
            Ok(id) => tracing::info!(run = run.id, retry = id, "failed run retried in {:.1} s", delay.as_secs_f64()),
            Err(e) => tracing::error!(run = run.id, "cannot queue a retry: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_stage_records() {
        let lines: Vec<String> = [
            r#"{"event":"enter","weirVersion":"0.1.0"}"#,
            r#"{"event":"enter","stage":{"type":"DelimitedExtract","name":"extract"}}"#,
            r#"{"event":"exit","duration":12,"rows":1000,"stage":{"type":"DelimitedExtract","name":"extract"}}"#,
            r#"{"event":"enter","stage":{"type":"SQLTransform","name":"calc"}}"#,
            r#"{"event":"exit","status":"failure","stage":{"type":"SQLTransform","name":"calc","event":"exception"}}"#,
            "not json",
        ]
        .map(String::from)
        .to_vec();
        let stages = stages_from_events(&lines);
        assert_eq!(stages.len(), 2);
        assert_eq!(
            (stages[0].status.as_str(), stages[0].duration_ms, stages[0].rows),
            ("succeeded", Some(12), Some(1000))
        );
        assert_eq!(stages[1].status, "failed");
    }
}
