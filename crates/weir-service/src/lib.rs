//! `weir serve`: runs jobs when job files are dropped into a trigger location, keeps a durable
//! run history, and serves an HTTP API and a web UI.
//!
//! Triggers ([`trigger`]) queue runs in the [`store`]; workers ([`worker`]) claim them and run
//! each as a child `weir run` process; [`api`] serves the history, submits and cancels.
pub mod api;
pub mod s3event;
pub mod schedule;
pub mod store;
pub mod trigger;
pub mod ui;
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
    pub run_timeout: Duration,
    /// `ETL_CONF_ENV` for triggered runs (else the service's own environment decides).
    pub environment: Option<String>,
    /// The `weir` binary runs are started with.
    pub weir: PathBuf,
    /// `weir.toml`: schedules.
    pub config: Option<PathBuf>,
}

/// The service's config file (`--config weir.toml`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// `[[schedule]]` entries.
    #[serde(default)]
    pub schedule: Vec<schedule::ScheduleConfig>,
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
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("config {path}: {message}")]
    Config { path: String, message: String },
    #[error("HTTP server failed: {0}")]
    Http(std::io::Error),
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
        return Ok(t.trim().to_string());
    }
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    std::fs::write(&path, &token).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    eprintln!("weir serve: generated an API token (kept in {}):\n  {token}", path.display());
    Ok(token)
}

/// Runs the service until Ctrl-C or SIGTERM.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let dir_err = |p: &Path| {
        let path = p.display().to_string();
        move |source| ServeError::DataDir { path, source }
    };
    let trigger_dir = options.data_dir.join("trigger");
    std::fs::create_dir_all(&trigger_dir).map_err(dir_err(&trigger_dir))?;
    let schedules = match &options.config {
        Some(path) => ServiceConfig::load(path)?.1,
        None => Vec::new(),
    };
    let token = api_token(&options.data_dir)?;
    let store = store::Store::open(&options.data_dir.join("weir.db"))?;
    let recovered = store.recover().await?;
    if recovered > 0 {
        tracing::warn!("{recovered} run(s) were in progress when the service stopped: marked failed");
    }
    let mut run_env = Map::new();
    if let Some(env) = &options.environment {
        run_env.insert("ETL_CONF_ENV".into(), Value::String(env.clone()));
    }
    let wake = Arc::new(Notify::new());
    let running = worker::Running::default();
    worker::start(
        worker::WorkerConfig {
            weir: options.weir.clone(),
            workers: options.workers,
            timeout: options.run_timeout,
            max_log_bytes: 4 << 20,
        },
        store.clone(),
        running.clone(),
        wake.clone(),
    );
    let trigger_dir = trigger_dir.canonicalize().unwrap_or(trigger_dir);
    trigger::start_polling(
        trigger::PollTrigger {
            name: "directory".into(),
            location: trigger_dir.display().to_string(),
            prefix: String::new(),
            suffixes: trigger::default_suffixes(),
            interval: options.poll_interval,
            env: run_env.clone(),
        },
        weir_engine::storage::Storage::new(Default::default()),
        store.clone(),
        wake.clone(),
    );
    for s in &schedules {
        if let Some(warning) = schedule::pitfall(&s.config.cron) {
            tracing::warn!("schedule '{}': {warning}", s.config.name);
        }
        schedule::start(s.clone(), store.clone(), running.clone(), wake.clone(), run_env.clone());
    }
    let state = api::AppState { store, token: Arc::new(token), wake, running, run_env, schedules: Arc::new(schedules) };
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ServeError::Listen { addr: options.listen, source })?;
    let addr = listener.local_addr().unwrap_or(options.listen);
    eprintln!("weir serve: http://{addr}/ (API: /api/runs), watching {} for job files", trigger_dir.display());
    axum::serve(listener, api::router(state)).with_graceful_shutdown(shutdown_signal()).await.map_err(ServeError::Http)
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
