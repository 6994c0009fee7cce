//! ParquetLoad: writes a view as Parquet files.

use crate::config::StageConfig;
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let _ = c.node("authentication");
    Some(Box::new(FileLoad {
        stage: "ParquetLoad",
        common: common?,
        format: FileFormat::Parquet,
        extra: Default::default(),
    }))
}
