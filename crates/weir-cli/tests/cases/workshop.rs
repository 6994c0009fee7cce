//! The yardsticks: the bundled SCD2 example on local disk, and the unchanged workshop
//! notebook against a real S3-compatible server (its last cell against moto's Athena API),
//! both read back by the Python `deltalake` package (an independent reader).

use std::path::Path;

use super::{Scratch, repo_root, weir};
use crate::support::{self, MotoServer, S3Server};

/// Total and expired (iscurrent = false with a valid_to) rows, read by Python deltalake.
fn scd2_counts(table_uri: &str, env: &[(String, String)]) -> (u64, u64) {
    let result = support::read_delta_with_python(table_uri, env);
    let total = result["num_rows"].as_u64().unwrap_or_else(|| panic!("num_rows in {result}"));
    let expired = result["expired"].as_u64().unwrap_or_else(|| panic!("expired in {result}"));
    (total, expired)
}

#[test]
fn bundled_example_writes_1192_rows_of_which_92_expired() {
    let s = Scratch::new();
    let out = s.path().join("out");
    let script = repo_root().join("scripts/example.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(&out)
        .env("WEIR_BIN", env!("CARGO_BIN_EXE_weir"))
        .output()
        .expect("example script runs");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{stderr}");
    assert!(stderr.contains("\"total_rows\":1192"), "summary printed: {stderr}");
    let table = out.join("delta_contact");
    let (total, expired) = scd2_counts(table.to_str().expect("utf8"), &[]);
    assert_eq!((total, expired), (1192, 92));
}

pub const BUCKET: &str = "weir-workshop";

/// The workshop notebook with its last code cells removed from the Athena JDBCExecute on.
pub fn without_athena_cell(notebook: &str) -> String {
    let mut nb: serde_json::Value = serde_json::from_str(notebook).expect("workshop notebook is JSON");
    let cells = nb["cells"].as_array_mut().expect("cells");
    let athena = cells
        .iter()
        .position(|c| c["source"].to_string().contains("JDBCExecute"))
        .expect("the workshop has its Athena cell");
    cells.truncate(athena);
    serde_json::to_string_pretty(&nb).expect("serialize")
}

pub fn upload_app_code(s3: &S3Server, shared: &Path) {
    s3.create_bucket(BUCKET);
    for (dir, file) in [
        ("data", "initial_contacts.csv"),
        ("data", "update_contacts.csv"),
        ("meta", "workshop_meta_0.json"),
        ("sql", "add_calc_field_for_scd2.sql"),
        ("sql", "create_table_contact.sql"),
        ("sql", "sqlvalidate_errors.sql"),
    ] {
        let bytes = std::fs::read(shared.join("workshop").join(dir).join(file)).expect("workshop file");
        s3.put(BUCKET, &format!("app-code/{dir}/{file}"), &bytes);
    }
}

/// Runs a notebook the way the seed's job service does, with `extra` environment.
fn run_like_the_job_service(s3: &S3Server, key: &str, extra: &[(&str, &str)]) -> super::Run {
    let uri = format!("s3a://{BUCKET}/{key}");
    let mut env: Vec<(String, String)> = s3.env_with(extra);
    env.extend([
        ("ETL_CONF_ENV".to_string(), "dev".to_string()),
        ("ETL_CONF_URI".to_string(), uri),
        ("ETL_CONF_DATALAKE_LOC".to_string(), BUCKET.to_string()),
        ("ETL_CONF_CURRENT_TIMESTAMP".to_string(), "\"2026-11-23 10:00:00.000\"".to_string()),
        ("ETL_CONF_JOB_NAME".to_string(), "SCD_Type2_workshop".to_string()),
        ("ATHENA_ETL_CONF_S3A_ACCESS_KEY".to_string(), "AKIAWORKSHOP".to_string()),
        ("ATHENA_ETL_CONF_S3A_SECRET_KEY".to_string(), "athena-secret-value".to_string()),
    ]);
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    weir(&[], &env_refs, &repo_root())
}

#[test]
fn workshop_notebook_runs_unchanged_against_s3() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("../shared not found: skipping the workshop notebook test");
        return;
    };
    let notebook = std::fs::read_to_string(shared.join("workshop/job/SCD_Type2_workshop.ipynb")).expect("notebook");
    let s3 = S3Server::start();
    upload_app_code(&s3, &shared);

    // Unchanged, with Athena's API served by moto: every stage runs, the last one creating the
    // Glue table over the Delta table's symlink manifest through Athena.
    let moto = MotoServer::start();
    moto.script("moto_athena.py", &["ap-southeast-2", "setup"]);
    s3.put(BUCKET, "app-code/job/SCD_Type2_workshop.ipynb", notebook.as_bytes());
    let athena = moto.endpoint();
    let run = run_like_the_job_service(
        &s3,
        "app-code/job/SCD_Type2_workshop.ipynb",
        &[("AWS_ENDPOINT_URL_ATHENA", athena.as_str())],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("User=AKIAWORKSHOP;Password=*****"), "masked URL logged: {}", run.stdout);
    assert!(!run.all().contains("athena-secret-value"), "password masked everywhere");
    // The notebook's quirks are reproduced and warned about.
    assert!(run.stdout.contains("%sqlvaildate"), "typo warning logged");
    let athena_run = run.exit_stage("Create glue data catalog");
    assert_eq!(athena_run["athena"]["state"], "SUCCEEDED", "{athena_run}");
    let received = moto.script("moto_athena.py", &["ap-southeast-2", "executions"]);
    let received = received["executions"].as_array().cloned().unwrap_or_default();
    assert_eq!(received.len(), 1, "{received:?}");
    let ddl = received[0]["query"].as_str().unwrap_or_default();
    assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS default.delta_contact("), "{ddl}");
    assert!(ddl.contains(&format!("LOCATION 's3://{BUCKET}/output/delta_contact/_symlink_format_manifest/'")), "{ddl}");
    assert!(
        received[0]["outputLocation"]
            .as_str()
            .unwrap_or_default()
            .starts_with("s3://aws-athena-query-results-deltalake/"),
        "{received:?}"
    );
    assert_eq!(athena_run["athena"]["queryExecutionId"], received[0]["id"]);
    let skipped: Vec<String> = run
        .events()
        .iter()
        .filter(|e| e["skipPlugin"] == true)
        .filter_map(|e| e["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(skipped, ["read contact Delta Lake table", "expired_count", "total_count", "validate_type2"]);
    let (total, expired) = scd2_counts(&format!("s3://{BUCKET}/output/delta_contact/"), &s3.env());
    assert_eq!((total, expired), (1192, 92));
}
