//! The notebook kernel driven by real Jupyter clients (jupyter_client, nbclient from PyPI,
//! installed by ./scripts/test.sh): `weir kernel install` writes the kernelspec into a
//! scratch JUPYTER_DATA_DIR and the clients start the kernel from it, as JupyterLab does.

use std::path::Path;
use std::process::Command;

use super::workshop::{BUCKET, upload_app_code};
use super::{Scratch, weir};
use crate::support::{self, S3Server};

/// Installs the kernelspec into `data_dir` and checks what it wrote.
fn install_kernelspec(s: &Scratch) -> std::path::PathBuf {
    let data_dir = s.path().join("jupyter");
    let data = data_dir.to_str().expect("utf8");
    let run = weir(&["kernel", "install", "--user"], &[("JUPYTER_DATA_DIR", data)], s.path());
    assert_eq!(run.code, 0, "{}", run.all());
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("kernels/arc/kernel.json")).expect("kernel.json"))
            .expect("json");
    assert_eq!(spec["display_name"], "Arc");
    assert_eq!(spec["interrupt_mode"], "message");
    data_dir
}

fn python_script(name: &str) -> std::path::PathBuf {
    super::repo_root().join("tests/python").join(name)
}

fn run_python(args: &[&str], data_dir: &Path, env: &[(String, String)]) -> std::process::Output {
    let mut cmd = Command::new(support::python());
    cmd.args(args).env("JUPYTER_DATA_DIR", data_dir).env("JUPYTER_PLATFORM_DIRS", "1");
    // Scratch runtime dir so connection files don't collide with a user's Jupyter.
    cmd.env("JUPYTER_RUNTIME_DIR", data_dir.join("runtime"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("python runs")
}

#[test]
fn jupyter_client_drives_the_kernel() {
    let s = Scratch::new();
    let data_dir = install_kernelspec(&s);
    let log = s.path().join("kernel.log");
    let script = python_script("kernel_client.py");
    let out = run_python(&[script.to_str().expect("utf8"), log.to_str().expect("utf8")], &data_dir, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kernel_log = std::fs::read_to_string(&log).unwrap_or_default();
    let kernel_log = &kernel_log[kernel_log.len().saturating_sub(4000)..];
    assert!(out.status.success(), "{stderr}\n--- kernel log ---\n{kernel_log}");
    eprintln!("kernel measurements: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn nbclient_runs_the_unchanged_workshop_notebook() {
    let Some(shared) = support::shared_dir() else {
        eprintln!("../shared not found: skipping the workshop notebook kernel test");
        return;
    };
    let s = Scratch::new();
    let data_dir = install_kernelspec(&s);
    let s3 = S3Server::start();
    upload_app_code(&s3, &shared);
    let mut env = s3.env();
    env.push(("ETL_CONF_DATALAKE_LOC".into(), BUCKET.into()));
    let notebook = shared.join("workshop/job/SCD_Type2_workshop.ipynb");
    let report = s.path().join("cells.json");
    let script = python_script("kernel_workshop.py");
    let out = run_python(
        &[script.to_str().expect("utf8"), notebook.to_str().expect("utf8"), report.to_str().expect("utf8")],
        &data_dir,
        &env,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cells: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let athena =
        cells.iter().position(|c| c["source"].as_str().unwrap_or("").contains("JDBCExecute")).expect("the Athena cell");
    for (i, cell) in cells[..athena].iter().enumerate() {
        assert!(cell["errors"].as_array().is_some_and(|e| e.is_empty()), "cell {i} failed: {cell}");
    }
    let texts_of = |view: &str| -> String {
        let cell = cells
            .iter()
            .find(|c| c["source"].as_str().unwrap_or("").contains(&format!("outputView=\"{view}\"")))
            .unwrap_or_else(|| panic!("cell {view}"));
        cell["texts"].to_string()
    };
    let expired = texts_of("expired_count");
    assert!(expired.contains("|      92|") || expired.contains("| 92|") || expired.contains(" 92|"), "{expired}");
    let total = texts_of("total_count");
    assert!(total.contains("1192|"), "{total}");
    assert!(texts_of("fail_fast").contains("%sqlvaildate"), "typo warning shown");
    let athena_errors = cells[athena]["errors"].to_string();
    assert!(athena_errors.contains("JDBC"), "Athena cell fails clearly: {athena_errors}");
    let summary = cells.iter().find(|c| c["source"].as_str().unwrap_or("").starts_with("%summary")).expect("summary");
    assert!(summary["texts"].to_string().contains("mean"), "%summary shows statistics: {summary}");
}
