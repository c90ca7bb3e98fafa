//! What a failed call came to, turned into an [`Error`]. The pipeline (`src/pipeline/call.rs`) gathers the facts
//! (the [`Cause`] and the [`CallMeta`]); this file only decides which error they make.

use bytes::Bytes;
use reqwest::{StatusCode, header::HeaderMap};

use super::{CallMeta, Error, ServiceError, header};

/// Why a call failed, as the pipeline saw it.
pub(crate) enum Cause {
    /// The credential gave no token.
    Credential(azure_core::Error),
    /// The request's URL was not on the configured endpoint; nothing was sent.
    RefusedUrl { url: String, reason: String },
    /// A body was larger than the client's `max_response_body`.
    BodyTooLarge,
    /// An answer with a status the operation does not expect, and its body: `Ok(None)` when it was larger than
    /// the limit.
    Refused { status: StatusCode, headers: HeaderMap, body: reqwest::Result<Option<Bytes>> },
    /// Anything else progenitor's generated code reported.
    Other(progenitor_client::Error<()>),
}

/// The error a failed call of `operation` gives. What the server sent was redacted as it was received (see
/// `redact.rs`); bodies are cut to [`BODY_KEPT`](super::BODY_KEPT) here.
pub(crate) fn into_error(operation: &'static str, cause: Cause, meta: &CallMeta, body_limit: usize) -> Error {
    use progenitor_client::Error as P;
    let too_large = |status: StatusCode, request_id: Option<String>| Error::ResponseTooLarge {
        operation,
        status,
        request_id,
        limit: body_limit,
    };
    let transport = |status, request_id, source: reqwest::Error| Error::Transport {
        operation,
        kind: super::classify(&source).kind,
        attempts: meta.ids.attempts.max(1),
        status,
        request_id,
        source,
    };
    match cause {
        Cause::Credential(source) => Error::Credential(source),
        Cause::RefusedUrl { url, reason } => Error::UnsafeUrl { kind: "request URL", url, reason },
        Cause::BodyTooLarge => {
            too_large(meta.last_status.unwrap_or(StatusCode::OK), meta.ids.service_request_id.clone())
        }
        Cause::Refused { status, headers, body } => match body {
            Ok(Some(body)) => {
                Error::Service(Box::new(ServiceError::from_parts(operation, status, &headers, body, meta)))
            }
            Ok(None) => too_large(status, meta.ids.service_request_id.clone()),
            Err(source) => transport(Some(status), header(&headers, "x-ms-request-id"), source),
        },
        Cause::Other(P::UnexpectedResponse(response)) => {
            // Not reached: the pipeline reads such a response's body and reports `Cause::Refused`.
            let (status, headers) = (response.status(), response.headers().clone());
            Error::Service(Box::new(ServiceError::from_parts(operation, status, &headers, Bytes::new(), meta)))
        }
        Cause::Other(P::ErrorResponse(value)) => Error::Service(Box::new(ServiceError::from_parts(
            operation,
            value.status(),
            value.headers(),
            Bytes::new(),
            meta,
        ))),
        // The head of the response arrived, its body did not: say which response it was.
        Cause::Other(P::ResponseBodyError(source)) => {
            transport(meta.last_status, meta.ids.service_request_id.clone(), source)
        }
        Cause::Other(P::CommunicationError(source) | P::InvalidUpgrade(source)) => transport(None, None, source),
        Cause::Other(P::InvalidResponsePayload(body, source)) => Error::Decode {
            operation,
            status: meta.last_status.unwrap_or(StatusCode::OK),
            request_id: meta.ids.service_request_id.clone(),
            body: super::kept(body),
            source,
        },
        Cause::Other(P::InvalidRequest(reason)) => Error::InvalidArgument { name: "request", reason },
        Cause::Other(P::Custom(message)) => Error::Configuration(message),
    }
}
