//! Browser-facing protections of the API and UI: security headers on every response, CSRF
//! checks for cookie-authenticated state changes, safe `next=` redirects and constant-time
//! comparison of secrets.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

/// The UI's cookie holding the API token.
pub const TOKEN_COOKIE: &str = "weir_token";
/// The UI's CSRF cookie (double submit: forms carry the same value in a `csrf` field).
pub const CSRF_COOKIE: &str = "weir_csrf";
/// The header API clients using the cookie send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Pages load nothing but the service's own stylesheet; no scripts, frames or foreign forms.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Equal secrets, compared in time independent of where they differ.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        c.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
    })
}

/// A fresh CSRF token.
pub fn new_csrf_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `Set-Cookie` for the CSRF token.
pub fn csrf_cookie(token: &str) -> String {
    format!("{CSRF_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
}

/// Where to go after signing in: `next` only when it is a path on this site, else `/`.
/// Refused: anything not starting with exactly one `/`, `/\` (browsers read `\` as `/`),
/// control characters or whitespace and backslashes anywhere, also once percent-decoded.
pub fn safe_next(next: Option<&str>) -> &str {
    let Some(n) = next else { return "/" };
    let decoded = crate::access::percent_decode(n);
    let ok = |s: &str| {
        s.starts_with('/')
            && !s[1..].starts_with(['/', '\\'])
            && !s.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    if ok(n) && ok(&decoded) { n } else { "/" }
}

/// True when the request's `Origin` (else `Referer`) names this host. Requests carrying
/// neither are not trusted.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok());
    match source {
        Some(u) if matches!(u.scheme(), "http" | "https") => {
            let authority = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => return false,
            };
            authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// True for methods that change state.
pub fn state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF token of a cookie-authenticated request: the `X-CSRF-Token` header, else the
/// `csrf` field of a form body.
pub fn submitted_csrf(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(v) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    url::form_urlencoded::parse(body).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned())
}

/// Adds the security headers to every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/", "/runs/3", "/runs/3?x=1", "/a%20b"] {
            assert_eq!(safe_next(Some(ok)), if ok == "/a%20b" { "/" } else { ok }, "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F/evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "https://evil.example/",
            "evil.example",
            "javascript:alert(1)",
            "/x\\y",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn origin_must_match_the_host() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("referer", "http://127.0.0.1:8080/runs/1")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "null")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080")])));
    }

    #[test]
    fn csrf_from_header_or_form_and_constant_time_compare() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
        assert_eq!(submitted_csrf(&h, b"a=1&csrf=abc"), Some("abc".into()));
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(submitted_csrf(&h, b"csrf=abc"), None);
        h.insert(CSRF_HEADER, "def".parse().unwrap());
        assert_eq!(submitted_csrf(&h, b""), Some("def".into()));
        assert!(ct_eq("token", "token") && !ct_eq("token", "tokem") && !ct_eq("token", "token2"));
        h.insert(header::COOKIE, "a=1; weir_csrf=xyz; weir_token=t".parse().unwrap());
        assert_eq!((cookie(&h, CSRF_COOKIE), cookie(&h, TOKEN_COOKIE)), (Some("xyz"), Some("t")));
    }
}
