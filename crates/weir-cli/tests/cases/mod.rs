//! Integration cases: each runs the real `weir` binary on real files.
pub mod arc_files;
pub mod arc_stages;
pub mod athena;
pub mod avro_orc;
pub mod crash_safety;
pub mod delta;
pub mod errors;
pub mod extract_inputs;
pub mod failures;
pub mod fuzz;
pub mod http;
pub mod jdbc;
pub mod kernel;
pub mod masking;
pub mod memory;
pub mod service;
pub mod service_crash;
pub mod service_security;
pub mod statistics;
pub mod view_cache;
pub mod workshop;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Result of one `weir` invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// All output, for assertions that don't care which stream.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JSON events on stdout.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    /// The `stage` object of the `exit` event of the stage named `name`.
    pub fn exit_stage(&self, name: &str) -> serde_json::Value {
        self.events()
            .into_iter()
            .find(|e| e["event"] == "exit" && e["stage"]["name"] == name)
            .map(|e| e["stage"].clone())
            .unwrap_or_else(|| panic!("no exit event for '{name}':\n{}", self.all()))
    }
}

/// Runs `weir` with arguments and extra environment, in `cwd`.
pub fn weir(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.args(args).current_dir(cwd);
    for key in ["ETL_CONF_ENV", "ETL_CONF_URI", "ETL_CONF_DATALAKE_LOC", "ETL_CONF_CURRENT_TIMESTAMP"] {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().expect("weir binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A scratch directory with helpers to write job files and data.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// The single data file a DelimitedLoad wrote under `dir`.
pub fn written(s: &Scratch, dir: &str) -> String {
    let files: Vec<_> = std::fs::read_dir(s.path().join(dir))
        .expect("output directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")))
        .collect();
    assert_eq!(files.len(), 1, "one data file in {dir}: {files:?}");
    std::fs::read_to_string(&files[0]).expect("output file")
}

impl Scratch {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
        path
    }

    /// Writes a job and runs it in environment `test`.
    pub fn run_job(&self, name: &str, job: &str) -> Run {
        let path = self.file(name, job);
        weir(&["run", path.to_str().expect("utf8 path"), "--env", "test"], &[], self.path())
    }

    /// A small CSV of `n` rows `id,name` (ids 1..=n).
    pub fn csv(&self, name: &str, n: usize) -> PathBuf {
        let body: String = (1..=n).map(|i| format!("{i},name {i}\n")).collect();
        self.file(name, &body)
    }
}

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
