//! Differential test with Spark as the oracle.
//!
//! `scripts/spark-goldens.sh` runs a corpus of queries in Apache Spark (Spark's own documented
//! function examples plus the edge cases in `tests/spark/edge/`) and stores Spark's results in
//! `tests/spark/goldens/<group>.jsonl`. This test runs every query in Weir's SQL layer and
//! compares types and rows (floats within 1e-9 relative). The test fails on any query whose
//! rows differ from Spark's with no error; queries that fail in Weir ("not supported yet" or
//! another error) and results whose rows match but whose types differ are counted in the
//! report, by group, with every such query listed.
//!
//! A report goes to `target/spark-differential.md` (counts by group, every query that is not
//! identical, and the functions not supported yet). Set `WEIR_SPARK_DIFF_GROUP=math` to run one
//! group.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, FixedSizeListArray, LargeListArray, ListArray, MapArray, StructArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, DurationMicrosecondType, Field, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, IntervalUnit, TimeUnit,
};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::{Value, json};
use weir_engine::events::EventLog;
use weir_engine::session::{Session, Settings};
use weir_engine::storage::Storage;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What became of one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Identical,
    NotSupported,
    /// Spark rejects the query; Weir's answer is not compared.
    SparkError,
    /// Rows as Spark's, column types not.
    TypeDiffers,
    /// A different answer with no error: the worst case.
    Differs,
    /// Weir fails with something other than "not supported yet" (or fails while running).
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Identical => "identical",
            Outcome::NotSupported => "not supported",
            Outcome::SparkError => "Spark error",
            Outcome::TypeDiffers => "type differs",
            Outcome::Differs => "DIFFERS",
            Outcome::Error => "error",
        }
    }
    /// What the suite forbids: anything but Spark's answer or a plan-time "not supported yet" (a
    /// different answer, other column types, or a failure of another kind or while running).
    fn is_forbidden(self) -> bool {
        matches!(self, Outcome::Differs | Outcome::TypeDiffers | Outcome::Error)
    }
}

struct Case {
    id: String,
    group: String,
    function: String,
    sql: String,
    golden: Value,
}

fn load_cases(only: Option<&str>) -> Vec<Case> {
    let dir = repo_root().join("tests/spark/goldens");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/spark-goldens.sh)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let golden: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), n + 1));
            let field = |k: &str| golden[k].as_str().unwrap_or_default().to_string();
            let case =
                Case { id: field("id"), group: field("group"), function: field("function"), sql: field("sql"), golden };
            if only.is_none_or(|g| g == case.group) {
                cases.push(case);
            }
        }
    }
    cases
}

/// Spark's `simpleString` of a column's type (a zoned timestamp is Spark's `timestamp`, i.e.
/// TIMESTAMP_LTZ; a zone-less one is `timestamp_ntz`; intervals by their subtype).
fn spark_type(f: &Field) -> String {
    weir_engine::sql::types::spark_field_type_name(f).unwrap_or_else(|| format!("arrow:{}", f.data_type()))
}

fn float(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v.is_infinite() {
        json!(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(v)
    }
}

fn timestamp_text(value: i64, unit: &TimeUnit) -> String {
    let nanos: i128 = match unit {
        TimeUnit::Second => value as i128 * 1_000_000_000,
        TimeUnit::Millisecond => value as i128 * 1_000_000,
        TimeUnit::Microsecond => value as i128 * 1_000,
        TimeUnit::Nanosecond => value as i128,
    };
    let secs = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, sub) {
        Some(t) if sub % 1000 == 0 => t.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.9f").to_string(),
        None => format!("out of range: {value}"),
    }
}

/// One cell in the goldens' encoding (see scripts/spark_goldens.py).
fn encode(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => json!(array.as_any().downcast_ref::<BooleanArray>().map(|a| a.value(row))),
        DataType::Int8 => json!(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => json!(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => json!(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => json!(array.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => float(array.as_primitive::<Float32Type>().value(row) as f64),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, _) => {
            let a = array.as_any().downcast_ref::<Decimal128Array>().expect("decimal");
            json!(a.value_as_string(row))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let a = cast(array, &DataType::Utf8).expect("string");
            json!(a.as_string::<i32>().value(row))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            let a = cast(array, &DataType::Binary).expect("binary");
            let hex: String = a.as_binary::<i32>().value(row).iter().map(|b| format!("{b:02x}")).collect();
            json!({"binary": hex})
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            let date = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(days as i64)));
            json!({"date": date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()})
        }
        DataType::Timestamp(unit, zone) => {
            let a = cast(array, &DataType::Int64).expect("timestamp");
            let key = if zone.is_some() { "timestamp" } else { "timestamp_ntz" };
            json!({key: timestamp_text(a.as_primitive::<Int64Type>().value(row), unit)})
        }
        DataType::Duration(_) => {
            let a = cast(array, &DataType::Duration(TimeUnit::Microsecond)).expect("duration");
            json!({"interval_us": a.as_primitive::<DurationMicrosecondType>().value(row)})
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            json!({"interval_months": array.as_primitive::<datafusion::arrow::datatypes::IntervalYearMonthType>().value(row)})
        }
        DataType::List(_) => list(array.as_any().downcast_ref::<ListArray>().expect("list").value(row).as_ref()),
        DataType::LargeList(_) => {
            list(array.as_any().downcast_ref::<LargeListArray>().expect("list").value(row).as_ref())
        }
        DataType::FixedSizeList(_, _) => {
            list(array.as_any().downcast_ref::<FixedSizeListArray>().expect("list").value(row).as_ref())
        }
        DataType::Map(_, _) => {
            let entries = array.as_any().downcast_ref::<MapArray>().expect("map").value(row);
            let pairs: Vec<Value> = (0..entries.len())
                .map(|i| json!([encode(entries.column(0).as_ref(), i), encode(entries.column(1).as_ref(), i)]))
                .collect();
            json!({"map": pairs})
        }
        DataType::Struct(fields) => {
            let s = array.as_any().downcast_ref::<StructArray>().expect("struct");
            let pairs: Vec<Value> =
                fields.iter().zip(s.columns()).map(|(f, c)| json!([f.name(), encode(c.as_ref(), row)])).collect();
            json!({"struct": pairs})
        }
        DataType::Dictionary(_, v) => {
            let a = cast(array, v).expect("dictionary");
            encode(a.as_ref(), row)
        }
        other => json!({"unsupported": other.to_string()}),
    }
}

fn list(values: &dyn Array) -> Value {
    Value::Array((0..values.len()).map(|i| encode(values, i)).collect())
}

/// Equal as the goldens' values go: numbers within 1e-9 relative.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn same_rows(spark: &[Value], weir: &[Value], ordered: bool) -> bool {
    if spark.len() != weir.len() {
        return false;
    }
    if ordered {
        return spark.iter().zip(weir).all(|(a, b)| same(a, b));
    }
    let mut a: Vec<String> = spark.iter().map(Value::to_string).collect();
    let mut b: Vec<String> = weir.iter().map(Value::to_string).collect();
    a.sort();
    b.sort();
    // Sorting by text puts rows equal within tolerance side by side unless floats differ in
    // their leading digits, which is then a real difference.
    a.iter().zip(&b).all(|(x, y)| {
        same(&serde_json::from_str(x).unwrap_or(Value::Null), &serde_json::from_str(y).unwrap_or(Value::Null))
    })
}

struct Result {
    outcome: Outcome,
    detail: String,
}

async fn run_case(session: &Session, case: &Case) -> Result {
    let golden = &case.golden;
    let planned = session.sql(&case.sql).await;
    if golden["ok"] != json!(true) {
        let weir = match &planned {
            Ok(_) => "Weir plans it".to_string(),
            Err(e) => format!("Weir: {}", first_line(&e.to_string())),
        };
        return Result { outcome: Outcome::SparkError, detail: format!("Spark: {}; {weir}", golden["error"]) };
    }
    let df = match planned {
        Ok(df) => df,
        Err(e) => {
            let message = first_line(&e.to_string());
            let outcome = if message.contains("not supported yet") { Outcome::NotSupported } else { Outcome::Error };
            return Result { outcome, detail: message };
        }
    };
    let types: Vec<String> = df.schema().fields().iter().map(|f| spark_type(f)).collect();
    let batches: Vec<RecordBatch> = match df.collect().await {
        Ok(b) => b,
        Err(e) => {
            return Result { outcome: Outcome::Error, detail: format!("at run time: {}", first_line(&e.to_string())) };
        }
    };
    let spark_types: Vec<String> = golden["columns"]
        .as_array()
        .map(|c| c.iter().map(|c| c["type"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for batch in &batches {
        for r in 0..batch.num_rows() {
            rows.push(Value::Array(batch.columns().iter().map(|c| encode(c.as_ref(), r)).collect()));
        }
    }
    let spark_rows: Vec<Value> = golden["rows"].as_array().cloned().unwrap_or_default();
    let deterministic = golden["deterministic"] != json!(false);
    let ordered = golden["ordered"] == json!(true);
    let rows_match = !deterministic && rows.len() == spark_rows.len() || same_rows(&spark_rows, &rows, ordered);
    let show = |v: &[Value]| {
        let text = serde_json::to_string(v).unwrap_or_default();
        if text.len() > 300 { format!("{}…", &text[..text.floor_char_boundary(300)]) } else { text }
    };
    if !rows_match {
        return Result {
            outcome: Outcome::Differs,
            detail: format!("Spark {} {:?}; Weir {} {:?}", show(&spark_rows), spark_types, show(&rows), types),
        };
    }
    if types != spark_types {
        return Result { outcome: Outcome::TypeDiffers, detail: format!("Spark {spark_types:?}; Weir {types:?}") };
    }
    Result { outcome: Outcome::Identical, detail: String::new() }
}

/// An error message on one line (its causes joined with ` | `), at most 400 characters.
fn first_line(text: &str) -> String {
    let joined =
        text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "caused by").collect::<Vec<_>>().join(" | ");
    let line = joined.as_str();
    if line.len() > 4000 { format!("{}…", &line[..line.floor_char_boundary(4000)]) } else { line.to_string() }
}

fn session() -> Session {
    Session::new(Storage::new(Default::default()), Settings::default(), EventLog::new("weir", Default::default()))
}

/// Groups whose documented examples must reach 95 % identical (issue 10).
const SCORED_GROUPS: &[&str] =
    &["string", "datetime", "math", "json", "array", "map", "agg", "conditional", "hash", "conversion"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_differential() {
    let only = std::env::var("WEIR_SPARK_DIFF_GROUP").ok();
    let cases = load_cases(only.as_deref());
    assert!(!cases.is_empty(), "no golden queries found under tests/spark/goldens");
    let mut results = Vec::with_capacity(cases.len());
    for case in &cases {
        // Each query gets a fresh session so settings and views never leak between cases.
        let session = session();
        let result = tokio::time::timeout(std::time::Duration::from_secs(60), run_case(&session, case))
            .await
            .unwrap_or(Result { outcome: Outcome::Error, detail: "did not finish in 60 s".into() });
        results.push(result);
    }

    // Counts by group and source.
    let mut by_group: BTreeMap<(String, String), BTreeMap<Outcome, usize>> = BTreeMap::new();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for (case, result) in cases.iter().zip(&results) {
        let source = case.golden["source"].as_str().unwrap_or_default().to_string();
        *by_group.entry((case.group.clone(), source)).or_default().entry(result.outcome).or_default() += 1;
        if result.outcome == Outcome::NotSupported {
            *unsupported.entry(case.function.clone()).or_default() += 1;
        }
    }
    let outcomes = [
        Outcome::Identical,
        Outcome::NotSupported,
        Outcome::TypeDiffers,
        Outcome::Differs,
        Outcome::Error,
        Outcome::SparkError,
    ];
    let mut report = String::from("# Spark differential report\n\n| group | source | comparable |");
    for o in outcomes {
        let _ = write!(report, " {} |", o.label());
    }
    report.push_str(" identical % |\n|---|---|---|");
    report.push_str(&"---|".repeat(outcomes.len() + 1));
    report.push('\n');
    let (mut scored_total, mut scored_identical) = (0usize, 0usize);
    for ((group, source), counts) in &by_group {
        let get = |o: Outcome| counts.get(&o).copied().unwrap_or(0);
        let comparable: usize = counts.iter().filter(|(o, _)| **o != Outcome::SparkError).map(|(_, n)| n).sum();
        let _ = write!(report, "| {group} | {source} | {comparable} |");
        for o in outcomes {
            let _ = write!(report, " {} |", get(o));
        }
        let pct = if comparable == 0 { 100.0 } else { 100.0 * get(Outcome::Identical) as f64 / comparable as f64 };
        let _ = writeln!(report, " {pct:.1} |");
        if source == "spark-doc" && SCORED_GROUPS.contains(&group.as_str()) {
            scored_total += comparable;
            scored_identical += get(Outcome::Identical);
        }
    }
    let scored_pct = if scored_total == 0 { 0.0 } else { 100.0 * scored_identical as f64 / scored_total as f64 };
    let _ = writeln!(
        report,
        "\nDocumented examples of the scored groups ({}): {scored_identical} of {scored_total} identical ({scored_pct:.1} %).",
        SCORED_GROUPS.join(", ")
    );
    let _ = writeln!(report, "\n## Functions not supported yet\n");
    for (function, n) in &unsupported {
        let _ = writeln!(report, "- `{function}` ({n})");
    }
    let _ = writeln!(report, "\n## Queries not identical\n");
    for (case, result) in cases.iter().zip(&results) {
        if result.outcome != Outcome::Identical {
            let _ = writeln!(
                report,
                "- **{}** `{}` `{}` — {}",
                result.outcome.label(),
                case.id,
                case.sql.replace('\n', " "),
                result.detail
            );
        }
    }
    let out = repo_root().join("target/spark-differential.md");
    let _ = std::fs::create_dir_all(out.parent().expect("target"));
    std::fs::write(&out, &report).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    println!("{}", report.split("\n## ").next().unwrap_or_default());
    println!("report: {}", out.display());

    let failures: Vec<String> = cases
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.outcome.is_forbidden())
        .map(|(c, r)| format!("{} [{}] {}: {}", c.id, r.outcome.label(), c.sql.replace('\n', " "), r.detail))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} queries neither give Spark's answer nor fail at plan time with \"not supported yet\":\n{}",
        failures.len(),
        cases.len(),
        failures.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}
