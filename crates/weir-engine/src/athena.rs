//! Amazon Athena behind a `jdbc:awsathena://` URL (JDBCExecute): the URL is read the way the
//! Simba Athena JDBC driver reads it, and the statement runs through the Athena API —
//! StartQueryExecution, then GetQueryExecution polled with backoff until the query succeeds,
//! fails or is cancelled. A query still running when the timeout is reached, or whose stage
//! fails or is abandoned while it runs, is stopped (StopQueryExecution).
//!
//! The API: [`parse_url`] at config time (every problem of the URL, with the password masked),
//! then [`execute`] at run time.
//!
//! URL properties (`;`-separated `Key=Value`, keys in any case): `AwsRegion`, `S3OutputLocation`,
//! `User`/`UID` and `Password`/`PWD` (access key id and secret key), `SessionToken`,
//! `Workgroup`, `Catalog`, `Schema`, `EndpointOverride`, the polling settings
//! `MinQueryExecutionPollingInterval`, `MaxQueryExecutionPollingInterval` (ms) and
//! `QueryExecutionPollingIntervalMultiplier`, and Weir's `QueryTimeout` (seconds). A first part
//! without `=` is the endpoint host (`athena.<region>.amazonaws.com:443`), as the Simba driver
//! allows. Other properties are kept in [`AthenaTarget::unknown`] for the stage to log.
//! Without `User`/`Password` the standard AWS credential chain is used (environment, profile,
//! instance or task role). The endpoint is `EndpointOverride`, else `AWS_ENDPOINT_URL_ATHENA`,
//! else `AWS_ENDPOINT_URL`, else Athena's regional endpoint.

use std::fmt;
use std::time::Duration;

use aws_sdk_athena::Client;
use aws_sdk_athena::config::{Credentials, Region};
use aws_sdk_athena::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_athena::types::{QueryExecution, QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use serde_json::{Map, Value};

use crate::mask::mask_credentials;

/// The URL prefix of the Athena driver (compared without regard to case).
pub const URL_PREFIX: &str = "jdbc:awsathena:";

/// Default overall time a query may take before it is stopped: Athena's own default DML
/// timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// True for a `jdbc:awsathena:` URL.
pub fn is_athena_url(jdbc_url: &str) -> bool {
    jdbc_url.get(..URL_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(URL_PREFIX))
}

/// Access keys given in the URL (or `params`).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &crate::mask::MASK)
            .field("session_token", &self.session_token.as_ref().map(|_| crate::mask::MASK))
            .finish()
    }
}

/// How often GetQueryExecution is called: every `min` at first, the interval multiplied by
/// `multiplier` after each call, up to `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Polling {
    pub min: Duration,
    pub max: Duration,
    pub multiplier: f64,
}

impl Default for Polling {
    fn default() -> Self {
        Self { min: Duration::from_millis(100), max: Duration::from_secs(2), multiplier: 2.0 }
    }
}

impl Polling {
    /// The waits between successive polls (endless).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let Polling { min, max, multiplier } = *self;
        std::iter::successors(Some(min.min(max)), move |d| Some(d.mul_f64(multiplier).min(max)))
    }
}

/// Where and how a statement runs, read from the URL at config time.
#[derive(Debug, Clone, PartialEq)]
pub struct AthenaTarget {
    /// The URL with its password masked, for messages.
    pub masked_url: String,
    pub region: String,
    pub output_location: Option<String>,
    pub workgroup: Option<String>,
    pub catalog: Option<String>,
    pub schema: Option<String>,
    /// `EndpointOverride` or the endpoint host of the URL.
    pub endpoint: Option<String>,
    /// `None`: the standard AWS credential chain.
    pub keys: Option<StaticKeys>,
    pub timeout: Duration,
    pub polling: Polling,
    /// Properties the driver does not know, as written (the stage logs them once).
    pub unknown: Vec<String>,
}

/// Reads a `jdbc:awsathena://` URL and the stage's `params` (connection properties; the URL's
/// own properties win). Every problem is reported, naming the URL with its password masked.
pub fn parse_url(jdbc_url: &str, params: &[(String, String)]) -> Result<AthenaTarget, String> {
    let masked_url = mask_credentials(jdbc_url).into_owned();
    let Some(rest) = is_athena_url(jdbc_url).then(|| &jdbc_url[URL_PREFIX.len()..]) else {
        return Err(format!("'{masked_url}' is not an Athena JDBC URL (jdbc:awsathena://...)."));
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let mut problems = Vec::new();
    let mut endpoint_host = None;
    // Lower-case key -> (key as written, value); later entries win.
    let mut props: Vec<(String, String, String)> = Vec::new();
    let mut set = |key: &str, value: &str| {
        let lower = key.trim().to_ascii_lowercase();
        props.retain(|(k, _, _)| *k != lower);
        props.push((lower, key.trim().to_string(), value.trim().to_string()));
    };
    for (key, value) in params {
        set(key, value);
    }
    for (i, part) in rest.split(';').map(str::trim).enumerate() {
        match part.split_once('=') {
            _ if part.is_empty() => {}
            Some((key, value)) => set(key, value),
            None if i == 0 => endpoint_host = Some(part.to_string()),
            None => problems.push(format!("'{}' is not a Key=Value property", mask_credentials(part))),
        }
    }
    let take = |names: &[&str]| -> Option<(String, String)> {
        props.iter().rev().find(|(k, _, _)| names.contains(&k.as_str())).map(|(_, key, v)| (key.clone(), v.clone()))
    };
    let value = |names: &[&str]| take(names).map(|(_, v)| v).filter(|v| !v.is_empty());

    let endpoint = value(&["endpointoverride"])
        .or_else(|| endpoint_host.as_ref().map(|h| if h.contains("://") { h.clone() } else { format!("https://{h}") }));
    let region = value(&["awsregion"]).or_else(|| endpoint_host.as_deref().and_then(region_of_host));
    if region.is_none() {
        problems.push("AwsRegion is required (the AWS region of Athena, e.g. AwsRegion=eu-west-1)".to_string());
    }
    let output_location = value(&["s3outputlocation"]);
    let workgroup = value(&["workgroup"]);
    match &output_location {
        None if workgroup.is_none() => problems.push(
            "S3OutputLocation is required when no Workgroup is given (where Athena writes query results, e.g. S3OutputLocation=s3://bucket/athena/)"
                .to_string(),
        ),
        Some(loc) if !loc.to_ascii_lowercase().starts_with("s3://") => {
            problems.push(format!("S3OutputLocation '{loc}' must be an s3:// URI"))
        }
        _ => {}
    }
    let user = take(&["user", "uid"]);
    let password = take(&["password", "pwd"]);
    let keys = match (user, password) {
        (None, None) => None,
        (Some((_, user)), Some((_, password))) if !user.is_empty() && !password.is_empty() => Some(StaticKeys {
            access_key_id: user,
            secret_access_key: password,
            session_token: value(&["sessiontoken"]),
        }),
        (Some((key, user)), _) if user.is_empty() => {
            problems.push(format!("{key} (the AWS access key id) is empty"));
            None
        }
        (_, Some((key, password))) if password.is_empty() => {
            problems.push(format!("{key} (the AWS secret access key) is empty"));
            None
        }
        (Some((key, _)), None) => {
            problems.push(format!("{key} (the AWS access key id) is given without Password (the secret access key)"));
            None
        }
        (None, Some((key, _))) => {
            problems.push(format!("{key} (the AWS secret access key) is given without User (the access key id)"));
            None
        }
        _ => None,
    };
    let mut number = |names: &[&str], what: &str| -> Option<f64> {
        let (key, text) = take(names)?;
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => Some(n),
            _ => {
                problems.push(format!("{key} must be a positive number ({what}) but is '{text}'"));
                None
            }
        }
    };
    let timeout = number(&["querytimeout"], "seconds").map(Duration::from_secs_f64).unwrap_or(DEFAULT_TIMEOUT);
    let defaults = Polling::default();
    let polling = Polling {
        min: number(&["minqueryexecutionpollinginterval"], "milliseconds")
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .unwrap_or(defaults.min),
        max: number(&["maxqueryexecutionpollinginterval"], "milliseconds")
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
            .unwrap_or(defaults.max),
        multiplier: number(&["queryexecutionpollingintervalmultiplier"], "a factor").unwrap_or(defaults.multiplier),
    };
    if polling.multiplier < 1.0 {
        problems
            .push(format!("QueryExecutionPollingIntervalMultiplier must be at least 1 but is {}", polling.multiplier));
    }
    if !problems.is_empty() {
        return Err(format!("Invalid Athena JDBC URL '{masked_url}': {}.", problems.join("; ")));
    }
    const KNOWN: &[&str] = &[
        "awsregion",
        "s3outputlocation",
        "user",
        "uid",
        "password",
        "pwd",
        "sessiontoken",
        "workgroup",
        "catalog",
        "schema",
        "endpointoverride",
        "querytimeout",
        "minqueryexecutionpollinginterval",
        "maxqueryexecutionpollinginterval",
        "queryexecutionpollingintervalmultiplier",
    ];
    let unknown =
        props.iter().filter(|(k, _, _)| !KNOWN.contains(&k.as_str())).map(|(_, key, _)| key.clone()).collect();
    Ok(AthenaTarget {
        masked_url,
        region: region.unwrap_or_default(),
        output_location,
        workgroup,
        catalog: value(&["catalog"]),
        schema: value(&["schema"]),
        endpoint,
        keys,
        timeout,
        polling,
        unknown,
    })
}

/// `athena.<region>.amazonaws.com[:port]` (and the `.cn` / VPC endpoint forms ending the same
/// way) -> region.
fn region_of_host(host: &str) -> Option<String> {
    let host = host.split("://").last().unwrap_or(host);
    let host = host.split([':', '/']).next().unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels.iter().position(|l| l.eq_ignore_ascii_case("athena"))?;
    labels.get(at + 1).filter(|r| r.contains('-')).map(|r| r.to_string())
}

/// What a finished query reports, for the stage's exit event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AthenaOutcome {
    pub query_execution_id: String,
    pub state: String,
    pub statement_type: Option<String>,
    pub work_group: Option<String>,
    pub output_location: Option<String>,
    pub data_scanned_in_bytes: Option<i64>,
    pub engine_execution_time_in_millis: Option<i64>,
    pub total_execution_time_in_millis: Option<i64>,
}

impl AthenaOutcome {
    fn of(id: &str, execution: &QueryExecution) -> Self {
        let stats = execution.statistics();
        Self {
            query_execution_id: id.to_string(),
            state: state_of(execution).map(|s| s.as_str().to_string()).unwrap_or_default(),
            statement_type: execution.statement_type().map(|t| t.as_str().to_string()),
            work_group: execution.work_group().map(str::to_string),
            output_location: execution.result_configuration().and_then(|r| r.output_location()).map(str::to_string),
            data_scanned_in_bytes: stats.and_then(|s| s.data_scanned_in_bytes()),
            engine_execution_time_in_millis: stats.and_then(|s| s.engine_execution_time_in_millis()),
            total_execution_time_in_millis: stats.and_then(|s| s.total_execution_time_in_millis()),
        }
    }

    /// The exit event's `athena` object (camelCase, as Athena names the fields).
    pub fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("queryExecutionId".into(), self.query_execution_id.clone().into());
        m.insert("state".into(), self.state.clone().into());
        let texts = [
            ("statementType", &self.statement_type),
            ("workGroup", &self.work_group),
            ("outputLocation", &self.output_location),
        ];
        for (key, value) in texts {
            if let Some(v) = value {
                m.insert(key.into(), v.clone().into());
            }
        }
        let numbers = [
            ("dataScannedInBytes", self.data_scanned_in_bytes),
            ("engineExecutionTimeInMillis", self.engine_execution_time_in_millis),
            ("totalExecutionTimeInMillis", self.total_execution_time_in_millis),
        ];
        for (key, value) in numbers {
            if let Some(v) = value {
                m.insert(key.into(), v.into());
            }
        }
        m
    }
}

/// A failure to run a statement on Athena.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    /// An API call failed (unreachable endpoint, refused credentials, unknown work group...).
    #[error("Athena {operation} at {endpoint} failed: {message}{stopped}")]
    Api { operation: &'static str, endpoint: String, message: String, stopped: String },
    /// The query ended FAILED or CANCELLED; `reason` is Athena's StateChangeReason.
    #[error("Athena query {id} {state}: {reason}")]
    Ended { id: String, state: String, reason: String },
    /// The query was still running after the timeout.
    #[error(
        "Athena query {id} did not finish within {} s (QueryTimeout; last state {state}){stopped}",
        .timeout.as_secs_f64()
    )]
    Timeout { id: String, state: String, timeout: Duration, stopped: String },
}

/// The state of an execution, `None` when Athena did not say.
fn state_of(execution: &QueryExecution) -> Option<&QueryExecutionState> {
    execution.status().and_then(|s| s.state())
}

/// Success for SUCCEEDED; Athena's reason (and error type, when given) for FAILED/CANCELLED.
fn finished(id: &str, execution: &QueryExecution) -> Result<AthenaOutcome, AthenaError> {
    let outcome = AthenaOutcome::of(id, execution);
    if state_of(execution) == Some(&QueryExecutionState::Succeeded) {
        return Ok(outcome);
    }
    let status = execution.status();
    let mut reason = status.and_then(|s| s.state_change_reason()).unwrap_or("no reason given").to_string();
    if let Some(e) = status.and_then(|s| s.athena_error()) {
        let kind = [e.error_category().map(|c| format!("category {c}")), e.error_type().map(|t| format!("type {t}"))];
        let kind: Vec<String> = kind.into_iter().flatten().collect();
        if !kind.is_empty() {
            reason.push_str(&format!(" (Athena error {})", kind.join(", ")));
        }
    }
    Err(AthenaError::Ended { id: id.to_string(), state: outcome.state, reason })
}

fn is_terminal(state: Option<&QueryExecutionState>) -> bool {
    matches!(state, Some(QueryExecutionState::Succeeded | QueryExecutionState::Failed | QueryExecutionState::Cancelled))
}

/// The endpoint requests go to: `EndpointOverride` (or the URL's host), else
/// `AWS_ENDPOINT_URL_ATHENA`, else `AWS_ENDPOINT_URL`; `None` for Athena's regional endpoint.
pub fn endpoint(target: &AthenaTarget) -> Option<String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    target.endpoint.clone().or_else(|| env("AWS_ENDPOINT_URL_ATHENA")).or_else(|| env("AWS_ENDPOINT_URL"))
}

async fn client(target: &AthenaTarget, endpoint: Option<&str>) -> Client {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(Region::new(target.region.clone()));
    if let Some(keys) = &target.keys {
        loader = loader.credentials_provider(Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.clone(),
            keys.session_token.clone(),
            None,
            "jdbcURL",
        ));
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_athena::config::Builder::from(&shared);
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    Client::from_conf(config.build())
}

/// An SDK error as text: the service's code and message when it answered, else the whole
/// error chain (connection refused, timeout...). Credentials masked.
fn api_message<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_sdk_athena::error::SdkError<E, aws_sdk_athena::config::http::HttpResponse>,
) -> String {
    let text = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        (None, Some(message)) => message.to_string(),
        (None, None) => DisplayErrorContext(error).to_string(),
    };
    mask_credentials(&text).into_owned()
}

/// Stops a query that Weir no longer waits for, unless disarmed: covers the stage's future
/// being dropped (job cancelled) while the query runs.
struct StopOnDrop {
    client: Client,
    id: Option<String>,
}

impl StopOnDrop {
    /// Stops the query now and says how that went (for the error message).
    async fn stop(&mut self) -> String {
        let Some(id) = self.id.take() else { return String::new() };
        match self.client.stop_query_execution().query_execution_id(&id).send().await {
            Ok(_) => "; the query was stopped (StopQueryExecution)".to_string(),
            Err(e) => format!("; stopping it failed too: {}", api_message(&e)),
        }
    }

    fn disarm(&mut self) {
        self.id = None;
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let (Some(id), Ok(runtime)) = (self.id.take(), tokio::runtime::Handle::try_current()) {
            let client = self.client.clone();
            runtime.spawn(async move {
                if let Err(e) = client.stop_query_execution().query_execution_id(&id).send().await {
                    tracing::warn!(query = %id, error = %api_message(&e), "cannot stop the abandoned Athena query");
                }
            });
        }
    }
}

/// Runs one statement: starts it, polls until it ends, stops it on timeout or failure.
pub async fn execute(target: &AthenaTarget, sql: &str) -> Result<AthenaOutcome, AthenaError> {
    let endpoint = endpoint(target);
    let shown_endpoint = endpoint.clone().unwrap_or_else(|| format!("athena.{}.amazonaws.com", target.region));
    let api = |operation: &'static str, message: String, stopped: String| AthenaError::Api {
        operation,
        endpoint: shown_endpoint.clone(),
        message,
        stopped,
    };
    let client = client(target, endpoint.as_deref()).await;
    let mut request = client.start_query_execution().query_string(sql).set_work_group(target.workgroup.clone());
    if let Some(location) = &target.output_location {
        request = request.result_configuration(ResultConfiguration::builder().output_location(location).build());
    }
    if target.catalog.is_some() || target.schema.is_some() {
        request = request.query_execution_context(
            QueryExecutionContext::builder()
                .set_catalog(target.catalog.clone())
                .set_database(target.schema.clone())
                .build(),
        );
    }
    let started = request.send().await.map_err(|e| api("StartQueryExecution", api_message(&e), String::new()))?;
    let Some(id) = started.query_execution_id().map(str::to_string) else {
        return Err(api("StartQueryExecution", "no QueryExecutionId in the answer".into(), String::new()));
    };
    tracing::debug!(query = %id, "Athena query started");
    let mut running = StopOnDrop { client: client.clone(), id: Some(id.clone()) };
    let mut last_state = String::from("QUEUED");
    let poll = async {
        let mut delays = target.polling.delays();
        loop {
            let polled = client.get_query_execution().query_execution_id(&id).send().await;
            let polled = polled.map_err(|e| api_message(&e))?;
            let execution = polled.query_execution().cloned().unwrap_or_else(|| QueryExecution::builder().build());
            if let Some(state) = state_of(&execution) {
                last_state = state.as_str().to_string();
            }
            if is_terminal(state_of(&execution)) {
                return Ok::<QueryExecution, String>(execution);
            }
            tokio::time::sleep(delays.next().unwrap_or(target.polling.max)).await;
        }
    };
    let polled = tokio::time::timeout(target.timeout, poll).await;
    match polled {
        Ok(Ok(execution)) => {
            running.disarm();
            finished(&id, &execution)
        }
        Ok(Err(message)) => {
            let stopped = running.stop().await;
            Err(api("GetQueryExecution", message, stopped))
        }
        Err(_) => {
            let stopped = running.stop().await;
            Err(AthenaError::Timeout { id, state: last_state, timeout: target.timeout, stopped })
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_athena::types::{AthenaError as ApiAthenaError, QueryExecutionStatistics, QueryExecutionStatus};

    use super::*;

    const WORKSHOP: &str = "jdbc:awsathena://AwsRegion=ap-southeast-2;S3OutputLocation=s3://aws-athena-query-results-deltalake;User=AKIAWORKSHOP;Password=athena-secret-value";

    #[test]
    fn the_workshop_url_names_region_output_and_keys() {
        let t = parse_url(WORKSHOP, &[]).expect("valid");
        assert_eq!(t.region, "ap-southeast-2");
        assert_eq!(t.output_location.as_deref(), Some("s3://aws-athena-query-results-deltalake"));
        let keys = t.keys.as_ref().expect("keys");
        assert_eq!(keys.access_key_id, "AKIAWORKSHOP");
        assert_eq!(keys.secret_access_key, "athena-secret-value");
        assert_eq!(keys.session_token, None);
        assert_eq!(
            (t.workgroup.clone(), t.catalog.clone(), t.schema.clone(), t.endpoint.clone()),
            (None, None, None, None)
        );
        assert_eq!(t.timeout, DEFAULT_TIMEOUT);
        assert!(t.unknown.is_empty(), "{:?}", t.unknown);
        assert!(t.masked_url.ends_with("User=AKIAWORKSHOP;Password=*****"), "{}", t.masked_url);
        let debug = format!("{t:?}");
        assert!(!debug.contains("athena-secret-value"), "{debug}");
    }

    #[test]
    fn keys_are_case_insensitive_with_the_simba_aliases() {
        let url = "JDBC:AwsAthena://awsregion=eu-west-1;s3outputlocation=s3://b/r/;UID=AK;pwd=SK;SESSIONTOKEN=tok;\
                   WorkGroup=etl;catalog=AwsDataCatalog;SCHEMA=sales;endpointOverride=http://127.0.0.1:9;QueryTimeout=90;\
                   maxQueryExecutionPollingInterval=500;LogLevel=6;MetadataRetrievalMethod=Query";
        let t = parse_url(url, &[]).expect("valid");
        assert_eq!(t.region, "eu-west-1");
        assert_eq!(t.output_location.as_deref(), Some("s3://b/r/"));
        let keys = t.keys.as_ref().expect("keys");
        assert_eq!((keys.access_key_id.as_str(), keys.secret_access_key.as_str()), ("AK", "SK"));
        assert_eq!(keys.session_token.as_deref(), Some("tok"));
        assert_eq!(t.workgroup.as_deref(), Some("etl"));
        assert_eq!(t.catalog.as_deref(), Some("AwsDataCatalog"));
        assert_eq!(t.schema.as_deref(), Some("sales"));
        assert_eq!(t.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(t.timeout, Duration::from_secs(90));
        assert_eq!(t.polling.max, Duration::from_millis(500));
        assert_eq!(t.unknown, ["LogLevel", "MetadataRetrievalMethod"]);
        assert!(!t.masked_url.contains("SK;") && !t.masked_url.contains("=tok"), "{}", t.masked_url);
    }

    #[test]
    fn params_are_connection_properties_the_url_overrides() {
        let params = [
            ("User".to_string(), "AK".to_string()),
            ("Password".to_string(), "SK".to_string()),
            ("AwsRegion".to_string(), "us-east-1".to_string()),
        ];
        let t = parse_url("jdbc:awsathena://AwsRegion=eu-central-1;Workgroup=wg", &params).expect("valid");
        assert_eq!(t.region, "eu-central-1");
        assert_eq!(t.keys.as_ref().map(|k| k.access_key_id.as_str()), Some("AK"));
        assert_eq!(t.output_location, None, "a work group may hold the output location");
        assert!(t.keys.is_some());
    }

    #[test]
    fn an_endpoint_host_gives_the_region() {
        let t = parse_url("jdbc:awsathena://athena.us-west-2.amazonaws.com:443;S3OutputLocation=s3://b/", &[])
            .expect("valid");
        assert_eq!(t.region, "us-west-2");
        assert_eq!(t.endpoint.as_deref(), Some("https://athena.us-west-2.amazonaws.com:443"));
        assert_eq!(t.keys, None, "the standard credential chain");
    }

    #[test]
    fn missing_region_and_output_are_config_errors_with_the_password_masked() {
        let err = parse_url("jdbc:awsathena://User=AK;Password=s3cr3t", &[]).expect_err("invalid");
        assert!(err.contains("AwsRegion is required"), "{err}");
        assert!(err.contains("S3OutputLocation is required when no Workgroup is given"), "{err}");
        assert!(err.contains("'jdbc:awsathena://User=AK;Password=*****'"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = parse_url("jdbc:awsathena://AwsRegion=eu-west-1;S3OutputLocation=s3a://b/x;Password=p", &[])
            .expect_err("invalid");
        assert!(err.contains("S3OutputLocation 's3a://b/x' must be an s3:// URI"), "{err}");
        assert!(err.contains("Password (the AWS secret access key) is given without User"), "{err}");
        let err = parse_url("jdbc:awsathena://AwsRegion=eu-west-1;Workgroup=w;User=;Password=;QueryTimeout=soon", &[])
            .expect_err("invalid");
        assert!(err.contains("User (the AWS access key id) is empty"), "{err}");
        assert!(err.contains("QueryTimeout must be a positive number (seconds) but is 'soon'"), "{err}");
        let err = parse_url("jdbc:awsathena://AwsRegion=eu-west-1;Workgroup=w;junk", &[]).expect_err("invalid");
        assert!(err.contains("'junk' is not a Key=Value property"), "{err}");
        assert!(parse_url("jdbc:postgresql://h/db", &[]).is_err());
        assert!(is_athena_url("jdbc:AWSATHENA://x") && !is_athena_url("jdbc:aws"));
    }

    #[test]
    fn polling_backs_off_from_min_to_max() {
        let schedule: Vec<u128> = Polling::default().delays().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(schedule, [100, 200, 400, 800, 1600, 2000, 2000]);
        let custom = Polling { min: Duration::from_millis(5), max: Duration::from_millis(40), multiplier: 3.0 };
        let schedule: Vec<u128> = custom.delays().take(4).map(|d| d.as_millis()).collect();
        assert_eq!(schedule, [5, 15, 40, 40]);
        let t = parse_url(
            "jdbc:awsathena://AwsRegion=r-1;Workgroup=w;MinQueryExecutionPollingInterval=50;QueryExecutionPollingIntervalMultiplier=1.5",
            &[],
        )
        .expect("valid");
        let schedule: Vec<u128> = t.polling.delays().take(3).map(|d| d.as_millis()).collect();
        assert_eq!(schedule, [50, 75, 112]);
    }

    fn execution(state: QueryExecutionState, reason: Option<&str>) -> QueryExecution {
        QueryExecution::builder()
            .query_execution_id("q-1")
            .work_group("primary")
            .status(
                QueryExecutionStatus::builder()
                    .state(state)
                    .set_state_change_reason(reason.map(str::to_string))
                    .athena_error(ApiAthenaError::builder().error_category(2).error_type(1300).build())
                    .build(),
            )
            .statistics(QueryExecutionStatistics::builder().data_scanned_in_bytes(1234).build())
            .build()
    }

    #[test]
    fn failed_queries_carry_athenas_reason() {
        let reason = "FAILED: SemanticException [Error 10072]: Database does not exist: nodb";
        let err = finished("q-1", &execution(QueryExecutionState::Failed, Some(reason))).expect_err("failed");
        assert_eq!(err.to_string(), format!("Athena query q-1 FAILED: {reason} (Athena error category 2, type 1300)"));
        let err = finished("q-1", &execution(QueryExecutionState::Cancelled, None)).expect_err("cancelled");
        assert!(err.to_string().starts_with("Athena query q-1 CANCELLED: no reason given"), "{err}");
        let ok = finished("q-1", &execution(QueryExecutionState::Succeeded, None)).expect("succeeded");
        assert_eq!(ok.state, "SUCCEEDED");
        assert_eq!(ok.data_scanned_in_bytes, Some(1234));
        assert_eq!(ok.detail()["workGroup"], "primary");
        assert!(!is_terminal(Some(&QueryExecutionState::Running)) && !is_terminal(None));
    }
}
