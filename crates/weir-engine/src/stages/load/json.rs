//! JSONLoad: writes a view as JSON lines files.

use crate::config::StageConfig;
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let _ = c.node("authentication");
    Some(Box::new(FileLoad { stage: "JSONLoad", common: common?, format: FileFormat::Json, extra: Default::default() }))
}
