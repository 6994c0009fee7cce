//! Fault injection for crash tests: `WEIR_FAILPOINT=<name>` makes the process abort (as a
//! SIGKILL would stop it, with no cleanup) when it reaches the point of that name. A test
//! facility only; unset, [`hit`] does nothing.
//!
//! The points, in commit order:
//! - `overwrite-staged`: a file load's new files are complete in staging, nothing swapped yet;
//! - `overwrite-exchanged`: local disk, the staging and target directories were exchanged and
//!   the old data (now under the staging name) is not yet deleted;
//! - `overwrite-journal-written`: the swap journal is written, the target not yet touched;
//! - `overwrite-old-deleted`: the old files are deleted, no new file is moved in yet;
//! - `overwrite-half-moved`: half of the new files are moved in;
//! - `overwrite-moved`: every new file is in place, `_SUCCESS` not yet written;
//! - `delta-committed`: a Delta commit is done, its symlink manifest not yet written.

/// The environment variable naming the failpoint to abort at.
pub const ENV: &str = "WEIR_FAILPOINT";

/// Aborts the process if `WEIR_FAILPOINT` names this point.
pub fn hit(name: &str) {
    if std::env::var(ENV).is_ok_and(|v| v == name) {
        eprintln!("weir: failpoint '{name}' reached, aborting");
        std::process::abort();
    }
}
