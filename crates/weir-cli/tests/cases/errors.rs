//! Bad input gets one clear error, exit code 1, and nothing runs.

use super::Scratch;

#[test]
fn malformed_hocon_names_line_and_column() {
    let s = Scratch::new();
    let run = s.run_job("bad.conf", "{\n  stages = [\n    { type = SQLTransform, name = \"x\" \n  ]\n}\n");
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("bad.conf: line 4, column"), "{}", run.stderr);
}

#[test]
fn a_job_without_stages_names_the_keys_it_has() {
    let s = Scratch::new();
    let run = s.run_job("nostages.conf", "{\n  a { stage = [] }\n  name = \"x\"\n}\n");
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("Key 'stages' missing from job configuration. Have keys: [a.stage, name]."),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_stage_type_lists_the_available_ones() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [{"type": "SQLTransfrom", "name": "typo", "environments": ["test"], "sql": "SELECT 1", "outputView": "x"}]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Stage: 0 'typo'"), "{}", run.stderr);
    assert!(run.stderr.contains("No plugins found with name SQLTransfrom"), "{}", run.stderr);
    assert!(run.stderr.contains("Perhaps you meant 'SQLTransform'"), "{}", run.stderr);
    assert!(run.stderr.contains("DeltaLakeMergeLoad"), "available types listed: {}", run.stderr);
}

#[test]
fn unsupported_stage_type_says_so() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [{"type": "MLTransform", "name": "db", "environments": ["test"], "inputView": "x", "inputURI": "m", "outputView": "y"}]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("'MLTransform' is not supported yet"), "{}", run.stderr);
}

#[test]
fn misspelt_attribute_suggests_the_right_one_and_all_errors_are_reported() {
    let s = Scratch::new();
    let job = r#"{
  "stages": [
    {
      "type": "SQLTransform",
      "name": "first",
      "environments": ["test"],
      "sql": "SELECT 1 AS x",
      "outputVew": "x"
    },
    {
      "type": "DelimitedExtract",
      "name": "second",
      "environments": ["test"],
      "outputView": "y"
    }
  ]
}"#;
    let run = s.run_job("job.json", job);
    assert_eq!(run.code, 1, "{}", run.all());
    let err = &run.stderr;
    assert!(err.contains("Stage: 0 'first' (starting on line 3)"), "{err}");
    assert!(
        err.contains("outputVew (Line 8): Invalid attribute 'outputVew'. Perhaps you meant one of: ['outputView']."),
        "{err}"
    );
    assert!(err.contains("outputView: Missing required attribute 'outputView'."), "{err}");
    assert!(err.contains("Stage: 1 'second'"), "both stages reported: {err}");
    // The final event carries the same errors, as Arc logs them.
    let exit = run.events().into_iter().last().expect("exit event");
    assert_eq!(exit["status"], "failure");
    assert_eq!(exit["reason"][0]["stageIndex"], 0);
    assert_eq!(exit["reason"][0]["lineNumber"], 3);
}

#[test]
fn unresolved_variable_is_named() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.conf",
        "stages = [{ type = SQLTransform, name = x, environments = [test], sql = \"SELECT 1\", outputView = ${NOT_SET_ANYWHERE} }]",
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("NOT_SET_ANYWHERE"), "{}", run.stderr);
}

#[test]
fn missing_input_file_names_the_uri() {
    let s = Scratch::new();
    let missing = s.path().join("nowhere/*.csv");
    let job = format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{}", "outputView": "raw"}},
          {{"type": "SQLValidate", "name": "check", "environments": ["test"], "sql": "SELECT COUNT(*) > 0, 'x' FROM raw"}}
        ]}}"#,
        missing.display()
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains(&missing.display().to_string()), "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
fn sql_that_does_not_parse_fails_validation_with_the_stage() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "broken sql", "environments": ["test"], "sql": "SELEC 1 FROM", "outputView": "x"}]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Stage: 0 'broken sql'"), "{}", run.stderr);
    assert!(run.stderr.contains("sql:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'."),
        "Spark's words: {}",
        run.stderr
    );
}

#[test]
fn duplicate_stage_ids_and_a_custom_delimiter_without_its_character_are_config_errors() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [
          {"type": "SQLTransform", "id": "same", "name": "one", "environments": ["test"], "sql": "SELECT 1", "outputView": "a"},
          {"type": "SQLTransform", "id": "same", "name": "two", "environments": ["test"], "sql": "SELECT 2", "outputView": "b"},
          {"type": "SQLTransform", "id": "same", "name": "elsewhere", "environments": ["production"], "sql": "SELECT 3", "outputView": "c"},
          {"type": "DelimitedExtract", "name": "csv", "environments": ["test"], "inputURI": "x.csv", "outputView": "d", "delimiter": "Custom"}
        ]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("Stage: 1 'two'"), "{}", run.stderr);
    assert!(run.stderr.contains("duplicate stage id 'same' found within job"), "{}", run.stderr);
    assert!(!run.stderr.contains("'elsewhere'"), "stages of other environments do not count: {}", run.stderr);
    assert!(run.stderr.contains("Missing required attribute 'customDelimiter'."), "{}", run.stderr);
}

#[test]
fn sql_that_does_not_plan_names_the_stage_and_reason() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [{"type": "SQLTransform", "name": "no such view", "environments": ["test"], "sql": "SELECT * FROM missing_view", "outputView": "x"}]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("stage 0 'no such view' (SQLTransform) failed"), "{}", run.stderr);
    assert!(run.stderr.contains("missing_view"), "{}", run.stderr);
}

#[test]
fn sql_validate_false_reports_its_message() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [{"type": "SQLValidate", "name": "gate", "environments": ["test"], "sql": "SELECT FALSE, 'too few rows: 3'"}]}"#,
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("SQLValidate failed with message: 'too few rows: 3'."), "{}", run.stderr);
}

#[test]
fn typing_failfast_reports_the_row_errors() {
    let s = Scratch::new();
    s.file("data.csv", "1,a\nx,b\n");
    let job = format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{dir}/data.csv", "outputView": "raw"}},
          {{"type": "TypingTransform", "name": "type", "environments": ["test"], "inputView": "raw", "outputView": "typed", "failMode": "failfast",
            "schema": [{{"name": "id", "type": "integer", "nullable": true}}, {{"name": "name", "type": "string", "nullable": true}}]}},
          {{"type": "SQLValidate", "name": "count", "environments": ["test"], "sql": "SELECT COUNT(*) = 2, 'n' FROM typed"}}
        ]}}"#,
        dir = s.path().display()
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("TypingTransform with failMode equal to 'failfast' cannot continue due to row with error(s): [[id,Unable to convert 'x' to integer"),
        "{}",
        run.stderr
    );
}

#[test]
fn stages_outside_the_environment_are_skipped_and_logged() {
    let s = Scratch::new();
    let run = s.run_job(
        "job.json",
        r#"{"stages": [
          {"type": "SQLTransform", "name": "runs", "environments": ["test"], "sql": "SELECT 1 AS x", "outputView": "x"},
          {"type": "SQLTransform", "name": "elsewhere", "environments": ["prod"], "sql": "SELECT * FROM nothing", "outputView": "y"},
          {"type": "SQLTransform", "name": "nowhere", "sql": "SELECT * FROM nothing", "outputView": "z"}
        ]}"#,
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let skipped: Vec<String> = run
        .events()
        .iter()
        .filter(|e| e["skipPlugin"] == true)
        .map(|e| e["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(skipped, ["elsewhere", "nowhere"]);
}
