//! Crash safety of loads and `weir vacuum`: Overwrites of ParquetLoad / DelimitedLoad killed at
//! every failpoint of the swap (and at random moments) leave the output with exactly the
//! complete old or the complete new data once the next load or `weir vacuum --apply` has run;
//! the data fixes (unterminated CSV quote, a first CSV record over 1 MiB, the Athena manifest's
//! place and staleness after a crash right after a Delta commit); Delta vacuum.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{S3Server, Workspace, run_weir, run_weir_env, weir_bin};

/// The two generations of data the loads alternate between: (rows, tag).
const OLD: (usize, &str) = (20_000, "old");
const NEW: (usize, &str) = (30_000, "new");

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Parquet,
    Delimited,
}

impl Format {
    fn load(self) -> &'static str {
        match self {
            Format::Parquet => "ParquetLoad",
            Format::Delimited => "DelimitedLoad",
        }
    }
}

fn write_input(ws: &Workspace, (rows, tag): (usize, &str)) -> PathBuf {
    let body: String = (1..=rows).map(|i| format!("{i},{tag}\n")).collect();
    ws.write(format!("in_{tag}.csv"), body)
}

/// A job that overwrites `target` with one generation, in 4 files.
fn load_job(ws: &Workspace, format: Format, target: &str, (_, tag): (usize, &str)) -> PathBuf {
    let job = format!(
        r#"{{"stages": [
          {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{input}", "outputView": "raw"}},
          {{"type": "SQLTransform", "name": "shape", "environments": ["test"], "outputView": "rows",
            "sql": "SELECT CAST(_c0 AS int) AS id, _c1 AS tag FROM raw"}},
          {{"type": "{load}", "name": "save", "environments": ["test"], "inputView": "rows", "outputURI": "{target}",
            "saveMode": "Overwrite", "numPartitions": 4}}
        ]}}"#,
        input = ws.join(format!("in_{tag}.csv")).display(),
        load = format.load(),
    );
    ws.write(format!("load_{tag}_{:?}.json", format), job)
}

/// Reads the output back with weir and returns (rows, distinct ids, min tag, max tag).
fn read_back(
    ws: &Workspace,
    format: Format,
    target: &str,
    env: &[(String, String)],
) -> Result<(u64, u64, String, String), String> {
    let extract = match format {
        Format::Parquet => format!(
            r#"{{"type": "ParquetExtract", "name": "back", "environments": ["test"], "inputURI": "{target}", "outputView": "t"}},
               {{"type": "SQLTransform", "name": "cols", "environments": ["test"], "outputView": "v", "sql": "SELECT id, tag FROM t"}}"#
        ),
        Format::Delimited => format!(
            r#"{{"type": "DelimitedExtract", "name": "back", "environments": ["test"], "inputURI": "{target}", "outputView": "t"}},
               {{"type": "SQLTransform", "name": "cols", "environments": ["test"], "outputView": "v", "sql": "SELECT CAST(_c0 AS int) AS id, _c1 AS tag FROM t"}}"#
        ),
    };
    let summary = ws.join("summary");
    let job = format!(
        r#"{{"stages": [ {extract},
          {{"type": "SQLTransform", "name": "sum", "environments": ["test"], "outputView": "s",
            "sql": "SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS ids, MIN(tag) AS lo, MAX(tag) AS hi FROM v"}},
          {{"type": "DelimitedLoad", "name": "out", "environments": ["test"], "inputView": "s", "outputURI": "{}", "saveMode": "Overwrite", "numPartitions": 1}}
        ]}}"#,
        summary.display()
    );
    let path = ws.write("read_back.json", job);
    let run = run_weir_env(&["run", path.to_str().unwrap(), "--env", "test", "-q"], env, ws.path());
    if !run.success() {
        return Err(run.all());
    }
    let line =
        data_files(&summary).iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<String>().trim().to_string();
    let parts: Vec<&str> = line.split(',').collect();
    match parts.as_slice() {
        [n, ids, lo, hi] => Ok((n.parse().unwrap(), ids.parse().unwrap(), lo.to_string(), hi.to_string())),
        _ => Err(format!("unexpected summary '{line}'")),
    }
}

/// The visible (non-hidden) files below a directory.
fn data_files(dir: &Path) -> Vec<PathBuf> {
    crate::support::files_under(dir)
        .into_iter()
        .filter(|f| {
            !f.strip_prefix(dir).unwrap().components().any(|c| c.as_os_str().to_string_lossy().starts_with(['_', '.']))
        })
        .collect()
}

/// Weir's leftovers (staging directories, journals) beside the target.
fn leftovers(target: &Path) -> Vec<String> {
    std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("_weir_"))
        .collect()
}

/// Asserts the output holds exactly one complete generation (with `_SUCCESS`) and returns it.
#[track_caller]
fn assert_complete(ws: &Workspace, format: Format, target: &Path, context: &str) -> &'static str {
    let tag = assert_complete_at(ws, format, target.to_str().unwrap(), &[], context);
    assert!(target.join("_SUCCESS").exists(), "{context}: complete output without _SUCCESS");
    tag
}

/// [`assert_complete`] for any URI, without the `_SUCCESS` check.
#[track_caller]
fn assert_complete_at(
    ws: &Workspace,
    format: Format,
    target: &str,
    env: &[(String, String)],
    context: &str,
) -> &'static str {
    let got = read_back(ws, format, target, env).unwrap_or_else(|e| panic!("{context}: output unreadable: {e}"));
    let generation = [OLD, NEW]
        .into_iter()
        .find(|(rows, tag)| got == (*rows as u64, *rows as u64, tag.to_string(), tag.to_string()));
    let Some((_, tag)) = generation else { panic!("{context}: output is a mix or incomplete: {got:?}") };
    tag
}

/// A small deterministic generator (fixed seed) for the kill timings.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

enum Kill {
    /// `WEIR_FAILPOINT=<name>`, with or without the RENAME_EXCHANGE fast path.
    At(&'static str, bool),
    /// SIGKILL after this many milliseconds.
    After(u64),
}

/// Runs a load that is killed as `kill` says; returns whether the process died (rather than
/// finishing before the kill).
fn killed_run(ws: &Workspace, job: &Path, kill: &Kill, env: &[(String, String)]) -> bool {
    let mut cmd = Command::new(weir_bin());
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.args(["run", job.to_str().unwrap(), "--env", "test", "-q"])
        .current_dir(ws.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match kill {
        Kill::At(point, journalled) => {
            cmd.env("WEIR_FAILPOINT", point);
            if *journalled {
                cmd.env("WEIR_OVERWRITE_NO_EXCHANGE", "1");
            }
        }
        Kill::After(_) => {}
    }
    let mut child = cmd.spawn().expect("weir starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let kill_at = match kill {
        Kill::After(ms) => Some(Instant::now() + Duration::from_millis(*ms)),
        Kill::At(..) => None,
    };
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return !status.success();
        }
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            return true;
        }
        assert!(Instant::now() < deadline, "the load did not end");
        std::thread::sleep(Duration::from_millis(5));
    }
}

const EXCHANGE_POINTS: [&str; 2] = ["overwrite-staged", "overwrite-exchanged"];
const JOURNAL_POINTS: [&str; 5] = [
    "overwrite-staged",
    "overwrite-journal-written",
    "overwrite-old-deleted",
    "overwrite-half-moved",
    "overwrite-moved",
];

/// 20 killed Overwrites in all (10 per format): every failpoint, with and without the
/// exchange, and random SIGKILLs; recovery alternates between `weir vacuum --apply` and the
/// next load.
#[test]
fn overwrite_killed_at_the_swap_leaves_old_or_new_data() {
    let mut rng = Lcg(0x5eed_2026);
    let mut total = 0;
    for format in [Format::Parquet, Format::Delimited] {
        let ws = Workspace::new();
        write_input(&ws, OLD);
        write_input(&ws, NEW);
        let target = ws.join("out/data");
        let uri = target.to_str().unwrap();
        let jobs = [load_job(&ws, format, uri, OLD), load_job(&ws, format, uri, NEW)];
        run_weir(&["run", jobs[0].to_str().unwrap(), "--env", "test", "-q"], &[], ws.path()).assert_success();
        assert_eq!(assert_complete(&ws, format, &target, "initial"), "old");
        let mut kills: Vec<Kill> = EXCHANGE_POINTS.iter().map(|p| Kill::At(p, false)).collect();
        kills.extend(JOURNAL_POINTS.iter().map(|p| Kill::At(p, true)));
        kills.extend((0..3).map(|_| Kill::After(150 + rng.next(1500))));
        let mut current = "old";
        for (i, kill) in kills.iter().enumerate() {
            total += 1;
            let (next, job) = if current == "old" { ("new", &jobs[1]) } else { ("old", &jobs[0]) };
            let context = match kill {
                Kill::At(p, j) => format!("{format:?} #{i} failpoint {p} (journalled: {j})"),
                Kill::After(ms) => format!("{format:?} #{i} SIGKILL after {ms} ms"),
            };
            let died = killed_run(&ws, job, kill, &[]);
            if let Kill::At(..) = kill {
                assert!(died, "{context}: the failpoint was not reached");
            }
            if matches!(kill, Kill::At(_, false)) {
                // The exchange is atomic: complete data even before any recovery.
                let seen = assert_complete(&ws, format, &target, &format!("{context}, before recovery"));
                assert!(seen == current || seen == next, "{context}");
            }
            if i % 2 == 0 {
                let vacuum = run_weir(&["vacuum", ws.join("out").to_str().unwrap(), "--apply"], &[], ws.path());
                vacuum.assert_success();
                current = assert_complete(&ws, format, &target, &format!("{context}, after vacuum"));
                assert!(
                    leftovers(&target).is_empty(),
                    "{context}: leftovers {:?}\n{}",
                    leftovers(&target),
                    vacuum.all()
                );
                let again = run_weir(&["vacuum", target.to_str().unwrap()], &[], ws.path());
                assert!(again.stdout.contains("nothing to vacuum"), "{context}: {}", again.all());
            } else {
                // The next load recovers first, then writes its own generation.
                let (after, job) = if current == "old" { ("new", &jobs[1]) } else { ("old", &jobs[0]) };
                let run = run_weir(&["run", job.to_str().unwrap(), "--env", "test", "-q"], &[], ws.path());
                run.assert_success();
                assert_eq!(assert_complete(&ws, format, &target, &context), after, "{context}");
                assert!(leftovers(&target).is_empty(), "{context}: leftovers {:?}", leftovers(&target));
                current = after;
            }
        }
    }
    assert_eq!(total, 20);
}

/// On S3 (no rename) the journal makes the end state complete: killed at each failpoint of
/// the journalled swap, `weir vacuum --apply` rolls the overwrite forward (or, killed before
/// the journal, drops the staging).
#[test]
fn s3_overwrite_killed_at_each_failpoint_is_completed_by_vacuum() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    let env = s3.env();
    let ws = Workspace::new();
    write_input(&ws, OLD);
    write_input(&ws, NEW);
    let uri = "s3a://lake/out/data";
    let jobs = [load_job(&ws, Format::Parquet, uri, OLD), load_job(&ws, Format::Parquet, uri, NEW)];
    run_weir_env(&["run", jobs[0].to_str().unwrap(), "--env", "test", "-q"], &env, ws.path()).assert_success();
    let mut current = assert_complete_at(&ws, Format::Parquet, uri, &env, "initial");
    assert_eq!(current, "old");
    for point in JOURNAL_POINTS {
        let (next, job) = if current == "old" { ("new", &jobs[1]) } else { ("old", &jobs[0]) };
        assert!(killed_run(&ws, job, &Kill::At(point, false), &env), "{point}: not reached");
        let vacuum = run_weir_env(&["vacuum", uri, "--apply"], &env, ws.path());
        vacuum.assert_success();
        let seen = assert_complete_at(&ws, Format::Parquet, uri, &env, point);
        let expected = if point == "overwrite-staged" { current } else { next };
        assert_eq!(seen, expected, "{point}: {}", vacuum.all());
        let keys = s3.list("lake", "out/");
        assert!(keys.iter().all(|k| !k.contains("_weir_")), "{point}: leftovers {keys:?}");
        assert!(keys.iter().any(|k| k.ends_with("out/data/_SUCCESS")), "{point}: {keys:?}");
        current = seen;
    }
}

#[test]
fn vacuum_dry_run_lists_staging_leftovers_with_sizes_and_deletes_nothing() {
    let ws = Workspace::new();
    write_input(&ws, OLD);
    let target = ws.join("out/data");
    let job = load_job(&ws, Format::Parquet, target.to_str().unwrap(), OLD);
    assert!(killed_run(&ws, &job, &Kill::At("overwrite-staged", false), &[]));
    let staged = leftovers(&target);
    assert_eq!(staged.len(), 1, "{staged:?}");
    let dry = run_weir(&["vacuum", target.to_str().unwrap(), "--json"], &[], ws.path());
    dry.assert_success();
    let report: serde_json::Value = serde_json::from_str(dry.stdout.trim()).expect("JSON report");
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{report}");
    assert_eq!(items[0]["action"], "delete-staging");
    assert!(items[0]["bytes"].as_u64().unwrap() > 1000 && items[0]["files"].as_u64().unwrap() >= 2, "{report}");
    assert_eq!(leftovers(&target), staged, "a dry run deletes nothing");
    let text = run_weir(&["vacuum", target.to_str().unwrap()], &[], ws.path());
    assert!(text.stdout.contains("would delete") && text.stdout.contains("dry run"), "{}", text.all());
    run_weir(&["vacuum", target.to_str().unwrap(), "--apply"], &[], ws.path()).assert_success();
    assert!(leftovers(&target).is_empty());
    assert!(!target.exists(), "the killed first load never created the target");
}

#[test]
fn unterminated_csv_quote_is_an_error_naming_file_and_line() {
    let ws = Workspace::new();
    ws.write("in.csv", "1,a\n2,b\n3,\"c\n4,d\n5,e\n");
    let job = ws.write(
        "job.json",
        format!(
            r#"{{"stages": [
              {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{}", "outputView": "raw"}},
              {{"type": "SQLValidate", "name": "count", "environments": ["test"], "sql": "SELECT COUNT(*) > 0, CAST(COUNT(*) AS string) FROM raw"}}
            ]}}"#,
            ws.join("in.csv").display()
        ),
    );
    let run = run_weir(&["run", job.to_str().unwrap(), "--env", "test"], &[], ws.path());
    run.assert_code(1);
    assert!(
        run.stderr.contains("in.csv") && run.stderr.contains("quote opened on line 3 is never closed"),
        "{}",
        run.stderr
    );
}

#[test]
fn csv_with_a_3_mib_first_record_reads_correctly() {
    let ws = Workspace::new();
    let long = "y".repeat(3 << 20);
    ws.write("in.csv", format!("id,body,last\n1,{long},one\n2,short,two\n"));
    let job = ws.write(
        "job.json",
        format!(
            r#"{{"stages": [
              {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{}", "outputView": "raw", "header": true}},
              {{"type": "SQLValidate", "name": "check", "environments": ["test"],
                "sql": "SELECT COUNT(*) = 2 AND MAX(length(body)) = {} AND MIN(last) = 'one' AND MAX(last) = 'two', CAST(COUNT(*) AS string) FROM raw"}}
            ]}}"#,
            ws.join("in.csv").display(),
            3 << 20
        ),
    );
    run_weir(&["run", job.to_str().unwrap(), "--env", "test"], &[], ws.path()).assert_success();
}

/// The active data files of a Delta table, from its log.
fn active_files(table: &Path) -> Vec<String> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(table.join("_delta_log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    logs.sort();
    let mut active = std::collections::BTreeSet::new();
    for log in logs {
        for line in std::fs::read_to_string(log).unwrap().lines() {
            let action: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(path) = action["add"]["path"].as_str() {
                active.insert(path.to_string());
            }
            if let Some(path) = action["remove"]["path"].as_str() {
                active.remove(path);
            }
        }
    }
    active.into_iter().collect()
}

fn manifest_files(table: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(table.join("_symlink_format_manifest/manifest")).unwrap();
    let mut names: Vec<String> =
        text.lines().map(|l| l.rsplit('/').next().unwrap().to_string()).filter(|l| !l.is_empty()).collect();
    names.sort();
    names
}

fn manifest_version(table: &Path) -> String {
    std::fs::read_to_string(table.join("_symlink_format_manifest/_weir_version")).unwrap()
}

fn delta_job(ws: &Workspace, table: &Path, mode: &str) -> PathBuf {
    ws.write(
        format!("delta_{mode}.json"),
        format!(
            r#"{{"stages": [
              {{"type": "DelimitedExtract", "name": "read", "environments": ["test"], "inputURI": "{}", "outputView": "raw"}},
              {{"type": "DeltaLakeLoad", "name": "save", "environments": ["test"], "inputView": "raw", "outputURI": "{}", "saveMode": "{mode}"}}
            ]}}"#,
            ws.join("in_old.csv").display(),
            table.display()
        ),
    )
}

#[test]
fn athena_manifest_is_relative_to_the_table_and_repaired_after_a_crash() {
    let ws = Workspace::new();
    write_input(&ws, (100, "old"));
    let table = ws.join("table");
    let append = delta_job(&ws, &table, "Append");
    let run_job =
        |envs: &[(&str, &str)]| run_weir(&["run", append.to_str().unwrap(), "--env", "test", "-q"], envs, ws.path());
    run_job(&[]).assert_success();
    let entries: Vec<String> = std::fs::read_dir(table.join("_symlink_format_manifest"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut sorted = entries.clone();
    sorted.sort();
    assert_eq!(sorted, ["_weir_version", "manifest"], "no absolute path inside the manifest directory");
    assert_eq!(manifest_files(&table), active_files(&table));
    assert_eq!(manifest_version(&table), "0");
    // A crash right after the commit: the table is at version 1, the manifest still at 0.
    run_job(&[("WEIR_FAILPOINT", "delta-committed")]).assert_code(-1);
    assert_eq!(active_files(&table).len(), 2);
    assert_eq!(manifest_files(&table).len(), 1, "stale");
    let dry = run_weir(&["vacuum", table.to_str().unwrap()], &[], ws.path());
    dry.assert_success();
    assert!(dry.stdout.contains("would regenerate stale manifest"), "{}", dry.all());
    // The next load repairs it (and writes its own version's).
    run_job(&[]).assert_success();
    assert_eq!(manifest_files(&table), active_files(&table));
    assert_eq!(active_files(&table).len(), 3);
    assert_eq!(manifest_version(&table), "2");
    // So does vacuum.
    run_job(&[("WEIR_FAILPOINT", "delta-committed")]).assert_code(-1);
    assert_ne!(manifest_files(&table), active_files(&table));
    run_weir(&["vacuum", table.to_str().unwrap(), "--apply"], &[], ws.path()).assert_success();
    assert_eq!(manifest_files(&table), active_files(&table));
    assert_eq!(active_files(&table).len(), 4);
}

#[test]
fn delta_vacuum_removes_unreferenced_files_with_deltas_retention_rules() {
    let ws = Workspace::new();
    write_input(&ws, (100, "old"));
    let table = ws.join("table");
    let overwrite = delta_job(&ws, &table, "Overwrite");
    for _ in 0..2 {
        run_weir(&["run", overwrite.to_str().unwrap(), "--env", "test", "-q"], &[], ws.path()).assert_success();
    }
    let active = active_files(&table);
    assert_eq!(active.len(), 1);
    // What a killed load leaves: a data file no commit references.
    let orphan = table.join("part-00000-killed-load.parquet");
    std::fs::copy(table.join(&active[0]), &orphan).unwrap();
    let t = table.to_str().unwrap();
    // The default retention (7 days) keeps files this young: nothing to delete.
    let dry = run_weir(&["vacuum", t, "--json"], &[], ws.path());
    dry.assert_success();
    let report: serde_json::Value = serde_json::from_str(dry.stdout.trim()).unwrap();
    assert_eq!(report["kind"], "delta");
    assert!(report["items"].as_array().unwrap().iter().all(|i| i["action"] != "delete"), "{report}");
    // A shorter retention than the table's is refused unless forced.
    let refused = run_weir(&["vacuum", t, "--retention-hours", "0", "--apply"], &[], ws.path());
    refused.assert_code(1);
    assert!(refused.stderr.contains("168 hours") && refused.stderr.contains("--force"), "{}", refused.stderr);
    assert!(orphan.exists());
    let dry = run_weir(&["vacuum", t, "--retention-hours", "0", "--force", "--json"], &[], ws.path());
    let report: serde_json::Value = serde_json::from_str(dry.stdout.trim()).unwrap();
    let deletes: Vec<&serde_json::Value> =
        report["items"].as_array().unwrap().iter().filter(|i| i["action"] == "delete").collect();
    // The orphan and the file the second Overwrite removed.
    assert_eq!(deletes.len(), 2, "{report}");
    assert!(deletes.iter().any(|i| i["path"].as_str().unwrap().ends_with("part-00000-killed-load.parquet")));
    assert!(deletes.iter().all(|i| i["bytes"].as_u64().unwrap() > 0), "{report}");
    assert!(orphan.exists(), "dry run");
    run_weir(&["vacuum", t, "--retention-hours", "0", "--force", "--apply"], &[], ws.path()).assert_success();
    assert!(!orphan.exists());
    assert!(table.join(&active[0]).exists(), "the referenced file is kept");
    let parquet: Vec<PathBuf> = crate::support::files_under(&table)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "parquet"))
        .collect();
    assert_eq!(parquet.len(), 1, "{parquet:?}");
}
