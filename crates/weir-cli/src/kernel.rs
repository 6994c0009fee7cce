//! `weir kernel install|start` and `weir notebook`.

use std::process::ExitCode;

use weir_kernel::spec::{self, Location};

use crate::KernelCommand;

pub fn command(command: KernelCommand) -> ExitCode {
    match command {
        KernelCommand::Install { user: _, sys_prefix, prefix } => {
            let location = match (sys_prefix, prefix) {
                (_, Some(p)) => Location::Prefix(p),
                (true, None) => Location::SysPrefix,
                (false, None) => Location::User,
            };
            match install(&location) {
                Ok(dir) => {
                    println!("Installed the Weir kernelspec 'arc' (display name \"Arc\") in {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("weir: {e}");
                    ExitCode::from(1)
                }
            }
        }
        KernelCommand::Start { connection_file } => {
            weir_kernel::logging::init();
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("weir: cannot start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match runtime.block_on(weir_kernel::run(&connection_file)) {
                Ok(()) => {
                    // Don't wait for a cell still running in the background.
                    runtime.shutdown_background();
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("weir kernel: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn install(location: &Location) -> Result<std::path::PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the weir binary's path: {e}"))?;
    let exe = exe.canonicalize().unwrap_or(exe);
    spec::install(location, &exe).map_err(|e| e.to_string())
}

fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

pub fn notebook(args: Vec<String>) -> ExitCode {
    let Some(lab) = find_on_path("jupyter-lab") else {
        eprintln!(
            "weir: JupyterLab is not installed (no `jupyter-lab` on PATH).\n\
             Install it with `python3 -m pip install jupyterlab` (in a virtualenv if you like), then run `weir notebook` again."
        );
        return ExitCode::from(1);
    };
    match install(&Location::User) {
        Ok(dir) => eprintln!("weir: kernelspec 'arc' installed in {}", dir.display()),
        Err(e) => {
            eprintln!("weir: {e}");
            return ExitCode::from(1);
        }
    }
    match std::process::Command::new(&lab).args(&args).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("weir: cannot start {}: {e}", lab.display());
            ExitCode::from(1)
        }
    }
}
