//! The crate's one error type, and the Resource Manager error envelope it decodes.
//!
//! Every failure reaches the caller as an [`Error`]. A refusal by the service carries the HTTP status, the ARM
//! error (`code`, `message`, `target`, `details`, `additionalInfo`), and the request ids to quote to Azure
//! support. Bad input is refused with [`Error::InvalidArgument`] before anything is sent.

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};

use crate::status::{ApprovalDecision, LockboxRequestStatus};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling Customer Lockbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was refused before any request was sent.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name, e.g. `subscription_id`.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// The client options are not usable (for example a plain-`http` endpoint on a remote host).
    #[error("invalid client configuration: {0}")]
    Configuration(String),

    /// The credential could not provide a token. Not retried.
    #[error("could not get a token from the credential: {0}")]
    Credential(#[source] azure_core::Error),

    /// The service answered with an error status.
    #[error("{0}")]
    Service(Box<ServiceError>),

    /// The request could not be sent or its answer not received (connection, TLS, timeout).
    ///
    /// When the failure came after the response's head (a body cut short or too slow), `status` and
    /// `request_id` say which response it was.
    #[error(
        "{operation}: transport failure after {attempts} attempt(s){}: {source}",
        status.map(|s| format!(" reading the {s} response (x-ms-request-id {request_id:?})")).unwrap_or_default()
    )]
    Transport {
        /// The operation id, e.g. `requests_get`.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// The HTTP status, when a response head was received before the failure.
        status: Option<StatusCode>,
        /// The response's `x-ms-request-id`, when a response head was received before the failure.
        request_id: Option<String>,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The service answered 2xx but the body is not what the API describes.
    #[error("{operation}: cannot decode the {status} response (x-ms-request-id {request_id:?}): {source}")]
    Decode {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status of the response.
        status: StatusCode,
        /// The response's `x-ms-request-id`.
        request_id: Option<String>,
        /// The body, up to 4 KiB of it.
        body: Bytes,
        /// What the JSON decoder said.
        #[source]
        source: serde_json::Error,
    },

    /// The answer's body was larger than the client's
    /// [`max_response_body`](crate::CustomerLockboxClientOptions::max_response_body); it was not read past the
    /// limit. Not retried.
    #[error(
        "{operation}: the {status} response's body is larger than the {limit}-byte limit (x-ms-request-id {request_id:?})"
    )]
    ResponseTooLarge {
        /// The operation id.
        operation: &'static str,
        /// The HTTP status of the response.
        status: StatusCode,
        /// The response's `x-ms-request-id`.
        request_id: Option<String>,
        /// The limit, in bytes.
        limit: usize,
    },

    /// A decision could not be taken because the request is no longer pending.
    ///
    /// Raised when a retried approval or denial finds the request in a status that reflects neither the
    /// decision nor a pending request (for example `Expired`, or `Denied` when approving).
    #[error("cannot {decision} request {request_id}: it is {current_status}")]
    DecisionConflict {
        /// The request.
        request_id: String,
        /// The decision that was asked for.
        decision: ApprovalDecision,
        /// The status the request is in.
        current_status: LockboxRequestStatus,
    },

    /// A decision may or may not have been recorded: an attempt failed after it may have reached the service,
    /// and reading the request to find out failed too. Read the request before deciding again.
    #[error(
        "the outcome of {decision} on request {request_id} is unknown (the service may have recorded it; read the request before deciding again): {source}"
    )]
    DecisionOutcomeUnknown {
        /// The request.
        request_id: String,
        /// The decision that was sent.
        decision: ApprovalDecision,
        /// Why the request could not be read.
        #[source]
        source: Box<Error>,
    },

    /// A URL handed out by the service (a `nextLink`, a polling URL) was refused; nothing was sent to it.
    #[error("refused to follow {kind} {url:?}: {reason}")]
    UnsafeUrl {
        /// What the URL was for: `nextLink` or `polling URL`.
        kind: &'static str,
        /// The URL as received.
        url: String,
        /// Why it was refused.
        reason: String,
    },

    /// Paging could not continue (for example the service repeated a `nextLink`).
    #[error("paging stopped: {0}")]
    Paging(String),

    /// An operation or decision did not finish in the time allowed.
    #[error("timed out after {elapsed:?} waiting for {what}; last status: {last_status}")]
    Timeout {
        /// What was being waited for.
        what: String,
        /// How long it waited.
        elapsed: Duration,
        /// The last status seen.
        last_status: String,
    },

    /// A long-running operation ended as `Failed` or `Canceled`.
    #[error("operation ended as {status}: {}", error.as_ref().map_or("no error details", |e| e.message.as_deref().unwrap_or("")))]
    OperationFailed {
        /// The terminal status, as sent.
        status: String,
        /// The ARM error from the status resource, if any.
        error: Option<Box<ArmErrorDetail>>,
    },
}

/// A refusal by the service: status, ARM error and request ids.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceError {
    /// The operation id, e.g. `requests_update_status`.
    pub operation: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The ARM error, when the body was an ARM error envelope.
    pub error: Option<ArmErrorDetail>,
    /// The error code: `x-ms-error-code` when present, else `error.code` from the body.
    pub code: Option<String>,
    /// `x-ms-request-id` of the response.
    pub request_id: Option<String>,
    /// `x-ms-correlation-request-id` of the response.
    pub correlation_request_id: Option<String>,
    /// `x-ms-client-request-id` this SDK sent.
    pub client_request_id: Option<String>,
    /// The wait the server asked for (`Retry-After` and friends), when it did.
    pub retry_after: Option<Duration>,
    /// How many attempts were made.
    pub attempts: u32,
    /// The body, up to 4 KiB of it (a gateway's HTML page, say).
    pub body: Bytes,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", self.operation, self.status)?;
        match (&self.code, self.error.as_ref().and_then(|e| e.message.as_deref())) {
            (Some(code), Some(message)) => write!(f, " {code}: {message}")?,
            (Some(code), None) => write!(f, " {code}")?,
            (None, Some(message)) => write!(f, ": {message}")?,
            (None, None) if !self.body.is_empty() => {
                let text = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned();
                write!(f, ": {}", text.split_whitespace().collect::<Vec<_>>().join(" "))?
            }
            (None, None) => {}
        }
        if let Some(id) = &self.request_id {
            write!(f, " (x-ms-request-id {id})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

/// The `error` object of an ARM error envelope `{"error": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ArmErrorDetail {
    /// Machine-readable code, e.g. `RequestNotFound`.
    #[serde(default)]
    pub code: Option<String>,
    /// Explanation for people.
    #[serde(default)]
    pub message: Option<String>,
    /// What part of the request the error is about.
    #[serde(default)]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub details: Vec<ArmErrorDetail>,
    /// Typed extra facts, such as Lockbox's `currentStatus`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub additional_info: Vec<ArmAdditionalInfo>,
}

/// One entry of `additionalInfo`: a type name and a JSON object whose shape depends on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArmAdditionalInfo {
    /// The kind of fact, e.g. `LockboxRequestStatus` or `PolicyViolation`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The fact.
    #[serde(default)]
    pub info: serde_json::Value,
}

fn null_as_empty<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl ArmErrorDetail {
    /// The request status Lockbox reports in `additionalInfo[].info.currentStatus`, if any.
    pub fn current_status(&self) -> Option<LockboxRequestStatus> {
        self.additional_info
            .iter()
            .find_map(|i| i.info.get("currentStatus").and_then(|v| v.as_str()).map(LockboxRequestStatus::parse))
    }

    /// Parses an ARM error envelope; `None` when the body is not one.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Envelope {
            error: Option<ArmErrorDetail>,
        }
        serde_json::from_slice::<Envelope>(body).ok().and_then(|e| e.error)
    }
}

const BODY_KEPT: usize = 4096;

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl ServiceError {
    pub(crate) fn from_parts(
        operation: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        meta: &crate::pipeline::CallMeta,
        secret: Option<&[u8]>,
    ) -> Self {
        let body = redact(body.slice(..body.len().min(BODY_KEPT)), secret);
        let error = ArmErrorDetail::from_body(&body);
        // Header values are text a server chose, like the body: scrub an echoed token from them too.
        let header = |name| header(headers, name).map(|value| redact_text(value, secret));
        let code = header("x-ms-error-code").or_else(|| error.as_ref().and_then(|e| e.code.clone()));
        Self {
            operation,
            status,
            code,
            error,
            request_id: header("x-ms-request-id"),
            correlation_request_id: header("x-ms-correlation-request-id"),
            client_request_id: meta.client_request_id.clone(),
            retry_after: meta.retry_after,
            attempts: meta.attempts.max(1),
            body,
        }
    }
}

/// Removes a token from a body a server echoed it in: the exact token, and anything after `Bearer `.
pub(crate) fn redact(body: Bytes, secret: Option<&[u8]>) -> Bytes {
    const MASK: &[u8] = b"<redacted>";
    let token_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let mut changed = false;
    while i < body.len() {
        let rest = &body[i..];
        if let Some(secret) = secret.filter(|s| s.len() >= 8 && rest.starts_with(s)) {
            out.extend_from_slice(MASK);
            i += secret.len();
            changed = true;
        } else if rest.len() > 7 && rest[..7].eq_ignore_ascii_case(b"bearer ") && token_char(rest[7]) {
            out.extend_from_slice(&rest[..7]);
            out.extend_from_slice(MASK);
            i += 7;
            while i < body.len() && token_char(body[i]) {
                i += 1;
            }
            changed = true;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    if changed { Bytes::from(out) } else { body }
}

/// [`redact`] for text (a header value, a URL a server handed out).
pub(crate) fn redact_text(text: String, secret: Option<&[u8]>) -> String {
    // `redact` hands back the same buffer when there is nothing to remove, so this usually copies nothing.
    String::from_utf8(Vec::from(redact(Bytes::from(text), secret)))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Error {
    /// The HTTP status, for errors that came with a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Service(e) => Some(e.status),
            Error::Decode { status, .. } | Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::Transport { status, .. } => *status,
            _ => None,
        }
    }

    /// The ARM error code (`x-ms-error-code` or `error.code`), for service errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The `x-ms-request-id` of the response, to quote to Azure support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Service(e) => e.request_id.as_deref(),
            Error::Decode { request_id, .. }
            | Error::Transport { request_id, .. }
            | Error::ResponseTooLarge { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The service error, when the service refused the call.
    pub fn service_error(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            _ => None,
        }
    }

    /// The wait the server asked for before a retry, when the SDK gave up rather than wait that long.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Service(e) => e.retry_after,
            _ => None,
        }
    }

    /// How many attempts were made, for errors that came from the network.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Service(e) => Some(e.attempts),
            Error::Transport { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }

    /// True when trying the same call again later may succeed: throttling, server errors, network failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Service(e) => crate::retry::is_retryable_status(e.status),
            Error::Transport { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// For a refused decision: the status the service says the request is in.
    pub fn current_status(&self) -> Option<LockboxRequestStatus> {
        match self {
            Error::DecisionConflict { current_status, .. } => Some(current_status.clone()),
            Error::Service(e) => e.error.as_ref().and_then(ArmErrorDetail::current_status),
            _ => None,
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument { name, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_error_with_current_status_decodes() {
        let body = br#"{"error":{"code":"RequestNotPending","message":"no","details":null,
            "additionalInfo":[{"type":"LockboxRequestStatus","info":{"currentStatus":"Approved"}}],"extra":1}}"#;
        let e = ArmErrorDetail::from_body(body).unwrap();
        assert_eq!(e.code.as_deref(), Some("RequestNotPending"));
        assert_eq!(e.current_status(), Some(LockboxRequestStatus::Approved));
        assert!(e.details.is_empty());
    }

    #[test]
    fn echoed_tokens_are_redacted() {
        let body = Bytes::from_static(b"auth was Bearer abc.def-ghi and raw secret-token-123 end");
        let clean = redact(body, Some(b"secret-token-123"));
        assert_eq!(&clean[..], b"auth was Bearer <redacted> and raw <redacted> end");
        let untouched = Bytes::from_static(b"nothing here");
        assert_eq!(redact(untouched.clone(), None), untouched);
    }

    #[test]
    fn non_arm_bodies_are_not_arm_errors() {
        assert!(ArmErrorDetail::from_body(b"<html>502</html>").is_none());
        assert!(ArmErrorDetail::from_body(b"{\"message\":\"x\"}").is_none());
        assert!(ArmErrorDetail::from_body(b"").is_none());
    }
}
