//! Across subscriptions: the Lockbox requests of every subscription the caller can see, as one stream; a
//! request found by id alone; one watch over the whole tenant.
//!
//! An approver does not think in subscriptions. [`CustomerLockboxClient::all_requests`] lists the
//! subscriptions (`Subscriptions_List`, see `subscriptions.rs`), or takes a given set, and lists the requests
//! of each, [`AllRequestsOptions::concurrency`] subscriptions at a time, merged into one lazy stream of
//! [`AllRequestsItem`]s that each name their subscription:
//!
//! - `Enabled`, `Warned` and `PastDue` subscriptions are listed; `Disabled`, `Deleted` (and unknown states)
//!   are skipped and counted in the [`AllRequestsSummary`].
//! - A subscription whose listing fails (403 `AuthorizationFailed`, 409 `MissingSubscriptionRegistration`, 404,
//!   retries spent, ...) yields one [`AllRequestsItem::Failed`] and the others go on. Only a failure to list the
//!   subscriptions themselves, or a credential that gives no token (which no subscription can get past), is an
//!   `Err` item; it ends the stream.
//! - Memory is bounded by the pages in flight (at most one page per running listing) and the ids seen (each
//!   subscription's, and the request ids of each running listing, to take an item a shifting listing repeats
//!   once), not by the tenant's requests.
//! - Throttling is shared: the requests of one tenant-wide call (a listing, a `find_request`, a tenant watch)
//!   go through one gate (`pipeline/gate.rs`), carried in the pipeline of the client they are sent with. When any request is answered `429` with a retry hint, the gate
//!   holds every request of the call until the hinted instant (`tokio::time`), so the others slow down too
//!   instead of spending the principal's budget further. Each request is still retried by the client's retry
//!   policy as usual.
//!
//! The parts:
//!
//! - `items.rs`: what the calls take and give ([`AllRequestsOptions`], [`AllRequestsItem`], [`FailureKind`],
//!   [`AllRequestsSummary`], ...), plain types.
//! - `listing.rs`: the tenant-wide listing ([`AllRequests`]) and `find_request`: which subscriptions are
//!   covered, each one's listing, their bounded merge under the shared throttling gate.
//! - `watch.rs`: the tenant-wide watch ([`AllRequestsWatch`]), under its own shared throttling gate.
//!
//! `watch` uses `listing` (a subscription's id, and `gated`, a client sending through a new throttling gate),
//! `listing` uses `items`; this file only re-exports. Outside this module they use `core`, `subscriptions`,
//! `requests`, `listing`, `watch`, `pipeline::gate`, `validate` and `error`. Used by `client` (the entry
//! points) and `lib` (the re-exports).

mod items;
mod listing;
mod watch;

pub use items::{
    AllRequestsItem, AllRequestsOptions, AllRequestsSummary, DEFAULT_ALL_REQUESTS_CONCURRENCY, FailureKind,
    SubscriptionFailure, SubscriptionRequest,
};
pub use listing::AllRequests;
pub(crate) use listing::{all_requests, find_request};
pub use watch::{AllRequestsWatch, AllRequestsWatchEvent, AllRequestsWatchOptions, DEFAULT_SUBSCRIPTIONS_REFRESH};
