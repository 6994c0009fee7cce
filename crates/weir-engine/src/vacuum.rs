//! `weir vacuum PATH`: removes what failed or killed loads left behind.
//!
//! - A **Delta table** (a `_delta_log/` below PATH): delta-rs's full vacuum deletes data files
//!   no commit references (files of a killed load, files removed by commits older than the
//!   retention), keeping everything younger than the retention: by default the table's
//!   `delta.deletedFileRetentionDuration` (7 days); a shorter one is refused unless forced, as
//!   Delta does. A stale symlink manifest is regenerated.
//! - A **file-load output** (and any output directly inside PATH): an interrupted swap is
//!   completed from its journal and staging directories of loads no longer running are deleted
//!   (see [`crate::stages::load::swap`]).
//!
//! A dry run (the default) reports what would be done, with sizes, and changes nothing.

use serde::Serialize;

use crate::delta;
use crate::events::EventLog;
use crate::session::{Session, Settings};
use crate::stages::load::swap::{self, Output, SwapError};
use crate::storage::{Storage, StorageError, parse_uri, store_root};

/// What to vacuum and how.
#[derive(Debug, Clone, Default)]
pub struct VacuumOptions {
    /// Delete (otherwise only report).
    pub apply: bool,
    /// Delta retention in hours (default: the table's `delta.deletedFileRetentionDuration`).
    pub retention_hours: Option<u64>,
    /// Allow a retention shorter than the table's.
    pub force: bool,
}

/// One thing vacuum did or would do.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumItem {
    /// `delete` (a Delta data file), `roll-forward`, `delete-staging` or `repair-manifest`.
    pub action: String,
    pub path: String,
    pub files: usize,
    pub bytes: u64,
}

/// The result of a vacuum.
#[derive(Debug, Clone, Serialize)]
pub struct VacuumReport {
    pub path: String,
    /// `delta` or `files`.
    pub kind: &'static str,
    pub applied: bool,
    pub items: Vec<VacuumItem>,
}

impl VacuumReport {
    /// Bytes deleted (or that would be).
    pub fn bytes(&self) -> u64 {
        self.items.iter().filter(|i| i.action != "roll-forward").map(|i| i.bytes).sum()
    }
}

/// Vacuum failures, each naming the path.
#[derive(Debug, thiserror::Error)]
pub enum VacuumError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Swap(#[from] SwapError),
    #[error("Delta table '{path}': {source}")]
    Delta { path: String, source: deltalake::DeltaTableError },
    #[error(
        "Delta table '{path}': a retention of {requested} hours is shorter than the table's delta.deletedFileRetentionDuration ({minimum} hours); files a concurrent reader or writer still needs could be deleted. Use --force to vacuum anyway."
    )]
    Retention { path: String, requested: u64, minimum: u64 },
}

/// Vacuums PATH (see the module documentation).
pub async fn vacuum(storage: Storage, path: &str, options: &VacuumOptions) -> Result<VacuumReport, VacuumError> {
    let url = parse_uri(path)?;
    let session = Session::new(storage.clone(), Settings::default(), EventLog::default());
    let delta_err = |source| VacuumError::Delta { path: path.to_string(), source };
    if let Some(table) = delta::open(&session, path).await.map_err(delta_err)? {
        return vacuum_delta(&session, path, table, options).await;
    }
    let mut items = Vec::new();
    let mut outputs = Vec::new();
    if let Ok(own) = Output::new(&url) {
        outputs.push(own);
    }
    outputs.extend(swap::outputs_with_leftovers(&storage, &url).await?);
    let root = store_root(&url);
    for output in outputs {
        for done in swap::recover(&storage, &output, options.apply, std::time::Duration::ZERO).await? {
            items.push(VacuumItem {
                action: done.action.to_string(),
                path: display(&root, &done.path),
                files: done.files,
                bytes: done.bytes,
            });
        }
    }
    Ok(VacuumReport { path: path.to_string(), kind: "files", applied: options.apply, items })
}

fn display(root: &url::Url, object_path: &str) -> String {
    format!("{}{}", root.as_str(), object_path)
}

async fn vacuum_delta(
    session: &Session,
    path: &str,
    table: deltalake::DeltaTable,
    options: &VacuumOptions,
) -> Result<VacuumReport, VacuumError> {
    use deltalake::table::config::TablePropertiesExt;
    let delta_err = |source| VacuumError::Delta { path: path.to_string(), source };
    let minimum = table.snapshot().map_err(delta_err)?.table_config().deleted_file_retention_duration();
    let minimum_hours = minimum.as_secs() / 3600;
    if let Some(requested) = options.retention_hours
        && (requested as u128) * 3600 < minimum.as_secs() as u128
        && !options.force
    {
        return Err(VacuumError::Retention { path: path.to_string(), requested, minimum: minimum_hours });
    }
    let retention = options.retention_hours.map(|h| chrono::Duration::hours(h.min(i64::MAX as u64 / 3600) as i64));
    let plan = |table: deltalake::DeltaTable, dry_run: bool| {
        let mut builder = table
            .vacuum()
            .with_mode(deltalake::operations::vacuum::VacuumMode::Full)
            .with_enforce_retention_duration(!options.force)
            .with_dry_run(dry_run);
        if let Some(r) = retention {
            builder = builder.with_retention_period(r);
        }
        builder
    };
    let store = table.object_store();
    let (table, planned) = plan(table, true).await.map_err(delta_err)?;
    let mut sizes = std::collections::HashMap::new();
    for file in &planned.files_deleted {
        let size = object_store::ObjectStoreExt::head(&store, &object_store::path::Path::from(file.as_str()))
            .await
            .map(|m| m.size)
            .unwrap_or(0);
        sizes.insert(file.clone(), size);
    }
    let root = delta::table_url(path).map_err(delta_err)?;
    let (table, deleted) = if options.apply && !planned.files_deleted.is_empty() {
        let (table, done) = plan(table, false).await.map_err(delta_err)?;
        (table, done.files_deleted)
    } else {
        (table, planned.files_deleted)
    };
    let mut items: Vec<VacuumItem> = deleted
        .iter()
        .map(|file| VacuumItem {
            action: "delete".into(),
            path: format!("{}{file}", root.as_str()),
            files: 1,
            bytes: sizes.get(file).copied().unwrap_or(0),
        })
        .collect();
    // Vacuum commits change the version: the manifest check comes after.
    if delta::repair_symlink_manifest(session, path, &table, options.apply).await.map_err(delta_err)? {
        items.push(VacuumItem {
            action: "repair-manifest".into(),
            path: format!("{}{}/", root.as_str(), delta::MANIFEST_DIR),
            files: 0,
            bytes: 0,
        });
    }
    Ok(VacuumReport { path: path.to_string(), kind: "delta", applied: options.apply, items })
}
