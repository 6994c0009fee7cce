//! JSONTransform: each row of a view as one JSON object string in a `value` column, as
//! Spark's `Dataset.toJSON` writes it (NULL fields left out, nested structs, arrays and maps
//! as JSON, the view's column order).

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::sql::{quote_ident, quote_literal};
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// `JSONTransform` configuration.
#[derive(Debug)]
pub struct JsonTransform {
    input_view: String,
    output_view: String,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let common = ViewCommon::read(c);
    let _ = c.node("params");
    Some(Box::new(JsonTransform { input_view: input_view?, output_view: output_view?, common }))
}

#[async_trait]
impl Stage for JsonTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "inputView" => self.input_view, "outputView" => self.output_view };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = to_json_rows(session, &self.input_view).await?;
        self.common.register(session, &self.output_view, df).await
    }
}

/// `view`'s rows as one JSON object string each, in a column `value` (Spark's `toJSON`).
pub async fn to_json_rows(session: &Session, view: &str) -> Result<datafusion::dataframe::DataFrame, StageError> {
    let input = session.view(view).await?;
    let fields: Vec<String> = input
        .schema()
        .fields()
        .iter()
        .map(|f| format!("{}, {}", quote_literal(f.name()), quote_ident(f.name())))
        .collect();
    if fields.is_empty() {
        return Err(StageError::msg(format!("inputView '{view}' has no columns to write as JSON.")));
    }
    let sql = format!("SELECT TO_JSON(NAMED_STRUCT({})) AS value FROM {}", fields.join(", "), quote_ident(view));
    Ok(session.sql(&sql).await?)
}
