//! DeltaLakeMergeLoad: `MERGE INTO <outputURI> AS target USING <inputView> AS source ON
//! <condition>` with Arc's clauses. Expressions are Spark SQL, parsed with the session's
//! dialect (so `"text"` is a string literal) against the `source` and `target` schemas.
//! The merge is one Delta commit: a failure leaves the table at its previous version.

use std::sync::Arc;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, BooleanArray, UInt64Array};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Int8Type, UInt64Type};
use datafusion::common::{Column, DFSchema, JoinType, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, cast, lit,
};
use deltalake::protocol::{DeltaOperation, MergePredicate};
use futures::StreamExt;
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
        self.merge(session, table, source).await
    }
}

/// What the merge does with one row of the full outer join of target and source. Rows with
/// an action up to [`INSERT`] are written; the others only count.
mod action {
    pub const DISCARD: i8 = 0;
    pub const COPY_MATCHED: i8 = 1;
    pub const COPY_UNMATCHED: i8 = 2;
    pub const UPDATE: i8 = 3;
    pub const INSERT: i8 = 4;
    pub const DELETE_MATCHED: i8 = 5;
    pub const DELETE_UNMATCHED: i8 = 6;
    pub const COUNT: usize = 7;
}

const TARGET_MARK: &str = "__weir_merge_target";
const SOURCE_MARK: &str = "__weir_merge_source";
const ACTION: &str = "__weir_merge_action";
const ROW_ID: &str = "__weir_merge_row_id";

/// The target rows modified so far (by [`RowId`]) and the error for a second modification.
struct DuplicateCheck {
    seen: Mutex<HashSet<u64>>,
    message: String,
}

/// A fresh number for each row (volatile, so never folded or evaluated twice): numbers the
/// target's rows for the [`DuplicateCheck`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct RowId {
    signature: Signature,
}

static NEXT_ROW_ID: AtomicU64 = AtomicU64::new(0);

impl RowId {
    fn new() -> Self {
        RowId { signature: Signature::nullary(Volatility::Volatile) }
    }
}

impl ScalarUDFImpl for RowId {
    fn name(&self) -> &str {
        "weir_merge_row_id"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::UInt64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::error::Result<ColumnarValue> {
        let n = args.number_rows as u64;
        let start = NEXT_ROW_ID.fetch_add(n, Ordering::Relaxed);
        Ok(ColumnarValue::Array(Arc::new(UInt64Array::from_iter_values(start..start + n))))
    }
}

/// Row counts per [`action`], shared by the writer tasks.
type Counters = Arc<[AtomicU64; action::COUNT]>;

fn qualified(relation: &str, name: &str) -> Expr {
    Expr::Column(Column::new(Some(relation), name))
}

impl DeltaLakeMergeLoad {
    /// Our own MERGE (copy-on-write): one full outer join of target and source on `condition`
    /// decides each row's action with Arc's clause order; the rows to keep are streamed into new
    /// data files (one writer per partition of the join, in parallel) and one Delta commit
    /// replaces the old files. A failure at any point leaves the table at its previous version.
    async fn merge(
        &self,
        session: &Session,
        mut table: deltalake::DeltaTable,
        source: DataFrame,
    ) -> Result<Outcome, StageError> {
        let started = std::time::Instant::now();
        let target_schema = table.snapshot()?.snapshot().arrow_schema();
        let source_schema = source.schema().as_arrow().clone();
        let schema = DFSchema::try_from_qualified_schema("source", &source_schema)?
            .join(&DFSchema::try_from_qualified_schema("target", &target_schema)?)?;
        let parser = ExprParser { session, schema };
        let predicate = parser.parse("condition", &self.condition)?;
        // The schema data files are written with (plain Utf8 rather than the scan's views,
        // the table's nullability and field metadata).
        let file_schema = deltalake::writer::RecordBatchWriter::for_table(&table)?.arrow_schema();
        let plan = self.plan(&parser, &file_schema, &source_schema)?;

        table.update_datafusion_session(&session.ctx.state())?;
        let target = session.ctx.read_table(table.table_provider().await?)?;
        // Spark refuses a merge in which one target row is modified by several source rows: with
        // a check to make, the target's rows are numbered and modified numbers must not repeat.
        let check = plan.check_duplicates.then(|| DuplicateCheck {
            seen: Default::default(),
            message: format!(
                "Cannot perform Merge as multiple source rows matched and attempted to modify the same target row in the Delta table in possibly conflicting ways. Make the source unique on the merge condition (for example with ROW_NUMBER() in the SQL that builds '{}').",
                self.input_view
            ),
        });
        let marked = |df: DataFrame, relation: &str, mark: &str, row_ids: bool| -> Result<DataFrame, StageError> {
            let mut columns: Vec<Expr> =
                df.schema().fields().iter().map(|f| Expr::Column(Column::new_unqualified(f.name()))).collect();
            columns.push(lit(true).alias(mark));
            if row_ids {
                columns.push(ScalarUDF::new_from_impl(RowId::new()).call(vec![]).alias(ROW_ID));
            }
            Ok(df.select(columns)?.alias(relation)?)
        };
        let joined = marked(target, "target", TARGET_MARK, check.is_some())?.join_on(
            marked(source, "source", SOURCE_MARK, false)?,
            JoinType::Full,
            [predicate],
        )?;
        let with_action = joined.with_column(ACTION, plan.action.clone())?;
        let mut output = plan.columns.clone();
        output.push(Expr::Column(Column::new_unqualified(ACTION)));
        if check.is_some() {
            output.push(qualified("target", ROW_ID));
        }
        let rows = with_action.select(output)?;

        let counters: Counters = Arc::new(Default::default());
        let check = check.map(Arc::new);
        let streams = rows
            .execute_stream_partitioned()
            .await?
            .into_iter()
            .map(|stream| keep_written_rows(stream, file_schema.clone(), counters.clone(), check.clone()))
            .collect();
        let adds = crate::delta::write_files(&table, streams).await?;
        let counts: Vec<u64> = counters.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let count = |a: i8| counts[a as usize];

        let inserted = count(action::INSERT);
        let updated = count(action::UPDATE);
        let deleted = count(action::DELETE_MATCHED) + count(action::DELETE_UNMATCHED);
        let copied = count(action::COPY_MATCHED) + count(action::COPY_UNMATCHED);
        let source_rows =
            count(action::COPY_MATCHED) + updated + count(action::DELETE_MATCHED) + inserted + count(action::DISCARD);
        // A merge that changes nothing commits nothing (its files are discarded below).
        let changed = inserted + updated + deleted > 0;
        let (files_added, files_removed) = match changed {
            true => (adds.len() as u64, table.snapshot()?.log_data().num_files() as u64),
            false => (0, 0),
        };
        let metrics = crate::obj! {
            "numSourceRows" => source_rows,
            "numTargetRowsInserted" => inserted,
            "numTargetRowsUpdated" => updated,
            "numTargetRowsDeleted" => deleted,
            "numTargetRowsCopied" => copied,
            "numOutputRows" => inserted + updated + copied,
            "numTargetFilesAdded" => files_added,
            "numTargetFilesRemoved" => files_removed,
            "executionTimeMs" => started.elapsed().as_millis() as u64,
        };
        if changed {
            crate::delta::commit_rewrite(
                &mut table,
                adds,
                plan.operation(&self.condition),
                Value::Object(metrics.clone()),
            )
            .await?;
            if self.generate_symlink_manifest {
                crate::delta::write_symlink_manifest(session, &self.output_uri, &table).await?;
            }
        } else {
            crate::delta::discard(&table, &adds).await;
        }
        let mut outcome = Outcome { rows: Some(inserted + updated + deleted), ..Default::default() };
        outcome.detail.insert("metrics".into(), Value::Object(metrics));
        outcome.detail.insert("commit".into(), crate::delta::commit_detail(&table).await);
        Ok(outcome)
    }

    /// The merge's expressions: each row's action and the output columns.
    fn plan(
        &self,
        parser: &ExprParser,
        target_schema: &datafusion::arrow::datatypes::Schema,
        source_schema: &datafusion::arrow::datatypes::Schema,
    ) -> Result<MergePlan, StageError> {
        let target_columns: Vec<String> = target_schema.fields().iter().map(|f| f.name().clone()).collect();
        let condition = |clause: &Clause, what: &str| -> Result<Option<Expr>, StageError> {
            clause.condition.as_deref().map(|sql| parser.parse(&format!("{what} condition"), sql)).transpose()
        };
        // Target column → value, for a clause with or without `values`.
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
                        Ok((column.clone(), qualified("source", column)))
                    })
                    .collect(),
            }
        };

        let mut plan = MergePlan::default();
        // WHEN MATCHED clauses in Arc's order: the first whose condition holds applies.
        let mut matched: Vec<(Option<Expr>, i8)> = Vec::new();
        let delete = match &self.when_matched_delete {
            Some(clause) => {
                let cond = condition(clause, "whenMatchedDelete")?;
                plan.matched.push(("delete", clause.condition.clone()));
                Some((cond, action::DELETE_MATCHED))
            }
            None => None,
        };
        let mut update_values = None;
        let update = match &self.when_matched_update {
            Some(clause) => {
                let cond = condition(clause, "whenMatchedUpdate")?;
                update_values = Some(assignments(clause, "whenMatchedUpdate")?);
                plan.matched.push(("update", clause.condition.clone()));
                Some((cond, action::UPDATE))
            }
            None => None,
        };
        if self.when_matched_delete_first {
            matched.extend(delete.clone());
            matched.extend(update);
        } else {
            matched.extend(update);
            matched.extend(delete.clone());
            plan.matched.reverse();
        }
        // A target row may match several source rows only when the sole clause is an
        // unconditional delete (Delta's rule); otherwise the merge checks it.
        let only_unconditional_delete = matches!(matched.as_slice(), [(None, action::DELETE_MATCHED)]);
        plan.check_duplicates = !matched.is_empty() && !only_unconditional_delete;

        let target_present = qualified("target", TARGET_MARK).is_not_null();
        let source_present = qualified("source", SOURCE_MARK).is_not_null();
        let is_matched = target_present.clone().and(source_present.clone());
        let mut arms: Vec<(Expr, i8)> = Vec::new();
        for (cond, act) in &matched {
            let when = match cond {
                Some(c) => is_matched.clone().and(c.clone()),
                None => is_matched.clone(),
            };
            arms.push((when, *act));
        }
        arms.push((is_matched, action::COPY_MATCHED));
        if let Some(clause) = &self.when_not_matched_by_source_delete {
            let cond = condition(clause, "whenNotMatchedBySourceDelete")?;
            plan.not_matched_by_source.push(("delete", clause.condition.clone()));
            let when = match cond {
                Some(c) => target_present.clone().and(c),
                None => target_present.clone(),
            };
            arms.push((when, action::DELETE_UNMATCHED));
        }
        arms.push((target_present, action::COPY_UNMATCHED));
        let mut insert_values = None;
        if let Some(clause) = &self.when_not_matched_insert {
            let cond = condition(clause, "whenNotMatchedByTargetInsert")?;
            insert_values = Some(assignments(clause, "whenNotMatchedByTargetInsert")?);
            plan.not_matched.push(("insert", clause.condition.clone()));
            let when = match cond {
                Some(c) => source_present.and(c),
                None => source_present,
            };
            arms.push((when, action::INSERT));
        }
        let mut case: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
        for (when, act) in arms {
            case = Some(match case {
                None => datafusion::logical_expr::when(when, lit(act)),
                Some(mut builder) => builder.when(when, lit(act)),
            });
        }
        plan.action = match case {
            Some(mut builder) => builder.otherwise(lit(action::DISCARD))?,
            None => lit(action::DISCARD),
        };

        // Output columns: the update's value, the insert's value (NULL when `values` leaves the
        // column out), else the target's own value; cast to the table's type.
        let action_is = |a: i8| Expr::Column(Column::new_unqualified(ACTION)).eq(lit(a));
        let find = |values: &Option<Vec<(String, Expr)>>, name: &str| {
            values.as_ref().map(|v| v.iter().rev().find(|(c, _)| c == name).map(|(_, e)| e.clone()))
        };
        for field in target_schema.fields() {
            let name = field.name();
            let own = qualified("target", name);
            let mut builder: Option<datafusion::logical_expr::conditional_expressions::CaseBuilder> = None;
            let mut arm = |a: i8, value: Expr| {
                let value = cast(value, field.data_type().clone());
                builder = Some(match builder.take() {
                    None => datafusion::logical_expr::when(action_is(a), value),
                    Some(mut b) => b.when(action_is(a), value),
                });
            };
            if let Some(value) = find(&update_values, name) {
                arm(action::UPDATE, value.unwrap_or_else(|| own.clone()));
            }
            if let Some(value) = find(&insert_values, name) {
                arm(action::INSERT, value.unwrap_or(Expr::Literal(ScalarValue::Null, None)));
            }
            let expr = match builder {
                Some(mut b) => b.otherwise(own)?,
                None => own,
            };
            plan.columns.push(cast(expr, field.data_type().clone()).alias(name));
        }
        Ok(plan)
    }
}

/// The expressions of one merge.
#[derive(Default)]
struct MergePlan {
    /// Each joined row's [`action`].
    action: Expr,
    /// The table's columns, computed from the joined row and its action.
    columns: Vec<Expr>,
    /// Whether a target row modified twice must fail the merge (Spark's rule: unless the only
    /// WHEN MATCHED clause is an unconditional delete).
    check_duplicates: bool,
    matched: Vec<(&'static str, Option<String>)>,
    not_matched: Vec<(&'static str, Option<String>)>,
    not_matched_by_source: Vec<(&'static str, Option<String>)>,
}

impl MergePlan {
    fn operation(&self, condition: &str) -> DeltaOperation {
        let predicates = |clauses: &[(&str, Option<String>)]| {
            clauses
                .iter()
                .map(|(kind, predicate)| MergePredicate { action_type: kind.to_string(), predicate: predicate.clone() })
                .collect()
        };
        DeltaOperation::Merge {
            predicate: None,
            merge_predicate: Some(condition.to_string()),
            matched_predicates: predicates(&self.matched),
            not_matched_predicates: predicates(&self.not_matched),
            not_matched_by_source_predicates: predicates(&self.not_matched_by_source),
        }
    }
}

/// Counts each row's action and passes on the rows to write, without the action column.
fn keep_written_rows(
    stream: datafusion::execution::SendableRecordBatchStream,
    schema: datafusion::arrow::datatypes::SchemaRef,
    counters: Counters,
    check: Option<Arc<DuplicateCheck>>,
) -> crate::delta::BatchStream {
    let width = schema.fields().len();
    stream
        .map(move |batch| {
            let batch = batch?;
            let actions = batch.column(width).as_primitive::<Int8Type>();
            let mut counts = [0u64; action::COUNT];
            for a in actions.values().iter() {
                counts[*a as usize] += 1;
            }
            if let Some(check) = &check
                && counts[action::UPDATE as usize] + counts[action::DELETE_MATCHED as usize] > 0
            {
                let ids = batch.column(width + 1).as_primitive::<UInt64Type>();
                let mut seen = check.seen.lock().unwrap_or_else(|p| p.into_inner());
                for (a, id) in actions.values().iter().zip(ids.values().iter()) {
                    if (*a == action::UPDATE || *a == action::DELETE_MATCHED) && !seen.insert(*id) {
                        return Err(deltalake::DeltaTableError::Generic(check.message.clone()));
                    }
                }
            }
            for (counter, n) in counters.iter().zip(counts) {
                counter.fetch_add(n, Ordering::Relaxed);
            }
            let keep = BooleanArray::from_unary(actions, |a| (action::COPY_MATCHED..=action::INSERT).contains(&a));
            let columns: Vec<usize> = (0..width).collect();
            let kept = filter_record_batch(&batch.project(&columns)?, &keep)?;
            // The plan already casts to the table's types; this adds its nullability (a NULL in
            // a NOT NULL column fails here, naming the column) and field metadata.
            for (column, field) in kept.columns().iter().zip(schema.fields()) {
                if !field.is_nullable() && column.null_count() > 0 {
                    return Err(deltalake::DeltaTableError::Generic(format!(
                        "NOT NULL constraint violated for column: {} (the merge would write NULL into it)",
                        field.name()
                    )));
                }
            }
            Ok(datafusion::arrow::record_batch::RecordBatch::try_new(schema.clone(), kept.columns().to_vec())?)
        })
        .boxed()
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
