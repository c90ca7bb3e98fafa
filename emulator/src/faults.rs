//! Fault injection: throttling, errors, HTML gateway pages, dropped connections and delays.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::arm::ArmError;
use super::between::PageChange;

/// The ARM operations of the emulated service, for scoping faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// `GET /providers/Microsoft.CustomerLockbox/operations`.
    OperationsList,
    /// `GET /providers/Microsoft.CustomerLockbox/tenantOptedIn/{tenantId}`.
    GetTenantOptedIn,
    /// `POST /providers/Microsoft.CustomerLockbox/enableLockbox`.
    EnableLockbox,
    /// `POST /providers/Microsoft.CustomerLockbox/disableLockbox`.
    DisableLockbox,
    /// `GET /subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}`.
    RequestsGet,
    /// `GET /subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests`.
    RequestsList,
    /// `POST /subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}/updateApproval`.
    RequestsUpdateStatus,
    /// `GET /subscriptions` (Resource Manager's `Subscriptions_List`).
    SubscriptionsList,
    /// A poll of a long-running operation: `GET /providers/Microsoft.CustomerLockbox/operationStatuses/{id}`
    /// or `.../operationResults/{id}` (the URLs of a `202 Accepted`).
    AsyncOperationPoll,
}

/// Which retry hint a throttled (`429`) answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfterHeader {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `retry-after-ms: <milliseconds>`.
    Millis(u64),
    /// `x-ms-retry-after-ms: <milliseconds>`.
    XMsMillis(u64),
    /// `Retry-After: <HTTP date>`.
    HttpDate(SystemTime),
    /// No retry hint at all.
    None,
}

/// What an injected fault does to a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// `429 Too Many Requests` with ARM error code `TooManyRequests` and the given retry hint.
    Throttle {
        /// The retry hint header.
        retry_after: RetryAfterHeader,
    },
    /// The given status; with an ARM error body (code derived from the status) or an empty body.
    Status {
        /// HTTP status code (invalid codes become `500`).
        status: u16,
        /// Whether to send an ARM error body.
        arm_body: bool,
    },
    /// A gateway's HTML error page (`text/html`) with the given status.
    Html {
        /// HTTP status code (invalid codes become `502`).
        status: u16,
    },
    /// Close the TCP connection without sending a single response byte.
    DropConnection,
    /// Wait this long (real time), then answer normally.
    Delay(Duration),
    /// Answer normally (the operation takes effect, whatever `after_commit` says), with the status, the headers
    /// and a `content-length` for the whole body, then close the connection half-way through the body. An empty
    /// body has no half to cut, so it arrives whole.
    CutBody,
    /// Answer normally (the operation takes effect), but a `202 Accepted` names its polling URLs
    /// (`Azure-AsyncOperation`, `Location`) on another host than the one the client called: `localhost` for
    /// `127.0.0.1` and the other way round, same port, so a client that follows them reaches this emulator
    /// under a foreign name, which [`Emulator::foreign_host_requests`](crate::Emulator::foreign_host_requests)
    /// counts. Other answers are left as they are.
    ForeignPollingHost,
    /// Answer normally, but first change the listing as another principal would while the client is between
    /// its pages (see [`PageChange`]). Taken only by a call for a listing's next page (one with a
    /// `$skipToken`): `GET .../requests`, and for [`PageChange::Create`] also `GET /subscriptions`. What it
    /// did is in [`Emulator::page_changes`](crate::Emulator::page_changes).
    BetweenPages(PageChange),
}

/// A fault to apply to the next `count` matching ARM requests; queue it with `Emulator::inject`.
///
/// ```
/// use azure_customer_lockbox_emulator::{Fault, Operation, RetryAfterHeader};
/// let fault = Fault::throttle(RetryAfterHeader::Seconds(1)).times(3).on(Operation::RequestsGet);
/// assert_eq!(fault.count, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What happens.
    pub kind: FaultKind,
    /// How many matching responses it affects.
    pub count: usize,
    /// Only this operation; `None` matches every routed ARM request (including async-operation polls).
    pub operation: Option<Operation>,
    /// Apply the operation's effect first (e.g. record the approval), then fail (ignored for `Delay`,
    /// `CutBody` and `ForeignPollingHost`, which always apply it).
    pub after_commit: bool,
}

impl Fault {
    /// A fault of this kind, once, on any operation, before the effect.
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, count: 1, operation: None, after_commit: false }
    }

    /// `429` with the given retry hint.
    pub fn throttle(retry_after: RetryAfterHeader) -> Self {
        Self::new(FaultKind::Throttle { retry_after })
    }

    /// The given status with an ARM error body.
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status { status, arm_body: true })
    }

    /// The given status with an empty body.
    pub fn status_without_body(status: u16) -> Self {
        Self::new(FaultKind::Status { status, arm_body: false })
    }

    /// An HTML gateway error page with the given status.
    pub fn html(status: u16) -> Self {
        Self::new(FaultKind::Html { status })
    }

    /// Close the connection without answering.
    pub fn drop_connection() -> Self {
        Self::new(FaultKind::DropConnection)
    }

    /// Answer normally after a delay.
    pub fn delay(by: Duration) -> Self {
        Self::new(FaultKind::Delay(by))
    }

    /// Answer normally, but close the connection half-way through the body.
    pub fn cut_body() -> Self {
        Self::new(FaultKind::CutBody)
    }

    /// Answer normally, but name a `202`'s polling URLs on another host.
    pub fn foreign_polling_host() -> Self {
        Self::new(FaultKind::ForeignPollingHost)
    }

    /// Change the listing between its pages (see [`FaultKind::BetweenPages`]).
    pub fn between_pages(change: PageChange) -> Self {
        Self::new(FaultKind::BetweenPages(change))
    }

    /// Affect the next `count` matching responses.
    #[must_use]
    pub fn times(mut self, count: usize) -> Self {
        self.count = count;
        self
    }

    /// Only affect this operation.
    #[must_use]
    pub fn on(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Apply the operation's effect first, then fail.
    #[must_use]
    pub fn after_commit(mut self) -> Self {
        self.after_commit = true;
        self
    }

    /// Whether this fault applies to a call of `operation`; `continuation`: the call asks for a listing's
    /// next page.
    pub(crate) fn matches(&self, operation: Option<Operation>, continuation: bool) -> bool {
        let scoped = self.operation.is_none() || self.operation == operation;
        match self.kind {
            FaultKind::BetweenPages(change) => {
                let listing = match operation {
                    Some(Operation::RequestsList) => true,
                    Some(Operation::SubscriptionsList) => change == PageChange::Create,
                    _ => false,
                };
                scoped && continuation && listing
            }
            _ => scoped,
        }
    }
}

/// The failing response of a fault (not for `DropConnection`, `Delay`, `CutBody` or `ForeignPollingHost`).
pub(crate) fn fault_response(kind: &FaultKind) -> Response {
    match kind {
        FaultKind::Throttle { retry_after } => {
            let mut response = ArmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for operation type - \
                 Read_ObservationWindow_00:05:00. Please retry after the indicated time.",
            )
            .into_response();
            let (name, value) = match retry_after {
                RetryAfterHeader::Seconds(s) => ("retry-after", s.to_string()),
                RetryAfterHeader::Millis(ms) => ("retry-after-ms", ms.to_string()),
                RetryAfterHeader::XMsMillis(ms) => ("x-ms-retry-after-ms", ms.to_string()),
                RetryAfterHeader::HttpDate(at) => ("retry-after", httpdate::fmt_http_date(*at)),
                RetryAfterHeader::None => return response,
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
            response
        }
        FaultKind::Status { status, arm_body } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if *arm_body {
                let code = match status.as_u16() {
                    500 => "InternalServerError",
                    502 => "BadGateway",
                    503 => "ServiceUnavailable",
                    504 => "GatewayTimeout",
                    408 => "RequestTimeout",
                    409 => "Conflict",
                    _ => "InjectedFault",
                };
                ArmError::new(status, code, "An injected fault from the Customer Lockbox emulator.").into_response()
            } else {
                status.into_response()
            }
        }
        FaultKind::Html { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            let reason = status.canonical_reason().unwrap_or("Error");
            let html = format!("<html><body><h1>{} {reason}</h1></body></html>", status.as_u16());
            let mut response = (status, html).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        FaultKind::DropConnection
        | FaultKind::Delay(_)
        | FaultKind::CutBody
        | FaultKind::ForeignPollingHost
        | FaultKind::BetweenPages(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// JSON form of a [`Fault`] for `POST /_emulator/faults`, e.g.
/// `{"kind":"throttle","retryAfterSeconds":1,"count":3,"operation":"RequestsGet"}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultSpec {
    /// `throttle`, `status`, `html`, `dropConnection`, `delay`, `cutBody`, `foreignPollingHost` or
    /// `betweenPages`.
    pub kind: String,
    /// Status for `status` / `html`.
    pub status: Option<u16>,
    /// Whether `status` sends an ARM body (default true).
    pub arm_body: Option<bool>,
    /// `Retry-After` seconds for `throttle`.
    pub retry_after_seconds: Option<u64>,
    /// `retry-after-ms` for `throttle`.
    pub retry_after_ms: Option<u64>,
    /// `x-ms-retry-after-ms` for `throttle`.
    pub x_ms_retry_after_ms: Option<u64>,
    /// `Retry-After` as an HTTP date, seconds from now, for `throttle`.
    pub retry_after_date_in_seconds: Option<u64>,
    /// Delay for `delay`.
    pub millis: Option<u64>,
    /// Number of responses affected (default 1).
    pub count: Option<usize>,
    /// Operation scope.
    pub operation: Option<Operation>,
    /// Apply the effect first.
    pub after_commit: bool,
    /// The change of `betweenPages`: `decide`, `create` or `expire`.
    pub change: Option<PageChange>,
}

impl FaultSpec {
    /// Converts to a [`Fault`], or says what is wrong.
    pub fn into_fault(self) -> Result<Fault, String> {
        let kind = match self.kind.to_ascii_lowercase().as_str() {
            "throttle" => {
                let retry_after = if let Some(s) = self.retry_after_seconds {
                    RetryAfterHeader::Seconds(s)
                } else if let Some(ms) = self.retry_after_ms {
                    RetryAfterHeader::Millis(ms)
                } else if let Some(ms) = self.x_ms_retry_after_ms {
                    RetryAfterHeader::XMsMillis(ms)
                } else if let Some(s) = self.retry_after_date_in_seconds {
                    RetryAfterHeader::HttpDate(SystemTime::now() + Duration::from_secs(s))
                } else {
                    RetryAfterHeader::None
                };
                FaultKind::Throttle { retry_after }
            }
            "status" => {
                FaultKind::Status { status: self.status.unwrap_or(500), arm_body: self.arm_body.unwrap_or(true) }
            }
            "html" => FaultKind::Html { status: self.status.unwrap_or(502) },
            "dropconnection" => FaultKind::DropConnection,
            "delay" => FaultKind::Delay(Duration::from_millis(self.millis.unwrap_or(0))),
            "cutbody" => FaultKind::CutBody,
            "foreignpollinghost" => FaultKind::ForeignPollingHost,
            "betweenpages" => FaultKind::BetweenPages(
                self.change.ok_or("a betweenPages fault needs a change: decide, create or expire")?,
            ),
            other => {
                return Err(format!(
                    "unknown fault kind '{other}': expected throttle, status, html, dropConnection, delay, cutBody, \
                     foreignPollingHost or betweenPages"
                ));
            }
        };
        Ok(Fault { kind, count: self.count.unwrap_or(1), operation: self.operation, after_commit: self.after_commit })
    }
}
