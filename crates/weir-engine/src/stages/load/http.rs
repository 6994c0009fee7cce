//! HTTPLoad: POSTs each row of a one-string-column `inputView` (Arc's `[value: string]`) to
//! `outputURI` with `headers`. A status outside `validStatusCodes` fails the stage with Arc's
//! message. The view is streamed: a batch of rows at a time, requests in flight bounded. An
//! HTTP endpoint has no transaction: the rows posted before a failure stay posted (as in Arc).

use std::collections::BTreeMap;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use futures::StreamExt;
use serde_json::{Map, Value};
use url::Url;

use crate::config::StageConfig;
use crate::http::{Body, Client, Headers, Request, display_uri, read_status_codes, read_uri};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError};

const STAGE: &str = "HTTPLoad";

/// `HTTPLoad` configuration.
#[derive(Debug)]
pub struct HttpLoad {
    input_view: String,
    output_uri: Url,
    headers: Headers,
    valid_status_codes: Vec<u16>,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_uri = read_uri(c, "outputURI", true);
    let headers = Headers::read(c);
    let valid_status_codes = read_status_codes(c);
    Some(Box::new(HttpLoad {
        input_view: input_view?,
        output_uri: output_uri?,
        headers: headers?,
        valid_status_codes: valid_status_codes?,
    }))
}

#[async_trait]
impl Stage for HttpLoad {
    fn detail(&self) -> Map<String, Value> {
        crate::obj! {
            "inputView" => self.input_view,
            "outputURI" => display_uri(&self.output_uri),
            "headers" => self.headers.masked(),
            "validStatusCodes" => self.valid_status_codes,
        }
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let df = session.view(&self.input_view).await?;
        let fields = df.schema().fields();
        if fields.len() != 1
            || !matches!(fields[0].data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
        {
            let types: Vec<String> = fields
                .iter()
                .map(|f| crate::sql::types::spark_field_type_name(f).unwrap_or_else(|| f.data_type().to_string()))
                .collect();
            return Err(StageError::msg(format!(
                "{STAGE} requires inputView to be dataset with [value: string] signature. inputView '{}' has {} columns of type [{}].",
                self.input_view,
                fields.len(),
                types.join(", ")
            )));
        }
        let client = Client::new(STAGE, &self.headers)?;
        let mut stream = df.execute_stream().await?;
        let mut sent: u64 = 0;
        let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let values = datafusion::arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
            let values = values.as_string::<i32>();
            if let Some(row) = (0..values.len()).find(|&i| values.is_null(i)) {
                return Err(StageError::msg(format!(
                    "{STAGE} cannot send a NULL value (row {} of inputView '{}'); {sent} rows were sent before it.",
                    sent + row as u64 + 1,
                    self.input_view
                )));
            }
            let requests = (0..values.len()).map(|i| Request {
                method: reqwest::Method::POST,
                url: self.output_uri.clone(),
                body: Some(Body::Text(values.value(i).to_string())),
            });
            let responses = client.send_all(requests, Some(&self.valid_status_codes)).await?;
            for response in &responses {
                *statuses.entry(response.status.to_string()).or_default() += 1;
            }
            sent += responses.len() as u64;
        }
        let mut outcome = Outcome { rows: Some(sent), ..Default::default() };
        outcome.detail.insert("count".into(), sent.into());
        outcome.detail.insert("statusCodes".into(), serde_json::to_value(statuses).unwrap_or_default());
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_follows_arc() {
        for (json, expected) in [
            (r#"{"inputView": "v", "outputURI": "http://h:1/p"}"#, vec![]),
            (r#"{"inputView": "v"}"#, vec!["Missing required attribute 'outputURI'."]),
            (r#"{"outputURI": "http://h/p"}"#, vec!["Missing required attribute 'inputView'."]),
            (
                r#"{"inputView": "v", "outputURI": "s3a://b/p"}"#,
                vec!["URI 's3a://b/p' is not an http:// or https:// URI with a host."],
            ),
            (
                r#"{"inputView": "v", "outputURI": "http://h/p", "saveMode": "Append"}"#,
                vec!["Invalid attribute 'saveMode'."],
            ),
        ] {
            assert_eq!(crate::http::config_errors(build, json), expected, "{json}");
        }
    }
}
