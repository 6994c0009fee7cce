//! JDBCExecute on Amazon Athena (`jdbc:awsathena://`), against moto's Athena API: the request
//! Athena receives (the substituted statement, output location, work group, catalog and
//! schema), the polling until the query ends, the credentials of the URL or of the standard
//! AWS chain, and the error paths (an API error, a query stopped at its timeout, a config
//! error, an unreachable endpoint) — none showing the password.
//!
//! What moto cannot show: IAM permissions, the Glue catalog effect of the DDL, and a query that
//! Athena itself fails (moto's queries always succeed; the FAILED message is unit-tested in
//! weir-engine's `athena` module).

use serde_json::Value;

use super::Scratch;
use crate::support::{MotoServer, WeirOutput, run_weir};

const REGION: &str = "ap-southeast-2";
const SECRET: &str = "athena-s3cr3t-value";

/// The workshop's DDL shape: a table name and a quoted location from `sqlParams`.
const DDL: &str = "CREATE EXTERNAL TABLE IF NOT EXISTS ${table_name}(\n   `id` int\n  ,`name` string\n)\nROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\nSTORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'\nOUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\nLOCATION ${datalake_loc}\n";

const SUBSTITUTED: &str = "CREATE EXTERNAL TABLE IF NOT EXISTS default.delta_contact(\n   `id` int\n  ,`name` string\n)\nROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\nSTORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'\nOUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\nLOCATION 's3://lake/output/delta_contact/_symlink_format_manifest/'\n";

/// A job of one JDBCExecute stage shaped like the workshop's last cell, with `url`.
fn run_ddl(s: &Scratch, url: &str, env: &[(&str, &str)]) -> WeirOutput {
    s.file("sql/create_table_contact.sql", DDL);
    let job = serde_json::json!({"stages": [{
        "type": "JDBCExecute",
        "name": "Create glue data catalog",
        "environments": ["dev", "test"],
        "inputURI": s.path().join("sql/create_table_contact.sql").to_str().expect("utf8"),
        "jdbcURL": url,
        "sqlParams": {
            "datalake_loc": "'s3://lake/output/delta_contact/_symlink_format_manifest/'",
            "table_name": "default.delta_contact"
        }
    }]});
    let path = s.file("athena.json", &job.to_string());
    run_weir(&["run", path.to_str().expect("utf8"), "--env", "test"], env, s.path())
}

/// Every query execution moto received, oldest first.
fn executions(moto: &MotoServer) -> Vec<Value> {
    let listed = moto.script("moto_athena.py", &[REGION, "executions"]);
    listed["executions"].as_array().cloned().unwrap_or_else(|| panic!("executions: {listed}"))
}

fn exit_stage(run: &WeirOutput) -> Value {
    run.events()
        .into_iter()
        .find(|e| e["event"] == "exit" && e["stage"]["name"] == "Create glue data catalog")
        .map(|e| e["stage"].clone())
        .unwrap_or_else(|| panic!("no exit event:\n{}", run.all()))
}

#[test]
fn athena_receives_the_substituted_ddl_with_output_location_and_work_group() {
    let moto = MotoServer::start();
    moto.script("moto_athena.py", &[REGION, "setup", "--workgroup", "etl"]);
    let s = Scratch::new();
    let url = format!(
        "jdbc:awsathena://AwsRegion={REGION};S3OutputLocation=s3://athena-results/weir;User=AKIAWEIRTEST;\
         Password={SECRET};workgroup=etl;Catalog=AwsDataCatalog;SCHEMA=default;EndpointOverride={};LogLevel=6",
        moto.endpoint()
    );
    let run = run_ddl(&s, &url, &[]);
    run.assert_success();

    let received = executions(&moto);
    assert_eq!(received.len(), 1, "one statement: {received:?}");
    let query = &received[0];
    assert_eq!(query["query"], SUBSTITUTED);
    assert_eq!(query["workGroup"], "etl");
    assert_eq!(query["catalog"], "AwsDataCatalog");
    assert_eq!(query["database"], "default");
    // moto appends `<id>.csv` to the output location, as Athena does.
    let location = query["outputLocation"].as_str().unwrap_or_default();
    assert!(location.starts_with("s3://athena-results/weir/"), "{location}");

    // The exit event reports the query moto ran, after polling it through QUEUED and RUNNING.
    let stage = exit_stage(&run);
    assert_eq!(stage["athena"]["queryExecutionId"], query["id"], "{stage}");
    assert_eq!(stage["athena"]["state"], "SUCCEEDED");
    assert_eq!(stage["athena"]["workGroup"], "etl");
    assert_eq!(stage["athena"]["statementType"], "DDL");
    assert_eq!(stage["sql"], SUBSTITUTED);
    assert!(stage["jdbcURL"].as_str().unwrap_or_default().contains("Password=*****"), "{stage}");
    // The property the driver does not know is logged once, as a warning.
    let unknown: Vec<Value> = run
        .events()
        .into_iter()
        .filter(|e| e["level"] == "WARN" && e["message"].as_str().is_some_and(|m| m.contains("[LogLevel]")))
        .collect();
    assert_eq!(unknown.len(), 1, "{}", run.all());
    assert!(!run.all().contains(SECRET), "the password never shows:\n{}", run.all());
}

#[test]
fn athena_endpoint_and_credentials_come_from_the_standard_aws_environment() {
    let moto = MotoServer::start();
    moto.script("moto_athena.py", &[REGION, "setup"]);
    let s = Scratch::new();
    let url = format!("jdbc:awsathena://AwsRegion={REGION};S3OutputLocation=s3://athena-results/env/");
    // AWS_ENDPOINT_URL (here a closed port, as if it were another service's) is overridden for
    // Athena by AWS_ENDPOINT_URL_ATHENA.
    // No profile files and no instance metadata: only what the environment gives.
    let endpoint = moto.endpoint();
    let nowhere = s.path().join("no-aws-config");
    let nowhere = nowhere.to_str().expect("utf8");
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_ATHENA", endpoint.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", nowhere),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
        ("AWS_ACCESS_KEY_ID", "AKIAFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let run = run_ddl(&s, &url, &env);
    run.assert_success();
    let received = executions(&moto);
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["query"], SUBSTITUTED);
    assert!(received[0]["outputLocation"].as_str().unwrap_or_default().starts_with("s3://athena-results/env/"));
    assert_eq!(exit_stage(&run)["athena"]["queryExecutionId"], received[0]["id"]);

    // Without any credentials the stage fails, naming the endpoint, before any query starts.
    let run = run_ddl(&s, &url, &env[..5]);
    run.assert_code(1);
    assert!(run.stderr.contains("Athena StartQueryExecution at http://127.0.0.1:"), "{}", run.stderr);
    assert_eq!(executions(&moto).len(), 1, "no second query");
}

#[test]
fn athena_errors_fail_the_stage_with_athenas_message_and_never_show_the_password() {
    let moto = MotoServer::start();
    moto.script("moto_athena.py", &[REGION, "setup", "--hold"]);
    let s = Scratch::new();
    let base = format!(
        "jdbc:awsathena://AwsRegion={REGION};S3OutputLocation=s3://athena-results/;User=AKIAWEIRTEST;Password={SECRET};EndpointOverride={}",
        moto.endpoint()
    );

    // An API error (an unknown work group) fails the stage with Athena's message.
    let run = run_ddl(&s, &format!("{base};Workgroup=nowhere"), &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("'Create glue data catalog'"), "{}", run.stderr);
    assert!(run.stderr.contains("Athena StartQueryExecution at"), "{}", run.stderr);
    assert!(run.stderr.contains("WorkGroup does not exist"), "{}", run.stderr);
    assert!(!run.all().contains(SECRET), "{}", run.all());
    assert!(executions(&moto).is_empty(), "nothing started");

    // A query still queued at the timeout is stopped, and the stage fails saying so.
    let run = run_ddl(&s, &format!("{base};QueryTimeout=1;MaxQueryExecutionPollingInterval=200"), &[]);
    run.assert_code(1);
    let received = executions(&moto);
    assert_eq!(received.len(), 1, "{received:?}");
    let id = received[0]["id"].as_str().unwrap_or_default();
    assert!(run.stderr.contains(&format!("Athena query {id} did not finish within 1 s")), "{}", run.stderr);
    assert!(run.stderr.contains("the query was stopped (StopQueryExecution)"), "{}", run.stderr);
    assert_eq!(received[0]["state"], "CANCELLED", "StopQueryExecution reached Athena");
    assert!(!run.all().contains(SECRET), "{}", run.all());

    // An unreachable endpoint fails the stage naming it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let url = format!(
        "jdbc:awsathena://AwsRegion={REGION};S3OutputLocation=s3://r/;User=AK;Password={SECRET};EndpointOverride=http://127.0.0.1:{closed}"
    );
    let run = run_ddl(&s, &url, &[]);
    run.assert_code(1);
    assert!(
        run.stderr.contains(&format!("Athena StartQueryExecution at http://127.0.0.1:{closed} failed")),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains(SECRET), "{}", run.all());

    // Config errors: no region, no output location; reported before anything runs.
    let run =
        run_ddl(&s, &format!("jdbc:awsathena://User=AK;Password={SECRET};EndpointOverride={}", moto.endpoint()), &[]);
    run.assert_code(1);
    assert!(run.stderr.contains("AwsRegion is required"), "{}", run.stderr);
    assert!(run.stderr.contains("S3OutputLocation is required when no Workgroup is given"), "{}", run.stderr);
    assert!(run.stderr.contains("jdbc:awsathena://User=AK;Password=*****;EndpointOverride="), "{}", run.stderr);
    assert!(!run.events().iter().any(|e| e["event"] == "enter" && e.get("stage").is_some()), "no stage ran");
    assert!(!run.all().contains(SECRET), "{}", run.all());
    assert_eq!(executions(&moto).len(), 1, "no query started by a job that failed validation");
}
