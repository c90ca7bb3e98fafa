//! One watch over the whole tenant ([`AllRequestsWatch`]): the watch of `watch.rs` run for every active
//! subscription, the set of subscriptions read again every [`AllRequestsWatchOptions::refresh`] so that a new
//! subscription's watch starts and a removed one's ends quietly. Like the tenant-wide listing, the watch sends
//! all its requests through one shared throttling gate (`gated` of `listing.rs`).
//!
//! A subscription listed twice (its offsets shifted while `Subscriptions_List` was paged) is watched once. A
//! subscription that appears after the first reading reports, without
//! [`WatchOptions::emit_existing`], every request created since the watch started (its first listing is not
//! all baseline: those requests are new to the caller).
//!
//! It obeys the crate's one stream contract (the crate documentation, "Listings and watches") as a watch does:
//! it never ends, and goes on after an `Err`. As in the tenant-wide listing, an `Err` is a failure of the whole
//! (the subscriptions could not be listed; the watches keep going and the listing is tried again at the next
//! refresh), and one subscription's failure is an item naming it ([`AllRequestsWatchEvent::Failed`]).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures::{
    Stream, StreamExt,
    future::{AbortHandle, Abortable, BoxFuture},
    stream::{BoxStream, SelectAll},
};

use super::{
    items::{FailureKind, SubscriptionFailure},
    listing::{gated, subscription_id},
};
use crate::{
    core::Core,
    deadline::Deadline,
    error::Result,
    requests::RequestsClient,
    status::SubscriptionState,
    subscriptions::SubscriptionsClient,
    watch::{FirstListing, WatchEvent, WatchOptions, checked_interval},
};

/// How much earlier than the watch's start (by the caller's clock) a request of a subscription that appears
/// later may be created and still be reported new: the service writes creation times to the second, and its
/// clock and the caller's differ a little. Reporting a request created just before the start is harmless;
/// missing one created just after is not.
const CLOCK_ALLOWANCE: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The default of [`AllRequestsWatchOptions::refresh`]: the set of subscriptions is read again every 5 minutes.
pub const DEFAULT_SUBSCRIPTIONS_REFRESH: Duration = Duration::from_secs(300);

/// Options of [`CustomerLockboxClient::watch_all_requests`](crate::CustomerLockboxClient::watch_all_requests). Every field has
/// a documented default; start from `Default`.
#[derive(Clone, Debug)]
pub struct AllRequestsWatchOptions {
    /// The options of each subscription's watch (interval, filter, ...). The default is `WatchOptions::default()`.
    pub watch: WatchOptions,
    /// Time between two readings of the set of subscriptions. The default is
    /// [`DEFAULT_SUBSCRIPTIONS_REFRESH`]. Each reading is a listing of the subscriptions, so the floor of
    /// [`WatchOptions::interval`] applies: a value below
    /// [`MIN_WATCH_INTERVAL`](crate::options::MIN_WATCH_INTERVAL) is refused with
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) (except against a loopback endpoint, the emulator).
    pub refresh: Duration,
}

impl Default for AllRequestsWatchOptions {
    fn default() -> Self {
        Self { watch: WatchOptions::default(), refresh: DEFAULT_SUBSCRIPTIONS_REFRESH }
    }
}

/// An event of a tenant-wide watch.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant, reason = "the large variant is the common one; boxing it costs every event")]
pub enum AllRequestsWatchEvent {
    /// A subscription appeared (or was seen on the first reading): its watch starts.
    SubscriptionAdded(Arc<str>),
    /// A subscription is gone from the listing, or is no longer active: its watch ended.
    SubscriptionRemoved(Arc<str>),
    /// An event of one subscription's watch (see [`WatchEvent`]).
    Request {
        /// The subscription (GUID).
        subscription_id: Arc<str>,
        /// What happened.
        event: WatchEvent,
    },
    /// One subscription's watch failed to list, as its [`Watch::try_next`](crate::Watch::try_next) says an
    /// `Err`: at once for a failure that is not transient, after
    /// [`WatchOptions::max_consecutive_failures`] in a row for a transient one. That watch goes on, and so do
    /// the others.
    Failed(SubscriptionFailure),
    /// The subscriptions were listed and none is active: the caller can read no subscription (or only
    /// disabled ones), so there is nothing to watch. Sent after every such reading (the first one included),
    /// so that a watch over nothing is never silent; a later reading that finds a subscription starts its
    /// watch as usual.
    NoSubscriptions,
}

/// A watch over every subscription's requests: see
/// [`CustomerLockboxClient::watch_all_requests`](crate::CustomerLockboxClient::watch_all_requests).
pub struct AllRequestsWatch {
    /// Its requests go through one shared throttling gate: a `429` on one subscription's listing holds back
    /// the others.
    inner: Watches,
}

impl fmt::Debug for AllRequestsWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllRequestsWatch").field("subscriptions", &self.inner.running.len()).finish_non_exhaustive()
    }
}

impl AllRequestsWatch {
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an interval or a refresh below the floor of the endpoint.
    pub(crate) fn new(core: Core, mut options: AllRequestsWatchOptions) -> Result<Self> {
        let on_loopback = core.pipeline().on_loopback();
        options.refresh = checked_interval("refresh", options.refresh, on_loopback)?;
        options.watch.interval = checked_interval("interval", options.watch.interval, on_loopback)?;
        let (core, _gate) = gated(&core);
        let watches = Watches {
            core,
            options,
            watches: SelectAll::new(),
            running: HashMap::new(),
            refreshing: None,
            // The first reading happens at the first poll (and no timer is made before: a watch can be made
            // outside a runtime).
            next_refresh: None,
            pending: Default::default(),
            started: None,
            first_reading: true,
        };
        Ok(Self { inner: watches })
    }

    /// The subscriptions being watched now.
    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        self.inner.running.keys().cloned().collect()
    }

    /// The next event, under the crate's one stream contract (the crate documentation, "Listings and
    /// watches"), as [`Watch::try_next`](crate::Watch::try_next) gives: it waits as long as needed, and the
    /// watch never ends by itself, so this is never `Ok(None)`. Usable without importing `StreamExt`.
    ///
    /// # Errors
    /// The subscriptions could not be listed. The watches already running go on, and the subscriptions are
    /// listed again at the next refresh: call again. (One subscription's failure is an
    /// [`AllRequestsWatchEvent::Failed`] item.)
    pub async fn try_next(&mut self) -> Result<Option<AllRequestsWatchEvent>> {
        self.next().await.transpose()
    }
}

impl Stream for AllRequestsWatch {
    type Item = Result<AllRequestsWatchEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// The watches of a [`AllRequestsWatch`] and the refresh of their subscriptions.
struct Watches {
    core: Core,
    options: AllRequestsWatchOptions,
    watches: SelectAll<BoxStream<'static, AllRequestsWatchEvent>>,
    running: HashMap<Arc<str>, AbortHandle>,
    refreshing: Option<BoxFuture<'static, Result<Vec<Arc<str>>>>>,
    /// When the next reading is due; `None` before the first, which is due at once.
    next_refresh: Option<Pin<Box<tokio::time::Sleep>>>,
    pending: VecDeque<Result<AllRequestsWatchEvent>>,
    /// When the watch was first polled (the caller's clock).
    started: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether no reading of the subscriptions succeeded yet: their requests are the baseline.
    first_reading: bool,
}

impl Watches {
    fn read_subscriptions(&self) -> BoxFuture<'static, Result<Vec<Arc<str>>>> {
        let mut listing = SubscriptionsClient::new(self.core.clone()).list(None);
        Box::pin(async move {
            let mut active = Vec::new();
            let mut seen = HashSet::new();
            while let Some(subscription) = listing.try_next().await? {
                // Lower case: one subscription, however spelled or often listed, is one watch.
                if subscription.state.as_ref().is_none_or(SubscriptionState::is_active)
                    && let Some(id) = subscription_id(&subscription).map(|id| id.to_ascii_lowercase())
                    && seen.insert(id.clone())
                {
                    active.push(Arc::from(id));
                }
            }
            Ok(active)
        })
    }

    /// Starts the watches of new subscriptions and ends those of removed ones.
    fn apply(&mut self, now: Vec<Arc<str>>) {
        let now: HashSet<Arc<str>> = now.into_iter().collect();
        let none = now.is_empty();
        let gone: Vec<Arc<str>> = self.running.keys().filter(|id| !now.contains(*id)).cloned().collect();
        for id in gone {
            if let Some(handle) = self.running.remove(&id) {
                handle.abort();
            }
            self.pending.push_back(Ok(AllRequestsWatchEvent::SubscriptionRemoved(id)));
        }
        // A subscription that appears later, without emit_existing: the requests created since the start are new.
        let first_listing = match (self.first_reading, self.options.watch.emit_existing, self.started) {
            (false, false, Some(started)) => {
                Some(FirstListing::CreatedSince(started.checked_sub_signed(CLOCK_ALLOWANCE).unwrap_or(started)))
            }
            _ => None,
        };
        for id in now {
            if self.running.contains_key(&id) {
                continue;
            }
            let requests = RequestsClient::new(self.core.clone(), id.to_string());
            let subscription_id = id.clone();
            // The options were checked when the watch was made: the interval cannot be refused here.
            let watch = match requests.watch_with(self.options.watch.clone(), first_listing) {
                Ok(watch) => watch,
                Err(error) => {
                    self.pending.push_back(Err(error));
                    continue;
                }
            };
            let watch = watch.map(move |event| match event {
                Ok(event) => AllRequestsWatchEvent::Request { subscription_id: subscription_id.clone(), event },
                Err(error) => AllRequestsWatchEvent::Failed(SubscriptionFailure {
                    subscription_id: subscription_id.clone(),
                    kind: FailureKind::of(&error),
                    error,
                }),
            });
            let (handle, registration) = AbortHandle::new_pair();
            self.watches.push(Abortable::new(watch, registration).boxed());
            self.running.insert(id.clone(), handle);
            self.pending.push_back(Ok(AllRequestsWatchEvent::SubscriptionAdded(id)));
        }
        if none {
            self.pending.push_back(Ok(AllRequestsWatchEvent::NoSubscriptions));
        }
        self.first_reading = false;
    }
}

impl Stream for Watches {
    type Item = Result<AllRequestsWatchEvent>;
    /// One poll of the watch: the refresh of the subscriptions, then the events of their watches.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.started.get_or_insert_with(|| std::time::SystemTime::now().into());
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.refreshing.is_none()
                && this.next_refresh.as_mut().is_none_or(|next| next.as_mut().poll(cx).is_ready())
            {
                this.refreshing = Some(this.read_subscriptions());
            }
            if let Some(refreshing) = &mut this.refreshing
                && let Poll::Ready(result) = refreshing.as_mut().poll(cx)
            {
                this.refreshing = None;
                let next = Deadline::after(this.options.refresh).instant();
                this.next_refresh = Some(Box::pin(tokio::time::sleep_until(next)));
                match result {
                    Ok(now) => this.apply(now),
                    Err(error) => this.pending.push_back(Err(error)),
                }
                continue;
            }
            return match this.watches.poll_next_unpin(cx) {
                Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(event))),
                // No watch running (or the last one ended): wait for the next reading of the subscriptions.
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            };
        }
    }
}
