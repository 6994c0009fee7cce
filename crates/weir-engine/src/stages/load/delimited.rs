//! DelimitedLoad: writes a view as CSV-like text files.

use crate::config::StageConfig;
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let delimiter = crate::stages::read_delimiter(c);
    let quote = c.choice("quote", &[("DoubleQuote", b'"'), ("SingleQuote", b'\''), ("None", 0u8)], b'"');
    let header = c.bool_or("header", false);
    let _ = c.node("authentication");
    let delimiter = delimiter?;
    let extra = crate::obj! { "delimiter" => (delimiter as char).to_string(), "header" => header };
    Some(Box::new(FileLoad {
        stage: "DelimitedLoad",
        common: common?,
        format: FileFormat::Csv { delimiter, quote: quote?, header },
        extra,
    }))
}
