//! MetadataValidate: a query over `inputView`'s metadata table (the view `metadata`, see
//! [`crate::stages::metadata_table`]) returning one row `[outcome: boolean, message: string]`;
//! false fails the job with the message, as SQLValidate.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::validate::sql::{message_value, outcome_and_message_of};
use crate::stages::{Outcome, Stage, StageError, metadata_table};

const PREFIX: &str =
    "MetadataValidate requires query to return 1 row with [outcome: boolean, message: string] signature.";

/// `MetadataValidate` configuration.
#[derive(Debug)]
pub struct MetadataValidate {
    input_view: String,
    sql: SqlSource,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let sql = SqlSource::read(c);
    let _ = c.node("authentication");
    Some(Box::new(MetadataValidate { input_view: input_view?, sql: sql? }))
}

#[async_trait]
impl Stage for MetadataValidate {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputView" => self.input_view };
        self.sql.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let result = metadata_table::query(session, &self.input_view, &self.sql.sql).await?;
        let (outcome, message) = outcome_and_message_of(result, PREFIX).await?;
        if !outcome {
            return Err(StageError::msg(format!(
                "MetadataValidate failed with message: '{}'.",
                message.as_deref().unwrap_or("null")
            )));
        }
        let mut out = Outcome { rows: Some(1), ..Default::default() };
        out.detail.insert("message".into(), message_value(message.as_deref()));
        Ok(out)
    }
}
