//! HTTPExtract: a GET or POST to `inputURI`, or one per row of `inputView` (the URI in column
//! `uriField`, else the first column; the POST body in `bodyField`, else `body`), as a view of
//! one row per request: `[uri, statusCode, reasonPhrase, contentType, body]`, as Arc 3 returns
//! it. A status outside `validStatusCodes` fails the stage with Arc's message.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use serde_json::{Map, Value};
use url::Url;

use crate::config::StageConfig;
use crate::http::{Body, Client, Headers, Request, display_uri, read_status_codes, read_uri};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

const STAGE: &str = "HTTPExtract";

/// Where the requests come from.
#[derive(Debug)]
enum Input {
    Uri(Url),
    View { view: String, uri_field: Option<String>, body_field: Option<String> },
}

/// `HTTPExtract` configuration.
#[derive(Debug)]
pub struct HttpExtract {
    input: Input,
    output_view: String,
    method: reqwest::Method,
    body: Option<String>,
    headers: Headers,
    valid_status_codes: Vec<u16>,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    // As Arc: `inputView` when given, else `inputURI` is required.
    let view = c.string("inputView");
    let uri_field = c.string("uriField");
    let body_field = c.string("bodyField");
    let input = match view {
        Some(view) => {
            let _ = c.node("inputURI");
            Some(Input::View { view, uri_field, body_field })
        }
        None => read_uri(c, "inputURI", true).map(Input::Uri),
    };
    let output_view = c.required_string("outputView");
    let method = c.choice("method", &[("GET", 0), ("POST", 1)], 0).map(|m| match m {
        0 => reqwest::Method::GET,
        _ => reqwest::Method::POST,
    });
    let body = c.string("body");
    let headers = Headers::read(c);
    let valid_status_codes = read_status_codes(c);
    let common = ViewCommon::read(c);
    Some(Box::new(HttpExtract {
        input: input?,
        output_view: output_view?,
        method: method?,
        body,
        headers: headers?,
        valid_status_codes: valid_status_codes?,
        common,
    }))
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("uri", DataType::Utf8, false),
        Field::new("statusCode", DataType::Int32, false),
        Field::new("reasonPhrase", DataType::Utf8, false),
        Field::new("contentType", DataType::Utf8, true),
        Field::new("body", DataType::Utf8, true),
    ]))
}

/// The strings of column `name` (or the first column) of `view`, for URIs and bodies.
fn string_column(batch: &RecordBatch, view: &str, attribute: &str, name: Option<&str>) -> Result<ArrayRef, StageError> {
    let schema = batch.schema();
    let index = match name {
        Some(name) => schema.index_of(name).map_err(|_| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            StageError::msg(format!(
                "{STAGE} '{attribute}' names column '{name}' but inputView '{view}' has: [{}].",
                names.join(", ")
            ))
        })?,
        None if schema.fields().is_empty() => {
            return Err(StageError::msg(format!("{STAGE} inputView '{view}' has no columns to read URIs from.")));
        }
        None => 0,
    };
    let field = schema.field(index);
    if !matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Err(StageError::msg(format!(
            "{STAGE} requires '{}' of inputView '{view}' to be of type 'string' but it is '{}'.",
            field.name(),
            crate::sql::types::spark_field_type_name(field).unwrap_or_else(|| field.data_type().to_string())
        )));
    }
    Ok(datafusion::arrow::compute::cast(batch.column(index), &DataType::Utf8)?)
}

impl HttpExtract {
    /// The requests to send: one, or one per row of the input view.
    async fn requests(&self, session: &Session) -> Result<Vec<Request>, StageError> {
        let post = self.method == reqwest::Method::POST;
        let constant_body = || post.then(|| Body::Text(self.body.clone().unwrap_or_default()));
        let (view, uri_field, body_field) = match &self.input {
            Input::Uri(url) => {
                return Ok(vec![Request { method: self.method.clone(), url: url.clone(), body: constant_body() }]);
            }
            Input::View { view, uri_field, body_field } => (view, uri_field, body_field),
        };
        let df = session.view(view).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batch = datafusion::arrow::compute::concat_batches(&schema, &df.collect().await?)?;
        let uris = string_column(&batch, view, "uriField", uri_field.as_deref())?;
        let uris = uris.as_string::<i32>();
        let bodies = match body_field {
            Some(name) => Some(string_column(&batch, view, "bodyField", Some(name))?),
            None => None,
        };
        let bodies = bodies.as_ref().map(|b| b.as_string::<i32>());
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            if uris.is_null(row) {
                return Err(StageError::msg(format!(
                    "{STAGE} found a NULL URI in row {} of inputView '{view}'.",
                    row + 1
                )));
            }
            let url = crate::http::parse_http_uri(uris.value(row))
                .map_err(|e| StageError::msg(format!("{STAGE} row {} of inputView '{view}': {e}", row + 1)))?;
            let body = match bodies {
                Some(b) if post => {
                    Some(Body::Text(if b.is_null(row) { String::new() } else { b.value(row).to_string() }))
                }
                _ => constant_body(),
            };
            out.push(Request { method: self.method.clone(), url, body });
        }
        Ok(out)
    }
}

#[async_trait]
impl Stage for HttpExtract {
    fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match &self.input {
            Input::Uri(url) => {
                m.insert("inputURI".into(), display_uri(url).into());
            }
            Input::View { view, uri_field, body_field } => {
                m.insert("inputView".into(), view.clone().into());
                if let Some(f) = uri_field {
                    m.insert("uriField".into(), f.clone().into());
                }
                if let Some(f) = body_field {
                    m.insert("bodyField".into(), f.clone().into());
                }
            }
        }
        m.insert("outputView".into(), self.output_view.clone().into());
        m.insert("method".into(), self.method.as_str().into());
        m.insert("headers".into(), self.headers.masked());
        m.insert("validStatusCodes".into(), self.valid_status_codes.clone().into());
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let requests = self.requests(session).await?;
        let uris: Vec<String> = requests.iter().map(|r| r.url.to_string()).collect();
        let client = Client::new(STAGE, &self.headers)?;
        let responses = client.send_all(requests, Some(&self.valid_status_codes)).await?;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(uris)),
            Arc::new(Int32Array::from_iter_values(responses.iter().map(|r| i32::from(r.status)))),
            Arc::new(StringArray::from_iter_values(responses.iter().map(|r| r.reason.as_str()))),
            Arc::new(StringArray::from_iter(responses.iter().map(|r| r.content_type.as_deref()))),
            Arc::new(StringArray::from_iter(responses.iter().map(|r| (!r.body.is_empty()).then(|| r.text())))),
        ];
        let batch = RecordBatch::try_new(schema(), columns)?;
        let df = session.ctx.read_table(Arc::new(MemTable::try_new(schema(), vec![vec![batch]])?))?;
        self.common.register(session, &self.output_view, df).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(json: &str) -> Vec<String> {
        crate::http::config_errors(build, json)
    }

    #[test]
    fn config_follows_arc() {
        assert!(errors(r#"{"inputURI": "http://h/x", "outputView": "o"}"#).is_empty());
        assert!(
            errors(r#"{"inputView": "v", "uriField": "u", "bodyField": "b", "method": "POST", "outputView": "o"}"#)
                .is_empty()
        );
        assert_eq!(errors(r#"{"outputView": "o"}"#), ["Missing required attribute 'inputURI'."]);
        assert_eq!(errors(r#"{"inputURI": "http://h/x"}"#), ["Missing required attribute 'outputView'."]);
        assert_eq!(
            errors(r#"{"inputURI": "http://h/x", "outputView": "o", "method": "PUT"}"#),
            ["Invalid value 'PUT'. Expected one of: ['GET', 'POST']."]
        );
        assert_eq!(
            errors(r#"{"inputURI": "http://h/x", "outputView": "o", "validStatusCode": [200]}"#),
            ["Invalid attribute 'validStatusCode'. Perhaps you meant one of: ['validStatusCodes']."]
        );
    }
}
