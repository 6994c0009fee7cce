//! SQLValidate: a query returning one row `[outcome: boolean, message: string]`; a false
//! outcome fails the job with the message.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::{Outcome, Stage, StageError};

const PREFIX: &str = "SQLValidate requires query to return 1 row with [outcome: boolean, message: string] signature.";

/// `SQLValidate` configuration.
#[derive(Debug)]
pub struct SqlValidate {
    sql: SqlSource,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let sql = SqlSource::read(c);
    Some(Box::new(SqlValidate { sql: sql? }))
}

/// Spark's name of a column type, for messages (Arrow's name where Spark has none).
pub fn spark_type_name(t: &DataType) -> String {
    crate::sql::types::spark_type_name(t).unwrap_or_else(|| t.to_string().to_lowercase())
}

/// Renders a message as Arc logs it: a JSON object or array when it parses as one, else text.
pub fn message_value(message: Option<&str>) -> Value {
    match message {
        None => Value::Null,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
            _ => Value::String(text.to_string()),
        },
    }
}

#[async_trait]
impl Stage for SqlValidate {
    fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.sql.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let (outcome, message) = outcome_and_message(session, &self.sql.sql, PREFIX).await?;
        if !outcome {
            return Err(StageError::msg(format!(
                "SQLValidate failed with message: '{}'.",
                message.as_deref().unwrap_or("null")
            )));
        }
        let mut out = Outcome { rows: Some(1), ..Default::default() };
        out.detail.insert("message".into(), message_value(message.as_deref()));
        Ok(out)
    }
}

/// The `[outcome, message]` of a query that must return one row of a boolean and a string
/// (SQLValidate, ControlFlowExecute); Arc's signature errors, after `prefix`, for any other
/// shape or a NULL outcome.
pub async fn outcome_and_message(
    session: &Session,
    sql: &str,
    prefix: &str,
) -> Result<(bool, Option<String>), StageError> {
    outcome_and_message_of(session.sql(sql).await?, prefix).await
}

/// [`outcome_and_message`] of a query already planned.
pub async fn outcome_and_message_of(
    df: datafusion::dataframe::DataFrame,
    prefix: &str,
) -> Result<(bool, Option<String>), StageError> {
    let ShapedResult { batches, rows, schema, types } = shaped_result_of(df).await?;
    let shape_ok = rows == 1
        && types.len() == 2
        && schema.as_ref().is_some_and(|s| {
            s.field(0).data_type() == &DataType::Boolean
                && matches!(
                    s.field(1).data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
                )
        });
    if !shape_ok {
        return Err(StageError::msg(format!("{prefix} Query returned {rows} rows of type [{}].", types.join(", "))));
    }
    let batch = batches.iter().find(|b| b.num_rows() == 1).ok_or_else(|| StageError::msg(prefix.to_string()))?;
    let outcome = batch.column(0).as_boolean();
    let message_col = datafusion::arrow::compute::cast(batch.column(1), &DataType::Utf8)?;
    let message_col = message_col.as_string::<i32>();
    let message = (!message_col.is_null(0)).then(|| message_col.value(0).to_string());
    if outcome.is_null(0) {
        let second = if message.is_some() { "not null" } else { "null" };
        return Err(StageError::msg(format!("{prefix} Query returned [null, {second}].")));
    }
    Ok((outcome.value(0), message))
}

/// A small query result with what Arc's signature messages need.
pub struct ShapedResult {
    pub batches: Vec<datafusion::arrow::record_batch::RecordBatch>,
    pub rows: usize,
    pub schema: Option<datafusion::arrow::datatypes::SchemaRef>,
    /// Spark's names of the column types.
    pub types: Vec<String>,
}

/// Runs `sql` and collects it (validation and execute stages expect one row).
pub async fn shaped_result(session: &Session, sql: &str) -> Result<ShapedResult, StageError> {
    shaped_result_of(session.sql(sql).await?).await
}

/// [`shaped_result`] of a query already planned.
pub async fn shaped_result_of(df: datafusion::dataframe::DataFrame) -> Result<ShapedResult, StageError> {
    // The plan's schema, so that an empty result still names its types, as Arc's message does.
    let planned: datafusion::arrow::datatypes::SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let schema = Some(batches.first().map(|b| b.schema()).unwrap_or(planned));
    let types: Vec<String> = schema
        .as_ref()
        .map(|s| s.fields().iter().map(|f| spark_type_name(f.data_type())).collect())
        .unwrap_or_default();
    Ok(ShapedResult { batches, rows, schema, types })
}
