//! Triggers that start runs, and the environment a triggered run gets (the seed's Lambda
//! contract: `ETL_CONF_URI`, `ETL_CONF_JOB_NAME`, `ETL_CONF_STREAMING`,
//! `ETL_CONF_CURRENT_TIMESTAMP`).
//!
//! The polling trigger lists a directory or bucket prefix through the engine's storage layer.
//! A file is queued once its version (ETag, else size and modification time) has stayed
//! unchanged for the trigger's quiet period (and at least two polls), so a file still being
//! written is not read half-written. Its content is read then (a [`Snapshot`] the run executes)
//! and its version checked again after the read: a file that changed while being read is left
//! for a later poll. Exactly one run per object version: the store's dedupe key is the
//! trigger, the object and its version, so restarts and repeated listings never queue a
//! version twice.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::Notify;
use weir_engine::storage::Storage;

use crate::store::{MAX_SNAPSHOT_BYTES, NewRun, Queued, Snapshot, Store};

/// Which files a trigger starts runs for: the object key (for polling, the path below the
/// trigger's location) must start with `prefix` and end with one of `suffixes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub prefix: String,
    pub suffixes: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter { prefix: String::new(), suffixes: default_suffixes() }
    }
}

impl Filter {
    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.prefix)
            && (self.suffixes.is_empty() || self.suffixes.iter().any(|s| key.ends_with(s.as_str())))
    }

    /// Why `key` is not a job file for this trigger (`None`: it is).
    pub fn rejects(&self, key: &str) -> Option<String> {
        if self.matches(key) {
            return None;
        }
        let mut what = format!("ending with {}", self.suffixes.join(", "));
        if !self.prefix.is_empty() {
            what = format!("starting with '{}' and {what}", self.prefix);
        }
        Some(format!("'{key}' is not a job file for this trigger (keys {what})"))
    }
}

/// A polling trigger's settings.
#[derive(Debug, Clone)]
pub struct PollTrigger {
    pub name: String,
    /// Directory path or URI (`file://`, `s3://bucket/prefix/`).
    pub location: String,
    pub filter: Filter,
    pub interval: Duration,
    /// A file is queued only once its version has been unchanged this long.
    pub quiet: Duration,
    /// Extra variables for every run (`ETL_CONF_ENV`...).
    pub env: Map<String, Value>,
}

/// A trigger as configured (`[[trigger]]` in weir.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    pub name: String,
    /// `poll` (a directory or bucket prefix, listed every `interval_ms`) or `sqs` (S3 event
    /// notifications from an SQS queue).
    #[serde(rename = "type", default)]
    pub kind: TriggerKind,
    /// poll: the directory or URI listed (`/srv/jobs`, `s3://bucket/jobs/`).
    pub location: Option<String>,
    /// sqs: the queue URL.
    pub queue_url: Option<String>,
    /// sqs: endpoint override (else `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` / AWS).
    pub endpoint: Option<String>,
    /// sqs: region (else `AWS_REGION`, else us-east-1).
    pub region: Option<String>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "default_suffixes")]
    pub suffixes: Vec<String>,
    /// poll: how often to list (default: `--poll-interval-ms`).
    pub interval_ms: Option<u64>,
    /// poll: a file is queued once unchanged this long after its last change (default:
    /// `--quiet-ms`).
    pub quiet_ms: Option<u64>,
    /// sqs: long-poll wait per receive, 0–20 s (default 20).
    pub wait_seconds: Option<i32>,
    /// Variables for its runs.
    #[serde(default)]
    pub env: Map<String, Value>,
}

/// The kinds of configured trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriggerKind {
    #[default]
    Poll,
    Sqs,
}

impl TriggerConfig {
    /// Checks the fields its kind needs.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        let unexpected = |field: &str, present: bool| match present {
            true => Err(format!("trigger '{name}': '{field}' does not apply to a {:?} trigger", self.kind)),
            false => Ok(()),
        };
        match self.kind {
            TriggerKind::Poll => {
                if self.location.as_deref().unwrap_or("").is_empty() {
                    return Err(format!(
                        "trigger '{name}': a poll trigger needs 'location' (a directory or s3:// URI)"
                    ));
                }
                unexpected("queue_url", self.queue_url.is_some())?;
                unexpected("wait_seconds", self.wait_seconds.is_some())?;
                unexpected("endpoint", self.endpoint.is_some())?;
            }
            TriggerKind::Sqs => {
                if self.queue_url.as_deref().unwrap_or("").is_empty() {
                    return Err(format!("trigger '{name}': an sqs trigger needs 'queue_url'"));
                }
                unexpected("location", self.location.is_some())?;
                unexpected("interval_ms", self.interval_ms.is_some())?;
                unexpected("quiet_ms", self.quiet_ms.is_some())?;
                if let Some(w) = self.wait_seconds
                    && !(0..=20).contains(&w)
                {
                    return Err(format!("trigger '{name}': wait_seconds must be between 0 and 20"));
                }
            }
        }
        if ["directory", "api", "s3-event"].contains(&name.as_str()) || name.starts_with("schedule:") {
            return Err(format!("trigger name '{name}' is reserved"));
        }
        Ok(())
    }

    /// How `GET /api/triggers` shows it.
    pub fn describe(&self) -> Value {
        let (kind, location) = match self.kind {
            TriggerKind::Poll => ("poll", self.location.clone()),
            TriggerKind::Sqs => ("sqs", self.queue_url.clone()),
        };
        serde_json::json!({
            "name": self.name, "type": kind, "location": location,
            "prefix": self.prefix, "suffixes": self.suffixes, "env": self.env,
        })
    }

    pub fn filter(&self) -> Filter {
        Filter { prefix: self.prefix.clone(), suffixes: self.suffixes.clone() }
    }
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

/// The path of `uri` below the listed location `root` (a directory URL ending in `/`).
fn relative_key<'a>(root: &str, uri: &'a str) -> &'a str {
    uri.strip_prefix(root).unwrap_or_else(|| uri.rsplit('/').next().unwrap_or(uri))
}

/// The storage layer triggers read job files with (one set of object-store clients).
pub fn storage() -> &'static Storage {
    static STORAGE: OnceLock<Storage> = OnceLock::new();
    STORAGE.get_or_init(|| Storage::new(Default::default()))
}

/// An object's version as listed or read: its ETag (S3; local files: inode, size and
/// modification time), else size and modification time.
fn version_of(meta: &object_store::ObjectMeta) -> String {
    meta.e_tag
        .clone()
        .unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_nanos_opt().unwrap_or_default()))
}

/// Whether `meta` (from a HEAD or GET) is still the version a listing gave as `listed`. Stores
/// differ in what a listing carries: an ETag (compared without its quotes), or none (s3s-fs,
/// some S3-compatible stores), when the listed version is size and modification time —
/// compared to the second, the precision of HTTP's Last-Modified.
fn same_version(listed: &str, meta: &object_store::ObjectMeta) -> bool {
    if meta.e_tag.as_deref().is_some_and(|tag| tag.trim_matches('"') == listed.trim_matches('"')) {
        return true;
    }
    match listed.split_once('-') {
        Some((size, nanos)) => {
            size.parse::<u64>().ok() == Some(meta.size)
                && nanos.parse::<i64>().ok().map(|n| n.div_euclid(1_000_000_000))
                    == Some(meta.last_modified.timestamp())
        }
        None => false,
    }
}

/// Why a job file's content could not be snapshotted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{uri} is {size} bytes: job files of more than {} MiB are not run", MAX_SNAPSHOT_BYTES >> 20)]
    TooBig { uri: String, size: u64 },
    #[error("{uri} changed while it was read")]
    Changed { uri: String },
    #[error("{uri} is not the version the event named (eTag {expected}): it was overwritten since")]
    Overwritten { uri: String, expected: String },
    #[error("cannot read {uri}: {message}")]
    Read { uri: String, message: String },
}

/// What to expect of the object read by [`read_snapshot`].
#[derive(Debug, Default, Clone)]
pub struct Expect {
    /// Read this object version (S3 versionId).
    pub version_id: Option<String>,
    /// The object's ETag must be this (quotes ignored).
    pub e_tag: Option<String>,
    /// The listed version: the object is checked again after the read and must still be it.
    pub listed: Option<String>,
}

/// Reads a job file's content for its run, checked against `expect`.
pub async fn read_snapshot(job: &str, expect: &Expect) -> Result<Snapshot, SnapshotError> {
    let read_err = |message: String| SnapshotError::Read { uri: job.to_string(), message };
    let url = weir_engine::storage::parse_uri(job).map_err(|e| read_err(e.to_string()))?;
    let store = storage().store(&url).map_err(|e| read_err(e.to_string()))?;
    let path = weir_engine::storage::object_path(&url).map_err(|e| read_err(e.to_string()))?;
    let unquote = |t: &str| t.trim_matches('"').to_string();
    let options = object_store::GetOptions {
        version: expect.version_id.clone(),
        if_match: expect.e_tag.as_deref().map(|t| format!("\"{}\"", unquote(t))),
        ..Default::default()
    };
    let result = match store.get_opts(&path, options).await {
        Ok(r) => r,
        Err(object_store::Error::Precondition { .. }) => {
            let expected = expect.e_tag.as_deref().map(unquote).unwrap_or_default();
            return Err(SnapshotError::Overwritten { uri: job.to_string(), expected });
        }
        Err(e) => return Err(read_err(e.to_string())),
    };
    let meta = result.meta.clone();
    if meta.size > MAX_SNAPSHOT_BYTES as u64 {
        return Err(SnapshotError::TooBig { uri: job.to_string(), size: meta.size });
    }
    let content = result.bytes().await.map_err(|e| read_err(e.to_string()))?.to_vec();
    let version = expect.version_id.clone().or(expect.listed.clone()).unwrap_or_else(|| version_of(&meta));
    if let Some(listed) = &expect.listed {
        // Still the version listed, after the read? (Else it is being written: a later poll.)
        let now =
            object_store::ObjectStoreExt::head(store.as_ref(), &path).await.map_err(|e| read_err(e.to_string()))?;
        if !same_version(listed, &now) || !same_version(listed, &meta) || content.len() as u64 != now.size {
            return Err(SnapshotError::Changed { uri: job.to_string() });
        }
    }
    Ok(Snapshot { content, version })
}

/// Queues `run` with the job content `read` (or records it failed with the reason), returning
/// what queueing did (`None`: recorded failed).
async fn queue_read(
    store: &Store,
    mut run: NewRun,
    read: Result<Snapshot, SnapshotError>,
) -> Result<Option<Queued>, crate::store::StoreError> {
    match read {
        Ok(snapshot) => {
            run.snapshot = Some(snapshot);
            store.enqueue(run).await.map(Some)
        }
        Err(e) => {
            tracing::warn!(job = %run.job, trigger = %run.trigger, "run failed at enqueue: {e}");
            store.record_failed(run, e.to_string()).await.map(|_| None)
        }
    }
}

/// Queues one run per S3 object of an event notification (from the HTTP endpoint or SQS):
/// exactly one run per object version, repeats counted as duplicates on that run. The object
/// is read at enqueue (by versionId when the event has one, else checked against its eTag) and
/// its run executes that content. Returns the queued and duplicate run ids and the records
/// skipped (with why). Any store error is returned before the caller acknowledges the event,
/// so nothing is lost.
pub async fn queue_objects(
    store: &Store,
    trigger: &str,
    filter: &Filter,
    objects: Vec<crate::s3event::ObjectEvent>,
    extra_env: &Map<String, Value>,
) -> Result<(Vec<i64>, Vec<i64>, Vec<String>), crate::store::StoreError> {
    let (mut queued, mut duplicates, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for object in objects {
        let uri = object.uri();
        if let Some(why) = filter.rejects(&object.key) {
            skipped.push(format!("s3://{}/{}: {why}", object.bucket, object.key));
            continue;
        }
        let run = NewRun {
            job: uri.clone(),
            trigger: trigger.to_string(),
            dedupe_key: Some(object.dedupe_key()),
            count_duplicate: true,
            env: run_env(&uri, extra_env),
            snapshot: None,
        };
        let expect = Expect { version_id: object.version_id.clone(), e_tag: object.etag.clone(), listed: None };
        let read = match read_snapshot(&uri, &expect).await {
            // A missing object: its run fails when it starts, with the URI in its error.
            Err(SnapshotError::Read { message, .. }) => {
                tracing::warn!(job = %uri, trigger, "cannot read the object at enqueue: {message}");
                match store.enqueue(run).await? {
                    Queued::New(id) => queued.push(id),
                    Queued::Duplicate(id) => duplicates.push(id),
                }
                continue;
            }
            read => read,
        };
        match queue_read(store, run, read).await? {
            Some(Queued::New(id)) => {
                tracing::info!(run = id, job = %uri, trigger, "run queued");
                queued.push(id)
            }
            Some(Queued::Duplicate(id)) => {
                tracing::info!(run = id, job = %uri, trigger, "duplicate event for an object version already queued");
                duplicates.push(id)
            }
            None => skipped.push(format!("{uri}: not queued, recorded as a failed run")),
        }
    }
    Ok((queued, duplicates, skipped))
}

/// A listed file's version and since when it has been seen unchanged.
struct Pending {
    version: String,
    since: Instant,
    polls: u32,
}

/// Polls `trigger` forever, queueing a run per new object version and waking the workers.
pub fn start_polling(trigger: PollTrigger, store: Store, wake: Arc<Notify>) {
    tokio::spawn(async move {
        // Versions seen on earlier polls, not yet queued.
        let mut pending: HashMap<String, Pending> = HashMap::new();
        // Versions already queued (or recorded) by this process: not offered again.
        let mut queued: HashMap<String, String> = HashMap::new();
        let mut warned = false;
        let root = weir_engine::storage::parse_uri(&trigger.location)
            .map(|u| {
                let text = u.to_string();
                if text.ends_with('/') { text } else { format!("{text}/") }
            })
            .unwrap_or_default();
        loop {
            match storage().list_files(&trigger.location).await {
                Ok(files) => {
                    warned = false;
                    let files = files.unwrap_or_default();
                    let listed: std::collections::HashSet<String> = files.iter().map(|f| f.url.to_string()).collect();
                    pending.retain(|uri, _| listed.contains(uri));
                    for f in files {
                        let uri = f.url.to_string();
                        if !trigger.filter.matches(relative_key(&root, &uri)) {
                            continue;
                        }
                        let version = version_of(&f.meta);
                        if queued.get(&uri) == Some(&version) {
                            continue;
                        }
                        let p = pending.entry(uri.clone()).or_insert_with(|| Pending {
                            version: version.clone(),
                            since: Instant::now(),
                            polls: 0,
                        });
                        if p.version != version {
                            // Changed since the last poll: the quiet period starts again.
                            *p = Pending { version: version.clone(), since: Instant::now(), polls: 0 };
                        }
                        p.polls += 1;
                        if p.polls < 2 || p.since.elapsed() < trigger.quiet {
                            continue;
                        }
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
                            snapshot: None,
                        };
                        let expect = Expect { listed: Some(version.clone()), ..Default::default() };
                        let read = match read_snapshot(&uri, &expect).await {
                            Err(e @ (SnapshotError::Changed { .. } | SnapshotError::Read { .. })) => {
                                tracing::debug!(trigger = %trigger.name, "not queued yet: {e}");
                                pending.remove(&uri); // read again once it is quiet
                                continue;
                            }
                            read => read,
                        };
                        match queue_read(&store, run, read).await {
                            Ok(Some(Queued::New(id))) => {
                                tracing::info!(run = id, job = %job, trigger = %trigger.name, "run queued");
                                wake.notify_waiters();
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!("cannot queue {uri}: {e}");
                                continue; // not remembered: retried next poll
                            }
                        }
                        pending.remove(&uri);
                        queued.insert(uri, version);
                    }
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
    fn listed_versions_match_head_whatever_the_listing_carries() {
        use chrono::Timelike;
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-02T00:42:15.491Z").unwrap().with_timezone(&chrono::Utc);
        let head = |e_tag: Option<&str>, size: u64| object_store::ObjectMeta {
            location: "k".into(),
            last_modified: at.with_nanosecond(0).unwrap(),
            size,
            e_tag: e_tag.map(String::from),
            version: None,
        };
        // A listing with ETags: compared without quotes.
        assert!(same_version("\"abc\"", &head(Some("abc"), 13)));
        assert!(!same_version("\"abc\"", &head(Some("abd"), 13)));
        // A listing without (s3s-fs): size and modification time, to the second.
        let listed = format!("13-{}", at.timestamp_nanos_opt().unwrap());
        assert!(same_version(&listed, &head(Some("\"7228\""), 13)));
        assert!(!same_version(&listed, &head(Some("\"7228\""), 14)));
    }

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
        let f = Filter { prefix: "prod_".into(), suffixes: default_suffixes() };
        let key = |uri| relative_key("file:///x/", uri);
        assert!(f.matches(key("file:///x/prod_a.ipynb")));
        assert!(!f.matches(key("file:///x/dev_a.ipynb")));
        assert!(!f.matches(key("file:///x/prod_a.csv")));
        let nested = Filter { prefix: "jobs/".into(), suffixes: vec![".json".into()] };
        assert!(nested.matches(relative_key("s3://b/in/", "s3://b/in/jobs/a.json")));
        assert!(!nested.matches(relative_key("s3://b/in/", "s3://b/in/a.json")));
        assert_eq!(
            nested.rejects("a.csv").as_deref(),
            Some("'a.csv' is not a job file for this trigger (keys starting with 'jobs/' and ending with .json)")
        );
    }

    #[test]
    fn trigger_config_needs_the_fields_of_its_kind() {
        let parse =
            |text: &str| toml::from_str::<TriggerConfig>(text).map_err(|e| e.to_string()).and_then(|t| t.validate());
        assert!(parse("name = 'a'\nlocation = 's3://b/in/'").is_ok());
        assert!(parse("name = 'a'").unwrap_err().contains("needs 'location'"));
        assert!(parse("name = 'a'\ntype = 'sqs'").unwrap_err().contains("needs 'queue_url'"));
        assert!(
            parse("name = 'a'\ntype = 'sqs'\nqueue_url = 'q'\nlocation = 'x'")
                .unwrap_err()
                .contains("'location' does not apply")
        );
        assert!(
            parse("name = 'a'\ntype = 'sqs'\nqueue_url = 'q'\nwait_seconds = 30")
                .unwrap_err()
                .contains("between 0 and 20")
        );
        assert!(parse("name = 'directory'\nlocation = '/x'").unwrap_err().contains("reserved"));
        assert!(parse("name = 'a'\nlocation = '/x'\nsufixes = []").is_err());
    }

    #[tokio::test]
    async fn snapshots_read_the_listed_version_and_refuse_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("a.json");
        std::fs::write(&job, "{\"stages\": []}").unwrap();
        let listed = storage().list_files(&job.display().to_string()).await.unwrap().unwrap();
        let version = version_of(&listed[0].meta);
        let path = job.display().to_string();
        let snap = read_snapshot(&path, &Expect { listed: Some(version.clone()), ..Default::default() }).await.unwrap();
        assert_eq!((snap.content.as_slice(), snap.version.as_str()), (&b"{\"stages\": []}"[..], version.as_str()));
        // Listed before it changed: not queued now.
        std::fs::write(&job, "{\"stages\": [], \"more\": 1}").unwrap();
        let stale = read_snapshot(&path, &Expect { listed: Some(version), ..Default::default() }).await;
        assert!(matches!(stale, Err(SnapshotError::Changed { .. })), "{stale:?}");
        let big = dir.path().join("big.json");
        std::fs::File::create(&big).unwrap().set_len(MAX_SNAPSHOT_BYTES as u64 + 1).unwrap();
        let err = read_snapshot(&big.display().to_string(), &Expect::default()).await.unwrap_err();
        assert!(err.to_string().contains("more than 16 MiB are not run"), "{err}");
        let missing = read_snapshot(&dir.path().join("gone.json").display().to_string(), &Expect::default()).await;
        assert!(matches!(missing, Err(SnapshotError::Read { .. })), "{missing:?}");
    }
}
