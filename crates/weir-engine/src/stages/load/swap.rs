//! Crash-safe commit of a file load's output (Parquet, CSV, JSON): readers of the target never
//! see a mix of old and new files once the next load to that path (or `weir vacuum`) has run
//! [`recover`].
//!
//! New files are written under a hidden staging directory beside the target,
//! `<parent>/_weir_staging_<name>.<pid>.<micros>/` (names starting with `_` are skipped by
//! Spark and Weir readers). Then:
//! - **local disk, Overwrite**: `_SUCCESS` is written into the staging directory and the two
//!   directories are exchanged with `renameat2(RENAME_EXCHANGE)` (one atomic step); the old
//!   data, now under the staging name, is deleted. A target that does not exist yet is created
//!   by one `rename`. Where the file system does not support the exchange, the journal below
//!   is used.
//! - **object stores (no rename), Append, and the fallback**: a journal
//!   `<parent>/_weir_journal_<name>.json` listing the files to delete and the files to move is
//!   written once the staging is complete; it is the commit record. Then `_SUCCESS` and the
//!   old files are deleted, the new files moved in, `_SUCCESS` written, the journal deleted.
//!   While that runs a reader can see part of the old or new files; a crash leaves the journal,
//!   and [`recover`] rolls it forward (every step is idempotent).
//!
//! A staging directory without a journal is an unfinished write (or, after an exchange, the
//! old data) and is deleted by [`recover`]. On local disk the load holds an `flock` on its
//! staging directory, so a recovery never deletes the staging of a load still running.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::failpoint;
use crate::storage::{Storage, StorageError, object_path};

/// Prefix of staging directory names.
pub const STAGING: &str = "_weir_staging_";
/// Prefix of swap journal names.
pub const JOURNAL: &str = "_weir_journal_";
/// Spark's completion marker, written last.
pub const SUCCESS: &str = "_SUCCESS";
/// Test facility: `WEIR_OVERWRITE_NO_EXCHANGE=1` makes local Overwrites take the journalled
/// path, as on a file system without `RENAME_EXCHANGE`.
pub const NO_EXCHANGE_ENV: &str = "WEIR_OVERWRITE_NO_EXCHANGE";

/// Errors while committing or recovering a file output, naming the location.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot {action} '{path}': {source}")]
    Store { action: &'static str, path: String, source: object_store::Error },
    #[error("cannot {action} '{path}': {source}")]
    Io { action: &'static str, path: String, source: io::Error },
    #[error("swap journal '{path}' cannot be read: {reason}")]
    Journal { path: String, reason: String },
    #[error("output location '{uri}' has no parent directory to stage new files in")]
    NoParent { uri: String },
}

fn store_err<'a>(action: &'static str, path: &'a ObjectPath) -> impl FnOnce(object_store::Error) -> SwapError + 'a {
    move |source| SwapError::Store { action, path: path.to_string(), source }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SwapError + 'a {
    move |source| SwapError::Io { action, path: path.display().to_string(), source }
}

/// A file output location.
#[derive(Debug, Clone)]
pub struct Output {
    /// The target directory, ending with `/`.
    pub target: Url,
    parent: Url,
    target_path: ObjectPath,
    parent_path: ObjectPath,
    /// The target's last path segment (decoded).
    name: String,
    raw_name: String,
}

/// The commit record of a journalled swap (paths relative to the target and the staging).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    staging: String,
    delete: Vec<String>,
    moves: Vec<String>,
}

/// One thing [`recover`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    /// `roll-forward` (an interrupted swap completed from its journal) or `delete-staging`.
    pub action: &'static str,
    /// The staging directory or journal concerned.
    pub path: String,
    /// Files moved in (roll-forward) or deleted (delete-staging).
    pub files: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

impl Recovery {
    fn of(action: &'static str, path: &ObjectPath, files: &[ObjectMeta]) -> Self {
        Recovery { action, path: path.to_string(), files: files.len(), bytes: files.iter().map(|m| m.size).sum() }
    }
}

impl Output {
    pub fn new(target: &Url) -> Result<Self, SwapError> {
        let mut target = target.clone();
        if !target.path().ends_with('/') {
            target.set_path(&format!("{}/", target.path()));
        }
        let no_parent = || SwapError::NoParent { uri: target.to_string() };
        let trimmed = target.path().trim_end_matches('/').to_string();
        let (parent_text, raw_name) = trimmed.rsplit_once('/').ok_or_else(no_parent)?;
        if raw_name.is_empty() {
            return Err(no_parent());
        }
        let mut parent = target.clone();
        parent.set_path(&format!("{parent_text}/"));
        let target_path = object_path(&target)?;
        let parent_path = object_path(&parent)?;
        let name = target_path.filename().ok_or_else(no_parent)?.to_string();
        Ok(Output { raw_name: raw_name.to_string(), target, parent, target_path, parent_path, name })
    }

    /// A fresh staging directory URL for a write to this output.
    pub fn new_staging(&self) -> Result<Url, SwapError> {
        let dir =
            format!("{STAGING}{}.{}.{}/", self.raw_name, std::process::id(), chrono::Utc::now().timestamp_micros());
        self.parent.join(&dir).map_err(|e| SwapError::NoParent { uri: format!("{}: {e}", self.target) })
    }

    fn journal_path(&self) -> ObjectPath {
        self.parent_path.clone().join(format!("{JOURNAL}{}.json", self.name).as_str())
    }

    /// The output this staging directory (by its object path) belongs to is ours.
    fn owns_staging(&self, dir: &str) -> bool {
        let Some(rest) = dir.strip_prefix(STAGING) else { return false };
        let mut parts = rest.rsplitn(3, '.');
        let (Some(micros), Some(pid), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        name == self.name && micros.bytes().all(|b| b.is_ascii_digit()) && pid.bytes().all(|b| b.is_ascii_digit())
    }
}

fn local_path(url: &Url) -> Option<PathBuf> {
    (url.scheme() == "file").then(|| url.to_file_path().ok()).flatten()
}

fn relative<'a>(path: &'a ObjectPath, prefix: &ObjectPath) -> &'a str {
    path.as_ref().strip_prefix(prefix.as_ref()).unwrap_or(path.as_ref()).trim_start_matches('/')
}

fn join(prefix: &ObjectPath, relative: &str) -> ObjectPath {
    relative.split('/').filter(|s| !s.is_empty()).fold(prefix.clone(), |p, seg| p.join(seg))
}

async fn list(store: &dyn ObjectStore, prefix: &ObjectPath) -> Result<Vec<ObjectMeta>, SwapError> {
    match store.list(Some(prefix)).try_collect::<Vec<_>>().await {
        Ok(v) => Ok(v),
        Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
        Err(source) => Err(SwapError::Store { action: "list", path: prefix.to_string(), source }),
    }
}

/// An `flock` held on a local staging directory while its load runs.
#[derive(Debug)]
pub struct StagingLock {
    _file: Option<std::fs::File>,
}

impl StagingLock {
    /// Creates the staging directory (local disk) and locks it; a no-op on object stores.
    pub fn create(staging: &Url) -> Result<Self, SwapError> {
        let Some(dir) = local_path(staging) else { return Ok(StagingLock { _file: None }) };
        std::fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        match try_lock(&dir).map_err(io_err("lock", &dir))? {
            Some(file) => Ok(StagingLock { _file: Some(file) }),
            None => Err(SwapError::Io {
                action: "lock",
                path: dir.display().to_string(),
                source: io::Error::from(io::ErrorKind::WouldBlock),
            }),
        }
    }
}

/// Locks a directory; `None` when another process holds the lock.
fn try_lock(dir: &Path) -> io::Result<Option<std::fs::File>> {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(dir)?;
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Some(file));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(None) } else { Err(err) }
}

enum Exchange {
    /// The directories were exchanged: the old data is now under the staging name.
    Exchanged,
    /// The target did not exist: the staging directory was renamed to it.
    Renamed,
    /// The file system cannot exchange directories.
    Unsupported,
}

fn exchange(staging: &Path, target: &Path) -> io::Result<Exchange> {
    if std::fs::symlink_metadata(target).is_err() {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(staging, target)?;
        return Ok(Exchange::Renamed);
    }
    if !std::fs::metadata(target)?.is_dir() || std::env::var(NO_EXCHANGE_ENV).is_ok_and(|v| v == "1") {
        return Ok(Exchange::Unsupported);
    }
    let cstr = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (from, to) = (cstr(staging)?, cstr(target)?);
    // SAFETY: both pointers are valid NUL-terminated paths that outlive the call.
    let rc =
        unsafe { libc::renameat2(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc == 0 {
        return Ok(Exchange::Exchanged);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => Ok(Exchange::Unsupported),
        _ => Err(err),
    }
}

/// Makes the staged files the output's content (`overwrite`) or adds them to it.
pub async fn commit(storage: &Storage, output: &Output, staging: &Url, overwrite: bool) -> Result<(), SwapError> {
    let store = storage.store(&output.target)?;
    let staging_path = object_path(staging)?;
    failpoint::hit("overwrite-staged");
    if overwrite && let (Some(staging_dir), Some(target_dir)) = (local_path(staging), local_path(&output.target)) {
        let marker = staging_dir.join(SUCCESS);
        std::fs::create_dir_all(&staging_dir).map_err(io_err("create", &staging_dir))?;
        std::fs::write(&marker, b"").map_err(io_err("write", &marker))?;
        match exchange(&staging_dir, &target_dir).map_err(io_err("swap in", &target_dir))? {
            Exchange::Exchanged => {
                failpoint::hit("overwrite-exchanged");
                // The new data is in place: a failure here only leaves the old files for recovery.
                if let Err(e) = std::fs::remove_dir_all(&staging_dir) {
                    tracing::warn!(staging = %staging_dir.display(), error = %e, "cannot delete the replaced files");
                }
                return Ok(());
            }
            Exchange::Renamed => return Ok(()),
            Exchange::Unsupported => std::fs::remove_file(&marker).map_err(io_err("delete", &marker))?,
        }
    }
    let staged = list(store.as_ref(), &staging_path).await?;
    let moves: Vec<String> = staged.iter().map(|m| relative(&m.location, &staging_path).to_string()).collect();
    let mut delete: Vec<String> = Vec::new();
    if overwrite {
        for meta in list(store.as_ref(), &output.target_path).await? {
            let rel = relative(&meta.location, &output.target_path).to_string();
            if !moves.contains(&rel) {
                delete.push(rel);
            }
        }
        // The old `_SUCCESS` goes first: the output is not complete again until the last step.
        delete.sort_by_key(|rel| rel != SUCCESS);
    }
    let journal = Journal { staging: staging_path.to_string(), delete, moves };
    let body = serde_json::to_vec(&journal)
        .map_err(|e| SwapError::Journal { path: output.journal_path().to_string(), reason: e.to_string() })?;
    let journal_path = output.journal_path();
    store.put(&journal_path, bytes::Bytes::from(body).into()).await.map_err(store_err("write", &journal_path))?;
    failpoint::hit("overwrite-journal-written");
    roll_forward(store.as_ref(), output, &journal).await
}

/// Completes a journalled swap; every step can be repeated after a crash.
async fn roll_forward(store: &dyn ObjectStore, output: &Output, journal: &Journal) -> Result<(), SwapError> {
    let staging = ObjectPath::from(journal.staging.as_str());
    for rel in &journal.delete {
        let path = join(&output.target_path, rel);
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(SwapError::Store { action: "delete", path: path.to_string(), source }),
        }
    }
    failpoint::hit("overwrite-old-deleted");
    let half = journal.moves.len() / 2;
    for (i, rel) in journal.moves.iter().enumerate() {
        if i == half {
            failpoint::hit("overwrite-half-moved");
        }
        let (from, to) = (join(&staging, rel), join(&output.target_path, rel));
        match store.rename(&from, &to).await {
            // Not found: moved before a crash.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(SwapError::Store { action: "move", path: from.to_string(), source }),
        }
    }
    failpoint::hit("overwrite-moved");
    let success = output.target_path.clone().join(SUCCESS);
    store.put(&success, bytes::Bytes::new().into()).await.map_err(store_err("write", &success))?;
    let journal_path = output.journal_path();
    match store.delete(&journal_path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(source) => return Err(SwapError::Store { action: "delete", path: journal_path.to_string(), source }),
    }
    delete_tree(store, &staging, local_path(&output.parent).map(|_| local_dir(&staging))).await?;
    Ok(())
}

/// The local directory of an object path of the local file system store.
fn local_dir(path: &ObjectPath) -> PathBuf {
    PathBuf::from(format!("/{path}"))
}

/// Deletes every object below `prefix` (and, on local disk, the emptied directories).
async fn delete_tree(store: &dyn ObjectStore, prefix: &ObjectPath, local: Option<PathBuf>) -> Result<(), SwapError> {
    if let Some(dir) = local {
        return match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("delete", &dir)(e)),
        };
    }
    for meta in list(store, prefix).await? {
        match store.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(SwapError::Store { action: "delete", path: meta.location.to_string(), source }),
        }
    }
    Ok(())
}

/// Brings an output back to a complete state after a crash: rolls an interrupted journalled
/// swap forward and deletes staging directories of loads no longer running. With `apply`
/// false, only reports what it would do. On object stores, staging younger than
/// `object_store_grace` is kept (a load may still be writing it; there is no lock).
pub async fn recover(
    storage: &Storage,
    output: &Output,
    apply: bool,
    object_store_grace: std::time::Duration,
) -> Result<Vec<Recovery>, SwapError> {
    let store = storage.store(&output.target)?;
    let mut done = Vec::new();
    let journal_path = output.journal_path();
    let mut consumed = None;
    match store.get(&journal_path).await {
        Ok(result) => {
            let bytes = result.bytes().await.map_err(store_err("read", &journal_path))?;
            let journal: Journal = serde_json::from_slice(&bytes)
                .map_err(|e| SwapError::Journal { path: journal_path.to_string(), reason: e.to_string() })?;
            let staging = ObjectPath::from(journal.staging.as_str());
            let staged = list(store.as_ref(), &staging).await?;
            done.push(Recovery::of("roll-forward", &journal_path, &staged));
            if apply {
                tracing::warn!(journal = %journal_path, "completing an interrupted overwrite from its journal");
                roll_forward(store.as_ref(), output, &journal).await?;
            }
            consumed = Some(staging);
        }
        Err(object_store::Error::NotFound { .. }) => {}
        Err(source) => return Err(SwapError::Store { action: "read", path: journal_path.to_string(), source }),
    }
    let listing = match store.list_with_delimiter(Some(&output.parent_path)).await {
        Ok(listing) => listing.common_prefixes,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(source) => return Err(SwapError::Store { action: "list", path: output.parent_path.to_string(), source }),
    };
    let local = local_path(&output.parent).is_some();
    for prefix in listing {
        if !prefix.filename().is_some_and(|dir| output.owns_staging(dir)) || consumed.as_ref() == Some(&prefix) {
            continue;
        }
        // Held while the check runs, so no load can start using it meanwhile.
        let mut _lock = None;
        if local {
            match try_lock(&local_dir(&prefix)) {
                Ok(Some(file)) => _lock = Some(file),
                Ok(None) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("lock", &local_dir(&prefix))(e)),
            }
        }
        let files = list(store.as_ref(), &prefix).await?;
        if !local {
            let newest = files.iter().map(|m| m.last_modified).max();
            let age = newest.map(|t| (chrono::Utc::now() - t).to_std().unwrap_or_default());
            if age.is_some_and(|age| age < object_store_grace) {
                continue;
            }
        }
        done.push(Recovery::of("delete-staging", &prefix, &files));
        if apply {
            tracing::warn!(staging = %prefix, "deleting the staging files of an interrupted load");
            delete_tree(store.as_ref(), &prefix, local.then(|| local_dir(&prefix))).await?;
        }
    }
    Ok(done)
}

/// The outputs with Weir leftovers (journals, staging) directly inside `dir`.
pub async fn outputs_with_leftovers(storage: &Storage, dir: &Url) -> Result<Vec<Output>, SwapError> {
    let store = storage.store(dir)?;
    let prefix = object_path(dir)?;
    let listing = match store.list_with_delimiter(Some(&prefix)).await {
        Ok(listing) => listing,
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(source) => return Err(SwapError::Store { action: "list", path: prefix.to_string(), source }),
    };
    let mut names: Vec<String> = Vec::new();
    for meta in &listing.objects {
        if let Some(name) = meta.location.filename().and_then(|f| f.strip_prefix(JOURNAL)?.strip_suffix(".json")) {
            names.push(name.to_string());
        }
    }
    for p in &listing.common_prefixes {
        if let Some(rest) = p.filename().and_then(|f| f.strip_prefix(STAGING)) {
            let mut parts = rest.rsplitn(3, '.');
            if let (Some(_), Some(_), Some(name)) = (parts.next(), parts.next(), parts.next()) {
                names.push(name.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    let mut dir = dir.clone();
    if !dir.path().ends_with('/') {
        dir.set_path(&format!("{}/", dir.path()));
    }
    names
        .iter()
        .map(|name| {
            let seg: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
            let url = dir.join(&seg.replace('+', "%20")).map_err(|e| SwapError::NoParent { uri: e.to_string() })?;
            Output::new(&url)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &Path) -> Url {
        Url::from_directory_path(path).unwrap()
    }

    fn write_files(dir: &Path, names: &[&str]) {
        std::fs::create_dir_all(dir).unwrap();
        for n in names {
            std::fs::write(dir.join(n), n.as_bytes()).unwrap();
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn staging_names_belong_to_their_output_only() {
        let out = Output::new(&Url::parse("file:///data/out.v2").unwrap()).unwrap();
        assert!(out.owns_staging("_weir_staging_out.v2.12.1700000000"));
        assert!(!out.owns_staging("_weir_staging_out.12.1700000000"));
        assert!(!out.owns_staging("_weir_staging_out.v2.x.1700000000"));
        let staging = out.new_staging().unwrap();
        assert!(out.owns_staging(staging.path().trim_end_matches('/').rsplit('/').next().unwrap()));
        assert!(Output::new(&Url::parse("s3://bucket/").unwrap()).is_err());
    }

    #[tokio::test]
    async fn overwrite_exchanges_and_journal_fallback_both_replace() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::default();
        let target = dir.path().join("out");
        write_files(&target, &["old1", "old2", SUCCESS]);
        let output = Output::new(&url(&target)).unwrap();
        for (round, journalled) in [(1, false), (2, true)] {
            let staging = output.new_staging().unwrap();
            let lock = StagingLock::create(&staging).unwrap();
            write_files(&staging.to_file_path().unwrap(), &[&format!("new{round}")]);
            if journalled {
                // The journal path is what object stores and file systems without exchange use.
                commit(&storage, &output, &staging, false).await.unwrap();
                assert_eq!(names(&target), [SUCCESS, "new1", "new2"]);
            } else {
                commit(&storage, &output, &staging, true).await.unwrap();
                assert_eq!(names(&target), [SUCCESS, "new1"]);
            }
            drop(lock);
            assert_eq!(names(dir.path()), ["out"], "no staging or journal left");
        }
    }

    #[tokio::test]
    async fn recovery_rolls_a_journal_forward_and_deletes_dead_staging_only() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::default();
        let target = dir.path().join("out");
        write_files(&target, &["old1", SUCCESS]);
        let output = Output::new(&url(&target)).unwrap();
        // An interrupted swap: journal written, the old file deleted, one of two files moved.
        let staging = output.new_staging().unwrap();
        let staging_dir = staging.to_file_path().unwrap();
        write_files(&staging_dir, &["new2"]);
        write_files(&target, &["new1"]);
        std::fs::remove_file(target.join("old1")).unwrap();
        let journal = Journal {
            staging: object_path(&staging).unwrap().to_string(),
            delete: vec![SUCCESS.into(), "old1".into()],
            moves: vec!["new1".into(), "new2".into()],
        };
        std::fs::write(dir.path().join("_weir_journal_out.json"), serde_json::to_vec(&journal).unwrap()).unwrap();
        // A dead load's staging and a live one's.
        let dead = output.new_staging().unwrap().to_file_path().unwrap();
        write_files(&dead, &["junk"]);
        let live = output.new_staging().unwrap();
        let lock = StagingLock::create(&live).unwrap();
        let grace = std::time::Duration::ZERO;
        let planned = recover(&storage, &output, false, grace).await.unwrap();
        let actions: Vec<_> = planned.iter().map(|r| (r.action, r.files)).collect();
        assert_eq!(actions, [("roll-forward", 1), ("delete-staging", 1)]);
        assert!(dead.exists(), "a dry run changes nothing");
        recover(&storage, &output, true, grace).await.unwrap();
        assert_eq!(names(&target), [SUCCESS, "new1", "new2"]);
        let live_name = live.path().trim_end_matches('/').rsplit('/').next().unwrap().to_string();
        assert_eq!(names(dir.path()), [live_name, "out".to_string()], "only the live staging is kept");
        drop(lock);
        assert!(recover(&storage, &output, true, grace).await.unwrap().len() == 1);
        assert_eq!(names(dir.path()), ["out"]);
        let found = outputs_with_leftovers(&storage, &url(dir.path())).await.unwrap();
        assert!(found.is_empty());
    }
}
