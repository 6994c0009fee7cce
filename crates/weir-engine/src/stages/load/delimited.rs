//! DelimitedLoad: writes a view as CSV-like text files.

use crate::config::StageConfig;
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    #[derive(Clone, Copy)]
    enum Delim {
        Comma,
        Pipe,
        Hive,
        Custom,
    }
    let kind = c.choice(
        "delimiter",
        &[("Comma", Delim::Comma), ("Pipe", Delim::Pipe), ("DefaultHive", Delim::Hive), ("Custom", Delim::Custom)],
        Delim::Comma,
    );
    let custom = c.string("customDelimiter");
    let quote = c.choice("quote", &[("DoubleQuote", b'"'), ("SingleQuote", b'\''), ("None", 0u8)], b'"');
    let header = c.bool_or("header", false);
    let _ = c.node("authentication");
    let delimiter = match kind? {
        Delim::Comma => b',',
        Delim::Pipe => b'|',
        Delim::Hive => 0x01,
        Delim::Custom => match custom.as_deref().map(str::as_bytes) {
            Some([b]) => *b,
            _ => {
                c.error("customDelimiter", "'customDelimiter' must be one ASCII character when delimiter is 'Custom'.");
                return None;
            }
        },
    };
    let extra = crate::obj! { "delimiter" => (delimiter as char).to_string(), "header" => header };
    Some(Box::new(FileLoad {
        stage: "DelimitedLoad",
        common: common?,
        format: FileFormat::Csv { delimiter, quote: quote?, header },
        extra,
    }))
}
