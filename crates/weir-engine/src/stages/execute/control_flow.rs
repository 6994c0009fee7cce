//! ControlFlowExecute: a query returning one row `[outcome: boolean, message: string]`, whose
//! outcome is recorded under `key` (default `controlFlowPluginOutcome`). When the job has Arc's
//! `ControlFlow` lifecycle plugin with that key, a false outcome skips every later stage (each
//! logged as a `skip` event) and the job succeeds; without the plugin nothing is skipped, as in
//! Arc.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::validate::sql::{message_value, outcome_and_message};
use crate::stages::{Outcome, Stage, StageError};

/// The key Arc's ControlFlowExecute records its outcome under by default.
pub const DEFAULT_KEY: &str = "controlFlowPluginOutcome";

/// `ControlFlowExecute` configuration.
#[derive(Debug)]
pub struct ControlFlowExecute {
    sql: SqlSource,
    key: String,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let key = c.string("key").unwrap_or_else(|| DEFAULT_KEY.to_string());
    let _ = c.node("params");
    let _ = c.node("authentication");
    let sql = SqlSource::read(c);
    Some(Box::new(ControlFlowExecute { sql: sql?, key }))
}

#[async_trait]
impl Stage for ControlFlowExecute {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "key" => self.key };
        self.sql.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        const PREFIX: &str =
            "ControlFlowExecute requires query to return 1 row with [outcome: boolean, message: string] signature.";
        let (outcome, message) = outcome_and_message(session, &self.sql.sql, PREFIX).await?;
        let message = message_value(message.as_deref());
        session.set_control_flow(&self.key, outcome, message.clone());
        let mut out = Outcome { rows: Some(1), ..Default::default() };
        out.detail.insert("message".into(), message);
        out.detail.insert("result".into(), outcome.into());
        Ok(out)
    }
}
