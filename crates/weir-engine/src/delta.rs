//! Delta Lake access shared by the Delta stages: opening tables through [`Storage`]'s
//! options, the `commit` detail Arc logs after reading or writing, and copy-on-write
//! rewrites (data files written in parallel, then one commit replacing the old ones).

use datafusion::arrow::record_batch::RecordBatch;
use deltalake::kernel::transaction::{CommitBuilder, TableReference};
use deltalake::kernel::{Action, Add};
use deltalake::protocol::DeltaOperation;
use deltalake::writer::RecordBatchWriter;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::session::Session;
use crate::storage::parse_uri;

/// Opens the Delta table at `uri`; `Ok(None)` when the location holds no Delta table.
pub async fn open(session: &Session, uri: &str) -> Result<Option<DeltaTable>, DeltaTableError> {
    let url = table_url(uri)?;
    let log = url.join("_delta_log/").map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    let has_log = session
        .storage
        .list_files(log.as_str())
        .await
        .map_err(|e| DeltaTableError::Generic(e.to_string()))?
        .is_some_and(|files| !files.is_empty());
    if !has_log {
        return Ok(None);
    }
    let table = builder(session, uri)?.build()?;
    load(table).await
}

/// A table builder for `uri` with the session's storage options.
pub fn builder(session: &Session, uri: &str) -> Result<DeltaTableBuilder, DeltaTableError> {
    let url = table_url(uri)?;
    Ok(DeltaTableBuilder::from_url(url)?.with_storage_options(session.storage.delta_options()))
}

/// The table location as a directory URL.
pub fn table_url(uri: &str) -> Result<url::Url, DeltaTableError> {
    let mut url = parse_uri(uri).map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

/// Loads the latest version; `None` when there is no table yet.
pub async fn load(mut table: DeltaTable) -> Result<Option<DeltaTable>, DeltaTableError> {
    match table.load().await {
        Ok(()) => Ok(Some(table)),
        Err(DeltaTableError::NotATable(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A table handle with no state loaded (to create a new table).
pub fn uninitialized(session: &Session, uri: &str) -> Result<DeltaTable, DeltaTableError> {
    let url = table_url(uri)?;
    if url.scheme() == "file"
        && let Ok(path) = url.to_file_path()
    {
        std::fs::create_dir_all(&path)
            .map_err(|e| DeltaTableError::Generic(format!("cannot create '{}': {e}", path.display())))?;
    }
    builder(session, uri)?.build()
}

/// Arc's `commit` detail for the version the table is at: version, timestamp, operation metrics.
pub async fn commit_detail(table: &DeltaTable) -> Value {
    let mut detail = Map::new();
    if let Some(version) = table.version() {
        detail.insert("version".into(), version.into());
    }
    if let Some(Ok(info)) = table.history(Some(1)).next().await {
        if let Some(ts) = info.timestamp.and_then(chrono::DateTime::from_timestamp_millis) {
            detail.insert("timestamp".into(), ts.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().into());
        }
        if let Some(op) = info.operation {
            detail.insert("operation".into(), op.into());
        }
        if let Some(metrics) = info.info.get("operationMetrics") {
            detail.insert("operationMetrics".into(), metrics.clone());
        }
    }
    Value::Object(detail)
}

/// The directory of a table's symlink manifests.
pub const MANIFEST_DIR: &str = "_symlink_format_manifest";
/// Hidden marker in [`MANIFEST_DIR`]: the table version the manifests were generated for.
pub const MANIFEST_VERSION: &str = "_weir_version";

fn manifest_error(e: impl std::fmt::Display) -> DeltaTableError {
    DeltaTableError::Generic(format!("symlink manifest: {e}"))
}

/// Writes the symlink manifest Athena/Presto/Hive read Delta tables through: relative to the
/// table root, `_symlink_format_manifest/manifest` (one data file URI per line), or for
/// partitioned tables one `_symlink_format_manifest/<partition dir>/manifest` each, as Delta
/// does. Called after the commit: each manifest is replaced in one put, stale partition
/// manifests are then deleted, and the version marker is written last, so a crash in between
/// leaves a marker that does not match and [`repair_symlink_manifest`] regenerates them.
pub async fn write_symlink_manifest(session: &Session, uri: &str, table: &DeltaTable) -> Result<(), DeltaTableError> {
    crate::failpoint::hit("delta-committed");
    let root = table_url(uri)?;
    let mut by_dir: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in table.snapshot()?.log_data().into_iter() {
        let path = file.object_store_path();
        let dir = path.as_ref().rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        by_dir.entry(dir).or_default().push(table.log_store().to_uri(&path));
    }
    if by_dir.is_empty() {
        by_dir.insert(String::new(), Vec::new());
    }
    let manifest_root = root.join(&format!("{MANIFEST_DIR}/")).map_err(manifest_error)?;
    let manifest_prefix = crate::storage::object_path(&manifest_root).map_err(manifest_error)?;
    let store = session.storage.store(&root).map_err(manifest_error)?;
    let mut written = std::collections::HashSet::new();
    for (dir, mut files) in by_dir {
        files.sort();
        let path =
            dir.split('/').filter(|s| !s.is_empty()).fold(manifest_prefix.clone(), |p, s| p.join(s)).join("manifest");
        let mut body = files.join("\n");
        body.push('\n');
        object_store::ObjectStoreExt::put(&store, &path, bytes::Bytes::from(body).into())
            .await
            .map_err(manifest_error)?;
        written.insert(path);
    }
    let marker = manifest_prefix.clone().join(MANIFEST_VERSION);
    let listed: Vec<object_store::ObjectMeta> =
        futures::TryStreamExt::try_collect(store.list(Some(&manifest_prefix))).await.map_err(manifest_error)?;
    for meta in listed {
        if !written.contains(&meta.location) && meta.location != marker {
            object_store::ObjectStoreExt::delete(&store, &meta.location).await.map_err(manifest_error)?;
        }
    }
    let version = table.version().map(|v| v.to_string()).unwrap_or_default();
    object_store::ObjectStoreExt::put(&store, &marker, bytes::Bytes::from(version).into())
        .await
        .map_err(manifest_error)?;
    Ok(())
}

/// The table version the manifests were generated for; `None` when there are none (or the
/// marker is missing, as for manifests written before Weir recorded it).
pub async fn symlink_manifest_version(session: &Session, uri: &str) -> Result<Option<u64>, DeltaTableError> {
    let url = table_url(uri)?.join(&format!("{MANIFEST_DIR}/{MANIFEST_VERSION}")).map_err(manifest_error)?;
    match session.storage.read_bytes(&url).await {
        Ok(bytes) => Ok(std::str::from_utf8(&bytes).ok().and_then(|t| t.trim().parse().ok())),
        Err(crate::storage::StorageError::NotFound { .. }) => Ok(None),
        Err(e) => Err(manifest_error(e)),
    }
}

/// Regenerates the symlink manifests of a table that has them when they were generated for
/// another version than the current one (e.g. after a crash right after a commit). Returns
/// whether they were stale.
pub async fn repair_symlink_manifest(
    session: &Session,
    uri: &str,
    table: &DeltaTable,
    apply: bool,
) -> Result<bool, DeltaTableError> {
    let root = table_url(uri)?;
    let prefix = crate::storage::object_path(&root.join(&format!("{MANIFEST_DIR}/")).map_err(manifest_error)?)
        .map_err(manifest_error)?;
    let store = session.storage.store(&root).map_err(manifest_error)?;
    let has_manifest =
        futures::TryStreamExt::try_next(&mut store.list(Some(&prefix))).await.map_err(manifest_error)?.is_some();
    let marker = symlink_manifest_version(session, uri).await?;
    if !has_manifest && marker.is_none() {
        return Ok(false);
    }
    if marker == table.version() {
        return Ok(false);
    }
    if apply {
        tracing::warn!(table = uri, manifest_version = ?marker, version = ?table.version(), "regenerating a stale symlink manifest");
        write_symlink_manifest(session, uri, table).await?;
    }
    Ok(true)
}

/// A stream of record batches to write into a table's data files.
pub type BatchStream = futures::stream::BoxStream<'static, Result<RecordBatch, DeltaTableError>>;

/// Writes each stream into new data files of `table` (one writer task per stream, so the
/// streams are encoded in parallel) and returns their `add` actions. Nothing is committed:
/// until [`commit_rewrite`] the files are invisible to readers, and [`discard`] removes them.
/// Files are rolled at the table's target file size (`delta.targetFileSize`, 100 MiB).
pub async fn write_files(table: &DeltaTable, streams: Vec<BatchStream>) -> Result<Vec<Add>, DeltaTableError> {
    use deltalake::table::config::TablePropertiesExt;
    use deltalake::writer::DeltaWriter;
    let target_size = table.snapshot()?.table_config().target_file_size().get();
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        let mut writer = RecordBatchWriter::for_table(table)?.with_target_file_size(target_size);
        tasks.spawn(async move {
            let result = async {
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    if batch.num_rows() > 0 {
                        writer.write(batch).await?;
                    }
                }
                writer.flush().await
            }
            .await;
            if result.is_err() {
                writer.reset();
            }
            result
        });
    }
    let mut adds = Vec::new();
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(mut written)) => adds.append(&mut written),
            Ok(Err(e)) => {
                failure.get_or_insert(e);
                tasks.abort_all();
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                failure.get_or_insert(DeltaTableError::Generic(format!("a writer task failed: {e}")));
                tasks.abort_all();
            }
        }
    }
    match failure {
        None => Ok(adds),
        Some(e) => {
            discard(table, &adds).await;
            Err(e)
        }
    }
}

/// Deletes data files written by [`write_files`] that will not be committed (best effort:
/// an uncommitted file is never read, so a leftover only costs space until a vacuum).
pub async fn discard(table: &DeltaTable, adds: &[Add]) {
    let store = table.object_store();
    for add in adds {
        let path = object_store::path::Path::from(add.path.as_str());
        if let Err(e) = object_store::ObjectStoreExt::delete(&store, &path).await {
            tracing::debug!(path = %add.path, error = %e, "could not delete an uncommitted data file");
        }
    }
}

/// Commits `adds` as the table's new content, removing every file of the version `table`
/// was read at (copy-on-write), as one Delta commit recording `operation` and `metrics`.
/// A concurrent commit that conflicts makes this fail; the table then keeps the other writer's
/// version and the new files are discarded.
pub async fn commit_rewrite(
    table: &mut DeltaTable,
    adds: Vec<Add>,
    operation: DeltaOperation,
    metrics: Value,
) -> Result<(), DeltaTableError> {
    let mut actions: Vec<Action> = Vec::new();
    {
        let mut files = table.get_active_add_actions_by_predicate(None);
        while let Some(file) = files.next().await {
            actions.push(Action::Remove(file?.remove_action(true)));
        }
    }
    actions.extend(adds.iter().cloned().map(Action::Add));
    let app_metadata = std::collections::HashMap::from([("operationMetrics".to_string(), metrics)]);
    let committed = CommitBuilder::default()
        .with_actions(actions)
        .with_app_metadata(app_metadata)
        .build(Some(table.snapshot()? as &dyn TableReference), table.log_store(), operation)
        .await;
    match committed {
        Ok(_) => table.update_state().await,
        Err(e) => {
            discard(table, &adds).await;
            Err(e)
        }
    }
}
