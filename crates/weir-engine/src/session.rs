//! The state one job (or one notebook) runs in: a DataFusion session with Spark SQL
//! compatibility and Delta support, the storage layer, the views stages register, and the
//! run's settings.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;

use crate::events::EventLog;
use crate::storage::Storage;

/// Run settings that stages consult (Arc's `ETL_CONF_*` / `ETL_POLICY_*`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ETL_CONF_IMMUTABLE_VIEWS`: re-registering a view name is an error.
    pub immutable_views: bool,
    /// `ETL_POLICY_INLINE_SQL`.
    pub inline_sql: bool,
    /// `ETL_POLICY_INLINE_SCHEMA`.
    pub inline_schema: bool,
    /// `ETL_POLICY_DROP_UNSUPPORTED`: drop NullType columns in loads instead of failing.
    pub drop_unsupported: bool,
    /// `WEIR_COUNT_ROWS` (Weir's own): every stage that registers a view counts its rows
    /// (one extra pass over an unpersisted view), so run histories show a count per stage.
    pub count_rows: bool,
    /// Spark SQL settings: `spark.sql.caseSensitive`, `spark.sql.ansi.enabled`.
    pub sql: crate::sql::SqlOptions,
    /// `WEIR_MEMORY_LIMIT` / `--memory-limit` (bytes): what the job's joins, sorts,
    /// aggregations and window functions may hold (sorts and aggregations then spill to local
    /// disk). `None`: an eighth of the machine's memory ([`crate::memory::default_limit`]).
    pub memory_limit: Option<u64>,
    /// `WEIR_VIEW_CACHE` (Weir's own, default true): a lazy view the job reads more than once
    /// is computed once and kept in local files ([`crate::view_cache`]).
    pub view_cache: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            immutable_views: false,
            inline_sql: true,
            inline_schema: true,
            drop_unsupported: true,
            count_rows: false,
            sql: crate::sql::SqlOptions::default(),
            memory_limit: None,
            view_cache: true,
        }
    }
}

impl Settings {
    /// The memory limit in effect: the one given, else [`crate::memory::default_limit`].
    pub fn memory_limit(&self) -> u64 {
        self.memory_limit.unwrap_or_else(crate::memory::default_limit)
    }
}

/// Views registered by stages, looked up case-insensitively (Spark's view names are
/// case-insensitive) while keeping the name as written.
#[derive(Debug, Default)]
pub struct ViewCatalog {
    views: RwLock<ViewMap>,
}

/// Views by lower-cased name: (name as written, table).
type ViewMap = HashMap<String, (String, Arc<dyn TableProvider>)>;

impl ViewCatalog {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, ViewMap> {
        self.views.read().unwrap_or_else(|p| p.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ViewMap> {
        self.views.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SchemaProvider for ViewCatalog {
    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().values().map(|(n, _)| n.clone()).collect();
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.read().get(&name.to_lowercase()).map(|(_, t)| t.clone()))
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.write().insert(name.to_lowercase(), (name, table)).map(|(_, t)| t))
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.write().remove(&name.to_lowercase()).map(|(_, t)| t))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.read().contains_key(&name.to_lowercase())
    }
}

/// Errors about views.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("view '{0}' does not exist; views defined so far: [{1}]")]
    Missing(String, String),
    #[error("view '{0}' already exists and ETL_CONF_IMMUTABLE_VIEWS is true")]
    Immutable(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

/// One job's execution state.
#[derive(Clone)]
pub struct Session {
    pub ctx: SessionContext,
    pub storage: Storage,
    pub settings: Settings,
    pub log: EventLog,
    views: Arc<ViewCatalog>,
    /// ControlFlowExecute outcomes by key (Arc's `arcContext.userData`): outcome and message.
    control_flow: Arc<std::sync::Mutex<HashMap<String, (bool, Value)>>>,
    /// Substitution variables ConfigExecute stages produced (Arc's `resolutionConfig`).
    variables: Arc<std::sync::Mutex<serde_json::Map<String, Value>>>,
    /// Views computed once (the runner says which, from the job's plan).
    pub caches: Arc<crate::view_cache::ViewCaches>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Session {
    /// A session with Spark SQL compatibility, the Delta planner and an empty view catalog.
    pub fn new(storage: Storage, settings: Settings, log: EventLog) -> Self {
        let limit = settings.memory_limit();
        let mut config = crate::sql::session_config();
        // Each sort keeps this much back to merge its spilled runs: DataFusion's 10 MiB, less
        // under a small limit so that several sorts fit.
        config.options_mut().execution.sort_spill_reservation_bytes = (limit as usize / 64).clamp(64 << 10, 10 << 20);
        // Spilled runs are LZ4-compressed: a large job's spill files take a fraction of the disk.
        config.options_mut().execution.spill_compression = datafusion::common::config::SpillCompression::Lz4Frame;
        // A sort that can take no more memory spills what it holds, but must hold one batch: under
        // a small limit shared by many sorts, batches are smaller (8192 rows from 128 MiB up).
        config = config.with_batch_size((limit as usize / (16 << 10)).clamp(1024, 8192));
        let builder = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(crate::memory::runtime_env(limit))
            .with_default_features();
        let state = crate::sql::with_spark(builder, settings.sql)
            .with_query_planner(deltalake::delta_datafusion::planner::DeltaPlanner::new())
            .build();
        let ctx = SessionContext::new_with_state(state);
        let views = Arc::new(ViewCatalog::default());
        if let Some(catalog) = ctx.catalog("datafusion") {
            // Replace the default schema so unqualified names resolve through `views`.
            let _ = catalog.register_schema("public", views.clone());
        }
        Self {
            ctx,
            storage,
            settings,
            log,
            views,
            control_flow: Default::default(),
            variables: Default::default(),
            caches: Default::default(),
        }
    }

    /// Plans joins from now on as sort-merge joins, whose sorts spill to disk, instead of hash
    /// joins, which hold their build side in memory. False when they already were.
    pub fn use_spilling_joins(&self) -> bool {
        let state = self.ctx.state_ref();
        let mut state = state.write();
        let optimizer = &mut state.config_mut().options_mut().optimizer;
        std::mem::replace(&mut optimizer.prefer_hash_join, false)
    }

    /// Adds ConfigExecute's variables: they take precedence over earlier ones (objects merge).
    pub fn add_variables(&self, new: serde_json::Map<String, Value>) {
        fn merge(into: &mut serde_json::Map<String, Value>, new: serde_json::Map<String, Value>) {
            for (key, value) in new {
                match (into.get_mut(&key), value) {
                    (Some(Value::Object(old)), Value::Object(value)) => merge(old, value),
                    (_, value) => {
                        into.insert(key, value);
                    }
                }
            }
        }
        if let Ok(mut vars) = self.variables.lock() {
            merge(&mut vars, new);
        }
    }

    /// The variables ConfigExecute stages produced so far (empty when none).
    pub fn variables(&self) -> serde_json::Map<String, Value> {
        self.variables.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Records a ControlFlowExecute outcome under `key`.
    pub fn set_control_flow(&self, key: &str, outcome: bool, message: Value) {
        if let Ok(mut map) = self.control_flow.lock() {
            map.insert(key.to_string(), (outcome, message));
        }
    }

    /// The ControlFlowExecute outcome recorded under `key`, if any.
    pub fn control_flow(&self, key: &str) -> Option<(bool, Value)> {
        self.control_flow.lock().ok().and_then(|map| map.get(key).cloned())
    }

    /// Registers (or replaces) a view.
    pub fn register_view(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<(), ViewError> {
        if self.settings.immutable_views && self.views.table_exist(name) {
            return Err(ViewError::Immutable(name.to_string()));
        }
        self.views.register_table(name.to_string(), table)?;
        Ok(())
    }

    /// Registers a DataFrame as a lazy view (re-evaluated by each reader, like a Spark view).
    pub fn register_dataframe(&self, name: &str, df: DataFrame) -> Result<(), ViewError> {
        // Analyze now so the view's schema is final (e.g. `NULL` unioned with an int is an int).
        let plan = df.into_optimized_plan()?;
        let df = DataFrame::new(self.ctx.state(), plan);
        if let Some(last) = self.caches.expected(name) {
            if crate::view_cache::is_volatile(df.logical_plan()) {
                self.log.info(crate::obj! {
                    "event" => "viewCache",
                    "view" => name,
                    "message" => "not cached: its plan calls a volatile function, so each read computes it",
                });
            } else {
                let dependents = self.caches.dependents(name);
                let view =
                    Arc::new(crate::view_cache::CachedView::new(name, df.into_view(), self.log.clone(), dependents));
                self.register_view(name, view.clone())?;
                self.caches.track(name, last, view);
                return Ok(());
            }
        }
        self.register_view(name, df.into_view())
    }

    /// Runs a DataFrame and registers its result in memory (Arc's `persist`), returning the row count.
    pub async fn persist_dataframe(&self, name: &str, df: DataFrame) -> Result<u64, ViewError> {
        let plan = df.into_optimized_plan()?;
        let df = DataFrame::new(self.ctx.state(), plan);
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect_partitioned().await?;
        let rows = batches.iter().flatten().map(|b| b.num_rows() as u64).sum();
        let table = MemTable::try_new(schema, batches)?;
        self.register_view(name, Arc::new(table))?;
        Ok(rows)
    }

    /// A view as a DataFrame.
    pub async fn view(&self, name: &str) -> Result<DataFrame, ViewError> {
        match self.views.table(name).await? {
            Some(table) => Ok(self.ctx.read_table(table)?),
            None => Err(ViewError::Missing(name.to_string(), self.views.table_names().join(", "))),
        }
    }

    /// Removes a view; true when it existed.
    pub fn drop_view(&self, name: &str) -> bool {
        self.views.deregister_table(name).ok().flatten().is_some()
    }

    /// Names of the registered views.
    pub fn view_names(&self) -> Vec<String> {
        self.views.table_names()
    }

    /// Plans one SQL query against the registered views.
    pub async fn sql(&self, sql: &str) -> DfResult<DataFrame> {
        let state = self.ctx.state();
        let plan = crate::sql::plan::plan(&state, &self.views, sql, self.settings.sql).await?;
        let df = self.ctx.execute_logical_plan(plan).await?;
        // Analyzed now, so the DataFrame's schema carries Spark's types (INT literals,
        // rendered casts) before it runs.
        let analyzed =
            state.analyzer().execute_and_check(df.logical_plan().clone(), state.config_options(), |_, _| {})?;
        // Optimized once now, so what DataFusion cannot do fails here, not mid-run.
        if let Err(e) = state.optimize(&analyzed) {
            return Err(crate::sql::errors::spark_terms(e, &self.views, &[]));
        }
        Ok(DataFrame::new(state, analyzed))
    }
}
