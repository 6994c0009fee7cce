//! EqualityValidate: fails unless two views hold the same data, as Arc compares them — the
//! same columns in the same order with the same types (nullability ignored), then every row of
//! each found in the other (internal columns `_filename`, `_index`… and `_errors` dropped first).

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError};

/// `EqualityValidate` configuration.
#[derive(Debug)]
pub struct EqualityValidate {
    left_view: String,
    right_view: String,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let left_view = c.required_string("leftView");
    let right_view = c.required_string("rightView");
    let _ = c.node("params");
    Some(Box::new(EqualityValidate { left_view: left_view?, right_view: right_view? }))
}

const SAME: &str = "EqualityValidate ensures the two input datasets are the same (including column order), but";
const NOT_COMPARABLE: &str = "Columns are not equal so cannot the data be compared.";

fn quoted(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", ")
}

/// The names of the columns compared (internal ones dropped, as Arc does).
fn compared(schema: &Schema) -> Vec<(String, DataType)> {
    schema
        .fields()
        .iter()
        .filter(|f| !crate::typing::INTERNAL_COLUMNS.contains(&f.name().as_str()) && f.name() != "_errors")
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect()
}

impl EqualityValidate {
    /// Rows of `a` with no equal row (NULLs equal) in `b`.
    async fn missing(&self, session: &Session, a: &str, b: &str, columns: &[String]) -> Result<u64, StageError> {
        let on = if columns.is_empty() {
            "TRUE".to_string()
        } else {
            columns
                .iter()
                .map(|c| format!("a.{0} IS NOT DISTINCT FROM b.{0}", crate::sql::quote_ident(c)))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        let sql = format!(
            "SELECT COUNT(*) FROM {} a LEFT ANTI JOIN {} b ON {on}",
            crate::sql::quote_ident(a),
            crate::sql::quote_ident(b)
        );
        count(session, &sql).await
    }
}

async fn count(session: &Session, sql: &str) -> Result<u64, StageError> {
    let batches = session.sql(sql).await?.collect().await?;
    let column = batches.first().map(|b| b.column(0).clone()).ok_or_else(|| StageError::msg("no count"))?;
    let column = datafusion::arrow::compute::cast(&column, &DataType::Int64)?;
    let value = datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(&column);
    Ok(value.value(0).max(0) as u64)
}

#[async_trait]
impl Stage for EqualityValidate {
    fn detail(&self) -> Map<String, Value> {
        crate::obj! { "leftView" => self.left_view, "rightView" => self.right_view }
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let (l, r) = (&self.left_view, &self.right_view);
        let left =
            compared(session.sql(&format!("SELECT * FROM {}", crate::sql::quote_ident(l))).await?.schema().as_arrow());
        let right =
            compared(session.sql(&format!("SELECT * FROM {}", crate::sql::quote_ident(r))).await?.schema().as_arrow());
        let names = |cols: &[(String, DataType)]| cols.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let (left_names, right_names) = (names(&left), names(&right));
        let only_left: Vec<String> = left_names.iter().filter(|n| !right_names.contains(n)).cloned().collect();
        let only_right: Vec<String> = right_names.iter().filter(|n| !left_names.contains(n)).cloned().collect();
        if !only_left.is_empty() || !only_right.is_empty() {
            return Err(StageError::msg(format!(
                "{SAME} '{l}' ({} columns) contains columns: [{}] that are not in '{r}' and '{r}' ({} columns) contains columns: [{}] that are not in '{l}'. {NOT_COMPARABLE}",
                left.len(),
                quoted(only_left),
                right.len(),
                quoted(only_right)
            )));
        }
        if left_names != right_names {
            return Err(StageError::msg(format!(
                "{SAME} '{l}' contains columns (ordered): [{}] and '{r}' contains columns (ordered): [{}]. {NOT_COMPARABLE}",
                quoted(left_names),
                quoted(right_names)
            )));
        }
        // Compared as Spark types, as Arc does: Arrow types that are one Spark type (a UTC
        // timestamp under another zone name, string views) are the same column type.
        let spark = |t: &DataType| crate::sql::types::spark_type_name(t).unwrap_or_else(|| t.to_string());
        if left.iter().zip(&right).any(|((_, a), (_, b))| !a.equals_datatype(b) && spark(a) != spark(b)) {
            let types =
                |cols: &[(String, DataType)]| quoted(cols.iter().map(|(_, t)| crate::sql::types::spark_type_word(t)));
            return Err(StageError::msg(format!(
                "{SAME} '{l}' contains column types (ordered): [{}] and '{r}' contains column types (ordered): [{}]. {NOT_COMPARABLE}",
                types(&left),
                types(&right)
            )));
        }
        let left_missing = self.missing(session, l, r, &left_names).await?;
        let right_missing = self.missing(session, r, l, &left_names).await?;
        if left_missing != 0 || right_missing != 0 {
            let left_rows = count(session, &format!("SELECT COUNT(*) FROM {}", crate::sql::quote_ident(l))).await?;
            let right_rows = count(session, &format!("SELECT COUNT(*) FROM {}", crate::sql::quote_ident(r))).await?;
            return Err(StageError::msg(format!(
                "{SAME} '{l}' ({left_rows} rows) contains {left_missing} rows that are not in '{r}' and '{r}' ({right_rows} rows) contains {right_missing} rows which are not in '{l}'."
            )));
        }
        Ok(Outcome::default())
    }
}
