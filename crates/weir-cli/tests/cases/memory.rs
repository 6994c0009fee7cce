//! Bounded memory: a job whose joins, sorts and aggregations need more than the memory limit
//! still succeeds, with the same result, by spilling to disk (and by switching from hash joins,
//! which cannot spill, to sort-merge joins); a memory limit that cannot be read is refused.

use std::fmt::Write as _;

use super::{Scratch, weir, written};

/// Rows of the generated input: about 30 MB as Arrow arrays, twice the limit below.
const ROWS: usize = 300_000;

/// A CSV of `ROWS` rows: id, a group of 1,000, a scrambled name and a 40-character note.
fn write_input(s: &Scratch) {
    let mut csv = String::with_capacity(ROWS * 80);
    csv.push_str("id,grp,name,note\n");
    for i in 0..ROWS {
        let scrambled = (i * 7919) % ROWS;
        let _ = writeln!(csv, "{i},{},name-{scrambled:08},{:040}", i % 1000, scrambled * 31);
    }
    s.file("input.csv", &csv);
}

/// A self-join on the id (about 30 MB on each side) and an aggregation, written as one ordered
/// CSV file.
fn job(s: &Scratch, out: &str) -> String {
    let input = s.path().join("input.csv");
    let output = s.path().join(out);
    format!(
        r#"{{"stages": [
  {{"type": "DelimitedExtract", "name": "input", "environments": ["test"],
    "inputURI": "{input}", "header": true, "outputView": "raw"}},
  {{"type": "SQLTransform", "name": "join neighbours", "environments": ["test"], "outputView": "joined",
    "sql": "SELECT a.id, a.grp, a.note, b.name AS next_name FROM raw a JOIN raw b ON CAST(a.id AS INT) + 1 = CAST(b.id AS INT)"}},
  {{"type": "SQLTransform", "name": "aggregate", "environments": ["test"], "outputView": "result",
    "sql": "SELECT grp, COUNT(*) AS n, MAX(note) AS note, MIN(next_name) AS first_name, SUM(CAST(id AS BIGINT)) AS ids FROM joined GROUP BY grp ORDER BY grp"}},
  {{"type": "DelimitedLoad", "name": "write", "environments": ["test"], "inputView": "result",
    "outputURI": "{output}", "header": true, "numPartitions": 1, "saveMode": "Overwrite"}}
]}}"#,
        input = input.display(),
        output = output.display(),
    )
}

#[test]
fn a_small_memory_limit_spills_and_gives_the_same_result() {
    let s = Scratch::new();
    write_input(&s);
    let free = s.file("free.json", &job(&s, "free"));
    let run = weir(&["run", free.to_str().expect("utf8"), "--env", "test"], &[], s.path());
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stdout.contains(r#""event":"memory""#), "no spilling fallback without a limit: {}", run.stdout);

    let tight = s.file("tight.json", &job(&s, "tight"));
    let run = weir(
        &["run", tight.to_str().expect("utf8"), "--env", "test", "--memory-limit", "32m"],
        &[("WEIR_MEMORY_LIMIT", "not a size")],
        s.path(),
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let enter = run.events().into_iter().find(|e| e["event"] == "enter").expect("enter event");
    assert_eq!(enter["memoryLimitMiB"], 32, "the flag wins over WEIR_MEMORY_LIMIT");
    // The hash join outgrew 32 MiB, so joins switched to sort-merge and the stage ran again: its
    // sorts (about 30 MB a side, at most 4 MiB each) spilled.
    let memory = run
        .events()
        .into_iter()
        .find(|e| e["event"] == "memory")
        .unwrap_or_else(|| panic!("a memory event: the hash join should not fit in 32 MiB:\n{}", run.stdout));
    assert!(memory["message"].as_str().is_some_and(|m| m.contains("32 MiB")), "{memory}");

    let (a, b) = (written(&s, "free"), written(&s, "tight"));
    assert_eq!(a.lines().count(), 1001, "one row per group plus the header");
    assert!(a == b, "the result under 32 MiB differs from the one without a limit");
}

#[test]
fn an_unreadable_memory_limit_is_refused_naming_it() {
    let s = Scratch::new();
    write_input(&s);
    let job_file = s.file("job.json", &job(&s, "out"));
    let job_path = job_file.to_str().expect("utf8");
    let run = weir(&["run", job_path, "--env", "test"], &[("WEIR_MEMORY_LIMIT", "lots")], s.path());
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.all().contains("WEIR_MEMORY_LIMIT: invalid memory size 'lots'"), "{}", run.all());
    assert!(!s.path().join("out").exists(), "nothing ran");

    let run = weir(&["run", job_path, "--env", "test", "--memory-limit", "1k"], &[], s.path());
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("below the minimum of 16 MiB"), "{}", run.all());
}
