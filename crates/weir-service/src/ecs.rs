//! The ECS run launcher (`[launcher] type = "ecs"` in weir.toml): each run is its own ECS
//! task (Fargate by default), as the seed's Lambda started one task per dropped notebook.
//!
//! A run starts with `RunTask` on the configured cluster and task definition, its `ETL_CONF_*`
//! and other variables as container overrides (`ETL_CONF_URI` = the job's URI: the task reads
//! the job itself, so the job must be remote — `s3://`, `s3a://`, `gs://`, `abfss://`,
//! `https://`). The call carries a client token made of the run's id and attempt, so a
//! retried call never starts a second task. The task's ARN is recorded on the run; the run
//! then follows `DescribeTasks` until the task is `STOPPED`: the container's exit code gives
//! the status (0 succeeded, else failed with ECS's stopped reason). A cancel or the run
//! timeout calls `StopTask`; a task ECS no longer knows fails the run. A service restarted
//! while a task runs follows it again from the recorded ARN ([`adopt`]).
//!
//! Secret run variables are refused: container overrides are visible to anyone allowed
//! `ecs:DescribeTasks`; secrets belong in the task definition (`secrets` from Secrets Manager).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, KeyValuePair, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use tokio::sync::Notify;

use crate::store::{Run, Status, Store};

/// `[launcher]`: how runs are executed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LauncherConfig {
    /// A child `weir run` process of the service (the default).
    #[default]
    Process,
    /// An ECS task per run.
    Ecs(EcsConfig),
}

/// `[launcher] type = "ecs"`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsConfig {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Task definition (`family`, `family:revision` or ARN) whose container runs `weir`.
    pub task_definition: String,
    /// The container of the task definition that gets the run's variables.
    #[serde(default = "default_container")]
    pub container: String,
    /// `FARGATE` (default), `FARGATE_SPOT` is not a launch type: use `EC2` or `EXTERNAL` otherwise.
    #[serde(default = "default_launch_type")]
    pub launch_type: String,
    /// awsvpc subnets (required for Fargate).
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
    /// Task size overrides (Fargate CPU units / MiB, as strings: "1024", "4096").
    pub cpu: Option<String>,
    pub memory: Option<String>,
    /// Else the standard AWS chain (AWS_REGION, profile, container metadata).
    pub region: Option<String>,
    /// Else AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL (a test server).
    pub endpoint: Option<String>,
    /// How often a running task is described, in milliseconds.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Where runs leave a copy of their JSON events (`s3://bucket/prefix/`): each run's task
    /// gets `WEIR_EVENTS_URI` = this prefix + `run-ID-ATTEMPT.jsonl`, and the service reads the
    /// object once the task stopped, for the run's stages and log.
    pub events_uri: Option<String>,
}

fn default_container() -> String {
    "weir".into()
}

fn default_launch_type() -> String {
    "FARGATE".into()
}

fn default_poll_ms() -> u64 {
    5000
}

impl EcsConfig {
    /// The events object of a run's attempt, when `events_uri` is set.
    pub fn events_object(&self, run: &Run) -> Option<String> {
        let prefix = self.events_uri.as_deref()?.trim_end_matches('/');
        Some(format!("{prefix}/run-{}-{}.jsonl", run.id, run.attempt))
    }

    /// Checks what can be checked before any run: the launch type and Fargate's subnets.
    pub fn validate(&self) -> Result<(), String> {
        if !["FARGATE", "EC2", "EXTERNAL"].contains(&self.launch_type.as_str()) {
            return Err(format!("[launcher] launch_type '{}' is not one of FARGATE, EC2, EXTERNAL", self.launch_type));
        }
        if self.launch_type == "FARGATE" && self.subnets.is_empty() {
            return Err("[launcher] type = \"ecs\" with FARGATE needs subnets (awsvpc networking)".into());
        }
        if self.cluster.is_empty() || self.task_definition.is_empty() {
            return Err("[launcher] type = \"ecs\" needs cluster and task_definition".into());
        }
        Ok(())
    }

    pub async fn client(&self) -> Client {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let shared = loader.load().await;
        Client::new(&shared)
    }
}

/// The ECS launcher of the workers: its config and client.
#[derive(Debug, Clone)]
pub struct EcsLauncher {
    pub config: EcsConfig,
    pub client: Client,
}

/// How a run's task ended.
pub struct Ended {
    pub status: Status,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    /// What the service saw of the task, for the run's log.
    pub log: String,
}

fn failed(error: String, log: &str) -> Ended {
    Ended { status: Status::Failed, exit_code: None, error: Some(error), log: log.to_string() }
}

/// Whether a job URI is readable by a task elsewhere (not a path on the service's disk).
fn remote(job: &str) -> bool {
    ["s3://", "s3a://", "gs://", "abfss://", "abfs://", "https://", "http://"].iter().any(|p| job.starts_with(p))
}

/// Starts `run` as an ECS task and follows it to its end.
pub async fn execute(
    config: &EcsConfig,
    client: &Client,
    store: &Store,
    run: &Run,
    cancel: Arc<Notify>,
    timeout: Duration,
) -> Ended {
    if !remote(&run.job) {
        return failed(
            format!(
                "the ECS launcher runs a job by its URI, and '{}' is a file on the service's disk that the task cannot read: drop jobs into a bucket trigger",
                run.job
            ),
            "",
        );
    }
    let env = match crate::secrets::resolve(&run.env) {
        Ok(env) => env,
        Err(e) => return failed(e.to_string(), ""),
    };
    let secret = env.secret_keys();
    if !secret.is_empty() {
        return failed(
            format!(
                "run variables {} hold secrets, which the ECS launcher does not pass as container overrides (DescribeTasks shows them): give them to the task definition's 'secrets'",
                secret.join(", ")
            ),
            "",
        );
    }
    let mut vars: Vec<KeyValuePair> = env
        .vars
        .iter()
        .filter(|(k, _)| k != "ETL_CONF_URI")
        .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
        .collect();
    vars.push(KeyValuePair::builder().name("ETL_CONF_URI").value(&run.job).build());
    if let Some(object) = config.events_object(run) {
        vars.retain(|v| v.name() != Some("WEIR_EVENTS_URI"));
        vars.push(KeyValuePair::builder().name("WEIR_EVENTS_URI").value(object).build());
    }
    vars.sort_by(|a, b| a.name().cmp(&b.name()));
    let network = match AwsVpcConfiguration::builder()
        .set_subnets(Some(config.subnets.clone()))
        .set_security_groups((!config.security_groups.is_empty()).then(|| config.security_groups.clone()))
        .assign_public_ip(if config.assign_public_ip { AssignPublicIp::Enabled } else { AssignPublicIp::Disabled })
        .build()
    {
        Ok(vpc) => NetworkConfiguration::builder().awsvpc_configuration(vpc).build(),
        Err(e) => return failed(format!("[launcher] network configuration: {e}"), ""),
    };
    let overrides = TaskOverride::builder()
        .container_overrides(ContainerOverride::builder().name(&config.container).set_environment(Some(vars)).build())
        .set_cpu(config.cpu.clone())
        .set_memory(config.memory.clone())
        .build();
    let mut request = client
        .run_task()
        .cluster(&config.cluster)
        .task_definition(&config.task_definition)
        .launch_type(LaunchType::from(config.launch_type.as_str()))
        .count(1)
        .started_by(format!("weir-run-{}", run.id))
        // Idempotent: a repeated call for this attempt returns the same task.
        .client_token(format!("weir-run-{}-{}", run.id, run.attempt))
        .overrides(overrides);
    if !config.subnets.is_empty() {
        request = request.network_configuration(network);
    }
    let started = match request.send().await {
        Ok(out) => out,
        Err(e) => {
            return failed(format!("RunTask on cluster '{}' failed: {}", config.cluster, describe(&e)), "");
        }
    };
    if let Some(f) = started.failures().first() {
        return failed(
            format!(
                "RunTask on cluster '{}' started no task: {} {}",
                config.cluster,
                f.reason().unwrap_or("unknown reason"),
                f.detail().unwrap_or("")
            ),
            "",
        );
    }
    let Some(arn) = started.tasks().first().and_then(|t| t.task_arn()).map(str::to_string) else {
        return failed(format!("RunTask on cluster '{}' returned no task", config.cluster), "");
    };
    tracing::info!(run = run.id, task = %arn, "run started as ECS task");
    if let Err(e) = store.set_task(run.id, &arn).await {
        tracing::error!(run = run.id, task = %arn, "cannot record the run's task: {e}");
    }
    follow(config, client, &arn, cancel, timeout).await
}

/// How long a task asked to stop is followed further (ECS gives a container 30 s by default
/// between SIGTERM and SIGKILL).
const STOP_GRACE: Duration = Duration::from_secs(300);

/// Follows the task `arn` until it stops (StopTask on cancel or timeout).
pub async fn follow(config: &EcsConfig, client: &Client, arn: &str, cancel: Arc<Notify>, timeout: Duration) -> Ended {
    let mut log = format!("ECS task {arn} on cluster {}\n", config.cluster);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut stopping: Option<String> = None;
    // A task asked to stop that ECS still does not show stopped after this is given up on.
    let mut stop_deadline = None;
    let mut last_status = String::new();
    let mut failures = 0u32;
    loop {
        match client.describe_tasks().cluster(&config.cluster).tasks(arn).send().await {
            Ok(out) => {
                failures = 0;
                let Some(task) = out.tasks().iter().find(|t| t.task_arn() == Some(arn)) else {
                    let reason = out.failures().first().and_then(|f| f.reason()).unwrap_or("not found");
                    return failed(format!("ECS task {arn} vanished ({reason})"), &log);
                };
                let status = task.last_status().unwrap_or("UNKNOWN").to_string();
                if status != last_status {
                    log.push_str(&format!("{} {status}\n", chrono::Utc::now().to_rfc3339()));
                    last_status = status.clone();
                }
                if status == "STOPPED" {
                    let container = task.containers().iter().find(|c| c.name() == Some(config.container.as_str()));
                    let code = container.and_then(|c| c.exit_code()).map(i64::from);
                    let reason = task.stopped_reason().unwrap_or("").to_string();
                    if !reason.is_empty() {
                        log.push_str(&format!("stopped: {reason}\n"));
                    }
                    return match (stopping, code) {
                        (Some(why), _) if why == "cancelled" => {
                            Ended { status: Status::Cancelled, exit_code: code, error: Some(why), log }
                        }
                        (Some(why), _) => Ended { status: Status::Failed, exit_code: code, error: Some(why), log },
                        (None, Some(0)) => Ended { status: Status::Succeeded, exit_code: Some(0), error: None, log },
                        (None, code) => {
                            let detail = container.and_then(|c| c.reason()).unwrap_or("");
                            let error = match code {
                                Some(c) => format!("the task's container exited with {c}: {reason} {detail}"),
                                None => format!("the task stopped without an exit code: {reason} {detail}"),
                            };
                            Ended { status: Status::Failed, exit_code: code, error: Some(error.trim().into()), log }
                        }
                    };
                }
            }
            Err(e) => {
                // Transient API errors: keep following; say so now and then.
                if failures.is_multiple_of(10) {
                    tracing::warn!(task = %arn, "cannot describe the ECS task: {}", describe(&e));
                }
                failures += 1;
            }
        }
        if let Some(limit) = stop_deadline
            && tokio::time::Instant::now() > limit
        {
            let why = stopping.unwrap_or_default();
            return failed(format!("{why}; ECS task {arn} was asked to stop but is not reported stopped"), &log);
        }
        let stop = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(config.poll_interval_ms.max(50))) => None,
            _ = tokio::time::sleep_until(deadline), if stopping.is_none() => {
                Some(format!("timed out after {} s", timeout.as_secs()))
            }
            _ = cancel.notified(), if stopping.is_none() => Some("cancelled".to_string()),
        };
        if let Some(why) = stop {
            log.push_str(&format!("{} StopTask: {why}\n", chrono::Utc::now().to_rfc3339()));
            if let Err(e) =
                client.stop_task().cluster(&config.cluster).task(arn).reason(format!("weir: {why}")).send().await
            {
                tracing::error!(task = %arn, "StopTask failed: {}", describe(&e));
            }
            stopping = Some(why);
            stop_deadline = Some(tokio::time::Instant::now() + STOP_GRACE);
        }
    }
}

/// AWS's error: its code and message for a service error, else the SDK's chain of causes.
fn describe<E, R>(e: &aws_sdk_ecs::error::SdkError<E, R>) -> String
where
    E: std::error::Error + aws_sdk_ecs::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => {
            format!("{}: {}", service.code().unwrap_or("unknown error"), service.message().unwrap_or("(no message)"))
        }
        None => aws_sdk_ecs::error::DisplayErrorContext(e).to_string(),
    }
}
