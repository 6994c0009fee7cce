//! Spark's bag operations `INTERSECT ALL` and `EXCEPT ALL` (`MINUS ALL`), and `MINUS` as
//! `EXCEPT`.
//!
//! DataFusion plans the `ALL` forms as semi and anti joins, which keep every left copy of a
//! row that the right side holds at all (`[1, 1, 1] INTERSECT ALL [1]` would give three 1s;
//! Spark gives one). Spark's answer keeps a row `min(l, r)` times (INTERSECT ALL) or
//! `l - r` times (EXCEPT ALL), where `l` and `r` count its copies on each side (NULLs equal).
//! Numbering the copies of each distinct row on both sides makes the copies distinct rows,
//! and the distinct operation on those gives exactly that:
//!
//! ```sql
//! SELECT c1, c2 FROM (
//!   SELECT c1, c2, row_number() OVER (PARTITION BY c1, c2) AS __weir_copy FROM (L) AS __weir_l
//!   INTERSECT
//!   SELECT c1, c2, row_number() OVER (PARTITION BY c1, c2) AS __weir_copy FROM (R) AS __weir_r(c1, c2)
//! ) AS __weir_set
//! ```
//!
//! The column names are those of the left side, found by planning it on its own (with the
//! statement's `WITH` clause); where that fails the operation is refused as not supported.

use std::ops::ControlFlow;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionState;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{
    self, Query, SetExpr, SetOperator, SetQuantifier, Statement, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::parser::Parser;

use super::dialect::SparkDialect;

/// What the visitor does at the first bag operation it meets.
enum Step {
    /// Records the operation's left side (its SQL).
    Find(Option<String>),
    /// Rewrites it over these left-side column names.
    Rewrite(Vec<String>, Result<(), String>),
}

struct Bags {
    step: Step,
}

fn is_bag(op: &SetOperator, quantifier: &SetQuantifier) -> bool {
    matches!(op, SetOperator::Intersect | SetOperator::Except | SetOperator::Minus)
        && matches!(quantifier, SetQuantifier::All)
}

impl VisitorMut for Bags {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        visit_body(&mut query.body, &mut self.step)
    }
}

fn visit_body(body: &mut SetExpr, step: &mut Step) -> ControlFlow<()> {
    let SetExpr::SetOperation { op, set_quantifier, left, right } = body else { return ControlFlow::Continue(()) };
    if *op == SetOperator::Minus && !matches!(set_quantifier, SetQuantifier::All) {
        *op = SetOperator::Except;
    }
    if !is_bag(op, set_quantifier) {
        visit_body(left, step)?;
        return visit_body(right, step);
    }
    match step {
        Step::Find(found) => {
            *found = Some(left.to_string());
        }
        Step::Rewrite(names, outcome) => {
            let operator = if *op == SetOperator::Intersect { "INTERSECT" } else { "EXCEPT" };
            *outcome = rewritten(names, operator, left, right).map(|new| *body = new);
        }
    }
    ControlFlow::Break(())
}

fn rewritten(names: &[String], operator: &str, left: &SetExpr, right: &SetExpr) -> Result<SetExpr, String> {
    let columns = names.iter().map(|n| super::quote_ident(n)).collect::<Vec<_>>().join(", ");
    let copy = format!("row_number() OVER (PARTITION BY {columns}) AS __weir_copy");
    let sql = format!(
        "SELECT {columns} FROM (SELECT {columns}, {copy} FROM ({left}) AS __weir_l {operator} \
         SELECT {columns}, {copy} FROM ({right}) AS __weir_r({columns})) AS __weir_set"
    );
    let mut parsed = Parser::parse_sql(&SparkDialect, &sql).map_err(|e| format!("{operator} ALL: {e}"))?;
    match parsed.pop() {
        Some(Statement::Query(query)) => Ok(*query.body),
        _ => Err(format!("{operator} ALL could not be rewritten")),
    }
}

/// The output column names of `left` planned alone (with the statement's `WITH` clause).
async fn left_columns(state: &SessionState, with: Option<&ast::With>, left: &str) -> Result<Vec<String>> {
    let with = with.map(|w| format!("{w} ")).unwrap_or_default();
    let sql = format!("{with}SELECT * FROM ({left}) AS __weir_l");
    let refuse =
        |why: String| DataFusionError::Plan(format!("INTERSECT ALL / EXCEPT ALL here is not supported yet ({why})"));
    let mut parsed = Parser::parse_sql(&SparkDialect, &sql).map_err(|e| refuse(e.to_string()))?;
    let Some(statement) = parsed.pop() else { return Err(refuse("no statement".into())) };
    let plan = state
        .statement_to_plan(DFStatement::Statement(Box::new(statement)))
        .await
        .map_err(|e| refuse(e.to_string()))?;
    Ok(plan.schema().fields().iter().map(|f| f.name().clone()).collect())
}

/// Rewrites every `INTERSECT ALL` / `EXCEPT ALL` / `MINUS ALL` of `statement` (see the
/// module doc), and `MINUS` as `EXCEPT`.
pub async fn rewrite(statement: &mut Statement, state: &SessionState) -> Result<()> {
    let with = match &*statement {
        Statement::Query(q) => q.with.clone(),
        _ => None,
    };
    // Each round rewrites the first bag operation left, so the loop ends.
    for _ in 0..64 {
        let mut find = Bags { step: Step::Find(None) };
        let _ = VisitMut::visit(statement, &mut find);
        let Step::Find(Some(left)) = find.step else { return Ok(()) };
        let names = left_columns(state, with.as_ref(), &left).await?;
        let mut apply = Bags { step: Step::Rewrite(names, Ok(())) };
        let _ = VisitMut::visit(statement, &mut apply);
        if let Step::Rewrite(_, Err(message)) = apply.step {
            return Err(DataFusionError::Plan(format!("{message} (not supported yet)")));
        }
    }
    Err(DataFusionError::Plan("more than 64 INTERSECT ALL / EXCEPT ALL operations are not supported yet".into()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;

    use crate::events::EventLog;
    use crate::session::{Session, Settings};
    use crate::storage::Storage;

    async fn rows(sql: &str) -> Vec<String> {
        let session = Session::new(
            Storage::new(Default::default()),
            Settings::default(),
            EventLog::new("weir", Default::default()),
        );
        let df = session.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        let text = pretty_format_batches(&df.collect().await.expect("collect")).expect("format").to_string();
        text.lines()
            .skip(3)
            .filter(|l| !l.starts_with('+'))
            .map(|l| l.trim_matches(|c| c == '|' || c == ' ').to_string())
            .collect()
    }

    #[tokio::test]
    async fn bag_operations_count_copies() {
        let left = "SELECT * FROM VALUES (1), (1), (1), (2), (NULL), (NULL) AS a(v)";
        let sql = format!("{left} INTERSECT ALL SELECT * FROM VALUES (1), (1), (NULL), (3) AS b(w) ORDER BY v");
        assert_eq!(rows(&sql).await, vec!["", "1", "1"]);
        let sql = format!("{left} EXCEPT ALL SELECT * FROM VALUES (1), (NULL), (3) AS b(v) ORDER BY v");
        assert_eq!(rows(&sql).await, vec!["", "1", "1", "2"]);
        let sql =
            "WITH a AS (SELECT * FROM VALUES (1), (1), (2) AS t(v)) SELECT * FROM a MINUS ALL SELECT 1 ORDER BY v";
        assert_eq!(rows(sql).await, vec!["1", "2"]);
        assert_eq!(
            rows("SELECT * FROM VALUES (1), (2) AS a(v) MINUS SELECT * FROM VALUES (2) AS b(v)").await,
            vec!["1"]
        );
    }
}
