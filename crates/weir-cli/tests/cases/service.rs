//! `weir serve` as users run it: the real binary, a scratch data directory, job files dropped
//! into DATA_DIR/trigger/, the HTTP API over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Scratch;
use super::workshop::{BUCKET, upload_app_code, without_athena_cell};
use crate::support::{self, MotoServer, S3Server};

pub(crate) const TOKEN: &str = "test-token-123";

/// A job that succeeds at once.
pub(super) const TRIVIAL_JOB: &str = r#"{"stages": [{"type": "SQLTransform", "name": "one", "environments": ["dev"], "outputView": "o", "sql": "SELECT 1 AS one", "persist": true}]}"#;

pub(crate) struct Service {
    pub(crate) child: Child,
    pub(crate) addr: String,
    /// What the service has written to stderr (its log).
    pub(crate) stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Service {
    pub(crate) fn start(data_dir: &std::path::Path, env: &[(String, String)]) -> Self {
        Self::start_with_args(data_dir, env, &[])
    }

    pub(crate) fn start_with_args(data_dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
        cmd.args(["serve", "--data-dir", data_dir.to_str().expect("utf8"), "--listen", "127.0.0.1:0", "--env", "dev"])
            .arg("--allow-root")
            .args(args)
            .env("WEIR_API_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for key in ["ETL_CONF_ENV", "ETL_CONF_URI", "ETL_CONF_DATALAKE_LOC", "ETL_CONF_CURRENT_TIMESTAMP"] {
            cmd.env_remove(key);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("weir serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut early = Vec::new();
        let addr = loop {
            let line = lines.next().expect("serve prints its address").expect("read");
            if let Some(rest) = line.strip_prefix("weir serve: http://") {
                break rest.split('/').next().expect("addr").to_string();
            }
            early.push(line);
        };
        // Keep draining stderr so the service never blocks on a full pipe; keep it for asserts.
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(early));
        let kept = stderr.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Self { child, addr, stderr }
    }

    pub(crate) fn http(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        if let Some(t) = token {
            request.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = body.unwrap_or("");
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// Waits (up to 10 s) for a line of the service's log containing `text`.
    pub(crate) fn wait_log(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|l| l.contains(text))
            {
                return line.clone();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no log line with '{text}'");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn json(&self, path: &str) -> Value {
        let (status, body) = self.http("GET", path, Some(TOKEN), None);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    pub(crate) fn runs(&self) -> Vec<Value> {
        self.json("/api/runs?limit=10000")["runs"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `n` runs exist and none is queued or running.
    pub(crate) fn wait_finished(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let runs = self.runs();
            let done = runs.iter().all(|r| r["status"] != "queued" && r["status"] != "running");
            if runs.len() >= n && done {
                return runs;
            }
            assert!(started.elapsed() < timeout, "runs did not finish in {timeout:?}: {runs:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `weir serve` with `bad.toml` holding `config` (for configs it must refuse at start).
fn serve_with_config(s: &Scratch, data: &std::path::Path, config: &str) -> super::Run {
    let bad = s.file("bad.toml", config);
    super::weir(
        &["serve", "--allow-root", "--data-dir", data.to_str().expect("utf8"), "--config", bad.to_str().expect("utf8")],
        &[],
        s.path(),
    )
}

/// Writes a file next to the trigger directory, then renames it in (as an atomic drop).
pub(crate) fn drop_job(data_dir: &std::path::Path, name: &str, content: &str) {
    let staging = data_dir.join(format!(".{name}.tmp"));
    std::fs::write(&staging, content).expect("write job");
    std::fs::rename(&staging, data_dir.join("trigger").join(name)).expect("drop job");
}

#[test]
fn dropped_job_files_run_once_each_with_history_and_api() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let service = Service::start(&data, &[]);

    // Health is open; everything else needs the token.
    assert_eq!(service.http("GET", "/healthz", None, None).0, 200);
    assert_eq!(service.http("GET", "/api/runs", None, None).0, 401);
    assert_eq!(service.http("GET", "/api/runs", Some("wrong"), None).0, 401);
    assert_eq!(service.http("GET", "/metrics", None, None).0, 401);

    let out = s.path().join("out");
    let job = format!(
        r#"{{"stages": [
          {{"type": "SQLTransform", "name": "numbers", "environments": ["dev"], "outputView": "n",
            "sql": "SELECT id FROM (VALUES (1), (2), (3)) AS t(id)"}},
          {{"type": "ParquetLoad", "name": "save", "environments": ["dev"], "inputView": "n",
            "outputURI": "{}/n.parquet", "saveMode": "Overwrite"}}
        ]}}"#,
        out.display()
    );
    drop_job(&data, "numbers.json", &job);
    drop_job(
        &data,
        "broken.json",
        r#"{"stages": [{"type": "SQLTransfrom", "name": "typo", "environments": ["dev"]}]}"#,
    );
    drop_job(&data, "notes.txt", "not a job");
    let runs = service.wait_finished(2, Duration::from_secs(60));
    assert_eq!(runs.len(), 2, "one run per job file, none for notes.txt: {runs:?}");
    let ok = runs.iter().find(|r| r["job"].as_str().unwrap_or("").ends_with("numbers.json")).expect("numbers run");
    assert_eq!(ok["status"], "succeeded", "{ok}");
    assert_eq!(ok["trigger"], "directory");
    assert_eq!(ok["env"]["ETL_CONF_JOB_NAME"], "numbers");
    let detail = service.json(&format!("/api/runs/{}", ok["id"]));
    let stages = detail["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 2, "{detail}");
    assert_eq!((stages[1]["name"].as_str(), stages[1]["rows"].as_i64()), (Some("save"), Some(3)));
    assert!(detail["log"].as_str().unwrap_or("").contains("\"event\":\"exit\""), "log kept");
    let bad = runs.iter().find(|r| r["job"].as_str().unwrap_or("").ends_with("broken.json")).expect("broken run");
    assert_eq!(bad["status"], "failed");
    let bad_detail = service.json(&format!("/api/runs/{}", bad["id"]));
    assert!(bad_detail["error"].as_str().unwrap_or("").contains("SQLTransfrom"), "{bad_detail}");

    // The same version again is not a new run; a changed file is.
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(service.runs().len(), 2);
    drop_job(&data, "numbers.json", &job.replace("(3)", "(3), (4)"));
    let runs = service.wait_finished(3, Duration::from_secs(60));
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["status"], "succeeded", "newest first: {runs:?}");

    // Submit through the API; bad submits are 400.
    let (status, body) = service.http(
        "POST",
        "/api/runs",
        Some(TOKEN),
        Some(&format!(r#"{{"job": "{}/trigger/numbers.json"}}"#, data.display())),
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(service.http("POST", "/api/runs", Some(TOKEN), Some("{not json")).0, 400);
    let runs = service.wait_finished(4, Duration::from_secs(60));
    assert_eq!(runs[0]["trigger"], "api");
    let (status, metrics) = service.http("GET", "/metrics", Some(TOKEN), None);
    assert_eq!(status, 200);
    assert!(metrics.contains("weir_runs{status=\"succeeded\"} 3"), "{metrics}");
    // The UI lists runs and shows a run's stages.
    let (status, page) = service.http("GET", "/", Some(TOKEN), None);
    assert!(status == 200 && page.contains("numbers.json"), "{page}");
    let (_, page) = service.http("GET", &format!("/runs/{}", ok["id"]), Some(TOKEN), None);
    assert!(page.contains("<td>save</td>"), "{page}");
}

#[test]
fn productionized_workshop_notebook_dropped_in_a_directory_and_in_a_bucket() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("../shared not found: skipping the service workshop test");
        return;
    };
    let notebook = std::fs::read_to_string(shared.join("workshop/job/SCD_Type2_workshop.ipynb")).expect("notebook");
    let notebook = without_athena_cell(&notebook);
    let s3 = S3Server::start();
    upload_app_code(&s3, &shared);
    let mut env = s3.env();
    env.push(("ETL_CONF_DATALAKE_LOC".into(), BUCKET.into()));
    let s = Scratch::new();
    let data = s.path().join("data");
    let config = s.file(
        "weir.toml",
        &format!(
            r#"
[[trigger]]
name = "bucket"
location = "s3://{BUCKET}/incoming/"
prefix = "scd2"
suffixes = [".ipynb"]
interval_ms = 300
env = {{ TRIGGERED_BY = "bucket" }}
"#
        ),
    );
    let service = Service::start_with_args(&data, &env, &["--config", config.to_str().expect("utf8")]);
    let check = |run: &Value, trigger: &str| {
        let detail = service.json(&format!("/api/runs/{}", run["id"]));
        assert_eq!(run["status"], "succeeded", "{}", detail["log"]);
        assert_eq!(run["trigger"], trigger);
        let stages = detail["stages"].as_array().expect("stages");
        assert_eq!(stages.len(), 11, "{detail}");
        assert!(stages.iter().all(|s| s["status"] == "succeeded" && s["rows"].is_u64()), "{stages:?}");
        let load = stages.iter().find(|s| s["type"] == "DeltaLakeLoad").expect("load");
        assert_eq!(load["rows"], 1000);
        let result = support::read_delta_with_python(&format!("s3://{BUCKET}/output/delta_contact/"), &s3.env());
        assert_eq!((result["num_rows"].as_u64(), result["expired"].as_u64()), (Some(1192), Some(92)));
        detail
    };

    // (a) the data directory's trigger/
    drop_job(&data, "scd2_prod.ipynb", &notebook);
    let runs = service.wait_finished(1, Duration::from_secs(180));
    check(&runs[0], "directory");

    // (b) a bucket prefix on the S3-compatible server; files the filters exclude never run.
    s3.put(BUCKET, "incoming/readme.txt", b"not a job");
    s3.put(BUCKET, "incoming/other.ipynb", b"{}");
    s3.put(BUCKET, "incoming/scd2_prod.ipynb", notebook.as_bytes());
    let runs = service.wait_finished(2, Duration::from_secs(180));
    assert_eq!(runs.len(), 2, "{runs:?}");
    let detail = check(&runs[0], "bucket");
    assert_eq!(detail["job"], format!("s3://{BUCKET}/incoming/scd2_prod.ipynb"));
    assert_eq!(detail["env"]["ETL_CONF_JOB_NAME"], "scd2_prod");
    assert_eq!(detail["env"]["TRIGGERED_BY"], "bucket");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(service.runs().len(), 2, "one run per object version");
    let triggers = service.json("/api/triggers");
    let bucket = triggers["triggers"].as_array().and_then(|t| t.iter().find(|t| t["name"] == "bucket")).cloned();
    assert_eq!(
        bucket.map(|b| b["location"].clone()),
        Some(Value::from(format!("s3://{BUCKET}/incoming/"))),
        "{triggers}"
    );
    let jobs = service.json("/api/jobs");
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(2), "{jobs}");
    assert_eq!(
        (jobs["jobs"][0]["runs"].as_i64(), jobs["jobs"][0]["last_status"].as_str()),
        (Some(1), Some("succeeded"))
    );

    // A bad trigger config is refused at start, naming the file and the trigger.
    let out = serve_with_config(&s, &data, "[[trigger]]\nname = \"q\"\ntype = \"sqs\"\n");
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("bad.toml") && out.stderr.contains("trigger 'q': an sqs trigger needs 'queue_url'"),
        "{}",
        out.stderr
    );
}

#[test]
fn kill_9_part_way_then_restart_gives_exactly_one_run_per_file() {
    let s = Scratch::new();
    let data = s.path().join("data");
    std::fs::create_dir_all(data.join("trigger")).expect("mkdir");
    let job = TRIVIAL_JOB;
    const FILES: usize = 200;
    let mut service = Service::start(&data, &[]);
    for i in 0..FILES {
        drop_job(&data, &format!("job_{i:03}.json"), job);
    }
    // Kill -9 once some runs have finished and others are queued or running.
    let started = Instant::now();
    loop {
        let runs = service.runs();
        if runs.iter().filter(|r| r["status"] == "succeeded").count() >= 20 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "runs never started: {runs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    service.child.kill().expect("SIGKILL");
    let _ = service.child.wait();
    drop(service);
    let service = Service::start(&data, &[]);
    let runs = service.wait_finished(FILES, Duration::from_secs(300));
    assert_eq!(runs.len(), FILES, "exactly one run per file");
    let mut jobs: Vec<&str> = runs.iter().map(|r| r["job"].as_str().unwrap_or("")).collect();
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), FILES, "no file ran twice");
    let interrupted: Vec<&Value> = runs.iter().filter(|r| r["status"] == "failed").collect();
    assert!(
        interrupted.iter().all(|r| r["error"].as_str().unwrap_or("").contains("service stopped")),
        "only runs cut by the kill failed: {interrupted:?}"
    );
    assert!(runs.iter().filter(|r| r["status"] == "succeeded").count() >= FILES - 2 * 2, "queued runs still ran");
}

#[test]
fn s3_event_notifications_start_one_run_per_object_version() {
    let s3 = S3Server::start();
    s3.create_bucket("jobs");
    let job = TRIVIAL_JOB;
    s3.put("jobs", "incoming/my job.json", job.as_bytes());
    let s = Scratch::new();
    let service = Service::start(&s.path().join("data"), &s3.env());
    let event = r#"{"Records": [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "jobs"}, "object": {"key": "incoming/my+job.json", "eTag": "e1"}}},
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "jobs"}, "object": {"key": "incoming/readme.txt", "eTag": "e2"}}}
    ]}"#;
    let (status, body) = service.http("POST", "/api/events/s3", Some(TOKEN), Some(event));
    assert_eq!(status, 202, "{body}");
    let first: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(first["queued"].as_array().map(Vec::len), Some(1), "{first}");
    assert_eq!(first["skipped"].as_array().map(Vec::len), Some(1), "{first}");
    // Redelivery of the same event: recorded as a duplicate, no second run.
    let (_, body) = service.http("POST", "/api/events/s3", Some(TOKEN), Some(event));
    let second: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(second["duplicates"], first["queued"], "{second}");
    let test_event = r#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "jobs"}"#;
    assert_eq!(service.http("POST", "/api/events/s3", Some(TOKEN), Some(test_event)).0, 202);
    assert_eq!(service.http("POST", "/api/events/s3", Some(TOKEN), Some("{\"Records\": 5")).0, 400);
    assert!(service.wait_log("rejected an S3 event").contains("WARN"), "a log line for the malformed event");
    let runs = service.wait_finished(1, Duration::from_secs(60));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["job"], "s3a://jobs/incoming/my job.json");
    assert_eq!(runs[0]["status"], "succeeded", "{:?}", service.json(&format!("/api/runs/{}", runs[0]["id"]))["log"]);
    assert_eq!(runs[0]["duplicates"], 1);
    assert_eq!(runs[0]["env"]["ETL_CONF_JOB_NAME"], "my job");

    // An object that cannot be read: its run fails with the error recorded.
    let gone = r#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "jobs"}, "object": {"key": "incoming/gone.json", "eTag": "e3"}}}]}"#;
    assert_eq!(service.http("POST", "/api/events/s3", Some(TOKEN), Some(gone)).0, 202);
    let runs = service.wait_finished(2, Duration::from_secs(60));
    assert_eq!(runs[0]["status"], "failed", "{runs:?}");
    let error = runs[0]["error"].as_str().unwrap_or("");
    assert!(error.contains("s3a://jobs/incoming/gone.json"), "{error}");
}

/// Headless Chromium (Debian's `chromium`, installed by ./scripts/test.sh): the page as a
/// browser renders it, after signing in through `/login?token=...&next=...`.
fn browser_dom(url: &str) -> String {
    let chromium = std::env::var_os("WEIR_CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| support::which("chromium"))
        .expect("chromium is needed for the web UI test: ./scripts/test.sh installs it (apt-get install chromium)");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(["--dump-dom", url]);
    let out = support::run_with_timeout(cmd, Duration::from_secs(60));
    assert!(out.success(), "chromium failed: {}", out.all());
    out.stdout
}

#[test]
fn web_ui_in_headless_chromium() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let service = Service::start(&data, &[]);
    let job = r#"{"stages": [
      {"type": "SQLTransform", "name": "numbers", "environments": ["dev"], "outputView": "n", "sql": "SELECT id FROM (VALUES (1), (2)) AS t(id)", "persist": true}
    ]}"#;
    drop_job(&data, "ui_job.json", job);
    let runs = service.wait_finished(1, Duration::from_secs(60));
    let id = runs[0]["id"].as_i64().expect("id");
    // Without the token the browser lands on the sign-in page.
    let dom = browser_dom(&format!("http://{}/", service.addr));
    assert!(dom.contains("API token") && !dom.contains("ui_job.json"), "{dom}");
    let dom = browser_dom(&format!("http://{}/login?token={TOKEN}&next=/", service.addr));
    assert!(dom.contains("ui_job.json") && dom.contains("succeeded"), "runs page: {dom}");
    let dom = browser_dom(&format!("http://{}/login?token={TOKEN}&next=/runs/{id}", service.addr));
    assert!(dom.contains("<td>numbers</td>") && dom.contains("<td>2</td>"), "run page: {dom}");
}

#[test]
fn schedules_fire_on_time_and_forbid_skips_while_running() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let quick = s.file(
        "jobs/quick.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "one", "environments": ["dev"], "outputView": "o", "sql": "SELECT 1 AS one", "persist": true}]}"#,
    );
    // Long enough (a few seconds on a debug build) to still be running at the next fires.
    let slow = s.file(
        "jobs/slow.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "busy", "environments": ["dev"], "outputView": "o", "persist": true,
            "sql": "SELECT count(*) AS n FROM range(20000) a CROSS JOIN range(20000) b WHERE a.id + b.id < 0"}]}"#,
    );
    let config = s.file(
        "weir.toml",
        &format!(
            r#"
[[schedule]]
name = "tick"
cron = "*/2 * * * * *"
timezone = "Europe/Paris"
job = "{}"

[[schedule]]
name = "slow"
cron = "* * * * * *"
job = "{}"
concurrency = "forbid"
env = {{ PARAM = "x" }}
"#,
            quick.display(),
            slow.display()
        ),
    );
    let service = Service::start_with_args(&data, &[], &["--config", config.to_str().expect("utf8")]);
    let schedules = service.json("/api/schedules");
    let list = schedules["schedules"].as_array().expect("schedules");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["next"].as_array().map(Vec::len), Some(5), "{schedules}");
    std::thread::sleep(Duration::from_secs(7));
    let runs = service.runs();
    let tick: Vec<&Value> = runs.iter().filter(|r| r["trigger"] == "schedule:tick").collect();
    assert!(tick.len() >= 3, "a run every 2 s: {tick:?}");
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339");
    // Fire times follow the expression exactly; runs start right after them (the bound is loose:
    // latency is measured by the benchmark, not asserted here).
    let mut fired: Vec<_> = tick.iter().map(|r| at(&r["env"]["WEIR_SCHEDULED_AT"])).collect();
    fired.sort();
    assert!(fired.windows(2).all(|w| (w[1] - w[0]).num_seconds() == 2), "every 2 s: {fired:?}");
    for r in tick.iter().filter(|r| r["started_at"].is_string()) {
        let late = at(&r["started_at"]) - at(&r["env"]["WEIR_SCHEDULED_AT"]);
        assert!(late.num_milliseconds() < 5000, "started {late} after its fire time: {r}");
    }
    let slow_runs: Vec<&Value> = runs.iter().filter(|r| r["trigger"] == "schedule:slow").collect();
    let skipped: Vec<&&Value> = slow_runs.iter().filter(|r| r["status"] == "cancelled").collect();
    assert!(!skipped.is_empty(), "forbid skipped fires while the run was going: {slow_runs:?}");
    assert!(skipped[0]["error"].as_str().unwrap_or("").contains("concurrency = forbid"), "{:?}", skipped[0]);
    assert_eq!(slow_runs[slow_runs.len() - 1]["env"]["PARAM"], "x", "per-schedule parameters");
    // The CLI previews fire times and names the classic mistake.
    let out = super::weir(&["schedule", "next", "* 1 * * *", "-n", "3"], &[], s.path());
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
    assert!(out.stderr.contains("'0 1 * * *'"), "{}", out.stderr);
    assert_eq!(super::weir(&["schedule", "next", "61 * * * *"], &[], s.path()).code, 1);
}

/// Messages left on a moto SQS queue (visible + in flight).
fn queue_depth(moto: &MotoServer, queue_url: &str) -> u64 {
    let script = format!(
        "import boto3; q = boto3.client('sqs', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='moto', aws_secret_access_key='moto'); a = q.get_queue_attributes(QueueUrl='{queue_url}', AttributeNames=['All'])['Attributes']; print(int(a['ApproximateNumberOfMessages']) + int(a['ApproximateNumberOfMessagesNotVisible']))",
        moto.endpoint()
    );
    let out = Command::new(support::python()).args(["-c", &script]).output().expect("python");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn s3_events_from_sqs_start_one_run_per_object_version() {
    // The job lives on the S3-compatible server the runs read from; moto only emits the
    // S3 -> SQS notifications for an object of the same bucket and key.
    let s3 = S3Server::start();
    s3.create_bucket("jobs");
    let job = TRIVIAL_JOB;
    s3.put("jobs", "incoming/sqs job.json", job.as_bytes());
    let s = Scratch::new();
    let local_job = s.file("job.json", job);
    let moto = MotoServer::start();
    let script = support::repo_root().join("tests/python/moto_s3_events.py");
    let out = Command::new(support::python())
        .arg(&script)
        .args([&moto.endpoint(), "jobs", "incoming/sqs job.json", local_job.to_str().expect("utf8")])
        .output()
        .expect("python");
    let events: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let queue_url = events["queue_url"].as_str().expect("queue url").to_string();
    assert!(events["event"].as_str().unwrap_or("").contains("sqs+job.json"), "keys are URL-encoded: {events}");
    assert_eq!(queue_depth(&moto, &queue_url), 3 + events["test_events"].as_u64().unwrap_or(0));

    let config = s.file(
        "weir.toml",
        &format!(
            "[[trigger]]\nname = \"queue\"\ntype = \"sqs\"\nqueue_url = \"{queue_url}\"\nendpoint = \"{}\"\nwait_seconds = 1\nprefix = \"incoming/\"\n",
            moto.endpoint()
        ),
    );
    let service =
        Service::start_with_args(&s.path().join("data"), &s3.env(), &["--config", config.to_str().expect("utf8")]);
    let runs = service.wait_finished(1, Duration::from_secs(60));
    // Every message handled and deleted: the test event skipped, the redelivery a duplicate,
    // the non-event dropped (and logged).
    let started = Instant::now();
    while queue_depth(&moto, &queue_url) > 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "messages left on the queue");
        std::thread::sleep(Duration::from_millis(200));
    }
    let runs = if runs.len() == 1 { service.runs() } else { runs };
    assert_eq!(runs.len(), 1, "the same event twice gives one run: {runs:?}");
    let run = &runs[0];
    assert_eq!(run["status"], "succeeded", "{}", service.json(&format!("/api/runs/{}", run["id"]))["log"]);
    assert_eq!(run["job"], "s3a://jobs/incoming/sqs job.json");
    assert_eq!(run["trigger"], "queue");
    assert_eq!(run["duplicates"], 1, "{run}");
    assert_eq!(run["env"]["ETL_CONF_JOB_NAME"], "sqs job");
    assert!(service.wait_log("dropped a message that is not an S3 event").contains("this is not an S3 event"));
}

#[test]
fn failed_runs_are_retried_with_backoff_but_invalid_jobs_are_not() {
    let s = Scratch::new();
    let data = s.path().join("data");
    std::fs::create_dir_all(data.join("trigger")).expect("mkdir");
    let config = s.file("weir.toml", "[runs]\nretries = 2\nretry_backoff_s = 1\nretention_days = 30\n");
    let service = Service::start_with_args(&data, &[], &["--config", config.to_str().expect("utf8")]);
    drop_job(
        &data,
        "flaky.json",
        r#"{"stages": [{"type": "SQLValidate", "name": "check", "environments": ["dev"], "sql": "SELECT false, 'not yet'"}]}"#,
    );
    drop_job(&data, "invalid.json", r#"{"stages": [{"type": "SQLTransfrom", "name": "x", "environments": ["dev"]}]}"#);
    let started = Instant::now();
    let runs = loop {
        let runs = service.wait_finished(4, Duration::from_secs(60));
        if runs.len() >= 4 || started.elapsed() > Duration::from_secs(60) {
            break runs;
        }
    };
    let flaky: Vec<&Value> =
        runs.iter().filter(|r| r["job"].as_str().unwrap_or("").ends_with("flaky.json")).rev().collect();
    assert_eq!(flaky.len(), 3, "first run and two retries: {runs:?}");
    assert!(flaky.iter().all(|r| r["status"] == "failed"), "{flaky:?}");
    assert_eq!(flaky.iter().map(|r| r["attempt"].as_i64().unwrap_or(0)).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(flaky[1]["retry_of"], flaky[0]["id"]);
    assert_eq!(flaky[2]["retry_of"], flaky[1]["id"]);
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339");
    // Backoff 1 s, then 2 s (measured from the failure to the retry's start).
    let gap = |a: &Value, b: &Value| (at(&b["started_at"]) - at(&a["finished_at"])).num_milliseconds();
    assert!(gap(flaky[0], flaky[1]) >= 1000, "{flaky:?}");
    assert!(gap(flaky[1], flaky[2]) >= 2000, "{flaky:?}");
    let invalid: Vec<&Value> =
        runs.iter().filter(|r| r["job"].as_str().unwrap_or("").ends_with("invalid.json")).collect();
    assert_eq!(invalid.len(), 1, "an invalid job is not retried: {runs:?}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(service.runs().len(), 4, "no more retries");

    let out = serve_with_config(&s, &data, "[runs]\nretention_days = 0\n");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("retention_days must be more than 0"), "{}", out.stderr);
}

#[test]
fn two_instances_share_a_postgres_store_and_one_survives_the_others_kill() {
    let pg = support::PgServer::start();
    let s = Scratch::new();
    let jobs = s.path().join("jobs");
    let out = s.path().join("out");
    std::fs::create_dir_all(&jobs).expect("mkdir");
    std::fs::create_dir_all(&out).expect("mkdir");
    // Both instances watch the same directory; every run writes its own file and refuses to
    // overwrite it, so a run executed twice would fail with "already exists".
    let config = s.file(
        "weir.toml",
        &format!("[[trigger]]\nname = \"shared\"\nlocation = \"{}\"\ninterval_ms = 200\n", jobs.display()),
    );
    let job = format!(
        r#"{{"stages": [
            {{"type": "SQLTransform", "name": "one", "environments": ["dev"], "outputView": "o", "sql": "SELECT 1 AS one"}},
            {{"type": "DelimitedLoad", "name": "mark", "environments": ["dev"], "inputView": "o", "outputURI": "{}/"${{ETL_CONF_JOB_NAME}}".csv", "saveMode": "ErrorIfExists"}}]}}"#,
        out.display()
    );
    let url = pg.url();
    let args = ["--config", config.to_str().expect("utf8"), "--store", url.as_str()];
    let (data_a, data_b) = (s.path().join("a"), s.path().join("b"));
    let mut a = Service::start_with_args(&data_a, &[], &args);
    let b = Service::start_with_args(&data_b, &[], &args);
    const FILES: usize = 200;
    for i in 0..FILES {
        let staging = s.path().join(format!(".job_{i:03}.json"));
        std::fs::write(&staging, &job).expect("write");
        std::fs::rename(&staging, jobs.join(format!("job_{i:03}.json"))).expect("drop");
    }
    let started = Instant::now();
    while b.runs().iter().filter(|r| r["status"] == "succeeded").count() < 30 {
        assert!(started.elapsed() < Duration::from_secs(120), "runs never started: {:?}", b.runs().first());
        std::thread::sleep(Duration::from_millis(50));
    }
    a.child.kill().expect("SIGKILL");
    let _ = a.child.wait();
    drop(a);
    // B goes on alone: it runs the rest, and fails A's in-flight runs once A's lease (30 s)
    // has expired. Then A comes back and sees the same history.
    let runs = b.wait_finished(FILES, Duration::from_secs(300));
    let a = Service::start_with_args(&data_a, &[], &args);
    assert_eq!(runs.len(), FILES, "exactly one run per file across both instances");
    assert_eq!(a.runs().len(), FILES, "both instances see the same history");
    let mut names: Vec<&str> = runs.iter().map(|r| r["job"].as_str().unwrap_or("")).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), FILES, "no file ran twice");
    for r in &runs {
        let error = r["error"].as_str().unwrap_or("");
        assert!(!error.contains("already exists"), "a run was executed twice: {r}");
        assert!(
            r["status"] == "succeeded" || (r["status"] == "failed" && error.contains("instance running it stopped")),
            "only runs cut by the kill failed: {r}"
        );
    }
    let succeeded: Vec<&Value> = runs.iter().filter(|r| r["status"] == "succeeded").collect();
    assert!(succeeded.len() >= FILES - 2 * 2, "queued runs still ran: {} succeeded", succeeded.len());
    eprintln!("two instances: {} succeeded, {} cut by the kill", succeeded.len(), FILES - succeeded.len());
    for r in &succeeded {
        let name = r["env"]["ETL_CONF_JOB_NAME"].as_str().expect("job name");
        assert!(out.join(format!("{name}.csv")).exists(), "{name} wrote its file");
    }
}

/// The `[launcher]` section of an ECS launcher on moto.
fn ecs_launcher(moto: &MotoServer, cluster: &str, task_definition: &str, subnet: &str, group: &str) -> String {
    format!(
        "[launcher]\ntype = \"ecs\"\ncluster = \"{cluster}\"\ntask_definition = \"{task_definition}\"\nsubnets = [\"{subnet}\"]\nsecurity_groups = [\"{group}\"]\ncpu = \"2048\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\npoll_interval_ms = 200\n",
        moto.endpoint()
    )
}

#[test]
fn ecs_launcher_runs_each_s3_event_as_one_task_and_follows_it_to_its_end() {
    // S3 -> SQS events from moto (the object created once, delivered twice), runs as ECS
    // tasks on moto's ECS API (which runs no container: the test stops the task as its end).
    let s3 = S3Server::start();
    s3.create_bucket("jobs");
    s3.put("jobs", "incoming/ecs job.json", TRIVIAL_JOB.as_bytes());
    let s = Scratch::new();
    let local_job = s.file("job.json", TRIVIAL_JOB);
    let moto = MotoServer::start_for_ecs();
    let script = support::repo_root().join("tests/python/moto_s3_events.py");
    let out = Command::new(support::python())
        .arg(&script)
        .args([&moto.endpoint(), "jobs", "incoming/ecs job.json", local_job.to_str().expect("utf8")])
        .output()
        .expect("python");
    let events: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let queue_url = events["queue_url"].as_str().expect("queue url").to_string();
    let ecs = moto.script("moto_ecs.py", &["setup"]);
    let (cluster, definition) =
        (ecs["cluster"].as_str().expect("cluster"), ecs["task_definition"].as_str().expect("td"));
    let (subnet, group) = (ecs["subnet"].as_str().expect("subnet"), ecs["security_group"].as_str().expect("sg"));
    // Tasks stay RUNNING until stopped (the test plays their container).
    moto.script("moto_ecs.py", &["hold"]);
    let config = s.file(
        "weir.toml",
        &format!(
            "[api]\njob_roots = [\"s3a://jobs/\"]\n\n[[trigger]]\nname = \"queue\"\ntype = \"sqs\"\nqueue_url = \"{queue_url}\"\nendpoint = \"{}\"\nwait_seconds = 1\nprefix = \"incoming/\"\n\n{}events_uri = \"s3a://jobs/_weir/runs/\"\n",
            moto.endpoint(),
            ecs_launcher(&moto, "weir-runs", "weir-run", subnet, group)
        ),
    );
    let service =
        Service::start_with_args(&s.path().join("data"), &s3.env(), &["--config", config.to_str().expect("utf8")]);
    service.wait_log("runs start as ECS tasks of 'weir-run' on cluster 'weir-runs'");

    // One task for the object version, however often its event arrives.
    let started = Instant::now();
    loop {
        let tasks = moto.script("moto_ecs.py", &["tasks", cluster]);
        if !tasks.as_array().expect("list").is_empty() && queue_depth(&moto, &queue_url) == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no task started: {:?} {}",
            service.runs(),
            service.wait_log("")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    let tasks = moto.script("moto_ecs.py", &["tasks", cluster]);
    assert_eq!(tasks.as_array().expect("list").len(), 1, "the redelivered event starts no second task: {tasks}");
    let task = &tasks[0];
    let runs = service.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run_id = runs[0]["id"].as_i64().expect("id");
    assert_eq!(task["task_definition"], definition);
    assert_eq!(task["started_by"], format!("weir-run-{run_id}"));
    assert_eq!(task["container"], "weir");
    assert_eq!(task["cpu"], "2048");
    assert_eq!(task["environment"]["ETL_CONF_URI"], "s3a://jobs/incoming/ecs job.json", "{task}");
    assert_eq!(task["environment"]["ETL_CONF_JOB_NAME"], "ecs job", "{task}");
    let details = task["attachment_details"].to_string();
    assert!(details.contains(subnet), "the task runs in the configured subnet: {task}");
    let events_object = format!("s3a://jobs/_weir/runs/run-{run_id}-1.jsonl");
    assert_eq!(task["environment"]["WEIR_EVENTS_URI"], events_object.as_str(), "{task}");
    // The run records its task and stays running while the task runs.
    let arn = task["arn"].as_str().expect("arn");
    let run = service.json(&format!("/api/runs/{run_id}"));
    assert_eq!((run["status"].as_str(), run["task_arn"].as_str()), (Some("running"), Some(arn)), "{run}");
    // Play the task's container: the weir binary with only the task's environment (Arc's
    // contract, no arguments), which leaves its events at WEIR_EVENTS_URI; then the task stops.
    let mut env = s3.env();
    for (k, v) in task["environment"].as_object().expect("environment") {
        env.push((k.clone(), v.as_str().unwrap_or_default().to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let played = super::weir(&[], &env, s.path());
    assert_eq!(played.code, 0, "{}", played.all());
    moto.script("moto_ecs.py", &["stop", cluster, arn]);
    // The run ends from the task's stopped state (exit code 0), with the stages of its events.
    let runs = service.wait_finished(1, Duration::from_secs(30));
    let run = service.json(&format!("/api/runs/{}", runs[0]["id"]));
    assert_eq!((run["status"].as_str(), run["exit_code"].as_i64()), (Some("succeeded"), Some(0)), "{run}");
    let log = run["log"].as_str().unwrap_or_default();
    assert!(log.contains("STOPPED") && log.contains(&events_object), "{run}");
    let stages = run["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 1, "{run}");
    assert_eq!((stages[0]["name"].as_str(), stages[0]["status"].as_str()), (Some("one"), Some("succeeded")), "{run}");

    // A cancel stops the task (StopTask) while it runs.
    let (code, body) = service.http(
        "POST",
        "/api/runs",
        Some(TOKEN),
        Some(r#"{"job": "s3a://jobs/incoming/ecs job.json", "env": {"ETL_CONF_ENV": "dev"}}"#),
    );
    assert_eq!(code, 202, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("json")["id"].as_i64().expect("id");
    let started = Instant::now();
    let arn = loop {
        let run = service.json(&format!("/api/runs/{id}"));
        if let Some(arn) = run["task_arn"].as_str() {
            assert_eq!(run["status"], "running", "{run}");
            break arn.to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no task: {run}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(service.http("POST", &format!("/api/runs/{id}/cancel"), Some(TOKEN), None).0, 202);
    let runs = service.wait_finished(2, Duration::from_secs(30));
    let run = runs.iter().find(|r| r["id"] == id).expect("run");
    assert_eq!(run["status"], "cancelled", "{run}");
    let tasks = moto.script("moto_ecs.py", &["tasks", cluster]);
    let task = tasks.as_array().expect("list").iter().find(|t| t["arn"] == arn.as_str()).expect("task");
    assert_eq!((task["status"].as_str(), task["stopped_reason"].as_str()), (Some("STOPPED"), Some("weir: cancelled")));
}

#[test]
fn ecs_launcher_failures_fail_the_run_and_the_service_keeps_going() {
    let s3 = S3Server::start();
    s3.create_bucket("jobs");
    s3.put("jobs", "api/job.json", TRIVIAL_JOB.as_bytes());
    let moto = MotoServer::start_for_ecs();
    let s = Scratch::new();
    // A cluster that does not exist: AWS's error on the run.
    let config = s.file(
        "weir.toml",
        &format!(
            "[api]\njob_roots = [\"s3a://jobs/api/\"]\n\n{}",
            ecs_launcher(&moto, "no-such-cluster", "weir-run", "subnet-0a1", "sg-0c3")
        ),
    );
    let data = s.path().join("data");
    let service = Service::start_with_args(&data, &s3.env(), &["--config", config.to_str().expect("utf8")]);
    let (code, body) = service.http(
        "POST",
        "/api/runs",
        Some(TOKEN),
        Some(r#"{"job": "s3a://jobs/api/job.json", "env": {"ETL_CONF_ENV": "dev"}}"#),
    );
    assert_eq!(code, 202, "{body}");
    // A job on the service's own disk cannot be read by a task.
    drop_job(&data, "local.json", TRIVIAL_JOB);
    let runs = service.wait_finished(2, Duration::from_secs(60));
    let by_job = |suffix: &str| {
        let run = runs.iter().find(|r| r["job"].as_str().unwrap_or("").ends_with(suffix)).expect("run");
        service.json(&format!("/api/runs/{}", run["id"]))
    };
    let remote = by_job("api/job.json");
    assert_eq!(remote["status"], "failed");
    assert!(remote["error"].as_str().unwrap_or("").contains("ClusterNotFoundException"), "AWS's error: {remote}");
    assert!(remote["error"].as_str().unwrap_or("").contains("no-such-cluster"), "{remote}");
    let local = by_job("local.json");
    assert_eq!(local["status"], "failed");
    assert!(local["error"].as_str().unwrap_or("").contains("the task cannot read"), "{local}");
    // The service keeps serving.
    assert_eq!(service.http("GET", "/api/runs", Some(TOKEN), None).0, 200);

    // A misconfigured launcher is refused at start.
    let run = serve_with_config(
        &s,
        &s.path().join("data2"),
        "[launcher]\ntype = \"ecs\"\ncluster = \"c\"\ntask_definition = \"t\"\n",
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("needs subnets"), "{}", run.stderr);
}
