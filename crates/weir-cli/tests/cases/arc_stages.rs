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
        ("SELECT name FROM a WHERE id < 0", "0 rows of type [string]"),
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

/// Whether the stage named `name` ended (has an `exit` event).
fn ran(run: &super::Run, name: &str) -> bool {
    run.events().iter().any(|e| e["event"] == "exit" && e["stage"]["name"] == name)
}

#[test]
fn config_execute_variables_reach_lazy_stages_only() {
    let s = Scratch::new();
    let vars = r#"{"type": "ConfigExecute", "name": "vars", "sql": "SELECT TO_JSON(NAMED_STRUCT('OUT', 'picked', 'MIN_ID', MIN(id), 'src', NAMED_STRUCT('view', 'a'))) FROM f"}"#;
    let lazy = r#"{"type": "SQLTransform", "name": "lazy", "resolution": "lazy", "outputView": ${OUT}, "sql": "SELECT COUNT(*) AS n FROM ${v} WHERE id >= ${min}", "sqlParams": {"v": ${src.view}, "min": ${MIN_ID}}}"#;
    let check =
        r#"{"type": "SQLValidate", "name": "check", "sql": "SELECT n = 3, TO_JSON(NAMED_STRUCT('n', n)) FROM picked"}"#;
    let run = s.run_job("lazy.json", &job(&[vars, lazy, check]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.exit_stage("vars")["message"],
        serde_json::json!({"OUT": "picked", "MIN_ID": 1, "src": {"view": "a"}})
    );
    assert_eq!(run.exit_stage("lazy")["resolution"], "lazy");
    assert_eq!(run.exit_stage("lazy")["outputView"], "picked");

    // A later ConfigExecute takes precedence; objects merge.
    let again = r#"{"type": "ConfigExecute", "name": "again", "sql": "SELECT '{\"MIN_ID\": 2}'"}"#;
    let check2 = r#"{"type": "SQLValidate", "name": "check", "sql": "SELECT n = 2, 'two ids >= 2' FROM picked"}"#;
    let run = s.run_job("again.json", &job(&[vars, again, lazy, check2]));
    assert_eq!(run.code, 0, "{}", run.all());

    // A strict stage resolves at job start: ConfigExecute's variables do not exist yet.
    let strict = lazy.replace(r#""resolution": "lazy", "#, "");
    let run = s.run_job("strict.json", &job(&[vars, &strict]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Could not resolve substitution to a value: ${OUT}"), "{}", run.stderr);
    assert!(!ran(&run, "vars"), "nothing ran: {}", run.all());

    // A lazy stage's problems surface when it is reached, after earlier stages ran.
    let broken = r#"{"type": "SQLTransform", "name": "broken", "resolution": "lazy", "sql": "SELECT ${UNSET_X}"}"#;
    let run = s.run_job("broken.json", &job(&[vars, broken]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(ran(&run, "vars"), "{}", run.all());
    assert!(run.stderr.contains("stage 4 'broken' (SQLTransform) failed"), "{}", run.stderr);
    assert!(run.stderr.contains("Missing required attribute 'outputView'."), "{}", run.stderr);
    let unresolved =
        r#"{"type": "SQLTransform", "name": "broken", "resolution": "lazy", "outputView": ${NOPE}, "sql": "SELECT 1"}"#;
    let run = s.run_job("unresolved.json", &job(&[vars, unresolved]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Could not resolve substitution to a value: ${NOPE}"), "{}", run.stderr);

    // Config-time errors: an unknown resolution, an unknown lazy type, ConfigExecute's shape.
    let run = s.run_job("eager.json", &job(&[&lazy.replace("lazy\"", "eager\"")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Invalid value 'eager'. Expected one of: ['strict', 'lazy']."), "{}", run.stderr);
    let unknown = r#"{"type": "SQLTransfrom", "name": "typo", "resolution": "lazy", "sql": "SELECT 1"}"#;
    let run = s.run_job("unknown.json", &job(&[vars, unknown]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Perhaps you meant 'SQLTransform'"), "{}", run.stderr);
    assert!(!ran(&run, "vars"), "nothing ran: {}", run.all());
    for (sql, message) in [
        ("SELECT 1", "Query returned 1 rows of type [int]."),
        ("SELECT CAST(NULL AS STRING)", "Query returned [null]."),
        ("SELECT '[1, 2]'", "must be a JSON object"),
    ] {
        let bad = format!(r#"{{"type": "ConfigExecute", "name": "bad", "sql": "{sql}"}}"#);
        let run = s.run_job("bad.json", &job(&[&bad]));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(
            run.stderr.contains("ConfigExecuteStage requires query to return 1 row with [message: string] signature."),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(message), "{message}: {}", run.stderr);
    }
}

#[test]
fn pipeline_execute_inlines_another_job_and_names_both_files_in_errors() {
    let s = Scratch::new();
    let child = r#"{"stages": [
      {"type": "SQLTransform", "name": "from child", "environments": ["test"], "sql": "SELECT id * 10 AS id FROM a", "outputView": "tens"},
      {"type": "SQLValidate", "name": "elsewhere only", "environments": ["production"], "sql": "SELECT FALSE, 'not in test'"}
    ]}"#;
    s.file("child.json", child);
    let include = r#"{"type": "PipelineExecute", "name": "include", "uri": "child.json"}"#;
    let check = r#"{"type": "SQLValidate", "name": "check", "sql": "SELECT SUM(id) = 50, 'sum of tens' FROM tens"}"#;
    let run = s.run_job("parent.json", &job(&[include, check]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("from child")["includedFrom"], "child.json");
    assert!(!ran(&run, "elsewhere only"), "the included job's environments apply: {}", run.all());

    // The included job's config errors name it and the stage that included it.
    s.file(
        "bad-child.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "bad", "environments": ["test"], "sql": "SELECT 1"}]}"#,
    );
    let run = s.run_job("bad.json", &job(&[&include.replace("child.json", "bad-child.json"), check]));
    assert_eq!(run.code, 1, "{}", run.all());
    let parent = s.path().join("bad.json");
    let expected = format!(
        "Stage: 0 'bad' in 'bad-child.json' (included by stage 3 'include' of '{}') (starting on line 1):",
        parent.display()
    );
    assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    assert!(run.stderr.contains("Missing required attribute 'outputView'."), "{}", run.stderr);

    // A failure while an included stage runs names its file.
    s.file("failing.json", r#"{"stages": [{"type": "SQLValidate", "name": "no", "environments": ["test"], "sql": "SELECT FALSE, 'nope'"}]}"#);
    let run = s.run_job("failing-parent.json", &job(&[&include.replace("child.json", "failing.json")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("stage 0 'no' (SQLValidate) of 'failing.json' failed"), "{}", run.stderr);

    // A missing file, a missing uri, a job including itself.
    let run = s.run_job("missing.json", &job(&[&include.replace("child.json", "absent.json")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Stage: 3 'include'"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot read job 'absent.json'"), "{}", run.stderr);
    let run = s.run_job("no-uri.json", &job(&[r#"{"type": "PipelineExecute", "name": "include"}"#]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Missing required attribute 'uri'."), "{}", run.stderr);
    s.file(
        "loop.json",
        r#"{"stages": [{"type": "PipelineExecute", "name": "again", "environments": ["test"], "uri": "loop.json"}]}"#,
    );
    let run = s.run_job("outer.json", &job(&[&include.replace("child.json", "loop.json")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("'loop.json' includes itself"), "{}", run.stderr);
}

/// The message LogExecute `name` logged.
fn logged(run: &super::Run, name: &str) -> serde_json::Value {
    run.exit_stage(name)["message"].clone()
}

#[test]
fn json_transform_writes_each_row_as_spark_to_json() {
    let s = Scratch::new();
    let nested = r#"{"type": "SQLTransform", "name": "n", "sql": "SELECT 1 AS id, NAMED_STRUCT('p', 1.5, 'q', ARRAY(1, 2)) AS s, MAP('k', 'v') AS m, CAST(NULL AS STRING) AS gone", "outputView": "n"}"#;
    let json = r#"{"type": "JSONTransform", "name": "json", "inputView": "n", "outputView": "j", "persist": true}"#;
    let log = r#"{"type": "LogExecute", "name": "log", "sql": "SELECT TO_JSON(COLLECT_LIST(value)) FROM j"}"#;
    let run = s.run_job("json.json", &job(&[nested, json, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "log"), serde_json::json!([r#"{"id":1,"s":{"p":1.5,"q":[1,2]},"m":{"k":"v"}}"#]));
    assert_eq!(run.exit_stage("json")["records"], 1);
    let run = s.run_job("bad.json", &job(&[r#"{"type": "JSONTransform", "name": "json", "inputView": "a"}"#]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Missing required attribute 'outputView'."), "{}", run.stderr);
}

#[test]
fn diff_transform_splits_matches_and_one_sided_rows() {
    let s = Scratch::new();
    let changed = r#"{"type": "SQLTransform", "name": "c", "sql": "SELECT * FROM VALUES (1, 'x'), (3, 'new') AS t(id, name)", "outputView": "c"}"#;
    let diff = r#"{"type": "DiffTransform", "name": "diff", "inputLeftView": "a", "inputRightView": "c", "outputIntersectionView": "both", "outputLeftView": "lo", "outputRightView": "ro"}"#;
    let keyed = r#"{"type": "DiffTransform", "name": "keyed", "inputLeftView": "f", "inputRightView": "c", "inputLeftKeys": ["id"], "inputRightKeys": ["id"], "outputIntersectionView": "kb", "outputLeftView": "klo", "outputRightView": "kro"}"#;
    let log = r#"{"type": "LogExecute", "name": "log", "sql": "SELECT TO_JSON(NAMED_STRUCT('both', (SELECT COLLECT_LIST(id) FROM both), 'lo', (SELECT SORT_ARRAY(COLLECT_LIST(id)) FROM lo), 'ro', (SELECT COLLECT_LIST(name) FROM ro), 'kb', (SELECT COLLECT_LIST(NAMED_STRUCT('l', `left`.name, 'r', `right`.name)) FROM kb), 'klo', (SELECT COUNT(*) FROM klo), 'kro', (SELECT COUNT(*) FROM kro)))"}"#;
    let run = s.run_job("diff.json", &job(&[changed, diff, keyed, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    // a = (1,x), (2,NULL) twice; c = (1,x), (3,new); f = (3,y), (1,x).
    let message = logged(&run, "log");
    assert_eq!(message["both"], serde_json::json!([1]));
    assert_eq!(message["lo"], serde_json::json!([2, 2]), "unmatched duplicates kept");
    assert_eq!(message["ro"], serde_json::json!(["new"]));
    let mut pairs: Vec<String> = message["kb"].as_array().unwrap().iter().map(|p| p.to_string()).collect();
    pairs.sort();
    assert_eq!(pairs, [r#"{"l":"x","r":"x"}"#, r#"{"l":"y","r":"new"}"#], "keyed matches keep both sides");
    assert_eq!((message["klo"].clone(), message["kro"].clone()), (serde_json::json!(0), serde_json::json!(0)));

    let uneven = r#"{"type": "DiffTransform", "name": "diff", "inputLeftView": "a", "inputRightView": "c", "inputLeftKeys": ["id"]}"#;
    let run = s.run_job("uneven.json", &job(&[uneven]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("must name the same number of columns (got 1 and 0)"), "{}", run.stderr);
    let missing = r#"{"type": "DiffTransform", "name": "diff", "inputLeftView": "a", "inputRightView": "b", "inputLeftKeys": ["nope"], "inputRightKeys": ["id"], "outputLeftView": "x"}"#;
    let run = s.run_job("missing.json", &job(&[missing]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("key column 'nope' is not in view 'a'"), "{}", run.stderr);
}

#[test]
fn bytes_extract_reads_whole_files_and_text_load_writes_them() {
    let s = Scratch::new();
    s.file("in/one.txt", "hello\nworld");
    let gz = super::arc_files::gzip(b"zipped");
    std::fs::write(s.path().join("in/two.txt.gz"), gz).unwrap();
    let bytes = r#"{"type": "BytesExtract", "name": "bytes", "inputURI": "in/*", "outputView": "raw"}"#;
    let lines = r#"{"type": "SQLTransform", "name": "lines", "sql": "SELECT CAST(value AS STRING) AS value FROM raw ORDER BY _filename", "outputView": "lines"}"#;
    let log = r#"{"type": "LogExecute", "name": "log", "sql": "SELECT TO_JSON(COLLECT_LIST(value)) FROM lines"}"#;
    let text_dir =
        r#"{"type": "TextLoad", "name": "dir", "inputView": "lines", "outputURI": "out/dir", "numPartitions": 2}"#;
    let single = r#"{"type": "TextLoad", "name": "single", "inputView": "lines", "outputURI": "out/one.txt", "singleFile": true, "prefix": "[", "separator": "|", "suffix": "]"}"#;
    let run = s.run_job("bytes.json", &job(&[bytes, lines, log, text_dir, single]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "log"), serde_json::json!(["hello\nworld", "zipped"]), "decompressed by extension");
    assert_eq!(std::fs::read_to_string(s.path().join("out/one.txt")).unwrap(), "[hello\nworld|zipped]");
    let mut parts: Vec<String> = std::fs::read_dir(s.path().join("out/dir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("part-"))
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 2, "numPartitions files: {parts:?}");
    let text: String =
        parts.iter().map(|p| std::fs::read_to_string(s.path().join("out/dir").join(p)).unwrap()).collect();
    assert_eq!(text.lines().count(), 3, "one line per row, the first value spanning two: {text:?}");

    // singleFile: saveMode on an existing file; per-filename files; the signature.
    let again = single.replace(r#""singleFile": true"#, r#""singleFile": true, "saveMode": "ErrorIfExists""#);
    let run = s.run_job("again.json", &job(&[bytes, lines, &again]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue."),
        "{}",
        run.stderr
    );
    let append = single.replace(r#""singleFile": true"#, r#""singleFile": true, "saveMode": "Append""#);
    let run = s.run_job("append.json", &job(&[bytes, lines, &append]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(s.path().join("out/one.txt")).unwrap(),
        "[hello\nworld|zipped][hello\nworld|zipped]"
    );
    let per_file = r#"{"type": "SQLTransform", "name": "pf", "sql": "SELECT * FROM VALUES ('b', 'f1.txt', 2), ('a', 'f1.txt', 1), ('c', 'f2.txt', 1) AS t(value, filename, index)", "outputView": "pf"}"#;
    let load = r#"{"type": "TextLoad", "name": "pf load", "inputView": "pf", "outputURI": "out/files", "singleFile": true, "separator": ","}"#;
    let run = s.run_job("per-file.json", &job(&[per_file, load]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(std::fs::read_to_string(s.path().join("out/files/f1.txt")).unwrap(), "a,b", "ordered by index");
    assert_eq!(std::fs::read_to_string(s.path().join("out/files/f2.txt")).unwrap(), "c");
    let wide =
        r#"{"type": "TextLoad", "name": "wide", "inputView": "a", "outputURI": "out/wide.txt", "singleFile": true}"#;
    let run = s.run_job("wide.json", &job(&[wide]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("signature when in singleFile mode. Got [id: int, name: string]."), "{}", run.stderr);
    let run = s.run_job("wide-dir.json", &job(&[&wide.replace(r#", "singleFile": true"#, "")]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("TextLoad supports only a single text column but the input view has 2 columns."),
        "{}",
        run.stderr
    );

    // BytesExtract: a missing path fails unless failMode is permissive.
    let absent = r#"{"type": "BytesExtract", "name": "absent", "inputURI": "nothing/*", "outputView": "none"}"#;
    let run = s.run_job("absent.json", &job(&[absent]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Path 'nothing/*' does not exist"), "{}", run.stderr);
    let permissive = absent.replace(r#""outputView""#, r#""failMode": "permissive", "outputView""#);
    let count = r#"{"type": "SQLValidate", "name": "empty", "sql": "SELECT COUNT(*) = 0, 'empty' FROM none"}"#;
    let run = s.run_job("permissive.json", &job(&[&permissive, count]));
    assert_eq!(run.code, 0, "{}", run.all());

    // inputView: the URIs and globs of the view's first column.
    let paths = r#"{"type": "SQLTransform", "name": "paths", "sql": "SELECT * FROM VALUES ('in/one.txt', 1), (NULL, 2), ('in/*.gz', 3) AS t(path, n)", "outputView": "paths"}"#;
    let from_view = r#"{"type": "BytesExtract", "name": "from view", "inputView": "paths", "outputView": "raw"}"#;
    let run = s.run_job("view.json", &job(&[paths, from_view, lines, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(logged(&run, "log"), serde_json::json!(["hello\nworld", "zipped"]));
    assert_eq!(run.exit_stage("from view")["inputView"], "paths");
    let missing = paths.replace("in/*.gz", "in/absent.txt");
    let run = s.run_job("view-missing.json", &job(&[&missing, from_view]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Path 'in/absent.txt' does not exist"), "{}", run.stderr);
    let numbers = r#"{"type": "SQLTransform", "name": "paths", "sql": "SELECT 1 AS n", "outputView": "paths"}"#;
    let run = s.run_job("view-numbers.json", &job(&[numbers, from_view]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains(
            "requires the first column 'n' of inputView 'paths' (the paths) to be of type 'string' but it is 'int'."
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn num_partitions_on_file_loads_writes_that_many_files() {
    let s = Scratch::new();
    let rows = r#"{"type": "SQLTransform", "name": "rows", "sql": "SELECT id, id % 2 AS half FROM RANGE(500)", "outputView": "rows"}"#;
    let count = |dir: &str| -> Vec<usize> {
        let mut out = Vec::new();
        let root = s.path().join(dir);
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let files = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
            let parts = files.iter().filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("part-")).count();
            if parts > 0 {
                out.push(parts);
            }
            stack.extend(files.into_iter().filter(|p| p.is_dir()));
        }
        out
    };
    let loads = [
        r#"{"type": "ParquetLoad", "name": "parquet", "inputView": "rows", "outputURI": "parquet", "numPartitions": 3}"#,
        r#"{"type": "DelimitedLoad", "name": "csv", "inputView": "rows", "outputURI": "csv", "numPartitions": 4, "header": true}"#,
        r#"{"type": "JSONLoad", "name": "json", "inputView": "rows", "outputURI": "json", "numPartitions": 3, "partitionBy": ["half"]}"#,
    ];
    let back = r#"{"type": "ParquetExtract", "name": "back", "inputURI": "parquet", "outputView": "back"}"#;
    let check = r#"{"type": "SQLValidate", "name": "check", "sql": "SELECT COUNT(*) = 500 AND SUM(id) = 124750, 'rows' FROM back"}"#;
    let mut stages: Vec<&str> = vec![rows];
    stages.extend(loads);
    stages.extend([back, check]);
    let run = s.run_job("parts.json", &job(&stages));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(count("parquet"), [3]);
    assert_eq!(count("csv"), [4]);
    assert_eq!(count("json"), [3, 3], "numPartitions files in each partition directory");
    let header = std::fs::read_dir(s.path().join("csv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("part-"))
        .unwrap();
    assert!(std::fs::read_to_string(header).unwrap().starts_with("id,half\n"), "no partition column written");
}

#[test]
fn metadata_stages_query_a_views_column_metadata() {
    let s = Scratch::new();
    let raw = r#"{"type": "SQLTransform", "name": "raw", "sql": "SELECT '1' AS id, 'Ann' AS name, 'secret' AS ssn", "outputView": "raw"}"#;
    let typed = r#"{"type": "TypingTransform", "name": "typed", "inputView": "raw", "outputView": "typed", "schema": [
      {"name": "id", "type": "integer", "nullable": false, "metadata": {"private": false, "rank": 1}},
      {"name": "name", "type": "string", "nullable": true, "metadata": {"private": false, "rank": 2}},
      {"name": "ssn", "type": "string", "nullable": true, "metadata": {"private": true}}
    ]}"#;
    let extract = r#"{"type": "MetadataExtract", "name": "meta", "inputView": "typed", "outputView": "meta"}"#;
    let log = r#"{"type": "LogExecute", "name": "log", "sql": "SELECT TO_JSON(COLLECT_LIST(NAMED_STRUCT('n', name, 't', type, 'p', metadata.private, 'r', metadata.rank, 'nl', nullable))) FROM meta WHERE name != '_errors'"}"#;
    let filter = r#"{"type": "MetadataFilterTransform", "name": "filter", "inputView": "typed", "outputView": "public", "sql": "SELECT name FROM metadata WHERE metadata.private = ${private}", "sqlParams": {"private": "false"}}"#;
    let columns = r#"{"type": "LogExecute", "name": "columns", "sql": "SELECT TO_JSON(NAMED_STRUCT('rows', COUNT(*), 'name', FIRST(name))) FROM public"}"#;
    let validate = r#"{"type": "MetadataValidate", "name": "validate", "inputView": "typed", "sql": "SELECT SUM(CASE WHEN metadata.private THEN 1 ELSE 0 END) = 1, 'one private column' FROM metadata"}"#;
    let run = s.run_job("meta.json", &job(&[raw, typed, extract, log, filter, columns, validate]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        logged(&run, "log"),
        serde_json::json!([
            {"n": "id", "t": "integer", "p": false, "r": 1, "nl": false},
            {"n": "name", "t": "string", "p": false, "r": 2, "nl": true},
            {"n": "ssn", "t": "string", "p": true, "nl": true}
        ])
    );
    assert_eq!(run.exit_stage("filter")["includedColumns"], serde_json::json!(["id", "name"]));
    assert_eq!(run.exit_stage("filter")["excludedColumns"], serde_json::json!(["ssn", "_errors"]));
    assert_eq!(logged(&run, "columns"), serde_json::json!({"rows": 1, "name": "Ann"}));
    assert_eq!(logged(&run, "validate"), "one private column");

    let failing = validate.replace("= 1, 'one", "= 2, 'two");
    let run = s.run_job("fail.json", &job(&[raw, typed, &failing]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("MetadataValidate failed with message: 'two private column'."), "{}", run.stderr);
    let shape = validate.replace("SUM(CASE WHEN metadata.private THEN 1 ELSE 0 END) = 1, 'one private column'", "name");
    let run = s.run_job("shape.json", &job(&[raw, typed, &shape]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("MetadataValidate requires query to return 1 row with [outcome: boolean, message: string] signature. Query returned 4 rows of type [string]."),
        "{}",
        run.stderr
    );
    let no_name = filter.replace("SELECT name FROM", "SELECT type FROM");
    let run = s.run_job("no-name.json", &job(&[raw, typed, &no_name]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("result does not contain field 'name' so cannot be filtered"), "{}", run.stderr);
    let run = s.run_job(
        "missing.json",
        &job(&[r#"{"type": "MetadataFilterTransform", "name": "f", "outputView": "x", "sql": "SELECT 1"}"#]),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Missing required attribute 'inputView'."), "{}", run.stderr);
}

#[test]
fn console_load_prints_the_view_as_spark_show() {
    let s = Scratch::new();
    let console = r#"{"type": "ConsoleLoad", "name": "console", "inputView": "a"}"#;
    let run = s.run_job("console.json", &job(&[console]));
    assert_eq!(run.code, 0, "{}", run.all());
    let table = "+---+----+\n| id|name|\n+---+----+\n|  1|   x|\n|  2|null|\n|  2|null|\n+---+----+\n";
    assert!(
        run.stdout.contains(&format!("Batch: 0\n-------------------------------------------\n{table}")),
        "{}",
        run.stdout
    );
    assert_eq!(run.exit_stage("console")["shownRows"], 3);
    let bad = r#"{"type": "ConsoleLoad", "name": "console", "inputView": "a", "outputMode": "Sometimes"}"#;
    let run = s.run_job("bad.json", &job(&[bad]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("Invalid value 'Sometimes'. Expected one of: ['Append', 'Complete', 'Update']."),
        "{}",
        run.stderr
    );
}

#[test]
fn metadata_transform_replaces_column_metadata_by_name_and_schema_view_feeds_typing() {
    let s = Scratch::new();
    let raw = r#"{"type": "SQLTransform", "name": "raw", "sql": "SELECT '7' AS id, 'Ann' AS name, 'x' AS extra", "outputView": "raw"}"#;
    // A schema held in a view, one field object per row, as Arc reads `schemaView`.
    let schema = r#"{"type": "SQLTransform", "name": "schema", "outputView": "schema", "sql": "SELECT * FROM VALUES ('id', 'integer', false, NAMED_STRUCT('private', false, 'rank', 1), 'the key'), ('name', 'string', true, NAMED_STRUCT('private', true, 'rank', 2), NULL), ('extra', 'string', true, NAMED_STRUCT('private', false, 'rank', 3), NULL) AS t(name, type, nullable, metadata, description)"}"#;
    let typed = r#"{"type": "TypingTransform", "name": "typed", "inputView": "raw", "outputView": "typed", "schemaView": "schema"}"#;
    let retag = r#"{"type": "MetadataTransform", "name": "retag", "inputView": "typed", "outputView": "retagged", "schema": [
      {"name": "id", "type": "integer", "nullable": true, "metadata": {"owner": "hr"}},
      {"name": "absent", "type": "string", "nullable": true}
    ]}"#;
    let meta = |view: &str| {
        format!(
            r#"{{"type": "LogExecute", "name": "log-{view}", "sql": "SELECT TO_JSON(COLLECT_LIST(NAMED_STRUCT('n', name, 't', type, 'm', metadata))) FROM meta_{view} WHERE name != '_errors'"}}"#
        )
    };
    let extract = |view: &str| {
        format!(
            r#"{{"type": "MetadataExtract", "name": "meta-{view}", "inputView": "{view}", "outputView": "meta_{view}"}}"#
        )
    };
    let values = r#"{"type": "LogExecute", "name": "values", "sql": "SELECT TO_JSON(NAMED_STRUCT('id', id, 'name', name, 'n', COUNT(*) OVER ())) FROM retagged"}"#;
    let (et, mt, er, mr) = (extract("typed"), meta("typed"), extract("retagged"), meta("retagged"));
    let run = s.run_job("meta.json", &job(&[raw, schema, typed, retag, &et, &mt, &er, &mr, values]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("typed")["schemaView"], "schema");
    // TypingTransform typed with the view's schema: Arc's metadata (user keys, description,
    // nullable, internal: false) on each column.
    let typed_meta = logged(&run, "log-typed");
    let expected = serde_json::json!([
        {"n": "extra", "t": "string", "m": {"internal": false, "nullable": true, "private": false, "rank": 3}},
        {"n": "id", "t": "integer", "m": {"description": "the key", "internal": false, "nullable": false, "private": false, "rank": 1}},
        {"n": "name", "t": "string", "m": {"internal": false, "nullable": true, "private": true, "rank": 2}}
    ]);
    assert_eq!(without_nulls(&typed_meta), expected, "{typed_meta}");
    // MetadataTransform replaced id's metadata (rank, private and description gone), left the
    // other columns as they were, and ignored the schema's field with no column (permissive).
    let retagged = without_nulls(&logged(&run, "log-retagged"));
    assert_eq!(
        retagged[1],
        serde_json::json!({"n": "id", "t": "integer", "m": {"internal": false, "nullable": true, "owner": "hr"}})
    );
    assert_eq!(retagged[0], expected[0]);
    assert_eq!(retagged[2], expected[2]);
    assert_eq!(logged(&run, "values"), serde_json::json!({"id": 7, "name": "Ann", "n": 1}), "values unchanged");

    // failfast: the schema's names must be the view's, in Arc's words.
    let failfast = r#"{"type": "MetadataTransform", "name": "strict", "inputView": "raw", "outputView": "x", "schemaView": "schema", "failMode": "failfast"}"#;
    let run = s.run_job("ok.json", &job(&[raw, schema, failfast]));
    assert_eq!(run.code, 0, "same names pass: {}", run.all());
    let fewer =
        r#"{"type": "SQLTransform", "name": "fewer", "sql": "SELECT id, name FROM raw", "outputView": "fewer"}"#;
    let failfast = failfast.replace(r#""inputView": "raw""#, r#""inputView": "fewer""#);
    let run = s.run_job("strict.json", &job(&[raw, schema, fewer, &failfast]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("MetadataTransform with failMode = 'failfast' ensures that the schemaView 'schema' has the same columns as inputView 'fewer' but schemaView 'schema' has columns: ['extra', 'id', 'name'] and 'fewer' contains columns: ['id', 'name']."),
        "{}",
        run.stderr
    );

    // A schema view that is not a valid Arc schema fails the stage when it runs.
    let bad_schema = r#"{"type": "SQLTransform", "name": "schema", "outputView": "schema", "sql": "SELECT 'id' AS name, 'integr' AS type, true AS nullable"}"#;
    let run = s.run_job("bad-view.json", &job(&[raw, bad_schema, typed]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Schema view 'schema' to cannot be parsed as it has errors:"), "{}", run.stderr);

    for (stage, message) in [
        (
            r#"{"type": "MetadataTransform", "name": "m", "inputView": "raw", "outputView": "x"}"#,
            "One of ['schema', 'schemaURI', 'schemaView'] must be set.",
        ),
        (
            r#"{"type": "MetadataTransform", "name": "m", "inputView": "raw", "outputView": "x", "schemaView": "s", "schemaURI": "s.json"}"#,
            "Only one attribute of '['schema', 'schemaURI', 'schemaView'] is allowed.",
        ),
        (
            r#"{"type": "MetadataTransform", "name": "m", "inputView": "raw", "outputView": "x", "schemaView": "s", "failMode": "strict"}"#,
            "Invalid value 'strict'. Expected one of: ['permissive', 'failfast'].",
        ),
        (
            r#"{"type": "MetadataTransform", "name": "m", "outputView": "x", "schemaView": "s"}"#,
            "Missing required attribute 'inputView'.",
        ),
    ] {
        let run = s.run_job("config.json", &job(&[raw, stage]));
        assert_eq!(run.code, 1, "{}", run.all());
        assert!(run.stderr.contains(message), "{message}\n{}", run.stderr);
    }
}

/// `v` with every NULL object member left out (the metadata struct has every key of the view)
/// and a list of columns sorted by name (`n`).
fn without_nulls(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(o) => {
            o.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect()
        }
        serde_json::Value::Array(a) => {
            let mut items: Vec<serde_json::Value> = a.iter().map(without_nulls).collect();
            items.sort_by_key(|item| item["n"].as_str().unwrap_or_default().to_string());
            serde_json::Value::Array(items)
        }
        other => other.clone(),
    }
}

#[test]
fn equality_validate_compares_spark_types_not_arrow_zone_names() {
    let s = Scratch::new();
    // A typed UTC timestamp and a TIMESTAMP literal are both Spark `timestamp` columns.
    let raw = r#"{"type": "SQLTransform", "name": "raw", "sql": "SELECT '2024-01-02 03:04:05' AS ts, 'a' AS s", "outputView": "raw"}"#;
    let typed = r#"{"type": "TypingTransform", "name": "typed", "inputView": "raw", "outputView": "typed", "schema": [
      {"name": "ts", "type": "timestamp", "nullable": true, "formatters": ["uuuu-MM-dd HH:mm:ss"], "timezoneId": "UTC"},
      {"name": "s", "type": "string", "nullable": true}
    ]}"#;
    let literal = r#"{"type": "SQLTransform", "name": "literal", "sql": "SELECT TIMESTAMP '2024-01-02 03:04:05' AS ts, 'a' AS s", "outputView": "literal"}"#;
    let equal = r#"{"type": "EqualityValidate", "name": "same", "leftView": "typed", "rightView": "literal"}"#;
    let run = s.run_job("ts.json", &job(&[raw, typed, literal, equal]));
    assert_eq!(run.code, 0, "{}", run.all());
    let later = literal.replace("03:04:05", "03:04:06");
    let run = s.run_job("later.json", &job(&[raw, typed, &later, equal]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("'typed' (1 rows) contains 1 rows that are not in 'literal'"), "{}", run.stderr);
}

/// People on both sides of a SimilarityJoinTransform.
const PEOPLE: [&str; 2] = [
    r#"{"type": "SQLTransform", "name": "left", "outputView": "customers", "sql": "SELECT * FROM VALUES (1, 'Jonathan Smith', 'Sydney'), (2, 'Mary Jones', NULL), (3, 'Peter Parker', 'New York') AS t(id, name, city)"}"#,
    r#"{"type": "SQLTransform", "name": "right", "outputView": "orders", "sql": "SELECT * FROM VALUES (10, 'jonathan smith', 'sydney'), (11, 'Jonathon Smith', 'Sydney'), (12, 'Bruce Wayne', 'Gotham'), (13, 'Mary Jane', NULL), (14, NULL, NULL) AS t(rid, person, town)"}"#,
];

fn similarity_job(options: &str) -> String {
    let join = format!(
        r#"{{"type": "SimilarityJoinTransform", "name": "fuzzy", "leftView": "customers", "leftFields": ["name", "city"], "rightView": "orders", "rightFields": ["person", "town"], "outputView": "matched"{options}}}"#
    );
    let log = r#"{"type": "LogExecute", "name": "pairs", "sql": "SELECT TO_JSON(COLLECT_LIST(NAMED_STRUCT('id', id, 'name', name, 'rid', rid, 'town', town, 'similarity', ROUND(similarity, 6)))) FROM (SELECT * FROM matched ORDER BY id, rid)"}"#;
    job(&[PEOPLE[0], PEOPLE[1], &join, log])
}

#[test]
fn similarity_join_finds_pairs_above_the_threshold_on_character_shingles() {
    let s = Scratch::new();
    let run = s.run_job("default.json", &similarity_job(""));
    assert_eq!(run.code, 0, "{}", run.all());
    // Jaccard similarity of the 3-character shingles of "name city", lower-cased.
    assert_eq!(
        run.exit_stage("pairs")["message"],
        serde_json::json!([
            {"id": 1, "name": "Jonathan Smith", "rid": 10, "town": "sydney", "similarity": 1.0},
            {"id": 1, "name": "Jonathan Smith", "rid": 11, "town": "Sydney", "similarity": 0.842105}
        ])
    );
    let exit = run.exit_stage("fuzzy");
    assert_eq!((exit["shingleLength"].clone(), exit["numHashTables"].clone()), (3.into(), 5.into()));
    assert_eq!(exit["threshold"], 0.8);

    let run = s.run_job("lower.json", &similarity_job(r#", "threshold": 0.3"#));
    assert_eq!(run.code, 0, "{}", run.all());
    let pairs: Vec<(i64, i64)> = run.exit_stage("pairs")["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["rid"].as_i64().unwrap()))
        .collect();
    assert_eq!(pairs, [(1, 10), (1, 11), (2, 13)], "a NULL-only row has no shingles and never matches");

    let run = s.run_job("case.json", &similarity_job(r#", "caseSensitive": true, "threshold": 0.7"#));
    assert_eq!(run.code, 0, "{}", run.all());
    let message = run.exit_stage("pairs")["message"].clone();
    assert_eq!(message.as_array().unwrap().len(), 1, "{message}");
    assert_eq!(message[0]["rid"], 11, "'jonathan smith sydney' differs in case (0.63): {message}");
}

#[test]
fn similarity_join_errors() {
    let s = Scratch::new();
    let missing = r#"{"type": "SimilarityJoinTransform", "name": "fuzzy", "leftView": "customers", "rightView": "orders", "rightFields": [], "outputView": "m", "threshold": 2}"#;
    let run = s.run_job("missing.json", &job(&[PEOPLE[0], PEOPLE[1], missing]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Missing required attribute 'leftFields'."), "{}", run.stderr);
    assert!(run.stderr.contains("'rightFields' must name at least one column."), "{}", run.stderr);
    assert!(run.stderr.contains("'threshold' must be between 0.0 and 1.0 but is 2"), "{}", run.stderr);

    let same = r#"{"type": "SimilarityJoinTransform", "name": "fuzzy", "leftView": "customers", "leftFields": ["name"], "rightView": "customers", "rightFields": ["nme"], "outputView": "m"}"#;
    let run = s.run_job("same.json", &job(&[PEOPLE[0], same]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("view 'customers' has no column 'nme'"), "{}", run.stderr);
    let same = same.replace("nme", "name");
    let run = s.run_job("same.json", &job(&[PEOPLE[0], &same]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("column 'id' is in both 'customers' and 'customers'"), "{}", run.stderr);
}

#[test]
fn struct_star_packs_the_from_clauses_columns() {
    let s = Scratch::new();
    let v = r#"{"type": "SQLTransform", "name": "v", "outputView": "v", "sql": "SELECT * FROM VALUES (1, 'a'), (2, NULL) AS t(id, name)"}"#;
    let run = s.run_job(
        "job.json",
        &job(&[
            v,
            r#"{"type": "LogExecute", "name": "all", "sql": "SELECT TO_JSON(ARRAY_SORT(COLLECT_LIST(TO_JSON(STRUCT(*))))) FROM v"}"#,
            r#"{"type": "LogExecute", "name": "qualified", "sql": "SELECT TO_JSON(STRUCT(b.*)) FROM v a JOIN v AS b ON a.id = b.id WHERE a.id = 1"}"#,
            r#"{"type": "LogExecute", "name": "nested", "sql": "WITH w AS (SELECT id FROM v) SELECT TO_JSON(COLLECT_LIST(s)) FROM (SELECT struct(*) AS s FROM w WHERE id = 2)"}"#,
        ]),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("all")["message"], serde_json::json!([r#"{"id":1,"name":"a"}"#, r#"{"id":2}"#]));
    assert_eq!(run.exit_stage("qualified")["message"], serde_json::json!({"id": 1, "name": "a"}));
    assert_eq!(run.exit_stage("nested")["message"], serde_json::json!([{"id": 2}]));
}
