//! What `POST /api/runs` may ask for: job files only under the configured job roots, and only
//! allowed variable names in `env`.

use std::path::{Component, Path, PathBuf};

/// One job root: a local directory (symlinks resolved) or a URI prefix (`s3://bucket/prefix/`).
#[derive(Debug, Clone, PartialEq)]
enum Root {
    Dir(PathBuf),
    Prefix(String),
}

/// The places jobs submitted over the API may come from.
#[derive(Debug, Clone, Default)]
pub struct JobRoots {
    roots: Vec<Root>,
    /// As configured, for messages.
    shown: Vec<String>,
}

/// Why a submitted job is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AccessError {
    #[error("job '{job}' is outside the job roots ({roots}): set [api] job_roots in the service config to allow it")]
    OutsideRoots { job: String, roots: String },
    #[error("job '{job}' is not a valid path or URI: {reason}")]
    BadJob { job: String, reason: String },
    #[error(
        "env variable '{key}' may not be set over the API: allowed are ETL_CONF_*, ETL_POLICY_*, WEIR_* (but not {denied}) and the names in [api] env_allow"
    )]
    EnvRefused { key: String, denied: String },
}

/// `s3a://` and `s3n://` name the same objects as `s3://`.
fn canonical_scheme(scheme: &str) -> &str {
    match scheme {
        "s3a" | "s3n" => "s3",
        other => other,
    }
}

/// The path without `.` and `..` parts; None when `..` climbs above the start.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// An absolute local path with `..` and symlinks resolved, also for files that do not exist
/// yet (their deepest existing directory is resolved).
fn resolve_local(path: &Path) -> Result<PathBuf, String> {
    let absolute = std::path::absolute(path).map_err(|e| e.to_string())?;
    let clean = lexical(&absolute).ok_or("'..' leaves the file system root")?;
    let mut existing = clean.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(real) => {
                let mut out = real;
                out.extend(rest.iter().rev());
                return Ok(out);
            }
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Ok(clean),
            },
        }
    }
}

/// A URI without query or fragment, its scheme canonical and its path free of `.`/`..`
/// segments (also percent-encoded ones).
fn normal_uri(url: &url::Url) -> Result<String, String> {
    let mut segments = Vec::new();
    for s in url.path().split('/') {
        let decoded = percent_decode(s);
        if decoded == ".." || decoded == "." || decoded.contains(['/', '\\']) {
            return Err("'.' and '..' segments are not allowed".into());
        }
        segments.push(s);
    }
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}{}", canonical_scheme(url.scheme()), segments.join("/")))
}

/// Percent-decodes `s` (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl JobRoots {
    /// Roots from config entries: directories (relative ones from the working directory) or
    /// URIs. Directories that do not exist yet are kept as given.
    pub fn new(entries: &[String]) -> Self {
        let mut roots = JobRoots::default();
        for e in entries {
            let root = match url::Url::parse(e) {
                Ok(u) if u.scheme() == "file" => u.to_file_path().ok().map(|p| Root::Dir(resolve_dir(&p))),
                Ok(u) if u.scheme().len() > 1 => normal_uri(&u).ok().map(|s| {
                    let s = if s.ends_with('/') { s } else { format!("{s}/") };
                    Root::Prefix(s)
                }),
                _ => Some(Root::Dir(resolve_dir(Path::new(e)))),
            };
            if let Some(root) = root
                && !roots.roots.contains(&root)
            {
                roots.roots.push(root);
                roots.shown.push(e.clone());
            }
        }
        roots
    }

    /// The roots as configured.
    pub fn shown(&self) -> String {
        if self.shown.is_empty() { "none".into() } else { self.shown.join(", ") }
    }

    /// Checks a submitted job path or URI.
    pub fn check(&self, job: &str) -> Result<(), AccessError> {
        let bad = |reason: String| AccessError::BadJob { job: job.to_string(), reason };
        let inside = match url::Url::parse(job) {
            Ok(u) if u.scheme() == "file" => {
                let path = u.to_file_path().map_err(|_| bad("not a local file URI".into()))?;
                self.inside_dir(&resolve_local(&path).map_err(bad)?)
            }
            // A one-letter "scheme" is a Windows drive, not a URI.
            Ok(u) if u.scheme().len() > 1 => {
                let uri = normal_uri(&u).map_err(bad)?;
                self.roots.iter().any(|r| matches!(r, Root::Prefix(p) if uri.starts_with(p.as_str())))
            }
            _ => self.inside_dir(&resolve_local(Path::new(job)).map_err(bad)?),
        };
        if inside { Ok(()) } else { Err(AccessError::OutsideRoots { job: job.to_string(), roots: self.shown() }) }
    }

    fn inside_dir(&self, path: &Path) -> bool {
        self.roots.iter().any(|r| matches!(r, Root::Dir(d) if path.starts_with(d) && path != d))
    }
}

fn resolve_dir(p: &Path) -> PathBuf {
    resolve_local(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `WEIR_*` variables a submitted run may not set: the ones naming programs, files or
/// credentials the service and `weir run` rely on.
const DENIED_WEIR: [&str; 11] = [
    "WEIR_API_TOKEN",
    "WEIR_ALLOW_ROOT",
    "WEIR_BIN",
    "WEIR_PYTHON",
    "WEIR_KERNEL_LOG",
    "WEIR_SHARED_DIR",
    "WEIR_STORE",
    "WEIR_INSTANCE",
    "WEIR_CHROMIUM",
    "WEIR_PG_BIN",
    "WEIR_S3S_FS_BIN",
];

/// Checks the variable names of a submitted run: `ETL_CONF_*`, `ETL_POLICY_*`, `WEIR_*` (but
/// not [`DENIED_WEIR`] nor any `WEIR_*_BIN`/`_DIR`/`_PATH`) and the names in `allow`.
pub fn check_env<'a>(keys: impl IntoIterator<Item = &'a String>, allow: &[String]) -> Result<(), AccessError> {
    for key in keys {
        let weir = key.starts_with("WEIR_")
            && !DENIED_WEIR.contains(&key.as_str())
            && !["_BIN", "_DIR", "_PATH"].iter().any(|s| key.ends_with(s));
        let ok = key.starts_with("ETL_CONF_") || key.starts_with("ETL_POLICY_") || weir || allow.contains(key);
        if !ok {
            return Err(AccessError::EnvRefused { key: key.clone(), denied: DENIED_WEIR.join(", ") });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_must_resolve_inside_a_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("jobs");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("outside.json"), "{}").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("outside.json"), root.join("link.json")).unwrap();
        let roots = JobRoots::new(&[root.display().to_string()]);
        assert_eq!(roots.check(&root.join("a.json").display().to_string()), Ok(()));
        assert_eq!(roots.check(&format!("file://{}/sub/new.json", root.display())), Ok(()));
        for outside in [
            format!("{}/../outside.json", root.display()),
            format!("{}/sub/../../outside.json", root.display()),
            dir.path().join("outside.json").display().to_string(),
            "/etc/shadow".into(),
            format!("file://{}/../outside.json", root.display()),
            root.display().to_string(),
            format!("{}-evil/x.json", root.display()),
        ] {
            let e = roots.check(&outside).unwrap_err();
            assert!(matches!(e, AccessError::OutsideRoots { .. }), "{outside}: {e}");
            assert!(e.to_string().contains(&root.display().to_string()), "{e}");
        }
        #[cfg(unix)]
        assert!(roots.check(&root.join("link.json").display().to_string()).is_err(), "symlink out");
    }

    #[test]
    fn uris_must_start_with_a_root_prefix() {
        let roots = JobRoots::new(&["s3://bucket/jobs".into()]);
        assert_eq!(roots.check("s3a://bucket/jobs/a.json"), Ok(()));
        assert_eq!(roots.check("s3://bucket/jobs/x/y.ipynb"), Ok(()));
        for bad in [
            "s3://bucket/jobs-evil/a.json",
            "s3://other/jobs/a.json",
            "s3://bucket/jobs/../secret.json",
            "s3://bucket/jobs/%2e%2e/secret.json",
            "https://bucket/jobs/a.json",
        ] {
            assert!(roots.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_names_are_allowlisted() {
        let allow = vec!["AWS_REGION".to_string()];
        let ok: Vec<String> =
            ["ETL_CONF_X", "ETL_POLICY_INLINE_SQL", "WEIR_COUNT_ROWS", "AWS_REGION"].map(String::from).to_vec();
        assert_eq!(check_env(&ok, &allow), Ok(()));
        for bad in ["LD_PRELOAD", "PATH", "WEIR_PYTHON", "WEIR_API_TOKEN", "WEIR_FOO_BIN", "ETL_CONF"] {
            let e = check_env(&[bad.to_string()], &allow).unwrap_err();
            assert!(e.to_string().contains(&format!("'{bad}'")), "{e}");
        }
    }
}
