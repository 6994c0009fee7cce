//! Checks of the test support itself: the S3 server speaks what object_store and delta-rs
//! send (SigV4, path style, conditional and multipart puts), the Python reader works, and
//! the weir runner captures and times out.

use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3CopyIfNotExists};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::*;

#[test]
fn s3_put_get_list_delete_roundtrip() {
    let s3 = S3Server::start();
    s3.create_bucket("bkt");
    s3.put("bkt", "a/one.csv", b"1,one\n");
    s3.put("bkt", "a/b/two.csv", b"2,two\n");
    s3.put("bkt", "ab/three.csv", b"3\n");
    assert_eq!(s3.get("bkt", "a/one.csv"), b"1,one\n");
    assert_eq!(s3.try_get("bkt", "a/none.csv"), None);
    // Prefixes are whole path segments: "a" does not match "ab/".
    assert_eq!(s3.list("bkt", "a/"), ["a/b/two.csv", "a/one.csv"]);
    assert_eq!(s3.list("bkt", "a"), ["a/b/two.csv", "a/one.csv"]);
    assert_eq!(s3.list("bkt", ""), ["a/b/two.csv", "a/one.csv", "ab/three.csv"]);
    assert!(s3.list("bkt", "nothing/").is_empty());
    // Objects are plain files under root/bucket.
    assert_eq!(std::fs::read(s3.root().join("bkt/a/b/two.csv")).unwrap(), b"2,two\n");
    s3.delete("bkt", "a/one.csv");
    s3.delete("bkt", "a/one.csv");
    assert_eq!(s3.list("bkt", "a"), ["a/b/two.csv"]);
    // A missing bucket is an error, not an empty listing.
    let missing = s3.block_on(async {
        use futures::TryStreamExt;
        s3.store("nobucket").list(None).try_collect::<Vec<_>>().await
    });
    assert!(missing.is_err(), "{missing:?}");
}

#[test]
fn s3_wrong_secret_is_refused() {
    let s3 = S3Server::start();
    s3.create_bucket("bkt");
    let store = AmazonS3Builder::new()
        .with_endpoint(s3.endpoint())
        .with_region(S3Server::REGION)
        .with_bucket_name("bkt")
        .with_access_key_id(S3Server::ACCESS_KEY)
        .with_secret_access_key("wrong")
        .with_allow_http(true)
        .build()
        .unwrap();
    let err = s3.block_on(store.put(&ObjectPath::from("x"), PutPayload::from_static(b"x"))).unwrap_err();
    assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
}

/// A weir process configures object_store from these variables (`AmazonS3Builder::from_env`
/// reads AWS_*): they must be enough to reach the server.
#[test]
fn s3_env_configures_object_store() {
    let s3 = S3Server::start();
    s3.create_bucket("envb");
    let mut builder = AmazonS3Builder::new().with_bucket_name("envb");
    for (k, v) in s3.env() {
        if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
            builder = builder.with_config(key, v);
        }
    }
    let store = builder.build().unwrap();
    s3.block_on(store.put(&ObjectPath::from("k/v.txt"), PutPayload::from_static(b"hello"))).unwrap();
    assert_eq!(s3.get("envb", "k/v.txt"), b"hello");
}

/// Delta commits: delta-rs 1.1 writes `_delta_log/N.json` with `PutMode::Create`
/// (`If-None-Match: *`) and configures `copy_if_not_exists = multipart`; both must refuse to
/// overwrite. Large files go up as multipart uploads.
#[test]
fn s3_conditional_and_multipart_writes() {
    let s3 = S3Server::start();
    s3.create_bucket("cond");
    assert!(s3.put_if_absent("cond", "_delta_log/00000000000000000000.json", b"v0"));
    assert!(!s3.put_if_absent("cond", "_delta_log/00000000000000000000.json", b"other"));
    assert_eq!(s3.get("cond", "_delta_log/00000000000000000000.json"), b"v0");

    // Multipart: 12 MiB in 5 MiB parts.
    let store = s3.store("cond");
    let data: Vec<u8> = (0..12 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    s3.block_on(async {
        let upload = store.put_multipart(&ObjectPath::from("big/part-0.parquet")).await.unwrap();
        let mut w = WriteMultipart::new_with_chunk_size(upload, 5 * 1024 * 1024);
        w.write(&data);
        w.finish().await.unwrap();
    });
    assert!(s3.get("cond", "big/part-0.parquet") == data, "multipart object content");

    // copy_if_not_exists = multipart, as delta-rs sets it.
    let store = AmazonS3Builder::new()
        .with_endpoint(s3.endpoint())
        .with_region(S3Server::REGION)
        .with_bucket_name("cond")
        .with_access_key_id(S3Server::ACCESS_KEY)
        .with_secret_access_key(S3Server::SECRET_KEY)
        .with_allow_http(true)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
        .build()
        .unwrap();
    s3.put("cond", "tmp/commit.json", b"c1");
    s3.block_on(store.copy_if_not_exists(&ObjectPath::from("tmp/commit.json"), &ObjectPath::from("log/1.json")))
        .unwrap();
    let again =
        s3.block_on(store.copy_if_not_exists(&ObjectPath::from("tmp/commit.json"), &ObjectPath::from("log/1.json")));
    assert!(matches!(again, Err(object_store::Error::AlreadyExists { .. })), "{again:?}");
    assert_eq!(s3.get("cond", "log/1.json"), b"c1");
}

const WRITE_TABLE_PY: &str = r#"
import os, sys, pyarrow as pa
from deltalake import write_deltalake
uri = sys.argv[1]
opts = {k: v for k, v in os.environ.items() if k.startswith("AWS_")} if uri.startswith("s3") else None
t = pa.table({"id": pa.array([2, 1, 3], pa.int64()), "iscurrent": [True, False, True],
              "valid_to": pa.array([None, 5, None], pa.timestamp("us", tz="UTC")), "name": ["b", None, "c"]})
write_deltalake(uri, t, storage_options=opts)
write_deltalake(uri, t.slice(0, 1), mode="append", storage_options=opts)
"#;

fn python_writes_table(uri: &str, env: &[(String, String)]) {
    let out = Command::new(python())
        .args(["-c", WRITE_TABLE_PY, uri])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("python runs");
    assert!(out.status.success(), "python write_deltalake {uri}: {}", String::from_utf8_lossy(&out.stderr));
}

fn check_table(v: &serde_json::Value) {
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["num_rows"], 4, "{v}");
    assert_eq!(v["fields"], serde_json::json!(["id", "iscurrent", "valid_to", "name"]), "{v}");
    assert_eq!(v["schema"][0], serde_json::json!({"name": "id", "type": "long", "nullable": true}), "{v}");
    assert_eq!(v["expired"], 1, "{v}");
    assert_eq!(v["current"], 3, "{v}");
}

#[test]
fn python_deltalake_reads_a_local_table() {
    let ws = Workspace::new();
    let table = ws.join("t");
    let uri = table.to_str().unwrap();
    python_writes_table(uri, &[]);
    check_table(&read_delta_with_python(uri, &[]));
    let v = DeltaRead::new(uri).columns(&["id", "name"]).count("null:name").count("false:iscurrent").history().run();
    assert_eq!(
        v["rows"],
        serde_json::json!([{"id": 1, "name": null}, {"id": 2, "name": "b"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}])
    );
    assert_eq!(v["counts"], serde_json::json!({"null:name": 1, "false:iscurrent": 1}));
    assert_eq!(v["history"][1]["operation"], "WRITE");
    assert_eq!(DeltaRead::new(uri).version(0).run()["num_rows"], 3);
    let err = DeltaRead::new(ws.join("absent").to_str().unwrap()).try_run().unwrap_err();
    assert!(err.contains("TableNotFoundError"), "{err}");
}

#[test]
fn python_deltalake_reads_a_table_on_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    python_writes_table("s3://lake/out/t", &s3.env());
    let keys = s3.list("lake", "out/t/_delta_log");
    assert_eq!(keys, ["out/t/_delta_log/00000000000000000000.json", "out/t/_delta_log/00000000000000000001.json"]);
    check_table(&read_delta_with_python("s3://lake/out/t/", &s3.env()));
    check_table(&read_delta_with_python("s3a://lake/out/t", &s3.env()));
}

#[test]
fn run_weir_captures_output_and_exit_code() {
    let ws = Workspace::new();
    let out = ws.run_weir(&["--help"], &[]);
    out.assert_success();
    assert!(out.stdout.to_lowercase().contains("usage"), "{}", out.all());
    let out = ws.run_weir(&["no-such-subcommand-or-file.conf"], &[]);
    assert_ne!(out.code, 0, "{}", out.all());
}

#[test]
fn run_with_timeout_kills_a_hung_process() {
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let started = Instant::now();
    let panic =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_with_timeout(cmd, Duration::from_millis(300))))
            .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("killed after"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn workspace_copies_examples() {
    let ws = Workspace::new();
    let dir = ws.copy_example("scd2");
    assert!(dir.join("scd2.conf").is_file());
    let job = ws.write("jobs/x.conf", "{}");
    assert_eq!(ws.read("jobs/x.conf"), "{}");
    assert!(job.starts_with(ws.path()));
}

#[test]
fn shared_dir_is_found_or_skipped() {
    let shared = crate::require_shared!();
    assert!(shared.is_dir());
    assert!(shared.ends_with("shared") || std::env::var_os("WEIR_SHARED_DIR").is_some());
}
