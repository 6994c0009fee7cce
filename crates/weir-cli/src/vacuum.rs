//! `weir vacuum PATH`: prints what [`weir_engine::vacuum`] deletes (or would delete).

use std::process::ExitCode;

use clap::Args;
use weir_engine::vacuum::{VacuumOptions, VacuumReport, vacuum};

#[derive(Args, Debug)]
pub struct VacuumArgs {
    /// A Delta table, a file-load output directory, or a directory holding outputs (path or URI)
    path: String,
    /// Delete; without it, only list what would be deleted (a dry run)
    #[arg(long)]
    apply: bool,
    /// Delta tables: keep files removed less than this many hours ago (default: the table's
    /// delta.deletedFileRetentionDuration, 168 hours unless set)
    #[arg(long)]
    retention_hours: Option<u64>,
    /// Delta tables: allow a retention shorter than the table's delta.deletedFileRetentionDuration
    #[arg(long)]
    force: bool,
    /// Print the report as one JSON object
    #[arg(long)]
    json: bool,
}

pub const AFTER_HELP: &str = "\
Delta tables: deletes data files no commit references (e.g. written by a killed load) and files
removed by commits older than the retention (delta-rs full vacuum), then regenerates a stale
_symlink_format_manifest/. File-load outputs (ParquetLoad, DelimitedLoad, JSONLoad): completes an
overwrite interrupted by a crash from its journal (_weir_journal_<name>.json) and deletes the
staging directories (_weir_staging_<name>.*) of loads no longer running. On S3 there is no lock:
do not vacuum an output while a load to it is running.";

pub fn command(a: VacuumArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir vacuum: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let options = VacuumOptions { apply: a.apply, retention_hours: a.retention_hours, force: a.force };
    let storage = weir_engine::storage::Storage::new(Default::default());
    match runtime.block_on(vacuum(storage, &a.path, &options)) {
        Ok(report) if a.json => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print_report(&report);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("weir vacuum: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_report(report: &VacuumReport) {
    let verb = |action: &str| match (action, report.applied) {
        ("roll-forward", true) => "completed interrupted overwrite",
        ("roll-forward", false) => "would complete interrupted overwrite",
        ("repair-manifest", true) => "regenerated stale manifest",
        ("repair-manifest", false) => "would regenerate stale manifest",
        (_, true) => "deleted",
        (_, false) => "would delete",
    };
    for item in &report.items {
        let files = if item.files > 1 { format!(" ({} files)", item.files) } else { String::new() };
        println!("{:<38} {:>12}  {}{files}", verb(&item.action), human(item.bytes), item.path);
    }
    let what = if report.kind == "delta" { "Delta table" } else { "file output" };
    let done = if report.applied { "freed" } else { "would free (dry run; --apply deletes)" };
    if report.items.is_empty() {
        println!("{what} {}: nothing to vacuum", report.path);
    } else {
        println!("{what} {}: {} item(s), {done} {}", report.path, report.items.len(), human(report.bytes()));
    }
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
