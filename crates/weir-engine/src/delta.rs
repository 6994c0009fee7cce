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

/// Writes the symlink manifest Athena/Presto/Hive read Delta tables through
/// (`<table>/_symlink_format_manifest/manifest`: one data file URI per line), replacing the
/// previous one. Partitioned tables get one manifest per partition directory, as Delta does.
pub async fn write_symlink_manifest(session: &Session, uri: &str, table: &DeltaTable) -> Result<(), DeltaTableError> {
    let root = table_url(uri)?;
    let files: Vec<String> = table.get_file_uris()?.collect();
    let mut by_dir: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let root_text = root.as_str().trim_end_matches('/').to_string();
    for file in files {
        let relative = file.strip_prefix(&root_text).unwrap_or(&file).trim_start_matches('/');
        let dir = relative.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        by_dir.entry(dir).or_default().push(file);
    }
    let manifest_root = root.join("_symlink_format_manifest/").map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    session.storage.delete_prefix(&manifest_root).await.map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    if by_dir.is_empty() {
        by_dir.insert(String::new(), Vec::new());
    }
    for (dir, files) in by_dir {
        let path = if dir.is_empty() { "manifest".to_string() } else { format!("{dir}/manifest") };
        let url = manifest_root.join(&path).map_err(|e| DeltaTableError::Generic(e.to_string()))?;
        let mut body = files.join("\n");
        body.push('\n');
        session
            .storage
            .write_bytes(&url, bytes::Bytes::from(body))
            .await
            .map_err(|e| DeltaTableError::Generic(e.to_string()))?;
    }
    Ok(())
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
