//! Loading a job: read the file, convert notebooks, parse HOCON, apply the `environments`
//! filter, resolve each stage's variables, then build and validate every stage before any
//! runs. All problems of all stages are reported together, each with stage index, name,
//! line (or notebook cell) and attribute.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use md5::{Digest, Md5};
use serde_json::{Map, Value};
use weir_config::hocon::{self, Node, NodeValue};
use weir_config::notebook;

use crate::config::{ConfigError, StageConfig};
use crate::session::{Session, Settings};
use crate::stages::{self, Stage};
use crate::storage::{Storage, StorageError, parse_uri};

/// How a job is started: Arc's `ETL_CONF_*` settings and `--KEY=VALUE` variables.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// Job file URI or path (`ETL_CONF_URI`).
    pub uri: String,
    /// `ETL_CONF_ENV`; required to run a job (not to lint it).
    pub environment: Option<String>,
    pub ignore_environments: bool,
    pub lint_only: bool,
    pub enable_stacktrace: bool,
    pub job_id: Option<String>,
    pub job_name: Option<String>,
    /// `ETL_CONF_TAGS` as `k=v` pairs.
    pub tags: Vec<(String, String)>,
    /// Command-line variables (`--KEY=VALUE`), highest substitution priority.
    pub args: Vec<(String, String)>,
    /// Process environment: substitution fallback.
    pub env: HashMap<String, String>,
    /// Variables ConfigExecute stages produced earlier (the notebook kernel's session), above
    /// every other substitution source.
    pub variables: Map<String, Value>,
    pub settings: Settings,
    /// `ETL_POLICY_IPYNB`.
    pub allow_notebooks: bool,
    /// A setting that could not be read (the run fails with it before loading the job).
    pub invalid_setting: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")
}

impl JobOptions {
    /// Whether an entry listing `environments` runs (the environments filter).
    fn selects(&self, environments: &[String]) -> bool {
        self.ignore_environments || self.environment.as_ref().is_some_and(|env| environments.iter().any(|e| e == env))
    }

    /// Reads Arc's settings: each from its `--etl.config.*` argument, else its `ETL_CONF_*`
    /// variable. Other `--KEY=VALUE` arguments become substitution variables.
    pub fn from_arc(env: HashMap<String, String>, args: Vec<(String, String)>) -> Self {
        let setting = |property: &str, var: &str| -> Option<String> {
            args.iter()
                .rev()
                .find(|(k, _)| k == property)
                .map(|(_, v)| v.clone())
                .or_else(|| env.get(var).cloned())
                .filter(|v| !v.trim().is_empty())
        };
        let flag =
            |property: &str, var: &str, default: bool| setting(property, var).map(|v| truthy(&v)).unwrap_or(default);
        let tags = setting("etl.config.tags", "ETL_CONF_TAGS")
            .map(|t| {
                t.split_whitespace()
                    .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let mut invalid_setting = None;
        let memory_limit = setting("weir.memoryLimit", "WEIR_MEMORY_LIMIT").and_then(|v| {
            crate::memory::parse_size(&v).map_err(|e| invalid_setting = Some(format!("WEIR_MEMORY_LIMIT: {e}"))).ok()
        });
        let settings = Settings {
            immutable_views: flag("etl.config.immutableViews", "ETL_CONF_IMMUTABLE_VIEWS", false),
            inline_sql: flag("etl.policy.inline.sql", "ETL_POLICY_INLINE_SQL", true),
            inline_schema: flag("etl.policy.inline.schema", "ETL_POLICY_INLINE_SCHEMA", true),
            drop_unsupported: flag("etl.policy.drop.unsupported", "ETL_POLICY_DROP_UNSUPPORTED", true),
            count_rows: flag("weir.countRows", "WEIR_COUNT_ROWS", false),
            sql: crate::sql::SqlOptions {
                case_sensitive: flag("spark.sql.caseSensitive", "WEIR_SQL_CASE_SENSITIVE", false),
                ansi: flag("spark.sql.ansi.enabled", "WEIR_SQL_ANSI", false),
            },
            memory_limit,
            view_cache: flag("weir.viewCache", "WEIR_VIEW_CACHE", true),
        };
        Self {
            uri: setting("etl.config.uri", "ETL_CONF_URI").unwrap_or_default(),
            environment: setting("etl.config.environment", "ETL_CONF_ENV"),
            ignore_environments: flag("etl.config.ignoreEnvironments", "ETL_CONF_IGNORE_ENVIRONMENTS", false),
            lint_only: flag("etl.config.lintOnly", "ETL_CONF_LINT_ONLY", false),
            enable_stacktrace: flag("etl.config.enableStackTrace", "ETL_CONF_ENABLE_STACKTRACE", false),
            job_id: setting("etl.config.job.id", "ETL_CONF_JOB_ID"),
            job_name: setting("etl.config.job.name", "ETL_CONF_JOB_NAME"),
            tags,
            allow_notebooks: flag("etl.policy.ipynb", "ETL_POLICY_IPYNB", true),
            invalid_setting,
            args: args
                .into_iter()
                .filter(|(k, _)| !k.starts_with("etl.config.") && !k.starts_with("etl.policy."))
                .collect(),
            env,
            variables: Map::new(),
            settings,
        }
    }

    /// The fields Arc adds to every log line (all strings).
    pub fn log_context(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("environment".into(), self.environment.clone().unwrap_or_default().into());
        m.insert("streaming".into(), "false".into());
        m.insert("ignoreEnvironments".into(), self.ignore_environments.to_string().into());
        m.insert("enableStackTrace".into(), self.enable_stacktrace.to_string().into());
        if let Some(id) = &self.job_id {
            m.insert("jobId".into(), id.clone().into());
        }
        if let Some(name) = &self.job_name {
            m.insert("jobName".into(), name.clone().into());
        }
        for (k, v) in &self.tags {
            m.insert(k.clone(), v.clone().into());
        }
        m
    }
}

/// All problems of one stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageErrors {
    #[serde(rename = "stageIndex")]
    pub index: usize,
    #[serde(rename = "stage")]
    pub name: String,
    #[serde(rename = "lineNumber")]
    pub line: u32,
    /// Notebook code-cell index, for jobs converted from a notebook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<usize>,
    /// For a stage of a job included by PipelineExecute: that job and who included it.
    #[serde(rename = "includedFrom", skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    pub errors: Vec<ConfigError>,
}

/// Where an included (PipelineExecute) job's stage comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The included job file.
    pub uri: String,
    /// The PipelineExecute stage that included it: `stage 2 'common' of 'parent.json'`.
    #[serde(rename = "includedBy")]
    pub included_by: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' (included by {})", self.uri, self.included_by)
    }
}

impl fmt::Display for StageErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.origin.as_ref().map(|o| format!(" in {o}")).unwrap_or_default();
        match self.cell {
            Some(cell) => writeln!(f, "Stage: {} '{}'{file} (notebook cell {}):", self.index, self.name, cell)?,
            None => writeln!(f, "Stage: {} '{}'{file} (starting on line {}):", self.index, self.name, self.line)?,
        }
        for e in &self.errors {
            match e.line {
                Some(line) if self.cell.is_none() => writeln!(f, "  - {} (Line {line}): {}", e.attribute, e.message)?,
                _ => writeln!(f, "  - {}: {}", e.attribute, e.message)?,
            }
        }
        Ok(())
    }
}

/// Why a job could not start.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Arc's words, then Weir's own way to give it.
    #[error(
        "No config defined as a command line argument --etl.config.uri or ETL_CONF_URI environment variable. (weir run JOB also takes the job file as its argument.)"
    )]
    NoUri,
    /// Arc's words (Arc's own message names `ETL_CONF_ENVIRONMENT`, a variable it never reads;
    /// Weir names the one it reads), then Weir's hint.
    #[error(
        "No environment defined as a command line argument --etl.config.environment or ETL_CONF_ENV environment variable. (weir run also takes --env ENV; stages run only in the environments they list.)"
    )]
    NoEnvironment,
    #[error("cannot read job '{uri}': {source}")]
    Read { uri: String, source: Box<StorageError> },
    #[error(
        "Support for IPython Notebook Configuration Files (.ipynb) for configuration '{0}' has been disabled by policy."
    )]
    NotebooksDisabled(String),
    #[error("{uri}: {message}")]
    Notebook { uri: String, message: String },
    #[error("{uri}: line {line}, column {col}: {message}")]
    Parse { uri: String, line: u32, col: u32, message: String },
    #[error("{uri}: {message}")]
    Structure { uri: String, message: String },
    #[error("{0}")]
    Setting(String),
    #[error("ETL Config contains errors:\n{}", .0.iter().map(|e| e.to_string()).collect::<String>())]
    Config(Vec<StageErrors>),
}

/// One entry of the `stages` list after the environments filter.
#[derive(Debug)]
pub struct Entry {
    pub index: usize,
    pub line: u32,
    pub cell: Option<usize>,
    pub type_name: String,
    pub name: String,
    pub id: Option<String>,
    pub description: Option<String>,
    pub environments: Vec<String>,
    /// False when the environments filter skips it.
    pub selected: bool,
    /// The resolved stage object, or the resolution problem.
    pub node: Result<Node, Vec<ConfigError>>,
    /// Set for `resolution: lazy` stages: the unresolved object, resolved when the stage is
    /// reached (then `node` is not used).
    pub lazy: Option<LazySource>,
    /// Set for the stages of a job a PipelineExecute stage included.
    pub origin: Option<Origin>,
}

/// The unresolved object of a `resolution: lazy` stage, with what resolving it needs.
#[derive(Debug, Clone)]
pub struct LazySource {
    doc: Arc<hocon::Document>,
    /// Position in the document's `stages` list.
    item: usize,
    vars: hocon::Vars,
}

impl LazySource {
    /// Resolves the stage object with the variables the session holds now (ConfigExecute's
    /// output first).
    fn resolve(&self, session: &Session) -> Result<Node, ConfigError> {
        let Some(item) =
            self.doc.root().get("stages").and_then(|s| s.as_array()).and_then(|items| items.get(self.item))
        else {
            return Err(ConfigError::new("stage", None, "lazy stage not found in its job document"));
        };
        let mut vars = self.vars.clone();
        let variables = session.variables();
        if !variables.is_empty() {
            vars.dynamic = Some(Node::from_json(&Value::Object(variables), item.line()));
        }
        self.doc.resolve(item, &vars).map_err(|e| ConfigError::new("stage", Some(e.line), e.to_string()))
    }
}

/// How a stage's variables are resolved: at job start (`strict`, the default) or when the
/// stage is reached (`lazy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Strict,
    Lazy,
}

/// A job file read and parsed, not yet validated.
#[derive(Debug)]
pub struct LoadedJob {
    pub uri: String,
    pub content_md5: String,
    pub entries: Vec<Entry>,
    /// Conversion warnings (notebook magics) and notices.
    pub warnings: Vec<String>,
    /// Notebook cells a job drops (inspection and session magics): (cell index, magic).
    pub dropped_cells: Vec<(usize, String)>,
    /// Keys of the job's `ControlFlow` lifecycle plugins: a stage is skipped once a
    /// ControlFlowExecute has set one of them to false.
    pub control_flow_keys: Vec<String>,
}

/// Reads and parses a job, applies the environments filter and resolves variables.
pub async fn load(options: &JobOptions, storage: &Storage) -> Result<LoadedJob, JobError> {
    if options.uri.trim().is_empty() {
        return Err(JobError::NoUri);
    }
    let job = load_one(options, storage).await?;
    Ok(include_pipelines(job, options, storage).await)
}

/// Most levels of PipelineExecute inclusion (a job including a job including ...).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Replaces every selected PipelineExecute stage by the stages of the job it names (read and
/// filtered like the parent; recursively). A PipelineExecute whose job cannot be read or
/// parsed, or which includes itself, keeps its place and reports the problem as its config
/// error, so all problems are reported together.
pub async fn include_pipelines(job: LoadedJob, options: &JobOptions, storage: &Storage) -> LoadedJob {
    let chain = vec![job.uri.clone()];
    include_inner(job, options, storage, chain).await
}

fn include_inner<'a>(
    mut job: LoadedJob,
    options: &'a JobOptions,
    storage: &'a Storage,
    chain: Vec<String>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = LoadedJob> + Send + 'a>> {
    Box::pin(async move {
        if !job.entries.iter().any(is_include) {
            return job;
        }
        let mut entries = Vec::with_capacity(job.entries.len());
        for mut entry in std::mem::take(&mut job.entries) {
            if !is_include(&entry) {
                entries.push(entry);
                continue;
            }
            let Ok(node) = &entry.node else {
                entries.push(entry);
                continue;
            };
            let mut config = StageConfig::new(node);
            let uri = stages::execute::pipeline::read(&mut config);
            let (uri, line) = match (uri, config.finish()) {
                (Some(uri), Ok(())) => (uri, node.get("uri").map(|n| n.line)),
                (_, result) => {
                    entry.node = Err(result.err().unwrap_or_default());
                    entries.push(entry);
                    continue;
                }
            };
            let included_by = format!("stage {} '{}' of '{}'", entry.index, entry.name, job.uri);
            if chain.contains(&uri) || chain.len() > MAX_INCLUDE_DEPTH {
                let message = match chain.contains(&uri) {
                    true => format!("'{uri}' includes itself: {} -> {uri}", chain.join(" -> ")),
                    false => format!("more than {MAX_INCLUDE_DEPTH} levels of PipelineExecute: {}", chain.join(" -> ")),
                };
                entry.node = Err(vec![ConfigError::new("uri", line, message)]);
                entries.push(entry);
                continue;
            }
            let child_options = JobOptions { uri: uri.clone(), ..options.clone() };
            let child = match Box::pin(load_one(&child_options, storage)).await {
                Ok(child) => child,
                Err(e) => {
                    entry.node = Err(vec![ConfigError::new("uri", line, e.to_string())]);
                    entries.push(entry);
                    continue;
                }
            };
            let mut chain = chain.clone();
            chain.push(uri.clone());
            let child = include_inner(child, options, storage, chain).await;
            job.warnings.extend(child.warnings.iter().map(|w| format!("{uri}: {w}")));
            job.control_flow_keys.extend(child.control_flow_keys);
            for mut included in child.entries {
                included.origin.get_or_insert_with(|| Origin { uri: uri.clone(), included_by: included_by.clone() });
                entries.push(included);
            }
        }
        job.entries = entries;
        job
    })
}

/// A selected PipelineExecute stage resolved at job start.
fn is_include(entry: &Entry) -> bool {
    entry.selected && entry.lazy.is_none() && stages::INLINED.contains(&stages::simple_type_name(&entry.type_name))
}

/// Reads and parses one job file, without inlining what it includes.
async fn load_one(options: &JobOptions, storage: &Storage) -> Result<LoadedJob, JobError> {
    let uri = options.uri.clone();
    let url = parse_uri(&uri).map_err(|source| JobError::Read { uri: uri.clone(), source: Box::new(source) })?;
    let bytes = storage
        .read_bytes(&url)
        .await
        .map_err(|source| JobError::Read { uri: uri.clone(), source: Box::new(source) })?;
    let content_md5 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Md5::digest(&bytes));
    let text = crate::storage::utf8_text(&uri, bytes.to_vec())
        .map_err(|source| JobError::Read { uri: uri.clone(), source: Box::new(source) })?;
    parse_text(options, &uri, &text, content_md5)
}

/// Parses job text (HOCON/JSON, or a notebook when `uri` ends with `.ipynb`).
pub fn parse_text(options: &JobOptions, uri: &str, text: &str, content_md5: String) -> Result<LoadedJob, JobError> {
    let mut warnings = Vec::new();
    let mut dropped_cells = Vec::new();
    let mut converted = None;
    let hocon_text = if uri.to_ascii_lowercase().ends_with(".ipynb") {
        if !options.allow_notebooks {
            return Err(JobError::NotebooksDisabled(uri.to_string()));
        }
        let nb = notebook::convert(text, uri)
            .map_err(|e| JobError::Notebook { uri: uri.to_string(), message: e.to_string() })?;
        warnings.extend(nb.warnings.iter().cloned());
        dropped_cells.extend(nb.dropped.iter().map(|d| (d.cell, d.magic.clone())));
        let text = nb.hocon.clone();
        converted = Some(nb);
        text
    } else {
        text.to_string()
    };
    let doc = Arc::new(hocon::parse(&hocon_text).map_err(|e| {
        let (line, col) = (e.line, e.col);
        match &converted {
            Some(nb) => match nb.cell_of_line(line) {
                Some((cell, cell_line)) => JobError::Notebook {
                    uri: uri.to_string(),
                    message: format!("cell {cell}, line {cell_line}: {}", e.message),
                },
                None => JobError::Parse { uri: uri.to_string(), line, col, message: e.message.clone() },
            },
            None => JobError::Parse { uri: uri.to_string(), line, col, message: e.message.clone() },
        }
    })?);
    let vars = hocon::Vars {
        dynamic: (!options.variables.is_empty()).then(|| Node::from_json(&Value::Object(options.variables.clone()), 1)),
        overrides: options.args.iter().cloned().collect(),
        env: options.env.clone(),
    };
    let Some(stages) = doc.root().get("stages") else {
        return Err(JobError::Structure {
            uri: uri.to_string(),
            message: format!(
                "Key 'stages' missing from job configuration. Have keys: [{}].",
                doc.root().leaf_paths().join(", ")
            ),
        });
    };
    let Some(items) = stages.as_array() else {
        let line = match &converted {
            Some(nb) => nb.cell_of_line(stages.line()).map(|(cell, line)| format!("cell {cell}, line {line}")),
            None => None,
        }
        .unwrap_or_else(|| format!("line {}", stages.line()));
        return Err(JobError::Structure {
            uri: uri.to_string(),
            message: format!("{line}: Expected stages to be a List of Objects."),
        });
    };
    let mut entries = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let line = item.line();
        let cell = converted.as_ref().and_then(|nb| nb.cell_of_line(line)).map(|(cell, _)| cell);
        let text_of = |key: &str| -> Option<String> {
            item.get(key).and_then(|n| doc.resolve(n, &vars).ok()).and_then(|n| crate::config::scalar_text(&n))
        };
        let type_name = text_of("type").unwrap_or_default();
        let name = text_of("name").unwrap_or_else(|| "unnamed stage".to_string());
        let environments = item
            .get("environments")
            .and_then(|n| doc.resolve(n, &vars).ok())
            .map(|n| environment_list(&n))
            .unwrap_or_default();
        let selected = options.selects(&environments);
        let resolution = match text_of("resolution").as_deref() {
            None | Some("strict") => Ok(Resolution::Strict),
            Some("lazy") => Ok(Resolution::Lazy),
            Some(other) => Err(ConfigError::new(
                "resolution",
                item.get("resolution").map(|n| n.line()),
                format!("Invalid value '{other}'. Expected one of: ['strict', 'lazy']."),
            )),
        };
        let lazy = (selected && resolution == Ok(Resolution::Lazy)).then(|| LazySource {
            doc: doc.clone(),
            item: index,
            vars: vars.clone(),
        });
        let node = if let Err(e) = resolution {
            Err(e)
        } else if lazy.is_some() {
            Err(ConfigError::new("resolution", Some(line), "resolved when the stage is reached"))
        } else if selected {
            doc.resolve(item, &vars).map_err(|e| {
                // In a notebook, say where in the cell (the generated text's lines mean nothing to users).
                match converted.as_ref().and_then(|nb| nb.cell_of_line(e.line)) {
                    Some((cell, line)) => {
                        ConfigError::new("stage", Some(e.line), format!("cell {cell}, line {line}: {}", e.message))
                    }
                    None => ConfigError::new("stage", Some(e.line), e.to_string()),
                }
            })
        } else {
            Err(ConfigError::new("environments", Some(line), "skipped"))
        };
        entries.push(Entry {
            index,
            line,
            cell,
            type_name,
            name,
            id: text_of("id"),
            description: text_of("description"),
            environments,
            selected,
            node: node.map_err(|e| vec![e]),
            lazy,
            origin: None,
        });
    }
    // Stage ids are unique among the stages the environment selects, as in Arc.
    let mut seen = std::collections::HashSet::new();
    for entry in entries.iter_mut().filter(|e| e.selected) {
        let Some(id) = entry.id.clone() else { continue };
        if !seen.insert(id.clone()) {
            let error = ConfigError::new("id", Some(entry.line), format!("duplicate stage id '{id}' found within job"));
            match &mut entry.node {
                Ok(_) => entry.node = Err(vec![error]),
                Err(errors) => errors.push(error),
            }
        }
    }
    let control_flow_keys = control_flow_keys(&doc, &vars, options, uri)?;
    Ok(LoadedJob { uri: uri.to_string(), content_md5, entries, warnings, dropped_cells, control_flow_keys })
}

/// The environments an entry lists (`environments`: a list, or one value).
fn environment_list(node: &Node) -> Vec<String> {
    match &node.value {
        NodeValue::Array(items) => items.iter().filter_map(crate::config::scalar_text).collect(),
        _ => crate::config::scalar_text(node).into_iter().collect(),
    }
}

/// The `key`s of the `ControlFlow` lifecycle plugins in `plugins.lifecycle` that the
/// environment selects. Weir runs Arc's ControlFlow plugin only: any other lifecycle plugin is
/// refused (it would silently not run).
fn control_flow_keys(
    doc: &hocon::Document,
    vars: &hocon::Vars,
    options: &JobOptions,
    uri: &str,
) -> Result<Vec<String>, JobError> {
    let structure = |line: u32, message: String| JobError::Structure {
        uri: uri.to_string(),
        message: format!("line {line}: {message}"),
    };
    let Some(list) = doc.root().get("plugins").and_then(|p| p.get("lifecycle")) else { return Ok(Vec::new()) };
    let Some(items) = list.as_array() else {
        return Err(structure(list.line(), "Expected plugins.lifecycle to be a List of Objects.".into()));
    };
    let mut keys = Vec::new();
    for item in items {
        let node = doc.resolve(item, vars).map_err(|e| structure(item.line(), e.message.clone()))?;
        let text = |key: &str| node.get(key).and_then(crate::config::scalar_text);
        let type_name = text("type").unwrap_or_default();
        let environments = node.get("environments").map(environment_list).unwrap_or_default();
        if !options.selects(&environments) {
            continue;
        }
        if stages::simple_type_name(&type_name) != "ControlFlow" {
            return Err(structure(
                node.line,
                format!("lifecycle plugin '{type_name}' is not supported yet by Weir (supported: ControlFlow)."),
            ));
        }
        if let NodeValue::Object(fields) = &node.value {
            for (key, value) in fields {
                if !["type", "environments", "key"].contains(&key.as_str()) {
                    return Err(structure(value.line, format!("ControlFlow: Invalid attribute '{key}'.")));
                }
            }
        }
        match text("key") {
            Some(key) => keys.push(key),
            None => return Err(structure(node.line, "ControlFlow: Missing required attribute 'key'.".into())),
        }
    }
    Ok(keys)
}

/// A validated stage, ready to run.
pub struct PlannedStage {
    pub index: usize,
    pub name: String,
    pub type_name: String,
    pub id: Option<String>,
    pub description: Option<String>,
    /// For a stage of a job included by PipelineExecute: that job.
    pub origin: Option<Origin>,
    pub stage: Box<dyn Stage>,
}

/// Builds and validates every selected stage (including checks that read SQL/schema files).
/// Nothing runs unless every stage is valid. A `resolution: lazy` stage is checked for its
/// type only; the rest of it is resolved and validated when it is reached.
pub async fn plan(job: &LoadedJob, session: &Session) -> Result<Vec<PlannedStage>, JobError> {
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    for entry in job.entries.iter().filter(|e| e.selected) {
        let built = match (&entry.lazy, &entry.node) {
            (Some(source), _) => match stages::lookup(&entry.type_name) {
                Ok(_) => Ok(Box::new(LazyStage {
                    source: source.clone(),
                    type_name: entry.type_name.clone(),
                    index: entry.index,
                    name: entry.name.clone(),
                    child: Default::default(),
                }) as Box<dyn Stage>),
                Err(message) => Err(vec![ConfigError::new("type", Some(entry.line), message)]),
            },
            (None, Ok(node)) => build_stage(&entry.type_name, node, session).await,
            (None, Err(errors)) => Err(errors.clone()),
        };
        match built {
            Ok(stage) => planned.push(PlannedStage {
                index: entry.index,
                name: entry.name.clone(),
                type_name: stages::simple_type_name(&entry.type_name).to_string(),
                id: entry.id.clone(),
                description: entry.description.clone(),
                origin: entry.origin.clone(),
                stage,
            }),
            Err(errors) => problems.push(StageErrors {
                index: entry.index,
                name: entry.name.clone(),
                line: entry.line,
                cell: entry.cell,
                origin: entry.origin.clone(),
                errors,
            }),
        }
    }
    if problems.is_empty() { Ok(planned) } else { Err(JobError::Config(problems)) }
}

/// Builds one stage from its resolved object and runs its `prepare` checks.
async fn build_stage(type_name: &str, node: &Node, session: &Session) -> Result<Box<dyn Stage>, Vec<ConfigError>> {
    let mut config = StageConfig::new(node);
    let stage_type = match stages::lookup(type_name) {
        Ok(stage_type) => stage_type,
        // Attributes of an unknown type cannot be checked: report the type alone.
        Err(message) => return Err(vec![ConfigError::new("type", config.line_of("type"), message)]),
    };
    let built = (stage_type.build)(&mut config);
    config.finish()?;
    let mut stage = built.ok_or_else(|| vec![ConfigError::new("stage", None, "invalid stage configuration")])?;
    stage.prepare(session).await?;
    Ok(stage)
}

/// A `resolution: lazy` stage: resolved (seeing ConfigExecute's variables), validated and
/// built when reached; its problems then fail the stage, worded as config errors.
struct LazyStage {
    source: LazySource,
    type_name: String,
    index: usize,
    name: String,
    /// The built stage's detail, for the `exit` event.
    child: std::sync::Mutex<Option<Map<String, Value>>>,
}

#[async_trait::async_trait]
impl Stage for LazyStage {
    fn detail(&self) -> Map<String, Value> {
        let mut m = self.child.lock().ok().and_then(|c| c.clone()).unwrap_or_default();
        m.insert("resolution".into(), "lazy".into());
        m
    }

    async fn execute(&self, session: &Session) -> Result<stages::Outcome, stages::StageError> {
        let built = match self.source.resolve(session) {
            Ok(node) => build_stage(&self.type_name, &node, session).await,
            Err(e) => Err(vec![e]),
        };
        let stage = built.map_err(|errors| {
            let problem =
                StageErrors { index: self.index, name: self.name.clone(), line: 0, cell: None, origin: None, errors };
            let lines: Vec<String> = problem.to_string().lines().skip(1).map(str::to_string).collect();
            stages::StageError::msg(format!("ETL Config contains errors (resolved lazily):\n{}", lines.join("\n")))
        })?;
        if let Ok(mut child) = self.child.lock() {
            *child = Some(stage.detail());
        }
        stage.execute(session).await
    }
}
