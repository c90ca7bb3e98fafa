//! Plain data types of the emulator's public API: configuration, seeds, and what it records.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The only api-version the emulated service accepts.
pub const API_VERSION: &str = "2018-02-28-preview";

/// The tenant id used for callers whose token carries no `tid` claim, unless configured otherwise.
pub const DEFAULT_TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Every request status the service knows, in its canonical spelling.
pub const KNOWN_STATUSES: [&str; 13] = [
    "Initializing",
    "Pending",
    "Approving",
    "Denying",
    "Approved",
    "Denied",
    "Expired",
    "Revoking",
    "Revoked",
    "Error",
    "Unknown",
    "Completed",
    "Completing",
];

/// The canonical spelling of a status name (matched case-insensitively), if it is a known status.
pub(crate) fn canonical_status(name: &str) -> Option<&'static str> {
    KNOWN_STATUSES.iter().copied().find(|known| known.eq_ignore_ascii_case(name.trim()))
}

/// How the emulator behaves; `EmulatorConfig::default()` gives a synchronous service on a free port.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Items per page for the pageable lists (requests and operations); `0` is treated as `1`.
    pub page_size: usize,
    /// Emulator-clock time a decided request spends in `Approving` / `Denying` before it is final.
    pub transition_delay: Duration,
    /// Tenant of callers whose bearer token is not a JWT with a `tid` claim.
    pub default_tenant_id: String,
    /// TCP port on 127.0.0.1; `0` picks a free one.
    pub port: u16,
    /// When set, the POST actions are long-running operations answering `202 Accepted`.
    pub async_operations: Option<AsyncOperations>,
    /// Largest accepted request body; bigger bodies get `413`.
    pub max_body_bytes: usize,
    /// A per-principal request budget; off (`None`) by default.
    pub request_budget: Option<crate::RequestBudget>,
    /// Latency added to every ARM answer, drawn uniformly from the range (e.g. 20 to 50 ms); none by default.
    pub latency: Option<std::ops::RangeInclusive<Duration>>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            page_size: 50,
            transition_delay: Duration::ZERO,
            default_tenant_id: DEFAULT_TENANT_ID.to_owned(),
            port: 0,
            async_operations: None,
            max_body_bytes: 1024 * 1024,
            request_budget: None,
            latency: None,
        }
    }
}

impl EmulatorConfig {
    /// Sets [`EmulatorConfig::page_size`].
    #[must_use]
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size;
        self
    }

    /// Sets [`EmulatorConfig::transition_delay`].
    #[must_use]
    pub fn with_transition_delay(mut self, delay: Duration) -> Self {
        self.transition_delay = delay;
        self
    }

    /// Sets [`EmulatorConfig::default_tenant_id`].
    #[must_use]
    pub fn with_default_tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.default_tenant_id = tenant.into();
        self
    }

    /// Sets [`EmulatorConfig::port`].
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets [`EmulatorConfig::async_operations`].
    #[must_use]
    pub fn with_async_operations(mut self, cfg: Option<AsyncOperations>) -> Self {
        self.async_operations = cfg;
        self
    }
}

/// Long-running-operation behaviour of the POST actions (`updateApproval`, `enableLockbox`, `disableLockbox`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncOperations {
    /// Emulator-clock time until an operation finishes.
    pub duration: Duration,
    /// Value of the `Retry-After` header on `202` answers.
    pub retry_after_secs: u64,
    /// When set, every operation ends `Failed` with this `(code, message)` and has no effect.
    pub fail_with: Option<(String, String)>,
    /// Where an accepted decision's request stands while its operation runs.
    pub while_running: WhileRunning,
}

impl Default for AsyncOperations {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(10),
            retry_after_secs: 1,
            fail_with: None,
            while_running: WhileRunning::default(),
        }
    }
}

/// Where a request stands while the operation of a decision accepted with `202` runs: the two ways a service
/// can keep a second decision from being recorded. The emulator follows [`Interim`](Self::Interim) unless told
/// otherwise; see the crate's README for why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WhileRunning {
    /// The request moves to `Approving` or `Denying` as the decision is accepted, and becomes `Approved` or
    /// `Denied` when its operation ends (or returns to `Pending` if the operation fails). A second decision while
    /// it runs is refused: `409 RequestNotPending` with `additionalInfo.currentStatus`.
    #[default]
    Interim,
    /// The request stays `Pending` until the operation ends. A second decision while it runs is accepted too
    /// (`202`), and its operation fails when it ends, since the request is no longer pending by then.
    Pending,
}

/// A new Lockbox request, as a Microsoft support engineer would raise it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NewLockboxRequest {
    /// Why Microsoft needs access.
    pub justification: String,
    /// ARM ids of the resources to access (joined with `,` in `resourceIds`).
    pub resource_ids: Vec<String>,
    /// Display name of the resource type, e.g. `Storage Account`.
    pub resource_type: String,
    /// Requested access duration in hours.
    pub duration_hours: u32,
    /// Support ticket number; empty means "generate one".
    pub support_request: String,
    /// Requested access level, e.g. `Read`.
    pub access_level: String,
    /// Where the request came from, e.g. `SupportRequest`.
    pub workitem_source: String,
    /// Time from creation until the request expires (if still pending).
    #[serde(rename = "expiresInSeconds", with = "duration_secs")]
    pub expires_in: Duration,
}

impl Default for NewLockboxRequest {
    fn default() -> Self {
        Self {
            justification: "Microsoft Support is investigating intermittent 503 errors on blob reads \
                            reported in your support case and needs to read the storage account diagnostics."
                .to_owned(),
            resource_ids: Vec::new(),
            resource_type: "Storage Account".to_owned(),
            duration_hours: 8,
            support_request: String::new(),
            access_level: "Read".to_owned(),
            workitem_source: "SupportRequest".to_owned(),
            expires_in: Duration::from_secs(4 * 24 * 3600),
        }
    }
}

/// A request to put into the emulator as-is (status and times included); see [`Seed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedRequest {
    /// Subscription the request belongs to.
    pub subscription_id: String,
    /// Request id; a fresh GUID when absent.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Stored status (one of [`KNOWN_STATUSES`], any case); `Pending` when absent.
    #[serde(default)]
    pub status: Option<String>,
    /// Creation time; the emulator clock when absent.
    #[serde(default)]
    pub created_date_time: Option<DateTime<Utc>>,
    /// Expiry time; creation time + `expiresInSeconds` when absent.
    #[serde(default)]
    pub expiration_date_time: Option<DateTime<Utc>>,
    /// Everything else about the request.
    #[serde(flatten)]
    pub request: NewLockboxRequest,
}

/// Initial state: tenants' opt-in flags and requests. This is also the JSON format of seed files:
/// `{"tenants":{"<tid>":true},"requests":[{"subscriptionId":"..","justification":"..","status":"Pending"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed {
    /// Tenant id → opted in.
    pub tenants: BTreeMap<String, bool>,
    /// Requests to create.
    pub requests: Vec<SeedRequest>,
}

/// One accepted approval decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    /// Subscription of the request.
    pub subscription_id: String,
    /// The decided request.
    pub request_id: String,
    /// `Approve` or `Deny`.
    pub decision: String,
    /// The reason given, if any.
    pub reason: Option<String>,
    /// Emulator-clock time the decision took effect.
    pub at: DateTime<Utc>,
}

/// How many decision POSTs (`.../requests/{id}/updateApproval`) reached the emulator for one request.
///
/// Every POST that reaches the emulator counts, whatever it was answered (an injected fault, `409`, `200`
/// or `202`); unlike [`ReceivedRequest`]s these counts are never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionPosts {
    /// Subscription of the request.
    pub subscription_id: String,
    /// The request.
    pub request_id: String,
    /// Decision POSTs received for it in all.
    pub received: u64,
    /// Those received after a decision for it was recorded (or accepted with a `202`): each is a duplicate decision, sent by a client
    /// that did not know (or did not check) that its decision had been taken.
    pub after_decision: u64,
}

/// One HTTP request as the emulator received it (admin `/_emulator/` calls are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedRequest {
    /// HTTP method.
    pub method: String,
    /// Path exactly as received, still percent-encoded.
    pub path: String,
    /// Raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Lower-case header name → value (repeated headers joined with `, `); the `authorization` value is
    /// replaced by `<redacted>`.
    pub headers: BTreeMap<String, String>,
    /// Number of body bytes received.
    pub body_len: usize,
    /// Emulator-clock time of arrival.
    pub at: DateTime<Utc>,
}

impl ReceivedRequest {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}
