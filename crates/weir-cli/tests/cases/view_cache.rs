//! Views read by more than one stage are computed once (kept in local files until their last
//! reader), with the same result as lazy views; views that could differ between reads stay lazy.

use super::{Scratch, weir, written};

/// A job whose typed view is read by a validation, a load and a second validation, and whose
/// `scaled` view is read twice in one query.
fn job(s: &Scratch, out: &str) -> String {
    let input = s.path().join("data/input.csv");
    let output = s.path().join(out);
    format!(
        r#"{{"stages": [
  {{"type": "DelimitedExtract", "name": "input", "environments": ["test"],
    "inputURI": "{input}", "header": false, "outputView": "raw"}},
  {{"type": "SQLTransform", "name": "type", "environments": ["test"], "outputView": "typed",
    "sql": "SELECT CAST(_c0 AS INT) AS id, UPPER(_c1) AS name FROM raw"}},
  {{"type": "SQLValidate", "name": "all typed", "environments": ["test"],
    "sql": "SELECT COUNT(*) = 500 AND COUNT(id) = 500, CAST(COUNT(*) AS STRING) FROM typed"}},
  {{"type": "SQLTransform", "name": "scale", "environments": ["test"], "outputView": "scaled",
    "sql": "SELECT id * 2 AS id, name FROM typed"}},
  {{"type": "SQLTransform", "name": "union", "environments": ["test"], "outputView": "both",
    "sql": "SELECT id, name FROM scaled WHERE id % 4 = 0 UNION ALL SELECT id + 1, name FROM scaled ORDER BY id"}},
  {{"type": "DelimitedLoad", "name": "write", "environments": ["test"], "inputView": "both",
    "outputURI": "{output}", "header": true, "numPartitions": 1, "saveMode": "Overwrite"}},
  {{"type": "SQLValidate", "name": "still 500", "environments": ["test"],
    "sql": "SELECT SUM(id) = 125250, CAST(SUM(id) AS STRING) FROM typed"}}
]}}"#,
        input = input.display(),
        output = output.display(),
    )
}

#[test]
fn views_read_twice_are_computed_once_with_the_same_result() {
    let s = Scratch::new();
    let rows: String = (1..=500).map(|i| format!("{i},name {i}\n")).collect();
    s.file("data/input.csv", &rows);
    let spill = s.path().join("tmp");
    std::fs::create_dir_all(&spill).expect("tmp dir");
    let spill_dir = spill.to_str().expect("utf8");

    let cached = s.file("cached.json", &job(&s, "cached"));
    let run = weir(&["run", cached.to_str().expect("utf8"), "--env", "test"], &[("TMPDIR", spill_dir)], s.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let events = run.events();
    let filled: Vec<_> = events.iter().filter(|e| e["event"] == "viewCache" && e.get("rows").is_some()).collect();
    let names: Vec<_> = filled.iter().map(|e| e["view"].as_str().unwrap_or_default()).collect();
    // typed: the validation, the fill of `scaled`, the last validation; scaled: twice in `both`.
    assert_eq!(names, ["typed", "scaled"], "{}", run.stdout);
    assert!(filled.iter().all(|e| e["rows"] == 500), "{filled:?}");
    let released: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "viewCache" && e.get("released").is_some())
        .map(|e| e["view"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(released, ["scaled"], "typed is read by the last stage, scaled last by the load");
    let left: Vec<_> = walk(&spill);
    assert!(left.is_empty(), "cache files left after the run: {left:?}");

    let lazy = s.file("lazy.json", &job(&s, "lazy"));
    let run = weir(&["run", lazy.to_str().expect("utf8"), "--env", "test"], &[("WEIR_VIEW_CACHE", "false")], s.path());
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains("viewCache"), "WEIR_VIEW_CACHE=false caches nothing: {}", run.stdout);

    let (a, b) = (written(&s, "cached"), written(&s, "lazy"));
    assert_eq!(a.lines().count(), 1 + 250 + 500, "{a}");
    assert!(a == b, "cached and lazy views give different results");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn views_that_could_differ_between_reads_stay_lazy() {
    let s = Scratch::new();
    let rows: String = (1..=20).map(|i| format!("{i},name {i}\n")).collect();
    s.file("data/input.csv", &rows);
    let input = s.path().join("data");
    let job = format!(
        r#"{{"stages": [
  {{"type": "DelimitedExtract", "name": "input", "environments": ["test"],
    "inputURI": "{input}/", "header": false, "outputView": "raw"}},
  {{"type": "SQLTransform", "name": "random", "environments": ["test"], "outputView": "noisy",
    "sql": "SELECT _c0 AS id, RAND() AS r FROM raw"}},
  {{"type": "SQLValidate", "name": "noisy once", "environments": ["test"], "sql": "SELECT COUNT(r) = 20, 'x' FROM noisy"}},
  {{"type": "SQLValidate", "name": "noisy twice", "environments": ["test"], "sql": "SELECT COUNT(r) = 20, 'x' FROM noisy"}},
  {{"type": "SQLTransform", "name": "typed", "environments": ["test"], "outputView": "typed",
    "sql": "SELECT CAST(_c0 AS INT) AS id, _c1 AS name FROM raw"}},
  {{"type": "SQLValidate", "name": "typed once", "environments": ["test"], "sql": "SELECT COUNT(*) = 20, 'x' FROM typed"}},
  {{"type": "DelimitedLoad", "name": "append to the input", "environments": ["test"], "inputView": "typed",
    "outputURI": "{input}", "saveMode": "Append"}},
  {{"type": "SQLValidate", "name": "typed twice", "environments": ["test"], "sql": "SELECT COUNT(*) = 20, 'x' FROM typed"}}
]}}"#,
        input = input.display(),
    );
    let run = s.run_job("job.json", &job);
    assert_eq!(run.code, 0, "{}", run.all());
    let events = run.events();
    let cache: Vec<_> = events.iter().filter(|e| e["event"] == "viewCache").collect();
    // `noisy` was planned for caching (read twice, sources unchanged) but calls RAND().
    assert_eq!(cache.len(), 1, "only the volatile view is reported, not cached: {cache:?}");
    assert_eq!(cache[0]["view"], "noisy");
    assert!(cache[0]["message"].as_str().is_some_and(|m| m.contains("volatile")), "{}", cache[0]);
    // `raw` and `typed` read a directory a later stage writes into: never cached.
}
