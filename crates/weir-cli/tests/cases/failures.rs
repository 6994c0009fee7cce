//! A run that fails part-way loses nothing: Delta tables stay at their previous version,
//! an Overwrite that fails keeps the previous files. Also: Arc-style invocation and events.

use std::path::Path;

use super::{Scratch, weir};

/// A job that writes `rows` rows (ids 1..=rows from a CSV) with `load`, whose `bad` flag makes
/// the data fail while it is being written (a cast that only fails at run time: run it with
/// [`run_ansi`], as Spark's ANSI mode fails invalid casts where its default gives NULL).
fn load_job(s: &Scratch, load: &str, bad: bool) -> String {
    let value = if bad { "CAST(concat('not a number ', _c1) AS int)" } else { "CAST(_c0 AS int)" };
    format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{dir}/in.csv", "outputView": "raw"}},
          {{"type": "SQLTransform", "name": "shape", "environments": ["test"], "outputView": "rows",
            "sql": "SELECT CAST(_c0 AS int) AS id, {value} AS value, _c1 AS name FROM raw"}},
          {load}
        ]}}"#,
        dir = s.path().display()
    )
}

/// Runs a job in Spark's ANSI mode (`WEIR_SQL_ANSI=true`).
fn run_ansi(s: &Scratch, name: &str, job: &str) -> super::Run {
    let path = s.file(name, job);
    weir(&["run", path.to_str().expect("utf8 path"), "--env", "test"], &[("WEIR_SQL_ANSI", "true")], s.path())
}

fn delta_version(table: &Path) -> usize {
    let log = table.join("_delta_log");
    std::fs::read_dir(&log)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().ends_with(".json")).count())
        .unwrap_or(0)
}

#[test]
fn failed_delta_load_leaves_the_previous_version() {
    let s = Scratch::new();
    s.csv("in.csv", 50);
    let table = s.path().join("table");
    let load = format!(
        r#"{{"type": "DeltaLakeLoad", "name": "save", "environments": ["test"], "inputView": "rows", "outputURI": "{}", "saveMode": "Overwrite"}}"#,
        table.display()
    );
    let ok = s.run_job("good.json", &load_job(&s, &load, false));
    assert_eq!(ok.code, 0, "{}", ok.all());
    assert_eq!(delta_version(&table), 1);
    let bad = run_ansi(&s, "bad.json", &load_job(&s, &load, true));
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.stderr.contains("stage 2 'save' (DeltaLakeLoad) failed"), "{}", bad.stderr);
    assert_eq!(delta_version(&table), 1, "no new commit after a failed write");
    // The table still reads back with its 50 rows.
    let check = format!(
        r#"{{"stages": [
          {{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{}", "outputView": "t"}},
          {{"type": "SQLValidate", "name": "count", "environments": ["test"], "sql": "SELECT COUNT(*) = 50 AND SUM(value) = 1275, CAST(COUNT(*) AS string) FROM t"}}
        ]}}"#,
        table.display()
    );
    let run = s.run_job("check.json", &check);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn failed_delta_merge_leaves_the_previous_version() {
    let s = Scratch::new();
    s.csv("in.csv", 20);
    let table = s.path().join("table");
    let load = format!(
        r#"{{"type": "DeltaLakeLoad", "name": "save", "environments": ["test"], "inputView": "rows", "outputURI": "{}"}}"#,
        table.display()
    );
    assert_eq!(s.run_job("good.json", &load_job(&s, &load, false)).code, 0);
    let merge = format!(
        r#"{{"type": "DeltaLakeMergeLoad", "name": "merge", "environments": ["test"], "inputView": "rows", "outputURI": "{}",
            "condition": "source.id = target.id", "whenMatchedUpdate": {{}}, "whenNotMatchedByTargetInsert": {{}}}}"#,
        table.display()
    );
    let bad = run_ansi(&s, "bad.json", &load_job(&s, &merge, true));
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.stderr.contains("(DeltaLakeMergeLoad) failed"), "{}", bad.stderr);
    assert_eq!(delta_version(&table), 1);
    // And a good merge commits version 1 (the second commit).
    let good = s.run_job("merge.json", &load_job(&s, &merge, false));
    assert_eq!(good.code, 0, "{}", good.all());
    assert_eq!(delta_version(&table), 2);
}

fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("output dir") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            out.push((entry.file_name().to_string_lossy().into_owned(), std::fs::read(entry.path()).expect("read")));
        }
    }
    out.sort();
    out
}

#[test]
fn failed_parquet_overwrite_keeps_the_previous_files() {
    let s = Scratch::new();
    s.csv("in.csv", 30);
    let out = s.path().join("out.parquet");
    let load = format!(
        r#"{{"type": "ParquetLoad", "name": "save", "environments": ["test"], "inputView": "rows", "outputURI": "{}", "saveMode": "Overwrite"}}"#,
        out.display()
    );
    let ok = s.run_job("good.json", &load_job(&s, &load, false));
    assert_eq!(ok.code, 0, "{}", ok.all());
    let before = files_under(&out);
    assert!(before.iter().any(|(n, _)| n.ends_with(".parquet")), "{before:?}");
    let bad = run_ansi(&s, "bad.json", &load_job(&s, &load, true));
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert_eq!(files_under(&out), before, "previous files intact after a failed overwrite");
}

#[test]
fn arc_style_invocation_and_events() {
    let s = Scratch::new();
    let job = s.file(
        "job.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "one", "environments": ["production"], "sql": "SELECT 1 AS x", "outputView": "one", "persist": true}]}"#,
    );
    let uri = format!("file://{}", job.display());
    let arg = format!("--etl.config.uri={uri}");
    let run = weir(
        &[&arg, "--etl.config.environment=production"],
        &[("ETL_CONF_JOB_ID", "job-42"), ("ETL_CONF_TAGS", "owner=data team=etl")],
        s.path(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let events = run.events();
    let first = &events[0];
    assert_eq!(first["event"], "enter");
    assert_eq!(first["jobId"], "job-42");
    assert_eq!(first["owner"], "data");
    let validate = events
        .iter()
        .find(|e| e["event"] == "validateConfig" && e.get("content-md5").is_some())
        .expect("validateConfig");
    assert_eq!(validate["uri"], uri);
    let exit = events.iter().find(|e| e["event"] == "exit" && e["stage"]["name"] == "one").expect("stage exit");
    assert!(exit["duration"].is_u64());
    // The stage's cost: process CPU time during it and peak memory so far.
    assert!(exit["cpuMs"].is_u64() && exit["peakRssMiB"].as_u64().is_some_and(|m| m > 0), "{exit}");
    assert_eq!(exit["stage"]["records"], 1);
    assert_eq!(events.last().expect("final")["status"], "success");

    // The same through ETL_CONF_URI / ETL_CONF_ENV, and lint-only.
    let run = weir(&[], &[("ETL_CONF_URI", &uri), ("ETL_CONF_ENV", "production")], s.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let lint = weir(&["lint", job.to_str().expect("utf8"), "--env", "production"], &[], s.path());
    assert_eq!(lint.code, 0, "{}", lint.all());
    assert!(lint.events().iter().any(|e| e["event"] == "lint"));
    assert!(!lint.events().iter().any(|e| e["event"] == "exit" && e.get("stage").is_some()), "lint runs nothing");
}

#[test]
fn missing_environment_is_an_error() {
    let s = Scratch::new();
    let job = s.file("job.json", r#"{"stages": []}"#);
    let run = weir(&["run", job.to_str().expect("utf8")], &[], s.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "No environment defined as a command line argument --etl.config.environment or ETL_CONF_ENV environment variable."
        ),
        "{}",
        run.stderr
    );
    // No job at all: Arc's message.
    let run = weir(&[], &[("ETL_CONF_ENV", "production")], s.path());
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "No config defined as a command line argument --etl.config.uri or ETL_CONF_URI environment variable."
        ),
        "{}",
        run.stderr
    );
}
