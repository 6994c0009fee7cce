//! ConfigExecute: a query returning one row `[message: string]` holding a JSON object, whose
//! keys become substitution variables (`${KEY}`, `${KEY.nested}`) for the stages after it that
//! are resolved when reached (`resolution: lazy`), as in Arc. Later ConfigExecute stages take
//! precedence; objects merge.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::execute::log::single_string_of;
use crate::stages::sql_source::SqlSource;
use crate::stages::validate::sql::shaped_result;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// Arc's signature message.
const SIGNATURE: &str = "ConfigExecuteStage requires query to return 1 row with [message: string] signature.";

/// `ConfigExecute` configuration.
#[derive(Debug)]
pub struct ConfigExecute {
    sql: SqlSource,
    /// Optional: the query's result as a view (the notebook magic's `outputView`).
    output_view: Option<String>,
    view: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let _ = c.node("params");
    let _ = c.node("authentication");
    let output_view = c.string("outputView");
    let view = ViewCommon::read(c);
    let sql = SqlSource::read(c);
    Some(Box::new(ConfigExecute { sql: sql?, output_view, view }))
}

/// The variables of ConfigExecute's message: a JSON object, else Arc's signature error.
pub fn variables(message: Option<&str>) -> Result<Map<String, Value>, StageError> {
    let Some(text) = message else {
        return Err(StageError::msg(format!("{SIGNATURE} Query returned [null].")));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StageError::msg(format!(
            "{SIGNATURE} The message must be a JSON object of variables, got: {}",
            excerpt(&other.to_string())
        ))),
        Err(e) => Err(StageError::msg(format!("{SIGNATURE} The message is not valid JSON ({e}): {}", excerpt(text)))),
    }
}

/// The start of a long message, for errors.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

#[async_trait]
impl Stage for ConfigExecute {
    fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.sql.detail(&mut m);
        if let Some(view) = &self.output_view {
            m.insert("outputView".into(), view.clone().into());
            self.view.detail(&mut m);
        }
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        // The query runs once: its one row gives the variables and, with `outputView`, the view.
        let result = shaped_result(session, &self.sql.sql).await?;
        let kept = match (&self.output_view, &result.schema) {
            (Some(view), Some(schema)) => Some((view, schema.clone(), result.batches.clone())),
            _ => None,
        };
        let message = single_string_of(result, SIGNATURE)?;
        let vars = variables(message.as_deref())?;
        let mut out = Outcome { rows: Some(1), ..Default::default() };
        out.detail.insert("message".into(), Value::Object(vars.clone()));
        session.add_variables(vars);
        if let Some((view, schema, batches)) = kept {
            let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])?;
            let df = session.ctx.read_table(std::sync::Arc::new(table))?;
            let registered = self.view.register(session, view, df).await?;
            out.detail.extend(registered.detail);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_must_be_an_object() {
        let vars = variables(Some(r#"{"A": 1, "B": {"c": "x"}}"#)).unwrap();
        assert_eq!(Value::Object(vars), serde_json::json!({"A": 1, "B": {"c": "x"}}));
        let err = variables(None).unwrap_err().to_string();
        assert!(err.ends_with("Query returned [null]."), "{err}");
        let err = variables(Some("[1]")).unwrap_err().to_string();
        assert!(err.contains("must be a JSON object"), "{err}");
        let err = variables(Some("{oops")).unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }
}
