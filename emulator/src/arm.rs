//! ARM conventions: error bodies, request-id headers, bearer-token checks, api-version, query parsing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures::StreamExt as _;
use serde_json::{Value, json};

use super::model::ReceivedRequest;
use super::state::Shared;

/// Bodies larger than the limit are drained up to this many bytes before answering `413`, so the client
/// sees the answer rather than a reset while still writing.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// An ARM error response: `{"error":{"code","message"}}`, with `additionalInfo` when there is some.
#[derive(Debug, Clone)]
pub(crate) struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub additional_info: Vec<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl ArmError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            additional_info: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_info(mut self, info: Value) -> Self {
        self.additional_info.push(info);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> Value {
        // Members the upstream `ErrorBody` declares, absent ones omitted (never `null`), as Resource Manager does.
        let mut error = json!({"code": self.code, "message": self.message});
        if !self.additional_info.is_empty() {
            error["additionalInfo"] = Value::Array(self.additional_info.clone());
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Ok(code) = HeaderValue::from_str(&self.code) {
            headers.insert("x-ms-error-code", code);
        }
        for (name, value) in &self.headers {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(*name, value);
            }
        }
        response
    }
}

/// A JSON `200` answer.
pub(crate) fn ok_json(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

/// The caller's bearer token, or the `401` to answer.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<String, ArmError> {
    let unauthorized = |code: &str, message: &str| {
        ArmError::new(StatusCode::UNAUTHORIZED, code, message).with_header(
            "www-authenticate",
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"",
        )
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let malformed = || {
        unauthorized(
            "InvalidAuthenticationToken",
            "The access token is invalid. The 'Authorization' header must be 'Bearer <token>'.",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || !is_token68(token) {
        return Err(malformed());
    }
    Ok(token.to_owned())
}

/// RFC 7235 `token68`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_token68(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The `tid` claim of a JWT bearer token (signature not checked), if any.
pub(crate) fn tenant_from_token(token: &str) -> Option<String> {
    claim(token, "tid")
}

/// A string claim of a JWT bearer token (signature not checked).
pub(crate) fn claim(token: &str, name: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Decoded query pairs.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// A query parameter by (case-insensitive) name.
pub(crate) fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Checks `api-version`.
pub(crate) fn check_api_version(pairs: &[(String, String)], expected: &str) -> Result<(), ArmError> {
    match query_param(pairs, "api-version") {
        None | Some("") => Err(ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(version) if version == expected => Ok(()),
        Some(other) => Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!("The api-version '{other}' is invalid. The supported versions are '{expected}'."),
        )),
    }
}

/// Middleware for every request: body limit, the received log, and the ARM request-id headers.
pub(crate) async fn arm_envelope(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let correlation = header_str(request.headers(), "x-ms-correlation-request-id")
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let return_client_id = header_str(request.headers(), "x-ms-return-client-request-id")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let client_id = header_str(request.headers(), "x-ms-client-request-id").map(str::to_owned);

    let (parts, body) = request.into_parts();
    let limit = shared.max_body_bytes;
    let (bytes, too_large) = read_body(body, limit).await;
    if !parts.uri.path().starts_with("/_emulator/") {
        shared.record(received(&parts, bytes.len(), too_large, shared.now()));
    }
    let mut response = if too_large {
        ArmError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("The request content exceeds the maximum allowed size of {limit} bytes."),
        )
        .into_response()
    } else {
        let admin = parts.uri.path().starts_with("/_emulator/");
        let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
        // Added latency, like a real region's: ARM answers only, never the admin API.
        if !admin && let Some(by) = shared.with(|inner, _| inner.arm.latency()) {
            tokio::time::sleep(by).await;
        }
        response
    };

    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        headers.insert("x-ms-correlation-request-id", v);
    }
    if let (true, Some(id)) = (return_client_id, client_id)
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        headers.insert("x-ms-client-request-id", v);
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads up to `limit` bytes; returns `(bytes, too_large)`. Excess is drained (up to a cap) and dropped.
async fn read_body(body: Body, limit: usize) -> (Bytes, bool) {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        total = total.saturating_add(chunk.len());
        if total <= limit {
            buffer.extend_from_slice(&chunk);
        } else if total > DRAIN_LIMIT {
            break;
        }
    }
    (Bytes::from(buffer), total > limit)
}

fn received(
    parts: &axum::http::request::Parts,
    len: usize,
    too_large: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> ReceivedRequest {
    let mut headers = BTreeMap::<String, String>::new();
    for (name, value) in &parts.headers {
        let value = if name == header::AUTHORIZATION {
            "<redacted>".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body_len = if too_large {
        header_str(&parts.headers, "content-length").and_then(|v| v.parse().ok()).unwrap_or(len)
    } else {
        len
    };
    ReceivedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body_len,
        at,
    }
}
