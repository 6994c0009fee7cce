//! The HTTP API (JSON) and the web UI, served by one axum router. Everything but `/healthz`
//! needs the bearer token; the UI takes it once at `/login` and keeps it in a cookie.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::store::{NewRun, Queued, Status, Store};
use crate::trigger::run_env;
use crate::ui;
use crate::worker::Running;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub token: Arc<String>,
    pub wake: Arc<Notify>,
    pub running: Running,
    /// Variables every run gets (from the service config).
    pub run_env: Map<String, Value>,
    pub schedules: Arc<Vec<crate::schedule::Schedule>>,
    /// Configured triggers, as shown by `GET /api/triggers`.
    pub triggers: Arc<Vec<Value>>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').map(str::trim).find_map(|kv| kv.strip_prefix("weir_token=")).map(str::to_string));
    let expected = state.token.as_str();
    bearer == Some(expected) || cookie.as_deref() == Some(expected)
}

async fn auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if authorized(&state, request.headers()) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if path.starts_with("/api/") || path == "/metrics" {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token (Authorization: Bearer TOKEN)");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        r
    } else {
        Redirect::to("/login").into_response()
    }
}

/// The router.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/runs", get(list_runs).post(submit))
        .route("/api/runs/{id}", get(run_detail))
        .route("/api/runs/{id}/cancel", post(cancel))
        .route("/api/events/s3", post(s3_event))
        .route("/api/schedules", get(schedules))
        .route("/api/triggers", get(triggers))
        .route("/api/jobs", get(jobs))
        .route("/metrics", get(metrics))
        .route("/", get(ui_runs))
        .route("/runs/{id}", get(ui_run))
        .layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(login_page).post(login))
        .merge(protected)
        .with_state(state)
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    job: Option<String>,
    limit: Option<i64>,
}

async fn list_runs(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => match Status::parse(s) {
            Some(s) => Some(s),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown status '{s}': queued, running, succeeded, failed or cancelled"),
                );
            }
        },
    };
    match state.store.list(status, q.job, q.limit.unwrap_or(100).clamp(1, 10_000)).await {
        Ok(runs) => axum::Json(json!({ "runs": runs })).into_response(),
        Err(e) => internal(e),
    }
}

async fn run_detail(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.store.get(id).await {
        Ok(Some((run, stages, log))) => {
            let mut v = serde_json::to_value(&run).unwrap_or_default();
            v["stages"] = serde_json::to_value(&stages).unwrap_or_default();
            v["log"] = log.into();
            axum::Json(v).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no run {id}")),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct Submit {
    /// Job file path or URI.
    job: String,
    /// Extra variables for this run.
    #[serde(default)]
    env: Map<String, Value>,
}

async fn submit(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let submit: Submit = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("rejected a submit: {e}");
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"job\": \"path or URI\", \"env\": {{...}}}}: {e}"),
            );
        }
    };
    if submit.job.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "'job' is empty");
    }
    let mut env = run_env(&submit.job, &state.run_env);
    env.extend(submit.env);
    // The run executes the job as it is now (unreadable: the run fails with the read error).
    let snapshot = match crate::trigger::read_snapshot(&submit.job, &Default::default()).await {
        Ok(s) => Some(s),
        Err(e @ crate::trigger::SnapshotError::TooBig { .. }) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(_) => None,
    };
    let run =
        NewRun { job: submit.job, trigger: "api".into(), dedupe_key: None, count_duplicate: false, env, snapshot };
    match state.store.enqueue(run).await {
        Ok(Queued::New(id)) | Ok(Queued::Duplicate(id)) => {
            state.wake.notify_waiters();
            (StatusCode::ACCEPTED, axum::Json(json!({"id": id, "status": "queued"}))).into_response()
        }
        Err(e) => internal(e),
    }
}

/// S3 object-created notifications (from a Lambda, EventBridge or SNS forwarder): one run per
/// object version; repeats are recorded as duplicates. Answers only once every run is queued.
async fn s3_event(State(state): State<AppState>, body: String) -> Response {
    let parsed = match crate::s3event::parse(&body) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("rejected an S3 event: {e}");
            return error(StatusCode::BAD_REQUEST, e);
        }
    };
    let (queued, duplicates, mut skipped) = match crate::trigger::queue_objects(
        &state.store,
        "s3-event",
        &crate::trigger::Filter::default(),
        parsed.objects,
        &state.run_env,
    )
    .await
    {
        Ok(result) => result,
        Err(e) => return internal(e),
    };
    skipped.extend(parsed.skipped);
    if !queued.is_empty() {
        state.wake.notify_waiters();
    }
    (StatusCode::ACCEPTED, axum::Json(json!({"queued": queued, "duplicates": duplicates, "skipped": skipped})))
        .into_response()
}

async fn triggers(State(state): State<AppState>) -> Response {
    axum::Json(json!({ "triggers": state.triggers.as_ref() })).into_response()
}

async fn jobs(State(state): State<AppState>) -> Response {
    match state.store.jobs().await {
        Ok(jobs) => axum::Json(json!({ "jobs": jobs })).into_response(),
        Err(e) => internal(e),
    }
}

async fn schedules(State(state): State<AppState>) -> Response {
    let list: Vec<Value> = state.schedules.iter().map(|s| s.describe(5)).collect();
    axum::Json(json!({ "schedules": list })).into_response()
}

async fn cancel(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.store.cancel_queued(id).await {
        Ok(true) => return axum::Json(json!({"id": id, "status": "cancelled"})).into_response(),
        Ok(false) => {}
        Err(e) => return internal(e),
    }
    if state.running.cancel(id) {
        (StatusCode::ACCEPTED, axum::Json(json!({"id": id, "status": "cancelling"}))).into_response()
    } else {
        error(StatusCode::CONFLICT, format!("run {id} is not queued or running here"))
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.store.counts().await {
        Ok(counts) => {
            let mut out = String::from("# HELP weir_runs Runs in the store by status.\n# TYPE weir_runs gauge\n");
            for (status, n) in counts {
                out.push_str(&format!("weir_runs{{status=\"{status}\"}} {n}\n"));
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn ui_runs(State(state): State<AppState>) -> Response {
    match state.store.list(None, None, 200).await {
        Ok(runs) => {
            let schedules: Vec<Value> = state.schedules.iter().map(|s| s.describe(3)).collect();
            Html(ui::runs_page(&runs, &schedules)).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn ui_run(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.store.get(id).await {
        Ok(Some((run, stages, log))) => Html(ui::run_page(&run, &stages, &log)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Html(ui::not_found(id))).into_response(),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
    next: Option<String>,
}

fn signed_in(token: &str, next: Option<&str>) -> Response {
    // Only local paths: never redirect elsewhere.
    let next = next.filter(|n| n.starts_with('/') && !n.starts_with("//")).unwrap_or("/");
    let cookie = format!("weir_token={token}; HttpOnly; SameSite=Strict; Path=/");
    ([(header::SET_COOKIE, cookie)], Redirect::to(next)).into_response()
}

/// The sign-in page; `?token=...&next=/path` signs in directly (links from chat or scripts).
async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    match q.token {
        Some(t) if t.trim() == state.token.as_str() => signed_in(&state.token, q.next.as_deref()),
        Some(_) => (StatusCode::UNAUTHORIZED, Html(ui::login_html(Some("Wrong token.")))).into_response(),
        None => Html(ui::login_html(None)).into_response(),
    }
}

async fn login(State(state): State<AppState>, axum::Form(form): axum::Form<LoginForm>) -> Response {
    if form.token.trim() != state.token.as_str() {
        return (StatusCode::UNAUTHORIZED, Html(ui::login_html(Some("Wrong token.")))).into_response();
    }
    signed_in(&state.token, None)
}
