//! SQLTransform: runs one Spark SQL query and registers the result as a view.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `SQLTransform` configuration.
#[derive(Debug)]
pub struct SqlTransform {
    sql: SqlSource,
    output_view: String,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let sql = SqlSource::read(c);
    let output_view = c.required_string("outputView");
    let common = ViewCommon::read(c);
    Some(Box::new(SqlTransform { sql: sql?, output_view: output_view?, common }))
}

#[async_trait]
impl Stage for SqlTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "outputView" => self.output_view };
        self.sql.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await?;
        for call in self.sql.nondeterministic_calls() {
            session.log.warn(crate::obj! {
                "event" => "validateConfig",
                "message" => format!("SQL contains non-deterministic function {call}: results will differ between runs"),
                "outputView" => self.output_view,
            });
        }
        Ok(())
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = session.sql(&self.sql.sql).await?;
        let df = match self.common.num_partitions {
            Some(n) => df.repartition(datafusion::logical_expr::Partitioning::RoundRobinBatch(n))?,
            None => df,
        };
        self.common.register(session, &self.output_view, df).await
    }
}
