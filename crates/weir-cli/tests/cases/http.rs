//! The HTTP stages against a real HTTP server (axum, on 127.0.0.1 in this test process) that
//! records every request it receives: methods, headers, bodies, batching, status handling,
//! failMode, unreachable endpoints, config errors and masked secret headers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;

use super::Scratch;

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// A real HTTP server on a free 127.0.0.1 port, stopped when dropped.
///
/// Routes: `/echo` answers `hello` to a GET and `echo:<body>` to a POST; `/status/{code}`
/// answers that status with body `status <code>`; `/upper` answers the body upper-cased;
/// `/short` answers the body's first line only.
struct Server {
    port: u16,
    log: Log,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn record(log: &Log, method: &Method, path: &str, headers: &HeaderMap, body: &Bytes) -> String {
    let text = String::from_utf8_lossy(body).into_owned();
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    log.lock().unwrap().push(Received {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body: text.clone(),
    });
    text
}

async fn echo(State(log): State<Log>, method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let text = record(&log, &method, "/echo", &headers, &body).await;
    let reply = if method == Method::GET { "hello".to_string() } else { format!("echo:{text}") };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], reply)
}

async fn status(
    State(log): State<Log>,
    Path(code): Path<u16>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    record(&log, &method, &format!("/status/{code}"), &headers, &body).await;
    (StatusCode::from_u16(code).unwrap(), [(header::CONTENT_TYPE, "text/plain")], format!("status {code}"))
}

async fn upper(State(log): State<Log>, method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    record(&log, &method, "/upper", &headers, &body).await.to_uppercase()
}

async fn short(State(log): State<Log>, method: Method, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let text = record(&log, &method, "/short", &headers, &body).await;
    text.lines().next().unwrap_or_default().to_string()
}

impl Server {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let log: Log = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .route("/echo", axum::routing::any(echo))
            .route("/status/{code}", axum::routing::any(status))
            .route("/upper", axum::routing::post(upper))
            .route("/short", axum::routing::post(short))
            .with_state(log.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        Self { port, log, stop: Some(stop), thread: Some(thread) }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests received so far, and forgets them.
    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A job of `stages` (JSON objects), each given `environments`.
fn job(stages: &[String]) -> String {
    let all: Vec<String> = stages.iter().map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

/// A LogExecute stage named `name` logging `sql`'s one JSON string.
fn log_rows(name: &str, view: &str, columns: &str) -> String {
    format!(
        r#"{{"type": "LogExecute", "name": "{name}", "sql": "SELECT TO_JSON(COLLECT_LIST(NAMED_STRUCT({columns}))) FROM {view}"}}"#
    )
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn http_extract_gets_and_posts_with_headers_and_masks_secret_ones() {
    let server = Server::start();
    let s = Scratch::new();
    let get = format!(
        r#"{{"type": "HTTPExtract", "name": "get", "inputURI": "{}", "outputView": "got",
            "headers": {{"X-Trace": "t-1", "Authorization": "Bearer S3cretT0ken", "X-Api-Key": "K3yValue"}}}}"#,
        server.url("/echo")
    );
    let rows = log_rows(
        "show",
        "got",
        "'uri', uri, 'statusCode', statusCode, 'reasonPhrase', reasonPhrase, 'contentType', contentType, 'body', body",
    );
    let run = s.run_job("get.json", &job(&[get, rows]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.exit_stage("show")["message"],
        serde_json::json!([{"uri": server.url("/echo"), "statusCode": 200, "reasonPhrase": "OK",
            "contentType": "text/plain; charset=utf-8", "body": "hello"}])
    );
    let received = server.take();
    assert_eq!(received.len(), 1);
    assert_eq!((received[0].method.as_str(), received[0].path.as_str()), ("GET", "/echo"));
    assert_eq!(received[0].headers["x-trace"], "t-1");
    assert_eq!(received[0].headers["authorization"], "Bearer S3cretT0ken");
    assert_eq!(received[0].headers["x-api-key"], "K3yValue");
    // Secret header values never reach the output; the others are logged.
    let headers = &run.exit_stage("get")["headers"];
    assert_eq!(headers, &serde_json::json!({"X-Trace": "t-1", "Authorization": "*****", "X-Api-Key": "*****"}));
    assert!(!run.all().contains("S3cretT0ken") && !run.all().contains("K3yValue"), "{}", run.all());
    assert_eq!(run.exit_stage("get")["method"], "GET");
    assert_eq!(run.exit_stage("get")["validStatusCodes"], serde_json::json!([200, 201, 202]));

    // POST, one request per row of a view: URI and body from columns.
    let view = format!(
        r#"{{"type": "SQLTransform", "name": "targets", "outputView": "targets",
            "sql": "SELECT * FROM VALUES ('{0}', 'first'), ('{0}', 'second') AS t(address, payload)"}}"#,
        server.url("/echo")
    );
    let post = r#"{"type": "HTTPExtract", "name": "post", "inputView": "targets", "uriField": "address",
        "bodyField": "payload", "method": "POST", "outputView": "posted"}"#
        .to_string();
    let rows = log_rows("show", "posted", "'statusCode', statusCode, 'body', body");
    let run = s.run_job("post.json", &job(&[view, post, rows]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.exit_stage("show")["message"],
        serde_json::json!([{"statusCode": 200, "body": "echo:first"}, {"statusCode": 200, "body": "echo:second"}])
    );
    let mut bodies: Vec<String> = server.take().into_iter().map(|r| format!("{} {}", r.method, r.body)).collect();
    bodies.sort();
    assert_eq!(bodies, ["POST first", "POST second"]);

    // POST with the constant `body`.
    let post = format!(
        r#"{{"type": "HTTPExtract", "name": "post", "inputURI": "{}", "method": "POST", "body": "{{\"q\": 1}}",
            "headers": {{"Content-Type": "application/json"}}, "outputView": "posted"}}"#,
        server.url("/echo")
    );
    let run = s.run_job("body.json", &job(&[post]));
    assert_eq!(run.code, 0, "{}", run.all());
    let received = server.take();
    assert_eq!(received[0].body, r#"{"q": 1}"#);
    assert_eq!(received[0].headers["content-type"], "application/json");
}

#[test]
fn http_status_outside_valid_status_codes_fails_with_arcs_message() {
    let server = Server::start();
    let s = Scratch::new();
    let extract = |path: &str, extra: &str| {
        format!(
            r#"{{"type": "HTTPExtract", "name": "get", "inputURI": "{}", "outputView": "got"{extra}}}"#,
            server.url(path)
        )
    };
    let run = s.run_job("404.json", &job(&[extract("/status/404", "")]));
    assert_eq!(run.code, 1, "{}", run.all());
    let expected =
        "HTTPExtract expects all response StatusCode(s) in [200, 201, 202] but server responded with 404 (Not Found).";
    assert!(run.stderr.contains(expected), "{}", run.stderr);

    // validStatusCodes accepts it.
    let rows = log_rows("show", "got", "'statusCode', statusCode, 'body', body");
    let run = s.run_job("accepted.json", &job(&[extract("/status/404", r#", "validStatusCodes": [404]"#), rows]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("show")["message"], serde_json::json!([{"statusCode": 404, "body": "status 404"}]));

    // HTTPExecute: Arc's own wording.
    let execute = |extra: &str| {
        format!(r#"{{"type": "HTTPExecute", "name": "hook", "uri": "{}"{extra}}}"#, server.url("/status/500"))
    };
    let run = s.run_job("500.json", &job(&[execute("")]));
    assert_eq!(run.code, 1, "{}", run.all());
    let expected = "HTTPExecute expects a response StatusCode in [200, 201, 202] but server responded with 500 (Internal Server Error).";
    assert!(run.stderr.contains(expected), "{}", run.stderr);
    let run = s.run_job("500-ok.json", &job(&[execute(r#", "validStatusCodes": [500]"#)]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.exit_stage("hook")["response"],
        serde_json::json!({"statusCode": 500, "reasonPhrase": "Internal Server Error"})
    );

    // HTTPLoad stops at a bad status and says which.
    let values = r#"{"type": "SQLTransform", "name": "values", "outputView": "values",
        "sql": "SELECT CAST(id AS STRING) AS value FROM RANGE(3)"}"#
        .to_string();
    let load = format!(
        r#"{{"type": "HTTPLoad", "name": "load", "inputView": "values", "outputURI": "{}"}}"#,
        server.url("/status/503")
    );
    let run = s.run_job("load-503.json", &job(&[values, load]));
    assert_eq!(run.code, 1, "{}", run.all());
    let expected = "HTTPLoad expects all response StatusCode(s) in [200, 201, 202] but server responded with 503 (Service Unavailable).";
    assert!(run.stderr.contains(expected), "{}", run.stderr);
}

#[test]
fn http_transform_batches_rows_and_keeps_their_order() {
    let server = Server::start();
    let s = Scratch::new();
    let values = r#"{"type": "SQLTransform", "name": "values", "outputView": "values",
        "sql": "SELECT id, CONCAT('r', id) AS value FROM RANGE(1, 8)"}"#
        .to_string();
    let transform = |extra: &str| {
        format!(
            r#"{{"type": "HTTPTransform", "name": "call", "inputView": "values", "outputView": "called",
                "uri": "{}"{extra}}}"#,
            server.url("/upper")
        )
    };
    let rows = log_rows("show", "called", "'id', id, 'value', value, 'body', body");
    let expected: Vec<serde_json::Value> =
        (1..8).map(|i| serde_json::json!({"id": i, "value": format!("r{i}"), "body": format!("R{i}")})).collect();

    // batchSize 3 over 7 rows: three requests of 3, 3 and 1 rows joined by the delimiter.
    let run = s.run_job("batched.json", &job(&[values.clone(), transform(r#", "batchSize": 3"#), rows.clone()]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("show")["message"], serde_json::Value::Array(expected.clone()));
    let mut bodies: Vec<String> = server.take().into_iter().map(|r| r.body).collect();
    bodies.sort();
    assert_eq!(bodies, ["r1\nr2\nr3", "r4\nr5\nr6", "r7"]);
    assert_eq!(run.exit_stage("call")["requests"], 3);

    // A custom delimiter; default batchSize 1: one request per row.
    let run = s.run_job(
        "delimited.json",
        &job(&[values.clone(), transform(r#", "batchSize": 4, "delimiter": "|""#), rows.clone()]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("show")["message"], serde_json::Value::Array(expected.clone()));
    let mut bodies: Vec<String> = server.take().into_iter().map(|r| r.body).collect();
    bodies.sort();
    assert_eq!(bodies, ["r1|r2|r3|r4", "r5|r6|r7"]);
    let run = s.run_job("single.json", &job(&[values.clone(), transform(""), rows]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("show")["message"], serde_json::Value::Array(expected));
    let received = server.take();
    assert_eq!(received.len(), 7);
    assert!(received.iter().all(|r| r.method == "POST" && r.headers["content-type"].starts_with("text/plain")));

    // A response with fewer values than rows fails.
    let short = format!(
        r#"{{"type": "HTTPTransform", "name": "call", "inputView": "values", "outputView": "called",
            "uri": "{}", "batchSize": 3}}"#,
        server.url("/short")
    );
    let run = s.run_job("short.json", &job(&[values.clone(), short]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "HTTPTransform expects the response to contain same number of results as 'batchSize' (3) but server responded with 1."
        ),
        "{}",
        run.stderr
    );

    // inputField names the column sent; it must be a string or binary.
    let wrong = format!(
        r#"{{"type": "HTTPTransform", "name": "call", "inputView": "values", "outputView": "called",
            "uri": "{}", "inputField": "id"}}"#,
        server.url("/upper")
    );
    let run = s.run_job("wrong.json", &job(&[values, wrong]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "HTTPTransform requires a field named 'id' of type 'string' or 'binary'. 'id' is of type: 'bigint'."
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn http_transform_fail_modes() {
    let server = Server::start();
    let s = Scratch::new();
    let values = r#"{"type": "SQLTransform", "name": "values", "outputView": "values",
        "sql": "SELECT * FROM VALUES ('a'), ('b') AS t(value)"}"#
        .to_string();
    let transform = |mode: &str| {
        format!(
            r#"{{"type": "HTTPTransform", "name": "call", "inputView": "values", "outputView": "called",
                "uri": "{}", "failMode": "{mode}"}}"#,
            server.url("/status/500")
        )
    };
    let run = s.run_job("failfast.json", &job(&[values.clone(), transform("failfast")]));
    assert_eq!(run.code, 1, "{}", run.all());
    let expected = "HTTPTransform expects all response StatusCode(s) in [200, 201, 202] but server responded with 500 (Internal Server Error).";
    assert!(run.stderr.contains(expected), "{}", run.stderr);

    // permissive: the failure is recorded in `response`, the job goes on.
    let rows = log_rows(
        "show",
        "called",
        "'value', value, 'body', body, 'status', response.statusCode, 'reason', response.reasonPhrase, 'type', response.contentType, 'timed', response.responseTime >= 0",
    );
    let run = s.run_job("permissive.json", &job(&[values, transform("permissive"), rows]));
    assert_eq!(run.code, 0, "{}", run.all());
    let row = |v: &str| serde_json::json!({"value": v, "body": "status 500", "status": 500, "reason": "Internal Server Error", "type": "text/plain", "timed": true});
    assert_eq!(run.exit_stage("show")["message"], serde_json::json!([row("a"), row("b")]));
    assert_eq!(run.exit_stage("call")["failMode"], "permissive");
}

#[test]
fn http_load_posts_each_value_and_http_execute_posts_its_payloads() {
    let server = Server::start();
    let s = Scratch::new();
    let values = r#"{"type": "SQLTransform", "name": "values", "outputView": "values",
        "sql": "SELECT TO_JSON(NAMED_STRUCT('id', id)) AS value FROM RANGE(5)"}"#
        .to_string();
    let load = format!(
        r#"{{"type": "HTTPLoad", "name": "load", "inputView": "values", "outputURI": "{}",
            "headers": {{"X-Batch": "nightly", "X-Auth-Token": "T0kenValue"}}}}"#,
        server.url("/echo")
    );
    let run = s.run_job("load.json", &job(&[values.clone(), load]));
    assert_eq!(run.code, 0, "{}", run.all());
    let received = server.take();
    let mut bodies: Vec<String> = received.iter().map(|r| r.body.clone()).collect();
    bodies.sort();
    let expected: Vec<String> = (0..5).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    assert_eq!(bodies, expected);
    assert!(received.iter().all(|r| r.method == "POST" && r.headers["x-batch"] == "nightly"));
    assert!(received.iter().all(|r| r.headers["x-auth-token"] == "T0kenValue"));
    assert!(!run.all().contains("T0kenValue"), "{}", run.all());
    assert_eq!(run.exit_stage("load")["count"], 5);
    assert_eq!(run.exit_stage("load")["statusCodes"], serde_json::json!({"200": 5}));

    // Arc's signature: one string column.
    let two = r#"{"type": "SQLTransform", "name": "two", "outputView": "two", "sql": "SELECT 'a' AS value, 1 AS n"}"#;
    let load = format!(
        r#"{{"type": "HTTPLoad", "name": "load", "inputView": "two", "outputURI": "{}"}}"#,
        server.url("/echo")
    );
    let run = s.run_job("two.json", &job(&[two.to_string(), load]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("HTTPLoad requires inputView to be dataset with [value: string] signature. inputView 'two' has 2 columns of type [string, int]."),
        "{}",
        run.stderr
    );
    assert!(server.take().is_empty(), "nothing sent");

    // HTTPExecute: payloads as one JSON object.
    let execute = format!(
        r#"{{"type": "HTTPExecute", "name": "hook", "uri": "{}", "payloads": {{"jobName": "nightly", "rows": 5}},
            "headers": {{"Authorization": "Basic dXNlcjpwYXNz"}}}}"#,
        server.url("/echo")
    );
    let run = s.run_job("execute.json", &job(&[execute]));
    assert_eq!(run.code, 0, "{}", run.all());
    let received = server.take();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].headers["authorization"], "Basic dXNlcjpwYXNz");
    assert_eq!(received[0].headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&received[0].body).expect("JSON body");
    assert_eq!(body, serde_json::json!({"jobName": "nightly", "rows": "5"}));
    assert_eq!(run.exit_stage("hook")["response"], serde_json::json!({"statusCode": 200, "reasonPhrase": "OK"}));
    assert!(!run.all().contains("dXNlcjpwYXNz"), "{}", run.all());
}

#[test]
fn unreachable_http_endpoint_fails_naming_host_and_port() {
    let s = Scratch::new();
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/api");
    let values = r#"{"type": "SQLTransform", "name": "values", "outputView": "values", "sql": "SELECT 'a' AS value"}"#;
    for (stage, config) in [
        ("HTTPExtract", format!(r#""inputURI": "{url}", "outputView": "o""#)),
        ("HTTPTransform", format!(r#""inputView": "values", "outputView": "o", "uri": "{url}""#)),
        ("HTTPLoad", format!(r#""inputView": "values", "outputURI": "{url}""#)),
        ("HTTPExecute", format!(r#""uri": "{url}""#)),
    ] {
        let call = format!(r#"{{"type": "{stage}", "name": "call", {config}}}"#);
        let run = s.run_job("unreachable.json", &job(&[values.to_string(), call]));
        assert_eq!(run.code, 1, "{}", run.all());
        let expected = format!("{stage} could not connect to 127.0.0.1:{port} (");
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
}

#[test]
fn http_config_errors_use_arcs_words() {
    let s = Scratch::new();
    for (stage, expected) in [
        (
            r#"{"type": "HTTPTransform", "name": "t", "inputView": "v", "outputView": "o"}"#,
            "Missing required attribute 'uri'.",
        ),
        (r#"{"type": "HTTPExtract", "name": "e", "outputView": "o"}"#, "Missing required attribute 'inputURI'."),
        (r#"{"type": "HTTPLoad", "name": "l", "inputView": "v"}"#, "Missing required attribute 'outputURI'."),
        (r#"{"type": "HTTPExecute", "name": "x"}"#, "Missing required attribute 'uri'."),
        (
            r#"{"type": "HTTPExtract", "name": "e", "inputURI": "http://127.0.0.1:1/", "outputView": "o", "method": "DELETE"}"#,
            "Invalid value 'DELETE'. Expected one of: ['GET', 'POST'].",
        ),
        (
            r#"{"type": "HTTPTransform", "name": "t", "inputView": "v", "outputView": "o", "uri": "http://127.0.0.1:1/", "failMode": "lenient"}"#,
            "Invalid value 'lenient'. Expected one of: ['permissive', 'failfast'].",
        ),
        (
            r#"{"type": "HTTPExecute", "name": "x", "uri": "http://127.0.0.1:1/", "payload": {}}"#,
            "Invalid attribute 'payload'. Perhaps you meant one of: ['payloads'].",
        ),
        (
            r#"{"type": "HTTPLoad", "name": "l", "inputView": "v", "outputURI": "ftp://u:Pa55word@127.0.0.1/x"}"#,
            "URI 'ftp://u:*****@127.0.0.1/x' is not an http:// or https:// URI with a host.",
        ),
    ] {
        let run = s.run_job("bad.json", &job(&[stage.to_string()]));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(run.stderr.contains(expected), "{expected}\n{}", run.stderr);
        assert!(!run.all().contains("Pa55word"), "{}", run.all());
    }
}
