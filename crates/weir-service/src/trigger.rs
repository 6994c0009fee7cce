//! Triggers that start runs, and the environment a triggered run gets (the seed's Lambda
//! contract: `ETL_CONF_URI`, `ETL_CONF_JOB_NAME`, `ETL_CONF_STREAMING`,
//! `ETL_CONF_CURRENT_TIMESTAMP`).
//!
//! The polling trigger lists a directory or bucket prefix through the engine's storage layer.
//! A file is queued once its version (ETag, else size and modification time) has been seen
//! unchanged on two polls in a row, so a file still being copied is not read half-written.
//! Exactly one run per object version: the store's dedupe key is the trigger, the object and
//! its version, so restarts and repeated listings never queue a version twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Notify;
use weir_engine::storage::Storage;

use crate::store::{NewRun, Queued, Store};

/// A polling trigger's settings.
#[derive(Debug, Clone)]
pub struct PollTrigger {
    pub name: String,
    /// Directory path or URI (`file://`, `s3://bucket/prefix/`).
    pub location: String,
    /// Only keys whose file name starts with this.
    pub prefix: String,
    /// Only keys ending with one of these (e.g. `.ipynb`, `.json`, `.conf`).
    pub suffixes: Vec<String>,
    pub interval: Duration,
    /// Extra variables for every run (`ETL_CONF_ENV`...).
    pub env: Map<String, Value>,
}

/// Default job file suffixes.
pub fn default_suffixes() -> Vec<String> {
    [".ipynb", ".json", ".conf"].map(String::from).to_vec()
}

/// The seed's run environment for a job file at `uri`.
pub fn run_env(uri: &str, extra: &Map<String, Value>) -> Map<String, Value> {
    let file = uri.trim_end_matches('/').rsplit('/').next().unwrap_or(uri);
    let job_name = file.split('.').next().unwrap_or(file).to_string();
    let mut env = extra.clone();
    env.insert("ETL_CONF_URI".into(), uri.into());
    env.insert("ETL_CONF_JOB_NAME".into(), job_name.clone().into());
    env.insert("ETL_CONF_STREAMING".into(), job_name.to_lowercase().contains("stream").to_string().into());
    let ts = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f");
    env.insert("ETL_CONF_CURRENT_TIMESTAMP".into(), format!("\"{ts}\"").into());
    env
}

fn matches(t: &PollTrigger, uri: &str) -> bool {
    let file = uri.rsplit('/').next().unwrap_or(uri);
    file.starts_with(&t.prefix) && (t.suffixes.is_empty() || t.suffixes.iter().any(|s| file.ends_with(s.as_str())))
}

/// Polls `trigger` forever, queueing a run per new object version and waking the workers.
pub fn start_polling(trigger: PollTrigger, storage: Storage, store: Store, wake: Arc<Notify>) {
    tokio::spawn(async move {
        // Versions seen on the previous poll (queued only when seen twice, unchanged).
        let mut pending: HashMap<String, String> = HashMap::new();
        // Versions already queued (or recorded) by this process: not offered again.
        let mut queued: HashMap<String, String> = HashMap::new();
        let mut warned = false;
        loop {
            match storage.list_files(&trigger.location).await {
                Ok(files) => {
                    warned = false;
                    let mut seen = HashMap::new();
                    for f in files.unwrap_or_default() {
                        let uri = f.url.to_string();
                        if !matches(&trigger, &uri) {
                            continue;
                        }
                        let version = f.meta.e_tag.clone().unwrap_or_else(|| {
                            format!(
                                "{}-{}",
                                f.meta.size,
                                f.meta.last_modified.timestamp_nanos_opt().unwrap_or_default()
                            )
                        });
                        if queued.get(&uri) == Some(&version) {
                            continue;
                        }
                        if pending.get(&uri) == Some(&version) {
                            let job = if f.url.scheme() == "file" {
                                f.url.to_file_path().map(|p| p.display().to_string()).unwrap_or_else(|_| uri.clone())
                            } else {
                                uri.clone()
                            };
                            let run = NewRun {
                                job: job.clone(),
                                trigger: trigger.name.clone(),
                                dedupe_key: Some(format!("{}|{uri}|{version}", trigger.name)),
                                // Listing the same version again (e.g. after a restart) is not a new event.
                                count_duplicate: false,
                                env: run_env(&job, &trigger.env),
                            };
                            match store.enqueue(run).await {
                                Ok(Queued::New(id)) => {
                                    tracing::info!(run = id, job = %job, trigger = %trigger.name, "run queued");
                                    wake.notify_waiters();
                                }
                                Ok(Queued::Duplicate(_)) => {}
                                Err(e) => {
                                    tracing::error!("cannot queue {uri}: {e}");
                                    continue; // not remembered: retried next poll
                                }
                            }
                            queued.insert(uri.clone(), version.clone());
                        }
                        seen.insert(uri, version);
                    }
                    pending = seen;
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!(trigger = %trigger.name, "cannot list {}: {e}", trigger.location);
                        warned = true;
                    }
                }
            }
            tokio::time::sleep(trigger.interval).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_env_follows_the_seed() {
        let env = run_env("s3a://bucket/jobs/scd2_stream.v2.ipynb", &Map::new());
        assert_eq!(env["ETL_CONF_URI"], "s3a://bucket/jobs/scd2_stream.v2.ipynb");
        assert_eq!(env["ETL_CONF_JOB_NAME"], "scd2_stream");
        assert_eq!(env["ETL_CONF_STREAMING"], "true");
        let ts = env["ETL_CONF_CURRENT_TIMESTAMP"].as_str().unwrap();
        assert!(ts.starts_with('"') && ts.ends_with('"') && ts.len() == 25, "{ts}");
    }

    #[test]
    fn filters_by_prefix_and_suffix() {
        let t = PollTrigger {
            name: "t".into(),
            location: "/x".into(),
            prefix: "prod_".into(),
            suffixes: default_suffixes(),
            interval: Duration::from_millis(10),
            env: Map::new(),
        };
        assert!(matches(&t, "file:///x/prod_a.ipynb"));
        assert!(!matches(&t, "file:///x/dev_a.ipynb"));
        assert!(!matches(&t, "file:///x/prod_a.csv"));
    }
}
