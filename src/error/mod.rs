//! The crate's one error type, and the Resource Manager error envelope it decodes.
//!
//! Every failure reaches the caller as an [`Error`]. A refusal by the service carries the HTTP status, the ARM
//! error (`code`, `message`, `target`, `details`, `additionalInfo`), and the request ids to quote to Azure
//! support. Bad input is refused with [`Error::InvalidArgument`] before anything is sent.
//!
//! Files: `service.rs` (a refusal by the service and the ARM envelope), `meta.rs` (what a call learned),
//! `convert.rs` (what a failed call came to, turned into an [`Error`]), `redact.rs` (the one redaction step, where
//! an answer enters the crate: scrubbing a token a server echoed), `transport.rs` (what a transport failure was).

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;

mod convert;
mod meta;
mod redact;
mod service;
mod transport;

pub(crate) use convert::{Cause, into_error};
pub(crate) use meta::CallMeta;
pub(crate) use redact::{PIECE, Pieces, Prepared, Redactor};
pub(crate) use service::header;
pub use service::{ArmAdditionalInfo, ArmErrorDetail, ServiceError};
pub use transport::TransportKind;
pub(crate) use transport::classify;

use crate::{
    call_ids::CallIds,
    status::{ApprovalDecision, LockboxRequestStatus},
};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How much of a body an error keeps.
pub(crate) const BODY_KEPT: usize = 4096;

/// The part of a body an error keeps: its first [`BODY_KEPT`] bytes. (The body was redacted whole when it was
/// received; see `redact.rs`.)
pub(crate) fn kept(body: Bytes) -> Bytes {
    body.slice(..body.len().min(BODY_KEPT))
}

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
    /// The message names the cause, the root of the HTTP client's error (`transport failure (certificate not
    /// trusted: UnknownIssuer) after 1 attempt(s): …`); [`kind`](TransportKind) classifies it. When the failure
    /// came after the response's head (a body cut short or too slow), `status` and `request_id` say which
    /// response it was.
    #[error(
        "{operation}: transport failure ({}) after {attempts} attempt(s){}: {source}",
        classify(source).cause(),
        status.map(|s| format!(" reading the {s} response (x-ms-request-id {request_id:?})")).unwrap_or_default()
    )]
    Transport {
        /// The operation id, e.g. `requests_get`.
        operation: &'static str,
        /// What kind of failure it was (also [`Error::transport_kind`]).
        kind: TransportKind,
        /// How many attempts were made.
        attempts: u32,
        /// The HTTP status, when a response head was received before the failure.
        status: Option<StatusCode>,
        /// The response's `x-ms-request-id`, when a response head was received before the failure.
        request_id: Option<String>,
        /// The underlying error. The URL it names is shown without its query, and with any token in its path
        /// redacted.
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
        /// The body, with any echoed token redacted, then cut to 4 KiB.
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

    /// A decision could not be taken because the request is no longer pending: it was already decided, by
    /// someone else or earlier, or it expired. The one answer for "already decided".
    ///
    /// Raised when the service refuses a decision (`409`) because the request is not pending (its
    /// `currentStatus`, or a read of the request, says where it stands: `Approved`, `Denied`, `Expired`, ...,
    /// whichever decision was asked for), and when, after a round of this call may have been taken, the request
    /// reaches a final status that is not the decision (for example `Expired`, or `Denied` when approving).
    #[error("cannot {decision} request {request_id}: it is {current_status}")]
    DecisionConflict {
        /// The request.
        request_id: String,
        /// The decision that was asked for.
        decision: ApprovalDecision,
        /// The status the request is in.
        current_status: LockboxRequestStatus,
        /// The identity of the call the conflict is known from: the refused call (a `409`), or the round of
        /// this call that the request's final status showed was not taken; `None` when only a wait's read
        /// showed it ([`Decision::until_final`](crate::Decision::until_final)).
        call: Option<Box<CallIds>>,
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

    /// The service's answer to a decision (or its accepted operation's final answer) named another decision,
    /// or none. The service took something; only the request's status tells what, so it is read. Seen as the
    /// source of [`Error::DecisionOutcomeUnknown`] when the reads could not tell.
    #[error(
        "the answer to {decision} shows {}, not that decision",
        shown.as_ref().map_or_else(|| "no decision".to_owned(), |s| format!("'{s}'"))
    )]
    DecisionNotShown {
        /// The decision that was sent.
        decision: ApprovalDecision,
        /// The decision the answer named, if any.
        shown: Option<ApprovalDecision>,
    },

    /// A URL handed out by the service (a `nextLink`, a polling URL) was refused; nothing was sent to it.
    #[error("refused to follow {kind} {url:?}: {reason}")]
    UnsafeUrl {
        /// What the URL was for: `nextLink`, `continuation token`, `polling URL` or `request URL`.
        kind: &'static str,
        /// The URL as received, with any token in it redacted.
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
        /// How long it waited: the time limit that ended (a call's `timeout`, a wait's, the retry budget), or the
        /// time measured since the wait began; never a figure of something else.
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
            Error::Service(e) => e.call.service_request_id.as_deref(),
            Error::Decode { request_id, .. }
            | Error::Transport { request_id, .. }
            | Error::ResponseTooLarge { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The identity of the call the service refused ([`ServiceError::call`]), or the call a
    /// [`DecisionConflict`](Error::DecisionConflict) is known from: its ids and attempts.
    pub fn call_ids(&self) -> Option<&CallIds> {
        match self {
            Error::DecisionConflict { call, .. } => call.as_deref(),
            _ => self.service_error().map(|e| &e.call),
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

    /// The kind of a transport failure (an untrusted certificate, a refused connection, a timeout, ...), for
    /// [`Error::Transport`]; `None` for any other error.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self {
            Error::Transport { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// How many attempts were made, for errors that came from the network.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            Error::Service(e) => Some(e.call.attempts),
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
