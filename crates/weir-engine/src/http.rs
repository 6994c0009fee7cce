//! The HTTP client of the HTTP stages (HTTPExtract, HTTPTransform, HTTPLoad, HTTPExecute).
//!
//! - One `reqwest` client per stage run (rustls, the build object_store already compiles), with
//!   a connect timeout and a read timeout (`WEIR_HTTP_CONNECT_TIMEOUT` / `WEIR_HTTP_READ_TIMEOUT`,
//!   seconds; defaults 10 and 60). No retries, as in Arc.
//! - Requests of many rows go out with bounded concurrency (`WEIR_HTTP_CONCURRENCY`, default 8),
//!   results kept in input order; after a response with a status outside `validStatusCodes` no
//!   new request starts, the ones in flight finish, and the stage fails with Arc's message
//!   listing the statuses received.
//! - A response body is read up to [`MAX_RESPONSE_BYTES`].
//! - Secret headers (`Authorization`, or a name containing token, key, secret, password, cookie)
//!   and URI credentials (user info, secret-looking query values) are masked wherever a stage
//!   shows them: events and errors.
//! - Failures to reach a server name the host and port.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use url::Url;
use weir_config::hocon::NodeValue;

use crate::config::StageConfig;
use crate::mask::MASK;
use crate::stages::StageError;

/// Arc's default `validStatusCodes`.
pub const DEFAULT_VALID_STATUS_CODES: [u16; 3] = [200, 201, 202];

/// Largest response body read (a larger one fails the stage).
pub const MAX_RESPONSE_BYTES: usize = 512 * 1024 * 1024;

/// Content type of a text body when the stage's `headers` set none.
const TEXT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// Reads a required (or optional) `http://` / `https://` URI attribute.
pub fn read_uri(c: &mut StageConfig, key: &str, required: bool) -> Option<Url> {
    let text = if required { c.required_string(key)? } else { c.string(key)? };
    match parse_http_uri(&text) {
        Ok(url) => Some(url),
        Err(message) => {
            c.error(key, message);
            None
        }
    }
}

/// Parses an HTTP(S) URI, or explains why it is not one (credentials masked).
pub fn parse_http_uri(text: &str) -> Result<Url, String> {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(url) => Err(format!("URI '{}' is not an http:// or https:// URI with a host.", display_uri(&url))),
        Err(e) => Err(format!("URI '{}' is not valid: {e}.", crate::mask::mask_credentials(text))),
    }
}

/// The request headers of a stage (`headers`), validated when the job is read.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
    map: HeaderMap,
}

impl Headers {
    /// Reads `headers`: an object of header name → value.
    pub fn read(c: &mut StageConfig) -> Option<Self> {
        let entries = c.string_map("headers").unwrap_or_default();
        let mut map = HeaderMap::new();
        let mut ok = true;
        for (name, value) in &entries {
            let attribute = format!("headers.{name}");
            match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                (Ok(n), Ok(mut v)) => {
                    v.set_sensitive(is_secret_header(name));
                    map.append(n, v);
                }
                (Err(_), _) => {
                    c.error(&attribute, format!("'{name}' is not a valid HTTP header name."));
                    ok = false;
                }
                (_, Err(_)) => {
                    c.error(&attribute, format!("The value of header '{name}' is not a valid HTTP header value."));
                    ok = false;
                }
            }
        }
        ok.then_some(Self { entries, map })
    }

    /// The headers for logs: secret values masked.
    pub fn masked(&self) -> Value {
        let m: Map<String, Value> = self
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(if is_secret_header(k) { MASK.to_string() } else { v.clone() })))
            .collect();
        Value::Object(m)
    }

    fn has_content_type(&self) -> bool {
        self.map.contains_key(CONTENT_TYPE)
    }
}

/// Whether a header carries a credential, so its value is never shown.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || name == "proxy-authorization"
        || ["token", "key", "secret", "password", "cookie"].iter().any(|w| name.contains(w))
}

/// Reads `validStatusCodes` (a list of integers), Arc's default when absent.
pub fn read_status_codes(c: &mut StageConfig) -> Option<Vec<u16>> {
    let Some(node) = c.node("validStatusCodes") else {
        return Some(DEFAULT_VALID_STATUS_CODES.to_vec());
    };
    let codes: Option<Vec<u16>> = match &node.value {
        NodeValue::Array(items) => items
            .iter()
            .map(|n| match &n.value {
                NodeValue::Number(x) => x.as_u64().and_then(|x| u16::try_from(x).ok()),
                NodeValue::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    if codes.is_none() {
        c.error("validStatusCodes", "Wrong type, expected: 'int array'.");
    }
    codes
}

/// A URI for messages and logs: user-info password and secret-looking query values masked.
pub fn display_uri(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some(MASK));
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_header(&k) || k.eq_ignore_ascii_case("sig") { MASK.to_string() } else { v.into() };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

/// `host:port` of a URI, as errors name the server.
pub fn host_port(url: &Url) -> String {
    let host = url.host().map(|h| h.to_string()).unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: reqwest::Method,
    pub url: Url,
    /// The body: text (sent as UTF-8, `text/plain` unless `headers` set a content type) or bytes.
    pub body: Option<Body>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    Text(String),
    /// A JSON document (`application/json` unless `headers` set a content type).
    Json(String),
    Bytes(Vec<u8>),
}

/// One response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The status's reason phrase (`Not Found`).
    pub reason: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Milliseconds from sending the request to the end of the body.
    pub elapsed_ms: i64,
}

impl Response {
    /// `404 (Not Found)`, as Arc shows a status.
    pub fn status_text(&self) -> String {
        format!("{} ({})", self.status, self.reason)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Timeouts and concurrency, from the environment.
#[derive(Debug, Clone, Copy)]
struct Limits {
    connect: Duration,
    read: Duration,
    concurrency: usize,
}

impl Limits {
    fn from_env() -> Self {
        let number = |var: &str, default: u64| -> u64 {
            std::env::var(var).ok().and_then(|v| v.trim().parse().ok()).filter(|n| *n > 0).unwrap_or(default)
        };
        Self {
            connect: Duration::from_secs(number("WEIR_HTTP_CONNECT_TIMEOUT", 10)),
            read: Duration::from_secs(number("WEIR_HTTP_READ_TIMEOUT", 60)),
            concurrency: number("WEIR_HTTP_CONCURRENCY", 8) as usize,
        }
    }
}

/// The client of one stage run.
pub struct Client {
    inner: reqwest::Client,
    /// The stage type, for messages (`HTTPExtract`).
    stage: &'static str,
    headers: Headers,
    limits: Limits,
}

impl Client {
    pub fn new(stage: &'static str, headers: &Headers) -> Result<Self, StageError> {
        let limits = Limits::from_env();
        let inner = reqwest::Client::builder()
            .connect_timeout(limits.connect)
            .read_timeout(limits.read)
            .build()
            .map_err(|e| StageError::msg(format!("{stage} could not create its HTTP client: {}", innermost(&e))))?;
        Ok(Self { inner, stage, headers: headers.clone(), limits })
    }

    /// Sends one request and reads its whole response.
    pub async fn send(&self, request: Request) -> Result<Response, StageError> {
        let started = Instant::now();
        let mut builder =
            self.inner.request(request.method.clone(), request.url.clone()).headers(self.headers.map.clone());
        match request.body.clone() {
            Some(Body::Text(text)) => {
                if !self.headers.has_content_type() {
                    builder = builder.header(CONTENT_TYPE, TEXT_CONTENT_TYPE);
                }
                builder = builder.body(text);
            }
            Some(Body::Json(text)) => {
                if !self.headers.has_content_type() {
                    builder = builder.header(CONTENT_TYPE, "application/json");
                }
                builder = builder.body(text);
            }
            Some(Body::Bytes(bytes)) => builder = builder.body(bytes),
            None => {}
        }
        let mut response = builder.send().await.map_err(|e| self.transport_error(&request, &e))?;
        let status = response.status();
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(&request, &e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(StageError::msg(format!(
                    "{} response from {} ({} {}) is larger than {} MiB.",
                    self.stage,
                    host_port(&request.url),
                    request.method,
                    display_uri(&request.url),
                    MAX_RESPONSE_BYTES / 1024 / 1024
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            content_type,
            body,
            elapsed_ms: started.elapsed().as_millis() as i64,
        })
    }

    /// Sends every request, at most `WEIR_HTTP_CONCURRENCY` at a time, and returns the responses in
    /// request order. With `valid`, a status outside it stops new requests and fails the stage
    /// with Arc's message once the requests in flight have finished.
    pub async fn send_all(
        &self,
        requests: impl IntoIterator<Item = Request>,
        valid: Option<&[u16]>,
    ) -> Result<Vec<Response>, StageError> {
        let mut pending = requests.into_iter();
        let mut in_flight = FuturesOrdered::new();
        let mut out = Vec::new();
        let mut bad: Vec<String> = Vec::new();
        loop {
            while bad.is_empty() && in_flight.len() < self.limits.concurrency {
                match pending.next() {
                    Some(request) => in_flight.push_back(self.send(request)),
                    None => break,
                }
            }
            let Some(result) = in_flight.next().await else { break };
            let response = result?;
            if valid.is_some_and(|v| !v.contains(&response.status)) {
                let text = response.status_text();
                if !bad.contains(&text) {
                    bad.push(text);
                }
            }
            if bad.is_empty() {
                out.push(response);
            }
        }
        if bad.is_empty() {
            return Ok(out);
        }
        let valid = valid.unwrap_or_default();
        Err(StageError::msg(format!(
            "{} expects all response StatusCode(s) in [{}] but server responded with {}.",
            self.stage,
            join_codes(valid),
            bad.join(", ")
        )))
    }

    /// The error of a request that got no (complete) response, naming the server.
    fn transport_error(&self, request: &Request, e: &reqwest::Error) -> StageError {
        let host = host_port(&request.url);
        let target = format!("{} {}", request.method, display_uri(&request.url));
        let cause = crate::mask::mask_credentials(&innermost(e)).into_owned();
        let text = if e.is_timeout() {
            format!(
                "{} got no response from {host} within the timeout ({target}): {cause}. WEIR_HTTP_CONNECT_TIMEOUT / WEIR_HTTP_READ_TIMEOUT (seconds) set the limits.",
                self.stage
            )
        } else if e.is_connect() {
            format!("{} could not connect to {host} ({target}): {cause}.", self.stage)
        } else {
            format!("{} request to {host} failed ({target}): {cause}.", self.stage)
        };
        StageError::msg(text)
    }
}

/// `200, 201, 202`.
pub fn join_codes(codes: &[u16]) -> String {
    codes.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// The deepest cause of an error (`Connection refused (os error 111)`), which says what happened.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = e;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// Test helper: the messages of the config errors of `build` on the stage object `json`.
#[cfg(test)]
pub(crate) fn config_errors(build: crate::stages::Build, json: &str) -> Vec<String> {
    let doc = weir_config::hocon::parse(json).unwrap().resolve_all(&Default::default()).unwrap();
    let mut c = StageConfig::new(&doc);
    let built = build(&mut c).is_some();
    let errors: Vec<String> = c.finish().err().unwrap_or_default().into_iter().map(|e| e.message).collect();
    assert!(built || !errors.is_empty(), "no stage and no error");
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> weir_config::hocon::Node {
        weir_config::hocon::parse(text).unwrap().resolve_all(&Default::default()).unwrap()
    }

    #[test]
    fn status_codes_default_and_validate() {
        let doc = config("{}");
        let mut c = StageConfig::new(&doc);
        assert_eq!(read_status_codes(&mut c), Some(vec![200, 201, 202]));
        let doc = config(r#"{"validStatusCodes": [200, "500"]}"#);
        let mut c = StageConfig::new(&doc);
        assert_eq!(read_status_codes(&mut c), Some(vec![200, 500]));
        assert!(c.finish().is_ok());
        let doc = config(r#"{"validStatusCodes": "200"}"#);
        let mut c = StageConfig::new(&doc);
        assert_eq!(read_status_codes(&mut c), None);
        let errors = c.finish().unwrap_err();
        assert_eq!(errors[0].message, "Wrong type, expected: 'int array'.");
        let doc = config(r#"{"validStatusCodes": [200, 70000]}"#);
        let mut c = StageConfig::new(&doc);
        assert_eq!(read_status_codes(&mut c), None);
    }

    #[test]
    fn headers_are_validated_and_secrets_masked() {
        let doc = config(r#"{"headers": {"Authorization": "Bearer abc", "X-Api-Key": "k1", "Accept": "text/csv"}}"#);
        let mut c = StageConfig::new(&doc);
        let headers = Headers::read(&mut c).unwrap();
        assert_eq!(
            headers.masked(),
            serde_json::json!({"Authorization": "*****", "X-Api-Key": "*****", "Accept": "text/csv"})
        );
        let doc = config(r#"{"headers": {"Bad Name": "x", "Ok": "line\nbreak"}}"#);
        let mut c = StageConfig::new(&doc);
        assert!(Headers::read(&mut c).is_none());
        let errors = c.finish().unwrap_err();
        assert_eq!(errors[0].attribute, "headers.Bad Name");
        assert!(errors[1].message.contains("not a valid HTTP header value"), "{errors:?}");
    }

    #[test]
    fn uris_must_be_http_and_are_shown_masked() {
        assert!(parse_http_uri("https://example.com/a").is_ok());
        let err = parse_http_uri("ftp://u:pw@example.com/a").unwrap_err();
        assert_eq!(err, "URI 'ftp://u:*****@example.com/a' is not an http:// or https:// URI with a host.");
        assert!(parse_http_uri("not a uri").unwrap_err().contains("is not valid"));
        let url = Url::parse("http://user:pw@h:81/p?api_key=abc&q=1&access_token=t").unwrap();
        assert_eq!(display_uri(&url), "http://user:*****@h:81/p?api_key=*****&q=1&access_token=*****");
        assert_eq!(host_port(&url), "h:81");
        assert_eq!(host_port(&Url::parse("https://h/x").unwrap()), "h:443");
    }

    #[tokio::test]
    async fn a_closed_port_fails_naming_host_and_port() {
        // Bind then drop a listener: its port is closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new("HTTPExtract", &Headers::default()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let err = client.send(Request { method: reqwest::Method::GET, url, body: None }).await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("HTTPExtract could not connect to 127.0.0.1:{port} (GET ")), "{text}");
    }
}
