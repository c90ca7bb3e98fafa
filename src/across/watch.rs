//! One watch over the whole tenant ([`AllRequestsWatch`]): the watch of `watch.rs` run for every active
//! subscription, the set of subscriptions read again every [`AllRequestsWatchOptions::refresh`] so that a new
//! subscription's watch starts and a removed one's ends quietly. Like the tenant-wide listing, the watch sends
//! all its requests through one shared throttling gate (`gated` of `listing.rs`).
//!
//! A subscription listed twice (its offsets shifted while `Subscriptions_List` was paged) is watched once. A
//! subscription that appears after the first reading reports, without
//! [`WatchOptions::emit_existing`], every request created since the watch started (its first listing is not
//! all baseline: those requests are new to the caller).

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

use super::listing::{gated, subscription_id};
use crate::{
    core::Core,
    deadline::Deadline,
    error::{Error, Result},
    requests::RequestsClient,
    status::SubscriptionState,
    subscriptions::SubscriptionsClient,
    watch::{FirstListing, WatchEvent, WatchOptions},
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
    /// [`DEFAULT_SUBSCRIPTIONS_REFRESH`]; values below 1 ms are raised to it.
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
    pub(crate) fn new(core: Core, mut options: AllRequestsWatchOptions) -> Self {
        options.refresh = options.refresh.max(Duration::from_millis(1));
        let (core, _gate) = gated(&core);
        let watches = Watches {
            core,
            options,
            watches: SelectAll::new(),
            running: HashMap::new(),
            refreshing: None,
            // The first reading happens at the first poll.
            next_refresh: Box::pin(tokio::time::sleep(Duration::ZERO)),
            pending: Default::default(),
            started: None,
            first_reading: true,
        };
        Self { inner: watches }
    }

    /// The subscriptions being watched now.
    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        self.inner.running.keys().cloned().collect()
    }

    /// The next event, as [`Watch::next_event`](crate::Watch::next_event) gives: it waits as long as needed
    /// (the watch never ends by itself), and errors are events
    /// ([`AllRequestsWatchEvent::SubscriptionsFailed`], and a subscription's
    /// [`WatchEvent::Error`](crate::WatchEvent::Error)). Usable without importing `StreamExt`.
    pub async fn next_event(&mut self) -> AllRequestsWatchEvent {
        match self.next().await {
            Some(event) => event,
            // The inner stream never ends; were it to, the watch would have nothing more to say.
            None => std::future::pending().await,
        }
    }
}

impl Stream for AllRequestsWatch {
    type Item = AllRequestsWatchEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AllRequestsWatchEvent>> {
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
    next_refresh: Pin<Box<tokio::time::Sleep>>,
    pending: VecDeque<AllRequestsWatchEvent>,
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
            self.pending.push_back(AllRequestsWatchEvent::SubscriptionRemoved(id));
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
            let watch = requests
                .watch_with(self.options.watch.clone(), first_listing)
                .map(move |event| AllRequestsWatchEvent::Request { subscription_id: subscription_id.clone(), event });
            let (handle, registration) = AbortHandle::new_pair();
            self.watches.push(Abortable::new(watch, registration).boxed());
            self.running.insert(id.clone(), handle);
            self.pending.push_back(AllRequestsWatchEvent::SubscriptionAdded(id));
        }
        if none {
            self.pending.push_back(AllRequestsWatchEvent::NoSubscriptions);
        }
        self.first_reading = false;
    }
}

impl Stream for Watches {
    type Item = AllRequestsWatchEvent;
    /// One poll of the watch: the refresh of the subscriptions, then the events of their watches.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<AllRequestsWatchEvent>> {
        let this = &mut *self;
        this.started.get_or_insert_with(|| std::time::SystemTime::now().into());
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
                this.next_refresh.as_mut().reset(Deadline::after(this.options.refresh).instant());
                match result {
                    Ok(now) => this.apply(now),
                    Err(error) => this.pending.push_back(AllRequestsWatchEvent::SubscriptionsFailed(error)),
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
