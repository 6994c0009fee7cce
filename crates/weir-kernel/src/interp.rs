//! The notebook interpreter: runs one cell at a time against a session that lives as long as
//! the kernel, as Arc's kernel does. Every stage runs regardless of its `environments`, views
//! can be redefined, and `%env` variables feed `${VAR}` substitution in later cells.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};
use weir_config::notebook::{self, Cell};
use weir_engine::events::{EventLog, Level};
use weir_engine::job::{self, JobError, JobOptions};
use weir_engine::runner::{clean_error, stage_json};
use weir_engine::session::{Session, Settings};
use weir_engine::storage::Storage;

use crate::display::{self, DisplayOptions, Table};
use crate::secrets::Secrets;

/// The view a `%sql` cell without `outputView` is shown through (Arc's name), dropped after.
pub const PLACEHOLDER_VIEW: &str = "arcJupyterPlaceholderOutputView";

/// One piece of cell output.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A result table.
    Table { table: Table, options: DisplayOptions, log: Option<String> },
    /// Plain text (schemas, `%conf`, `%env`...).
    Text(String),
    /// A warning shown on the cell's stderr stream.
    Warning(String),
}

/// What the kernel offers the interpreter while a cell runs.
#[async_trait]
pub trait Frontend: Send + Sync {
    /// Shows output now.
    fn display(&self, output: Output);
    /// Shows or updates the cell's progress line.
    fn progress(&self, text: &str, state: ProgressState);
    /// Asks the user for a value (`%secret`); `None` when the front end cannot ask.
    async fn input(&self, prompt: &str, password: bool) -> Option<String>;
}

/// State of a progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressState {
    Running,
    Done,
    Failed,
}

/// Why a cell failed: shown as a Jupyter error (no stack traces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub ename: String,
    pub evalue: String,
}

impl CellError {
    fn new(ename: &str, evalue: impl Into<String>) -> Self {
        Self { ename: ename.to_string(), evalue: evalue.into() }
    }
}

/// A view and its columns, for completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewInfo {
    pub name: String,
    pub columns: Vec<String>,
}

/// Kernel-wide settings from the environment (Arc's `CONF_*`).
#[derive(Debug, Clone)]
pub struct KernelSettings {
    pub display: DisplayOptions,
    /// `CONF_MAX_NUM_ROWS`: a hard cap users cannot raise.
    pub max_rows: Option<usize>,
    pub extended_errors: bool,
    pub completion_environments: Vec<String>,
}

impl KernelSettings {
    /// Reads `CONF_NUM_ROWS`, `CONF_MAX_NUM_ROWS`, `CONF_TRUNCATE`, `CONF_DISPLAY_*`,
    /// `CONF_SHOW_LOG` and `ETL_CONF_COMPLETION_ENVIRONMENTS`.
    pub fn from_env(env: &HashMap<String, String>) -> Self {
        let num = |k: &str| env.get(k).and_then(|v| v.trim().parse::<usize>().ok());
        let flag = |k: &str, d: bool| env.get(k).map(|v| v.trim().eq_ignore_ascii_case("true")).unwrap_or(d);
        let mut display = DisplayOptions::default();
        display.num_rows = num("CONF_NUM_ROWS").unwrap_or(display.num_rows);
        display.truncate = num("CONF_TRUNCATE").unwrap_or(display.truncate);
        display.monospace = flag("CONF_DISPLAY_MONOSPACE", false);
        display.left_align = flag("CONF_DISPLAY_LEFT_ALIGN", false);
        display.dataset_labels = flag("CONF_DISPLAY_DATASET_LABELS", false);
        display.show_log = flag("CONF_SHOW_LOG", false);
        let completion_environments = env
            .get("ETL_CONF_COMPLETION_ENVIRONMENTS")
            .map(|v| v.split(',').map(|e| e.trim().to_string()).filter(|e| !e.is_empty()).collect())
            .unwrap_or_else(|| vec!["production".to_string(), "test".to_string()]);
        Self {
            display,
            max_rows: num("CONF_MAX_NUM_ROWS"),
            extended_errors: flag("CONF_DISPLAY_EXTENDED_ERRORS", true),
            completion_environments,
        }
    }
}

/// The interpreter state of one kernel.
pub struct Interpreter {
    session: Session,
    settings: KernelSettings,
    conf: DisplayOptions,
    extended_errors: bool,
    /// `%env` variables (including `%secret` ones).
    vars: BTreeMap<String, String>,
    secrets: Secrets,
    process_env: HashMap<String, String>,
}

const KNOWN_MAGICS: &[&str] = &[
    "%sql",
    "%sqlvalidate",
    "%log",
    "%configexecute",
    "%metadatafilter",
    "%metadatavalidate",
    "%arc",
    "%printschema",
    "%schema",
    "%metadata",
    "%printmetadata",
    "%list",
    "%version",
    "%help",
    "%conf",
    "%env",
    "%secret",
    "%summary",
];

/// Keys a stage may not hold as literal strings (Arc's guard: use `%secret`).
const SECRET_KEYS: &[&str] = &["token", "signature", "accessKey", "secret", "secretAccessKey"];

impl Interpreter {
    pub fn new(process_env: HashMap<String, String>, secrets: Secrets) -> Self {
        let settings = KernelSettings::from_env(&process_env);
        let mut context = Map::new();
        context.insert("environment".into(), "notebook".into());
        if let Some(user) = process_env.get("JUPYTERHUB_USER") {
            context.insert("jupyterHubUser".into(), user.clone().into());
        }
        let log = EventLog::new(format!("weir-kernel-{}", std::process::id()), context);
        // WEIR_MEMORY_LIMIT as for `weir run`; a value that cannot be read is logged and the
        // machine's default used.
        let memory_limit = process_env.get("WEIR_MEMORY_LIMIT").and_then(|v| match weir_engine::memory::parse_size(v) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                log.warn(weir_engine::obj! { "event" => "setting", "message" => format!("WEIR_MEMORY_LIMIT ignored: {e}") });
                None
            }
        });
        let session =
            Session::new(Storage::new(Default::default()), Settings { memory_limit, ..Settings::default() }, log);
        Self {
            session,
            conf: settings.display.clone(),
            extended_errors: settings.extended_errors,
            settings,
            vars: BTreeMap::new(),
            secrets,
            process_env,
        }
    }

    pub fn settings(&self) -> &KernelSettings {
        &self.settings
    }

    /// Current `%conf` display options.
    pub fn conf(&self) -> &DisplayOptions {
        &self.conf
    }

    /// Current `%env` variables with secrets masked.
    pub fn masked_vars(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(k, v)| {
                if self.secrets.is_secret_name(k) {
                    (k.clone(), "*".repeat(v.chars().count()))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect()
    }

    /// Every view with its columns (nested struct fields flattened with dots).
    pub async fn views(&self) -> Vec<ViewInfo> {
        let mut out = Vec::new();
        for name in self.session.view_names() {
            if name == PLACEHOLDER_VIEW {
                continue;
            }
            if let Ok(df) = self.session.view(&name).await {
                let mut columns = Vec::new();
                for f in df.schema().as_arrow().fields() {
                    flatten(&mut columns, "", f);
                }
                out.push(ViewInfo { name, columns });
            }
        }
        out
    }

    /// Runs one cell. `index` is the execution count (default stage names use it).
    pub async fn execute(&mut self, code: &str, index: usize, fe: &dyn Frontend) -> Result<(), CellError> {
        match notebook::classify(code) {
            Cell::Empty => Ok(()),
            Cell::Stage { text, cell_line, args } => {
                let options = self.cell_display(&args);
                self.run_stages(&text, cell_line, &options, None, fe).await
            }
            Cell::Sql(magic) => {
                if let Some(warning) = magic.typo_warning() {
                    fe.display(Output::Warning(format!("Warning: {warning}.")));
                }
                let options = self.cell_display(&magic.args);
                let placeholder = (magic.with_view && magic.arg("outputView").is_none()).then_some(PLACEHOLDER_VIEW);
                let (text, _) = magic.stage_text(index, placeholder);
                let result = self.run_stages(&text, 1, &options, placeholder, fe).await;
                if placeholder.is_some() {
                    self.session.drop_view(PLACEHOLDER_VIEW);
                }
                result
            }
            Cell::ConfigPlugin(_) | Cell::LifecyclePlugin(_) => Err(CellError::new(
                "NotSupported",
                "Plugins (%configplugin, %lifecycleplugin) are not supported yet by Weir.",
            )),
            Cell::Other { magic, first_line, rest } => self.magic(&magic, &first_line, &rest, fe).await,
        }
    }

    fn cell_display(&self, args: &[(String, String)]) -> DisplayOptions {
        let mut o = self.conf.clone();
        apply_display_args(&mut o, args.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(cap) = self.settings.max_rows {
            o.num_rows = o.num_rows.min(cap);
        }
        o
    }

    fn job_options(&self) -> JobOptions {
        JobOptions {
            uri: "notebook cell".into(),
            ignore_environments: true,
            args: self.vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            env: self.process_env.clone(),
            variables: self.session.variables(),
            allow_notebooks: true,
            ..Default::default()
        }
    }

    fn check_secrets(text: &str) -> Result<(), CellError> {
        for key in SECRET_KEYS {
            // A literal string value: `"key": "..."` (substitutions `${...}` are fine).
            for quoted in [format!("\"{key}\""), key.to_string()] {
                let mut rest = text;
                while let Some(at) = rest.find(&quoted) {
                    let after = rest[at + quoted.len()..].trim_start();
                    let before_ok = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
                    if before_ok && let Some(value) = after.strip_prefix(':').or_else(|| after.strip_prefix('=')) {
                        let value = value.trim_start();
                        if value.starts_with('"') && !value.starts_with("\"${") && !value.starts_with("\"\"") {
                            return Err(CellError::new(
                                "SecretInInput",
                                "Secret found in input. Use %secret to define to prevent accidental leaks.",
                            ));
                        }
                    }
                    rest = &rest[at + quoted.len()..];
                }
            }
        }
        Ok(())
    }

    async fn run_stages(
        &mut self,
        text: &str,
        cell_line: u32,
        options: &DisplayOptions,
        placeholder: Option<&str>,
        fe: &dyn Frontend,
    ) -> Result<(), CellError> {
        Self::check_secrets(text)?;
        // The wrapper shares the cell's first line, so parse errors keep the cell's line numbers.
        const PREFIX: &str = "{\"stages\": [";
        let wrapped = format!("{PREFIX}{text}\n]}}");
        let loaded = match job::parse_text(&self.job_options(), "notebook cell", &wrapped, String::new()) {
            Ok(l) => l,
            Err(JobError::Parse { line, col, message, .. }) => {
                let col = if line == 1 { col.saturating_sub(PREFIX.len() as u32) } else { col };
                let line = line + cell_line - 1;
                return Err(CellError::new("ConfigError", format!("- line {line}, column {col}: {message}")));
            }
            Err(e) => return Err(CellError::new("ConfigError", e.to_string())),
        };
        let loaded = job::include_pipelines(loaded, &self.job_options(), &self.session.storage).await;
        if loaded.entries.is_empty() {
            return Err(CellError::new("ConfigError", "No stages found."));
        }
        let planned = match job::plan(&loaded, &self.session).await {
            Ok(p) => p,
            Err(JobError::Config(errors)) => {
                let mut out = Vec::new();
                for stage in errors {
                    let type_name = loaded.entries.iter().find(|e| e.index == stage.index).map(|e| e.type_name.clone());
                    let file = stage.origin.as_ref().map(|o| format!(" in {o}")).unwrap_or_default();
                    out.push(format!("Stage '{}' ({}){file}:", stage.name, type_name.unwrap_or_default()));
                    for e in stage.errors {
                        out.push(format!("- {}: {}", e.attribute, e.message));
                    }
                }
                return Err(CellError::new("ConfigError", out.join("\n")));
            }
            Err(e) => return Err(CellError::new("ConfigError", e.to_string())),
        };
        let total = planned.len();
        let cell_started = Instant::now();
        for (position, p) in planned.iter().enumerate() {
            let label = if total > 1 {
                format!("stage {}/{total} '{}' ({})", position + 1, p.name, p.type_name)
            } else {
                format!("'{}' ({})", p.name, p.type_name)
            };
            fe.progress(&format!("{label}: running"), ProgressState::Running);
            let run = weir_engine::runner::execute_stage(&self.session, p).await;
            let duration = run.duration_ms;
            let (outcome, exit) = match run.result {
                Ok(done) => done,
                Err(message) => {
                    let mut detail = p.stage.detail();
                    detail.insert("index".into(), p.index.into());
                    self.session.log.emit(
                        Level::Error,
                        weir_engine::obj! { "event" => "exit", "status" => "failure", "duration" => duration, "stage" => stage_json(p, detail), "message" => message },
                    );
                    fe.progress(&format!("{label}: failed after {duration} ms"), ProgressState::Failed);
                    let message = if self.extended_errors {
                        message
                    } else {
                        message.lines().next().unwrap_or_default().to_string()
                    };
                    return Err(CellError::new(
                        "StageFailed",
                        format!("Stage '{}' ({}) failed:\n- {message}", p.name, p.type_name),
                    ));
                }
            };
            let output_view = p.stage.detail().get("outputView").and_then(Value::as_str).map(str::to_string);
            let log = options.show_log.then(|| Value::Object(self.session.log.build(Level::Info, exit)).to_string());
            match output_view {
                Some(view) => {
                    let df =
                        self.session.view(&view).await.map_err(|e| CellError::new("StageFailed", e.to_string()))?;
                    let mut table = self.table(df, options).await?;
                    if options.dataset_labels && Some(view.as_str()) != placeholder {
                        table.label = Some(view);
                    }
                    fe.display(Output::Table { table, options: options.clone(), log });
                }
                None => {
                    let mut text = "Success. No result.".to_string();
                    if let Some(message) = outcome.detail.get("message") {
                        text = format!("Success. {message}");
                    }
                    match log {
                        Some(log) => fe.display(Output::Text(format!("{text}\n{log}"))),
                        None => fe.display(Output::Text(text)),
                    }
                }
            }
        }
        if cell_started.elapsed().as_millis() > 0 {
            fe.progress(
                &format!("{total} stage(s) in {:.2} s", cell_started.elapsed().as_secs_f64()),
                ProgressState::Done,
            );
        }
        Ok(())
    }

    async fn table(&self, df: DataFrame, options: &DisplayOptions) -> Result<Table, CellError> {
        let err = |e: datafusion::error::DataFusionError| CellError::new("StageFailed", clean_error(&e.to_string()));
        let schema = df.schema().as_arrow().clone();
        let batches = df.limit(0, Some(options.num_rows + 1)).map_err(err)?.collect().await.map_err(err)?;
        Table::from_batches(&schema, &batches, options.num_rows, options.truncate)
            .map_err(|e| CellError::new("DisplayError", e.to_string()))
    }

    async fn view_arg(&self, magic: &str, rest: &str) -> Result<(String, DataFrame), CellError> {
        let name = rest.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string();
        if name.is_empty() {
            return Err(CellError::new(
                "MagicError",
                format!("{magic} needs a view name on its second line, e.g.\n{magic}\nmy_view"),
            ));
        }
        let df = self.session.view(&name).await.map_err(|e| CellError::new("MagicError", e.to_string()))?;
        Ok((name, df))
    }

    async fn magic(&mut self, magic: &str, first_line: &str, rest: &str, fe: &dyn Frontend) -> Result<(), CellError> {
        let lower = magic.to_ascii_lowercase();
        let args = notebook::parse_magic_args(first_line.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or(""));
        let arg = |k: &str| args.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        match lower.as_str() {
            "%printschema" => {
                let (_, df) = self.view_arg(magic, rest).await?;
                fe.display(Output::Text(display::print_schema(df.schema().as_arrow())));
            }
            "%schema" => {
                let (_, df) = self.view_arg(magic, rest).await?;
                fe.display(Output::Text(display::schema_json(df.schema().as_arrow())));
            }
            "%printmetadata" => {
                let (_, df) = self.view_arg(magic, rest).await?;
                fe.display(Output::Text(arc_metadata(df.schema().as_arrow())));
            }
            "%metadata" => {
                let (_, df) = self.view_arg(magic, rest).await?;
                let batch = metadata_batch(df.schema().as_arrow()).map_err(|e| CellError::new("MagicError", e))?;
                self.show_batch(batch, arg("outputView"), &args, fe).await?;
            }
            "%summary" => {
                let (_, df) = self.view_arg(magic, rest).await?;
                let simple: Vec<String> = df
                    .schema()
                    .as_arrow()
                    .fields()
                    .iter()
                    .filter(|f| !f.data_type().is_nested())
                    .map(|f| f.name().clone())
                    .collect();
                let cols: Vec<&str> = simple.iter().map(String::as_str).collect();
                let err =
                    |e: datafusion::error::DataFusionError| CellError::new("MagicError", clean_error(&e.to_string()));
                let stats = df.select_columns(&cols).map_err(err)?.describe().await.map_err(err)?;
                let mut options = self.cell_display(&args);
                options.num_rows = options.num_rows.max(10);
                let table = self.table(stats, &options).await?;
                fe.display(Output::Table { table, options, log: None });
            }
            "%list" => {
                let uri = rest.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string();
                if uri.is_empty() {
                    return Err(CellError::new("MagicError", "%list needs a URI on its second line"));
                }
                let batch = self.listing(&uri).await?;
                self.show_batch(batch, arg("outputView"), &args, fe).await?;
            }
            "%version" => {
                fe.display(Output::Text(format!(
                    "weir: {}\ndatafusion: {}\nprotocol: Jupyter messaging 5.3\n",
                    env!("CARGO_PKG_VERSION"),
                    datafusion::DATAFUSION_VERSION
                )));
            }
            "%help" => fe.display(Output::Text(HELP.to_string())),
            "%conf" => self.conf_magic(first_line, rest, fe),
            "%env" => self.env_magic(first_line, rest, fe),
            "%secret" => self.secret_magic(rest, fe).await?,
            _ => {
                let near = KNOWN_MAGICS
                    .iter()
                    .filter(|m| strsim::levenshtein(m, &lower) <= 2)
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>();
                let hint =
                    if near.is_empty() { String::new() } else { format!(" Perhaps you meant: {}.", near.join(", ")) };
                return Err(CellError::new(
                    "UnknownMagic",
                    format!("Unknown magic '{magic}'.{hint} Known magics: {}", KNOWN_MAGICS.join(" ")),
                ));
            }
        }
        Ok(())
    }

    async fn show_batch(
        &mut self,
        batch: RecordBatch,
        output_view: Option<String>,
        args: &[(String, String)],
        fe: &dyn Frontend,
    ) -> Result<(), CellError> {
        let options = self.cell_display(args);
        let schema = batch.schema();
        let table = Table::from_batches(&schema, std::slice::from_ref(&batch), options.num_rows, options.truncate)
            .map_err(|e| CellError::new("DisplayError", e.to_string()))?;
        if let Some(view) = output_view {
            let mem = MemTable::try_new(schema, vec![vec![batch]])
                .map_err(|e| CellError::new("MagicError", e.to_string()))?;
            self.session
                .register_view(&view, Arc::new(mem))
                .map_err(|e| CellError::new("MagicError", e.to_string()))?;
        }
        fe.display(Output::Table { table, options, log: None });
        Ok(())
    }

    async fn listing(&self, uri: &str) -> Result<RecordBatch, CellError> {
        let files = self
            .session
            .storage
            .list_files(uri)
            .await
            .map_err(|e| CellError::new("MagicError", e.to_string()))?
            .unwrap_or_default();
        let mut rows: Vec<(String, String, String, String, u64)> = files
            .iter()
            .map(|f| {
                let path = f.url.to_string();
                let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("").to_string();
                let modified = f.meta.last_modified.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                (path, name, modified, human_size(f.meta.size), f.meta.size)
            })
            .collect();
        rows.sort_by(|a, b| a.1.cmp(&b.1));
        let col = |i: usize| -> ArrayRef {
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| match i {
                        0 => r.0.clone(),
                        1 => r.1.clone(),
                        2 => r.2.clone(),
                        _ => r.3.clone(),
                    })
                    .collect::<Vec<_>>(),
            ))
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("path", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("modificationTime", DataType::Utf8, false),
            Field::new("size", DataType::Utf8, false),
            Field::new("bytes", DataType::UInt64, false),
        ]));
        let bytes: ArrayRef = Arc::new(UInt64Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>()));
        RecordBatch::try_new(schema, vec![col(0), col(1), col(2), col(3), bytes])
            .map_err(|e| CellError::new("MagicError", e.to_string()))
    }

    fn conf_magic(&mut self, first_line: &str, rest: &str, fe: &dyn Frontend) {
        let mut pairs: Vec<(String, String)> =
            notebook::parse_magic_args(first_line.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or(""));
        for line in rest.lines() {
            if let Some((k, v)) = line.split_once('=') {
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut warnings = Vec::new();
        for (k, v) in &pairs {
            match k.as_str() {
                "numRows" | "truncate" | "monospace" | "leftAlign" | "datasetLabels" | "showLog" => {
                    apply_display_args(&mut self.conf, [(k.as_str(), v.as_str())]);
                }
                "logger" => {
                    warnings.push("'logger' was renamed 'showLog' in Arc 3.12; using it as showLog".to_string());
                    apply_display_args(&mut self.conf, [("showLog", v.as_str())]);
                }
                "extendedErrors" => self.extended_errors = v.eq_ignore_ascii_case("true"),
                "streaming" | "streamingDuration" | "master" => {
                    warnings.push(format!("'{k}' has no effect in Weir (no Spark session, no streaming yet)"));
                }
                other => warnings.push(format!("unknown %conf key '{other}' ignored")),
            }
        }
        for w in warnings {
            fe.display(Output::Warning(format!("Warning: {w}.")));
        }
        let max = self.settings.max_rows.map(|m| m.to_string()).unwrap_or_else(|| "unlimited".into());
        let c = &self.conf;
        fe.display(Output::Text(format!(
            "numRows: {} (CONF_MAX_NUM_ROWS: {max})\ntruncate: {}\nmonospace: {}\nleftAlign: {}\ndatasetLabels: {}\nshowLog: {}\nextendedErrors: {}\n",
            c.num_rows, c.truncate, c.monospace, c.left_align, c.dataset_labels, c.show_log, self.extended_errors
        )));
    }

    fn env_magic(&mut self, first_line: &str, rest: &str, fe: &dyn Frontend) {
        let mut pairs = Vec::new();
        // The old one-line form `%env KEY=VALUE` (the workshop uses it).
        if let Some((_, inline)) = first_line.split_once(char::is_whitespace) {
            let inline = inline.trim();
            if let Some((k, v)) = inline.split_once('=') {
                fe.display(Output::Warning(format!(
                    "Warning: '%env {}=...' on the magic line is the old one-line form; current Arc ignores it. Put KEY=VALUE pairs on the lines after %env.",
                    k.trim()
                )));
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        for line in rest.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some((k, v)) = line.split_once('=') {
                pairs.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        if !pairs.is_empty() {
            self.vars = pairs.into_iter().collect();
            self.secrets.clear();
        }
        let listing: String = self.masked_vars().iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        fe.display(Output::Text(if listing.is_empty() { "No variables set.".into() } else { listing }));
    }

    async fn secret_magic(&mut self, rest: &str, fe: &dyn Frontend) -> Result<(), CellError> {
        let names: Vec<&str> = rest.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if names.is_empty() {
            return Err(CellError::new("MagicError", "%secret needs variable names, one per line after %secret"));
        }
        for name in names {
            let Some(value) = fe.input(&format!("{name}: "), true).await else {
                return Err(CellError::new(
                    "MagicError",
                    "%secret needs a front end that can prompt for input (allow_stdin); none is connected",
                ));
            };
            self.secrets.add(name, &value);
            self.vars.insert(name.to_string(), value);
        }
        let listing: String = self.masked_vars().iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        fe.display(Output::Text(listing));
        Ok(())
    }
}

fn apply_display_args<'a>(o: &mut DisplayOptions, args: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (k, v) in args {
        let flag = v.trim().eq_ignore_ascii_case("true");
        match k {
            "numRows" => o.num_rows = v.trim().parse().unwrap_or(o.num_rows),
            "truncate" => o.truncate = v.trim().parse().unwrap_or(o.truncate),
            "monospace" => o.monospace = flag,
            "leftAlign" => o.left_align = flag,
            "datasetLabels" => o.dataset_labels = flag,
            "showLog" => o.show_log = flag,
            _ => {}
        }
    }
}

fn flatten(out: &mut Vec<String>, prefix: &str, f: &Field) {
    let name = if f.name().chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        f.name().clone()
    } else {
        format!("`{}`", f.name())
    };
    let full = format!("{prefix}{name}");
    match f.data_type() {
        DataType::Struct(fields) => {
            for child in fields {
                flatten(out, &format!("{full}."), child);
            }
        }
        _ => out.push(full),
    }
}

fn human_size(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", units[u]) }
}

/// Arc's type name of an Arrow type, for `%printmetadata`.
fn arc_type(t: &DataType) -> Map<String, Value> {
    let mut m = Map::new();
    let name = match t {
        DataType::Boolean => "boolean",
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "long",
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "double",
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => {
            m.insert("precision".into(), (*p).into());
            m.insert("scale".into(), (*s).into());
            "decimal"
        }
        DataType::Date32 | DataType::Date64 => {
            m.insert("formatters".into(), serde_json::json!(["uuuu-MM-dd"]));
            "date"
        }
        DataType::Timestamp(_, _) => {
            m.insert("formatters".into(), serde_json::json!(["uuuu-MM-dd'T'HH:mm:ss.SSSXXX"]));
            m.insert("timezoneId".into(), "UTC".into());
            "timestamp"
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            m.insert("encoding".into(), "base64".into());
            "binary"
        }
        DataType::List(_) | DataType::LargeList(_) => "array",
        DataType::Struct(_) => "struct",
        _ => "string",
    };
    m.insert("type".into(), name.into());
    m
}

/// The schema as an Arc metadata JSON document.
fn arc_metadata(schema: &Schema) -> String {
    let fields: Vec<Value> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != "_errors" && f.name() != "_filename" && f.name() != "_index")
        .map(|f| {
            let mut m = Map::new();
            m.insert("name".into(), f.name().clone().into());
            m.append(&mut arc_type(f.data_type()));
            m.insert("nullable".into(), f.is_nullable().into());
            m.insert("trim".into(), true.into());
            m.insert("nullableValues".into(), serde_json::json!(["", "null"]));
            for (k, v) in f.metadata() {
                m.entry(k.clone())
                    .or_insert_with(|| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone())));
            }
            Value::Object(m)
        })
        .collect();
    serde_json::to_string_pretty(&fields).unwrap_or_default()
}

/// One row per field: name, type, nullable and each metadata key as `metadata.<key>`.
fn metadata_batch(schema: &Schema) -> Result<RecordBatch, String> {
    let keys: BTreeSet<String> = schema.fields().iter().flat_map(|f| f.metadata().keys().cloned()).collect();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut fields = vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("nullable", DataType::Utf8, false),
    ];
    columns.push(Arc::new(StringArray::from(schema.fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>())));
    columns.push(Arc::new(StringArray::from(
        schema.fields().iter().map(|f| display::spark_type(f.data_type())).collect::<Vec<_>>(),
    )));
    columns.push(Arc::new(StringArray::from(
        schema.fields().iter().map(|f| f.is_nullable().to_string()).collect::<Vec<_>>(),
    )));
    for key in keys {
        fields.push(Field::new(format!("metadata.{key}"), DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from(
            schema.fields().iter().map(|f| f.metadata().get(&key).cloned()).collect::<Vec<_>>(),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

const HELP: &str = "\
Weir notebook (the Arc kernel, natively)

A cell without a magic is one or more stage objects (HOCON/JSON), e.g.
  { \"type\": \"DelimitedExtract\", \"name\": \"x\", \"environments\": [\"dev\"], \"inputURI\": \"data/*.csv\", \"outputView\": \"raw\" }
In the notebook every stage runs whatever its `environments`; in a job (`weir run`) only those listing the environment.

Stage magics (first line; the rest of the cell is SQL):
  %sql            SQLTransform    e.g. %sql outputView=v name=\"calc\" environments=dev,test sqlParams=t=raw persist=true
  %sqlvalidate    SQLValidate     SQL returns one row [boolean, string message]
  %log            LogExecute      SQL returns one row [string message], written to the log
  %configexecute  ConfigExecute   SQL returns one row [string] holding a JSON object; its keys become ${...} variables of later cells
  %arc            a stage object after the magic line
  %metadatafilter MetadataFilterTransform  e.g. %metadatafilter inputView=v outputView=public\n SELECT name FROM metadata WHERE NOT metadata.private
  %metadatavalidate MetadataValidate     SQL over the view `metadata` (inputView=v) returns one row [boolean, string message]
  Display arguments on the magic line: numRows= truncate= monospace= leftAlign= datasetLabels= showLog=

Inspection magics (view or URI on the second line):
  %printschema  %schema  %metadata  %printmetadata  %summary  %list  %version  %help

Session magics:
  %conf    numRows, truncate, monospace, leftAlign, datasetLabels, showLog, extendedErrors (KEY=VALUE per line)
  %env     KEY=VALUE per line: replaces all variables (secrets too); no pairs lists them
  %secret  variable names, one per line: asked for with a password prompt, masked everywhere

Environment: CONF_NUM_ROWS, CONF_MAX_NUM_ROWS (hard cap), CONF_TRUNCATE, CONF_DISPLAY_*, CONF_SHOW_LOG,
ETL_CONF_COMPLETION_ENVIRONMENTS (environments in completion snippets).
";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder {
        outputs: Mutex<Vec<Output>>,
        answer: Option<String>,
    }

    #[async_trait]
    impl Frontend for Recorder {
        fn display(&self, output: Output) {
            self.outputs.lock().unwrap().push(output);
        }
        fn progress(&self, _text: &str, _state: ProgressState) {}
        async fn input(&self, _prompt: &str, _password: bool) -> Option<String> {
            self.answer.clone()
        }
    }

    impl Recorder {
        fn take(&self) -> Vec<Output> {
            std::mem::take(&mut *self.outputs.lock().unwrap())
        }
    }

    fn interpreter() -> Interpreter {
        Interpreter::new(HashMap::new(), Secrets::default())
    }

    #[tokio::test]
    async fn sql_cells_show_tables_and_views_persist() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute(
            "%sql outputView=v numRows=2\nSELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, NULL)) AS t(id, s)",
            1,
            &fe,
        )
        .await
        .unwrap();
        let out = fe.take();
        let Output::Table { table, options, .. } = &out[0] else { panic!("{out:?}") };
        assert_eq!(options.num_rows, 2);
        assert_eq!(table.columns, ["id", "s"]);
        assert_eq!(table.rows, [vec!["1", "a"], vec!["2", "b"]]);
        assert!(table.more);
        it.execute("%sql\nSELECT count(*) AS n FROM V", 2, &fe).await.unwrap();
        let Output::Table { table, .. } = &fe.take()[0] else { panic!() };
        assert_eq!(table.rows, [vec!["3"]]);
        assert!(!it.session.view_names().contains(&PLACEHOLDER_VIEW.to_string()), "placeholder dropped");
        it.execute("%printschema\nv", 3, &fe).await.unwrap();
        assert_eq!(
            fe.take(),
            [Output::Text("root\n |-- id: integer (nullable = false)\n |-- s: string (nullable = true)\n".into())]
        );
        let views = it.views().await;
        assert_eq!(views, [ViewInfo { name: "v".into(), columns: vec!["id".into(), "s".into()] }]);
    }

    #[tokio::test]
    async fn log_cells_run_log_execute() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute("%log name=counts\nSELECT TO_JSON(NAMED_STRUCT('count', 3)) AS message", 1, &fe).await.unwrap();
        let out = fe.take();
        assert!(matches!(&out[0], Output::Text(t) if t.starts_with("Success. {\"count\":3}")), "{out:?}");
        let err = it.execute("%log\nSELECT 1, 2", 2, &fe).await.unwrap_err();
        assert!(format!("{err:?}").contains("LogExecute requires query to return 1 row"), "{err:?}");
    }

    #[tokio::test]
    async fn config_execute_cells_set_variables_for_later_cells() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute(
            "%configexecute name=vars\nSELECT TO_JSON(NAMED_STRUCT('LIMIT', 2, 'T', NAMED_STRUCT('v', 'x'))) AS p",
            1,
            &fe,
        )
        .await
        .unwrap();
        let out = fe.take();
        assert!(matches!(&out[0], Output::Table { table, .. } if table.rows.len() == 1), "{out:?}");
        it.execute("%sql outputView=v sqlParams=t=${T.v},n=${LIMIT}\nSELECT '${t}' AS t, ${n} AS n", 2, &fe)
            .await
            .unwrap();
        let Output::Table { table, .. } = &fe.take()[0] else { panic!() };
        assert_eq!(table.rows, [vec!["x", "2"]]);
        let err = it.execute("%configexecute\nSELECT '[1]'", 3, &fe).await.unwrap_err();
        assert!(format!("{err:?}").contains("must be a JSON object"), "{err:?}");
    }

    #[tokio::test]
    async fn metadata_filter_and_validate_cells() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute("%sql outputView=v\nSELECT 1 AS id, 'x' AS s", 1, &fe).await.unwrap();
        it.execute(
            "%metadatafilter inputView=v outputView=ids\nSELECT name FROM metadata WHERE type = 'integer'",
            2,
            &fe,
        )
        .await
        .unwrap();
        fe.take();
        it.execute("%printschema\nids", 3, &fe).await.unwrap();
        assert_eq!(fe.take(), [Output::Text("root\n |-- id: integer (nullable = false)\n".into())]);
        it.execute("%metadatavalidate inputView=v\nSELECT COUNT(*) = 2, 'two columns' FROM metadata", 4, &fe)
            .await
            .unwrap();
        let err = it.execute("%metadatavalidate inputView=v\nSELECT FALSE, 'no'", 5, &fe).await.unwrap_err();
        assert!(format!("{err:?}").contains("MetadataValidate failed with message: 'no'."), "{err:?}");
    }

    #[tokio::test]
    async fn env_feeds_substitution_and_typos_warn() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute("%env X=41", 1, &fe).await.unwrap();
        let out = fe.take();
        assert!(matches!(&out[0], Output::Warning(w) if w.contains("old one-line form")), "{out:?}");
        it.execute("%sqlvaildate outputView=chk sqlParams=n=${X}\nSELECT ${n} + 1 AS answer", 2, &fe).await.unwrap();
        let out = fe.take();
        assert!(matches!(&out[0], Output::Warning(w) if w.contains("'%sqlvaildate'")), "{out:?}");
        let Output::Table { table, .. } = &out[1] else { panic!("{out:?}") };
        assert_eq!(table.rows, [vec!["42"]]);
        // The multi-line form replaces the whole map.
        it.execute("%env\nY=1\nZ=a b", 3, &fe).await.unwrap();
        assert_eq!(fe.take(), [Output::Text("Y: 1\nZ: a b\n".into())]);
    }

    #[tokio::test]
    async fn errors_name_the_stage_and_attribute() {
        let mut it = interpreter();
        let fe = Recorder::default();
        let err = it
            .execute(
                "{\"type\": \"SQLTransform\", \"name\": \"calc\", \"sql\": \"SELECT 1\", \"outputVew\": \"x\"}",
                1,
                &fe,
            )
            .await
            .unwrap_err();
        assert!(err.evalue.contains("Stage 'calc' (SQLTransform):"), "{}", err.evalue);
        assert!(err.evalue.contains("- outputVew: Invalid attribute 'outputVew'"), "{}", err.evalue);
        let err = it.execute("{\n\"type\": \"SQLTransform\",\n\"name\" = = 1}", 2, &fe).await.unwrap_err();
        assert!(err.evalue.starts_with("- line 3,"), "{}", err.evalue);
        let err = it.execute("%sql\nSELECT * FROM missing_view", 3, &fe).await.unwrap_err();
        assert!(err.evalue.contains("missing_view"), "{}", err.evalue);
        assert!(err.evalue.contains("'notebook cell 3' (SQLTransform)"), "{}", err.evalue);
        let err = it.execute("%summry\nv", 4, &fe).await.unwrap_err();
        assert!(err.evalue.contains("Perhaps you meant: %summary"), "{}", err.evalue);
        let err = it.execute("", 5, &fe).await;
        assert!(err.is_ok());
    }

    #[tokio::test]
    async fn secrets_are_prompted_masked_and_literal_secrets_refused() {
        let mut it = interpreter();
        let fe = Recorder { answer: Some("hunter2".into()), ..Default::default() };
        it.execute("%secret\nPASSWORD", 1, &fe).await.unwrap();
        assert_eq!(fe.take(), [Output::Text("PASSWORD: *******\n".into())]);
        it.execute("%sql outputView=s sqlParams=p=${PASSWORD}\nSELECT length('${p}') AS n", 2, &fe).await.unwrap();
        let Output::Table { table, .. } = &fe.take()[0] else { panic!() };
        assert_eq!(table.rows, [vec!["7"]]);
        let err = it
            .execute("{\"type\": \"SQLTransform\", \"name\": \"x\", \"secretAccessKey\": \"abc\", \"sql\": \"SELECT 1\", \"outputView\": \"y\"}", 3, &fe)
            .await
            .unwrap_err();
        assert!(err.evalue.starts_with("Secret found in input"), "{}", err.evalue);
        let no_stdin = Recorder::default();
        assert!(it.execute("%secret\nX", 4, &no_stdin).await.unwrap_err().evalue.contains("prompt"));
    }

    #[tokio::test]
    async fn summary_and_metadata_views() {
        let mut it = interpreter();
        let fe = Recorder::default();
        it.execute("%sql outputView=v\nSELECT * FROM (VALUES (1, 2.5), (3, 4.5)) AS t(a, b)", 1, &fe).await.unwrap();
        fe.take();
        it.execute("%summary\nv", 2, &fe).await.unwrap();
        let Output::Table { table, .. } = &fe.take()[0] else { panic!() };
        assert_eq!(table.columns, ["describe", "a", "b"]);
        assert!(table.rows.iter().any(|r| r[0] == "mean" && r[1] == "2" && r[2] == "3.5"), "{:?}", table.rows);
        it.execute("%metadata outputView=meta\nv", 3, &fe).await.unwrap();
        fe.take();
        it.execute("%sql\nSELECT name, type FROM meta ORDER BY name", 4, &fe).await.unwrap();
        let Output::Table { table, .. } = &fe.take()[0] else { panic!() };
        // Spark's types: `1` is an INT and `2.5` a DECIMAL(2,1).
        assert_eq!(table.rows, [vec!["a", "integer"], vec!["b", "decimal(2,1)"]]);
    }
}
