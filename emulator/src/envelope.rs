//! The ARM envelope around every request: the body limit, the received log, and the request-id headers.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;

use super::arm::ArmError;
use super::model::ReceivedRequest;
use super::state::Shared;

/// Bodies larger than the limit are drained up to this many bytes before answering `413`, so the client
/// sees the answer rather than a reset while still writing.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

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
