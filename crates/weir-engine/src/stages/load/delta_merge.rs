//! DeltaLakeMergeLoad: `MERGE INTO <outputURI> AS target USING <inputView> AS source ON
//! <condition>` with Arc's clauses. Expressions are Spark SQL, parsed with the session's
//! dialect (so `"text"` is a string literal) against the `source` and `target` schemas.
//! The merge is one Delta commit: a failure leaves the table at its previous version.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::Expr;
use serde_json::{Map, Value};
use weir_config::hocon::Node;

use crate::config::{StageConfig, nested, scalar_text};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError};

/// One `WHEN` clause: an optional condition and, for update/insert, optional `values`
/// (target column → SQL expression; absent means every column, by name).
#[derive(Debug, Clone, Default)]
pub struct Clause {
    pub condition: Option<String>,
    pub values: Option<Vec<(String, String)>>,
}

/// `DeltaLakeMergeLoad` configuration.
#[derive(Debug)]
pub struct DeltaLakeMergeLoad {
    input_view: String,
    output_uri: String,
    condition: String,
    create_table_if_not_exists: bool,
    when_matched_delete_first: bool,
    when_matched_delete: Option<Clause>,
    when_matched_update: Option<Clause>,
    when_not_matched_insert: Option<Clause>,
    when_not_matched_by_source_delete: Option<Clause>,
    partition_by: Vec<String>,
    num_partitions: Option<usize>,
    generate_symlink_manifest: bool,
}

fn clause(c: &mut StageConfig, key: &str, with_values: bool) -> Option<Clause> {
    let node: &Node = c.object(key)?;
    let mut n = nested(node);
    let condition = n.string("condition");
    let mut values = None;
    if with_values && let Some(values_node) = n.object("values") {
        let entries: &[(String, Node)] = match &values_node.value {
            weir_config::hocon::NodeValue::Object(entries) => entries,
            _ => &[],
        };
        let mut out = Vec::new();
        for (column, expr) in entries {
            match scalar_text(expr) {
                Some(text) => out.push((column.clone(), text)),
                None => n.error("values", format!("value of '{column}' must be an SQL expression string")),
            }
        }
        values = Some(out);
    }
    c.absorb(key, n);
    Some(Clause { condition, values })
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_uri = c.required_string("outputURI");
    let condition = c.required_string("condition");
    let create_table_if_not_exists = c.bool_or("createTableIfNotExists", false);
    let when_matched_delete_first = c.bool_or("whenMatchedDeleteFirst", true);
    let when_matched_delete = clause(c, "whenMatchedDelete", false);
    let when_matched_update = clause(c, "whenMatchedUpdate", true);
    let when_not_matched_insert = clause(c, "whenNotMatchedByTargetInsert", true);
    let when_not_matched_by_source_delete = clause(c, "whenNotMatchedBySourceDelete", false);
    let generate_symlink_manifest = c.bool_or("generateSymlinkManifest", true);
    let _ = c.node("authentication");
    let partition_by = c.string_list("partitionBy").unwrap_or_default();
    let num_partitions = c.positive("numPartitions");
    Some(Box::new(DeltaLakeMergeLoad {
        input_view: input_view?,
        output_uri: output_uri?,
        condition: condition?,
        create_table_if_not_exists,
        when_matched_delete_first,
        when_matched_delete,
        when_matched_update,
        when_not_matched_insert,
        when_not_matched_by_source_delete,
        partition_by,
        num_partitions,
        generate_symlink_manifest,
    }))
}

fn clause_json(clause: &Option<Clause>) -> Value {
    match clause {
        None => Value::Null,
        Some(c) => {
            let mut m = Map::new();
            if let Some(cond) = &c.condition {
                m.insert("condition".into(), cond.clone().into());
            }
            if let Some(values) = &c.values {
                m.insert("values".into(), Value::Object(crate::config::to_json_map(values)));
            }
            Value::Object(m)
        }
    }
}

/// Parses Spark SQL expressions against `source` and `target`.
struct ExprParser<'a> {
    session: &'a Session,
    schema: DFSchema,
}

impl ExprParser<'_> {
    fn parse(&self, what: &str, sql: &str) -> Result<Expr, StageError> {
        self.session.ctx.parse_sql_expr(sql, &self.schema).map_err(|e| {
            StageError::msg(format!("cannot parse {what} '{sql}': {}", crate::runner::clean_error(&e.to_string())))
        })
    }
}

fn source_col(name: &str) -> Expr {
    Expr::Column(Column::new(Some("source"), name))
}

#[async_trait]
impl Stage for DeltaLakeMergeLoad {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputView" => self.input_view,
            "outputURI" => self.output_uri,
            "condition" => self.condition,
            "createTableIfNotExists" => self.create_table_if_not_exists,
            "whenMatchedDeleteFirst" => self.when_matched_delete_first,
        };
        m.insert("whenMatchedDelete".into(), clause_json(&self.when_matched_delete));
        m.insert("whenMatchedUpdate".into(), clause_json(&self.when_matched_update));
        m.insert("whenNotMatchedByTargetInsert".into(), clause_json(&self.when_not_matched_insert));
        m.insert("whenNotMatchedBySourceDelete".into(), clause_json(&self.when_not_matched_by_source_delete));
        m.retain(|_, v| !v.is_null());
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let source = crate::stages::load::delta::load_input(session, &self.input_view, "DeltaLakeMergeLoad").await?;
        let Some(table) = crate::delta::open(session, &self.output_uri).await? else {
            if !self.create_table_if_not_exists {
                return Err(StageError::msg(format!(
                    "'{}' is not a Delta table and 'createTableIfNotExists' is false so cannot complete this operation.",
                    self.output_uri
                )));
            }
            return self.create(session, source).await;
        };
        let target_schema = table.snapshot()?.snapshot().arrow_schema();
        let source_schema = source.schema().as_arrow().clone();
        let schema = DFSchema::try_from_qualified_schema("source", &source_schema)?
            .join(&DFSchema::try_from_qualified_schema("target", &target_schema)?)?;
        let parser = ExprParser { session, schema };
        let predicate = parser.parse("condition", &self.condition)?;

        let state = session.ctx.state();
        table.update_datafusion_session(&state)?;
        let mut builder = table
            .merge(source, predicate)
            .with_source_alias("source")
            .with_target_alias("target")
            .with_session_state(Arc::new(state));

        let target_columns: Vec<String> = target_schema.fields().iter().map(|f| f.name().clone()).collect();
        let assignments = |clause: &Clause, what: &str| -> Result<Vec<(String, Expr)>, StageError> {
            match &clause.values {
                Some(values) => values
                    .iter()
                    .map(|(column, sql)| {
                        if !target_columns.iter().any(|c| c == column) {
                            return Err(StageError::msg(format!(
                                "{what}: target has no column '{column}'; its columns are [{}]",
                                target_columns.join(", ")
                            )));
                        }
                        Ok((column.clone(), parser.parse(&format!("{what} value for '{column}'"), sql)?))
                    })
                    .collect(),
                None => target_columns
                    .iter()
                    .map(|column| {
                        if source_schema.field_with_name(column).is_err() {
                            return Err(StageError::msg(format!(
                                "{what} without 'values' sets every target column from the source, but source view '{}' has no column '{column}'",
                                self.input_view
                            )));
                        }
                        Ok((column.clone(), source_col(column)))
                    })
                    .collect(),
            }
        };
        let condition = |clause: &Clause, what: &str| -> Result<Option<Expr>, StageError> {
            clause.condition.as_deref().map(|sql| parser.parse(&format!("{what} condition"), sql)).transpose()
        };

        let delete_clause = |builder: deltalake::operations::merge::MergeBuilder| -> Result<_, StageError> {
            match &self.when_matched_delete {
                Some(clause) => {
                    let cond = condition(clause, "whenMatchedDelete")?;
                    Ok(builder.when_matched_delete(|d| match cond {
                        Some(c) => d.predicate(c),
                        None => d,
                    })?)
                }
                None => Ok(builder),
            }
        };
        if self.when_matched_delete_first {
            builder = delete_clause(builder)?;
        }
        if let Some(clause) = &self.when_matched_update {
            let cond = condition(clause, "whenMatchedUpdate")?;
            let sets = assignments(clause, "whenMatchedUpdate")?;
            builder = builder.when_matched_update(|mut u| {
                if let Some(c) = cond {
                    u = u.predicate(c);
                }
                for (column, expr) in sets {
                    u = u.update(Column::new_unqualified(column), expr);
                }
                u
            })?;
        }
        if !self.when_matched_delete_first {
            builder = delete_clause(builder)?;
        }
        if let Some(clause) = &self.when_not_matched_insert {
            let cond = condition(clause, "whenNotMatchedByTargetInsert")?;
            let sets = assignments(clause, "whenNotMatchedByTargetInsert")?;
            builder = builder.when_not_matched_insert(|mut i| {
                if let Some(c) = cond {
                    i = i.predicate(c);
                }
                for (column, expr) in sets {
                    i = i.set(Column::new_unqualified(column), expr);
                }
                i
            })?;
        }
        if let Some(clause) = &self.when_not_matched_by_source_delete {
            let cond = condition(clause, "whenNotMatchedBySourceDelete")?;
            builder = builder.when_not_matched_by_source_delete(|d| match cond {
                Some(c) => d.predicate(c),
                None => d,
            })?;
        }
        let (table, metrics) = builder.await?;
        if self.generate_symlink_manifest {
            crate::delta::write_symlink_manifest(session, &self.output_uri, &table).await?;
        }
        let mut outcome = Outcome {
            rows: Some(
                (metrics.num_target_rows_inserted + metrics.num_target_rows_updated + metrics.num_target_rows_deleted)
                    as u64,
            ),
            ..Default::default()
        };
        outcome.detail.insert(
            "metrics".into(),
            crate::obj! {
                "numSourceRows" => metrics.num_source_rows,
                "numTargetRowsInserted" => metrics.num_target_rows_inserted,
                "numTargetRowsUpdated" => metrics.num_target_rows_updated,
                "numTargetRowsDeleted" => metrics.num_target_rows_deleted,
                "numTargetRowsCopied" => metrics.num_target_rows_copied,
                "numOutputRows" => metrics.num_output_rows,
                "executionTimeMs" => metrics.execution_time_ms,
            }
            .into(),
        );
        outcome.detail.insert("commit".into(), crate::delta::commit_detail(&table).await);
        Ok(outcome)
    }
}

impl DeltaLakeMergeLoad {
    /// `createTableIfNotExists`: the input becomes the table's first version (clauses ignored).
    async fn create(
        &self,
        session: &Session,
        mut source: datafusion::dataframe::DataFrame,
    ) -> Result<Outcome, StageError> {
        if let Some(n) = self.num_partitions {
            source = source.repartition(datafusion::logical_expr::Partitioning::RoundRobinBatch(n))?;
        }
        let table = crate::delta::uninitialized(session, &self.output_uri)?;
        let state = session.ctx.state();
        table.update_datafusion_session(&state)?;
        let mut builder = table
            .write(Vec::<datafusion::arrow::record_batch::RecordBatch>::new())
            .with_input_plan(source.logical_plan().clone())
            .with_session_state(Arc::new(state))
            .with_save_mode(deltalake::protocol::SaveMode::ErrorIfExists);
        if !self.partition_by.is_empty() {
            builder = builder.with_partition_columns(self.partition_by.clone());
        }
        let table = builder.await?;
        if self.generate_symlink_manifest {
            crate::delta::write_symlink_manifest(session, &self.output_uri, &table).await?;
        }
        let mut outcome = Outcome::default();
        outcome.detail.insert("commit".into(), crate::delta::commit_detail(&table).await);
        Ok(outcome)
    }
}
