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

/// `job` with `plugins.lifecycle` set to `plugins` (a JSON array).
fn job_with_plugins(plugins: &str, stages: &[&str]) -> String {
    job(stages).replacen("{\"stages\"", &format!("{{\"plugins\": {{\"lifecycle\": {plugins}}}, \"stages\""), 1)
}

#[test]
fn control_flow_false_skips_the_remaining_stages_and_the_job_succeeds() {
    let s = Scratch::new();
    let out = s.path().join("out");
    let load =
        format!(r#"{{"type": "ParquetLoad", "name": "load", "inputView": "a", "outputURI": "{}"}}"#, out.display());
    let gate =
        |sql: &str, key: &str| format!(r#"{{"type": "ControlFlowExecute", "name": "gate", "sql": "{sql}"{key}}}"#);
    let failing = r#"{"type": "SQLValidate", "name": "would fail", "sql": "SELECT FALSE, 'not skipped'"}"#;
    let plugin = r#"[{"type": "ControlFlow", "environments": ["test"], "key": "controlFlowPluginOutcome"}]"#;

    let false_gate = gate("SELECT COUNT(*) > 5, TO_JSON(NAMED_STRUCT('count', COUNT(*))) FROM a", "");
    let run = s.run_job("skip.json", &job_with_plugins(plugin, &[&false_gate, failing, &load]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("gate")["result"], false);
    assert_eq!(run.exit_stage("gate")["message"], serde_json::json!({"count": 3}));
    let skipped: Vec<serde_json::Value> = run.events().into_iter().filter(|e| e["event"] == "skip").collect();
    assert_eq!(skipped.len(), 2, "{}", run.all());
    assert_eq!(skipped[0]["stage"]["name"], "would fail");
    assert_eq!(skipped[0]["reason"], "skipping stage due to control flow key: 'controlFlowPluginOutcome' = false.");
    assert_eq!(skipped[1]["message"], serde_json::json!({"count": 3}));
    assert!(!out.exists(), "the load was skipped");
    assert!(run.stderr.contains("skip   SQLValidate"), "{}", run.stderr);

    // A true outcome skips nothing.
    let true_gate = gate("SELECT COUNT(*) = 3, 'three rows' FROM a", "");
    let run = s.run_job("run.json", &job_with_plugins(plugin, &[&true_gate, &load]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(out.exists(), "{}", run.all());

    // Without the lifecycle plugin nothing is skipped, as in Arc.
    let run = s.run_job("no-plugin.json", &job(&[&false_gate, failing]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("SQLValidate failed with message: 'not skipped'."), "{}", run.stderr);

    // Another key: the plugin watches only its own.
    let keyed = gate("SELECT FALSE, 'no'", r#", "key": "other""#);
    let run = s.run_job("other-key.json", &job_with_plugins(plugin, &[&keyed, failing]));
    assert_eq!(run.code, 1, "{}", run.all());
    let watched =
        r#"[{"type": "ai.tripl.arc.plugins.lifecycle.ControlFlow", "environments": ["test"], "key": "other"}]"#;
    let run = s.run_job("watched.json", &job_with_plugins(watched, &[&keyed, failing]));
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn control_flow_config_errors() {
    let s = Scratch::new();
    let gate = r#"{"type": "ControlFlowExecute", "name": "gate", "sql": "SELECT 1, 'x'"}"#;
    let run = s.run_job("shape.json", &job(&[gate]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("ControlFlowExecute requires query to return 1 row with [outcome: boolean, message: string] signature. Query returned 1 rows of type [int, string]."),
        "{}",
        run.stderr
    );
    let no_key = r#"[{"type": "ControlFlow", "environments": ["test"]}]"#;
    let run = s.run_job("no-key.json", &job_with_plugins(no_key, &[gate]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("ControlFlow: Missing required attribute 'key'."), "{}", run.stderr);
    let other = r#"[{"type": "DataFramePrinter", "environments": ["test"]}]"#;
    let run = s.run_job("other.json", &job_with_plugins(other, &[gate]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("lifecycle plugin 'DataFramePrinter' is not supported yet by Weir"), "{}", run.stderr);
    // A plugin for another environment is not looked at.
    let elsewhere = r#"[{"type": "DataFramePrinter", "environments": ["production"]}]"#;
    let ok = r#"{"type": "ControlFlowExecute", "name": "gate", "sql": "SELECT TRUE, 'x'"}"#;
    let run = s.run_job("elsewhere.json", &job_with_plugins(elsewhere, &[ok]));
    assert_eq!(run.code, 0, "{}", run.all());
}
