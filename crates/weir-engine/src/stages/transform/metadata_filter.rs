//! MetadataFilterTransform: keeps the columns of `inputView` whose names a query over its
//! metadata table (the view `metadata`, see [`crate::stages::metadata_table`]) returns in a
//! `name` column, e.g. `SELECT name FROM metadata WHERE metadata.private = false`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon, metadata_table};

/// `MetadataFilterTransform` configuration.
#[derive(Debug)]
pub struct MetadataFilterTransform {
    input_view: String,
    output_view: String,
    sql: SqlSource,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let sql = SqlSource::read(c);
    let common = ViewCommon::read(c);
    let _ = c.node("authentication");
    Some(Box::new(MetadataFilterTransform { input_view: input_view?, output_view: output_view?, sql: sql?, common }))
}

#[async_trait]
impl Stage for MetadataFilterTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputView" => self.input_view, "outputView" => self.output_view };
        self.sql.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let selected = metadata_table::query(session, &self.input_view, &self.sql.sql).await?;
        let Some(at) = selected.schema().index_of_column_by_name(None, "name") else {
            return Err(StageError::msg("result does not contain field 'name' so cannot be filtered"));
        };
        let mut keep = BTreeSet::new();
        for batch in selected.collect().await? {
            let names = datafusion::arrow::compute::cast(batch.column(at), &DataType::Utf8)?;
            let names = names.as_string::<i32>();
            keep.extend((0..names.len()).filter(|i| !names.is_null(*i)).map(|i| names.value(i).to_string()));
        }
        let input = session.view(&self.input_view).await?;
        let all: Vec<String> = input.schema().fields().iter().map(|f| f.name().clone()).collect();
        let (included, excluded): (Vec<String>, Vec<String>) = all.into_iter().partition(|n| keep.contains(n));
        let df = input.select_columns(&included.iter().map(String::as_str).collect::<Vec<_>>())?;
        let mut outcome = self.common.register(session, &self.output_view, df).await?;
        outcome.detail.insert("includedColumns".into(), included.into());
        outcome.detail.insert("excludedColumns".into(), excluded.into());
        Ok(outcome)
    }
}
