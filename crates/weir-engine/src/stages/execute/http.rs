//! HTTPExecute: one POST to `uri` with `headers`, its body the JSON object of `payloads` (no
//! body when there are none). A status outside `validStatusCodes` fails the stage with Arc's
//! message; the status is logged as the exit event's `response`.

use async_trait::async_trait;
use serde_json::{Map, Value};
use url::Url;

use crate::config::StageConfig;
use crate::http::{Body, Client, Headers, Request, display_uri, join_codes, read_status_codes, read_uri};
use crate::session::Session;
use crate::stages::{Outcome, Stage, StageError};

const STAGE: &str = "HTTPExecute";

/// `HTTPExecute` configuration.
#[derive(Debug)]
pub struct HttpExecute {
    uri: Url,
    headers: Headers,
    payloads: Vec<(String, String)>,
    valid_status_codes: Vec<u16>,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let uri = read_uri(c, "uri", true);
    let headers = Headers::read(c);
    let payloads = c.string_map("payloads").unwrap_or_default();
    let valid_status_codes = read_status_codes(c);
    Some(Box::new(HttpExecute { uri: uri?, headers: headers?, payloads, valid_status_codes: valid_status_codes? }))
}

impl HttpExecute {
    /// The request body: `payloads` as one JSON object of strings.
    fn body(&self) -> Option<Body> {
        if self.payloads.is_empty() {
            return None;
        }
        Some(Body::Json(Value::Object(crate::config::to_json_map(&self.payloads)).to_string()))
    }
}

#[async_trait]
impl Stage for HttpExecute {
    fn detail(&self) -> Map<String, Value> {
        crate::obj! {
            "uri" => display_uri(&self.uri),
            "headers" => self.headers.masked(),
            "validStatusCodes" => self.valid_status_codes,
        }
    }

    async fn execute(&self, _session: &Session) -> Result<Outcome, StageError> {
        let client = Client::new(STAGE, &self.headers)?;
        let request = Request { method: reqwest::Method::POST, url: self.uri.clone(), body: self.body() };
        let response = client.send(request).await?;
        if !self.valid_status_codes.contains(&response.status) {
            return Err(StageError::msg(format!(
                "{STAGE} expects a response StatusCode in [{}] but server responded with {}.",
                join_codes(&self.valid_status_codes),
                response.status_text()
            )));
        }
        let mut outcome = Outcome::default();
        outcome.detail.insert(
            "response".into(),
            Value::Object(crate::obj! { "statusCode" => response.status, "reasonPhrase" => response.reason }),
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_become_one_json_object() {
        let doc = weir_config::hocon::parse(
            r#"{"uri": "https://h/hook", "payloads": {"jobName": "nightly", "count": 3}, "headers": {"Authorization": "Bearer x"}}"#,
        )
        .unwrap()
        .resolve_all(&Default::default())
        .unwrap();
        let mut c = StageConfig::new(&doc);
        let stage = build(&mut c).unwrap();
        c.finish().unwrap();
        assert_eq!(stage.detail()["headers"], serde_json::json!({"Authorization": "*****"}));
        let doc =
            weir_config::hocon::parse(r#"{"payloads": {"a": "b"}}"#).unwrap().resolve_all(&Default::default()).unwrap();
        let mut c = StageConfig::new(&doc);
        assert!(build(&mut c).is_none());
        let errors = c.finish().unwrap_err();
        assert_eq!(errors[0].message, "Missing required attribute 'uri'.");
    }

    #[test]
    fn body_is_json_of_strings() {
        let stage = HttpExecute {
            uri: Url::parse("http://h/").unwrap(),
            headers: Headers::default(),
            payloads: vec![("a".into(), "1".into()), ("b".into(), "x\"y".into())],
            valid_status_codes: vec![200],
        };
        match stage.body() {
            Some(Body::Json(text)) => assert_eq!(text, r#"{"a":"1","b":"x\"y"}"#),
            other => panic!("{other:?}"),
        }
    }
}
