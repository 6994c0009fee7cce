//! LogExecute: a query returning one row `[message: string]`, whose message is written to the
//! job's log (as a JSON object or array when it parses as one, as Arc logs it).

use async_trait::async_trait;
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::validate::sql::{ShapedResult, message_value, shaped_result};
use crate::stages::{Outcome, Stage, StageError};

/// `LogExecute` configuration.
#[derive(Debug)]
pub struct LogExecute {
    sql: SqlSource,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let sql = SqlSource::read(c);
    Some(Box::new(LogExecute { sql: sql? }))
}

/// The one string of a query that must return one row of one string column (LogExecute,
/// ConfigExecute): `None` when that string is NULL, Arc's signature error (with `prefix`)
/// for any other shape.
pub async fn single_string(session: &Session, sql: &str, prefix: &str) -> Result<Option<String>, StageError> {
    single_string_of(shaped_result(session, sql).await?, prefix)
}

/// [`single_string`] of a result already collected.
pub fn single_string_of(result: ShapedResult, prefix: &str) -> Result<Option<String>, StageError> {
    let ShapedResult { batches, rows, schema, types } = result;
    let is_text = schema.as_ref().is_some_and(|s| {
        s.fields().len() == 1
            && matches!(
                s.field(0).data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
            )
    });
    let Some(batch) = batches.iter().find(|b| b.num_rows() == 1).filter(|_| rows == 1 && is_text) else {
        return Err(StageError::msg(format!("{prefix} Query returned {rows} rows of type [{}].", types.join(", "))));
    };
    let text = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
    let text = datafusion::arrow::array::AsArray::as_string::<i32>(&text);
    Ok((!text.is_null(0)).then(|| text.value(0).to_string()))
}

#[async_trait]
impl Stage for LogExecute {
    fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.sql.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        const PREFIX: &str = "LogExecute requires query to return 1 row with [message: string] signature.";
        let message = single_string(session, &self.sql.sql, PREFIX).await?;
        let mut out = Outcome { rows: Some(1), ..Default::default() };
        out.detail.insert("message".into(), message_value(message.as_deref()));
        Ok(out)
    }
}
