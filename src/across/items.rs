//! What a tenant-wide call takes and gives: its options, the items of its stream, why a subscription's
//! listing failed, and the summary. Plain types; the behaviour is in `listing.rs`.

use std::sync::{Arc, Mutex};

use crate::{error::Error, listing::RequestFilter, models::LockboxRequestResponse, status::SubscriptionState};

/// The default of [`AllRequestsOptions::concurrency`]: 16 subscriptions listed at a time.
pub const DEFAULT_ALL_REQUESTS_CONCURRENCY: usize = 16;

/// Options of the calls that cover every subscription: [`CustomerLockboxClient::all_requests`], which lists
/// them, and [`CustomerLockboxClient::find_request`], which reads one request by id in each. Every field has a
/// documented default; start from `Default`.
///
/// ```
/// use azure_customer_lockbox::{RequestFilter, options::AllRequestsOptions, models::LockboxRequestStatus};
/// let options = AllRequestsOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending));
/// assert_eq!(options.concurrency, azure_customer_lockbox::options::DEFAULT_ALL_REQUESTS_CONCURRENCY);
/// ```
///
/// [`CustomerLockboxClient::all_requests`]: crate::CustomerLockboxClient::all_requests
/// [`CustomerLockboxClient::find_request`]: crate::CustomerLockboxClient::find_request
#[derive(Clone, Debug)]
pub struct AllRequestsOptions {
    /// The subscriptions to cover (GUIDs). The default is `None`: every subscription `Subscriptions_List`
    /// returns. Given subscriptions are not looked up, so none is skipped for its state.
    pub subscriptions: Option<Vec<String>>,
    /// A filter applied to every subscription's listing. The default is `None`: every request.
    /// `find_request` reads the request it is given by id, so a filter has nothing to narrow there: it refuses
    /// one with [`Error::InvalidArgument`] before sending, rather than ignore it.
    pub filter: Option<RequestFilter>,
    /// How many subscriptions are listed (or asked, by `find_request`) at a time. The default is
    /// [`DEFAULT_ALL_REQUESTS_CONCURRENCY`]; `0` is treated as `1`.
    pub concurrency: usize,
}

impl Default for AllRequestsOptions {
    fn default() -> Self {
        Self { subscriptions: None, filter: None, concurrency: DEFAULT_ALL_REQUESTS_CONCURRENCY }
    }
}

impl AllRequestsOptions {
    /// Options with a filter for every subscription.
    pub fn filter(filter: RequestFilter) -> Self {
        Self { filter: Some(filter), ..Default::default() }
    }
}

/// A request and the subscription it belongs to.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SubscriptionRequest {
    /// The subscription (GUID) the request was listed in.
    pub subscription_id: Arc<str>,
    /// The request.
    pub request: LockboxRequestResponse,
}

/// Why a subscription's listing failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureKind {
    /// 403: the caller has no right to read the subscription's Lockbox requests (`AuthorizationFailed`).
    Forbidden,
    /// 409 `MissingSubscriptionRegistration`: `Microsoft.CustomerLockbox` is not registered on it.
    NotRegistered,
    /// 404: no such subscription, or it is gone.
    NotFound,
    /// Still throttled (429) when the retries were spent.
    Throttled,
    /// Any other failure: 5xx after the retries, a transport failure, an undecodable page, ...
    Other,
}

impl FailureKind {
    /// The kind of a listing's error.
    pub(super) fn of(error: &Error) -> Self {
        match (error.status().map(|s| s.as_u16()), error.code()) {
            (Some(403), _) => Self::Forbidden,
            (Some(409), Some(code)) if code.eq_ignore_ascii_case("MissingSubscriptionRegistration") => {
                Self::NotRegistered
            }
            (Some(404), _) => Self::NotFound,
            (Some(429), _) => Self::Throttled,
            _ => Self::Other,
        }
    }
}

/// A subscription whose listing failed; the tenant-wide stream went on with the others.
#[derive(Debug)]
#[non_exhaustive]
pub struct SubscriptionFailure {
    /// The subscription (GUID).
    pub subscription_id: Arc<str>,
    /// Why, in short.
    pub kind: FailureKind,
    /// The error the listing ended with. Requests listed before it were yielded.
    pub error: Error,
}

/// One item of a tenant-wide listing.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "the large variant is the common one; boxing it costs every item")]
pub enum AllRequestsItem {
    /// A request, with its subscription.
    Request(SubscriptionRequest),
    /// A subscription whose listing failed.
    Failed(SubscriptionFailure),
}

/// What a tenant-wide listing did so far: see [`AllRequests::summary`](crate::every_subscription::AllRequests::summary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllRequestsSummary {
    /// Subscriptions whose listing ended without error.
    pub listed: usize,
    /// Requests yielded.
    pub requests: usize,
    /// Subscriptions not listed because of their state (`Disabled`, `Deleted`, unknown), with that state.
    pub skipped: Vec<(String, SubscriptionState)>,
    /// Subscriptions whose listing failed, and why.
    pub failed: Vec<(String, FailureKind)>,
    /// `429` answers seen, each of which held every listing back (see the `across` module documentation).
    pub throttled: u64,
}

/// The summary as the listings of one stream update it.
pub(super) type SharedSummary = Arc<Mutex<AllRequestsSummary>>;

/// Runs `f` on the shared summary (a poisoned lock is still used: the summary is plain counters).
pub(super) fn with_summary<R>(summary: &SharedSummary, f: impl FnOnce(&mut AllRequestsSummary) -> R) -> R {
    f(&mut summary.lock().unwrap_or_else(|e| e.into_inner()))
}
