//! `weir serve`: runs jobs when job files are dropped into a trigger location, keeps a durable
//! run history, and serves an HTTP API and a web UI.
//!
//! Triggers ([`trigger`]: directories and buckets polled, [`sqs`] S3 event notifications, the
//! HTTP endpoint in [`api`]) queue runs in the [`store`]; workers ([`worker`]) claim them and run
//! each as a child `weir run` process; [`api`] serves the history, submits and cancels.
pub mod access;
pub mod api;
pub mod ecs;
mod http;
pub mod s3event;
pub mod schedule;
pub mod secrets;
pub mod sqs;
pub mod store;
pub mod trigger;
pub mod ui;
pub mod websec;
pub mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Notify;

/// How the service is started.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub workers: usize,
    pub poll_interval: Duration,
    /// Polling triggers queue a file once unchanged this long (per trigger: `quiet_ms`).
    pub quiet: Duration,
    pub run_timeout: Duration,
    /// `ETL_CONF_ENV` for triggered runs (else the service's own environment decides).
    pub environment: Option<String>,
    /// The `weir` binary runs are started with.
    pub weir: PathBuf,
    /// `weir.toml`: schedules, triggers, retries and retention.
    pub config: Option<PathBuf>,
    /// `postgres://...`: a run store shared with other instances (default: SQLite in the data dir).
    pub store: Option<String>,
    /// Start even as root (euid 0): `--allow-root` / `WEIR_ALLOW_ROOT`.
    pub allow_root: bool,
}

/// The service's config file (`--config weir.toml`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// `[[schedule]]` entries.
    #[serde(default)]
    pub schedule: Vec<schedule::ScheduleConfig>,
    /// `[[trigger]]` entries (besides the data directory's `trigger/`, always watched).
    #[serde(default)]
    pub trigger: Vec<trigger::TriggerConfig>,
    /// `[runs]`: retries and retention.
    #[serde(default)]
    pub runs: RunPolicy,
    /// `[api]`: what `POST /api/runs` accepts, HTTP timeouts.
    #[serde(default)]
    pub api: ApiConfig,
    /// `[launcher]`: child processes (default) or an ECS task per run.
    #[serde(default)]
    pub launcher: ecs::LauncherConfig,
}

/// `[api]` in weir.toml.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Directories and URI prefixes (`s3://bucket/jobs/`) jobs submitted with `POST /api/runs`
    /// may come from. Default: the trigger locations (DATA_DIR/trigger/ and every poll trigger's).
    pub job_roots: Option<Vec<String>>,
    /// Variable names a submitted run may set besides `ETL_CONF_*`, `ETL_POLICY_*` and `WEIR_*`.
    #[serde(default)]
    pub env_allow: Vec<String>,
    /// A connection that has not sent a whole request head this many seconds after connecting
    /// or after its previous response (an idle keep-alive connection) is closed. Default 10.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_s: f64,
}

fn default_header_timeout() -> f64 {
    10.0
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { job_roots: None, env_allow: Vec::new(), header_timeout_s: default_header_timeout() }
    }
}

/// Retries and retention (`[runs]` in weir.toml).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunPolicy {
    /// A failed run is retried up to this many times (default 0). Runs that fail before any
    /// stage starts (an invalid or unreadable job) are not: a retry would fail the same way.
    #[serde(default)]
    pub retries: u32,
    /// Delay before the first retry, in seconds; doubled for each further one (default 30).
    #[serde(default = "default_backoff")]
    pub retry_backoff_s: f64,
    /// Finished runs older than this many days are deleted with their stages and logs (their
    /// object versions are remembered, so they never run again). Default: kept forever.
    pub retention_days: Option<f64>,
}

fn default_backoff() -> f64 {
    30.0
}

impl Default for RunPolicy {
    fn default() -> Self {
        RunPolicy { retries: 0, retry_backoff_s: default_backoff(), retention_days: None }
    }
}

impl RunPolicy {
    /// The delay before retrying a run that failed at `attempt` (1 = first run), if it is retried.
    pub fn retry_delay(&self, attempt: i64) -> Option<Duration> {
        if attempt < 1 || attempt > i64::from(self.retries) {
            return None;
        }
        let factor = 2f64.powi((attempt - 1).min(30) as i32);
        Some(Duration::from_secs_f64((self.retry_backoff_s * factor).clamp(0.0, 7.0 * 86400.0)))
    }

    fn validate(&self) -> Result<(), String> {
        if !self.retry_backoff_s.is_finite() || self.retry_backoff_s < 0.0 {
            return Err("[runs] retry_backoff_s must be a number of seconds, 0 or more".into());
        }
        if let Some(days) = self.retention_days
            && !(days.is_finite() && days > 0.0)
        {
            return Err("[runs] retention_days must be more than 0".into());
        }
        Ok(())
    }
}

impl ServiceConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<(Self, Vec<schedule::Schedule>), ServeError> {
        let config_err = |message: String| ServeError::Config { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| config_err(e.to_string()))?;
        let config: ServiceConfig = toml::from_str(&text).map_err(|e| config_err(e.to_string()))?;
        let mut schedules = Vec::new();
        let mut names = std::collections::HashSet::new();
        for s in &config.schedule {
            if !names.insert(s.name.clone()) {
                return Err(config_err(format!("two schedules are named '{}'", s.name)));
            }
            schedules.push(schedule::Schedule::new(s.clone()).map_err(config_err)?);
        }
        let mut trigger_names = std::collections::HashSet::new();
        for t in &config.trigger {
            if !trigger_names.insert(t.name.clone()) {
                return Err(config_err(format!("two triggers are named '{}'", t.name)));
            }
            t.validate().map_err(config_err)?;
        }
        config.runs.validate().map_err(config_err)?;
        if let ecs::LauncherConfig::Ecs(ecs) = &config.launcher {
            ecs.validate().map_err(config_err)?;
        }
        let t = config.api.header_timeout_s;
        if !(t.is_finite() && t > 0.0 && t <= 86_400.0) {
            return Err(config_err("[api] header_timeout_s must be more than 0 seconds (at most a day)".into()));
        }
        Ok((config, schedules))
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot use the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot use the run store {url}: {source}")]
    StoreConnect { url: String, source: store::StoreError },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("config {path}: {message}")]
    Config { path: String, message: String },
    #[error("HTTP server failed: {0}")]
    Http(std::io::Error),
    #[error(
        "refusing to run as root: runs would execute job files as root. Run the service as an unprivileged user, or pass --allow-root (WEIR_ALLOW_ROOT=1) to accept that"
    )]
    Root,
}

/// Restricts `path` to its owner (`mode`: 0o700 for directories, 0o600 for files).
#[cfg(unix)]
fn owner_only(path: &Path, mode: u32) -> Result<(), ServeError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|source| ServeError::DataDir { path: path.display().to_string(), source })
}

#[cfg(not(unix))]
fn owner_only(_: &Path, _: u32) -> Result<(), ServeError> {
    Ok(())
}

/// The API token: `WEIR_API_TOKEN`, else the one kept in `DATA_DIR/api-token` (made and
/// printed on first start).
fn api_token(data_dir: &Path) -> Result<String, ServeError> {
    if let Ok(t) = std::env::var("WEIR_API_TOKEN")
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_string());
    }
    let path = data_dir.join("api-token");
    let io = |source| ServeError::DataDir { path: path.display().to_string(), source };
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        owner_only(&path, 0o600)?;
        return Ok(t.trim().to_string());
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    std::io::Write::write_all(&mut file.open(&path).map_err(io)?, token.as_bytes()).map_err(io)?;
    owner_only(&path, 0o600)?;
    eprintln!("weir serve: generated an API token (kept in {}):\n  {token}", path.display());
    Ok(token)
}

/// Deals with the runs left behind by stopped instances (see [`store::Backend::recover`]):
/// this instance's own leftovers are adopted ([`worker::adopt`]: followed while their child
/// lives, then finished from its events, retried only then), runs the store failed (other
/// instances whose lease expired) are retried per policy.
async fn recover(
    store: &store::Store,
    workers: &worker::WorkerConfig,
    running: &worker::Running,
    at_start: bool,
) -> Result<(), store::StoreError> {
    let recovered = store.recover(at_start).await?;
    if at_start {
        worker::remove_stale_dirs(workers, &recovered.orphans);
    }
    if !recovered.orphans.is_empty() {
        tracing::warn!(
            "{} run(s) were in progress when the service stopped: adopting or finishing them",
            recovered.orphans.len()
        );
    }
    for run in recovered.orphans {
        tokio::spawn(worker::adopt(workers.clone(), store.clone(), running.clone(), run));
    }
    if !recovered.failed.is_empty() {
        tracing::warn!(
            "{} run(s) were in progress when their service instance stopped: marked failed",
            recovered.failed.len()
        );
    }
    for run in &recovered.failed {
        if let Some(delay) = workers.policy.retry_delay(run.attempt) {
            let id = store.retry(run, delay).await?;
            tracing::info!(run = run.id, retry = id, "interrupted run retried in {:.0} s", delay.as_secs_f64());
        }
    }
    Ok(())
}

/// A connection URL without its password.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let dir_err = |p: &Path| {
        let path = p.display().to_string();
        move |source| ServeError::DataDir { path, source }
    };
    #[cfg(unix)]
    if !options.allow_root && unsafe { libc::geteuid() } == 0 {
        return Err(ServeError::Root);
    }
    let trigger_dir = options.data_dir.join("trigger");
    std::fs::create_dir_all(&trigger_dir).map_err(dir_err(&trigger_dir))?;
    // The run history, the token and the logs are the owner's only.
    owner_only(&options.data_dir, 0o700)?;
    let (config, mut schedules) = match &options.config {
        Some(path) => ServiceConfig::load(path)?,
        None => (ServiceConfig::default(), Vec::new()),
    };
    let token = api_token(&options.data_dir)?;
    let store = match &options.store {
        Some(url) => {
            let instance = store::postgres::instance_name(&options.data_dir);
            let store = store::Store::connect_postgres(url, instance.clone())
                .await
                .map_err(|e| ServeError::StoreConnect { url: redact_url(url), source: e })?;
            eprintln!("weir serve: run store {} shared as instance '{instance}'", redact_url(url));
            store
        }
        None => store::Store::open(&options.data_dir.join("weir.db"))?,
    };
    let policy = config.runs.clone();
    let runs_dir = options.data_dir.join("runs");
    std::fs::create_dir_all(&runs_dir).map_err(dir_err(&runs_dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runs_dir, std::fs::Permissions::from_mode(0o700)).map_err(dir_err(&runs_dir))?;
    }
    let workers = worker::WorkerConfig {
        weir: options.weir.clone(),
        workers: options.workers,
        timeout: options.run_timeout,
        max_log_bytes: 4 << 20,
        policy: policy.clone(),
        runs_dir,
        ecs: match &config.launcher {
            ecs::LauncherConfig::Process => None,
            ecs::LauncherConfig::Ecs(c) => {
                eprintln!("weir serve: runs start as ECS tasks of '{}' on cluster '{}'", c.task_definition, c.cluster);
                Some(ecs::EcsLauncher { client: c.client().await, config: c.clone() })
            }
        },
    };
    let running = worker::Running::default();
    recover(&store, &workers, &running, true).await?;
    if store.shared() {
        // Renew this instance's lease; fail (and retry) the runs of instances whose lease expired.
        let (store, workers, running) = (store.clone(), workers.clone(), running.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                if let Err(e) = store.heartbeat().await {
                    tracing::error!("cannot renew this instance's lease: {e}");
                }
                if let Err(e) = recover(&store, &workers, &running, false).await {
                    tracing::error!("cannot check for runs of stopped instances: {e}");
                }
            }
        });
    }
    if let Some(days) = policy.retention_days {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let cutoff = chrono::Utc::now() - chrono::Duration::milliseconds((days * 86_400_000.0) as i64);
                match store.purge(cutoff).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("retention: deleted {n} run(s) finished before {cutoff}"),
                    Err(e) => tracing::error!("retention: cannot delete old runs: {e}"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
    }
    let mut run_env = Map::new();
    if let Some(env) = &options.environment {
        run_env.insert("ETL_CONF_ENV".into(), Value::String(env.clone()));
    }
    // Run histories show rows for every stage (unless the service's environment says otherwise).
    if std::env::var_os("WEIR_COUNT_ROWS").is_none() {
        run_env.insert("WEIR_COUNT_ROWS".into(), Value::String("true".into()));
    }
    let wake = Arc::new(Notify::new());
    worker::start(workers, store.clone(), running.clone(), wake.clone());
    let trigger_dir = trigger_dir.canonicalize().unwrap_or(trigger_dir);
    // One storage layer (and its object-store clients) for every trigger: trigger::storage().
    trigger::start_polling(
        trigger::PollTrigger {
            name: "directory".into(),
            location: trigger_dir.display().to_string(),
            filter: trigger::Filter::default(),
            interval: options.poll_interval,
            quiet: options.quiet,
            env: run_env.clone(),
        },
        store.clone(),
        wake.clone(),
    );
    for t in &config.trigger {
        let mut env = run_env.clone();
        // Runs (and the store) carry references to secret values, resolved when a run starts.
        env.extend(secrets::protect(&format!("trigger/{}", t.name), &t.env));
        match t.kind {
            trigger::TriggerKind::Poll => {
                let location = t.location.clone().unwrap_or_default();
                eprintln!("weir serve: trigger '{}' polls {location}", t.name);
                trigger::start_polling(
                    trigger::PollTrigger {
                        name: t.name.clone(),
                        location,
                        filter: t.filter(),
                        interval: t.interval_ms.map(Duration::from_millis).unwrap_or(options.poll_interval),
                        quiet: t.quiet_ms.map(Duration::from_millis).unwrap_or(options.quiet),
                        env,
                    },
                    store.clone(),
                    wake.clone(),
                );
            }
            trigger::TriggerKind::Sqs => {
                eprintln!(
                    "weir serve: trigger '{}' reads S3 events from {}",
                    t.name,
                    t.queue_url.as_deref().unwrap_or("")
                );
                sqs::start(t.clone(), env, store.clone(), wake.clone());
            }
        }
    }
    for s in &mut schedules {
        s.config.env = secrets::protect(&format!("schedule/{}", s.config.name), &s.config.env);
    }
    for s in &schedules {
        if let Some(warning) = schedule::pitfall(&s.config.cron) {
            tracing::warn!("schedule '{}': {warning}", s.config.name);
        }
        schedule::start(s.clone(), store.clone(), running.clone(), wake.clone(), run_env.clone());
    }
    let mut triggers = vec![serde_json::json!({
        "name": "directory", "type": "poll", "location": trigger_dir.display().to_string(),
        "prefix": "", "suffixes": trigger::default_suffixes(),
    })];
    triggers.extend(config.trigger.iter().map(|t| {
        let mut v = t.describe();
        secrets::mask_env_field(&mut v);
        v
    }));
    let job_roots = access::JobRoots::new(&config.api.job_roots.clone().unwrap_or_else(|| {
        let mut roots = vec![trigger_dir.display().to_string()];
        roots.extend(
            config.trigger.iter().filter(|t| t.kind == trigger::TriggerKind::Poll).filter_map(|t| t.location.clone()),
        );
        roots
    }));
    triggers.push(serde_json::json!({"name": "s3-event", "type": "http", "location": "/api/events/s3"}));
    triggers.push(serde_json::json!({"name": "api", "type": "http", "location": "/api/runs"}));
    let state = api::AppState {
        store,
        token: Arc::new(token),
        wake,
        running,
        run_env,
        schedules: Arc::new(schedules),
        triggers: Arc::new(triggers),
        job_roots: Arc::new(job_roots),
        env_allow: Arc::new(config.api.env_allow.clone()),
    };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen { addr: options.listen, source })?;
    let addr = listener.local_addr().unwrap_or(options.listen);
    eprintln!("weir serve: http://{addr}/ (API: /api/runs), watching {} for job files", trigger_dir.display());
    http::serve(listener, api::router(state), Duration::from_secs_f64(config.api.header_timeout_s), shutdown_signal())
        .await
        .map_err(ServeError::Http)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
