//! DiffTransform: compares two views. Rows are matched on every column by position (or, with
//! `inputLeftKeys`/`inputRightKeys`, on those keys), NULLs matching NULLs as Spark's row hash
//! does. `outputLeftView` gets the left rows with no match, `outputRightView` the right rows
//! with no match, `outputIntersectionView` the matches: the left row's columns, or with keys
//! a `left` and a `right` struct per matching pair (so changed values can be compared). As in
//! Arc's hash join, a row matching several rows appears once per match.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::sql::{quote_ident, quote_literal};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `DiffTransform` configuration.
#[derive(Debug)]
pub struct DiffTransform {
    left: String,
    right: String,
    left_keys: Vec<String>,
    right_keys: Vec<String>,
    intersection: Option<String>,
    left_only: Option<String>,
    right_only: Option<String>,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let left = c.required_string("inputLeftView");
    let right = c.required_string("inputRightView");
    let left_keys = c.string_list("inputLeftKeys").unwrap_or_default();
    let right_keys = c.string_list("inputRightKeys").unwrap_or_default();
    let intersection = c.string("outputIntersectionView");
    let left_only = c.string("outputLeftView");
    let right_only = c.string("outputRightView");
    let common = ViewCommon::read(c);
    let _ = c.node("params");
    if left_keys.len() != right_keys.len() {
        c.error(
            "inputRightKeys",
            format!(
                "'inputLeftKeys' and 'inputRightKeys' must name the same number of columns (got {} and {}).",
                left_keys.len(),
                right_keys.len()
            ),
        );
        return None;
    }
    Some(Box::new(DiffTransform {
        left: left?,
        right: right?,
        left_keys,
        right_keys,
        intersection,
        left_only,
        right_only,
        common,
    }))
}

/// `NAMED_STRUCT('a', t.`a`, ...)` over `columns` of alias `t`.
fn row_struct(alias: &str, columns: &[String]) -> String {
    let fields: Vec<String> =
        columns.iter().map(|c| format!("{}, {alias}.{}", quote_literal(c), quote_ident(c))).collect();
    format!("NAMED_STRUCT({})", fields.join(", "))
}

#[async_trait]
impl Stage for DiffTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "inputLeftView" => self.left,
            "inputRightView" => self.right,
            "inputLeftKeys" => self.left_keys,
            "inputRightKeys" => self.right_keys,
        };
        for (key, view) in [
            ("outputIntersectionView", &self.intersection),
            ("outputLeftView", &self.left_only),
            ("outputRightView", &self.right_only),
        ] {
            if let Some(v) = view {
                m.insert(key.into(), v.clone().into());
            }
        }
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let columns = |df: &datafusion::dataframe::DataFrame| -> Vec<String> {
            df.schema().fields().iter().map(|f| f.name().clone()).collect()
        };
        let left_columns = columns(&session.view(&self.left).await?);
        let right_columns = columns(&session.view(&self.right).await?);
        let keyed = !self.left_keys.is_empty();
        let (left_on, right_on) = match keyed {
            true => (self.left_keys.clone(), self.right_keys.clone()),
            false => (left_columns.clone(), right_columns.clone()),
        };
        for (keys, view, available) in [(&left_on, &self.left, &left_columns), (&right_on, &self.right, &right_columns)]
        {
            if let Some(missing) = keys.iter().find(|k| !available.contains(k)) {
                return Err(StageError::msg(format!(
                    "key column '{missing}' is not in view '{view}' (columns: [{}]).",
                    available.join(", ")
                )));
            }
        }
        // Rows of different widths never match (Spark's hash of all columns differs).
        let on = match left_on.len() == right_on.len() {
            true => left_on
                .iter()
                .zip(&right_on)
                .map(|(l, r)| format!("l.{} IS NOT DISTINCT FROM r.{}", quote_ident(l), quote_ident(r)))
                .collect::<Vec<_>>()
                .join(" AND "),
            false => "FALSE".to_string(),
        };
        let (l, r) = (quote_ident(&self.left), quote_ident(&self.right));
        let mut outcome = Outcome::default();
        if let Some(view) = &self.intersection {
            let select = match keyed {
                true => format!(
                    "{} AS `left`, {} AS `right`",
                    row_struct("l", &left_columns),
                    row_struct("r", &right_columns)
                ),
                false => "l.*".to_string(),
            };
            let df = session.sql(&format!("SELECT {select} FROM {l} l JOIN {r} r ON {on}")).await?;
            let done = self.common.register(session, view, df).await?;
            outcome.rows = done.rows;
            if let Some(rows) = done.rows {
                outcome.detail.insert("intersectionRecords".into(), rows.into());
            }
        }
        for (view, sql, key) in [
            (&self.left_only, format!("SELECT l.* FROM {l} l LEFT ANTI JOIN {r} r ON {on}"), "leftRecords"),
            (&self.right_only, format!("SELECT r.* FROM {r} r LEFT ANTI JOIN {l} l ON {on}"), "rightRecords"),
        ] {
            if let Some(view) = view {
                let done = self.common.register(session, view, session.sql(&sql).await?).await?;
                if let Some(rows) = done.rows {
                    outcome.detail.insert(key.into(), rows.into());
                }
            }
        }
        Ok(outcome)
    }
}
