//! One watch over the whole tenant ([`TenantWatch`]): the watch of `watch.rs` run for every active
//! subscription, the set of subscriptions read again every [`TenantWatchOptions::refresh`] so that a new
//! subscription's watch starts and a removed one's ends quietly. Like the tenant-wide listing, the watch sends
//! all its requests through one shared throttling gate (`gated` of `listing.rs`).

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
    watch::{WatchEvent, WatchOptions},
};

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
    /// The subscriptions were listed and none is active: the caller can read no subscription (or only
    /// disabled ones), so there is nothing to watch. Sent after every such reading (the first one included),
    /// so that a watch over nothing is never silent; a later reading that finds a subscription starts its
    /// watch as usual.
    NoSubscriptions,
}

/// A watch over every subscription's requests: see
/// [`CustomerLockboxClient::tenant_watch`](crate::CustomerLockboxClient::tenant_watch).
pub struct TenantWatch {
    /// Its requests go through one shared throttling gate: a `429` on one subscription's listing holds back
    /// the others.
    inner: Watches,
}

impl fmt::Debug for TenantWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantWatch").field("subscriptions", &self.inner.running.len()).finish_non_exhaustive()
    }
}

impl TenantWatch {
    pub(crate) fn new(core: Core, mut options: TenantWatchOptions) -> Self {
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
        };
        Self { inner: watches }
    }

    /// The subscriptions being watched now.
    pub fn subscriptions(&self) -> Vec<Arc<str>> {
        self.inner.running.keys().cloned().collect()
    }

    /// The next event. Usable without importing `StreamExt`; a tenant watch never ends by itself.
    pub async fn next_event(&mut self) -> Option<TenantWatchEvent> {
        self.next().await
    }
}

impl Stream for TenantWatch {
    type Item = TenantWatchEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TenantWatchEvent>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// The watches of a [`TenantWatch`] and the refresh of their subscriptions.
struct Watches {
    core: Core,
    options: TenantWatchOptions,
    watches: SelectAll<BoxStream<'static, TenantWatchEvent>>,
    running: HashMap<Arc<str>, AbortHandle>,
    refreshing: Option<BoxFuture<'static, Result<Vec<Arc<str>>>>>,
    next_refresh: Pin<Box<tokio::time::Sleep>>,
    pending: VecDeque<TenantWatchEvent>,
}

impl Watches {
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
        let now: HashSet<Arc<str>> = now.into_iter().collect();
        let none = now.is_empty();
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
        if none {
            self.pending.push_back(TenantWatchEvent::NoSubscriptions);
        }
    }
}

impl Stream for Watches {
    type Item = TenantWatchEvent;
    /// One poll of the watch: the refresh of the subscriptions, then the events of their watches.
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
                this.next_refresh.as_mut().reset(Deadline::after(this.options.refresh).instant());
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
