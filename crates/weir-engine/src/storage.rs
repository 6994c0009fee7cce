//! Where data lives: URIs, object stores and globbing, behind one small interface.
//!
//! Every path a job names (job file, SQL file, schema, input glob, output location) goes
//! through [`Storage`]. Plain paths and `file://` use the local disk; `s3://` and `s3a://`
//! use `object_store` configured the standard AWS way (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, container and instance roles),
//! through the same factory delta-rs uses, so Delta tables and plain files see the same
//! credentials. Stores are created once per bucket and registered with DataFusion.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use url::Url;

/// Errors from storage access, each naming the URI concerned.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid URI '{uri}': {reason}")]
    InvalidUri { uri: String, reason: String },
    #[error(
        "storage scheme '{scheme}' is not supported yet (URI '{uri}'); supported: local paths, file://, s3://, s3a://"
    )]
    UnsupportedScheme { scheme: String, uri: String },
    #[error("cannot open storage for '{uri}': {source}")]
    Open { uri: String, source: Box<dyn std::error::Error + Send + Sync> },
    #[error("'{uri}' does not exist")]
    NotFound { uri: String },
    #[error("cannot read '{uri}': {source}")]
    Read { uri: String, source: object_store::Error },
    #[error("cannot read '{uri}': {source}")]
    Decode { uri: String, source: std::io::Error },
    #[error("cannot write '{uri}': {source}")]
    Write { uri: String, source: object_store::Error },
    #[error("File at {uri} is empty.")]
    Empty { uri: String },
    #[error("'{uri}' is not valid UTF-8 text: invalid byte at offset {offset} (line {line}, column {col})")]
    NotText { uri: String, offset: usize, line: usize, col: usize },
    #[error("invalid glob in '{uri}': {reason}")]
    Glob { uri: String, reason: String },
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// `bytes` as text, or an error naming the byte offset, line and column (in characters) of
/// the first invalid UTF-8 sequence.
pub fn utf8_text(uri: &str, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        StorageError::NotText { uri: uri.to_string(), offset, line, col }
    })
}

/// One listed file.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub url: Url,
    pub meta: ObjectMeta,
}

/// Object stores by bucket, shared with a DataFusion runtime.
#[derive(Clone, Default)]
pub struct Storage {
    stores: Arc<Mutex<HashMap<String, Arc<dyn ObjectStore>>>>,
    options: Arc<HashMap<String, String>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").finish_non_exhaustive()
    }
}

/// True when the text has glob characters (Hadoop glob syntax).
pub fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// Turns a job's path or URI into a URL: plain paths become `file://` URLs (relative to the
/// current directory), `s3a://`/`s3://` and `file://` are kept.
pub fn parse_uri(text: &str) -> Result<Url> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StorageError::InvalidUri { uri: text.into(), reason: "empty".into() });
    }
    if let Some((scheme, _)) = text.split_once("://")
        && scheme.len() > 1
    {
        let url = Url::parse(text).map_err(|e| StorageError::InvalidUri { uri: text.into(), reason: e.to_string() })?;
        return match url.scheme() {
            "file" | "s3" | "s3a" => Ok(url),
            other => Err(StorageError::UnsupportedScheme { scheme: other.into(), uri: text.into() }),
        };
    }
    let path = std::path::Path::new(text);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| StorageError::InvalidUri { uri: text.into(), reason: e.to_string() })?
            .join(path)
    };
    let trailing = text.ends_with('/');
    let mut url = Url::from_file_path(&absolute)
        .map_err(|_| StorageError::InvalidUri { uri: text.into(), reason: "not an absolute path".into() })?;
    if trailing && !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

/// Object path of a URL inside its store (percent-decoded).
pub fn object_path(url: &Url) -> Result<ObjectPath> {
    let raw = url.path().trim_start_matches('/');
    let decoded = percent_decode(raw);
    ObjectPath::parse(decoded.trim_end_matches('/'))
        .map_err(|e| StorageError::InvalidUri { uri: url.to_string(), reason: e.to_string() })
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| text.to_string())
}

/// URL of the store root for a location: `s3a://bucket/`, `file:///`.
pub fn store_root(url: &Url) -> Url {
    let mut root = url.clone();
    root.set_path("/");
    root.set_query(None);
    root.set_fragment(None);
    root
}

impl Storage {
    /// Storage with extra options passed to the S3 factory (as `AWS_*` keys). Environment
    /// variables are read by the factory itself.
    pub fn new(options: HashMap<String, String>) -> Self {
        Self { stores: Arc::default(), options: Arc::new(options) }
    }

    /// Options for delta-rs table builders (the same the stores use).
    pub fn delta_options(&self) -> HashMap<String, String> {
        self.options.as_ref().clone()
    }

    /// The object store holding `url` (created on first use).
    pub fn store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let root = store_root(url);
        let key = root.to_string();
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = stores.get(&key) {
            return Ok(store.clone());
        }
        let store: Arc<dyn ObjectStore> = match root.scheme() {
            "file" => Arc::new(object_store::local::LocalFileSystem::new()),
            "s3" | "s3a" => deltalake::logstore::store_for(&root, self.options.iter())
                .map_err(|e| StorageError::Open { uri: url.to_string(), source: Box::new(e) })?,
            other => return Err(StorageError::UnsupportedScheme { scheme: other.into(), uri: url.to_string() }),
        };
        stores.insert(key, store.clone());
        Ok(store)
    }

    /// Registers the store of `url` with a DataFusion runtime so plans can read it.
    pub fn register(&self, ctx: &datafusion::prelude::SessionContext, url: &Url) -> Result<()> {
        let store = self.store(url)?;
        ctx.register_object_store(&store_root(url), store);
        Ok(())
    }

    /// Opens an object for reading (its bytes arrive as a stream).
    pub async fn get(&self, url: &Url) -> Result<object_store::GetResult> {
        let store = self.store(url)?;
        let path = object_path(url)?;
        store.get(&path).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound { uri: url.to_string() },
            other => StorageError::Read { uri: url.to_string(), source: other },
        })
    }

    /// Reads a whole object.
    pub async fn read_bytes(&self, url: &Url) -> Result<bytes::Bytes> {
        let result = self.get(url).await?;
        result.bytes().await.map_err(|e| StorageError::Read { uri: url.to_string(), source: e })
    }

    /// Reads a non-empty UTF-8 text file (SQL, schema, job).
    pub async fn read_text(&self, url: &Url) -> Result<String> {
        let bytes = self.read_bytes(url).await?;
        let text = utf8_text(url.as_str(), bytes.to_vec())?;
        if text.trim().is_empty() {
            return Err(StorageError::Empty { uri: url.to_string() });
        }
        Ok(text)
    }

    /// Writes a whole object.
    pub async fn write_bytes(&self, url: &Url, data: bytes::Bytes) -> Result<()> {
        let store = self.store(url)?;
        let path = object_path(url)?;
        store.put(&path, data.into()).await.map_err(|e| StorageError::Write { uri: url.to_string(), source: e })?;
        Ok(())
    }

    /// Lists the data files a location names: a glob (`*`, `?`, `[..]`, `{a,b}`; `*` stays
    /// within one path segment), a directory (every file below it), or a single file.
    /// Hidden files (`_SUCCESS`, `.crc`, `_delta_log/`) are skipped, as Spark does.
    /// Returns `Ok(None)` when nothing exists at the location.
    pub async fn list_files(&self, location: &str) -> Result<Option<Vec<FileEntry>>> {
        let url = parse_uri(location)?;
        let store = self.store(&url)?;
        let full = percent_decode(url.path().trim_start_matches('/'));
        let (prefix, matcher) = if has_glob(&full) {
            let cut = full.find(['*', '?', '[', '{']).unwrap_or(full.len());
            let prefix = full[..cut].rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
            let glob = globset::GlobBuilder::new(full.trim_end_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|e| StorageError::Glob { uri: location.into(), reason: e.to_string() })?
                .compile_matcher();
            (prefix, Some(glob))
        } else {
            (full.trim_end_matches('/').to_string(), None)
        };
        let prefix_path = ObjectPath::parse(&prefix)
            .map_err(|e| StorageError::InvalidUri { uri: location.into(), reason: e.to_string() })?;

        // A single object?
        if matcher.is_none()
            && !full.ends_with('/')
            && let Ok(meta) = store.head(&prefix_path).await
        {
            return Ok(Some(vec![FileEntry { url: url.clone(), meta }]));
        }
        let listed: Vec<ObjectMeta> = match store.list(Some(&prefix_path)).try_collect().await {
            Ok(v) => v,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(StorageError::Read { uri: location.into(), source: e }),
        };
        let mut exists = !listed.is_empty();
        let mut files = Vec::new();
        for meta in listed {
            let key = meta.location.as_ref();
            let relative = key.strip_prefix(prefix.as_str()).unwrap_or(key).trim_start_matches('/');
            if relative.split('/').any(|seg| seg.starts_with('_') || seg.starts_with('.')) {
                continue;
            }
            if let Some(m) = &matcher
                && !m.is_match(key)
                && !relative
                    .split('/')
                    .scan(String::new(), |acc, seg| {
                        if !acc.is_empty() {
                            acc.push('/');
                        }
                        acc.push_str(seg);
                        Some(format!("{prefix}/{acc}"))
                    })
                    .any(|dir| m.is_match(dir.trim_start_matches('/')))
            {
                continue;
            }
            let mut file_url = store_root(&url);
            file_url.set_path(&format!("/{key}"));
            files.push(FileEntry { url: file_url, meta });
        }
        if matcher.is_some() {
            exists = !files.is_empty() || exists;
            if files.is_empty() {
                return Ok(None);
            }
        }
        if !exists {
            // An empty local directory exists but lists nothing.
            if url.scheme() == "file"
                && let Ok(path) = url.to_file_path()
                && path.is_dir()
            {
                return Ok(Some(Vec::new()));
            }
            return Ok(None);
        }
        files.sort_by(|a, b| a.url.as_str().cmp(b.url.as_str()));
        Ok(Some(files))
    }

    /// Deletes every object below a prefix (used to clear an output before an overwrite).
    pub async fn delete_prefix(&self, url: &Url) -> Result<()> {
        let store = self.store(url)?;
        let prefix = object_path(url)?;
        let listed: Vec<ObjectMeta> = store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| StorageError::Read { uri: url.to_string(), source: e })?;
        for meta in listed {
            store.delete(&meta.location).await.map_err(|e| StorageError::Write { uri: url.to_string(), source: e })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_become_file_urls() {
        let url = parse_uri("/tmp/x/data.csv").unwrap();
        assert_eq!(url.as_str(), "file:///tmp/x/data.csv");
        let dir = parse_uri("/tmp/x/").unwrap();
        assert_eq!(dir.as_str(), "file:///tmp/x/");
        assert_eq!(parse_uri("s3a://bucket/a/b.csv").unwrap().scheme(), "s3a");
        assert!(matches!(parse_uri("gs://b/x"), Err(StorageError::UnsupportedScheme { .. })));
    }

    #[tokio::test]
    async fn lists_globs_directories_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("in/sub")).unwrap();
        for name in ["in/a.csv", "in/b.csv", "in/c.txt", "in/_SUCCESS", "in/sub/d.csv"] {
            std::fs::write(root.join(name), "x\n").unwrap();
        }
        let storage = Storage::default();
        let names = |files: Vec<FileEntry>| -> Vec<String> {
            files.iter().map(|f| f.url.path().rsplit('/').next().unwrap().to_string()).collect()
        };
        let glob = format!("{}/in/*.csv", root.display());
        assert_eq!(names(storage.list_files(&glob).await.unwrap().unwrap()), ["a.csv", "b.csv"]);
        let all = format!("{}/in/", root.display());
        assert_eq!(names(storage.list_files(&all).await.unwrap().unwrap()), ["a.csv", "b.csv", "c.txt", "d.csv"]);
        let one = format!("{}/in/c.txt", root.display());
        assert_eq!(names(storage.list_files(&one).await.unwrap().unwrap()), ["c.txt"]);
        let none = format!("{}/missing/*.csv", root.display());
        assert!(storage.list_files(&none).await.unwrap().is_none());
        std::fs::create_dir_all(root.join("empty")).unwrap();
        let empty = format!("{}/empty", root.display());
        assert_eq!(storage.list_files(&empty).await.unwrap().unwrap().len(), 0);
    }
}
