//! Test support for the integration tests: the `weir` binary with a kill timeout, a real
//! S3-compatible server (s3s-fs), moto (AWS APIs: SQS, Athena), the Python `deltalake` reader,
//! `../shared`, and scratch workspaces.
//!
//! The servers and the Python packages are installed by `./scripts/test.sh`; a helper whose
//! tool is missing panics with a message that says so.
//!
//! Overrides (environment): `WEIR_S3S_FS_BIN` (s3s-fs binary), `WEIR_PYTHON` (interpreter with
//! `deltalake`), `WEIR_SHARED_DIR` (instead of `../shared`), `WEIR_TEST_TIMEOUT_SECS` (kill
//! timeout of one `weir` run, default 300).
#![allow(dead_code)]

#[cfg(test)]
mod selftest;

use std::ffi::OsStr;
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions};

// ---------------------------------------------------------------------------------------------
// Paths

/// The repository root (`CARGO_MANIFEST_DIR/../..`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// `../shared` beside the repository (or `$WEIR_SHARED_DIR`), when it is a directory.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("WEIR_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo_root().join("../shared"),
    };
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}

/// `let shared = require_shared!();` — the `../shared` directory, or (when absent) prints
/// "../shared not found: skipping workshop test" and returns from the calling test.
#[macro_export]
macro_rules! require_shared {
    () => {
        match $crate::support::shared_dir() {
            Some(dir) => dir,
            None => {
                eprintln!("../shared not found: skipping workshop test");
                return;
            }
        }
    };
}

/// Finds an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------------
// The weir binary

/// The `weir` binary cargo built for these tests.
pub fn weir_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weir"))
}

/// Kill timeout of one `weir` run: `$WEIR_TEST_TIMEOUT_SECS`, default 300 s.
pub fn default_timeout() -> Duration {
    let secs = std::env::var("WEIR_TEST_TIMEOUT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    Duration::from_secs(secs)
}

/// What one `weir` run did.
#[derive(Debug)]
pub struct WeirOutput {
    pub status: ExitStatus,
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl WeirOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout then stderr, for assertions that don't care which stream.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON lines of stdout (other lines skipped).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// Panics, showing both streams, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "weir exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }
}

/// Runs `weir args` in `cwd` with `envs` added, capturing both streams. Inherited `ETL_CONF_*`
/// and `AWS_*` variables are removed so a developer's shell can't leak into a test. A run
/// longer than [`default_timeout`] is killed and the test panics with what it printed.
#[track_caller]
pub fn run_weir(args: &[&str], envs: &[(&str, &str)], cwd: &Path) -> WeirOutput {
    run_weir_timeout(args, envs, cwd, default_timeout())
}

/// [`run_weir`] with owned environment pairs, e.g. `S3Server::env()` extended.
#[track_caller]
pub fn run_weir_env(args: &[&str], envs: &[(String, String)], cwd: &Path) -> WeirOutput {
    let refs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_weir(args, &refs, cwd)
}

/// [`run_weir`] with an explicit kill timeout.
#[track_caller]
pub fn run_weir_timeout(args: &[&str], envs: &[(&str, &str)], cwd: &Path, timeout: Duration) -> WeirOutput {
    let mut cmd = Command::new(weir_bin());
    cmd.args(args).current_dir(cwd);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("ETL_CONF_") || k.starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, timeout)
}

/// Runs a command with stdin closed, capturing both streams; kills it and panics after
/// `timeout`.
#[track_caller]
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> WeirOutput {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let out = reader(child.stdout.take().expect("stdout"));
    let err = reader(child.stderr.take().expect("stderr"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = out.join().unwrap_or_default();
            let stderr = err.join().unwrap_or_default();
            panic!("killed after {timeout:?}: {shown}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    WeirOutput {
        status,
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed,
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

// ---------------------------------------------------------------------------------------------
// S3-compatible server

/// The s3s-fs binary: `$WEIR_S3S_FS_BIN`, else `<repo>/.tools/bin/s3s-fs`, else
/// `$CARGO_HOME/bin/s3s-fs` (where `./scripts/test.sh` installs it), else `PATH`.
pub fn s3s_fs_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("WEIR_S3S_FS_BIN") {
        return PathBuf::from(path);
    }
    let local = repo_root().join(".tools/bin/s3s-fs");
    if local.is_file() {
        return local;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(bin) = cargo_home.map(|h| h.join("bin/s3s-fs"))
        && bin.is_file()
    {
        return bin;
    }
    which("s3s-fs")
        .unwrap_or_else(|| panic!("s3s-fs not installed: run ./scripts/test.sh (it installs the test servers)"))
}

/// An s3s-fs server on 127.0.0.1 (a port the OS chose), storing into a temporary directory,
/// with fixed credentials; killed on drop.
///
/// s3s-fs stores bucket `b`, key `k/x` as the file `<root>/b/k/x`: a bucket is a directory
/// of the root. It accepts path-style requests only (no `--domain` given), SigV4 signed with
/// [`S3Server::ACCESS_KEY`]/[`S3Server::SECRET_KEY`], and honours `If-None-Match: *` and
/// `If-Match` on PutObject and CompleteMultipartUpload (what Delta commits use).
pub struct S3Server {
    child: Child,
    port: u16,
    /// Holds `root/` (the served data) and `s3s-fs.log`.
    base: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

impl S3Server {
    pub const ACCESS_KEY: &'static str = "weirtest";
    pub const SECRET_KEY: &'static str = "weirtestsecret";
    pub const REGION: &'static str = "us-east-1";

    /// Starts a server and waits until it accepts connections (panics after 30 s).
    #[track_caller]
    pub fn start() -> Self {
        let bin = s3s_fs_bin();
        let base = tempfile::Builder::new().prefix("weir-s3-").tempdir().expect("s3 temp dir");
        let root = base.path().join("root");
        std::fs::create_dir(&root).expect("s3 root");
        let log_path = base.path().join("s3s-fs.log");
        let log = std::fs::File::create(&log_path).expect("s3s-fs log");
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", Self::ACCESS_KEY, "--secret-key", Self::SECRET_KEY])
            .arg(&root)
            .env("RUST_LOG", "s3s_fs=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let mut server = Self { child, port: 0, base, runtime };
        server.port = server.wait_for_port(&log_path);
        server
    }

    /// s3s-fs logs "server is running at http://127.0.0.1:PORT" once it listens.
    fn wait_for_port(&mut self, log_path: &Path) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            if let Some(port) = log
                .split("server is running at http://127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|p| p.parse::<u16>().ok())
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("s3s-fs exited ({status}) before listening:\n{log}");
            }
            if Instant::now() > deadline {
                panic!("s3s-fs did not start listening within 30 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory served: bucket `b`, key `k` is the file `root()/b/k`.
    pub fn root(&self) -> PathBuf {
        self.base.path().join("root")
    }

    /// What the server logged (info level), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.base.path().join("s3s-fs.log")).unwrap_or_default()
    }

    /// The environment a process needs to reach this server the standard AWS way
    /// (object_store's `AmazonS3Builder::from_env` and delta-rs read these): endpoint, region,
    /// keys, plain HTTP allowed, path-style requests, no instance-metadata lookups.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", Self::REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", Self::ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", Self::SECRET_KEY.to_string()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// [`S3Server::env`] plus `extra`, borrowed for [`run_weir`].
    pub fn env_with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    }

    /// Creates a bucket (a directory of the root; idempotent).
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir_all(self.root().join(name)).expect("bucket dir");
    }

    /// An object_store client for `bucket`, configured like a weir process from [`S3Server::env`].
    pub fn store(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(self.client(bucket))
    }

    fn client(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_region(Self::REGION)
            .with_bucket_name(bucket)
            .with_access_key_id(Self::ACCESS_KEY)
            .with_secret_access_key(Self::SECRET_KEY)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .build()
            .expect("s3 client")
    }

    /// Runs a future on this server's runtime (for direct object_store calls).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Uploads an object through the S3 API (overwrites).
    #[track_caller]
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let store = self.client(bucket);
        self.block_on(store.put(&ObjectPath::from(key), bytes.to_vec().into()))
            .unwrap_or_else(|e| panic!("put s3://{bucket}/{key}: {e}"));
    }

    /// Uploads an object only if absent (`If-None-Match: *`); false when it already existed.
    #[track_caller]
    pub fn put_if_absent(&self, bucket: &str, key: &str, bytes: &[u8]) -> bool {
        let store = self.client(bucket);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.block_on(store.put_opts(&ObjectPath::from(key), bytes.to_vec().into(), opts)) {
            Ok(_) => true,
            Err(object_store::Error::AlreadyExists { .. }) => false,
            Err(e) => panic!("conditional put s3://{bucket}/{key}: {e}"),
        }
    }

    /// Uploads every file under `local_dir` to `bucket` under `prefix` (keys use `/`).
    /// Returns the keys uploaded, sorted.
    #[track_caller]
    pub fn put_dir(&self, bucket: &str, prefix: &str, local_dir: &Path) -> Vec<String> {
        let mut keys = Vec::new();
        for file in files_under(local_dir) {
            let rel = file.strip_prefix(local_dir).expect("under dir");
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let key = join_key(prefix, &rel.join("/"));
            self.put(bucket, &key, &std::fs::read(&file).expect("read file"));
            keys.push(key);
        }
        keys.sort();
        keys
    }

    /// Downloads an object; panics when it doesn't exist.
    #[track_caller]
    pub fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.try_get(bucket, key).unwrap_or_else(|| panic!("s3://{bucket}/{key} does not exist"))
    }

    /// Downloads an object, `None` when it doesn't exist.
    #[track_caller]
    pub fn try_get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let store = self.client(bucket);
        let result = self.block_on(async { store.get(&ObjectPath::from(key)).await?.bytes().await });
        match result {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("get s3://{bucket}/{key}: {e}"),
        }
    }

    /// Keys under `prefix` (object_store semantics: whole path segments; "" for all), sorted.
    #[track_caller]
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        let store = self.client(bucket);
        let prefix = prefix.trim_matches('/');
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let listed: Vec<object_store::ObjectMeta> =
            self.block_on(store.list(prefix.as_ref()).try_collect()).unwrap_or_else(|e| {
                panic!("list s3://{bucket}/{}: {e}", prefix.map(|p| p.to_string()).unwrap_or_default())
            });
        let mut keys: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        keys
    }

    /// Deletes an object (no error when absent).
    pub fn delete(&self, bucket: &str, key: &str) {
        let store = self.client(bucket);
        match self.block_on(store.delete(&ObjectPath::from(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => panic!("delete s3://{bucket}/{key}: {e}"),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn join_key(prefix: &str, rel: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() { rel.to_string() } else { format!("{prefix}/{rel}") }
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// The independent Delta reader (Python deltalake)

/// The Python interpreter with `deltalake`: `$WEIR_PYTHON`, else `<repo>/.venv/bin/python`
/// (made by `./scripts/test.sh`), else `python3`.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("WEIR_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo_root().join(".venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// A moto server (`moto_server` of the test venv, installed by `./scripts/test.sh`) on
/// 127.0.0.1, a port the OS chose; killed on drop. Each server has its own state.
pub struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    /// Starts a server and waits until it accepts connections (panics after 60 s).
    #[track_caller]
    pub fn start() -> Self {
        let python = python();
        let bin = python.parent().map(|d| d.join("moto_server")).filter(|p| p.is_file()).unwrap_or_else(|| {
            panic!("moto_server not found next to {}: run ./scripts/test.sh (it installs moto)", python.display())
        });
        Self::start_command(Command::new(&bin))
    }

    /// The server of `tests/deploy/moto_server.py`: moto with its awsvpc RunTask fixed.
    #[track_caller]
    pub fn start_for_ecs() -> Self {
        let mut command = Command::new(python());
        command.arg(repo_root().join("tests/deploy/moto_server.py"));
        Self::start_command(command)
    }

    #[track_caller]
    fn start_command(mut command: Command) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let mut child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto: {e}"));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("moto_server exited ({status}) before listening");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        MotoServer { child, port }
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `tests/python/<script>` with this server's endpoint as first argument, then
    /// `args`; returns the last JSON line it printed (panics, showing its stderr, on failure).
    #[track_caller]
    pub fn script(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let path = repo_root().join("tests/python").join(script);
        let out = Command::new(python())
            .arg(&path)
            .arg(self.endpoint())
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{script} {args:?} failed ({}):\n{stdout}\n{stderr}", out.status);
        stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("{script} {args:?} printed no JSON:\n{stdout}\n{stderr}"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway PostgreSQL server on 127.0.0.1 (trust auth, database `postgres`), from the
/// server binaries in `$WEIR_PG_BIN` (set by `./scripts/test.sh`, which installs Debian's
/// package when missing) or `/usr/lib/postgresql/*/bin`; stopped and deleted on drop. As root
/// it runs as the `postgres` user (PostgreSQL refuses to run as root).
pub struct PgServer {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
    _base: tempfile::TempDir,
}

impl PgServer {
    #[track_caller]
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A server whose superuser `postgres` needs `password` (scram-sha-256 over TCP).
    #[track_caller]
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(Some(password))
    }

    #[track_caller]
    fn start_with(password: Option<&str>) -> Self {
        let bin = std::env::var_os("WEIR_PG_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path().join("bin"))
                    .filter(|d| d.join("initdb").is_file())
                    .collect();
                dirs.sort();
                dirs.pop()
            })
            .unwrap_or_else(|| {
                panic!("PostgreSQL server binaries not found: run ./scripts/test.sh (it installs them)")
            });
        let base = tempfile::Builder::new().prefix("weir-pg-").tempdir().expect("pg temp dir");
        let data = base.path().join("data");
        std::fs::create_dir(&data).expect("pg data dir");
        let pwfile = base.path().join("pwfile");
        if let Some(password) = password {
            std::fs::write(&pwfile, password).expect("pg password file");
        }
        let as_postgres = running_as_root();
        if as_postgres {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(base.path()).status();
            assert!(status.map(|s| s.success()).unwrap_or(false), "cannot chown the PostgreSQL data dir to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let server = PgServer { bin, data, port, as_postgres, _base: base };
        let mut initdb = server.command("initdb");
        match password {
            Some(_) => {
                initdb.args(["-U", "postgres", "--auth=scram-sha-256"]).arg(format!("--pwfile={}", pwfile.display()))
            }
            None => initdb.args(["-U", "postgres", "--auth=trust"]),
        };
        let out = initdb.args(["--no-sync", "-E", "UTF8", "-D"]).arg(&server.data).output().expect("initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let options = format!("-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off");
        let out = server
            .command("pg_ctl")
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(server.data.join("server.log"))
            .arg("-D")
            .arg(&server.data)
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(
            out.status.success(),
            "PostgreSQL did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(server.data.join("server.log")).unwrap_or_default()
        );
        server
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` with `psql` as `postgres` (password `password` when the server needs one),
    /// returning its unaligned, tuples-only output (`|`-separated); panics on failure.
    #[track_caller]
    pub fn psql(&self, password: Option<&str>, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .arg("-p")
        .arg(self.port.to_string())
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null());
        if let Some(password) = password {
            cmd.env("PGPASSWORD", password);
        }
        let out = cmd.output().expect("psql runs");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").args(["-m", "immediate", "-D"]).arg(&self.data).arg("stop").output();
    }
}

/// A throwaway MariaDB server on 127.0.0.1 with a free port, from Debian's `mariadb-server`
/// (installed by `./scripts/test.sh`; `$WEIR_MARIADB_BIN` names a directory holding `mariadbd`,
/// `mariadb-install-db` and `mariadb` instead). The data directory is made by
/// `mariadb-install-db` in a temp dir; the server has a user `weir` with a password and a
/// database `weir`. Stopped and deleted on drop.
pub struct MariaDbServer {
    child: std::process::Child,
    client: PathBuf,
    socket: PathBuf,
    port: u16,
    _base: tempfile::TempDir,
}

impl MariaDbServer {
    pub const USER: &'static str = "weir";
    pub const DATABASE: &'static str = "weir";

    fn program(name: &str) -> PathBuf {
        if let Some(dir) = std::env::var_os("WEIR_MARIADB_BIN") {
            return PathBuf::from(dir).join(name);
        }
        ["/usr/sbin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join(name))
            .find(|p| p.is_file())
            .or_else(|| which(name))
            .unwrap_or_else(|| panic!("{name} not found: run ./scripts/test.sh (it installs mariadb-server)"))
    }

    /// Starts a server whose user `weir` has `password`.
    #[track_caller]
    pub fn start(password: &str) -> Self {
        let base = tempfile::Builder::new().prefix("weir-mariadb-").tempdir().expect("mariadb temp dir");
        let data = base.path().join("data");
        let socket = base.path().join("mysqld.sock");
        let mut user = Vec::new();
        if running_as_root() {
            user.push("--user=root".to_string());
        }
        let out = Command::new(Self::program("mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(&user)
            .stdin(Stdio::null())
            .output()
            .expect("mariadb-install-db runs");
        assert!(out.status.success(), "mariadb-install-db failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let log = std::fs::File::create(base.path().join("server.log")).expect("log");
        let child = Command::new(Self::program("mariadbd"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", base.path().join("mysqld.pid").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=4M",
            ])
            .args(&user)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("mariadbd starts");
        let mut server = MariaDbServer { child, client: Self::program("mariadb"), socket, port, _base: base };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || !server.socket.exists() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("mariadbd exited ({status}): {}", server.log());
            }
            assert!(std::time::Instant::now() < deadline, "mariadbd did not start: {}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server.root_sql(&format!(
            "CREATE DATABASE {db}; CREATE USER '{u}'@'%' IDENTIFIED BY '{password}'; \
             CREATE USER '{u}'@'localhost' IDENTIFIED BY '{password}'; \
             GRANT ALL ON {db}.* TO '{u}'@'%'; GRANT ALL ON {db}.* TO '{u}'@'localhost';",
            db = Self::DATABASE,
            u = Self::USER
        ));
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._base.path().join("server.log")).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` as root over the socket, in database `weir` once it exists; returns the
    /// tab-separated rows without column names. Panics on failure.
    #[track_caller]
    pub fn root_sql(&self, sql: &str) -> String {
        let out = Command::new(&self.client)
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "-N", "-B", "-e", sql])
            .stdin(Stdio::null())
            .output()
            .expect("mariadb client runs");
        assert!(out.status.success(), "mariadb {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// A read of a Delta table by `tests/python/read_delta.py`; see that script for the JSON.
///
/// ```ignore
/// let v = DeltaRead::new("s3://b/t").env(&s3.env()).columns(&["id", "name"]).count("false:iscurrent").run();
/// assert_eq!(v["num_rows"], 3); assert_eq!(v["counts"]["false:iscurrent"], 1); v["rows"][0]["id"];
/// ```
#[derive(Clone, Debug, Default)]
pub struct DeltaRead {
    uri: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl DeltaRead {
    pub fn new(table_uri: &str) -> Self {
        Self { uri: table_uri.to_string(), ..Default::default() }
    }

    /// Storage environment (e.g. [`S3Server::env`]); its AWS_* become storage options.
    pub fn env(mut self, env: &[(String, String)]) -> Self {
        self.env.extend(env.iter().cloned());
        self
    }

    /// A storage option passed as is (`--option KEY=VALUE`).
    pub fn option(mut self, key: &str, value: &str) -> Self {
        self.args.extend(["--option".into(), format!("{key}={value}")]);
        self
    }

    /// Reads this table version instead of the latest.
    pub fn version(mut self, version: i64) -> Self {
        self.args.extend(["--version".into(), version.to_string()]);
        self
    }

    /// Include all rows, all columns, as `rows`.
    pub fn rows(mut self) -> Self {
        self.args.push("--rows".into());
        self
    }

    /// Include all rows, these columns, as `rows`.
    pub fn columns(mut self, columns: &[&str]) -> Self {
        self.args.extend(["--columns".into(), columns.join(",")]);
        self
    }

    /// Sort `rows` by these columns (default: the selected columns), nulls last.
    pub fn sort(mut self, columns: &[&str]) -> Self {
        self.args.extend(["--sort".into(), columns.join(",")]);
        self
    }

    /// Adds `counts[spec]`: `false:c`, `true:c`, `null:c`, `not_null:c` or `eq:c=VALUE`.
    pub fn count(mut self, spec: &str) -> Self {
        self.args.extend(["--count".into(), spec.to_string()]);
        self
    }

    /// Include `history`: `[{version, operation, parameters}]`, oldest first.
    pub fn history(mut self) -> Self {
        self.args.push("--history".into());
        self
    }

    /// Runs the reader; `Err` carries the reader's error text (e.g. no table there).
    pub fn try_run(&self) -> Result<serde_json::Value, String> {
        let script = repo_root().join("tests/python/read_delta.py");
        let python = python();
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(&self.uri).args(&self.args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(&key);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
        cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run {} (run ./scripts/test.sh to install python deltalake): {e}", python.display())
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("ModuleNotFoundError: No module named 'deltalake'")
            || stderr.contains("ModuleNotFoundError: No module named 'pyarrow'")
        {
            panic!(
                "python deltalake not installed for {}: run ./scripts/test.sh (it installs it)\n{stderr}",
                python.display()
            );
        }
        let value: Option<serde_json::Value> = stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok());
        match (out.status.success(), value) {
            (true, Some(v)) => Ok(v),
            (false, Some(v)) if v.get("error").is_some() => Err(v["error"].as_str().unwrap_or_default().to_string()),
            _ => Err(format!("read_delta.py {} failed ({}):\n{stdout}\n{stderr}", self.uri, out.status)),
        }
    }

    /// Runs the reader; panics (with the reader's error) when it fails.
    #[track_caller]
    pub fn run(&self) -> serde_json::Value {
        self.try_run().unwrap_or_else(|e| panic!("python deltalake could not read {}: {e}", self.uri))
    }
}

/// Reads a Delta table with the Python `deltalake` package and returns its JSON summary:
/// `version`, `num_rows`, `num_files`, `fields`, `schema` [{name, type, nullable}],
/// `columns` ["name:arrow type"], `partition_columns`, and `expired`/`current` when the table
/// has `iscurrent` and `valid_to`. For s3:// URIs pass [`S3Server::env`]; `&[]` for local.
#[track_caller]
pub fn read_delta_with_python(table_uri: &str, storage_env: &[(String, String)]) -> serde_json::Value {
    DeltaRead::new(table_uri).env(storage_env).run()
}

// ---------------------------------------------------------------------------------------------
// Scratch workspaces

/// A temporary directory to copy examples into and write job files; removed on drop
/// (unless `WEIR_TEST_KEEP=1`, which leaves it and prints where).
pub struct Workspace {
    dir: Option<tempfile::TempDir>,
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

impl Workspace {
    pub fn new() -> Self {
        Self { dir: Some(tempfile::Builder::new().prefix("weir-test-").tempdir().expect("temp dir")) }
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("workspace").path()
    }

    /// `path()/rel`
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    /// Writes a file (creating parent directories); returns its path.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, contents).expect("write");
        path
    }

    /// Reads a file of the workspace as text.
    #[track_caller]
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Copies a file into the workspace at `rel`; returns its new path.
    #[track_caller]
    pub fn copy_file(&self, src: impl AsRef<Path>, rel: impl AsRef<Path>) -> PathBuf {
        let (src, dst) = (src.as_ref(), self.join(rel));
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        dst
    }

    /// Copies a directory tree into the workspace at `rel`; returns its new path.
    #[track_caller]
    pub fn copy_dir(&self, src: impl AsRef<Path>, rel: impl AsRef<Path>) -> PathBuf {
        let (src, dst) = (src.as_ref(), self.join(rel));
        std::fs::create_dir_all(&dst).expect("mkdir");
        for file in files_under(src) {
            let target = dst.join(file.strip_prefix(src).expect("under src"));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&file, &target).unwrap_or_else(|e| panic!("copy {}: {e}", file.display()));
        }
        dst
    }

    /// Copies `<repo>/examples/<name>` to `path()/<name>`; returns its new path.
    #[track_caller]
    pub fn copy_example(&self, name: &str) -> PathBuf {
        self.copy_dir(repo_root().join("examples").join(name), name)
    }

    /// Runs `weir` with this workspace as working directory.
    #[track_caller]
    pub fn run_weir(&self, args: &[&str], envs: &[(&str, &str)]) -> WeirOutput {
        run_weir(args, envs, self.path())
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if std::env::var_os("WEIR_TEST_KEEP").is_some_and(|v| v == "1")
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept test workspace {}", dir.keep().display());
        }
    }
}
