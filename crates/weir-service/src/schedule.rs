//! Cron schedules: each fires runs of one job at the times of a cron expression in a time zone
//! (5 fields, or 6 with seconds first; `@daily`-style nicknames). Each fire time queues at
//! most one run (the store dedupes on schedule + fire time, so a restart never fires twice).
//! Concurrency policy when the previous run is still queued or running: `allow` starts
//! another, `forbid` skips the fire and records why, `replace` cancels the previous one.
//! Fires missed while the service was down are skipped, or run once (`missed = "run-once"`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Notify;

use crate::store::{NewRun, Queued, Store};
use crate::trigger::run_env;
use crate::worker::Running;

/// What to do when a fire comes while the previous run is still queued or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Concurrency {
    #[default]
    Allow,
    Forbid,
    Replace,
}

/// Fires missed while the service was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missed {
    #[default]
    Skip,
    RunOnce,
}

/// A schedule as configured (`[[schedule]]` in weir.toml).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    pub cron: String,
    #[serde(default = "utc")]
    pub timezone: String,
    /// Job file path or URI.
    pub job: String,
    #[serde(default)]
    pub concurrency: Concurrency,
    #[serde(default)]
    pub missed: Missed,
    /// Variables for its runs (parameters).
    #[serde(default)]
    pub env: Map<String, Value>,
}

fn utc() -> String {
    "UTC".into()
}

/// Parses a cron expression (5 fields, or 6 with seconds; nicknames such as `@hourly`).
pub fn parse_cron(pattern: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(pattern.trim())
        .map_err(|e| format!("invalid cron expression '{pattern}': {e}"))
}

/// Parses an IANA time zone name.
pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| format!("unknown time zone '{name}' (use an IANA name such as Europe/Paris)"))
}

/// The next `n` fire times after `after`.
pub fn next_fires(cron: &Cron, tz: Tz, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut t = after.with_timezone(&tz);
    while out.len() < n {
        match cron.find_next_occurrence(&t, false) {
            Ok(next) => {
                out.push(next.with_timezone(&Utc));
                t = next;
            }
            Err(_) => break,
        }
    }
    out
}

/// A note when an expression fires far more often than it looks (e.g. `* 1 * * *` fires every
/// minute from 01:00 to 01:59, not once at 01:00).
pub fn pitfall(pattern: &str) -> Option<String> {
    let fields: Vec<&str> = pattern.split_whitespace().collect();
    let (minute, hour) = match fields.len() {
        5 => (fields[0], fields[1]),
        6 => (fields[1], fields[2]),
        _ => return None,
    };
    (minute == "*" && hour != "*").then(|| {
        format!(
            "'{pattern}' fires every minute during the hours '{hour}', not once per hour: for once at minute 0 write '0 {hour} {}'",
            fields[fields.len() - 3..].join(" ")
        )
    })
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub config: ScheduleConfig,
    pub cron: Cron,
    pub tz: Tz,
}

impl Schedule {
    pub fn new(config: ScheduleConfig) -> Result<Self, String> {
        let cron = parse_cron(&config.cron).map_err(|e| format!("schedule '{}': {e}", config.name))?;
        let tz = parse_tz(&config.timezone).map_err(|e| format!("schedule '{}': {e}", config.name))?;
        if config.job.trim().is_empty() {
            return Err(format!("schedule '{}': 'job' is empty", config.name));
        }
        Ok(Self { config, cron, tz })
    }

    pub fn trigger(&self) -> String {
        format!("schedule:{}", self.config.name)
    }

    /// The API's view: configuration and the next fire times.
    pub fn describe(&self, n: usize) -> Value {
        let mut v = serde_json::to_value(&self.config).unwrap_or_default();
        let next: Vec<String> = next_fires(&self.cron, self.tz, Utc::now(), n).iter().map(|t| t.to_rfc3339()).collect();
        v["next"] = next.into();
        if let Some(p) = pitfall(&self.config.cron) {
            v["warning"] = p.into();
        }
        v
    }
}

fn new_run(s: &Schedule, fire: DateTime<Utc>, base_env: &Map<String, Value>) -> NewRun {
    let mut env = run_env(&s.config.job, base_env);
    env.extend(s.config.env.clone());
    env.insert("WEIR_SCHEDULED_AT".into(), fire.to_rfc3339().into());
    NewRun {
        job: s.config.job.clone(),
        trigger: s.trigger(),
        dedupe_key: Some(format!("schedule|{}|{}", s.config.name, fire.to_rfc3339())),
        count_duplicate: false,
        env,
        // Read when the run starts (a schedule has no triggering version).
        snapshot: None,
    }
}

async fn fire(
    s: &Schedule,
    at: DateTime<Utc>,
    store: &Store,
    running: &Running,
    wake: &Notify,
    env: &Map<String, Value>,
) {
    let trigger = s.trigger();
    let active = match store.active_for_trigger(&trigger).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("schedule '{}': {e}", s.config.name);
            return;
        }
    };
    let run = new_run(s, at, env);
    if !active.is_empty() {
        match s.config.concurrency {
            Concurrency::Allow => {}
            Concurrency::Forbid => {
                let reason = format!(
                    "skipped: run #{} of this schedule was still {} (concurrency = forbid)",
                    active[0].0, active[0].1
                );
                tracing::info!("schedule '{}': {reason}", s.config.name);
                if let Err(e) = store.record_skipped(run, reason).await {
                    tracing::error!("schedule '{}': {e}", s.config.name);
                }
                return;
            }
            Concurrency::Replace => {
                for (id, _) in &active {
                    let _ = store.cancel_queued(*id).await;
                    running.cancel(*id);
                }
            }
        }
    }
    match store.enqueue(run).await {
        Ok(Queued::New(id)) => {
            tracing::info!(run = id, "schedule '{}' fired for {}", s.config.name, at.to_rfc3339());
            wake.notify_waiters();
        }
        Ok(Queued::Duplicate(_)) => {}
        Err(e) => tracing::error!("schedule '{}': {e}", s.config.name),
    }
}

/// The latest fire time at or before `before` (whole seconds, as fire times are).
pub fn previous_fire(cron: &Cron, tz: Tz, before: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::Timelike;
    let before = before.with_nanosecond(0).unwrap_or(before);
    cron.find_previous_occurrence(&before.with_timezone(&tz), true).ok().map(|t| t.with_timezone(&Utc))
}

/// Runs one schedule forever.
pub fn start(s: Schedule, store: Store, running: Running, wake: Arc<Notify>, env: Map<String, Value>) {
    tokio::spawn(async move {
        let mut after = Utc::now();
        if s.config.missed == Missed::RunOnce
            && let Ok(Some(last)) = store.last_created_for_trigger(&s.trigger()).await
        {
            // The latest fire time before now; missed when it is after the last run.
            if let Some(at) = previous_fire(&s.cron, s.tz, after).filter(|t| *t > last) {
                tracing::info!("schedule '{}': running the fire missed at {}", s.config.name, at.to_rfc3339());
                fire(&s, at, &store, &running, &wake, &env).await;
            }
        }
        loop {
            let Some(next) = next_fires(&s.cron, s.tz, after, 1).into_iter().next() else {
                tracing::warn!("schedule '{}' never fires again", s.config.name);
                return;
            };
            let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await;
            fire(&s, next, &store, &running, &wake, &env).await;
            after = next;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

    #[test]
    fn next_fire_times_in_a_time_zone() {
        let cron = parse_cron("0 2 * * *").unwrap();
        let from = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let fires = next_fires(&cron, parse_tz("Europe/Paris").unwrap(), from, 2);
        // 02:00 in Paris is 01:00 UTC in winter.
        assert_eq!(fires[0].to_rfc3339(), "2026-01-11T01:00:00+00:00");
        assert_eq!(fires[1].to_rfc3339(), "2026-01-12T01:00:00+00:00");
        let summer = DateTime::parse_from_rfc3339("2026-07-10T12:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(
            next_fires(&cron, parse_tz("Europe/Paris").unwrap(), summer, 1)[0].to_rfc3339(),
            "2026-07-11T00:00:00+00:00"
        );
        let every_2s = parse_cron("*/2 * * * * *").unwrap();
        let f = next_fires(&every_2s, chrono_tz::UTC, from, 3);
        assert_eq!((f[1] - f[0]).num_seconds(), 2);
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn pitfalls_are_named() {
        assert!(pitfall("* 1 * * *").unwrap().contains("'0 1 * * *'"));
        assert!(pitfall("0 1 * * *").is_none());
        assert!(pitfall("*/5 * * * *").is_none());
    }

    fn schedule(cron: &str, concurrency: Concurrency, missed: Missed) -> Schedule {
        Schedule::new(ScheduleConfig {
            name: "s".into(),
            cron: cron.into(),
            timezone: "UTC".into(),
            job: "/jobs/a.json".into(),
            concurrency,
            missed,
            env: Map::new(),
        })
        .unwrap()
    }

    fn new_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("weir.db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn replace_cancels_the_previous_run_and_forbid_records_why() {
        let (_dir, store) = new_store();
        let (running, wake, env) = (Running::default(), Notify::new(), Map::new());
        let replace = schedule("* * * * *", Concurrency::Replace, Missed::Skip);
        let t0 = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z").unwrap().with_timezone(&Utc);
        fire(&replace, t0, &store, &running, &wake, &env).await;
        fire(&replace, t0 + chrono::Duration::minutes(1), &store, &running, &wake, &env).await;
        let runs = store.list(None, None, 10).await.unwrap();
        assert_eq!(runs.iter().map(|r| r.status).collect::<Vec<_>>(), [Status::Queued, Status::Cancelled]);

        let forbid = schedule("* * * * *", Concurrency::Forbid, Missed::Skip);
        fire(&forbid, t0 + chrono::Duration::minutes(2), &store, &running, &wake, &env).await;
        let runs = store.list(None, None, 10).await.unwrap();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0].status, Status::Cancelled);
        assert!(runs[0].error.as_deref().unwrap_or("").contains("concurrency = forbid"), "{:?}", runs[0]);
    }

    #[tokio::test]
    async fn a_fire_missed_while_down_runs_once_at_start() {
        // The last run was queued two days ago; the daily fires since then were missed.
        let ran_two_days_ago = |s: &Schedule| {
            let (dir, store) = new_store();
            let s = s.clone();
            let store2 = store.clone();
            async move {
                let two_days_ago = Utc::now() - chrono::Duration::days(2);
                fire(&s, two_days_ago, &store2, &Running::default(), &Notify::new(), &Map::new()).await;
                let db = rusqlite::Connection::open(dir.path().join("weir.db")).unwrap();
                db.execute("UPDATE runs SET created_at = ?1", [crate::store::time_text(two_days_ago)]).unwrap();
                (dir, store)
            }
        };
        let s = schedule("0 3 * * *", Concurrency::Allow, Missed::RunOnce);
        let (_dir, store) = ran_two_days_ago(&s).await;
        start(s.clone(), store.clone(), Running::default(), Arc::new(Notify::new()), Map::new());
        let mut runs = Vec::new();
        for _ in 0..100 {
            runs = store.list(None, None, 10).await.unwrap();
            if runs.len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(runs.len(), 2, "one run for the missed fires, not one per fire");
        let latest = previous_fire(&s.cron, s.tz, Utc::now()).unwrap();
        assert_eq!(runs[0].env["WEIR_SCHEDULED_AT"], latest.to_rfc3339());
        assert!(latest.to_rfc3339().ends_with("T03:00:00+00:00"), "{latest}");
        // Skip (the default) runs nothing at start.
        let skip = schedule("0 3 * * *", Concurrency::Allow, Missed::Skip);
        let (_dir2, other) = ran_two_days_ago(&skip).await;
        start(skip, other.clone(), Running::default(), Arc::new(Notify::new()), Map::new());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(other.list(None, None, 10).await.unwrap().len(), 1);
    }
}
