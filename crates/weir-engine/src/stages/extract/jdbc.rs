//! JDBCExtract: a database table — or a `(SELECT ...) alias` subquery — as a view, through
//! [`crate::jdbc`]: `SELECT * FROM <tableName>`, read in batches of `fetchsize` rows and typed
//! from the database's column types. With `predicates`, one query per predicate
//! (`WHERE <predicate>`), their rows together, as Spark reads them. `partitionColumn`,
//! `numPartitions`, `lowerBound`, `upperBound` are accepted; the table is read by one query.
//! `schemaURI`/`schemaView` attach the schema's metadata to the columns of the same names (as
//! Arc does); types come from the database.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};

use crate::config::{ConfigError, StageConfig};
use crate::jdbc::{Connection, JdbcTarget};
use crate::session::Session;
use crate::stages::schema_source::SchemaSource;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};
use crate::typing::FieldSpec;

/// Rows per batch when `fetchsize` is not given.
const DEFAULT_FETCH_SIZE: usize = 10_000;

/// `JDBCExtract` configuration.
#[derive(Debug)]
pub struct JdbcExtract {
    target: JdbcTarget,
    table_name: String,
    output_view: String,
    fetch_size: Option<usize>,
    predicates: Vec<String>,
    partition_column: Option<String>,
    /// `schemaURI`/`schemaView`: metadata for the columns.
    schema: Option<SchemaSource>,
    /// The schema's fields when read before the job runs (`schemaURI`).
    fields: Vec<FieldSpec>,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let target = JdbcTarget::read(c);
    let table_name = c.required_string("tableName");
    let output_view = c.required_string("outputView");
    let fetch_size = c.positive("fetchsize");
    let predicates = c.string_list("predicates").unwrap_or_default();
    let partition_column = c.string("partitionColumn");
    let _ = c.int("lowerBound");
    let _ = c.int("upperBound");
    let common = ViewCommon::read(c);
    let schema = SchemaSource::read_optional(c);
    Some(Box::new(JdbcExtract {
        target: target?,
        table_name: table_name?,
        output_view: output_view?,
        fetch_size,
        predicates,
        partition_column,
        schema,
        fields: Vec::new(),
        common,
    }))
}

#[async_trait]
impl Stage for JdbcExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "tableName" => self.table_name,
            "outputView" => self.output_view,
            "predicates" => self.predicates,
        };
        if let Some(n) = self.fetch_size {
            m.insert("fetchsize".into(), n.into());
        }
        if let Some(p) = &self.partition_column {
            m.insert("partitionColumn".into(), p.clone().into());
        }
        if let Some(source) = &self.schema {
            source.detail(&mut m);
        }
        self.target.detail(&mut m);
        self.common.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        if let Some(source) = &self.schema {
            if let Some(fields) = source.prepare(session).await? {
                self.fields = fields;
            }
        }
        Ok(())
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let url = self.target.parse().map_err(|e| StageError::msg(e.to_string()))?;
        let fail = |e: crate::jdbc::JdbcError| StageError::msg(url.scrub(&e.to_string()));
        let mut conn = Connection::connect(&url).await.map_err(fail)?;
        let base = format!("SELECT * FROM {}", self.table_name);
        let queries = match self.predicates.is_empty() {
            true => vec![base],
            false => self.predicates.iter().map(|p| format!("{base} WHERE {p}")).collect(),
        };
        let fetch_size = self.fetch_size.unwrap_or(DEFAULT_FETCH_SIZE);
        let mut schema = None;
        let mut batches = Vec::new();
        for sql in queries {
            let result = conn.query(&sql, fetch_size).await.map_err(fail)?;
            schema.get_or_insert(result.schema);
            batches.extend(result.batches);
        }
        let mut schema = schema.ok_or_else(|| StageError::msg("JDBCExtract ran no query"))?;
        if let Some(source) = &self.schema {
            let fields = source.fields(session, &self.fields).await?;
            schema = crate::stages::transform::metadata::with_schema_metadata(&schema, &fields);
            batches = batches
                .into_iter()
                .map(|b| datafusion::arrow::array::RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
                .collect::<Result<_, _>>()?;
        }
        let table = MemTable::try_new(schema, vec![batches])?;
        let df = session.ctx.read_table(Arc::new(table))?;
        self.common.register(session, &self.output_view, df).await
    }
}
