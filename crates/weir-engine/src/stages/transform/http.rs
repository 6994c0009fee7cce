//! HTTPTransform: POSTs column `inputField` (string or binary) of each row of `inputView` to
//! `uri` and appends the response as a string column `body`. With `batchSize` n > 1, n rows
//! are joined by `delimiter` into one request and the response is split on it back into one
//! value per row (its count must match). `failMode`: failfast (a status outside
//! `validStatusCodes` fails the stage) or permissive (no status check; a `response` struct
//! `{statusCode, reasonPhrase, contentType, responseTime}` is appended too, and a request
//! answered with an invalid status gives each of its rows the whole response body).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema};
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};
use url::Url;

use crate::config::StageConfig;
use crate::http::{Body, Client, Headers, Request, Response, display_uri, read_status_codes, read_uri};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

const STAGE: &str = "HTTPTransform";

/// What an invalid status does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailMode {
    FailFast,
    Permissive,
}

/// `HTTPTransform` configuration.
#[derive(Debug)]
pub struct HttpTransform {
    input_view: String,
    output_view: String,
    uri: Url,
    input_field: String,
    headers: Headers,
    valid_status_codes: Vec<u16>,
    batch_size: usize,
    delimiter: String,
    fail_mode: FailMode,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_view = c.required_string("outputView");
    let uri = read_uri(c, "uri", true);
    let input_field = c.string("inputField").unwrap_or_else(|| "value".into());
    let headers = Headers::read(c);
    let valid_status_codes = read_status_codes(c);
    let batch_size = if c.has("batchSize") { c.positive("batchSize") } else { Some(1) };
    let delimiter = Some(c.string("delimiter").unwrap_or_else(|| "\n".into())).filter(|d| !d.is_empty());
    if delimiter.is_none() {
        c.error("delimiter", "'delimiter' must not be empty.");
    }
    let fail_mode = c.choice(
        "failMode",
        &[("permissive", FailMode::Permissive), ("failfast", FailMode::FailFast)],
        FailMode::FailFast,
    );
    let common = ViewCommon::read(c);
    Some(Box::new(HttpTransform {
        input_view: input_view?,
        output_view: output_view?,
        uri: uri?,
        input_field,
        headers: headers?,
        valid_status_codes: valid_status_codes?,
        batch_size: batch_size?,
        delimiter: delimiter?,
        fail_mode: fail_mode?,
        common,
    }))
}

/// The values of one response, as Java's `String.split` gives them (trailing empty values
/// dropped) but on the literal delimiter.
fn split_response(text: &str, delimiter: &str) -> Vec<String> {
    if text.is_empty() {
        return vec![String::new()];
    }
    let mut parts: Vec<&str> = text.split(delimiter).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts.into_iter().map(str::to_string).collect()
}

fn response_fields() -> Fields {
    Fields::from(vec![
        Field::new("statusCode", DataType::Int32, false),
        Field::new("reasonPhrase", DataType::Utf8, false),
        Field::new("contentType", DataType::Utf8, true),
        Field::new("responseTime", DataType::Int64, false),
    ])
}

/// The input column's values, as text or bytes.
enum Values {
    Text(StringArray),
    Bytes(datafusion::arrow::array::BinaryArray),
}

impl Values {
    fn is_null(&self, i: usize) -> bool {
        match self {
            Values::Text(a) => a.is_null(i),
            Values::Bytes(a) => a.is_null(i),
        }
    }

    /// One request body of rows `rows`, joined by `delimiter`.
    fn body(&self, rows: std::ops::Range<usize>, delimiter: &str) -> Body {
        match self {
            Values::Text(a) => Body::Text(rows.map(|i| a.value(i)).collect::<Vec<_>>().join(delimiter)),
            Values::Bytes(a) => Body::Bytes(rows.map(|i| a.value(i)).collect::<Vec<_>>().join(delimiter.as_bytes())),
        }
    }
}

impl HttpTransform {
    fn values(&self, batch: &RecordBatch) -> Result<Values, StageError> {
        let signature = format!("{STAGE} requires a field named '{}' of type 'string' or 'binary'.", self.input_field);
        let schema = batch.schema();
        let Ok(index) = schema.index_of(&self.input_field) else {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(StageError::msg(format!("{signature} inputView has: [{}].", names.join(", "))));
        };
        let column = batch.column(index);
        let values = match column.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Values::Text(datafusion::arrow::compute::cast(column, &DataType::Utf8)?.as_string::<i32>().clone())
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                Values::Bytes(datafusion::arrow::compute::cast(column, &DataType::Binary)?.as_binary::<i32>().clone())
            }
            _ => {
                let field = schema.field(index);
                let name =
                    crate::sql::types::spark_field_type_name(field).unwrap_or_else(|| field.data_type().to_string());
                return Err(StageError::msg(format!("{signature} '{}' is of type: '{name}'.", self.input_field)));
            }
        };
        if let Some(row) = (0..batch.num_rows()).find(|&i| values.is_null(i)) {
            return Err(StageError::msg(format!(
                "{STAGE} cannot send a NULL '{}' (row {} of inputView '{}').",
                self.input_field,
                row + 1,
                self.input_view
            )));
        }
        Ok(values)
    }

    /// One value per row of a request of `rows` rows, from its response.
    fn row_values(&self, response: &Response, rows: usize) -> Result<Vec<String>, StageError> {
        let text = response.text();
        let valid = self.valid_status_codes.contains(&response.status);
        if self.fail_mode == FailMode::Permissive && !valid {
            // Recorded, not split: the body is an error, not one value per row.
            return Ok(vec![text; rows]);
        }
        let values = if self.batch_size > 1 { split_response(&text, &self.delimiter) } else { vec![text] };
        if values.len() != rows {
            let carried = match rows == self.batch_size {
                true => String::new(),
                false => format!(" (this request carried {rows} rows)"),
            };
            return Err(StageError::msg(format!(
                "{STAGE} expects the response to contain same number of results as 'batchSize' ({}) but server responded with {}{carried}.",
                self.batch_size,
                values.len()
            )));
        }
        Ok(values)
    }
}

#[async_trait]
impl Stage for HttpTransform {
    fn detail(&self) -> Map<String, Value> {
        let fail_mode = match self.fail_mode {
            FailMode::FailFast => "failfast",
            FailMode::Permissive => "permissive",
        };
        let mut m = crate::obj! {
            "inputView" => self.input_view,
            "inputField" => self.input_field,
            "outputView" => self.output_view,
            "uri" => display_uri(&self.uri),
            "headers" => self.headers.masked(),
            "validStatusCodes" => self.valid_status_codes,
            "batchSize" => self.batch_size,
            "delimiter" => self.delimiter,
            "failMode" => fail_mode,
        };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = session.view(&self.input_view).await?;
        let input_schema = Arc::new(df.schema().as_arrow().clone());
        for added in ["body", "response"] {
            if (added == "body" || self.fail_mode == FailMode::Permissive)
                && input_schema.column_with_name(added).is_some()
            {
                return Err(StageError::msg(format!(
                    "{STAGE} appends a column '{added}' but inputView '{}' already has one.",
                    self.input_view
                )));
            }
        }
        let batch = datafusion::arrow::compute::concat_batches(&input_schema, &df.collect().await?)?;
        let values = self.values(&batch)?;
        let groups: Vec<std::ops::Range<usize>> = (0..batch.num_rows())
            .step_by(self.batch_size)
            .map(|start| start..(start + self.batch_size).min(batch.num_rows()))
            .collect();
        let requests = groups.iter().cloned().map(|rows| Request {
            method: reqwest::Method::POST,
            url: self.uri.clone(),
            body: Some(values.body(rows, &self.delimiter)),
        });
        let client = Client::new(STAGE, &self.headers)?;
        let check = (self.fail_mode == FailMode::FailFast).then_some(self.valid_status_codes.as_slice());
        let responses = client.send_all(requests, check).await?;

        let mut bodies = Vec::with_capacity(batch.num_rows());
        let mut per_row: Vec<&Response> = Vec::with_capacity(batch.num_rows());
        for (rows, response) in groups.iter().zip(&responses) {
            bodies.extend(self.row_values(response, rows.len())?);
            per_row.extend(std::iter::repeat_n(response, rows.len()));
        }
        let mut fields: Vec<Arc<Field>> = input_schema.fields().iter().cloned().collect();
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        fields.push(Arc::new(Field::new("body", DataType::Utf8, false)));
        columns.push(Arc::new(StringArray::from(bodies)));
        if self.fail_mode == FailMode::Permissive {
            let parts: Vec<ArrayRef> = vec![
                Arc::new(Int32Array::from_iter_values(per_row.iter().map(|r| i32::from(r.status)))),
                Arc::new(StringArray::from_iter_values(per_row.iter().map(|r| r.reason.as_str()))),
                Arc::new(StringArray::from_iter(per_row.iter().map(|r| r.content_type.as_deref()))),
                Arc::new(Int64Array::from_iter_values(per_row.iter().map(|r| r.elapsed_ms))),
            ];
            fields.push(Arc::new(Field::new("response", DataType::Struct(response_fields()), false)));
            columns.push(Arc::new(StructArray::try_new(response_fields(), parts, None)?));
        }
        let schema = Arc::new(Schema::new_with_metadata(fields, input_schema.metadata().clone()));
        let out = RecordBatch::try_new(schema.clone(), columns)?;
        let table = MemTable::try_new(schema, vec![vec![out]])?;
        let df = session.ctx.read_table(Arc::new(table))?;
        let mut outcome = self.common.register(session, &self.output_view, df).await?;
        outcome.detail.insert("requests".into(), responses.len().into());
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_split_as_java_does_on_the_literal_delimiter() {
        assert_eq!(split_response("a\nb\nc\n", "\n"), ["a", "b", "c"]);
        assert_eq!(split_response("a\n\nc", "\n"), ["a", "", "c"]);
        assert_eq!(split_response("", "\n"), [""]);
        assert_eq!(split_response("a|b", "|"), ["a", "b"]);
        assert!(split_response("\n\n", "\n").is_empty());
    }

    fn errors(json: &str) -> Vec<String> {
        crate::http::config_errors(build, json)
    }

    #[test]
    fn config_follows_arc() {
        assert!(errors(r#"{"inputView": "i", "outputView": "o", "uri": "http://h/x"}"#).is_empty());
        assert!(
            errors(
                r#"{"inputView": "i", "outputView": "o", "uri": "http://h/x", "batchSize": 10, "delimiter": "|", "failMode": "permissive", "inputField": "v", "headers": {"A": "b"}}"#
            )
            .is_empty()
        );
        assert_eq!(errors(r#"{"inputView": "i", "outputView": "o"}"#), ["Missing required attribute 'uri'."]);
        assert_eq!(
            errors(r#"{"inputView": "i", "outputView": "o", "uri": "http://h/x", "failMode": "strict"}"#),
            ["Invalid value 'strict'. Expected one of: ['permissive', 'failfast']."]
        );
        assert_eq!(
            errors(r#"{"inputView": "i", "outputView": "o", "uri": "http://h/x", "batchSize": 0}"#),
            ["'batchSize' must be greater than 0 but is 0."]
        );
    }
}
