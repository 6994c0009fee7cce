//! Computing a lazy view once when the job reads it more than once.
//!
//! Arc's views are lazy: every stage that reads a view computes it again, so a typed CSV read by
//! a validation, a load and a merge is parsed and typed three times. Before a job runs,
//! [`CachePlan::new`] looks at its stages and picks the views whose plan will run two or more
//! times and whose result cannot change between those runs. Such a view is registered as a
//! [`CachedView`]: the first stage that reads it computes it in full and writes its partitions
//! to local Arrow IPC files (LZ4, in TMPDIR through DataFusion's disk manager, so memory stays
//! bounded); later reads stream those files. After the last stage that reads it, the files are
//! deleted; an unforeseen later read computes the view again, as a lazy view would.
//!
//! A view is never cached when a different result could follow: when its plan calls a volatile
//! function (`rand()`, `uuid()`), when it derives from a source Weir cannot see change (JDBC,
//! HTTP, an HTTP transform), when a stage between its definition and its last read writes to
//! one of the locations it reads from, or runs an HTTP or JDBC execute. `WEIR_VIEW_CACHE=false`
//! turns caching off (every view is then lazy, as in Arc).

use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, BufWriter};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::CompressionType;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::{FileWriter, IpcWriteOptions};
use datafusion::catalog::{Session as CatalogSession, TableProvider};
use datafusion::common::stats::{Precision, Statistics};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SpillFile;
use datafusion::execution::{SessionState, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::events::EventLog;

/// Whether a stage's output view is defined lazily over the views it reads: every transform but
/// HTTPTransform, which calls its service once when the stage runs.
fn defines_lazily(type_name: &str) -> bool {
    type_name.ends_with("Transform") && type_name != "HTTPTransform"
}

/// Extracts whose data is what lies at `inputURI` (or in the view they read).
const FILE_EXTRACTS: &[&str] = &[
    "DelimitedExtract",
    "JSONExtract",
    "ParquetExtract",
    "AvroExtract",
    "ORCExtract",
    "TextExtract",
    "BytesExtract",
    "DeltaLakeExtract",
    "MetadataExtract",
    "StatisticsExtract",
];

/// Extracts whose view is read from columnar files with projections and filters pushed down:
/// a local copy would cost as much as reading them again.
const CHEAP_TO_READ: &[&str] = &["ParquetExtract", "DeltaLakeExtract"];

/// Stages that change nothing a file-based view reads (JDBC and HTTP writes go elsewhere; views
/// over JDBC or HTTP sources are never cached).
const NO_FILE_WRITES: &[&str] = &[
    "SQLValidate",
    "EqualityValidate",
    "MetadataValidate",
    "ConsoleLoad",
    "JDBCLoad",
    "HTTPLoad",
    "LogExecute",
    "ControlFlowExecute",
    "ConfigExecute",
];

/// One version of a view (a name registered again is a new version).
struct Version {
    name: String,
    /// Position of the stage that registers it.
    defined: usize,
    /// The locations its data comes from; `None`: a source that may change unseen.
    sources: Option<Vec<String>>,
    /// Lazily defined (so each read computes it), as opposed to computed when registered.
    lazy: bool,
    /// Worth a local copy (not a columnar file read).
    cacheable: bool,
    /// (reading stage position, occurrences in that stage, output version when that stage
    /// defines a lazy view over it)
    readers: Vec<(usize, usize, Option<usize>)>,
}

/// Which views of a job are computed once, and after which stage each is dropped.
#[derive(Debug, Default, Clone)]
pub struct CachePlan {
    /// (stage position, lower-cased view name) → position after which the cache is dropped.
    entries: HashMap<(usize, String), usize>,
    /// (stage position, view) → the cached view (its stage position and name) whose fill is the
    /// last read of it: dropped as soon as that view is filled.
    after_fill: HashMap<(usize, String), (usize, String)>,
}

impl CachePlan {
    /// Plans from each stage's simple type name and detail (as logged in its `enter` event, with
    /// its SQL after parameter injection).
    pub fn new(stages: &[(String, Map<String, Value>)]) -> Self {
        if stages.iter().any(|(_, d)| d.get("resolution").and_then(Value::as_str) == Some("lazy")) {
            // A stage resolved when reached: what it reads and writes is unknown now.
            return Self::default();
        }
        let mut versions: Vec<Version> = Vec::new();
        let mut current: HashMap<String, usize> = HashMap::new();
        // Per position: the locations a stage writes (None: anything).
        let mut writes: Vec<Option<Vec<String>>> = Vec::new();
        for (pos, (type_name, detail)) in stages.iter().enumerate() {
            let mut read: HashMap<usize, usize> = HashMap::new();
            for (key, value) in detail {
                if key.ends_with("View")
                    && key != "outputView"
                    && let Some(name) = value.as_str()
                    && let Some(&v) = current.get(&name.to_lowercase())
                {
                    *read.entry(v).or_default() += 1;
                }
            }
            if let Some(sql) = detail.get("sql").and_then(Value::as_str) {
                for word in sql.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()) {
                    if let Some(&v) = current.get(&word.to_lowercase()) {
                        *read.entry(v).or_default() += 1;
                    }
                }
            }
            let output = detail.get("outputView").and_then(Value::as_str);
            let persisted = detail.get("persist").and_then(Value::as_bool).unwrap_or(false);
            let t = type_name.as_str();
            let defines_over = output.is_some() && !persisted && defines_lazily(t);
            let lazy = output.is_some() && !persisted && (defines_over || FILE_EXTRACTS.contains(&t));
            let next = versions.len();
            for (&v, &count) in &read {
                versions[v].readers.push((pos, count, defines_over.then_some(next)));
            }
            writes.push(match type_name.as_str() {
                t if NO_FILE_WRITES.contains(&t) || defines_lazily(t) || FILE_EXTRACTS.contains(&t) => Some(Vec::new()),
                t if t.ends_with("Load") => detail.get("outputURI").and_then(Value::as_str).map(|u| vec![location(u)]),
                _ => None,
            });
            if let Some(name) = output {
                let own = uris(detail.get("inputURI"));
                // An extract names where its data lies, or reads a view.
                let known = defines_lazily(t) || (FILE_EXTRACTS.contains(&t) && (own.is_some() || !read.is_empty()));
                let mut sources = known.then(|| own.unwrap_or_default());
                for &v in read.keys() {
                    sources = match (sources, &versions[v].sources) {
                        (Some(mut s), Some(more)) => {
                            s.extend(more.iter().cloned());
                            Some(s)
                        }
                        _ => None,
                    };
                }
                versions.push(Version {
                    name: name.to_lowercase(),
                    defined: pos,
                    sources,
                    lazy,
                    cacheable: !CHEAP_TO_READ.contains(&t),
                    readers: Vec::new(),
                });
                current.insert(name.to_lowercase(), next);
            }
        }
        // Latest first: how often a view's plan runs depends on the views defined over it.
        let mut runs: Vec<Vec<usize>> = vec![Vec::new(); versions.len()];
        let mut cached = vec![false; versions.len()];
        let mut entries = HashMap::new();
        let mut after_fill = HashMap::new();
        for v in (0..versions.len()).rev() {
            // Where the view's plan runs, and for each run the cached view it fills (if so).
            let mut at = Vec::new();
            let mut fills = Vec::new();
            for &(pos, count, over) in &versions[v].readers {
                for _ in 0..count {
                    match over {
                        Some(w) if cached[w] => {
                            if let Some(&first) = runs[w].iter().min() {
                                at.push(first);
                                fills.push(Some(w));
                            }
                        }
                        Some(w) => {
                            at.extend(runs[w].iter().copied());
                            fills.extend(runs[w].iter().map(|_| None));
                        }
                        None => {
                            at.push(pos);
                            fills.push(None);
                        }
                    }
                }
            }
            let version = &versions[v];
            if version.lazy
                && version.cacheable
                && at.len() >= 2
                && let (Some(sources), Some(&last)) = (&version.sources, at.iter().max())
            {
                let safe = writes[version.defined + 1..=last]
                    .iter()
                    .all(|w| w.as_ref().is_some_and(|w| w.iter().all(|u| sources.iter().all(|s| !overlaps(u, s)))));
                if safe {
                    cached[v] = true;
                    entries.insert((version.defined, version.name.clone()), last);
                    // Last read only by filling one cached view: dropped once that is filled.
                    let mut last_reads = at.iter().zip(&fills).filter(|(p, _)| **p == last).map(|(_, f)| *f);
                    if let Some(Some(w)) = last_reads.next()
                        && last_reads.all(|f| f == Some(w))
                    {
                        let by = (versions[w].defined, versions[w].name.clone());
                        after_fill.insert((version.defined, version.name.clone()), by);
                    }
                }
            }
            runs[v] = at;
        }
        Self { entries, after_fill }
    }

    /// For the views the stage at `position` registers that are to be cached: the cached view
    /// (stage position, name) whose fill is their last read, when it is.
    pub fn dropped_after_fill(&self, position: usize) -> Vec<(String, (usize, String))> {
        self.after_fill
            .iter()
            .filter(|((p, _), _)| *p == position)
            .map(|((_, n), by)| (n.clone(), by.clone()))
            .collect()
    }

    /// The views the stage at `position` registers that are to be cached, each with the position
    /// after which its cache is dropped.
    pub fn cached_at(&self, position: usize) -> Vec<(String, usize)> {
        let mut names: Vec<_> =
            self.entries.iter().filter(|((p, _), _)| *p == position).map(|((_, n), last)| (n.clone(), *last)).collect();
        names.sort();
        names
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The locations of an `inputURI` (a string, or a list of them).
fn uris(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(s) => Some(s.split(',').map(|u| location(u.trim())).collect()),
        Value::Array(items) => items.iter().map(|i| i.as_str().map(location)).collect(),
        _ => None,
    }
}

/// A location reduced for comparison: no `file://`, `s3a://` as `s3://`, up to its first glob
/// character, without trailing slashes.
fn location(uri: &str) -> String {
    let uri = uri.strip_prefix("file://").unwrap_or(uri);
    let uri = match uri.strip_prefix("s3a://") {
        Some(rest) => format!("s3://{rest}"),
        None => uri.to_string(),
    };
    let end = uri.find(['*', '?', '[', '{']).unwrap_or(uri.len());
    uri[..end].trim_end_matches('/').to_string()
}

/// Whether writing under `a` may change what is read under `b` (or the other way round).
fn overlaps(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner.strip_prefix(outer).is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || outer.is_empty())
    };
    within(a, b) || within(b, a)
}

/// Whether a plan may give a different result each time it runs (a volatile function anywhere).
pub fn is_volatile(plan: &LogicalPlan) -> bool {
    let mut volatile = false;
    let _ = plan.apply_with_subqueries(|node| {
        volatile = node.expressions().iter().any(Expr::is_volatile);
        Ok(if volatile { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue })
    });
    volatile
}

enum State {
    /// Not computed yet.
    Empty,
    /// Computed: one IPC file per partition, in partition order.
    Filled(Vec<(Arc<dyn SpillFile>, u64)>),
    /// Read lazily: the cache was dropped, or could not be written.
    Lazy,
}

/// A view computed in full by its first reader, then read from local files.
pub struct CachedView {
    name: String,
    lazy: Arc<dyn TableProvider>,
    schema: SchemaRef,
    state: tokio::sync::Mutex<State>,
    log: EventLog,
    /// Caches whose last read is this view's fill: dropped once it is filled.
    dependents: std::sync::Mutex<Vec<Arc<CachedView>>>,
}

impl fmt::Debug for CachedView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedView").field("name", &self.name).finish_non_exhaustive()
    }
}

impl CachedView {
    /// `lazy`: the view as a lazy view, computed by the first read and after [`Self::release`].
    /// `dependents`: caches to drop once this view is filled (their last read).
    pub fn new(name: &str, lazy: Arc<dyn TableProvider>, log: EventLog, dependents: Vec<Arc<CachedView>>) -> Self {
        Self {
            name: name.to_string(),
            schema: lazy.schema(),
            lazy,
            state: tokio::sync::Mutex::new(State::Empty),
            log,
            dependents: std::sync::Mutex::new(dependents),
        }
    }

    /// Deletes the cached files; reads from now on compute the view.
    pub async fn release(&self) {
        let mut state = self.state.lock().await;
        if let State::Filled(files) = &*state {
            let bytes: u64 = files.iter().filter_map(|(f, _)| f.size()).sum();
            self.log.info(crate::obj! { "event" => "viewCache", "view" => self.name, "released" => bytes });
        }
        *state = State::Lazy;
    }

    /// Computes the view, writing each partition to its own file (all partitions at once, as a
    /// repartitioned plan needs).
    async fn fill(&self, session: &dyn CatalogSession) -> DfResult<Result<Vec<(Arc<dyn SpillFile>, u64)>, String>> {
        let started = Instant::now();
        // Planned without round-robin repartitioning, so each cached partition holds the rows of
        // one of the view's source partitions in their order: reads see the partitions, and the
        // row order, a lazy read would (a single CSV file stays one ordered partition).
        let plan = match session.as_any().downcast_ref::<SessionState>() {
            Some(state) => {
                let mut state = state.clone();
                state.config_mut().options_mut().optimizer.enable_round_robin_repartition = false;
                self.lazy.scan(&state, None, &[], None).await?
            }
            None => self.lazy.scan(session, None, &[], None).await?,
        };
        let context = session.task_ctx();
        let disk = session.runtime_env().disk_manager.clone();
        let partitions = plan.properties().partitioning.partition_count();
        let mut tasks = tokio::task::JoinSet::new();
        // The cache may take at most a quarter of the space free in TMPDIR now (the rest stays
        // for spills and other jobs); a view that needs more is computed by each read instead.
        let budget = Arc::new(AtomicI64::new(i64::MAX));
        for partition in 0..partitions {
            let stream = plan.execute(partition, context.clone())?;
            let file = disk.create_tmp_file("weir view cache");
            if partition == 0
                && let Ok(f) = &file
                && let Some(free) = f.path().and_then(|p| p.parent()).and_then(free_space)
            {
                budget.store((free / 4).min(i64::MAX as u64) as i64, Ordering::Relaxed);
            }
            let schema = self.schema.clone();
            let budget = budget.clone();
            tasks.spawn(async move { (partition, write_partition(stream, file, schema, budget).await) });
        }
        let mut files: Vec<Option<(Arc<dyn SpillFile>, u64)>> = vec![None; partitions];
        let mut rows = 0u64;
        let mut unwritable = None;
        while let Some(joined) = tasks.join_next().await {
            let (partition, written) = joined.map_err(|e| DataFusionError::External(Box::new(e)))?;
            match written {
                Ok((file, n)) => {
                    rows += n;
                    files[partition] = Some((file, n));
                }
                Err(Failure::Compute(e)) => return Err(e),
                Err(Failure::Write(e)) => unwritable = Some(e),
            }
        }
        if let Some(e) = unwritable {
            return Ok(Err(e));
        }
        let files: Vec<_> = files.into_iter().flatten().collect();
        let bytes: u64 = files.iter().filter_map(|(f, _)| f.size()).sum();
        self.log.info(crate::obj! {
            "event" => "viewCache",
            "view" => self.name,
            "rows" => rows,
            "bytes" => bytes,
            "partitions" => files.len(),
            "duration" => started.elapsed().as_millis() as u64,
        });
        Ok(Ok(files))
    }
}

enum Failure {
    /// The view's own plan failed: the read fails as a lazy read would.
    Compute(DataFusionError),
    /// The local file could not be written (disk full, the temporary space limit).
    Write(String),
}

async fn write_partition(
    mut stream: SendableRecordBatchStream,
    file: DfResult<Arc<dyn SpillFile>>,
    schema: SchemaRef,
    budget: Arc<AtomicI64>,
) -> Result<(Arc<dyn SpillFile>, u64), Failure> {
    let file = file.map_err(|e| Failure::Write(e.to_string()))?;
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::LZ4_FRAME))
        .map_err(|e| Failure::Write(e.to_string()))?;
    let sink = file.open_writer().map_err(|e| Failure::Write(e.to_string()))?;
    let mut writer = FileWriter::try_new_with_options(BufWriter::with_capacity(1 << 20, sink), &schema, options)
        .map_err(|e| Failure::Write(e.to_string()))?;
    let (mut rows, mut counted) = (0u64, 0u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(Failure::Compute)?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| Failure::Write(e.to_string()))?;
        let size = file.size().unwrap_or(0);
        if budget.fetch_sub(size.saturating_sub(counted) as i64, Ordering::Relaxed) < 0 {
            return Err(Failure::Write("it would take more than a quarter of the free space of TMPDIR".into()));
        }
        counted = size;
    }
    writer.finish().map_err(|e| Failure::Write(e.to_string()))?;
    let mut sink = writer
        .into_inner()
        .map_err(|e| Failure::Write(e.to_string()))?
        .into_inner()
        .map_err(|e| Failure::Write(e.to_string()))?;
    sink.finish().map_err(|e| Failure::Write(e.to_string()))?;
    Ok((file, rows))
}

/// Bytes available to this process in the file system holding `dir`.
fn free_space(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: statvfs fills the struct it is given, which we own, from a NUL-terminated path.
    if unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful call above (and zeroed before it).
    let stat = unsafe { stat.assume_init() };
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

/// One cached partition, read back with a projection.
struct CachedPartition {
    file: Arc<dyn SpillFile>,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
}

impl fmt::Debug for CachedPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedPartition").field("file", &self.file.path()).finish()
    }
}

impl PartitionStream for CachedPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let mut builder = RecordBatchReceiverStream::builder(self.schema.clone(), 2);
        let tx = builder.tx();
        let path = self.file.path().map(|p| p.to_path_buf());
        let projection = self.projection.clone();
        let file = self.file.clone();
        builder.spawn_blocking(move || {
            let _keep = file;
            let read = || -> DfResult<()> {
                let path = path.ok_or_else(|| DataFusionError::Internal("view cache file has no path".into()))?;
                let reader =
                    FileReader::try_new(BufReader::with_capacity(1 << 20, std::fs::File::open(path)?), projection)?;
                for batch in reader {
                    if tx.blocking_send(batch.map_err(DataFusionError::from)).is_err() {
                        break;
                    }
                }
                Ok(())
            };
            read()
        });
        builder.build()
    }
}

#[async_trait]
impl TableProvider for CachedView {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        session: &dyn CatalogSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let mut state = self.state.lock().await;
        if matches!(*state, State::Empty) {
            *state = match self.fill(session).await? {
                Ok(files) => {
                    let done = self.dependents.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
                    for view in done {
                        view.release().await;
                    }
                    State::Filled(files)
                }
                Err(reason) => {
                    self.log.warn(crate::obj! {
                        "event" => "viewCache",
                        "view" => self.name,
                        "message" => format!("not cached, computed by each read: {reason}"),
                    });
                    State::Lazy
                }
            };
        }
        let files = match &*state {
            State::Filled(files) => files.clone(),
            _ => return self.lazy.scan(session, projection, filters, limit).await,
        };
        drop(state);
        let schema = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        if files.is_empty() {
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let rows = files.iter().map(|(_, n)| *n).collect();
        let partitions = files
            .into_iter()
            .map(|(file, _)| {
                Arc::new(CachedPartition { file, projection: projection.cloned(), schema: schema.clone() })
                    as Arc<dyn PartitionStream>
            })
            .collect();
        // No limit here: the plan keeps its own above the scan, and the row counts stay exact.
        let inner = Arc::new(StreamingTableExec::try_new(schema, partitions, None, Vec::new(), false, None)?);
        Ok(Arc::new(CachedExec { inner, rows }))
    }
}

/// Reads a cached view: its partitions, with their exact row counts, so the planner treats it
/// as it treats an in-memory table (a small one is not repartitioned, keeping its row order).
#[derive(Debug)]
struct CachedExec {
    inner: Arc<StreamingTableExec>,
    rows: Vec<u64>,
}

impl DisplayAs for CachedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CachedViewExec: partitions={}, rows={}", self.rows.len(), self.rows.iter().sum::<u64>())
    }
}

impl ExecutionPlan for CachedExec {
    fn name(&self) -> &str {
        "CachedViewExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.inner.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        match children.is_empty() {
            true => Ok(self),
            false => Err(DataFusionError::Internal("CachedViewExec has no children".into())),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        self.inner.execute(partition, context)
    }

    fn statistics_from_inputs(&self, _inputs: &[Arc<Statistics>], args: &StatisticsArgs) -> DfResult<Arc<Statistics>> {
        let rows = match args.partition() {
            Some(p) => self.rows.get(p).copied().unwrap_or(0),
            None => self.rows.iter().sum(),
        };
        let mut statistics = Statistics::new_unknown(&self.schema());
        statistics.num_rows = Precision::Exact(rows as usize);
        Ok(Arc::new(statistics))
    }
}

/// The caches of one run: views to cache when the current stage registers them, and the live
/// caches with the position after which each is dropped.
#[derive(Default)]
pub struct ViewCaches {
    pending: std::sync::Mutex<Pending>,
    live: std::sync::Mutex<Vec<(usize, Arc<CachedView>)>>,
    /// Caches dropped once a given view (stage position, name) is filled.
    awaiting_fill: std::sync::Mutex<Vec<((usize, String), Arc<CachedView>)>>,
    /// Set once the disk filled up: nothing is cached any more.
    off: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Pending {
    position: usize,
    names: HashMap<String, usize>,
    after_fill: HashMap<String, (usize, String)>,
}

impl ViewCaches {
    /// The views the next stage registers that are to be cached (lower-cased names).
    pub fn expect(&self, position: usize, plan: &CachePlan) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Pending {
                position,
                names: plan.cached_at(position).into_iter().collect(),
                after_fill: plan.dropped_after_fill(position).into_iter().collect(),
            };
        }
    }

    /// After a stage: nothing more is expected.
    pub fn clear(&self) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Pending::default();
        }
    }

    /// When the current stage's `name` is to be cached: the position after which it is dropped.
    pub fn expected(&self, name: &str) -> Option<usize> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        self.pending.lock().ok()?.names.get(&name.to_lowercase()).copied()
    }

    /// The caches to drop once the current stage's view `name` is filled.
    pub fn dependents(&self, name: &str) -> Vec<Arc<CachedView>> {
        let Some(key) = self.pending.lock().ok().map(|p| (p.position, name.to_lowercase())) else {
            return Vec::new();
        };
        match self.awaiting_fill.lock() {
            Ok(mut awaiting) => {
                let (mine, rest): (Vec<_>, Vec<_>) = awaiting.drain(..).partition(|(by, _)| *by == key);
                *awaiting = rest;
                mine.into_iter().map(|(_, v)| v).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Keeps `view` (the current stage's `name`) until after the stage at `last`, or until the
    /// view whose fill is its last read is filled.
    pub fn track(&self, name: &str, last: usize, view: Arc<CachedView>) {
        let by = self.pending.lock().ok().and_then(|p| p.after_fill.get(&name.to_lowercase()).cloned());
        if let (Some(by), Ok(mut awaiting)) = (by, self.awaiting_fill.lock()) {
            awaiting.push((by, view.clone()));
        }
        if let Ok(mut live) = self.live.lock() {
            live.push((last, view));
        }
    }

    /// Drops every cache and caches nothing from now on; false when there was nothing to drop.
    pub async fn drop_all(&self) -> bool {
        let views: Vec<Arc<CachedView>> = match self.live.lock() {
            Ok(mut live) => live.drain(..).map(|(_, v)| v).collect(),
            Err(_) => return false,
        };
        if let Ok(mut awaiting) = self.awaiting_fill.lock() {
            awaiting.clear();
        }
        let was_on = !self.off.swap(true, Ordering::Relaxed);
        for view in &views {
            view.release().await;
        }
        was_on && !views.is_empty()
    }

    /// Drops the caches whose last reader was at or before `position`.
    pub async fn release_through(&self, position: usize) {
        let done: Vec<Arc<CachedView>> = match self.live.lock() {
            Ok(mut live) => {
                let (done, keep): (Vec<_>, Vec<_>) = live.drain(..).partition(|(last, _)| *last <= position);
                *live = keep;
                done.into_iter().map(|(_, v)| v).collect()
            }
            Err(_) => return,
        };
        for view in done {
            view.release().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stage(type_name: &str, detail: Value) -> (String, Map<String, Value>) {
        (type_name.to_string(), detail.as_object().cloned().unwrap_or_default())
    }

    fn scd2() -> Vec<(String, Map<String, Value>)> {
        vec![
            stage("DelimitedExtract", json!({"inputURI": "/d/initial.csv", "outputView": "initial_raw"})),
            stage("TypingTransform", json!({"inputView": "initial_raw", "outputView": "initial_typed"})),
            stage("SQLValidate", json!({"sql": "SELECT SUM(x) FROM initial_typed"})),
            stage("SQLTransform", json!({"sql": "SELECT id FROM initial_typed", "outputView": "initial_load"})),
            stage("DeltaLakeLoad", json!({"inputView": "initial_load", "outputURI": "/out/contact/"})),
            stage("DelimitedExtract", json!({"inputURI": "/d/update.csv", "outputView": "delta_raw"})),
            stage("TypingTransform", json!({"inputView": "delta_raw", "outputView": "delta_typed"})),
            stage("SQLValidate", json!({"sql": "SELECT SUM(x) FROM delta_typed"})),
            stage("SQLTransform", json!({"sql": "SELECT id FROM delta_typed", "outputView": "update_load"})),
            stage(
                "SQLTransform",
                json!({"sql": "SELECT 1 FROM initial_load o JOIN update_load n UNION ALL SELECT * FROM update_load", "outputView": "staged"}),
            ),
            stage("DeltaLakeMergeLoad", json!({"inputView": "staged", "outputURI": "/out/contact"})),
            stage("DeltaLakeExtract", json!({"inputURI": "/out/contact/", "outputView": "contact"})),
            stage("SQLValidate", json!({"sql": "SELECT COUNT(*) FROM contact"})),
        ]
    }

    #[test]
    fn views_read_twice_are_cached_until_their_last_read() {
        let plan = CachePlan::new(&scd2());
        // initial_typed: by the gate (2) and by the fill of initial_load (at the load, 4).
        assert_eq!(plan.cached_at(1), vec![("initial_typed".to_string(), 4)]);
        // initial_load: by the load (4) and the merge (10), through the lazy `staged`.
        assert_eq!(plan.cached_at(3), vec![("initial_load".to_string(), 10)]);
        assert_eq!(plan.cached_at(6), vec![("delta_typed".to_string(), 10)]);
        // update_load: twice in the merge's source.
        assert_eq!(plan.cached_at(8), vec![("update_load".to_string(), 10)]);
        // initial_typed and delta_typed are last read by filling initial_load and update_load.
        assert_eq!(plan.dropped_after_fill(1), vec![("initial_typed".to_string(), (3, "initial_load".to_string()))]);
        assert_eq!(plan.dropped_after_fill(6), vec![("delta_typed".to_string(), (8, "update_load".to_string()))]);
        assert!(plan.dropped_after_fill(3).is_empty() && plan.dropped_after_fill(8).is_empty());
        // Read once: lazy.
        for position in [0, 5, 9, 11] {
            assert!(plan.cached_at(position).is_empty(), "position {position}");
        }
    }

    #[test]
    fn a_view_whose_source_is_written_before_its_last_read_stays_lazy() {
        let stages = vec![
            stage("ParquetExtract", json!({"inputURI": "s3a://b/t/*.parquet", "outputView": "t"})),
            stage("SQLTransform", json!({"sql": "SELECT * FROM t", "outputView": "v"})),
            stage("SQLValidate", json!({"sql": "SELECT COUNT(*) FROM v"})),
            stage("ParquetLoad", json!({"inputView": "v", "outputURI": "s3://b/t"})),
            stage("SQLValidate", json!({"sql": "SELECT COUNT(*) FROM v"})),
        ];
        assert!(CachePlan::new(&stages).is_empty());
        // Written elsewhere: cached.
        let mut elsewhere = stages.clone();
        elsewhere[3].1.insert("outputURI".into(), "s3://b/t2".into());
        assert_eq!(CachePlan::new(&elsewhere).cached_at(1), vec![("v".to_string(), 4)]);
        // An HTTP execute between the reads: lazy.
        let mut http = elsewhere.clone();
        http[3] = stage("HTTPExecute", json!({"uri": "http://x"}));
        assert!(CachePlan::new(&http).is_empty());
    }

    #[test]
    fn opaque_sources_persisted_views_and_lazy_stages_are_not_cached() {
        let reads = |first: (String, Map<String, Value>)| {
            vec![
                first,
                stage("SQLValidate", json!({"sql": "SELECT COUNT(*) FROM v"})),
                stage("SQLValidate", json!({"sql": "SELECT COUNT(*) FROM v"})),
            ]
        };
        assert!(CachePlan::new(&reads(stage("JDBCExtract", json!({"jdbcURL": "x", "outputView": "v"})))).is_empty());
        assert!(
            CachePlan::new(&reads(stage("ParquetExtract", json!({"inputURI": "/a", "outputView": "v"})))).is_empty()
        );
        let csv = stage("DelimitedExtract", json!({"inputURI": "/a", "outputView": "v"}));
        assert_eq!(CachePlan::new(&reads(csv)).cached_at(0), vec![("v".to_string(), 2)]);
        let persisted = stage("SQLTransform", json!({"sql": "SELECT 1", "outputView": "v", "persist": true}));
        assert!(CachePlan::new(&reads(persisted)).is_empty());
        let transform = stage("SQLTransform", json!({"sql": "SELECT 1", "outputView": "v"}));
        assert_eq!(CachePlan::new(&reads(transform.clone())).cached_at(0), vec![("v".to_string(), 2)]);
        let mut stages = reads(transform);
        stages[1].1.insert("resolution".into(), "lazy".into());
        assert!(CachePlan::new(&stages).is_empty());
    }

    #[test]
    fn locations_overlap_by_path_prefix() {
        assert!(overlaps(&location("file:///a/b/"), &location("/a/b/c.csv")));
        assert!(overlaps(&location("s3a://x/t/*.parquet"), &location("s3://x/t")));
        assert!(!overlaps(&location("/a/bc"), &location("/a/b")));
    }
}
