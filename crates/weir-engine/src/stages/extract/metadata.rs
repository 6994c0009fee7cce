//! MetadataExtract: a view's schema as a view, one row per column (`metadata`, `name`,
//! `nullable`, `type`), as Arc's metadata table (see [`crate::stages::metadata_table`]).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon, metadata_table};

/// `MetadataExtract` configuration.
#[derive(Debug)]
pub struct MetadataExtract {
    input_view: String,
    output_view: String,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let common = ViewCommon::read(c);
    Some(Box::new(MetadataExtract { input_view: input_view?, output_view: output_view?, common }))
}

#[async_trait]
impl Stage for MetadataExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputView" => self.input_view, "outputView" => self.output_view };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let input = session.view(&self.input_view).await?;
        let df = metadata_table::metadata_frame(session, &input)?;
        self.common.register(session, &self.output_view, df).await
    }
}
