//! Watching a subscription's access requests: a stream of what changed between listings.
//!
//! [`RequestsClient::watch`](crate::RequestsClient::watch) lists the requests (every page) at an interval with
//! jitter, compares each listing with the previous one by request id, and yields a [`WatchEvent`] for every
//! request that appeared, changed status or disappeared.
//!
//! A paged listing is not a snapshot: a request that leaves it (decided, under a `Pending` filter) while it
//! is paged shifts the later ones back, and the listing skips one; a request that enters it shifts them
//! forward, and the listing shows one twice. So a request listed twice is taken once, and a request missing
//! from one listing is reported [`WatchEvent::Removed`] only once its absence is confirmed: by reading it
//! (gone, or no longer in the filter's status), or, when the read cannot tell, by a second listing without
//! it. Failed listings are retried with backoff. A transient
//! failure (throttling, 5xx, a dropped connection) is yielded as an `Err` only after several consecutive
//! failures; any other failure (401, 403, 404, a credential error, an undecodable page) at once. Either way the
//! watch then keeps going: it obeys the crate's one stream contract (see the crate documentation, "Listings and
//! watches"), as a stream that goes on after an `Err` and never ends.
//!
//! The backoff is the watch's own, not the consumer's: a consumer that calls again at once after an `Err` waits
//! for the next listing all the same, so no loop around the watch can make it hammer Resource Manager.
//!
//! The watch is a plain [`Stream`] driven by its consumer: nothing is sent before it is first polled, no
//! background task is spawned, and dropping it stops it. Waits use `tokio::time`, so tests can run it on a
//! paused clock.
//!
//! It lists through a function `requests.rs` gives it, so it does not depend on the requests client.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, future::BoxFuture, stream::BoxStream};

use crate::{
    error::{Error, Result},
    listing::{RequestFilter, RequestsListOptions},
    models::LockboxRequestResponse,
    pager::Listing,
    retry,
    status::LockboxRequestStatus,
};

mod compare;

/// The shortest [`WatchOptions::interval`] (and [`AllRequestsWatchOptions::refresh`]) a watch of Resource Manager
/// takes: 5 s. A shorter one is refused with [`Error::InvalidArgument`] when the watch is made, before any
/// request.
///
/// Why 5 s: every listing is one read per page, and Resource Manager throttles reads per principal and
/// subscription. Its published limits are 12,000 reads an hour (about 3 a second), or, where the token-bucket
/// scheme applies, a bucket of 250 refilled at 25 a second, with a global limit shared by every principal of
/// the subscription. A watch listing one page every 5 s spends 720 reads an hour, 6 % of the hourly budget,
/// leaving the rest to the decisions, reads and other watchers of the same principal; a 1 ms interval would
/// spend the hour's budget in 12 s and then have every call of that principal answered `429`. Lockbox
/// requests wait hours for a decision: 5 s of latency costs nothing.
///
/// Against a loopback endpoint (the local emulator, in tests; Resource Manager is never there) the floor is
/// 1 ms instead, so tests of the watch stay fast. An endpoint on loopback is chosen deliberately
/// ([`CustomerLockboxClientOptions::endpoint`](crate::CustomerLockboxClientOptions::endpoint)), never by
/// accident against Azure.
///
/// [`AllRequestsWatchOptions::refresh`]: crate::options::AllRequestsWatchOptions::refresh
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// The floor of an interval against a loopback endpoint (the emulator): no busy loop, and tests stay fast.
const LOOPBACK_MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Checks a watch's interval (`name` being the option's name) against the floor of its endpoint: refused below
/// [`MIN_WATCH_INTERVAL`], unless the endpoint is on loopback, where it is raised to 1 ms.
pub(crate) fn checked_interval(name: &'static str, interval: Duration, on_loopback: bool) -> Result<Duration> {
    if on_loopback {
        return Ok(interval.max(LOOPBACK_MIN_INTERVAL));
    }
    if interval < MIN_WATCH_INTERVAL {
        return Err(Error::invalid(
            name,
            format!(
                "{interval:?} is shorter than MIN_WATCH_INTERVAL ({MIN_WATCH_INTERVAL:?}): a watch that lists this \
                 often spends the principal's Resource Manager read budget and gets every call throttled"
            ),
        ));
    }
    Ok(interval)
}

/// Options of [`RequestsClient::watch`](crate::RequestsClient::watch). Every field has a documented default; start from `Default`.
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::{RequestFilter, options::WatchOptions, models::LockboxRequestStatus};
/// let options = WatchOptions {
///     interval: Duration::from_secs(60),
///     filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
///     ..Default::default()
/// };
/// assert_eq!(options.interval, Duration::from_secs(60));
/// ```
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Time between the end of one listing and the start of the next. The default is 30 s. A value below
    /// [`MIN_WATCH_INTERVAL`] (5 s) is refused with [`Error::InvalidArgument`] when the watch is made (except
    /// against a loopback endpoint, the emulator: see there).
    pub interval: Duration,
    /// Relative jitter applied to each wait, so many watchers do not poll in step: a wait is
    /// `interval × (1 ± jitter)`, drawn uniformly. The default is `0.1` (±10 %); it is clamped to `0.0..=1.0`.
    pub jitter: f64,
    /// Only requests matching this filter are watched. The default is `None`: every request. With a filter, a
    /// request that stops matching (for example leaves `Pending`) is reported as [`WatchEvent::Removed`].
    pub filter: Option<RequestFilter>,
    /// Whether the first listing yields [`WatchEvent::New`] for every request already present. The default is
    /// `true`; with `false` the first listing only records what exists, and only later changes are reported.
    /// Either way, [`WatchEvent::InitDone`] says when the first listing is complete.
    pub emit_existing: bool,
    /// How many listings in a row may fail with a transient error ([`Error::is_retryable`]: throttling, 5xx,
    /// transport failures, timeouts) before the failure is yielded as an `Err` ([`Watch::try_next`]). The
    /// default is 3 (each listing is itself retried by the client's retry policy). After yielding the error the
    /// watch goes on, and yields an error again after as many further failures. `0` is treated as `1`. A
    /// failure that is not transient, such as a 403 for missing rights, is yielded at once whatever this says.
    pub max_consecutive_failures: u32,
    /// The longest wait between two listings after failures. After `k` failed listings in a row the watch
    /// waits `interval × 2^(k-1)` (with jitter), at most this long. The default is 5 minutes; a value
    /// smaller than `interval` means failed listings are retried after `interval`.
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            jitter: 0.1,
            filter: None,
            emit_existing: true,
            max_consecutive_failures: 3,
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl WatchOptions {
    /// Default options with the given interval.
    pub fn every(interval: Duration) -> Self {
        Self { interval, ..Default::default() }
    }
}

/// Something that changed between two listings of a [`Watch`].
#[derive(Debug)]
#[non_exhaustive]
pub enum WatchEvent {
    /// A request not seen before (or, on the first listing with [`WatchOptions::emit_existing`], one present).
    New(LockboxRequestResponse),
    /// A known request whose status changed. A request without a status counts as
    /// [`LockboxRequestStatus::Unknown`].
    StatusChanged {
        /// The request as listed now.
        request: LockboxRequestResponse,
        /// The status seen in the previous listing.
        old: LockboxRequestStatus,
        /// The status seen now.
        new: LockboxRequestStatus,
    },
    /// A request that was in the previous listing and is confirmed gone: reading it found no such request, or
    /// found it no longer in the status the filter asks for, or (when the read could not tell) two listings in
    /// a row did not hold it. A request merely missing from one listing (a paged listing skips one when
    /// another leaves it while it is paged) is not reported.
    Removed {
        /// The request's id.
        request_id: String,
    },
    /// The first listing is complete: `requests` requests were in it, each reported as [`WatchEvent::New`]
    /// before this (with [`WatchOptions::emit_existing`]) or taken as the baseline (without). Sent once.
    InitDone {
        /// How many requests the first listing held.
        requests: usize,
    },
}

impl WatchEvent {
    /// The id of the request the event is about; `None` for [`WatchEvent::InitDone`].
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::New(request) | Self::StatusChanged { request, .. } => request.request_id(),
            Self::Removed { request_id } => Some(request_id),
            Self::InitDone { .. } => None,
        }
    }
}

/// A stream of [`WatchEvent`]s about the requests of a subscription. Returned by
/// [`RequestsClient::watch`](crate::RequestsClient::watch).
///
/// It is a [`futures::Stream`][Stream] of `Result<WatchEvent>` under the crate's one stream contract (the crate
/// documentation, "Listings and watches"): a failed listing is an `Err`, after which the watch goes on, and the
/// watch never ends by itself, so it never yields `None`. Drop it to stop watching; nothing keeps running
/// afterwards. Without importing `StreamExt`, use [`try_next`](Self::try_next).
///
/// [Stream]: https://docs.rs/futures/0.3/futures/stream/trait.Stream.html
pub struct Watch {
    inner: BoxStream<'static, Result<WatchEvent>>,
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

/// Lists the requests with the given options.
type List = Box<dyn Fn(RequestsListOptions) -> Listing<LockboxRequestResponse> + Send>;

/// Reads one request by id.
pub(crate) type Read = Box<dyn Fn(String) -> BoxFuture<'static, Result<LockboxRequestResponse>> + Send>;

/// What the first listing of a watch reports as [`WatchEvent::New`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum FirstListing {
    /// Every request (`emit_existing: true`).
    Everything,
    /// None (`emit_existing: false`).
    Nothing,
    /// The requests created at or after this instant, and those with no creation time (a subscription that
    /// appears after a tenant-wide watch started, without `emit_existing`).
    CreatedSince(DateTime<Utc>),
}

struct State {
    list: List,
    read: Read,
    first_listing: FirstListing,
    options: WatchOptions,
    /// Ids missing from the last listing whose absence a read could not confirm: a second listing without
    /// them does.
    unconfirmed: HashSet<String>,
    /// Request id → last status seen; `None` before the first successful listing.
    known: Option<HashMap<String, LockboxRequestStatus>>,
    queue: VecDeque<WatchEvent>,
    /// Failed listings in a row.
    failures: u32,
    /// Whether a listing has been made (the first one is not preceded by a wait).
    started: bool,
}

impl Watch {
    /// A watch listing with `list` and confirming absences with `read`; `first_listing` overrides what
    /// [`WatchOptions::emit_existing`] says of the first listing. The interval has been checked
    /// ([`checked_interval`]).
    pub(crate) fn new(
        list: impl Fn(RequestsListOptions) -> Listing<LockboxRequestResponse> + Send + 'static,
        read: Read,
        mut options: WatchOptions,
        first_listing: Option<FirstListing>,
    ) -> Self {
        options.interval = options.interval.max(LOOPBACK_MIN_INTERVAL);
        options.jitter = if options.jitter.is_finite() { options.jitter.clamp(0.0, 1.0) } else { 0.0 };
        options.max_consecutive_failures = options.max_consecutive_failures.max(1);
        let first_listing = first_listing.unwrap_or(if options.emit_existing {
            FirstListing::Everything
        } else {
            FirstListing::Nothing
        });
        let state = State {
            list: Box::new(list),
            read,
            first_listing,
            options,
            unconfirmed: Default::default(),
            known: None,
            queue: VecDeque::new(),
            failures: 0,
            started: false,
        };
        let inner = futures::stream::unfold(state, |mut state| async move {
            let event = state.next_event().await;
            Some((event, state))
        });
        Self { inner: inner.boxed() }
    }

    /// The next event, under the crate's one stream contract (the crate documentation, "Listings and
    /// watches"). Waits as long as needed: the watch never ends by itself, so this is never `Ok(None)`. Usable
    /// without importing `StreamExt`.
    ///
    /// Cancel-safe: dropping the returned future (in a `select!` or a timeout) loses no event; a listing in
    /// progress carries on at the next call.
    ///
    /// # Errors
    /// A listing's failure: at once for a failure that is not transient ([`Error::is_retryable`] is `false`,
    /// e.g. a 403), after [`WatchOptions::max_consecutive_failures`] failed listings in a row for a transient
    /// one. The watch goes on: call again, and it lists again after its backoff (see
    /// [`WatchOptions::max_backoff`]).
    pub async fn try_next(&mut self) -> Result<Option<WatchEvent>> {
        self.inner.next().await.transpose()
    }
}

impl Stream for Watch {
    type Item = Result<WatchEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl State {
    async fn next_event(&mut self) -> Result<WatchEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            if self.started {
                tokio::time::sleep(self.wait()).await;
            }
            self.started = true;
            match self.list_and_compare().await {
                Ok(()) => self.failures = 0,
                Err(error) => {
                    self.failures = self.failures.saturating_add(1);
                    tracing::debug!(failures = self.failures, %error, "watch: listing failed");
                    // A failure that is not transient (a 403 for missing rights, a 404 for a subscription that
                    // does not exist, a credential error) is said at once: somebody has to act on it. Transient
                    // ones only once they persist. Either way the backoff grows and the watch goes on.
                    if !error.is_retryable() || self.failures.is_multiple_of(self.options.max_consecutive_failures) {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// The wait before the next listing: the interval, doubled for each failure in a row up to the cap, with
    /// jitter.
    fn wait(&self) -> Duration {
        let interval = self.options.interval;
        let base = match self.failures {
            0 => interval,
            failures => retry::doubling(interval, failures, self.options.max_backoff.max(interval)),
        };
        retry::scaled(base, 1.0 + self.options.jitter * (2.0 * fastrand::f64() - 1.0))
    }
}
