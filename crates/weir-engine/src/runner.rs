//! Running a job end to end: load, validate every stage, run them in order, and report
//! Arc's JSON events plus a [`RunReport`] for callers (CLI summary, kernel, job service).

use std::time::Instant;

use serde_json::{Map, Value};

use crate::events::{EventLog, Level};
use crate::job::{self, JobError, JobOptions, LoadedJob, PlannedStage};
use crate::session::Session;
use crate::stages::Outcome;
use crate::storage::Storage;

/// Outcome of one stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Succeeded,
    Failed,
    Skipped,
}

/// What one stage did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageReport {
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub status: StageStatus,
    pub duration_ms: u64,
    pub rows: Option<u64>,
    /// A validation stage's message (SQLValidate), as logged.
    pub message: Option<Value>,
    pub error: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunReport {
    pub success: bool,
    pub duration_ms: u64,
    pub stages: Vec<StageReport>,
    /// The failure, as one human-readable message.
    pub error: Option<String>,
    /// Things worth fixing that do not stop the job: magic typos, notebook cells a job drops,
    /// stages that can never run in a job (no `environments`).
    pub warnings: Vec<String>,
}

/// Notified as a run progresses (progress display, kernel output, service records).
pub trait Observer: Send + Sync {
    fn stage_started(&self, _position: usize, _total: usize, _stage: &PlannedStage) {}
    fn stage_finished(&self, _report: &StageReport) {}
}

/// An observer that does nothing.
pub struct NoObserver;
impl Observer for NoObserver {}

/// Removes DataFusion's error-kind prefixes so users see the message itself.
pub fn clean_error(message: &str) -> String {
    let mut text = message.trim();
    loop {
        let before = text;
        for prefix in [
            "Execution error: ",
            "External error: ",
            "Arrow error: ",
            "Error during planning: ",
            "SQL error: ",
            "Schema error: ",
            "Invalid argument error: ",
            "Parser error: ",
            "Generic error: ",
        ] {
            text = text.strip_prefix(prefix).unwrap_or(text);
        }
        if before == text {
            break;
        }
    }
    text.to_string()
}

/// A stage's description in events: type, plugin, name, id, description and `detail`.
pub fn stage_json(planned: &PlannedStage, mut detail: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), planned.type_name.clone().into());
    m.insert("plugin".into(), format!("weir.{}:{}", planned.type_name, env!("CARGO_PKG_VERSION")).into());
    m.insert("name".into(), planned.name.clone().into());
    if let Some(id) = &planned.id {
        m.insert("id".into(), id.clone().into());
    }
    if let Some(d) = &planned.description {
        m.insert("description".into(), d.clone().into());
    }
    if let Some(origin) = &planned.origin {
        m.insert("includedFrom".into(), origin.uri.clone().into());
    }
    m.append(&mut detail);
    Value::Object(m)
}

/// Loads, validates and runs a job, emitting Arc's events. Never panics on user input;
/// every failure ends in the report (and a final `exit` event with status `failure`).
pub async fn run_job(options: &JobOptions, observer: &dyn Observer) -> RunReport {
    let started = Instant::now();
    let logger_name = options.job_id.clone().unwrap_or_else(|| format!("weir-{}", std::process::id()));
    let log = EventLog::new(logger_name, options.log_context());
    log.info(crate::obj! {
        "event" => "enter",
        "weirVersion" => env!("CARGO_PKG_VERSION"),
        "environment" => options.environment.clone().unwrap_or_default(),
        "lintOnly" => options.lint_only,
        "immutableViews" => options.settings.immutable_views,
        "ignoreEnvironments" => options.ignore_environments,
        "policyInlineSQL" => options.settings.inline_sql,
        "policyInlineSchema" => options.settings.inline_schema,
        "policyIPYNB" => options.allow_notebooks,
        "policyDropUnsupported" => options.settings.drop_unsupported,
        "memoryLimitMiB" => options.settings.memory_limit() >> 20,
    });
    let session = Session::new(Storage::new(Default::default()), options.settings.clone(), log.clone());
    let mut report = RunReport::default();
    let result = run_inner(options, &session, observer, &mut report).await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    let mut exit = crate::obj! { "event" => "exit", "duration" => report.duration_ms, "lintOnly" => options.lint_only };
    match result {
        Ok(()) => {
            report.success = true;
            exit.insert("status".into(), "success".into());
            exit.insert("success".into(), true.into());
            log.info(exit);
        }
        Err(failure) => {
            report.success = false;
            exit.insert("status".into(), "failure".into());
            exit.insert("success".into(), false.into());
            match &failure {
                Failure::Job(JobError::Config(errors)) => {
                    exit.insert("reason".into(), serde_json::to_value(errors).unwrap_or_default());
                }
                Failure::Job(e) => {
                    exit.insert(
                        "reason".into(),
                        serde_json::json!({"event": "exception", "messages": [e.to_string()]}),
                    );
                }
                Failure::Stage(stage, message) => {
                    let mut s = stage.clone();
                    if let Value::Object(m) = &mut s {
                        m.insert("event".into(), "exception".into());
                        m.insert("messages".into(), serde_json::json!([message]));
                    }
                    exit.insert("stage".into(), s);
                }
            }
            report.error = Some(failure.message());
            log.emit(Level::Error, exit);
        }
    }
    report
}

enum Failure {
    Job(JobError),
    Stage(Value, String),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Job(e) => e.to_string(),
            Failure::Stage(stage, message) => {
                let index = stage.get("index").and_then(Value::as_u64).unwrap_or_default();
                let name = stage.get("name").and_then(Value::as_str).unwrap_or_default();
                let type_name = stage.get("type").and_then(Value::as_str).unwrap_or_default();
                let file = match stage.get("includedFrom").and_then(Value::as_str) {
                    Some(uri) => format!(" of '{uri}'"),
                    None => String::new(),
                };
                format!("stage {index} '{name}' ({type_name}){file} failed: {message}")
            }
        }
    }
}

async fn run_inner(
    options: &JobOptions,
    session: &Session,
    observer: &dyn Observer,
    report: &mut RunReport,
) -> Result<(), Failure> {
    if let Some(message) = &options.invalid_setting {
        return Err(Failure::Job(JobError::Setting(message.clone())));
    }
    if options.environment.is_none() && !options.ignore_environments && !options.lint_only {
        return Err(Failure::Job(JobError::NoEnvironment));
    }
    let loaded = job::load(options, &session.storage).await.map_err(Failure::Job)?;
    session
        .log
        .info(crate::obj! { "event" => "validateConfig", "uri" => loaded.uri, "content-md5" => loaded.content_md5 });
    log_loaded(options, session, &loaded);
    report.warnings = job_warnings(&loaded);
    let planned = job::plan(&loaded, session).await.map_err(Failure::Job)?;
    if options.lint_only {
        for p in &planned {
            session.log.info(crate::obj! { "event" => "lint", "stage" => stage_json(p, p.stage.detail()) });
        }
        return Ok(());
    }
    let total = planned.len();
    let caches = match session.settings.view_cache {
        true => crate::view_cache::CachePlan::new(
            &planned
                .iter()
                .map(|p| (crate::stages::simple_type_name(&p.type_name).to_string(), p.stage.detail()))
                .collect::<Vec<_>>(),
        ),
        false => Default::default(),
    };
    for (position, p) in planned.iter().enumerate() {
        if let Some(previous) = position.checked_sub(1) {
            // Views no later stage reads are no longer kept.
            session.caches.release_through(previous).await;
        }
        // Arc's ControlFlow lifecycle plugin: once an outcome under its key is false, every
        // later stage is skipped (and the job succeeds).
        if let Some((key, message)) = loaded
            .control_flow_keys
            .iter()
            .find_map(|key| session.control_flow(key).filter(|(outcome, _)| !outcome).map(|(_, m)| (key, m)))
        {
            session.log.info(crate::obj! {
                "event" => "skip",
                "reason" => format!("skipping stage due to control flow key: '{key}' = false."),
                "stage" => stage_json(p, p.stage.detail()),
                "message" => message,
            });
            let skipped = StageReport {
                index: p.index,
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                status: StageStatus::Skipped,
                duration_ms: 0,
                rows: None,
                message: None,
                error: None,
            };
            observer.stage_finished(&skipped);
            report.stages.push(skipped);
            continue;
        }
        observer.stage_started(position, total, p);
        session.caches.expect(position, &caches);
        let run = execute_stage(session, p).await;
        session.caches.clear();
        let mut stage_report = StageReport {
            index: p.index,
            name: p.name.clone(),
            type_name: p.type_name.clone(),
            status: StageStatus::Succeeded,
            duration_ms: run.duration_ms,
            rows: None,
            message: None,
            error: None,
        };
        match run.result {
            Ok((outcome, _)) => {
                stage_report.rows = outcome.rows;
                stage_report.message = outcome.detail.get("message").cloned();
                observer.stage_finished(&stage_report);
                report.stages.push(stage_report);
            }
            Err(message) => {
                stage_report.status = StageStatus::Failed;
                stage_report.error = Some(message.clone());
                observer.stage_finished(&stage_report);
                report.stages.push(stage_report);
                let mut detail = p.stage.detail();
                detail.insert("index".into(), p.index.into());
                return Err(Failure::Stage(stage_json(p, detail), message));
            }
        }
    }
    Ok(())
}

/// One stage executed, as both the runner and the notebook kernel run stages.
pub struct StageRun {
    pub duration_ms: u64,
    /// The outcome and the `exit` event logged for it, or the (cleaned) error message; the
    /// caller reports a failure its own way (the job's final event, a notebook error).
    pub result: Result<(Outcome, Map<String, Value>), String>,
}

/// This process's CPU time so far (user + system, ms) and its peak resident set (MiB), from
/// `getrusage`: the per-stage cost figures of the exit events.
fn process_usage() -> Option<(u64, u64)> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given, which we own; nothing else is touched.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above (and zeroed before it).
    let usage = unsafe { usage.assume_init() };
    let ms = |t: libc::timeval| (t.tv_sec.max(0) as u64) * 1000 + (t.tv_usec.max(0) as u64) / 1000;
    Some((ms(usage.ru_utime) + ms(usage.ru_stime), (usage.ru_maxrss.max(0) as u64) / 1024))
}

/// Whether an error is DataFusion's memory pool refusing an allocation (also when wrapped).
fn memory_exhausted(message: &str) -> bool {
    message.contains("Resources exhausted")
}

/// Executes `p`, logging Arc's `enter` event and, on success, its `exit` event with the
/// duration, the stage's detail and outcome, `rows` when known, and the process's CPU time
/// during the stage (`cpuMs`: every thread, so it can exceed the duration; a lazy view's work
/// counts where it is computed) and peak memory so far (`peakRssMiB`).
pub async fn execute_stage(session: &Session, p: &PlannedStage) -> StageRun {
    session.log.info(crate::obj! { "event" => "enter", "stage" => stage_json(p, p.stage.detail()) });
    let started = Instant::now();
    let usage_before = process_usage();
    let mut result = p.stage.execute(session).await;
    let rerunnable = crate::stages::RERUNNABLE.contains(&crate::stages::simple_type_name(&p.type_name));
    // Each way out is taken once, in whichever order the failures come.
    for _ in 0..2 {
        let Err(e) = &result else { break };
        let message = e.to_string();
        // A hash join cannot spill: one that outgrew the memory limit fails its stage. When the
        // stage can run again, the session switches to sort-merge joins, which spill, and runs it
        // again.
        if memory_exhausted(&message) && rerunnable && session.use_spilling_joins() {
            session.log.warn(crate::obj! {
                "event" => "memory",
                "message" => format!(
                    "a hash join exceeded the memory limit of {} MiB; joins now sort and merge, spilling to disk, and the stage runs again",
                    session.settings.memory_limit() >> 20
                ),
                "stage" => stage_json(p, Map::new()),
            });
        // Views computed once share the temporary disk with spills: when it fills up, they are
        // dropped (read lazily from then on, as in Arc) and the stage runs again.
        } else if message.contains("No space left on device") && rerunnable && session.caches.drop_all().await {
            session.log.warn(crate::obj! {
                "event" => "viewCache",
                "message" => "the temporary disk is full: views computed once are dropped (each read computes them from now on) and the stage runs again",
                "stage" => stage_json(p, Map::new()),
            });
        } else {
            break;
        }
        result = p.stage.execute(session).await;
    }
    let duration_ms = started.elapsed().as_millis() as u64;
    let usage_after = process_usage();
    let result = match result {
        Ok(outcome) => {
            let mut detail = p.stage.detail();
            detail.extend(outcome.detail.clone());
            let mut exit =
                crate::obj! { "event" => "exit", "duration" => duration_ms, "stage" => stage_json(p, detail) };
            if let Some(rows) = outcome.rows {
                exit.insert("rows".into(), rows.into());
            }
            if let (Some((cpu_before, _)), Some((cpu_after, peak))) = (usage_before, usage_after) {
                exit.insert("cpuMs".into(), cpu_after.saturating_sub(cpu_before).into());
                exit.insert("peakRssMiB".into(), peak.into());
            }
            session.log.info(exit.clone());
            Ok((outcome, exit))
        }
        Err(e) => Err(clean_error(&e.to_string())),
    };
    StageRun { duration_ms, result }
}

fn job_warnings(loaded: &LoadedJob) -> Vec<String> {
    let mut out = loaded.warnings.clone();
    for (cell, magic) in &loaded.dropped_cells {
        out.push(format!("cell {cell}: '{magic}' is a notebook-only magic; a job drops it"));
    }
    for entry in &loaded.entries {
        if entry.environments.iter().all(|e| e.trim().is_empty()) {
            let at = match entry.cell {
                Some(cell) => format!("cell {cell}"),
                None => format!("line {}", entry.line),
            };
            let warning = format!(
                "{at}: stage {} '{}' has no 'environments', so it never runs in a job",
                entry.index, entry.name
            );
            // Notebook SQL magics without environments already have a conversion warning.
            if !out
                .iter()
                .any(|w| entry.cell.is_some_and(|c| w.starts_with(&format!("cell {c}:")) && w.contains("environments")))
            {
                out.push(warning);
            }
        }
    }
    out
}

fn log_loaded(options: &JobOptions, session: &Session, loaded: &LoadedJob) {
    for warning in &loaded.warnings {
        session.log.warn(crate::obj! { "event" => "validateConfig", "message" => warning });
    }
    for entry in loaded.entries.iter().filter(|e| !e.selected) {
        let mut m = crate::obj! {
            "event" => "validateConfig",
            "type" => entry.type_name,
            "pluginIndex" => entry.index,
            "name" => entry.name,
            "environment" => options.environment.clone().unwrap_or_default(),
            "environments" => entry.environments,
            "message" => "skipping plugin due to environment configuration",
            "skipPlugin" => true,
        };
        if let Some(cell) = entry.cell {
            m.insert("cell".into(), cell.into());
        }
        if entry.environments.is_empty() || entry.environments.iter().all(|e| e.is_empty()) {
            m.insert("warning".into(), "stage has no 'environments' so it never runs in a job".into());
            session.log.warn(m);
        } else {
            session.log.info(m);
        }
    }
}
