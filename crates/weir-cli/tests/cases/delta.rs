//! Delta stages end to end: time travel and every MERGE clause.

use super::Scratch;

/// A job that loads `rows` (SQL VALUES) into `table` with `load`, then checks `check` SQL
/// (returning [boolean, message]) against `view` read back with `options`.
fn run(s: &Scratch, name: &str, stages: &str) -> super::Run {
    s.run_job(name, &format!(r#"{{"stages": [{stages}]}}"#))
}

fn sql_view(name: &str, view: &str, sql: &str) -> String {
    format!(
        r#"{{"type": "SQLTransform", "name": "{name}", "environments": ["test"], "outputView": "{view}", "sql": "{sql}"}}"#
    )
}

fn validate(name: &str, sql: &str) -> String {
    format!(r#"{{"type": "SQLValidate", "name": "{name}", "environments": ["test"], "sql": "{sql}"}}"#)
}

#[test]
fn time_travel_reads_earlier_versions() {
    let s = Scratch::new();
    let table = s.path().join("t");
    let t = table.display();
    let load = |rows: &str| {
        format!(
            r#"{},
            {{"type": "DeltaLakeLoad", "name": "save", "environments": ["test"], "inputView": "v", "outputURI": "{t}", "saveMode": "Overwrite"}}"#,
            sql_view("rows", "v", &format!("SELECT * FROM (VALUES {rows}) AS x(id)"))
        )
    };
    assert_eq!(run(&s, "v0.json", &load("(1), (2), (3)")).code, 0);
    assert_eq!(run(&s, "v1.json", &load("(1), (2), (3), (4), (5)")).code, 0);
    let read = |options: &str, expected: i64| {
        let job = format!(
            r#"{{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{t}", "outputView": "r", "options": {options}}},
            {}"#,
            validate("count", &format!("SELECT COUNT(*) = {expected}, CAST(COUNT(*) AS string) FROM r"))
        );
        let out = run(&s, "read.json", &job);
        assert_eq!(out.code, 0, "options {options}: {}", out.all());
    };
    read("{}", 5);
    read(r#"{"relativeVersion": 0}"#, 5);
    read(r#"{"relativeVersion": -1}"#, 3);
    read(r#"{"versionAsOf": 0}"#, 3);
    read(r#"{"timestampAsOf": "2999-01-01 00:00:00"}"#, 5);
    read(r#"{"relativeVersion": -5, "canReturnLastCommit": true}"#, 3);
    let bad = run(
        &s,
        "bad.json",
        &format!(
            r#"{{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{t}", "outputView": "r", "options": {{"relativeVersion": 1}}}}"#
        ),
    );
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("relativeVersion must be less than or equal to zero"), "{}", bad.stderr);
    let typo = run(
        &s,
        "typo.json",
        &format!(
            r#"{{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{t}", "outputView": "r", "options": {{"rAlativeVersion": -1}}}}"#
        ),
    );
    assert!(
        typo.stderr.contains("Invalid attribute 'rAlativeVersion'. Perhaps you meant one of: ['relativeVersion']."),
        "{}",
        typo.stderr
    );
}

#[test]
fn merge_clauses() {
    let s = Scratch::new();
    let t = s.path().join("m");
    let t = t.display();
    let target = format!(
        r#"{},
        {{"type": "DeltaLakeMergeLoad", "name": "create", "environments": ["test"], "inputView": "v", "outputURI": "{t}",
          "condition": "source.id = target.id", "createTableIfNotExists": true, "whenNotMatchedByTargetInsert": {{}}}}"#,
        sql_view("rows", "v", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')) AS x(id, name)")
    );
    let created = run(&s, "create.json", &target);
    assert_eq!(created.code, 0, "{}", created.all());
    // Source: 1 deleted, 2 updated (all columns), 9 inserted with values; 3 and 4 unmatched by source: 4 deleted.
    let merge = format!(
        r#"{},
        {{"type": "DeltaLakeMergeLoad", "name": "merge", "environments": ["test"], "inputView": "src", "outputURI": "{t}",
          "condition": "source.id = target.id",
          "whenMatchedDelete": {{"condition": "source.op = \"delete\""}},
          "whenMatchedUpdate": {{}},
          "whenNotMatchedByTargetInsert": {{"values": {{"id": "source.id", "name": "upper(source.name)"}}}},
          "whenNotMatchedBySourceDelete": {{"condition": "target.id = 4"}}}},
        {{"type": "DeltaLakeExtract", "name": "read", "environments": ["test"], "inputURI": "{t}", "outputView": "r"}},
        {}"#,
        sql_view(
            "source",
            "src",
            "SELECT * FROM (VALUES (1, 'x', 'delete'), (2, 'B2', 'update'), (9, 'new', 'insert')) AS x(id, name, op)"
        ),
        validate(
            "result",
            "SELECT string_agg(CAST(id AS string) || '=' || name, ',' ORDER BY id) = '2=B2,3=c,9=NEW', string_agg(CAST(id AS string) || '=' || name, ',' ORDER BY id) FROM r"
        )
    );
    let merged = run(&s, "merge.json", &merge);
    assert_eq!(merged.code, 0, "{}", merged.all());

    let missing = run(
        &s,
        "missing.json",
        &format!(
            r#"{}, {{"type": "DeltaLakeMergeLoad", "name": "merge", "environments": ["test"], "inputView": "v", "outputURI": "{}/nothing",
            "condition": "source.id = target.id", "whenNotMatchedByTargetInsert": {{}}}}"#,
            sql_view("rows", "v", "SELECT 1 AS id"),
            s.path().display()
        ),
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("is not a Delta table and 'createTableIfNotExists' is false"),
        "{}",
        missing.stderr
    );
}

/// The merge's exit event: its `metrics` object.
fn merge_metrics(run: &super::Run) -> serde_json::Value {
    run.events()
        .into_iter()
        .find(|e| e["event"] == "exit" && e["stage"]["type"] == "DeltaLakeMergeLoad")
        .map(|e| e["stage"]["metrics"].clone())
        .unwrap_or_else(|| panic!("no merge exit event:\n{}", run.all()))
}

#[test]
fn merge_clause_order_values_and_duplicate_matches() {
    let s = Scratch::new();
    let table = s.path().join("people");
    let t = table.display();
    let create = format!(
        r#"{},
        {{"type": "DeltaLakeMergeLoad", "name": "create", "environments": ["test"], "inputView": "v", "outputURI": "{t}",
          "condition": "source.id = target.id", "createTableIfNotExists": true, "whenNotMatchedByTargetInsert": {{}}}}"#,
        sql_view(
            "rows",
            "v",
            "SELECT * FROM (VALUES (1, 'a', 10), (2, 'b', 20), (3, 'c', 30), (4, 'd', 40)) AS x(id, name, score)"
        )
    );
    assert_eq!(run(&s, "create.json", &create).code, 0);
    let merge = |file: &str, source: &str, clauses: &str| {
        let job = format!(
            r#"{},
            {{"type": "DeltaLakeMergeLoad", "name": "merge", "environments": ["test"], "inputView": "src", "outputURI": "{t}",
              "condition": "source.id = target.id", {clauses}}}"#,
            sql_view("source", "src", &format!("SELECT * FROM (VALUES {source}) AS x(id, name, score)"))
        );
        run(&s, file, &job)
    };
    let rows = || {
        let read = crate::support::DeltaRead::new(&t.to_string()).columns(&["id", "name", "score"]).sort(&["id"]).run();
        read["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| format!("{}={}/{}", r["id"], r["name"].as_str().unwrap_or("null"), r["score"]))
            .collect::<Vec<_>>()
            .join(",")
    };

    // Both matched clauses unconditional: whenMatchedDeleteFirst decides which one applies.
    let update_first = merge(
        "update_first.json",
        "(1, 'A', 11)",
        r#""whenMatchedDeleteFirst": false, "whenMatchedDelete": {}, "whenMatchedUpdate": {}"#,
    );
    assert_eq!(update_first.code, 0, "{}", update_first.all());
    assert_eq!(rows(), "1=A/11,2=b/20,3=c/30,4=d/40");
    let m = merge_metrics(&update_first);
    assert_eq!((m["numTargetRowsUpdated"].as_u64(), m["numTargetRowsDeleted"].as_u64()), (Some(1), Some(0)), "{m}");
    let delete_first =
        merge("delete_first.json", "(1, 'A', 11)", r#""whenMatchedDelete": {}, "whenMatchedUpdate": {}"#);
    assert_eq!(delete_first.code, 0, "{}", delete_first.all());
    assert_eq!(rows(), "2=b/20,3=c/30,4=d/40");

    // Insert `values` that leave a column out set it to NULL: refused for a NOT NULL column.
    let not_null = merge(
        "not_null.json",
        "(7, 'g', 70)",
        r#""whenNotMatchedByTargetInsert": {"values": {"id": "source.id", "name": "source.name"}}"#,
    );
    assert_eq!(not_null.code, 1, "{}", not_null.all());
    assert!(not_null.stderr.contains("NOT NULL constraint violated for column: score"), "{}", not_null.stderr);
    assert_eq!(rows(), "2=b/20,3=c/30,4=d/40");

    // Update `values` mixing target and source (unlisted columns keep their value); a
    // conditional insert with `values`; a source row matching nothing and failing the insert
    // condition is dropped.
    let mixed = merge(
        "mixed.json",
        "(2, 'B', 99), (3, 'C', 5), (7, 'g', 70), (8, 'h', 80)",
        r#""whenMatchedUpdate": {"condition": "source.score > target.score", "values": {"name": "concat(target.name, source.name)"}},
           "whenNotMatchedByTargetInsert": {"condition": "source.id <> 8", "values": {"id": "source.id", "name": "upper(source.name)", "score": "source.score + 1"}}"#,
    );
    assert_eq!(mixed.code, 0, "{}", mixed.all());
    assert_eq!(rows(), "2=bB/20,3=c/30,4=d/40,7=G/71");
    let m = merge_metrics(&mixed);
    assert_eq!(m["numTargetRowsInserted"], 1, "{m}");
    assert_eq!(m["numTargetRowsUpdated"], 1, "{m}");
    assert_eq!(m["numTargetRowsCopied"], 2, "{m}");
    assert_eq!(m["numSourceRows"], 4, "{m}");
    let history = crate::support::DeltaRead::new(&t.to_string()).history().run();
    let last = history["history"].as_array().and_then(|h| h.last()).cloned().expect("history");
    assert_eq!(last["operation"], "MERGE", "{history}");
    let version = history["version"].as_i64().expect("version");

    // A merge that changes nothing writes no new version.
    let nothing =
        merge("nothing.json", "(2, 'x', 0)", r#""whenMatchedUpdate": {"condition": "source.score > target.score"}"#);
    assert_eq!(nothing.code, 0, "{}", nothing.all());
    let m = merge_metrics(&nothing);
    assert_eq!((m["numTargetRowsUpdated"].as_u64(), m["numTargetFilesAdded"].as_u64()), (Some(0), Some(0)), "{m}");
    assert_eq!(crate::support::DeltaRead::new(&t.to_string()).run()["version"].as_i64(), Some(version));

    // Two source rows updating one target row: refused as Spark does; the table is unchanged
    // and no data file is left behind.
    let files_before = std::fs::read_dir(&table).expect("table dir").count();
    let dup = merge("dup.json", "(2, 'x', 1), (2, 'y', 2)", r#""whenMatchedUpdate": {}"#);
    assert_eq!(dup.code, 1, "{}", dup.all());
    assert!(dup.stderr.contains("multiple source rows matched"), "{}", dup.stderr);
    assert!(dup.stderr.contains("ROW_NUMBER() in the SQL that builds 'src'"), "{}", dup.stderr);
    assert_eq!(crate::support::DeltaRead::new(&t.to_string()).run()["version"].as_i64(), Some(version));
    assert_eq!(std::fs::read_dir(&table).expect("table dir").count(), files_before);
    assert_eq!(rows(), "2=bB/20,3=c/30,4=d/40,7=G/71");
    // ... but several source rows may match a row that only an unconditional delete touches.
    let dup_delete = merge("dup_delete.json", "(3, 'x', 1), (3, 'y', 2)", r#""whenMatchedDelete": {}"#);
    assert_eq!(dup_delete.code, 0, "{}", dup_delete.all());
    assert_eq!(rows(), "2=bB/20,4=d/40,7=G/71");
}
