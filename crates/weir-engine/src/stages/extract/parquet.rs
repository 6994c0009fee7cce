//! ParquetExtract: reads Parquet files (a file, a directory or a glob) into a view.
//!
//! Deviation from Arc: the internal columns `_filename` and `_index` are not added.

use async_trait::async_trait;
use datafusion::prelude::ParquetReadOptions;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `ParquetExtract` configuration.
#[derive(Debug)]
pub struct ParquetExtract {
    input_uri: String,
    output_view: String,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let output_view = c.required_string("outputView");
    let _ = c.bool("contiguousIndex");
    let _ = c.string("basePath");
    let _ = c.node("authentication");
    if c.has("schemaURI") || c.has("schemaView") {
        c.error(
            "schemaURI",
            "An empty result from a schema ('schemaURI'/'schemaView') is not supported yet by Weir's ParquetExtract.",
        );
    }
    let common = ViewCommon::read(c);
    Some(Box::new(ParquetExtract { input_uri: input_uri?, output_view: output_view?, common }))
}

#[async_trait]
impl Stage for ParquetExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputURI" => self.input_uri, "outputView" => self.output_view };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let files = crate::stages::extract::source::require_files(&session.storage, &self.input_uri).await?;
        session.storage.register(&session.ctx, &files[0].url)?;
        let paths: Vec<String> = files.iter().map(|f| f.url.to_string()).collect();
        let df = session.ctx.read_parquet(paths, ParquetReadOptions::default().file_extension("")).await?;
        self.common.register(session, &self.output_view, df).await
    }
}
