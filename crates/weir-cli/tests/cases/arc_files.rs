//! Reading files as Spark (and so Arc) does: compressed inputs decompressed by extension in
//! every file extract, CSV records wider or narrower than the header, Arc's starter-tutorial
//! shape end to end over `s3a://`.

use std::path::Path;
use std::process::Command;

use super::{Scratch, repo_root, weir};
use crate::support::{DeltaRead, S3Server};

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip (Debian's gzip package) runs");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write to gzip");
    let out = child.wait_with_output().expect("gzip finishes");
    assert!(out.status.success(), "gzip failed");
    out.stdout
}

#[test]
fn spark_written_compressed_files_are_read_by_every_text_extract() {
    let fixtures = repo_root().join("tests/fixtures/spark-compressed");
    let s = Scratch::new();
    let data = s.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    for ext in ["bz2", "deflate", "gz", "lz4", "snappy"] {
        std::fs::copy(fixtures.join(format!("rows.txt.{ext}")), data.join(format!("rows.txt.{ext}"))).expect("copy");
    }
    // A plain file in the same glob: compressed and plain files mix.
    let plain: String = (0..500).map(|i| format!("row-{i},{}\n", i * 2)).collect();
    std::fs::write(data.join("rows.txt"), plain).expect("write");
    std::fs::write(data.join("docs.json.gz"), gzip(b"{\"a\": 1}\n{\"a\": 2}\n")).expect("write");
    std::fs::write(data.join("doc.json.gz"), gzip(b"[{\"a\": 3},\n {\"a\": 4}]")).expect("write");
    let dir = data.display();
    let job = format!(
        r#"{{"stages": [
          {{"type": "TextExtract", "name": "lines", "environments": ["test"], "inputURI": "{dir}/rows.txt*", "outputView": "lines"}},
          {{"type": "DelimitedExtract", "name": "fields", "environments": ["test"], "inputURI": "{dir}/rows.txt*", "outputView": "fields"}},
          {{"type": "JSONExtract", "name": "lines of json", "environments": ["test"], "inputURI": "{dir}/docs.json.gz", "outputView": "docs", "multiLine": false}},
          {{"type": "JSONExtract", "name": "json document", "environments": ["test"], "inputURI": "{dir}/doc.json.gz", "outputView": "doc"}},
          {{"type": "SQLValidate", "name": "check json", "environments": ["test"],
            "sql": "SELECT (SELECT SUM(a) FROM docs) = 3 AND (SELECT SUM(a) FROM doc) = 7, 'json'"}},
          {{"type": "SQLValidate", "name": "check", "environments": ["test"],
            "sql": "SELECT COUNT(*) = 3000 AND COUNT(DISTINCT _filename) = 6 AND MIN(value) = 'row-0,0' AND MAX(value) = 'row-99,198', CONCAT('lines ', COUNT(*)) FROM lines"}},
          {{"type": "SQLValidate", "name": "check fields", "environments": ["test"],
            "sql": "SELECT COUNT(*) = 3000 AND SUM(CAST(_c1 AS BIGINT)) = 6 * 249500 AND MAX(_index) = 500, CONCAT('fields ', COUNT(*), ' ', SUM(CAST(_c1 AS BIGINT))) FROM fields"}}
        ]}}"#
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 0, "{}", run.all());

    // A corrupt compressed file fails the stage naming the file and the codec.
    std::fs::write(data.join("broken.txt.gz"), b"this is not gzip").expect("write");
    let job = format!(
        r#"{{"stages": [
          {{"type": "TextExtract", "name": "lines", "environments": ["test"], "inputURI": "{dir}/broken.txt.gz", "outputView": "lines"}},
          {{"type": "SQLValidate", "name": "check", "environments": ["test"], "sql": "SELECT COUNT(*) > 0, 'n' FROM lines"}}
        ]}}"#
    );
    let run = s.run_job("broken.json", &job);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("broken.txt.gz") && run.stderr.contains("gzip"), "{}", run.stderr);
}

#[test]
fn csv_records_wider_or_narrower_than_the_header_are_read_as_spark_reads_them() {
    let s = Scratch::new();
    s.file("w.csv", "id,name\n1,a,extra\n2\n3,\"c,d\",x,y\n4,e\n");
    let job = format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{dir}/w.csv", "outputView": "raw", "header": true, "persist": true}},
          {{"type": "SQLValidate", "name": "check", "environments": ["test"],
            "sql": "SELECT COUNT(*) = 4 AND COUNT(name) = 3 AND MAX(name) = 'e' AND SUM(CASE WHEN name = 'c,d' THEN 1 ELSE 0 END) = 1, CONCAT_WS('|', COLLECT_LIST(CONCAT(id, ':', COALESCE(name, 'NULL')))) FROM raw"}}
        ]}}"#,
        dir = s.path().display()
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 0, "{}", run.all());
    let read = run.exit_stage("read");
    assert_eq!(read["records"], 4, "{read}");
    assert_eq!(read["recordsWithExtraFields"], 2, "{read}");
    assert_eq!(read["recordsWithMissingFields"], 1, "{read}");
}

/// Arc's starter tutorial: a headered CSV whose rows carry trailing extra fields (as the NYC
/// taxi files do), gzip-compressed, read through a glob over `s3a://`, typed, validated and
/// loaded to Delta with the source files' row count.
#[test]
fn starter_tutorial_shape_over_s3a() {
    let s3 = S3Server::start();
    s3.create_bucket("tutorial");
    let header = "vendor_id,pickup_datetime,passenger_count,fare_amount\n";
    let rows = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("V{},2016-01-{:02} 08:{:02}:00,{},{}.50,,\n", i % 3, 1 + i % 28, i % 60, 1 + i % 4, i))
            .collect()
    };
    s3.put("tutorial", "trips/2016-01.csv.gz", &gzip(format!("{header}{}", rows(0, 120)).as_bytes()));
    s3.put("tutorial", "trips/2016-02.csv.gz", &gzip(format!("{header}{}", rows(120, 80)).as_bytes()));
    s3.put("tutorial", "trips/2016-03.csv", format!("{header}{}", rows(200, 50)).as_bytes());
    let expected_fares: f64 = (0..250).map(|i| i as f64 + 0.5).sum();

    let s = Scratch::new();
    let job = format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "extract trips", "environments": ["test"],
            "inputURI": "s3a://tutorial/trips/*.csv*", "outputView": "trips_raw", "header": true, "persist": true}},
          {{"type": "TypingTransform", "name": "type trips", "environments": ["test"], "inputView": "trips_raw", "outputView": "trips",
            "schema": [
              {{"name": "vendor_id", "type": "string", "nullable": false}},
              {{"name": "pickup_datetime", "type": "timestamp", "nullable": false, "formatters": ["yyyy-MM-dd HH:mm:ss"], "timezoneId": "UTC"}},
              {{"name": "passenger_count", "type": "integer", "nullable": false}},
              {{"name": "fare_amount", "type": "decimal", "precision": 10, "scale": 2, "nullable": false}}
            ]}},
          {{"type": "SQLValidate", "name": "validate trips", "environments": ["test"],
            "sql": "SELECT SUM(error) = 0 AND COUNT(*) = 250, TO_JSON(NAMED_STRUCT('count', COUNT(*), 'errors', SUM(error))) FROM (SELECT CASE WHEN SIZE(_errors) > 0 THEN 1 ELSE 0 END AS error FROM trips)"}},
          {{"type": "DeltaLakeLoad", "name": "load trips", "environments": ["test"], "inputView": "trips",
            "outputURI": "s3a://tutorial/delta/trips", "saveMode": "Overwrite"}}
        ]}}"#
    );
    let path = s.file("tutorial.json", &job);
    let env = s3.env();
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = weir(&["run", path.to_str().expect("utf8"), "--env", "test"], &env_refs, Path::new("."));
    assert_eq!(run.code, 0, "{}", run.all());
    let extract = run.exit_stage("extract trips");
    assert_eq!(extract["records"], 250, "{extract}");
    assert_eq!(extract["recordsWithExtraFields"], 250, "{extract}");
    assert_eq!(extract["outputColumns"], 6, "four columns and _filename, _index: {extract}");

    let read = DeltaRead::new("s3://tutorial/delta/trips")
        .env(&env)
        .columns(&["fare_amount", "passenger_count"])
        .try_run()
        .expect("Delta read");
    assert_eq!(read["num_rows"], 250, "{read}");
    let fares: f64 = read["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["fare_amount"].as_str().and_then(|v| v.parse().ok()).or(r["fare_amount"].as_f64()).expect("fare"))
        .sum();
    assert!((fares - expected_fares).abs() < 1e-6, "{fares} != {expected_fares}");
}

#[test]
fn delta_extract_of_a_missing_table_falls_back_to_the_schema() {
    let s = Scratch::new();
    s.file(
        "schema.json",
        r#"[{"name": "id", "type": "integer", "nullable": false}, {"name": "amount", "type": "decimal", "precision": 10, "scale": 2, "nullable": true}]"#,
    );
    let dir = s.path().display();
    let extract = |schema: &str| {
        format!(
            r#"{{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{dir}/no-table", "outputView": "v"{schema}}}"#
        )
    };
    let job = format!(
        r#"{{"stages": [{},
          {{"type": "SQLValidate", "name": "empty", "environments": ["test"], "sql": "SELECT COUNT(*) = 0, 'empty' FROM v"}},
          {{"type": "SQLValidate", "name": "types", "environments": ["test"],
            "sql": "SELECT TYPEOF(v.id) = 'int' AND TYPEOF(v.amount) = 'decimal(10,2)', CONCAT(TYPEOF(v.id), ' ', TYPEOF(v.amount)) FROM (SELECT 1 AS one) d LEFT JOIN v ON TRUE"}}
        ]}}"#,
        extract(&format!(r#", "schemaURI": "{dir}/schema.json""#))
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("read")["outputColumns"], 2);

    let run = s.run_job("no-schema.json", &format!(r#"{{"stages": [{}]}}"#, extract("")));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("does not contain any fields and no schema has been provided to create an empty dataframe."),
        "{}",
        run.stderr
    );

    // schemaView: a view of field objects, read when the stage runs.
    let fields = r#"{"type": "SQLTransform", "name": "fields", "environments": ["test"], "outputView": "fields", "sql": "SELECT * FROM VALUES ('id', 'long', false), ('ok', 'string', true) AS t(name, type, nullable)"}"#;
    let typed = r#"{"type": "SQLValidate", "name": "types", "environments": ["test"], "sql": "SELECT TYPEOF(v.id) = 'bigint' AND TYPEOF(v.ok) = 'string', CONCAT(TYPEOF(v.id), ' ', TYPEOF(v.ok)) FROM (SELECT 1 AS one) d LEFT JOIN v ON TRUE"}"#;
    let job = format!(r#"{{"stages": [{fields}, {}, {typed}]}}"#, extract(r#", "schemaView": "fields""#));
    let run = s.run_job("view.json", &job);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("read")["schemaView"], "fields");
}
