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
