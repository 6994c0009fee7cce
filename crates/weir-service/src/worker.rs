//! Workers: each claims a queued run and executes it as a child `weir run` process, so a job
//! that crashes cannot take the service down. The child's JSON events (stdout) become stage
//! records; its whole output is kept as the run's log.
//!
//! A run owns a directory `DATA_DIR/runs/<id>/` (mode 0700): the job's snapshot (the content
//! queued, under the job's file name), the child's stdout (`events.jsonl`) and stderr
//! (`stderr.log`) as files — not pipes, so a child outlives its service without a broken pipe —
//! and `lock`, which the service locks (`flock`) before spawning and hands to the child as its
//! stdin: the lock is held exactly as long as the child lives, even after the service died.
//! Children run in their own process group. A restarted service finds runs left `running`
//! ([`adopt`]): a held lock means the child is still at work, so it is followed until the lock
//! is released; then (or at once, when the lock is free) the run is finished from the final
//! `exit` event in its events file. A retry is only queued once no attempt is alive.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufRead;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
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
    /// Where run directories are made (`DATA_DIR/runs`).
    pub runs_dir: PathBuf,
    /// `[launcher] type = "ecs"`: each run an ECS task instead of a child process.
    pub ecs: Option<crate::ecs::EcsLauncher>,
}

impl WorkerConfig {
    fn run_dir(&self, id: i64) -> PathBuf {
        self.runs_dir.join(id.to_string())
    }
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

/// Builds stage records from Arc-style JSON events (`enter` / `exit` per stage, final `exit`),
/// one line at a time.
#[derive(Debug, Default)]
struct StageBuilder {
    stages: Vec<StageRecord>,
    /// The final `exit` event's outcome (true: success), once seen.
    outcome: Option<bool>,
}

impl StageBuilder {
    fn push(&mut self, line: &str) {
        let Ok(e) = serde_json::from_str::<Value>(line) else { return };
        let event = e.get("event").and_then(Value::as_str);
        let Some(stage) = e.get("stage") else {
            if event == Some("exit") {
                self.outcome = Some(e.get("status").and_then(Value::as_str) == Some("success"));
            }
            return;
        };
        let name = stage.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let type_name = stage.get("type").and_then(Value::as_str).unwrap_or_default().to_string();
        match event {
            Some("enter") => self.stages.push(StageRecord {
                index: self.stages.len() as i64,
                name,
                type_name,
                status: "running".into(),
                duration_ms: None,
                rows: None,
            }),
            Some("exit") => {
                let failed = e.get("status").and_then(Value::as_str) == Some("failure")
                    || stage.get("event").and_then(Value::as_str) == Some("exception");
                if let Some(s) = self.stages.iter_mut().rev().find(|s| s.name == name && s.status == "running") {
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
}

/// Stage records from Arc-style JSON events (`enter` / `exit` per stage, final `exit`).
pub fn stages_from_events(lines: &[String]) -> Vec<StageRecord> {
    let mut b = StageBuilder::default();
    lines.iter().for_each(|l| b.push(l));
    b.stages
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

/// What a child left in its run directory.
struct Output {
    stages: Vec<StageRecord>,
    /// The final `exit` event's outcome (true: success).
    outcome: Option<bool>,
    log: String,
    /// The CLI's summary: from its last `weir: ` line to the end (config errors span lines).
    summary: Option<String>,
}

/// Reads a child's events and stderr files, keeping at most `max` bytes of log (the tail).
/// `snapshot` (the path the child ran) is shown as the job's own URI `job`.
fn read_output(dir: &Path, max: usize, snapshot: Option<&Path>, job: &str) -> Output {
    let mut builder = StageBuilder::default();
    let mut tail: VecDeque<String> = VecDeque::new();
    let (mut kept, mut cut) = (0usize, 0usize);
    let mut keep = |line: String, tail: &mut VecDeque<String>| {
        kept += line.len() + 1;
        tail.push_back(line);
        while kept > max
            && let Some(first) = tail.pop_front()
        {
            kept -= first.len() + 1;
            cut += first.len() + 1;
        }
    };
    if let Ok(f) = File::open(dir.join("events.jsonl")) {
        for line in std::io::BufReader::new(f).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line).into_owned();
            builder.push(&line);
            keep(line, &mut tail);
        }
    }
    let err: Vec<String> = match File::open(dir.join("stderr.log")) {
        Ok(f) => std::io::BufReader::new(f)
            .split(b'\n')
            .map_while(Result::ok)
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    let summary = err.iter().rposition(|l| l.starts_with("weir: ")).map(|i| err[i..].join("\n"));
    if !err.is_empty() {
        keep("--- stderr ---".into(), &mut tail);
        err.into_iter().for_each(|l| keep(l, &mut tail));
    }
    let mut log = Vec::from(tail).join("\n");
    if cut > 0 {
        log = format!("[... {cut} bytes cut ...]\n{log}");
    }
    let shown = |text: String| match snapshot {
        Some(p) => text.replace(&p.display().to_string(), job),
        None => text,
    };
    Output { stages: builder.stages, outcome: builder.outcome, log: shown(log), summary: summary.map(shown) }
}

/// Makes a run's directory (0700), writes its snapshot there under the job's file name and
/// returns the path to run (the snapshot, else the job's own path).
async fn prepare_dir(store: &Store, run: &Run, dir: &Path) -> Result<Option<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make the run directory {}: {e}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let Some(content) = store.snapshot(run.id).await.map_err(|e| e.to_string())? else { return Ok(None) };
    // The extension decides the format (.ipynb, .json, .conf): keep the file name.
    let name = run.job.trim_end_matches('/').rsplit(['/', '\\']).next().unwrap_or_default();
    let name = if name.is_empty() || name == "." || name == ".." { "job.conf" } else { name };
    let path = dir.join(name);
    std::fs::write(&path, content).map_err(|e| format!("cannot write the job snapshot {}: {e}", path.display()))?;
    Ok(Some(path))
}

/// Opens `path` (creating it) and tries to lock it exclusively without waiting: `Ok(None)`
/// when another process holds the lock.
fn try_lock(path: &Path, create: bool) -> std::io::Result<Option<File>> {
    let file = std::fs::OpenOptions::new().read(true).write(true).create(create).truncate(false).open(path)?;
    // SAFETY: flock on a descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(file));
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(None) } else { Err(err) }
}

/// A process's start time (clock ticks since boot: /proc/PID/stat field 22).
pub fn process_start(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and ')': fields 3.. follow its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// SIGKILLs a run's process group, if `pid` still is the process that was started at `start`.
fn kill_group(pid: Option<i64>, start: Option<i64>) -> bool {
    let (Some(pid), Some(start)) = (pid, start) else { return false };
    if pid <= 1 || process_start(pid) != Some(start) {
        return false;
    }
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) == 0 }
}

/// The child's environment: the service's own, less its API token and run store URL (which
/// holds the database password), plus the run's variables with secret values resolved from
/// the service's memory and config ([`crate::secrets`]).
fn child_env(cmd: &mut Command, run: &Run) -> Result<crate::secrets::ChildEnv, String> {
    let env = crate::secrets::resolve(&run.env).map_err(|e| e.to_string())?;
    cmd.env_remove("WEIR_API_TOKEN");
    cmd.env_remove("WEIR_STORE");
    cmd.envs(env.vars.iter().cloned());
    Ok(env)
}

/// Starts the child of `run` in `dir`, holding the run's lock: (child, the path it runs).
async fn spawn(
    config: &WorkerConfig,
    store: &Store,
    run: &Run,
    dir: &Path,
) -> Result<(tokio::process::Child, Option<PathBuf>, crate::secrets::ChildEnv), String> {
    let snapshot = prepare_dir(store, run, dir).await?;
    let lock_path = dir.join("lock");
    let lock = match try_lock(&lock_path, true) {
        Ok(Some(f)) => f,
        Ok(None) => return Err(format!("{} is locked by another process", lock_path.display())),
        Err(e) => return Err(format!("cannot lock {}: {e}", lock_path.display())),
    };
    let out_file = |name: &str| {
        let path = dir.join(name);
        File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let (stdout, stderr) = (out_file("events.jsonl")?, out_file("stderr.log")?);
    let job = snapshot.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| run.job.clone());
    let mut cmd = Command::new(&config.weir);
    cmd.arg("run")
        .arg(&job)
        // The locked file is the child's stdin: the lock lives exactly as long as the child.
        .stdin(Stdio::from(lock))
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .process_group(0)
        // Not killed when the service stops: a stopped or crashed service adopts it at its next start.
        .kill_on_drop(false);
    let env = child_env(&mut cmd, run)?;
    let child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", config.weir.display()))?;
    // `cmd` (our copy of the lock's descriptor) is dropped here: only the child holds it.
    drop(cmd);
    Ok((child, snapshot, env))
}

async fn execute(config: &WorkerConfig, store: &Store, running: &Running, run: Run) {
    tracing::info!(run = run.id, job = %run.job, "run started");
    let cancel = running.add(run.id);
    if let Some(ecs) = &config.ecs {
        let ended = crate::ecs::execute(&ecs.config, &ecs.client, store, &run, cancel, config.timeout).await;
        end_ecs_run(config, store, running, &run, ended).await;
        return;
    }
    let dir = config.run_dir(run.id);
    let mut env = crate::secrets::ChildEnv::default();
    let (status, exit_code, error, output) = match spawn(config, store, &run, &dir).await {
        Err(e) => (Status::Failed, None, Some(e), None),
        Ok((mut child, snapshot, child_env)) => {
            env = child_env;
            let pid = child.id().map(i64::from);
            let start = pid.and_then(process_start);
            if let (Some(pid), Some(start)) = (pid, start)
                && let Err(e) = store.set_pid(run.id, pid, start).await
            {
                tracing::warn!(run = run.id, "cannot record the run's pid: {e}");
            }
            let outcome = tokio::select! {
                status = child.wait() => Ok(status),
                _ = tokio::time::sleep(config.timeout) => Err(format!("timed out after {} s", config.timeout.as_secs())),
                _ = cancel.notified() => Err("cancelled".to_string()),
            };
            if outcome.is_err() {
                kill_group(pid, start);
                let _ = child.kill().await;
            }
            let output = read_output(&dir, config.max_log_bytes, snapshot.as_deref(), &run.job);
            let summary = output.summary.clone();
            let (status, code, error) = match outcome {
                Ok(Ok(s)) if s.success() => (Status::Succeeded, s.code().map(i64::from), None),
                Ok(Ok(s)) => (
                    Status::Failed,
                    s.code().map(i64::from),
                    Some(summary.unwrap_or_else(|| format!("weir run exited with {s}"))),
                ),
                Ok(Err(e)) => (Status::Failed, None, Some(format!("waiting for the run failed: {e}"))),
                Err(reason) if reason == "cancelled" => (Status::Cancelled, None, Some(reason)),
                Err(reason) => (Status::Failed, None, Some(reason)),
            };
            (status, code, error, Some(output))
        }
    };
    end_run(config, store, running, &run, status, exit_code, error, output, &env).await;
}

/// Records the end of a run executed as an ECS task, with the stages and log of the events the
/// task left at its events object (`[launcher] events_uri`).
async fn end_ecs_run(config: &WorkerConfig, store: &Store, running: &Running, run: &Run, ended: crate::ecs::Ended) {
    let mut builder = StageBuilder::default();
    let mut log = ended.log;
    if let Some(object) = config.ecs.as_ref().and_then(|ecs| ecs.config.events_object(run)) {
        let read = async {
            let url = weir_engine::storage::parse_uri(&object)?;
            weir_engine::storage::Storage::new(HashMap::new()).read_bytes(&url).await
        };
        match read.await {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                text.lines().for_each(|l| builder.push(l));
                log.push_str(&format!("--- events ({object}) ---\n{text}"));
            }
            Err(e) => log.push_str(&format!("no events from the task at {object}: {e}\n")),
        }
    }
    let output = Output { stages: builder.stages, outcome: builder.outcome, log, summary: None };
    let env = crate::secrets::ChildEnv::default();
    end_run(config, store, running, run, ended.status, ended.exit_code, ended.error, Some(output), &env).await;
}

/// Records a run's end, queues its retry per policy and removes its directory.
#[allow(clippy::too_many_arguments)]
async fn end_run(
    config: &WorkerConfig,
    store: &Store,
    running: &Running,
    run: &Run,
    status: Status,
    exit_code: Option<i64>,
    error: Option<String>,
    output: Option<Output>,
    env: &crate::secrets::ChildEnv,
) {
    running.remove(run.id);
    tracing::info!(run = run.id, status = status.as_str(), "run finished");
    let (log, stages) = output.map(|o| (o.log, o.stages)).unwrap_or_default();
    // Secret values the child was given are masked in what is kept.
    let (error, log) = (error.map(|e| env.redact(&e)), env.redact(&log));
    // A run that failed before any stage started (weir reported the job invalid or unreadable)
    // would fail the same way again.
    let retryable = status == Status::Failed && !(stages.is_empty() && exit_code.is_some());
    if let Err(e) = store.finish(run.id, Finished { status, exit_code, error, log, stages }).await {
        tracing::error!(run = run.id, "cannot record the run's end: {e}");
        return;
    }
    let _ = std::fs::remove_dir_all(config.run_dir(run.id));
    if retryable && let Some(delay) = config.policy.retry_delay(run.attempt) {
        match store.retry(run, delay).await {
            Ok(id) => tracing::info!(run = run.id, retry = id, "failed run retried in {:.1} s", delay.as_secs_f64()),
            Err(e) => tracing::error!(run = run.id, "cannot queue a retry: {e}"),
        }
    }
}

/// Removes the run directories of runs that are over (their end was recorded but the service
/// stopped before removing the directory, or another instance failed them) and whose lock is
/// free; `orphans` (still `running`) keep theirs. Called at start, before any worker runs.
pub fn remove_stale_dirs(config: &WorkerConfig, orphans: &[Run]) {
    let Ok(entries) = std::fs::read_dir(&config.runs_dir) else { return };
    for entry in entries.map_while(Result::ok) {
        let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<i64>().ok()) else { continue };
        if orphans.iter().any(|r| r.id == id) {
            continue;
        }
        // A held lock: a child is still at work there (e.g. its run was failed by another instance).
        if matches!(try_lock(&entry.path().join("lock"), false), Ok(None)) {
            continue;
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// Takes over a run left `running` by a previous service process: follows its child while the
/// run's lock is held (cancel and timeout kill its process group), then finishes the run from
/// its events file: a final `exit` event with status success is a success, anything else a
/// failure (retried per policy — only now, when no attempt is alive).
pub async fn adopt(config: WorkerConfig, store: Store, running: Running, run: Run) {
    let cancel = running.add(run.id);
    // An ECS task outlives the service: follow it again.
    if let (Some(ecs), Some(arn)) = (&config.ecs, &run.task_arn) {
        tracing::warn!(run = run.id, task = %arn, "adopting run {}: following its ECS task", run.id);
        let ended = crate::ecs::follow(&ecs.config, &ecs.client, arn, cancel, config.timeout).await;
        end_ecs_run(&config, &store, &running, &run, ended).await;
        return;
    }
    let dir = config.run_dir(run.id);
    let lock_path = dir.join("lock");
    let started = run
        .started_at
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    let deadline = started + chrono::Duration::from_std(config.timeout).unwrap_or_default();
    let mut stop: Option<String> = None;
    let mut announced = false;
    loop {
        match try_lock(&lock_path, false) {
            Ok(Some(_free)) => break,
            Ok(None) => {}
            // No lock file: the child was never started.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => {
                tracing::error!(run = run.id, "cannot check the lock of run {}: {e}", run.id);
                break;
            }
        }
        if !announced {
            let pid = run.pid.map(|p| p.to_string()).unwrap_or_else(|| "unknown".into());
            tracing::warn!(run = run.id, "adopting run {} (pid {pid}): its process is still running", run.id);
            announced = true;
        }
        if stop.is_none() && chrono::Utc::now() > deadline {
            stop = Some(format!("timed out after {} s", config.timeout.as_secs()));
            kill_group(run.pid, run.pid_start);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = cancel.notified() => {
                stop = Some("cancelled".into());
                kill_group(run.pid, run.pid_start);
            }
        }
    }
    let snapshot = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .map_while(Result::ok)
            .map(|e| e.path())
            .find(|p| !["lock", "events.jsonl", "stderr.log"].iter().any(|n| p.ends_with(n)))
    });
    let output = read_output(&dir, config.max_log_bytes, snapshot.as_deref(), &run.job);
    // weir run exits 0 after a successful final event and 1 after a failed one.
    let (status, exit_code, error) = match (output.outcome, stop) {
        (_, Some(reason)) if reason == "cancelled" => (Status::Cancelled, None, Some(reason)),
        (Some(true), _) => (Status::Succeeded, Some(0), None),
        (Some(false), _) => (Status::Failed, Some(1), output.summary.clone()),
        (None, Some(reason)) => (Status::Failed, None, Some(reason)),
        (None, None) => (
            Status::Failed,
            None,
            Some("the service stopped while the run was in progress, and its process ended without a result".into()),
        ),
    };
    tracing::info!(run = run.id, status = status.as_str(), "adopted run finished");
    let env = crate::secrets::resolve(&run.env).unwrap_or_default();
    end_run(&config, &store, &running, &run, status, exit_code, error, Some(output), &env).await;
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

    #[test]
    fn the_run_lock_is_exclusive_and_freed_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        assert!(try_lock(&path, false).is_err(), "no lock file: not started");
        let held = try_lock(&path, true).unwrap().expect("free at first");
        assert!(try_lock(&path, false).unwrap().is_none(), "held by another open file");
        drop(held);
        assert!(try_lock(&path, false).unwrap().is_some(), "free once its holder is gone");
    }

    #[test]
    fn a_process_is_known_by_its_pid_and_start_time() {
        let me = i64::from(std::process::id());
        let start = process_start(me).expect("own start time");
        assert!(start > 0);
        assert_eq!(process_start(me), Some(start), "stable");
        // A wrong start time is another process: it is not signalled.
        assert!(!kill_group(Some(me), Some(start + 1)));
        assert!(!kill_group(None, Some(start)));
    }

    #[test]
    fn output_files_give_stages_outcome_and_a_capped_log() {
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("job.json");
        let events = [
            r#"{"event":"enter","stage":{"type":"SQLTransform","name":"calc"}}"#,
            r#"{"event":"exit","duration":5,"stage":{"type":"SQLTransform","name":"calc"}}"#,
            r#"{"event":"exit","duration":9,"status":"success","success":true}"#,
        ];
        std::fs::write(dir.path().join("events.jsonl"), events.join("\n") + "\n").unwrap();
        let err = format!("noise\nweir: {} failed\n  at line 3", snapshot.display());
        std::fs::write(dir.path().join("stderr.log"), err).unwrap();
        let out = read_output(dir.path(), 1 << 20, Some(&snapshot), "/jobs/job.json");
        assert_eq!(out.outcome, Some(true));
        assert_eq!(out.stages.len(), 1);
        assert_eq!(out.stages[0].status, "succeeded");
        assert_eq!(out.summary.as_deref(), Some("weir: /jobs/job.json failed\n  at line 3"), "shown as the job's path");
        assert!(out.log.contains("--- stderr ---") && out.log.starts_with("{\"event\""), "{}", out.log);

        let capped = read_output(dir.path(), 60, None, "j");
        assert!(capped.log.starts_with("[... ") && capped.log.ends_with("  at line 3"), "{}", capped.log);
        assert_eq!(capped.outcome, Some(true), "every event is read, whatever is kept of the log");

        std::fs::write(dir.path().join("events.jsonl"), events[0]).unwrap();
        assert_eq!(read_output(dir.path(), 1 << 20, None, "j").outcome, None, "no final event: no result");
    }
}
