//! AvroExtract / AvroLoad on the real binary: round trips (types, NULLs, nested values),
//! save modes, partitionBy, globs, a missing path, and an independent reader and writer
//! (Python's `fastavro`, from the test venv).

use std::path::Path;
use std::process::Command;

use super::Scratch;

/// A job of `stages` (JSON objects, `environments` added).
fn job(stages: &[&str]) -> String {
    let all: Vec<String> = stages.iter().map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

/// Three rows of every type the round trip covers; row 2 is NULL in every nullable column.
const SOURCE: &str = r#"{"type": "SQLTransform", "name": "src", "outputView": "src", "sql": "SELECT COALESCE(CAST(id AS INT), 0) AS id, name, CAST(d AS DATE) AS day, CAST(t AS TIMESTAMP) AS at, CAST(a AS DECIMAL(10,2)) AS amount, CASE WHEN id = 2 THEN NULL ELSE NAMED_STRUCT('x', id, 'y', name) END AS s, CASE WHEN id = 2 THEN NULL ELSE ARRAY(id, id * 10) END AS tags, id % 2 AS half FROM VALUES (1, 'a', '2024-01-31', '2024-01-31 12:34:56.789012', '12345.67'), (2, NULL, NULL, NULL, NULL), (3, 'c', '1969-12-31', '1970-01-01 00:00:00', '-0.05') AS v(id, name, d, t, a)"}"#;

/// Logs the view's rows (ordered by id) with every value as a string.
fn log_rows(name: &str, view: &str) -> String {
    format!(
        r#"{{"type": "LogExecute", "name": "{name}", "sql": "SELECT TO_JSON(COLLECT_LIST(r)) FROM (SELECT NAMED_STRUCT('id', id, 'name', name, 'day', CAST(day AS STRING), 'at', CAST(at AS STRING), 'amount', CAST(amount AS STRING), 'x', s.x, 'y', s.y, 'tags', tags) AS r FROM {view} ORDER BY id)"}}"#
    )
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

/// Reads every `.avro` file under a directory with fastavro: per file (relative path) its
/// codec, writer schema and records (dates and timestamps as ISO strings, decimals as strings).
const FASTAVRO_READ: &str = r#"
import datetime, decimal, json, os, sys
import fastavro
root = sys.argv[1]
out = {}
for d, _, names in os.walk(root):
    for n in sorted(names):
        if not n.endswith('.avro'):
            continue
        p = os.path.join(d, n)
        with open(p, 'rb') as f:
            r = fastavro.reader(f)
            def conv(v):
                if isinstance(v, (datetime.datetime, datetime.date)):
                    return v.isoformat()
                if isinstance(v, decimal.Decimal):
                    return str(v)
                if isinstance(v, dict):
                    return {k: conv(x) for k, x in v.items()}
                if isinstance(v, list):
                    return [conv(x) for x in v]
                return v
            out[os.path.relpath(p, root)] = {
                'codec': r.metadata.get('avro.codec'),
                'schema': r.writer_schema,
                'records': [conv(x) for x in r],
            }
print(json.dumps(out))
"#;

fn expected_rows() -> serde_json::Value {
    serde_json::json!([
        {"id": 1, "name": "a", "day": "2024-01-31", "at": "2024-01-31 12:34:56.789012", "amount": "12345.67", "x": 1, "y": "a", "tags": [1, 10]},
        {"id": 2},
        {"id": 3, "name": "c", "day": "1969-12-31", "at": "1970-01-01 00:00:00", "amount": "-0.05", "x": 3, "y": "c", "tags": [3, 30]}
    ])
}

#[test]
fn avro_round_trip_keeps_rows_and_types_and_fastavro_reads_sparks_schema() {
    let s = Scratch::new();
    let out = s.path().join("out");
    let load =
        format!(r#"{{"type": "AvroLoad", "name": "load", "inputView": "src", "outputURI": "{}"}}"#, out.display());
    let back =
        format!(r#"{{"type": "AvroExtract", "name": "back", "inputURI": "{}", "outputView": "back"}}"#, out.display());
    let same = r#"{"type": "EqualityValidate", "name": "same", "leftView": "src", "rightView": "back"}"#;
    let internal = r#"{"type": "LogExecute", "name": "internal", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', COUNT(*), 'files', COUNT(DISTINCT _filename), 'indexes', SUM(_index)))  FROM back"}"#;
    let run = s.run_job("job.json", &job(&[SOURCE, &load, &back, same, &log_rows("rows", "back"), internal]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("load")["count"], 3);
    assert_eq!(logged(&run, "rows"), expected_rows());
    assert_eq!(logged(&run, "internal"), serde_json::json!({"rows": 3, "files": 1, "indexes": 6}));

    let files = python(FASTAVRO_READ, &[out.to_str().unwrap()]);
    let files = files.as_object().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files.values().next().unwrap();
    assert_eq!(file["codec"], "snappy", "Spark's default Avro codec");
    let fields: Vec<serde_json::Value> =
        file["schema"]["fields"].as_array().unwrap().iter().map(|f| f["type"].clone()).collect();
    assert_eq!(file["schema"]["name"], "topLevelRecord");
    assert_eq!(fields[0], "int", "a non-nullable int is a plain int");
    assert_eq!(fields[2], serde_json::json!([{"type": "int", "logicalType": "date"}, "null"]));
    assert_eq!(fields[3], serde_json::json!([{"type": "long", "logicalType": "timestamp-micros"}, "null"]));
    assert_eq!(fields[4][0]["type"], "fixed");
    assert_eq!(fields[4][0]["logicalType"], "decimal");
    assert_eq!(fields[4][0]["size"], 5);
    assert_eq!(fields[5][0]["type"], "record");
    let records = file["records"].as_array().unwrap();
    let mut records = records.clone();
    records.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(records[0]["day"], "2024-01-31");
    assert_eq!(records[0]["at"], "2024-01-31T12:34:56.789012+00:00");
    assert_eq!(records[0]["amount"], "12345.67");
    assert_eq!(records[0]["s"], serde_json::json!({"x": 1, "y": "a"}));
    assert_eq!(records[0]["tags"], serde_json::json!([1, 10]));
    assert_eq!(records[1]["name"], serde_json::Value::Null);
    assert_eq!(records[1]["amount"], serde_json::Value::Null);
    assert_eq!(records[1]["s"], serde_json::Value::Null);
    assert_eq!(records[2]["amount"], "-0.05");
    assert_eq!(records[2]["at"], "1970-01-01T00:00:00+00:00");
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

/// The `.avro` files under `dir`, relative, sorted.
fn avro_files(dir: &Path) -> Vec<String> {
    crate::support::files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "avro"))
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn avro_load_save_modes_partitions_and_numpartitions() {
    let s = Scratch::new();
    let out = s.path().join("modes");
    let load = |mode: &str| {
        format!(
            r#"{{"type": "AvroLoad", "name": "load", "inputView": "src", "outputURI": "{}", "saveMode": "{mode}"}}"#,
            out.display()
        )
    };
    let count =
        format!(r#"{{"type": "AvroExtract", "name": "back", "inputURI": "{}", "outputView": "back"}}"#, out.display());
    let log = r#"{"type": "LogExecute", "name": "count", "sql": "SELECT CAST(COUNT(*) AS STRING) FROM back"}"#;
    let run = s.run_job("first.json", &job(&[SOURCE, &load("Overwrite"), &count, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "count"), "3");
    let run = s.run_job("append.json", &job(&[SOURCE, &load("Append"), &count, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "count"), "6", "Append adds files");
    assert_eq!(avro_files(&out).len(), 2);
    let run = s.run_job("ignore.json", &job(&[SOURCE, &load("Ignore"), &count, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "count"), "6", "Ignore leaves the output");
    let run = s.run_job("error.json", &job(&[SOURCE, &load("ErrorIfExists")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("already exists and 'saveMode' equals 'ErrorIfExists'"), "{}", run.stderr);
    let run = s.run_job("overwrite.json", &job(&[SOURCE, &load("Overwrite"), &count, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "count"), "3", "Overwrite replaces the files");
    assert_eq!(avro_files(&out).len(), 1);

    // partitionBy: one directory per value, the column left out of the files (as Spark).
    let parts = s.path().join("parts");
    let load = format!(
        r#"{{"type": "AvroLoad", "name": "parts", "inputView": "src", "outputURI": "{}", "partitionBy": ["half"], "numPartitions": 2}}"#,
        parts.display()
    );
    let run = s.run_job("parts.json", &job(&[SOURCE, &load]));
    assert_eq!(run.code, 0, "{}", run.all());
    let files = avro_files(&parts);
    assert!(files.iter().all(|f| f.starts_with("half=0/part-") || f.starts_with("half=1/part-")), "{files:?}");
    // Rows are dealt over 2 files before they are split by `half`: each directory gets at most 2.
    let in_half_1 = files.iter().filter(|f| f.starts_with("half=1/")).count();
    assert!((1..=2).contains(&in_half_1), "ids 1 and 3 in at most 2 files: {files:?}");
    assert_eq!(files.iter().filter(|f| f.starts_with("half=0/")).count(), 1, "{files:?}");
    let read = python(FASTAVRO_READ, &[parts.to_str().unwrap()]);
    let mut ids: Vec<(String, i64)> = Vec::new();
    for (file, content) in read.as_object().unwrap() {
        let names: Vec<&str> =
            content["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert!(!names.contains(&"half"), "partition column not in the files: {names:?}");
        for r in content["records"].as_array().unwrap() {
            ids.push((file.split('/').next().unwrap().to_string(), r["id"].as_i64().unwrap()));
        }
    }
    ids.sort();
    assert_eq!(ids, [("half=0".into(), 2), ("half=1".into(), 1), ("half=1".into(), 3)]);
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
    assert!(run.stderr.contains("avroSchemaURI: Missing required attribute 'avroSchemaURI'."), "{}", run.stderr);

    let time = r#"{"type": "SQLTransform", "name": "t", "outputView": "t", "sql": "SELECT INTERVAL '1' DAY AS gap"}"#;
    let load = format!(
        r#"{{"type": "AvroLoad", "name": "load", "inputView": "t", "outputURI": "{}"}}"#,
        s.path().join("never").display()
    );
    let run = s.run_job("interval.json", &job(&[time, &load]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("AvroLoad cannot write column 'gap'"), "{}", run.stderr);
    assert!(!s.path().join("never").exists() || avro_files(&s.path().join("never")).is_empty(), "nothing written");
}

/// Reads every `.orc` file under a directory with pyarrow (Apache ORC's C++ reader): per file
/// (relative path) its compression, column types and rows (values as strings).
const PYARROW_ORC_READ: &str = r#"
import json, os, sys
import pyarrow.orc as orc
root = sys.argv[1]
out = {}
for d, _, names in os.walk(root):
    for n in sorted(names):
        if not n.endswith('.orc'):
            continue
        f = orc.ORCFile(os.path.join(d, n))
        t = f.read()
        rows = [{k: (None if v is None else str(v)) for k, v in r.items()} for r in t.to_pylist()]
        out[os.path.relpath(os.path.join(d, n), root)] = {
            'compression': f.compression,
            'types': [str(x.type) for x in t.schema],
            'rows': rows,
        }
print(json.dumps(out))
"#;

/// The ORC-writable columns of [`SOURCE`] (no decimal or nested columns).
const ORC_SOURCE: &str = r#"{"type": "SQLTransform", "name": "flat", "outputView": "flat", "sql": "SELECT id, name, day, at, CAST(id AS BIGINT) * 10000000000 AS big, id / 4 AS ratio, id > 1 AS later, CAST(name AS BINARY) AS raw, half FROM src"}"#;

#[test]
fn orc_round_trip_keeps_rows_and_types_and_pyarrow_reads_the_files() {
    let s = Scratch::new();
    let out = s.path().join("out");
    let load = format!(
        r#"{{"type": "ORCLoad", "name": "load", "inputView": "flat", "outputURI": "{}", "partitionBy": ["half"]}}"#,
        out.display()
    );
    let back = format!(
        r#"{{"type": "ORCExtract", "name": "back", "inputURI": "{}", "outputView": "back"}}"#,
        out.join("half=1").display()
    );
    let odd = r#"{"type": "SQLTransform", "name": "odd", "outputView": "odd", "sql": "SELECT id, name, day, at, big, ratio, later, raw FROM flat WHERE half = 1"}"#;
    let same = r#"{"type": "EqualityValidate", "name": "same", "leftView": "odd", "rightView": "back_data"}"#;
    let data = r#"{"type": "SQLTransform", "name": "data", "outputView": "back_data", "sql": "SELECT id, name, day, at, big, ratio, later, raw FROM back"}"#;
    let internal = r#"{"type": "LogExecute", "name": "internal", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', COUNT(*), 'indexes', SUM(_index), 'at', MAX(CAST(at AS STRING)))) FROM back"}"#;
    let run = s.run_job("job.json", &job(&[SOURCE, ORC_SOURCE, &load, &back, odd, data, same, internal]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("load")["count"], 3);
    assert_eq!(
        logged(&run, "internal"),
        serde_json::json!({"rows": 2, "indexes": 3, "at": "2024-01-31 12:34:56.789012"})
    );

    let files = python(PYARROW_ORC_READ, &[out.to_str().unwrap()]);
    let files = files.as_object().unwrap();
    assert_eq!(files.len(), 2, "one file per partition directory: {files:?}");
    let (odd_name, odd) = files.iter().find(|(k, _)| k.starts_with("half=1/")).unwrap();
    assert!(odd_name.ends_with(".orc"), "{odd_name}");
    assert_eq!(odd["compression"], "SNAPPY", "Spark's default ORC codec");
    assert_eq!(
        odd["types"],
        serde_json::json!([
            "int32",
            "string",
            "date32[day]",
            "timestamp[ns, tz=UTC]",
            "int64",
            "double",
            "bool",
            "binary"
        ])
    );
    let mut rows = odd["rows"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r["id"].as_str().map(String::from));
    assert_eq!(rows[0]["name"], "a");
    assert_eq!(rows[0]["day"], "2024-01-31");
    assert_eq!(rows[0]["at"], "2024-01-31 12:34:56.789012+00:00");
    assert_eq!(rows[0]["big"], "10000000000");
    assert_eq!(rows[0]["ratio"], "0.25");
    assert_eq!(rows[1]["day"], "1969-12-31");
    let even = files.iter().find(|(k, _)| k.starts_with("half=0/")).unwrap().1;
    assert_eq!(even["rows"][0]["name"], serde_json::Value::Null, "row 2's NULLs: {even}");
    assert_eq!(even["rows"][0]["at"], serde_json::Value::Null);
}

#[test]
fn orc_load_refuses_columns_it_cannot_write_and_writes_nothing() {
    let s = Scratch::new();
    let out = s.path().join("out");
    let load =
        format!(r#"{{"type": "ORCLoad", "name": "load", "inputView": "src", "outputURI": "{}"}}"#, out.display());
    let run = s.run_job("job.json", &job(&[SOURCE, &load]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("ORCLoad cannot write column 'amount' of type decimal(10,2)"),
        "the first column it cannot write is named: {}",
        run.stderr
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(), "nothing written");
}

#[test]
fn orc_extract_reads_pyarrow_files_through_a_glob() {
    let s = Scratch::new();
    let dir = s.path().join("in");
    std::fs::create_dir_all(&dir).unwrap();
    let script = r#"
import datetime, decimal, json, os, sys
import pyarrow as pa, pyarrow.orc as orc
schema = pa.schema([
    ('id', pa.int64()), ('name', pa.string()), ('day', pa.date32()),
    ('at', pa.timestamp('us')), ('amount', pa.decimal128(9, 3)),
    ('tags', pa.list_(pa.string())), ('s', pa.struct([('x', pa.int32()), ('y', pa.string())])),
])
parts = [
    [dict(id=1, name='one', day=datetime.date(2020, 2, 29), at=datetime.datetime(2020, 2, 29, 23, 59, 59, 123456),
          amount=decimal.Decimal('1.500'), tags=['a', 'b'], s=dict(x=1, y='p'))],
    [dict(id=2, name=None, day=datetime.date(1999, 12, 31), at=datetime.datetime(1999, 12, 31),
          amount=decimal.Decimal('-42.001'), tags=[], s=None),
     dict(id=3, name='three', day=datetime.date(2000, 1, 1), at=None,
          amount=None, tags=['c'], s=dict(x=3, y=None))],
]
for i, (rows, codec) in enumerate(zip(parts, ['zstd', 'zlib'])):
    orc.write_table(pa.Table.from_pylist(rows, schema=schema), os.path.join(sys.argv[1], 'part-%d.orc' % i), compression=codec)
print(json.dumps({'files': len(parts)}))
"#;
    assert_eq!(python(script, &[dir.to_str().unwrap()])["files"], 2);
    std::fs::write(dir.join("notes.txt"), "not matched by the glob").unwrap();
    let extract = format!(
        r#"{{"type": "ORCExtract", "name": "read", "inputURI": "{}/*.orc", "outputView": "r", "contiguousIndex": false}}"#,
        dir.display()
    );
    let log = r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(COLLECT_LIST(r)) FROM (SELECT NAMED_STRUCT('id', id, 'name', name, 'day', CAST(day AS STRING), 'at', CAST(at AS STRING), 'amount', CAST(amount AS STRING), 'tags', tags, 'x', s.x, 'y', s.y, 'file', SUBSTRING_INDEX(_filename, '/', -1)) AS r FROM r ORDER BY id)"}"#;
    let types = r#"{"type": "MetadataExtract", "name": "meta", "inputView": "r", "outputView": "meta"}"#;
    let log_types = r#"{"type": "LogExecute", "name": "types", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type))) FROM meta"}"#;
    let run = s.run_job("job.json", &job(&[&extract, log, types, log_types]));
    assert_eq!(run.code, 0, "{}", run.all());
    let mut rows = logged(&run, "rows").as_array().cloned().unwrap_or_default();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        serde_json::Value::Array(rows),
        serde_json::json!([
            {"id": 1, "name": "one", "day": "2020-02-29", "at": "2020-02-29 23:59:59.123456", "amount": "1.500", "tags": ["a", "b"], "x": 1, "y": "p", "file": "part-0.orc"},
            {"id": 2, "day": "1999-12-31", "at": "1999-12-31 00:00:00", "amount": "-42.001", "tags": [], "file": "part-1.orc"},
            {"id": 3, "name": "three", "day": "2000-01-01", "tags": ["c"], "x": 3, "file": "part-1.orc"}
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
            "tags:array<string>",
            "s:struct<x:int,y:string>",
            "_monotonically_increasing_id:long",
            "_filename:string"
        ])
    );

    // Not ORC: the file is named.
    std::fs::write(dir.join("part-9.orc"), "not orc").unwrap();
    let run = s.run_job("job.json", &job(&[&extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("part-9.orc") && run.stderr.contains("not a readable ORC file"), "{}", run.stderr);
}

#[test]
fn avro_extract_decodes_records_held_in_a_binary_column() {
    let s = Scratch::new();
    let dir = s.path().join("msgs");
    std::fs::create_dir_all(&dir).unwrap();
    // Kafka-style payloads: one schemaless Avro record per file (row 2 is written twice).
    let schema = r#"{"type": "record", "name": "m", "fields": [{"name": "id", "type": "long"}, {"name": "who", "type": ["null", "string"]}, {"name": "day", "type": {"type": "int", "logicalType": "date"}}]}"#;
    let avsc = s.file("m.avsc", schema);
    let script = r#"
import datetime, io, json, os, sys
import fastavro
schema = fastavro.parse_schema(json.loads(sys.argv[2]))
rows = [dict(id=1, who='ann', day=datetime.date(2024, 2, 29)), dict(id=2, who=None, day=datetime.date(1970, 1, 1)), dict(id=3, who='cy', day=datetime.date(1999, 12, 31))]
for i, row in enumerate(rows):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, row)
    with open(os.path.join(sys.argv[1], 'm%d.bin' % i), 'wb') as f:
        f.write(buf.getvalue())
print(json.dumps({'files': len(rows)}))
"#;
    assert_eq!(python(script, &[dir.to_str().unwrap(), schema])["files"], 3);
    let bytes = format!(
        r#"{{"type": "BytesExtract", "name": "bytes", "inputURI": "{}/*.bin", "outputView": "raw"}}"#,
        dir.display()
    );
    // A NULL payload gives a row of NULLs, as from_avro does.
    let with_null = r#"{"type": "SQLTransform", "name": "with null", "outputView": "payloads", "sql": "SELECT value AS payload FROM raw UNION ALL SELECT CAST(NULL AS BINARY)"}"#;
    let extract = format!(
        r#"{{"type": "AvroExtract", "name": "decode", "inputView": "payloads", "inputField": "payload", "avroSchemaURI": "{}", "outputView": "m", "persist": true}}"#,
        avsc.display()
    );
    let log = r#"{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(COLLECT_LIST(r)) FROM (SELECT NAMED_STRUCT('id', id, 'who', who, 'day', CAST(day AS STRING), 'index', _index, 'file', _filename) AS r FROM m)"}"#;
    let run = s.run_job("job.json", &job(&[&bytes, with_null, &extract, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("decode")["records"], 4);
    let rows = logged(&run, "rows");
    let mut rows = rows.as_array().unwrap().clone();
    rows.sort_by_key(|r| r["id"].as_i64().unwrap_or(i64::MAX));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["who"], "ann");
    assert_eq!(rows[0]["day"], "2024-02-29");
    assert_eq!(rows[1]["who"], serde_json::Value::Null);
    assert_eq!(rows[1]["day"], "1970-01-01");
    assert_eq!(rows[2]["day"], "1999-12-31");
    assert_eq!(rows[3].as_object().map(|r| r.len()), Some(2), "the NULL payload: only _index and _filename: {rows:?}");
    assert_eq!(rows[3]["file"], "");
    let mut indexes: Vec<i64> = rows.iter().filter_map(|r| r["index"].as_i64()).collect();
    indexes.sort();
    assert_eq!(indexes, [1, 2, 3, 4], "rows numbered from 1 in the view's order");

    // The column must exist and be binary; a record that does not decode names the view.
    let text = r#"{"type": "SQLTransform", "name": "text", "outputView": "payloads", "sql": "SELECT 'x' AS payload"}"#;
    let run = s.run_job("text.json", &job(&[text, &extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "AvroExtract requires 'payload' of inputView 'payloads' to be of type 'binary' but it is 'string'."
        ),
        "{}",
        run.stderr
    );
    let junk = r#"{"type": "SQLTransform", "name": "junk", "outputView": "payloads", "sql": "SELECT CAST('zzzzzzzzzzzz' AS BINARY) AS payload"}"#;
    let run = s.run_job("junk.json", &job(&[junk, &extract]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("AvroExtract inputView 'payloads' with avroSchemaURI"), "{}", run.stderr);
}
