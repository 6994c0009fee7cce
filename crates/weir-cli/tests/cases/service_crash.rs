//! `weir serve` under faults: SIGKILLed while runs are in flight (their children are adopted,
//! never run twice), and job files that change while or after they are queued (each run
//! executes the version that triggered it).

use std::collections::HashMap;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Scratch;
use super::service::{Service, drop_job};
use crate::support;

/// A small deterministic generator (64-bit LCG), so kill moments repeat from run to run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Row count and number of commits of every Delta table below `root`, read with the Python
/// `deltalake` package in one process: {table name: [rows, versions]}.
fn delta_counts(root: &std::path::Path) -> HashMap<String, (i64, i64)> {
    let script = "import json, os, sys\n\
        from deltalake import DeltaTable\n\
        out = {}\n\
        for name in sorted(os.listdir(sys.argv[1])):\n\
        \x20   t = DeltaTable(os.path.join(sys.argv[1], name))\n\
        \x20   out[name] = [t.to_pyarrow_dataset().count_rows(), len(t.history())]\n\
        print(json.dumps(out))\n";
    let out = Command::new(support::python())
        .args(["-c", script, root.to_str().expect("utf8")])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "reading the tables failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: HashMap<String, Vec<i64>> = serde_json::from_str(stdout.trim()).expect("json counts");
    v.into_iter().map(|(k, c)| (k, (c[0], c[1]))).collect()
}

fn job_name(run: &Value) -> String {
    run["env"]["ETL_CONF_JOB_NAME"].as_str().unwrap_or_default().to_string()
}

#[test]
fn sigkilled_three_times_every_delta_append_lands_exactly_once() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let tables = s.path().join("tables");
    std::fs::create_dir_all(data.join("trigger")).expect("mkdir");
    std::fs::create_dir_all(&tables).expect("mkdir");
    let config = s.file("weir.toml", "[runs]\nretries = 1\nretry_backoff_s = 0\n");
    let args = [
        "--config",
        config.to_str().expect("utf8"),
        "--workers",
        "2",
        "--poll-interval-ms",
        "100",
        "--quiet-ms",
        "200",
    ];
    const FILES: usize = 200;
    const ROWS: i64 = 3000;
    for i in 0..FILES {
        // Every fourth job does more work first, so kills find children in the middle of a run.
        let busy = if i % 4 == 0 { "(SELECT COUNT(*) FROM generate_series(1, 3000000))" } else { "0" };
        let job = format!(
            r#"{{"stages": [
              {{"type": "SQLTransform", "name": "rows", "environments": ["dev"], "outputView": "r",
                "sql": "SELECT value AS id, {busy} AS busy FROM generate_series(1, {ROWS})"}},
              {{"type": "DeltaLakeLoad", "name": "append", "environments": ["dev"], "inputView": "r",
                "outputURI": "{}/t{i:03}", "saveMode": "Append"}}
            ]}}"#,
            tables.display()
        );
        drop_job(&data, &format!("t{i:03}.json"), &job);
    }
    let mut rng = Lcg(9);
    let mut service = Service::start_with_args(&data, &[], &args);
    let started = Instant::now();
    let mut adopted = 0;
    for kill in 0..3 {
        // Kill once a pseudo-random share of the jobs is done, while children are running.
        let target = 20 + 50 * kill + rng.below(30) as usize;
        loop {
            let runs = service.runs();
            let done = runs.iter().filter(|r| r["status"] == "succeeded").count();
            if done >= target && runs.iter().any(|r| r["status"] == "running") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(240), "runs stalled before kill {kill}: {done} done");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(rng.below(200)));
        service.child.kill().expect("SIGKILL");
        let _ = service.child.wait();
        drop(service);
        service = Service::start_with_args(&data, &[], &args);
        // The runs it left are adopted (children alive) or finished from their events.
        std::thread::sleep(Duration::from_millis(300));
        adopted += service
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| l.contains("adopting run"))
            .count();
    }
    let runs = service.wait_finished(FILES, Duration::from_secs(240));
    eprintln!(
        "{} runs for {FILES} jobs in {:.1} s; {adopted} adopted after kills",
        runs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(adopted > 0, "the kills hit running children");
    let counts = delta_counts(&tables);
    let mut by_job: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in &runs {
        by_job.entry(job_name(r)).or_default().push(r);
    }
    assert_eq!(by_job.len(), FILES, "every job ran");
    for (job, runs) in &by_job {
        let succeeded = runs.iter().filter(|r| r["status"] == "succeeded").count();
        let (rows, commits) = counts.get(job).copied().unwrap_or((0, 0));
        assert_eq!(succeeded, 1, "{job}: exactly one succeeded run: {runs:?}");
        assert_eq!((rows, commits), (ROWS, 1), "{job}: its rows exactly once, in one commit: {runs:?}");
        for r in runs.iter().filter(|r| r["status"] == "failed") {
            // A failed attempt never got to run (the kill came between claim and start): its retry did.
            assert!(r["error"].as_str().unwrap_or("").contains("service stopped"), "{job}: {r}");
        }
    }
}

/// Waits until `pred` holds for the runs of `service`.
fn wait_runs(service: &Service, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let runs = service.runs();
        if pred(&runs) {
            return runs;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{what}: {runs:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A data directory with its `trigger/`, and an output directory, in `s`.
fn data_and_output(s: &Scratch) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = s.path().join("data");
    std::fs::create_dir_all(data.join("trigger")).expect("mkdir");
    (data, s.path().join("out"))
}

/// One worker (so a slow job keeps it busy), fast polls, a short quiet period.
const ONE_WORKER: [&str; 6] = ["--workers", "1", "--poll-interval-ms", "100", "--quiet-ms", "300"];

/// SQL that keeps a worker busy for a few seconds.
const SLOW_SQL: &str = "SELECT COUNT(*) AS n FROM generate_series(1, 150000000)";

fn csv_job(out: &std::path::Path, name: &str, value: &str) -> String {
    format!(
        r#"{{"stages": [
          {{"type": "SQLTransform", "name": "v", "environments": ["dev"], "outputView": "v", "sql": "SELECT '{value}' AS version"}},
          {{"type": "DelimitedLoad", "name": "save", "environments": ["dev"], "inputView": "v",
            "outputURI": "{}/{name}.csv", "saveMode": "Overwrite", "header": true}}
        ]}}"#,
        out.display()
    )
}

/// The data lines of a DelimitedLoad output (a file or a directory of part files).
fn csv_values(path: &std::path::Path) -> Vec<String> {
    let files = if path.is_dir() { support::files_under(path) } else { vec![path.to_path_buf()] };
    let mut lines = Vec::new();
    for f in files.iter().filter(|f| !f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(['_', '.']))) {
        let text = std::fs::read_to_string(f).expect("read csv");
        lines.extend(text.lines().skip(1).map(String::from));
    }
    lines
}

#[test]
fn a_file_written_in_two_halves_runs_once_with_its_complete_content() {
    let s = Scratch::new();
    let (data, out) = data_and_output(&s);
    let service = Service::start_with_args(&data, &[], &["--poll-interval-ms", "100", "--quiet-ms", "1500"]);
    let job = csv_job(&out, "halves", "complete");
    let (first, second) = job.split_at(job.len() / 2);
    let mut f = std::fs::File::create(data.join("trigger/halves.json")).expect("create");
    f.write_all(first.as_bytes()).expect("write");
    f.flush().expect("flush");
    // Longer than two polls, shorter than the quiet period.
    std::thread::sleep(Duration::from_millis(700));
    assert!(service.runs().is_empty(), "a half-written file is not queued");
    f.write_all(second.as_bytes()).expect("write");
    drop(f);
    let runs = service.wait_finished(1, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(2000));
    let runs_later = service.runs();
    assert_eq!(runs_later.len(), 1, "one run: {runs_later:?}");
    assert_eq!(runs[0]["status"], "succeeded", "{runs:?}");
    assert_eq!(runs[0]["job_hash"].as_str().map(str::len), Some(32), "{runs:?}");
    assert_eq!(csv_values(&out.join("halves.csv")), ["complete"]);
}

#[test]
fn a_file_rewritten_after_it_was_queued_runs_its_queued_version_then_the_new_one() {
    let s = Scratch::new();
    let (data, out) = data_and_output(&s);
    let service = Service::start_with_args(&data, &[], &ONE_WORKER);
    // The only worker is kept busy by a slow job while the file is queued and rewritten.
    let slow = r#"{"stages": [{"type": "SQLTransform", "name": "busy", "environments": ["dev"], "outputView": "b",
        "sql": "{SLOW_SQL}", "persist": true}]}"#;
    drop_job(&data, "slow.json", &slow.replace("{SLOW_SQL}", SLOW_SQL));
    wait_runs(&service, "the slow job starts", |r| r.iter().any(|r| r["status"] == "running"));
    drop_job(&data, "versioned.json", &csv_job(&out, "v1", "first"));
    let queued = wait_runs(&service, "the first version is queued", |r| {
        r.iter().any(|r| job_name(r) == "versioned" && r["status"] == "queued")
    });
    let first_id = queued.iter().find(|r| job_name(r) == "versioned").expect("queued run")["id"].clone();
    drop_job(&data, "versioned.json", &csv_job(&out, "v2", "second"));
    let runs = service.wait_finished(3, Duration::from_secs(120));
    let versioned: Vec<&Value> = runs.iter().filter(|r| job_name(r) == "versioned").rev().collect();
    assert_eq!(versioned.len(), 2, "one run per version: {runs:?}");
    assert_eq!(versioned[0]["id"], first_id);
    let slow_run = runs.iter().find(|r| job_name(r) == "slow").expect("slow run");
    // The first version's run started after the file was rewritten (the worker was busy)...
    let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("rfc3339");
    assert!(at(&versioned[0]["started_at"]) >= at(&slow_run["finished_at"]), "{runs:?}");
    assert!(at(&versioned[0]["started_at"]) > at(&versioned[1]["created_at"]), "rewritten before it ran: {runs:?}");
    // ...and ran its own content; then the new version ran.
    assert!(versioned.iter().all(|r| r["status"] == "succeeded"), "{versioned:?}");
    assert_ne!(versioned[0]["job_version"], versioned[1]["job_version"]);
    assert_eq!(csv_values(&out.join("v1.csv")), ["first"]);
    assert_eq!(csv_values(&out.join("v2.csv")), ["second"]);
    // The run reports the job's own path, not its snapshot.
    assert!(versioned[0]["job"].as_str().unwrap_or("").ends_with("trigger/versioned.json"), "{}", versioned[0]);
}

#[test]
fn a_graceful_stop_leaves_the_running_job_to_finish_and_the_next_start_adopts_it() {
    let s = Scratch::new();
    let (data, out) = data_and_output(&s);
    let mut service = Service::start_with_args(&data, &[], &ONE_WORKER);
    // A job that is still working when the service is stopped, then writes its output.
    let job = format!(
        r#"{{"stages": [
          {{"type": "SQLTransform", "name": "busy", "environments": ["dev"], "outputView": "b", "persist": true,
            "sql": "{SLOW_SQL}"}},
          {{"type": "DelimitedLoad", "name": "save", "environments": ["dev"], "inputView": "b",
            "outputURI": "{}/stopped.csv", "saveMode": "Overwrite", "header": true}}
        ]}}"#,
        out.display()
    );
    drop_job(&data, "stopped.json", &job);
    wait_runs(&service, "the job starts", |r| r.iter().any(|r| r["status"] == "running"));
    let pid = service.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(term.success());
    let status = service.child.wait().expect("the service exits");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    drop(service);
    // Started again on the same data directory: the run is adopted (or finished from its
    // events, if the job ended meanwhile) and recorded once, with its output written once.
    let service = Service::start_with_args(&data, &[], &ONE_WORKER);
    let runs = service.wait_finished(1, Duration::from_secs(120));
    assert_eq!(runs.len(), 1, "one run, no retry: {runs:?}");
    assert_eq!(runs[0]["status"], "succeeded", "{runs:?}");
    assert_eq!(csv_values(&out.join("stopped.csv")), ["150000000"]);
}
