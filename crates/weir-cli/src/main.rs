//! `weir`: the command line. It parses arguments, wires the engine's events to stdout and
//! prints a short human summary on stderr; everything else lives in the libraries.

mod kernel;
mod logging;
mod progress;
mod vacuum;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use weir_engine::job::JobOptions;
use weir_engine::runner::{self, RunReport};

const AFTER_HELP: &str = "\
Variables:
  --KEY=VALUE           any other --KEY=VALUE argument is a substitution variable for ${KEY}
                        in the job (highest priority, then the job file, then the environment)

Arc compatibility:
  weir --etl.config.uri=URI --etl.config.environment=ENV [--KEY=VALUE ...]
  ETL_CONF_URI=URI ETL_CONF_ENV=ENV weir
  Every ETL_CONF_* / ETL_POLICY_* variable and --etl.config.* / --etl.policy.* argument Arc reads is
  honoured (JOB_ID, JOB_NAME, TAGS, IGNORE_ENVIRONMENTS, LINT_ONLY, IMMUTABLE_VIEWS, ...).

Output:
  stdout carries one JSON event per line (job start, validateConfig, stage enter/exit with
  duration and row counts, final exit); stderr carries progress and a short summary.
  WEIR_EVENTS_URI=URI (file or s3://) also writes a copy of the events there when the job ends.
  Exit status: 0 on success, 1 on any failure.";

#[derive(Parser, Debug)]
#[command(name = "weir", version, about = "Weir: run Arc-style declarative ETL jobs on Apache DataFusion and Delta Lake", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a job: a .json or .conf (HOCON) job file or an .ipynb notebook, by path or URI (s3://, s3a://, file://)
    #[command(after_help = AFTER_HELP)]
    Run(JobArgs),
    /// Validate a job without running it: every stage's configuration, SQL syntax, files it reads;
    /// for notebooks, also the cells a job would never run or drops
    #[command(after_help = AFTER_HELP)]
    Lint(JobArgs),
    /// The Jupyter kernel (kernel name `arc`, display name "Arc")
    Kernel {
        #[command(subcommand)]
        command: KernelCommand,
    },
    /// Run jobs when job files are dropped into DATA_DIR/trigger/, keep their history, serve the API and web UI
    Serve(ServeArgs),
    /// Cron schedules: preview fire times
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Start JupyterLab with the Weir kernel (installs the kernelspec for the user first)
    Notebook {
        /// Arguments passed to `jupyter lab`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Delete what failed or killed loads left: unreferenced Delta data files (Delta's retention
    /// rules), interrupted file-load overwrites and staging leftovers (dry run unless --apply)
    #[command(after_help = vacuum::AFTER_HELP)]
    Vacuum(vacuum::VacuumArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Where the run store, the API token and the trigger directory (DATA_DIR/trigger/) live
    #[arg(long, default_value = "weir-data")]
    data_dir: std::path::PathBuf,
    /// Address of the HTTP API and web UI
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Runs executed at the same time
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// How often trigger locations are listed, in milliseconds
    #[arg(long, default_value_t = 250)]
    poll_interval_ms: u64,
    /// A polled job file is queued once unchanged this many milliseconds (and two polls) after
    /// its last change; per trigger: quiet_ms
    #[arg(long, default_value_t = 1000)]
    quiet_ms: u64,
    /// A run still going after this many seconds is killed and failed
    #[arg(long, default_value_t = 6 * 3600)]
    run_timeout_s: u64,
    /// ETL_CONF_ENV for triggered runs (default: the service's own ETL_CONF_ENV)
    #[arg(long, short = 'e')]
    env: Option<String>,
    /// Config file (TOML): [[schedule]] cron schedules, [[trigger]] bucket / SQS triggers, [runs] retries and retention, [api] job roots, env allowlist and header timeout, [launcher] each run as an ECS task (see the README)
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Run store shared by several instances, e.g. postgres://user:pass@host/weir (default: SQLite in the data dir)
    #[arg(long, env = "WEIR_STORE")]
    store: Option<String>,
    /// Start even when running as root (refused otherwise: runs would execute job files as root)
    #[arg(long, env = "WEIR_ALLOW_ROOT")]
    allow_root: bool,
}

#[derive(Subcommand, Debug)]
enum ScheduleCommand {
    /// Print the next fire times of a cron expression (5 fields, or 6 with seconds first)
    Next {
        /// The cron expression, e.g. "0 2 * * *"
        cron: String,
        /// IANA time zone the expression is in
        #[arg(long, short = 'z', default_value = "UTC")]
        timezone: String,
        /// How many fire times
        #[arg(long, short = 'n', default_value_t = 5)]
        count: usize,
    },
}

#[derive(Subcommand, Debug)]
enum KernelCommand {
    /// Install the kernelspec so Jupyter can start Weir notebooks (default: --user)
    Install {
        /// Into the user's Jupyter data directory (JUPYTER_DATA_DIR, else ~/.local/share/jupyter)
        #[arg(long, conflicts_with_all = ["sys_prefix", "prefix"])]
        user: bool,
        /// Into the active Python environment (VIRTUAL_ENV, CONDA_PREFIX, else python3's sys.prefix)
        #[arg(long, conflicts_with = "prefix")]
        sys_prefix: bool,
        /// Into PREFIX/share/jupyter
        #[arg(long)]
        prefix: Option<std::path::PathBuf>,
    },
    /// Run the kernel (Jupyter starts it with a connection file)
    Start {
        /// The connection file Jupyter writes
        #[arg(long, short = 'f')]
        connection_file: std::path::PathBuf,
    },
}

#[derive(Args, Debug)]
struct JobArgs {
    /// Job file or URI (default: ETL_CONF_URI)
    job: Option<String>,
    /// Environment whose stages run (default: ETL_CONF_ENV); stages list the environments they run in
    #[arg(long, short = 'e')]
    env: Option<String>,
    /// Run every stage whatever its `environments` (ETL_CONF_IGNORE_ENVIRONMENTS)
    #[arg(long)]
    ignore_environments: bool,
    /// Do not print the summary on stderr
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Memory the job's joins, sorts, aggregations and kept views may hold before they spill to
    /// the temporary directory (TMPDIR): bytes, 512m, 2g, or a share such as 25% (default:
    /// WEIR_MEMORY_LIMIT, else an eighth of the machine's memory)
    #[arg(long, value_name = "SIZE", value_parser = weir_engine::memory::parse_size)]
    memory_limit: Option<u64>,
}

/// Splits `--KEY=VALUE` variables (anything not a known flag) from the arguments clap parses.
fn split_variables(args: Vec<String>) -> (Vec<String>, Vec<(String, String)>) {
    const FLAGS: &[&str] = &["env", "ignore-environments", "quiet", "memory-limit", "help", "version"];
    let mut rest = Vec::new();
    let mut vars = Vec::new();
    for arg in args {
        if let Some(body) = arg.strip_prefix("--")
            && let Some((key, value)) = body.split_once('=')
            && !FLAGS.contains(&key)
            && !key.is_empty()
        {
            vars.push((key.to_string(), value.to_string()));
            continue;
        }
        rest.push(arg);
    }
    (rest, vars)
}

/// Caps glibc's malloc arenas at one per core (unless `MALLOC_ARENA_MAX` says otherwise).
/// glibc gives each thread that meets contention its own arena, up to eight per core, and the
/// Tokio and DataFusion threads that build Arrow buffers end up spread over them; freed buffers
/// then stay in arenas no other thread reuses. Measured on the SCD2 bench (2 cores, 10M rows):
/// peak RSS 2.4-2.5 GiB instead of 2.7-2.8, and no more CPU. Must run before any thread starts.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.min(64) as libc::c_int);
        }
    }
}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let raw: Vec<String> = std::env::args().collect();
    // `--KEY=VALUE` job variables apply to running jobs only.
    let (args, vars) = match raw.get(1).map(String::as_str) {
        Some("kernel" | "notebook" | "serve" | "schedule" | "vacuum") => (raw, Vec::new()),
        _ => split_variables(raw),
    };
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    let (job_args, lint) = match cli.command {
        Some(Command::Run(a)) => (Some(a), false),
        Some(Command::Lint(a)) => (Some(a), true),
        Some(Command::Kernel { command }) => return kernel::command(command),
        Some(Command::Notebook { args }) => return kernel::notebook(args),
        Some(Command::Serve(a)) => return serve(a),
        Some(Command::Vacuum(a)) => return vacuum::command(a),
        Some(Command::Schedule { command: ScheduleCommand::Next { cron, timezone, count } }) => {
            return schedule_next(&cron, &timezone, count);
        }
        None => {
            // Arc's container contract: ETL_CONF_* alone, no arguments.
            let arc_style = vars.iter().any(|(k, _)| k.starts_with("etl.config."))
                || env.contains_key("ETL_CONF_URI")
                || env.contains_key("ETL_CONF_ENV");
            if !arc_style {
                eprintln!("weir: no command given. Try `weir run JOB --env ENV`, or `weir --help`.");
                return ExitCode::from(1);
            }
            (None, false)
        }
    };
    let mut options = JobOptions::from_arc(env, vars);
    let mut quiet = false;
    if let Some(a) = job_args {
        if let Some(job) = a.job {
            options.uri = job;
        }
        if let Some(e) = a.env {
            options.environment = Some(e);
        }
        options.ignore_environments |= a.ignore_environments;
        quiet = a.quiet;
        if let Some(limit) = a.memory_limit {
            options.settings.memory_limit = Some(limit);
            // The flag wins over WEIR_MEMORY_LIMIT, even one that could not be read.
            options.invalid_setting = None;
        }
    }
    options.lint_only |= lint;

    logging::init();
    // A copy of the events for whoever started this run elsewhere (weir serve's ECS launcher).
    let events_uri = std::env::var("WEIR_EVENTS_URI").ok().filter(|u| !u.trim().is_empty());
    if events_uri.is_some() {
        logging::keep_events();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let progress = progress::Progress::new(std::io::stderr().is_terminal() && !quiet);
    let report = runtime.block_on(runner::run_job(&options, &progress));
    progress.clear();
    if let Some(uri) = events_uri {
        let written = runtime.block_on(async {
            let url = weir_engine::storage::parse_uri(&uri)?;
            let storage = weir_engine::storage::Storage::new(HashMap::new());
            storage.write_bytes(&url, logging::events_copy().into()).await
        });
        if let Err(e) = written {
            eprintln!("weir: cannot write the events copy to WEIR_EVENTS_URI {uri}: {e}");
        }
    }
    if !quiet {
        print_summary(&options, &report);
    }
    if report.success { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn serve(a: ServeArgs) -> ExitCode {
    logging::init_service();
    let weir = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("weir serve: cannot find the weir binary's path: {e}");
            return ExitCode::from(1);
        }
    };
    let options = weir_service::ServeOptions {
        data_dir: a.data_dir,
        listen: a.listen,
        workers: a.workers,
        poll_interval: std::time::Duration::from_millis(a.poll_interval_ms.max(10)),
        quiet: std::time::Duration::from_millis(a.quiet_ms),
        run_timeout: std::time::Duration::from_secs(a.run_timeout_s.max(1)),
        environment: a.env,
        weir,
        config: a.config,
        store: a.store,
        allow_root: a.allow_root,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("weir serve: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(weir_service::serve(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("weir serve: {e}");
            ExitCode::from(1)
        }
    }
}

fn schedule_next(cron: &str, timezone: &str, count: usize) -> ExitCode {
    use weir_service::schedule;
    let parsed = schedule::parse_cron(cron).and_then(|c| schedule::parse_tz(timezone).map(|tz| (c, tz)));
    let (c, tz) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("weir: {e}");
            return ExitCode::from(1);
        }
    };
    for t in schedule::next_fires(&c, tz, chrono::Utc::now(), count) {
        println!("{}  ({})", t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"), t.format("%Y-%m-%dT%H:%M:%SZ"));
    }
    if let Some(warning) = schedule::pitfall(cron) {
        eprintln!("note: {warning}");
    }
    ExitCode::SUCCESS
}

fn print_summary(options: &JobOptions, report: &RunReport) {
    let mut out = String::new();
    for s in &report.stages {
        let mut rows = s.rows.map(|r| format!("{r} rows")).unwrap_or_default();
        if let Some(message) = &s.message {
            rows = format!("{rows} {message}").trim().to_string();
        }
        let mark = match s.status {
            _ if s.error.is_some() => "FAILED",
            weir_engine::runner::StageStatus::Skipped => "skip",
            _ => "ok",
        };
        out.push_str(&format!(
            "  [{:>2}] {:<6} {:<20} {:<40} {:>8} ms  {}\n",
            s.index,
            mark,
            s.type_name,
            truncate(&s.name, 40),
            s.duration_ms,
            rows
        ));
    }
    for w in &report.warnings {
        out.push_str(&format!("  warning: {w}\n"));
    }
    let what = if options.lint_only { "lint" } else { "run" };
    match &report.error {
        None => out.push_str(&format!(
            "weir: {what} succeeded: {} stage(s) in {:.2} s\n",
            report.stages.len(),
            report.duration_ms as f64 / 1000.0
        )),
        Some(error) => out.push_str(&format!("weir: {what} failed: {error}\n")),
    }
    eprint!("{}", weir_engine::mask::mask_credentials(&out));
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_split_from_flags() {
        let args = ["weir", "run", "job.json", "--env=dev", "--X=1", "--etl.config.uri=file:///j.json", "-q"]
            .map(String::from)
            .to_vec();
        let (rest, vars) = split_variables(args);
        assert_eq!(rest, ["weir", "run", "job.json", "--env=dev", "-q"]);
        assert_eq!(
            vars,
            [("X".to_string(), "1".to_string()), ("etl.config.uri".to_string(), "file:///j.json".to_string())]
        );
    }
}
