//! From Spark SQL text to a DataFusion plan: parse with [`SparkDialect`], rewrite the
//! statement ([`rewrite`]), plan it, and say what went wrong in Spark's terms ([`errors`]).

use datafusion::common::TableReference;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};

use super::dialect::SparkDialect;
use super::errors;
use super::rewrite::{self, ViewColumns};
use crate::session::ViewCatalog;

/// How Spark-compatible planning behaves (Spark's session settings).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlOptions {
    /// `spark.sql.caseSensitive` (`WEIR_SQL_CASE_SENSITIVE`): column names must match in case.
    pub case_sensitive: bool,
    /// `spark.sql.ansi.enabled` (`WEIR_SQL_ANSI`): invalid casts fail instead of giving NULL.
    pub ansi: bool,
}

/// Spark's `\\uXXXX` escapes in string literals, which the tokenizer does not read:
/// replaced by their character before parsing (other escapes are the tokenizer's).
fn unicode_escapes(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains("\\u") {
        return std::borrow::Cow::Borrowed(sql);
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => {
                let hex: String = chars.iter().skip(i + 2).take(4).collect();
                if chars.get(i + 1) == Some(&'u')
                    && hex.len() == 4
                    && let Some(decoded) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                {
                    out.push(decoded);
                    i += 6;
                    continue;
                }
                // Keep the escape and the escaped character together.
                out.push(c);
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// Parses one statement of Spark SQL.
pub fn parse(sql: &str) -> Result<DFStatement> {
    let sql = &*super::prepass::rewrite(sql);
    let sql = &*unicode_escapes(sql);
    let sql = &*super::interval::rewrite(sql).map_err(DataFusionError::Plan)?;
    let sql = &*super::timestamps::ltz_keyword(sql);
    let mut parser = DFParserBuilder::new(sql)
        .with_dialect(&SparkDialect)
        .build()
        .map_err(|e| errors::syntax(sql, e.to_string()))?;
    let mut statements = parser.parse_statements().map_err(|e| errors::syntax(sql, e.to_string()))?;
    match statements.len() {
        1 => Ok(statements.pop_front().expect("one statement")),
        0 => Err(DataFusionError::Plan("SQL statement is empty.".into())),
        n => Err(DataFusionError::Plan(format!("expected one SQL statement but found {n}."))),
    }
}

/// Plans one statement of Spark SQL against the session's views.
pub async fn plan(state: &SessionState, views: &ViewCatalog, sql: &str, options: SqlOptions) -> Result<LogicalPlan> {
    let mut parsed = parse(sql)?;
    let references = state.resolve_table_references(&parsed)?;
    if let DFStatement::Statement(inner) = &mut parsed {
        rewrite::unsupported(inner).map_err(DataFusionError::Plan)?;
        rewrite::table_generators(inner).map_err(DataFusionError::Plan)?;
    }
    let columns = if options.case_sensitive { None } else { Some(view_columns(views, &references).await) };
    // Generators are rewritten after their arguments' shapes, which planning tells one at a
    // time (see `rewrite::generators`).
    let mut shapes = rewrite::Shapes::new();
    loop {
        let mut statement = parsed.clone();
        if let DFStatement::Statement(inner) = &mut statement {
            rewrite::generators(inner, &shapes).map_err(DataFusionError::Plan)?;
            super::time_window::time_windows(inner).map_err(DataFusionError::Plan)?;
            rewrite::literals(inner);
            super::functions::agg::spelling::rewrite(inner);
            super::lateral::rewrite(inner);
            super::table_functions::lowercase_calls(inner);
            super::functions::math::negative::rewrite_unary_minus(inner);
            super::interval::consistent_values(inner).map_err(DataFusionError::Plan)?;
            if let Some(columns) = &columns {
                rewrite::case_insensitive(inner, columns).map_err(DataFusionError::Plan)?;
            }
            super::struct_star::expand(state, inner, options.case_sensitive).await.map_err(DataFusionError::Plan)?;
            super::struct_star::expand_struct_calls(state, inner).await.map_err(DataFusionError::Plan)?;
            super::set_all::rewrite(inner, state).await?;
        }
        let result = match state.statement_to_plan(statement.clone()).await {
            // Spark allows two result columns of one name; DataFusion's automatic names can
            // also coincide (`hash(1)`, `hash(1L)`): name unnamed items after their text.
            Err(e) if e.to_string().contains("Projections require unique expression names") => {
                if let DFStatement::Statement(inner) = &mut statement {
                    rewrite::name_select_items(inner);
                }
                state.statement_to_plan(statement).await
            }
            result => result,
        };
        if let Err(e) = &result
            && let Some((id, shape)) = super::functions::array::generator::probed(&e.to_string())
            && !shapes.contains_key(&id)
        {
            shapes.insert(id, shape);
            continue;
        }
        return result.map_err(|e| errors::spark_terms(e, views, &references));
    }
}

async fn view_columns(views: &ViewCatalog, references: &[TableReference]) -> ViewColumns {
    use datafusion::catalog::SchemaProvider;
    let mut columns = ViewColumns::new();
    for reference in references {
        if let Ok(Some(table)) = views.table(reference.table()).await {
            let names = table.schema().fields().iter().map(|f| f.name().clone()).collect();
            columns.insert(reference.table().to_lowercase(), names);
        }
    }
    columns
}
