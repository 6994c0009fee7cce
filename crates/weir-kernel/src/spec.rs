//! The kernelspec: name `arc`, display name "Arc" (so existing Arc notebooks open with Weir
//! unchanged), JavaScript highlighting, and `interrupt_mode: message` so Jupyter interrupts
//! by message instead of SIGINT.

use std::path::{Path, PathBuf};

use serde_json::json;

/// Where to install the kernelspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The user's Jupyter data directory (`JUPYTER_DATA_DIR`, else the platform default).
    User,
    /// The current Python environment (`$VIRTUAL_ENV`, `$CONDA_PREFIX`, else `sys.prefix` of python3).
    SysPrefix,
    /// `PREFIX/share/jupyter`.
    Prefix(PathBuf),
}

/// Why the kernelspec could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot find the Jupyter data directory: set JUPYTER_DATA_DIR or HOME")]
    NoDataDir,
    #[error("cannot find the Python environment: activate it, or use --prefix (python3: {0})")]
    NoPrefix(String),
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The Jupyter user data directory, as Jupyter computes it.
pub fn user_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "macos") {
        return home.map(|h| h.join("Library/Jupyter"));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(xdg).join("jupyter"));
    }
    home.map(|h| h.join(".local/share/jupyter"))
}

fn sys_prefix() -> Result<PathBuf, SpecError> {
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .map_err(|e| SpecError::NoPrefix(e.to_string()))?;
    let prefix = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || prefix.is_empty() {
        return Err(SpecError::NoPrefix(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(PathBuf::from(prefix))
}

/// The kernel.json content for the `weir` binary at `exe`.
pub fn kernel_json(exe: &Path) -> serde_json::Value {
    json!({
        "argv": [exe.display().to_string(), "kernel", "start", "--connection-file", "{connection_file}"],
        "display_name": "Arc",
        "language": "javascript",
        "interrupt_mode": "message",
        "metadata": {"weir_version": env!("CARGO_PKG_VERSION")},
    })
}

/// Writes `kernels/arc/kernel.json`, returning the kernelspec directory.
pub fn install(location: &Location, exe: &Path) -> Result<PathBuf, SpecError> {
    let data_dir = match location {
        Location::User => user_data_dir().ok_or(SpecError::NoDataDir)?,
        Location::SysPrefix => sys_prefix()?.join("share/jupyter"),
        Location::Prefix(p) => p.join("share/jupyter"),
    };
    let dir = data_dir.join("kernels").join("arc");
    let write_err = |source| SpecError::Write { path: dir.display().to_string(), source };
    std::fs::create_dir_all(&dir).map_err(write_err)?;
    let text = serde_json::to_string_pretty(&kernel_json(exe)).unwrap_or_default();
    let file = dir.join("kernel.json");
    // Write then rename so a running Jupyter never reads half a file.
    let tmp = dir.join(".kernel.json.tmp");
    std::fs::write(&tmp, text + "\n").map_err(write_err)?;
    std::fs::rename(&tmp, &file).map_err(write_err)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_into_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let spec = install(&Location::Prefix(dir.path().to_path_buf()), Path::new("/opt/weir/bin/weir")).unwrap();
        assert_eq!(spec, dir.path().join("share/jupyter/kernels/arc"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(spec.join("kernel.json")).unwrap()).unwrap();
        assert_eq!(v["argv"][0], "/opt/weir/bin/weir");
        assert_eq!(v["argv"][4], "{connection_file}");
        assert_eq!(v["display_name"], "Arc");
        assert_eq!(v["interrupt_mode"], "message");
    }
}
