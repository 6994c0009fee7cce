//! StatisticsExtract on the real binary: Arc's ten statistics per column, its per-type rules,
//! `approximate`, `persist` (statistics in the exit event) and the errors.

use serde_json::{Value, json};

use super::Scratch;

/// Eight rows and one of NULLs: the values 2, 4, 4, 4, 5, 5, 7, 9 (population stddev 2) as
/// int, bigint, date (day of January 2024) and timestamp (noon that day), plus a string and a
/// boolean column.
const SOURCE: &str = r#"{"type": "SQLTransform", "name": "src", "outputView": "src", "sql": "SELECT CAST(v AS INT) AS v, CAST(v AS BIGINT) AS n, s, b, MAKE_DATE(2024, 1, v) AS d, MAKE_TIMESTAMP(2024, 1, v, 12, 0, 0) AS t FROM VALUES (2, 'b', true), (4, 'a', false), (4, 'c', true), (4, 'a', true), (5, 'a', false), (5, 'b', true), (7, 'c', true), (9, 'a', true), (NULL, NULL, NULL) AS x(v, s, b)"}"#;

fn job(stages: &[&str]) -> String {
    let all: Vec<String> =
        [SOURCE].iter().chain(stages).map(|s| s.replacen('{', r#"{"environments": ["test"], "#, 1)).collect();
    format!(r#"{{"stages": [{}]}}"#, all.join(",\n"))
}

/// Logs the statistics view's rows, in the input's column order, as JSON objects.
fn log_rows(view: &str) -> String {
    format!(
        r#"{{"type": "LogExecute", "name": "rows", "sql": "SELECT TO_JSON(COLLECT_LIST(NAMED_STRUCT('column', `column`, 'count', `count`, 'distinct_count', distinct_count, 'null_count', null_count, 'mean', mean, 'stddev', stddev, 'min', `min`, '25%', `25%`, '50%', `50%`, '75%', `75%`, 'max', `max`))) FROM {view}"}}"#
    )
}

/// A statistics row with every column (JSON drops NULL fields, so absent means NULL).
fn row(column: &str, stats: Value) -> Value {
    let mut row = json!({"column": column});
    row.as_object_mut().unwrap().extend(stats.as_object().unwrap().clone());
    row
}

/// The standard deviation's string, checked as a number (it is a double computed in one pass).
fn take_stddev(rows: &mut Value, at: usize) -> f64 {
    let value = rows[at].as_object_mut().unwrap().remove("stddev").expect("a stddev");
    value.as_str().unwrap().parse().unwrap()
}

#[test]
fn statistics_follow_arcs_rules_per_type() {
    let s = Scratch::new();
    let stats = r#"{"type": "StatisticsExtract", "name": "stats", "inputView": "src", "outputView": "stats"}"#;
    let run = s.run_job("job.json", &job(&[stats, &log_rows("stats")]));
    assert_eq!(run.code, 0, "{}", run.all());
    let mut rows = run.exit_stage("rows")["message"].clone();
    assert!((take_stddev(&mut rows, 0) - (32f64 / 7.0).sqrt()).abs() < 1e-12, "sample stddev when approximate");
    assert!((take_stddev(&mut rows, 1) - (32f64 / 7.0).sqrt()).abs() < 1e-12);
    let counts = json!({"count": "8", "null_count": "1"});
    let with = |extra: Value| {
        let mut all = counts.clone();
        all.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        all
    };
    assert_eq!(
        rows,
        json!([
            // Approximate percentiles: the value of rank ⌈p·n⌉.
            row(
                "v",
                with(
                    json!({"distinct_count": "5", "mean": "5.0", "min": "2", "25%": "4", "50%": "4", "75%": "5", "max": "9"})
                )
            ),
            // bigint: mean and percentiles floored.
            row(
                "n",
                with(
                    json!({"distinct_count": "5", "mean": "5", "min": "2", "25%": "4", "50%": "4", "75%": "5", "max": "9"})
                )
            ),
            // Strings: no min or max; mean and percentiles of the values as doubles (NULL here).
            row("s", with(json!({"distinct_count": "3"}))),
            row("b", with(json!({"distinct_count": "2", "min": "false", "max": "true"}))),
            row(
                "d",
                with(
                    json!({"distinct_count": "5", "min": "2024-01-02", "25%": "2024-01-04", "50%": "2024-01-04", "75%": "2024-01-05", "max": "2024-01-09"})
                )
            ),
            row(
                "t",
                with(
                    json!({"distinct_count": "5", "min": "2024-01-02 12:00:00Z", "25%": "2024-01-04 12:00:00Z", "50%": "2024-01-04 12:00:00Z", "75%": "2024-01-05 12:00:00Z", "max": "2024-01-09 12:00:00Z"})
                )
            ),
        ])
    );
    let exit = run.exit_stage("stats");
    assert_eq!(exit["approximate"], true);
    assert!(exit.get("statistics").is_none(), "statistics are logged only when persisted, as Arc");
}

#[test]
fn exact_statistics_and_persisted_statistics_in_the_log() {
    let s = Scratch::new();
    let stats = r#"{"type": "StatisticsExtract", "name": "stats", "inputView": "src", "outputView": "stats", "approximate": false, "persist": true}"#;
    let only = r#"{"type": "SQLTransform", "name": "numbers", "outputView": "numbers", "sql": "SELECT * FROM stats WHERE `column` IN ('v', 'n')"}"#;
    let run = s.run_job("job.json", &job(&[stats, only, &log_rows("numbers")]));
    assert_eq!(run.code, 0, "{}", run.all());
    let counts =
        json!({"count": "8", "null_count": "1", "distinct_count": "5", "min": "2", "max": "9", "stddev": "2.0"});
    let with = |extra: Value| {
        let mut all = counts.clone();
        all.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        all
    };
    // Exact: count(DISTINCT), population stddev, interpolated percentiles (floored for bigint).
    assert_eq!(
        run.exit_stage("rows")["message"],
        json!([
            row("v", with(json!({"mean": "5.0", "25%": "4.0", "50%": "4.5", "75%": "5.5"}))),
            row("n", with(json!({"mean": "5", "25%": "4", "50%": "4", "75%": "5"}))),
        ])
    );
    let exit = run.exit_stage("stats");
    assert_eq!(exit["records"], 6, "one row per column");
    // In the log the values are numbers or booleans when they parse as such, as Arc writes them.
    assert_eq!(
        exit["statistics"]["v"],
        json!({"count": 8, "distinct_count": 5, "null_count": 1, "mean": 5.0, "stddev": 2.0, "min": 2,
               "25%": 4.0, "50%": 4.5, "75%": 5.5, "max": 9})
    );
    assert_eq!(exit["statistics"]["b"]["min"], false);
    assert_eq!(exit["statistics"]["t"]["max"], "2024-01-09 12:00:00Z");
    assert_eq!(exit["statistics"]["s"]["mean"], Value::Null);
}

#[test]
fn statistics_errors() {
    let s = Scratch::new();
    let run =
        s.run_job("missing.json", &job(&[r#"{"type": "StatisticsExtract", "name": "stats", "inputView": "src"}"#]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("outputView"), "{}", run.stderr);

    let nested = r#"{"type": "SQLTransform", "name": "nested", "outputView": "nested", "sql": "SELECT 1 AS id, ARRAY(1, 2) AS tags"}"#;
    let stats = r#"{"type": "StatisticsExtract", "name": "stats", "inputView": "nested", "outputView": "stats"}"#;
    let run = s.run_job("nested.json", &job(&[nested, stats]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("column 'tags' of type array<int>"), "{}", run.stderr);

    let histogram = r#"{"type": "StatisticsExtract", "name": "stats", "inputView": "src", "outputView": "stats", "histogram": true}"#;
    let run = s.run_job("histogram.json", &job(&[histogram]));
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("not supported yet by Weir's StatisticsExtract"), "{}", run.stderr);
}
