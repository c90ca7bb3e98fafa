//! Across subscriptions: the Lockbox requests of every subscription the caller can see, as one stream; a
//! request found by id alone; one watch over the whole tenant.
//!
//! An approver does not think in subscriptions. [`CustomerLockboxClient::tenant_requests`] lists the
//! subscriptions (`Subscriptions_List`, see `subscriptions.rs`), or takes a given set, and lists the requests
//! of each, [`TenantOptions::concurrency`] subscriptions at a time, merged into one lazy stream of
//! [`TenantItem`]s that each name their subscription:
//!
//! - `Enabled`, `Warned` and `PastDue` subscriptions are listed; `Disabled`, `Deleted` (and unknown states)
//!   are skipped and counted in the [`TenantSummary`].
//! - A subscription whose listing fails (403 `AuthorizationFailed`, 409 `MissingSubscriptionRegistration`, 404,
//!   retries spent, ...) yields one [`TenantItem::Failed`] and the others go on. Only a failure to list the
//!   subscriptions themselves is an `Err` item.
//! - Memory is bounded by the pages in flight (at most one page per running listing), not by the tenant.
//! - Throttling is shared: the listings of one stream run under one gate (`pipeline/gate.rs`). When any request
//!   is answered `429` with a retry hint, the gate holds every request of the stream until the hinted instant
//!   (`tokio::time`), so the others slow down too instead of spending the principal's budget further. Each
//!   request is still retried by the client's retry policy as usual.
//!
//! Uses `core`, `subscriptions`, `requests`, `listing`, `watch`, `pipeline::gate`, `validate` and `error`.

use std::{
    collections::HashMap,
    fmt,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use futures::{
    Stream, StreamExt,
    future::{AbortHandle, Abortable, BoxFuture},
    stream::{self, BoxStream, SelectAll},
};

use crate::{
    core::Core,
    error::{Error, Result},
    listing::{RequestFilter, RequestsListOptions},
    models::LockboxRequestResponse,
    pipeline::gate::Gate,
    requests::RequestsClient,
    status::SubscriptionState,
    subscriptions::{Subscription, SubscriptionsClient},
    validate,
    watch::{WatchEvent, WatchOptions},
};

/// The default of [`TenantOptions::concurrency`]: 16 subscriptions listed at a time.
pub const DEFAULT_TENANT_CONCURRENCY: usize = 16;

/// Options of the tenant-wide calls ([`CustomerLockboxClient::tenant_requests`],
/// [`CustomerLockboxClient::find_request_with`]). Every field has a documented default; start from `Default`.
///
/// ```
/// use azure_customer_lockbox::{RequestFilter, TenantOptions, models::LockboxRequestStatus};
/// let options = TenantOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending));
/// assert_eq!(options.concurrency, azure_customer_lockbox::DEFAULT_TENANT_CONCURRENCY);
/// ```
///
/// [`CustomerLockboxClient::tenant_requests`]: crate::CustomerLockboxClient::tenant_requests
/// [`CustomerLockboxClient::find_request_with`]: crate::CustomerLockboxClient::find_request_with
#[derive(Clone, Debug)]
pub struct TenantOptions {
    /// The subscriptions to cover (GUIDs). The default is `None`: every subscription `Subscriptions_List`
    /// returns. Given subscriptions are not looked up, so none is skipped for its state.
    pub subscriptions: Option<Vec<String>>,
    /// A filter applied to every subscription's listing. The default is `None`: every request. Not used by
    /// `find_request`.
    pub filter: Option<RequestFilter>,
    /// How many subscriptions are listed (or searched) at a time. The default is
    /// [`DEFAULT_TENANT_CONCURRENCY`]; `0` is treated as `1`.
    pub concurrency: usize,
}

impl Default for TenantOptions {
    fn default() -> Self {
        Self { subscriptions: None, filter: None, concurrency: DEFAULT_TENANT_CONCURRENCY }
    }
}

impl TenantOptions {
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
    fn of(error: &Error) -> Self {
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
pub enum TenantItem {
    /// A request, with its subscription.
    Request(SubscriptionRequest),
    /// A subscription whose listing failed.
    Failed(SubscriptionFailure),
}

/// What a tenant-wide listing did so far: see [`TenantRequests::summary`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantSummary {
    /// Subscriptions whose listing ended without error.
    pub listed: usize,
    /// Requests yielded.
    pub requests: usize,
    /// Subscriptions not listed because of their state (`Disabled`, `Deleted`, unknown), with that state.
    pub skipped: Vec<(String, SubscriptionState)>,
    /// Subscriptions whose listing failed, and why.
    pub failed: Vec<(String, FailureKind)>,
    /// `429` answers seen, each of which held every listing back (see the module documentation).
    pub throttled: u64,
}

type SharedSummary = Arc<Mutex<TenantSummary>>;

fn with_summary<R>(summary: &SharedSummary, f: impl FnOnce(&mut TenantSummary) -> R) -> R {
    f(&mut summary.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Polls `inner` with `gate` in force, so that every request it sends honours the shared throttling gate.
struct Gated<S> {
    inner: S,
    gate: Gate,
}

impl<S: Stream + Unpin> Stream for Gated<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        this.gate.scope(|| this.inner.poll_next_unpin(cx))
    }
}

/// The lazy stream of a tenant-wide listing: see [`CustomerLockboxClient::tenant_requests`]. Items come in no
/// particular order across subscriptions; within one subscription, in the service's order.
///
/// [`CustomerLockboxClient::tenant_requests`]: crate::CustomerLockboxClient::tenant_requests
pub struct TenantRequests {
    inner: Gated<BoxStream<'static, Result<TenantItem>>>,
    summary: SharedSummary,
}

impl fmt::Debug for TenantRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantRequests").field("summary", &self.summary()).finish_non_exhaustive()
    }
}

impl TenantRequests {
    /// The next item, or `None` at the end. Usable without importing `StreamExt`. An `Err` means the
    /// subscriptions could not be listed; a subscription's own failure is a [`TenantItem::Failed`].
    pub async fn try_next(&mut self) -> Result<Option<TenantItem>> {
        self.next().await.transpose()
    }

    /// What the listing did so far (complete once the stream has ended).
    pub fn summary(&self) -> TenantSummary {
        let mut summary = with_summary(&self.summary, |s| s.clone());
        summary.throttled = self.inner.gate.throttled();
        summary
    }
}

impl Stream for TenantRequests {
    type Item = Result<TenantItem>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

/// The subscription id of a listed subscription: `subscriptionId`, else the last segment of `id`.
fn subscription_id(subscription: &Subscription) -> Option<String> {
    subscription
        .subscription_id
        .clone()
        .or_else(|| subscription.id.as_deref().and_then(|id| id.rsplit('/').find(|s| !s.is_empty()).map(str::to_owned)))
}

/// The subscriptions to cover: the given ones (checked as GUIDs), or the active ones listed, the others
/// counted as skipped.
fn targets(
    core: &Core,
    given: Option<Vec<String>>,
    summary: SharedSummary,
) -> Result<BoxStream<'static, Result<Arc<str>>>> {
    if let Some(given) = given {
        let ids = given
            .iter()
            .map(|id| validate::guid("subscriptions", id).map(Arc::from))
            .collect::<Result<Vec<Arc<str>>>>()?;
        return Ok(stream::iter(ids.into_iter().map(Ok)).boxed());
    }
    let listed = SubscriptionsClient::new(core.clone()).list().filter_map(move |listed| {
        let target = match listed {
            Err(error) => Some(Err(error)),
            Ok(subscription) => match subscription_id(&subscription) {
                None => None,
                Some(id) => {
                    let state = subscription.state.clone().unwrap_or(SubscriptionState::Enabled);
                    if state.is_active() {
                        Some(Ok(Arc::from(id)))
                    } else {
                        with_summary(&summary, |s| s.skipped.push((id, state)));
                        None
                    }
                }
            },
        };
        futures::future::ready(target)
    });
    Ok(listed.boxed())
}

/// One subscription's listing as tenant items: its requests, then a failure item if it failed.
fn one_listing(
    core: Core,
    subscription_id: Arc<str>,
    filter: Option<RequestFilter>,
    summary: SharedSummary,
) -> BoxStream<'static, Result<TenantItem>> {
    let requests = RequestsClient::new(core, subscription_id.to_string());
    let pager = requests.list(Some(RequestsListOptions { filter, continuation: None }));
    stream::unfold(Some(pager), move |pager| {
        let subscription_id = subscription_id.clone();
        let summary = summary.clone();
        async move {
            let mut pager = pager?;
            match pager.try_next().await {
                Ok(Some(request)) => {
                    with_summary(&summary, |s| s.requests += 1);
                    Some((Ok(TenantItem::Request(SubscriptionRequest { subscription_id, request })), Some(pager)))
                }
                Ok(None) => {
                    with_summary(&summary, |s| s.listed += 1);
                    None
                }
                Err(error) => {
                    let kind = FailureKind::of(&error);
                    tracing::debug!(subscription_id = &*subscription_id, ?kind, "listing of a subscription failed");
                    with_summary(&summary, |s| s.failed.push((subscription_id.to_string(), kind)));
                    Some((Ok(TenantItem::Failed(SubscriptionFailure { subscription_id, kind, error })), None))
                }
            }
        }
    })
    .boxed()
}

/// See [`CustomerLockboxClient::tenant_requests`](crate::CustomerLockboxClient::tenant_requests).
pub(crate) fn tenant_requests(core: &Core, options: TenantOptions) -> Result<TenantRequests> {
    let summary = SharedSummary::default();
    let targets = targets(core, options.subscriptions, summary.clone())?;
    let core = core.clone();
    let filter = options.filter;
    let per_subscription = summary.clone();
    let merged = targets
        .map(move |target| match target {
            Ok(id) => one_listing(core.clone(), id, filter.clone(), per_subscription.clone()),
            Err(error) => stream::once(futures::future::ready(Err(error))).boxed(),
        })
        .flatten_unordered(options.concurrency.max(1))
        .boxed();
    Ok(TenantRequests { inner: Gated { inner: merged, gate: Gate::default() }, summary })
}

/// See [`CustomerLockboxClient::find_request_with`](crate::CustomerLockboxClient::find_request_with).
pub(crate) async fn find_request(
    core: &Core,
    request_id: &str,
    options: TenantOptions,
) -> Result<Option<SubscriptionRequest>> {
    let request_id: Arc<str> = validate::request_id(request_id)?.into();
    let targets = targets(core, options.subscriptions, SharedSummary::default())?;
    let core = core.clone();
    let lookups = targets
        .map(move |target| {
            let core = core.clone();
            let request_id = request_id.clone();
            async move {
                let subscription_id = target?;
                let requests = RequestsClient::new(core, subscription_id.to_string());
                match requests.get(&request_id).await {
                    Ok(request) => Ok(Some(SubscriptionRequest { subscription_id, request })),
                    Err(error) => {
                        // Not there, or not readable: look elsewhere.
                        tracing::debug!(
                            subscription_id = &*subscription_id,
                            kind = ?FailureKind::of(&error),
                            "request not found in a subscription"
                        );
                        Ok(None)
                    }
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .boxed();
    let mut lookups = Gated { inner: lookups, gate: Gate::default() };
    while let Some(found) = lookups.next().await {
        if let Some(found) = found? {
            // Dropping the stream stops the lookups still in flight; no further subscription is asked.
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The default of [`TenantWatchOptions::refresh`]: the set of subscriptions is read again every 5 minutes.
pub const DEFAULT_SUBSCRIPTIONS_REFRESH: Duration = Duration::from_secs(300);

/// Options of [`CustomerLockboxClient::tenant_watch`](crate::CustomerLockboxClient::tenant_watch). Every field has
/// a documented default; start from `Default`.
#[derive(Clone, Debug)]
pub struct TenantWatchOptions {
    /// The options of each subscription's watch (interval, filter, ...). The default is `WatchOptions::default()`.
    pub watch: WatchOptions,
    /// Time between two readings of the set of subscriptions. The default is
    /// [`DEFAULT_SUBSCRIPTIONS_REFRESH`]; values below 1 ms are raised to it.
    pub refresh: Duration,
}

impl Default for TenantWatchOptions {
    fn default() -> Self {
        Self { watch: WatchOptions::default(), refresh: DEFAULT_SUBSCRIPTIONS_REFRESH }
    }
}

/// An event of a tenant-wide watch.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "the large variant is the common one; boxing it costs every event")]
pub enum TenantWatchEvent {
    /// A subscription appeared (or was seen on the first reading): its watch starts.
    SubscriptionAdded(Arc<str>),
    /// A subscription is gone from the listing, or is no longer active: its watch ended.
    SubscriptionRemoved(Arc<str>),
    /// An event of one subscription's watch (see [`WatchEvent`]; its errors included).
    Request {
        /// The subscription (GUID).
        subscription_id: Arc<str>,
        /// What happened.
        event: WatchEvent,
    },
    /// The subscriptions could not be listed; the watches keep going and the listing is tried again at the
    /// next refresh.
    SubscriptionsFailed(Error),
}

/// A watch over every subscription's requests: see
/// [`CustomerLockboxClient::tenant_watch`](crate::CustomerLockboxClient::tenant_watch).
pub struct TenantWatch {
    core: Core,
    options: TenantWatchOptions,
    watches: SelectAll<BoxStream<'static, TenantWatchEvent>>,
    running: HashMap<Arc<str>, AbortHandle>,
    refreshing: Option<BoxFuture<'static, Result<Vec<Arc<str>>>>>,
    next_refresh: Pin<Box<tokio::time::Sleep>>,
    pending: std::collections::VecDeque<TenantWatchEvent>,
}

impl fmt::Debug for TenantWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantWatch").field("subscriptions", &self.running.len()).finish_non_exhaustive()
    }
}

impl TenantWatch {
    pub(crate) fn new(core: Core, mut options: TenantWatchOptions) -> Self {
        options.refresh = options.refresh.max(Duration::from_millis(1));
        Self {
            core,
            options,
            watches: SelectAll::new(),
            running: HashMap::new(),
            refreshing: None,
            // The first reading happens at the first poll.
            next_refresh: Box::pin(tokio::time::sleep(Duration::ZERO)),
            pending: Default::default(),
        }
    }

    /// The subscriptions being watched now.
    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        self.running.keys().cloned().collect()
    }

    /// The next event. Usable without importing `StreamExt`; a tenant watch never ends by itself.
    pub async fn next_event(&mut self) -> Option<TenantWatchEvent> {
        self.next().await
    }

    fn read_subscriptions(&self) -> BoxFuture<'static, Result<Vec<Arc<str>>>> {
        let mut listing = SubscriptionsClient::new(self.core.clone()).list();
        Box::pin(async move {
            let mut active = Vec::new();
            while let Some(subscription) = listing.try_next().await? {
                if subscription.state.as_ref().is_none_or(SubscriptionState::is_active)
                    && let Some(id) = subscription_id(&subscription)
                {
                    active.push(Arc::from(id));
                }
            }
            Ok(active)
        })
    }

    /// Starts the watches of new subscriptions and ends those of removed ones.
    fn apply(&mut self, now: Vec<Arc<str>>) {
        let now: std::collections::HashSet<Arc<str>> = now.into_iter().collect();
        let gone: Vec<Arc<str>> = self.running.keys().filter(|id| !now.contains(*id)).cloned().collect();
        for id in gone {
            if let Some(handle) = self.running.remove(&id) {
                handle.abort();
            }
            self.pending.push_back(TenantWatchEvent::SubscriptionRemoved(id));
        }
        for id in now {
            if self.running.contains_key(&id) {
                continue;
            }
            let requests = RequestsClient::new(self.core.clone(), id.to_string());
            let subscription_id = id.clone();
            let watch = requests
                .watch(self.options.watch.clone())
                .map(move |event| TenantWatchEvent::Request { subscription_id: subscription_id.clone(), event });
            let (handle, registration) = AbortHandle::new_pair();
            self.watches.push(Abortable::new(watch, registration).boxed());
            self.running.insert(id.clone(), handle);
            self.pending.push_back(TenantWatchEvent::SubscriptionAdded(id));
        }
    }
}

impl Stream for TenantWatch {
    type Item = TenantWatchEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TenantWatchEvent>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.refreshing.is_none() && this.next_refresh.as_mut().poll(cx).is_ready() {
                this.refreshing = Some(this.read_subscriptions());
            }
            if let Some(refreshing) = &mut this.refreshing
                && let Poll::Ready(result) = refreshing.as_mut().poll(cx)
            {
                this.refreshing = None;
                let deadline = tokio::time::Instant::now() + this.options.refresh;
                this.next_refresh.as_mut().reset(deadline);
                match result {
                    Ok(now) => this.apply(now),
                    Err(error) => this.pending.push_back(TenantWatchEvent::SubscriptionsFailed(error)),
                }
                continue;
            }
            return match this.watches.poll_next_unpin(cx) {
                Poll::Ready(Some(event)) => Poll::Ready(Some(event)),
                // No watch running (or the last one ended): wait for the next reading of the subscriptions.
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            };
        }
    }
}
