//! Arc stages beyond the first thirteen: parameters, defaults and Arc's failure messages.

use super::Scratch;

/// A job of `stages` (JSON objects, `environments` added) over three views: `a` (three rows,
/// one repeated), `b` (the same rows in another order, once each) and `f` (one row differs).
fn job(stages: &[&str]) -> String {
    let views = [
        r#"{"type": "SQLTransform", "name": "a", "sql": "SELECT * FROM VALUES (1, 'x'), (2, NULL), (2, NULL) AS t(id, name)", "outputView": "a"}"#,
        r#"{"type": "SQLTransform", "name": "b", "sql": "SELECT * FROM VALUES (2, NULL), (1, 'x') AS t(id, name)", "outputView": "b"}"#,
        r#"{"type": "SQLTransform", "name": "f", "sql": "SELECT * FROM VALUES (3, 'y'), (1, 'x') AS t(id, name)", "outputView": "f"}"#,
    ];
    let all: Vec<String> =
        views.iter().chain(stages).map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

#[test]
fn log_execute_logs_its_message_as_json_or_text() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        &job(&[
            r#"{"type": "LogExecute", "name": "counts", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', COUNT(*), 'ids', COLLECT_SET(id))) FROM a"}"#,
            r#"{"type": "LogExecute", "name": "text", "sql": "SELECT CONCAT('a has ', COUNT(*), ' rows') FROM ${view}", "sqlParams": {"view": "a"}}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("counts")["message"], serde_json::json!({"rows": 3, "ids": [1, 2]}));
    assert_eq!(run.exit_stage("text")["message"], "a has 3 rows");

    for (sql, shape) in [
        ("SELECT 'x', 'y'", "1 rows of type [string, string]"),
        ("SELECT name FROM a", "3 rows of type [string]"),
        ("SELECT 1", "1 rows of type [int]"),
    ] {
        let run =
            s.run_job("bad.json", &job(&[&format!(r#"{{"type": "LogExecute", "name": "bad", "sql": "{sql}"}}"#)]));
        assert_eq!(run.code, 1, "{}", run.all());
        let expected = format!(
            "LogExecute requires query to return 1 row with [message: string] signature. Query returned {shape}."
        );
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
    let run = s.run_job("missing.json", &job(&[r#"{"type": "LogExecute", "name": "bad"}"#]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("One of ['inputURI', 'sql'] must be set."), "{}", run.stderr);
}

#[test]
fn equality_validate_passes_equal_views_and_fails_with_arcs_four_messages() {
    let s = Scratch::new();
    let equal = r#"{"type": "EqualityValidate", "name": "same", "leftView": "a", "rightView": "b"}"#;
    let run = s.run_job("job.json", &job(&[equal]));
    assert_eq!(run.code, 0, "rows compared as Arc does (each found in the other): {}", run.all());
    assert_eq!(run.exit_stage("same")["leftView"], "a");

    let prefix = "EqualityValidate ensures the two input datasets are the same (including column order), but";
    let cases = [
        (
            "SELECT id, name, 1 AS extra FROM b",
            format!(
                "{prefix} 'a' (2 columns) contains columns: [] that are not in 'r' and 'r' (3 columns) contains columns: ['extra'] that are not in 'a'. Columns are not equal so cannot the data be compared."
            ),
        ),
        (
            "SELECT name, id FROM b",
            format!(
                "{prefix} 'a' contains columns (ordered): ['id', 'name'] and 'r' contains columns (ordered): ['name', 'id']. Columns are not equal so cannot the data be compared."
            ),
        ),
        (
            "SELECT CAST(id AS BIGINT) AS id, name FROM b",
            format!(
                "{prefix} 'a' contains column types (ordered): ['integer', 'string'] and 'r' contains column types (ordered): ['long', 'string']. Columns are not equal so cannot the data be compared."
            ),
        ),
        (
            "SELECT * FROM f",
            format!(
                "{prefix} 'a' (3 rows) contains 2 rows that are not in 'r' and 'r' (2 rows) contains 1 rows which are not in 'a'."
            ),
        ),
    ];
    for (sql, expected) in cases {
        let right = format!(r#"{{"type": "SQLTransform", "name": "r", "sql": "{sql}", "outputView": "r"}}"#);
        let check = r#"{"type": "EqualityValidate", "name": "check", "leftView": "a", "rightView": "r"}"#;
        let run = s.run_job("differs.json", &job(&[&right, check]));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }

    // Internal columns of file extracts are not compared.
    s.file("one.csv", "1,x\n");
    let read = format!(
        r#"{{"type": "DelimitedExtract", "name": "read", "inputURI": "{}/one.csv", "outputView": "csv"}}"#,
        s.path().display()
    );
    let run = s.run_job(
        "internal.json",
        &job(&[
            &read,
            r#"{"type": "SQLTransform", "name": "plain", "sql": "SELECT '1' AS _c0, 'x' AS _c1", "outputView": "plain"}"#,
            r#"{"type": "EqualityValidate", "name": "check", "leftView": "csv", "rightView": "plain"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());

    let run = s.run_job("missing.json", &job(&[r#"{"type": "EqualityValidate", "name": "bad", "leftView": "a"}"#]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Missing required attribute 'rightView'."), "{}", run.stderr);
}
