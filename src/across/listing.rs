//! Listing every subscription's requests as one stream ([`all_requests`]) and finding a request by id alone
//! ([`find_request`]): which subscriptions are covered, one subscription's listing as tenant items, their
//! bounded merge, and the shared throttling gate their requests go through.
//!
//! A paged listing is not a snapshot: when its items change while it is paged, its offsets shift and an item
//! shows up on two pages. So each subscription is covered once, however often (or in whatever letter case)
//! it is named or listed, and each request once per subscription, however often its listing shows it.

use std::{
    collections::{HashSet, VecDeque},
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::{
    Stream, StreamExt,
    stream::{self, BoxStream, Fuse, FusedStream},
};

use super::items::{
    AllRequestsItem, AllRequestsOptions, AllRequestsSummary, FailureKind, SharedSummary, SubscriptionFailure,
    SubscriptionRequest, with_summary,
};
use crate::{
    core::Core,
    error::{Error, Result},
    listing::{RequestFilter, RequestsListOptions},
    pipeline::gate::Gate,
    requests::RequestsClient,
    status::SubscriptionState,
    subscriptions::{Subscription, SubscriptionsClient},
    validate,
};

/// `core` sending through a new shared throttling gate, and the gate. Every tenant-wide call (the listing,
/// `find_request`, the tenant watch) sends all its requests through one of its own.
pub(super) fn gated(core: &Core) -> (Core, Gate) {
    let gate = Gate::default();
    (Core::new(core.pipeline().with_gate(gate.clone())), gate)
}

/// The lazy stream of a tenant-wide listing: see [`CustomerLockboxClient::all_requests`]. Items come in no
/// particular order across subscriptions; within one subscription, in the service's order.
///
/// [`CustomerLockboxClient::all_requests`]: crate::CustomerLockboxClient::all_requests
pub struct AllRequests {
    inner: BoxStream<'static, Result<AllRequestsItem>>,
    /// The shared throttling gate its requests go through, for the count of `429`s.
    gate: Gate,
    summary: SharedSummary,
    /// Set once an `Err` was yielded: the stream has ended, and nothing more is sent.
    ended: bool,
}

impl fmt::Debug for AllRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllRequests").field("summary", &self.summary()).finish_non_exhaustive()
    }
}

impl AllRequests {
    /// The next item, under the crate's one stream contract (the crate documentation, "Listings and
    /// watches"): `Ok(None)` at the end. Usable without importing `StreamExt`. A subscription's own failure is
    /// an [`AllRequestsItem::Failed`] item, and the others go on.
    ///
    /// # Errors
    /// The subscriptions could not be listed, or the credential gave no token ([`Error::Credential`], which no
    /// subscription can get past). It ends the stream, like a [`Listing`](crate::Listing)'s: the next call
    /// gives `Ok(None)`.
    pub async fn try_next(&mut self) -> Result<Option<AllRequestsItem>> {
        self.next().await.transpose()
    }

    /// What the listing did so far (complete once the stream has ended).
    pub fn summary(&self) -> AllRequestsSummary {
        let mut summary = with_summary(&self.summary, |s| s.clone());
        summary.throttled = self.gate.throttled();
        summary
    }
}

impl Stream for AllRequests {
    type Item = Result<AllRequestsItem>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let item = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Err(_))) = &item {
            // The listings still in flight are dropped with the stream; none is started.
            self.ended = true;
        }
        item
    }
}

/// The subscription id of a listed subscription: `subscriptionId`, else the last segment of `id`.
pub(super) fn subscription_id(subscription: &Subscription) -> Option<String> {
    subscription
        .subscription_id
        .clone()
        .or_else(|| subscription.id.as_deref().and_then(|id| id.rsplit('/').find(|s| !s.is_empty()).map(str::to_owned)))
}

/// How many listed subscriptions are read ahead of the listings, per listing running at a time.
///
/// `Subscriptions_List` answers a page at a time, and a pager asks for the next page only once the current
/// one is used up. Without reading ahead, every listing slot that frees up while that page is fetched stays
/// idle for its round trip, at every page. Reading a few rounds of subscriptions ahead lets the fetch of the
/// next page overlap the listings of the current one: in `examples/tenant_scale.rs` (1,000 subscriptions in
/// pages of 50, 20 ms per answer) the tenant-wide listing went from 2.1 s to 1.6 s. Only subscription ids are
/// held; no Lockbox request is sent earlier.
const READ_AHEAD_PER_LISTING: usize = 4;

/// The subscriptions to cover, each once (compared without regard to case, the first spelling kept): the
/// given ones (checked as GUIDs), or the active ones listed, the others counted as skipped; listed ones are
/// read ahead by `concurrency` × [`READ_AHEAD_PER_LISTING`].
fn targets(
    core: &Core,
    given: Option<Vec<String>>,
    concurrency: usize,
    summary: SharedSummary,
) -> Result<BoxStream<'static, Result<Arc<str>>>> {
    if let Some(given) = given {
        let mut seen = HashSet::new();
        let mut ids: Vec<Arc<str>> = Vec::new();
        for id in &given {
            let id = validate::guid("subscriptions", id)?;
            if seen.insert(id.to_ascii_lowercase()) {
                ids.push(Arc::from(id));
            }
        }
        return Ok(stream::iter(ids.into_iter().map(Ok)).boxed());
    }
    let mut seen = HashSet::new();
    let listed = SubscriptionsClient::new(core.clone()).list(None).filter_map(move |listed| {
        let target = match listed {
            Err(error) => Some(Err(error)),
            Ok(subscription) => match subscription_id(&subscription) {
                None => None,
                // Listed before, on an earlier page: covered already.
                Some(id) if !seen.insert(id.to_ascii_lowercase()) => None,
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
    Ok(ReadAhead::new(listed, concurrency.saturating_mul(READ_AHEAD_PER_LISTING)).boxed())
}

/// A stream that takes the items of `inner` as soon as they are ready, up to `capacity` ahead of its
/// consumer, so that what produces them (a pager fetching its next page) makes progress whenever this
/// stream is polled, not only once the consumer has used up what came before. Order is kept.
struct ReadAhead<S: Stream> {
    inner: Fuse<S>,
    ahead: VecDeque<S::Item>,
    capacity: usize,
}

impl<S: Stream> ReadAhead<S> {
    fn new(inner: S, capacity: usize) -> Self {
        Self { inner: inner.fuse(), ahead: VecDeque::new(), capacity: capacity.max(1) }
    }
}

impl<S: Stream<Item: Unpin> + Unpin> Stream for ReadAhead<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        // Pending leaves `inner` holding this task's waker; a full buffer means the consumer polls again.
        while this.ahead.len() < this.capacity {
            match this.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => this.ahead.push_back(item),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        match this.ahead.pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None if this.inner.is_terminated() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

/// One subscription's listing as tenant items: its requests (each once: the ids seen are kept while it runs),
/// then a failure item if it failed.
fn one_listing(
    core: Core,
    subscription_id: Arc<str>,
    filter: Option<RequestFilter>,
    summary: SharedSummary,
) -> BoxStream<'static, Result<AllRequestsItem>> {
    let requests = RequestsClient::new(core, subscription_id.to_string());
    let pager = requests.list(Some(RequestsListOptions { filter, continuation: None }));
    stream::unfold(Some((pager, HashSet::new())), move |state| {
        let subscription_id = subscription_id.clone();
        let summary = summary.clone();
        async move {
            let (mut pager, mut seen) = state?;
            let mut next = pager.try_next().await;
            // Shown on an earlier page too (the listing's offsets shifted while it was paged): taken once.
            while let Ok(Some(request)) = &next
                && let Some(id) = request.request_id()
                && !seen.insert(id.to_owned())
            {
                next = pager.try_next().await;
            }
            match next {
                Ok(Some(request)) => {
                    with_summary(&summary, |s| s.requests = s.requests.saturating_add(1));
                    let item = AllRequestsItem::Request(SubscriptionRequest { subscription_id, request });
                    Some((Ok(item), Some((pager, seen))))
                }
                Ok(None) => {
                    with_summary(&summary, |s| s.listed = s.listed.saturating_add(1));
                    None
                }
                // No token: no subscription can get past that, so it is the stream's error (which ends it), not
                // one failure item per subscription, each asking the credential again.
                Err(error @ Error::Credential(_)) => Some((Err(error), None)),
                Err(error) => {
                    let kind = FailureKind::of(&error);
                    tracing::debug!(subscription_id = &*subscription_id, ?kind, "listing of a subscription failed");
                    with_summary(&summary, |s| s.failed.push((subscription_id.to_string(), kind)));
                    Some((Ok(AllRequestsItem::Failed(SubscriptionFailure { subscription_id, kind, error })), None))
                }
            }
        }
    })
    .boxed()
}

/// See [`CustomerLockboxClient::all_requests`](crate::CustomerLockboxClient::all_requests).
pub(crate) fn all_requests(core: &Core, options: AllRequestsOptions) -> Result<AllRequests> {
    let summary = SharedSummary::default();
    let (core, gate) = gated(core);
    let targets = targets(&core, options.subscriptions, options.concurrency, summary.clone())?;
    let filter = options.filter;
    let per_subscription = summary.clone();
    let merged = targets
        .map(move |target| match target {
            Ok(id) => one_listing(core.clone(), id, filter.clone(), per_subscription.clone()),
            Err(error) => stream::once(futures::future::ready(Err(error))).boxed(),
        })
        .flatten_unordered(options.concurrency.max(1))
        .boxed();
    Ok(AllRequests { inner: merged, gate, summary, ended: false })
}

/// See [`CustomerLockboxClient::find_request`](crate::CustomerLockboxClient::find_request).
pub(crate) async fn find_request(
    core: &Core,
    request_id: &str,
    options: AllRequestsOptions,
) -> Result<Option<SubscriptionRequest>> {
    let request_id: Arc<str> = validate::request_id(request_id)?.into();
    if let Some(filter) = &options.filter {
        return Err(Error::invalid(
            "filter",
            format!("find_request reads the request by id, so the filter {:?} has nothing to narrow", filter.as_str()),
        ));
    }
    let (core, _gate) = gated(core);
    let targets = targets(&core, options.subscriptions, options.concurrency, SharedSummary::default())?;
    let mut lookups = targets
        .map(move |target| {
            let core = core.clone();
            let request_id = request_id.clone();
            async move {
                let subscription_id = target?;
                let requests = RequestsClient::new(core, subscription_id.to_string());
                match requests.get(&request_id, None).await {
                    Ok(request) => Ok(Lookup::Found(Box::new(SubscriptionRequest { subscription_id, request }))),
                    // No token: no other subscription can be asked either, so the search ends with it.
                    Err(error @ Error::Credential(_)) => Err(error),
                    Err(error) => {
                        let kind = FailureKind::of(&error);
                        tracing::debug!(
                            subscription_id = &*subscription_id,
                            ?kind,
                            "request not found in a subscription"
                        );
                        Ok(match kind {
                            // The subscription answered: not there (404), or not readable by this caller.
                            FailureKind::NotFound | FailureKind::Forbidden | FailureKind::NotRegistered => {
                                Lookup::Absent
                            }
                            // No answer that tells (5xx or 429 past the retries, a transport failure, ...):
                            // the request may be there.
                            _ => Lookup::Unknown(error),
                        })
                    }
                }
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .boxed();
    let mut unknown = None;
    while let Some(lookup) = lookups.next().await {
        match lookup? {
            // Dropping the stream stops the lookups still in flight; no further subscription is asked.
            Lookup::Found(found) => return Ok(Some(*found)),
            Lookup::Absent => {}
            Lookup::Unknown(error) => {
                unknown.get_or_insert(error);
            }
        }
    }
    // "Nowhere" only when every subscription said so; otherwise the error of one that could not tell.
    unknown.map_or(Ok(None), Err)
}

/// What one subscription's lookup in [`find_request`] learned.
enum Lookup {
    Found(Box<SubscriptionRequest>),
    /// Not there, or not readable by this caller (404, 403, 409 `MissingSubscriptionRegistration`).
    Absent,
    /// The lookup failed without telling whether the subscription has the request.
    Unknown(Error),
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    #[tokio::test]
    async fn read_ahead_pulls_up_to_its_capacity_ahead_of_the_consumer_and_keeps_the_order() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counted = {
            let pulled = pulled.clone();
            stream::iter(0..10).inspect(move |_| {
                pulled.fetch_add(1, SeqCst);
            })
        };
        let mut ahead = ReadAhead::new(counted, 3);
        assert_eq!(pulled.load(SeqCst), 0, "nothing is pulled before the first poll");
        assert_eq!(ahead.next().await, Some(0));
        assert_eq!(pulled.load(SeqCst), 3, "the first poll fills the read-ahead");
        assert_eq!(ahead.next().await, Some(1));
        assert_eq!(pulled.load(SeqCst), 4, "each poll tops it up again");
        assert_eq!(ahead.collect::<Vec<_>>().await, (2..10).collect::<Vec<_>>());
    }
}
