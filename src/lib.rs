//! A typed Rust SDK for **Azure Customer Lockbox** (`Microsoft.CustomerLockbox`, api-version
//! `2018-02-28-preview`): review, approve or deny a Microsoft engineer's request to access your data, watch for new
//! requests across every subscription you can see, and check or switch your tenant's Lockbox opt-in.
//!
//! A decision is recorded once, and the caller is told the truth about it: retries never approve twice, and a
//! decision whose outcome is in doubt is settled by reading the request, never reported as a plain failure.
//!
//! # Reading requests
//!
//! A [`CustomerLockboxClient`] takes any [`TokenCredential`](azure_core::credentials::TokenCredential); its
//! [`requests`](CustomerLockboxClient::requests) are those of one subscription. This lists what waits for a
//! decision, and decides nothing:
//!
//! ```no_run
//! use azure_customer_lockbox::{CustomerLockboxClient, options::RequestsListOptions};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let credential = azure_identity::DeveloperToolsCredential::new(None)?; // `az login` first
//!     let client = CustomerLockboxClient::new(credential, None)?;
//!     let requests = client.requests(&std::env::var("AZURE_SUBSCRIPTION_ID")?)?;
//!     let mut pending = requests.list(Some(RequestsListOptions::pending()));
//!     while let Some(request) = pending.try_next().await? {
//!         let properties = request.properties.clone().unwrap_or_default();
//!         println!("{:?}: {:?}", request.request_id(), properties.justification);
//!     }
//!     Ok(())
//! }
//! ```
//!
//! A listing is a lazy [`Listing`] of items, or of [`Page`]s ([`PageStream`]), narrowed by a [`RequestFilter`] and
//! resumable from a [`ContinuationToken`]; [`RequestsClient::get_with_response`] gives the model in a
//! [`WithCallIds`]. [`SubscriptionsClient`] lists the subscriptions the caller can see, [`OperationsClient`] the
//! provider's operations. Every method that can be configured takes `Option<…Options>` last (`None` is every
//! default): the options and their defaults are in [`options`]; the data types in [`models`].
//!
//! # Deciding one request
//!
//! [`RequestsClient::approve`] and [`RequestsClient::deny`] record a decision on the request you name, exactly
//! once, and give a [`Decision`]: what the service recorded, with the [`CallIds`] an audit log cites.
//!
//! ```no_run
//! use azure_customer_lockbox::{Error, RequestsClient};
//!
//! async fn approve(requests: &RequestsClient, id: &str) -> Result<(), Error> {
//!     match requests.approve(id, "read access for support case 123", None).await {
//!         Ok(decision) => println!("{}: {}", decision.decision(), decision.call_ids().attempts),
//!         Err(Error::DecisionConflict { current_status, .. }) => println!("already {current_status}"),
//!         Err(error) => return Err(error),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Once a round may have been taken, nothing but the request's own status ends the call:
//! [`Error::DecisionConflict`] when it reached another final status, [`Error::DecisionOutcomeUnknown`] when the
//! call's time ran out with the outcome still unknown. [`options::DecisionOptions::until_final`] also waits for
//! the final status; a long-running operation is a [`Waiter`] of [`WaiterStatus`]es, resumable from a
//! [`ContinuationToken`].
//!
//! # Watching, and every subscription
//!
//! [`RequestsClient::watch`] turns listings into a [`Watch`] of [`WatchEvent`]s, a listing every
//! [`options::WatchOptions::interval`] (at least [`options::MIN_WATCH_INTERVAL`], to spare Resource Manager's
//! read budget).
//! [`CustomerLockboxClient::all_requests`], [`find_request`](CustomerLockboxClient::find_request) and
//! [`watch_all_requests`](CustomerLockboxClient::watch_all_requests) cover every subscription the caller can
//! see, a few at a time, with one throttling gate: their types are in [`every_subscription`]. "Tenant" means one
//! thing only, the tenant's own Lockbox opt-in: the [`TenantClient`].
//!
//! # Listings and watches: one contract
//!
//! Every listing ([`Listing`], [`PageStream`], [`every_subscription::AllRequests`]) and every watch ([`Watch`],
//! [`every_subscription::AllRequestsWatch`]) is a [`Stream`](futures::Stream) of [`Result`]s driven by its
//! consumer (nothing is sent before it is first polled, no task is spawned, dropping it stops it), and has a
//! `try_next(&mut self) -> Result<Option<T>>` that needs no import. Each of them obeys this:
//!
//! - `Ok(Some(item))` is the next item.
//! - `Ok(None)` is the end, and only the end: every later call gives `Ok(None)` again and sends nothing. A
//!   watch never ends by itself, so it never gives `Ok(None)`.
//! - `Err(error)` is one failure, given once. Calling again is always allowed: a stream that can go on gives its
//!   next item (a watch lists again, after its own backoff, so calling again at once cannot hammer the service);
//!   one that cannot gives `Ok(None)` (a listing whose next page is unknown).
//!
//! So `while let Some(item) = stream.try_next().await? { … }` reads a listing to its end or stops at its
//! first failure, and a loop that reports an `Err` and calls again keeps a watch going. Across subscriptions,
//! one subscription's failure is an item naming it, and the others go on; an `Err` is a failure of the whole.
//!
//! # Errors, retries and limits
//!
//! Every failure is an [`Error`] (the crate's [`Result`]): bad input before anything is sent, a refusal by the service with its ARM error
//! ([`ServiceError`]), a transport failure classified as a [`TransportKind`], a timeout. What can pass on a retry
//! is retried ([`options::Retries`]); a certificate or DNS failure is not.
//!
//! # Testing against the emulator
//!
//! The crate [`azure_customer_lockbox_emulator`](https://docs.rs/azure_customer_lockbox_emulator) is a local,
//! stateful emulator of the service on loopback, with fault injection, for your own tests. Point
//! [`CustomerLockboxClientOptions::for_endpoint`] at it and use a [`StaticTokenCredential`]:
//!
//! ```
//! use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, StaticTokenCredential};
//! use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let emulator = Emulator::start(EmulatorConfig::default()).await?;
//!     let subscription = "00000000-0000-0000-0000-000000000001";
//!     let id = emulator.create_request(subscription, NewLockboxRequest::default());
//!
//!     let options = CustomerLockboxClientOptions::for_endpoint(emulator.url())?;
//!     let client = CustomerLockboxClient::new(StaticTokenCredential::new("test"), Some(options))?;
//!     let decision = client.requests(subscription)?.deny(&id, "no open support case", None).await?;
//!     assert_eq!(decision.decision().as_str(), "Deny");
//!     assert_eq!(emulator.decisions().len(), 1);
//!     emulator.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! # Authentication, clouds and TLS
//!
//! Any [`azure_identity`](https://docs.rs/azure_identity) credential works; tokens are cached and shared, never
//! logged, and sent only to the configured endpoint. [`CustomerLockboxClientOptions`] chooses the cloud (with
//! the [`Audience`] of a custom one), timeouts, retries and an application id. HTTPS is this crate's own choice:
//! the `rustls` feature (the default, with the *ring* provider), `rustls-aws-lc-rs`, or `native-tls`; the
//! [`reqwest`] it is built on is re-exported, so a client you build for
//! [`CustomerLockboxClientOptions::http_client`] always matches.
//!
//! The crate's README (on [crates.io](https://crates.io/crates/azure_customer_lockbox)) has the two commands
//! that run an example against the local emulator and the tests, the command-line tool, and how the crate is
//! built.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(clippy::arithmetic_side_effects)]

mod across;
mod auth;
mod call_ids;
mod client;
mod client_options;
mod cloud;
mod core;
mod deadline;
mod decision;
mod error;
mod generated;
mod interop;
mod listing;
pub mod models;
mod operation;
mod operations;
mod pager;
mod pipeline;
mod read;
mod requests;
mod response;
mod retry;
mod status;
mod subscriptions;
mod tenant;
mod validate;
mod waiter;
mod watch;

// The root: the clients and what every caller meets (at most 35 names; `tests/it/docs.rs` counts them). The
// rest lives in four topic modules below, each type in one place.
pub use auth::StaticTokenCredential;
pub use call_ids::CallIds;
pub use client::CustomerLockboxClient;
pub use client_options::CustomerLockboxClientOptions;
pub use cloud::Audience;
pub use decision::Decision;
pub use error::{Error, Result, ServiceError, TransportKind};
pub use listing::RequestFilter;
pub use operations::OperationsClient;
pub use pager::{ContinuationToken, Listing, Page, PageStream};
pub use requests::RequestsClient;
pub use response::WithCallIds;
pub use subscriptions::SubscriptionsClient;
pub use tenant::TenantClient;
pub use waiter::{Waiter, WaiterStatus};
pub use watch::{Watch, WatchEvent};

/// The options of every method, and the defaults and limits they name.
///
/// Each method that can be configured takes `Option<…Options>` as its last argument (`None` is every default),
/// as azure_core's clients do; each options type documents the default of every field, so start from `Default`:
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::options::{DecisionOptions, WaiterOptions};
///
/// // Decide, then wait (at most 10 minutes, decision included) until the request's status is final.
/// let options = DecisionOptions {
///     until_final: Some(WaiterOptions { timeout: Some(Duration::from_secs(600)), ..Default::default() }),
///     ..Default::default()
/// };
/// assert!(options.follow.timeout.is_none());
/// ```
pub mod options {
    pub use crate::across::{
        AllRequestsOptions, AllRequestsWatchOptions, DEFAULT_ALL_REQUESTS_CONCURRENCY, DEFAULT_SUBSCRIPTIONS_REFRESH,
    };
    pub use crate::client_options::{DEFAULT_API_VERSION, DEFAULT_MAX_RESPONSE_BODY};
    pub use crate::decision::DecisionOptions;
    pub use crate::listing::RequestsListOptions;
    pub use crate::operations::OperationsListOptions;
    pub use crate::read::{ReadOptions, SubscriptionsListOptions};
    pub use crate::retry::{ExponentialRetries, FixedRetries, Retries};
    pub use crate::validate::MAX_REASON_LEN;
    pub use crate::waiter::{MAX_POLL_WAIT, WaiterOptions};
    pub use crate::watch::{MIN_WATCH_INTERVAL, WatchOptions};
}

/// Every subscription at once: the stream of [`CustomerLockboxClient::all_requests`], the result of
/// [`CustomerLockboxClient::find_request`] and the watch of [`CustomerLockboxClient::watch_all_requests`].
///
/// Their options are in [`options`] ([`AllRequestsOptions`](crate::options::AllRequestsOptions),
/// [`AllRequestsWatchOptions`](crate::options::AllRequestsWatchOptions)).
pub mod every_subscription {
    pub use crate::across::{
        AllRequests, AllRequestsItem, AllRequestsSummary, AllRequestsWatch, AllRequestsWatchEvent, FailureKind,
        SubscriptionFailure, SubscriptionRequest,
    };
}

/// The HTTP client library this crate is built on, re-exported as part of its API: the
/// [`http_client`](CustomerLockboxClientOptions::http_client) option takes a [`reqwest::Client`], and
/// [`Error::Transport`] carries a [`reqwest::Error`]. Use this path so your `reqwest` is always the one the
/// SDK was built with.
pub use reqwest;

/// The README's code blocks, compiled (and, unless marked `no_run`, run) as doctests by `cargo test`, so that
/// every block a reader copies from GitHub or crates.io compiles as shown.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
