//! AvroExtract on the real binary: files written by an independent writer (Python's
//! `fastavro`, from the test venv) read through a glob with Spark's types, and the errors.
//! (AvroLoad is not supported yet.)

use std::path::Path;
use std::process::Command;

use super::Scratch;

/// A job of `stages` (JSON objects, `environments` added).
fn job(stages: &[&str]) -> String {
    let all: Vec<String> = stages.iter().map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

fn logged(run: &super::Run, name: &str) -> serde_json::Value {
    run.exit_stage(name)["message"].clone()
}

/// Runs a Python script with the test venv's interpreter, returning its JSON output.
fn python(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(crate::support::python()).arg("-c").arg(script).args(args).output().expect("python runs");
    assert!(
        out.status.success(),
        "python failed (is fastavro installed? ./scripts/test.sh installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python prints JSON")
}

/// Writes two Avro files with fastavro (deflate; long, nullable string, date,
/// timestamp-micros, bytes decimal, enum, array) into `dir`.
fn fastavro_files(dir: &Path) {
    let script = r#"
import datetime, decimal, json, os, sys
import fastavro
schema = fastavro.parse_schema({
    'type': 'record', 'name': 'r', 'fields': [
        {'name': 'id', 'type': 'long'},
        {'name': 'name', 'type': ['null', 'string']},
        {'name': 'day', 'type': {'type': 'int', 'logicalType': 'date'}},
        {'name': 'at', 'type': {'type': 'long', 'logicalType': 'timestamp-micros'}},
        {'name': 'amount', 'type': {'type': 'bytes', 'logicalType': 'decimal', 'precision': 9, 'scale': 3}},
        {'name': 'colour', 'type': {'type': 'enum', 'name': 'colour', 'symbols': ['RED', 'GREEN']}},
        {'name': 'tags', 'type': {'type': 'array', 'items': 'string'}},
    ]})
utc = datetime.timezone.utc
rows = [
    [{'id': 1, 'name': 'one', 'day': datetime.date(2020, 2, 29), 'at': datetime.datetime(2020, 2, 29, 23, 59, 59, 123456, tzinfo=utc),
      'amount': decimal.Decimal('1.500'), 'colour': 'RED', 'tags': ['a', 'b']}],
    [{'id': 2, 'name': None, 'day': datetime.date(1999, 12, 31), 'at': datetime.datetime(1999, 12, 31, 0, 0, tzinfo=utc),
      'amount': decimal.Decimal('-42.001'), 'colour': 'GREEN', 'tags': []},
     {'id': 3, 'name': 'three', 'day': datetime.date(2000, 1, 1), 'at': datetime.datetime(2000, 1, 1, 0, 0, 1, tzinfo=utc),
      'amount': decimal.Decimal('0.000'), 'colour': 'RED', 'tags': ['c']}],
]
for i, records in enumerate(rows):
    with open(os.path.join(sys.argv[1], 'part-%d.avro' % i), 'wb') as f:
        fastavro.writer(f, schema, records, codec='deflate')
print(json.dumps({'files': len(rows)}))
"#;
    std::fs::create_dir_all(dir).unwrap();
    assert_eq!(python(script, &[dir.to_str().unwrap()])["files"], 2);
}

#[test]
fn avro_extract_reads_fastavro_files_through_a_glob() {
    let s = Scratch::new();
    let dir = s.path().join("in");
    fastavro_files(&dir);
    std::fs::write(dir.join("notes.txt"), "not matched by the glob").unwrap();
    let extract = format!(
        r#"{{"type": "AvroExtract", "name": "read", "inputURI": "{}/*.avro", "outputView": "r", "contiguousIndex": false}}"#,
        dir.display()
    );
    let log = r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(COLLECT_LIST(r)) FROM (SELECT NAMED_STRUCT('id', id, 'name', name, 'day', CAST(day AS STRING), 'at', CAST(at AS STRING), 'amount', CAST(amount AS STRING), 'colour', colour, 'tags', tags, 'file', SUBSTRING_INDEX(_filename, '/', -1)) AS r FROM r ORDER BY id)"}"#;
    let types = r#"{"type": "MetadataExtract", "name": "meta", "inputView": "r", "outputView": "meta"}"#;
    let log_types = r#"{"type": "LogExecute", "name": "types", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type))) FROM meta"}"#;
    let run = s.run_job("job.json", &job(&[&extract, log, types, log_types]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        logged(&run, "rows"),
        serde_json::json!([
            {"id": 1, "name": "one", "day": "2020-02-29", "at": "2020-02-29 23:59:59.123456", "amount": "1.500", "colour": "RED", "tags": ["a", "b"], "file": "part-0.avro"},
            {"id": 2, "day": "1999-12-31", "at": "1999-12-31 00:00:00", "amount": "-42.001", "colour": "GREEN", "tags": [], "file": "part-1.avro"},
            {"id": 3, "name": "three", "day": "2000-01-01", "at": "2000-01-01 00:00:01", "amount": "0.000", "colour": "RED", "tags": ["c"], "file": "part-1.avro"}
        ])
    );
    assert_eq!(
        logged(&run, "types"),
        serde_json::json!([
            "id:long",
            "name:string",
            "day:date",
            "at:timestamp",
            "amount:decimal(9,3)",
            "colour:string",
            "tags:array<string>",
            "_monotonically_increasing_id:long",
            "_filename:string"
        ])
    );
}

#[test]
fn avro_errors_name_the_path_and_the_unsupported_options() {
    let s = Scratch::new();
    let missing = s.path().join("nowhere");
    let extract =
        format!(r#"{{"type": "AvroExtract", "name": "read", "inputURI": "{}", "outputView": "r"}}"#, missing.display());
    let run = s.run_job("missing.json", &job(&[&extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    let expected = format!(
        "Path '{}' does not exist and no schema has been provided to create an empty dataframe.",
        missing.display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);

    let garbage = s.file("bad/data.avro", "this is not avro");
    let extract =
        format!(r#"{{"type": "AvroExtract", "name": "read", "inputURI": "{}", "outputView": "r"}}"#, garbage.display());
    let run = s.run_job("garbage.json", &job(&[&extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("data.avro") && run.stderr.contains("not a readable Avro file"), "{}", run.stderr);

    let binary =
        r#"{"type": "AvroExtract", "name": "read", "inputView": "raw", "inputField": "value", "outputView": "r"}"#;
    let run = s.run_job("binary.json", &job(&[binary]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("'inputView') is not supported yet by Weir's AvroExtract"), "{}", run.stderr);
}
