//! PipelineExecute: another job file whose stages take this stage's place. It is inlined when
//! the job is read (as Arc flattens it at parse time), so it never runs as a stage itself: the
//! included job's stages are filtered by environment, validated and run like the parent's, its
//! ControlFlow lifecycle plugins apply, and its problems name both files. See
//! [`crate::job::load`].

use crate::config::StageConfig;

/// The included job's URI (`uri`, required); `None` when the config has errors.
pub fn read(c: &mut StageConfig) -> Option<String> {
    let _ = c.node("authentication");
    let _ = c.node("params");
    c.required_string("uri")
}
