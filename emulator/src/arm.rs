//! ARM conventions: error bodies, request-id headers, bearer-token checks, api-version, query parsing.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

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
