//! A refusal by the service: its status, the ARM error envelope, and the ids to quote to support.

use std::{fmt, time::Duration};

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};

use super::CallMeta;
use crate::{call_ids::CallIds, status::LockboxRequestStatus};

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
    /// The identity of the call: the response's `x-ms-request-id` and `x-ms-correlation-request-id`, the
    /// `x-ms-client-request-id` this SDK sent, and how many attempts were made.
    pub call: CallIds,
    /// The wait the server asked for (`Retry-After` and friends), when it did.
    pub retry_after: Option<Duration>,
    /// The body (a gateway's HTML page, say), with any echoed token redacted, then cut to 4 KiB.
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
        if let Some(id) = &self.call.service_request_id {
            write!(f, " (x-ms-request-id {id})")?;
        }
        if self.call.attempts > 1 {
            write!(f, " after {} attempts", self.call.attempts)?;
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

pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl ServiceError {
    pub(crate) fn from_parts(
        operation: &'static str,
        status: StatusCode,
        headers: &HeaderMap,
        body: Bytes,
        meta: &CallMeta,
    ) -> Self {
        // The whole body, redacted when it was received (`redact.rs`): decoded whole, then cut to 4 KiB.
        let error = ArmErrorDetail::from_body(&body);
        let header = |name| header(headers, name);
        let code = header("x-ms-error-code").or_else(|| error.as_ref().and_then(|e| e.code.clone()));
        Self {
            operation,
            status,
            code,
            error,
            call: CallIds {
                service_request_id: header("x-ms-request-id"),
                correlation_request_id: header("x-ms-correlation-request-id"),
                client_request_id: meta.ids.client_request_id.clone(),
                attempts: meta.ids.attempts.max(1),
            },
            retry_after: meta.retry_after,
            body: super::kept(body),
        }
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
    fn non_arm_bodies_are_not_arm_errors() {
        assert!(ArmErrorDetail::from_body(b"<html>502</html>").is_none());
        assert!(ArmErrorDetail::from_body(b"{\"message\":\"x\"}").is_none());
        assert!(ArmErrorDetail::from_body(b"").is_none());
    }
}
