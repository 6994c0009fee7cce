//! The HTTP API (JSON) and the web UI, served by one axum router. Everything but `/healthz`
//! (and the UI's stylesheet) needs the bearer token; the UI takes it once at `/login` and keeps
//! it in a cookie. Cookie-authenticated requests that change state must come from this site
//! (`Origin`/`Referer`) and carry the CSRF token ([`crate::websec`]); bearer requests need not.

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

use crate::access::JobRoots;
use crate::store::{NewRun, Queued, Run, Status, Store};
use crate::trigger::run_env;
use crate::ui;
use crate::websec::{self, CSRF_COOKIE, TOKEN_COOKIE, ct_eq};
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
    /// Configured triggers, as shown by `GET /api/triggers` (secret env values masked).
    pub triggers: Arc<Vec<Value>>,
    /// Where jobs submitted with `POST /api/runs` may come from.
    pub job_roots: Arc<JobRoots>,
    /// Variables a submitted run may set besides `ETL_CONF_*`, `ETL_POLICY_*` and `WEIR_*`.
    pub env_allow: Arc<Vec<String>>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// How a request proved it holds the token.
#[derive(PartialEq)]
enum Auth {
    Bearer,
    Cookie,
}

fn authorized(state: &AppState, headers: &HeaderMap) -> Option<Auth> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let expected = state.token.as_str();
    if bearer.is_some_and(|b| ct_eq(b, expected)) {
        return Some(Auth::Bearer);
    }
    websec::cookie(headers, TOKEN_COOKIE).is_some_and(|c| ct_eq(c, expected)).then_some(Auth::Cookie)
}

/// Largest body a cookie-authenticated state change may send (it is read to find the CSRF field).
const MAX_FORM_BYTES: usize = 1 << 20;

async fn auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match authorized(&state, request.headers()) {
        Some(Auth::Bearer) => return next.run(request).await,
        Some(Auth::Cookie) if !websec::state_changing(request.method()) => return next.run(request).await,
        Some(Auth::Cookie) => {
            if !websec::same_origin(request.headers()) {
                return error(
                    StatusCode::FORBIDDEN,
                    "cross-site request refused: Origin (or Referer) is not this site",
                );
            }
            let (parts, body) = request.into_parts();
            let Ok(body) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
            };
            let expected = websec::cookie(&parts.headers, CSRF_COOKIE);
            let sent = websec::submitted_csrf(&parts.headers, &body);
            let ok = matches!((expected, sent.as_deref()), (Some(e), Some(s)) if ct_eq(e, s));
            if !ok {
                return error(
                    StatusCode::FORBIDDEN,
                    "missing or wrong CSRF token (X-CSRF-Token header or csrf form field); API clients should use Authorization: Bearer TOKEN",
                );
            }
            return next.run(Request::from_parts(parts, axum::body::Body::from(body))).await;
        }
        None => {}
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
        .route("/runs/{id}/cancel", post(ui_cancel))
        .layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/ui.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], ui::STYLE) }))
        .route("/login", get(login_page).post(login))
        .merge(protected)
        .with_state(state)
        .layer(middleware::from_fn(websec::headers))
}

/// A schedule with its next `n` fire times, as the API and UI show it: secret env values masked.
fn schedule_shown(s: &crate::schedule::Schedule, n: usize) -> Value {
    let mut v = s.describe(n);
    crate::secrets::mask_env_field(&mut v);
    v
}

/// A run as the API shows it: secret env values masked.
fn shown(run: &Run) -> Value {
    let mut v = serde_json::to_value(run).unwrap_or_default();
    crate::secrets::mask_env_field(&mut v);
    v
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
        Ok(runs) => axum::Json(json!({ "runs": runs.iter().map(shown).collect::<Vec<_>>() })).into_response(),
        Err(e) => internal(e),
    }
}

async fn run_detail(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match state.store.get(id).await {
        Ok(Some((run, stages, log))) => {
            let mut v = shown(&run);
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
    if let Err(e) = crate::access::check_env(submit.env.keys(), &state.env_allow) {
        tracing::warn!("rejected a submit: {e}");
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    if let Err(e) = state.job_roots.check(&submit.job) {
        tracing::warn!("rejected a submit: {e}");
        let status = match e {
            crate::access::AccessError::OutsideRoots { .. } => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        return error(status, e.to_string());
    }
    let mut env = run_env(&submit.job, &state.run_env);
    env.extend(crate::secrets::protect_submitted(&submit.env));
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
    let list: Vec<Value> = state.schedules.iter().map(|s| schedule_shown(s, 5)).collect();
    axum::Json(json!({ "schedules": list })).into_response()
}

/// Cancels a queued run, or asks a running one to stop: the resulting status, None when the run
/// is neither queued nor running here.
async fn cancel_run(state: &AppState, id: i64) -> Result<Option<(StatusCode, &'static str)>, Response> {
    match state.store.cancel_queued(id).await {
        Ok(true) => Ok(Some((StatusCode::OK, "cancelled"))),
        Ok(false) => Ok(state.running.cancel(id).then_some((StatusCode::ACCEPTED, "cancelling"))),
        Err(e) => Err(internal(e)),
    }
}

async fn cancel(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match cancel_run(&state, id).await {
        Ok(Some((code, status))) => (code, axum::Json(json!({"id": id, "status": status}))).into_response(),
        Ok(None) => error(StatusCode::CONFLICT, format!("run {id} is not queued or running here")),
        Err(r) => r,
    }
}

/// The run page's cancel button (a form: the auth layer has checked its CSRF token).
async fn ui_cancel(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    match cancel_run(&state, id).await {
        Ok(_) => Redirect::to(&format!("/runs/{id}")).into_response(),
        Err(r) => r,
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
            let schedules: Vec<Value> = state.schedules.iter().map(|s| schedule_shown(s, 3)).collect();
            Html(ui::runs_page(&runs, &schedules)).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn ui_run(State(state): State<AppState>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    match state.store.get(id).await {
        Ok(Some((run, stages, log))) => {
            // The page's forms carry the session's CSRF token (made here for sessions without one).
            let (csrf, new) = match websec::cookie(&headers, CSRF_COOKIE) {
                Some(c) => (c.to_string(), false),
                None => (websec::new_csrf_token(), true),
            };
            let mut response = Html(ui::run_page(&run, &stages, &log, &csrf)).into_response();
            if new && let Ok(v) = websec::csrf_cookie(&csrf).parse() {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
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
    // Only paths on this site: never redirect elsewhere.
    let next = websec::safe_next(next);
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let csrf = websec::csrf_cookie(&websec::new_csrf_token());
    (axum::response::AppendHeaders([(header::SET_COOKIE, cookie), (header::SET_COOKIE, csrf)]), Redirect::to(next))
        .into_response()
}

/// The sign-in page; `?token=...&next=/path` signs in directly (links from chat or scripts).
async fn login_page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    match q.token {
        Some(t) if ct_eq(t.trim(), &state.token) => signed_in(&state.token, q.next.as_deref()),
        Some(_) => (StatusCode::UNAUTHORIZED, Html(ui::login_html(Some("Wrong token.")))).into_response(),
        None => Html(ui::login_html(None)).into_response(),
    }
}

async fn login(State(state): State<AppState>, headers: HeaderMap, axum::Form(form): axum::Form<LoginForm>) -> Response {
    // A sign-in posted from another site (login CSRF) is refused.
    if headers.contains_key(header::ORIGIN) && !websec::same_origin(&headers) {
        return error(StatusCode::FORBIDDEN, "cross-site request refused: Origin is not this site");
    }
    if !ct_eq(form.token.trim(), &state.token) {
        return (StatusCode::UNAUTHORIZED, Html(ui::login_html(Some("Wrong token.")))).into_response();
    }
    signed_in(&state.token, None)
}
