//! A typed Rust SDK for **Azure Customer Lockbox** (`Microsoft.CustomerLockbox`, api-version
//! `2018-02-28-preview`): review, approve or deny a Microsoft engineer's request to access your data, watch for new
//! requests across every subscription you can see, and check or switch your tenant's Lockbox opt-in.
//!
//! A decision is recorded once, and the caller is told the truth about it: retries never approve twice, and a
//! decision whose outcome is in doubt is settled by reading the request, never reported as a plain failure.
//!
//! ```no_run
//! use azure_customer_lockbox::CustomerLockboxClient;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let credential = azure_identity::DeveloperToolsCredential::new(None)?; // `az login` first
//!     let client = CustomerLockboxClient::new(credential, None)?;
//!     let requests = client.requests("6a1d3f1e-5b2c-4d8e-9f0a-1b2c3d4e5f60")?;
//!     let mut pending = requests.list_pending();
//!     while let Some(request) = pending.try_next().await? {
//!         let id = request.request_id().unwrap_or_default().to_owned();
//!         let decision = requests.deny(&id, "no open support case", None).await?;
//!         println!("{id}: {}", decision.decision());
//!     }
//!     Ok(())
//! }
//! ```
//!
//! The crate's README (on [crates.io](https://crates.io/crates/azure_customer_lockbox)) has the two commands that
//! run an example against the local emulator and the tests, the command-line tool, and how the crate is built.
//!
//! # Authentication and clouds
//!
//! A [`CustomerLockboxClient`] is made by [`CustomerLockboxClient::new`], which takes any
//! [`azure_core::credentials::TokenCredential`], so every
//! [`azure_identity`](https://docs.rs/azure_identity) credential works; [`StaticTokenCredential`] serves tests
//! and the emulator. [`CustomerLockboxClientOptions`] chooses the cloud (its `cloud`, with the [`Audience`] of a
//! custom one), an endpoint ([`CustomerLockboxClientOptions::for_endpoint`]), timeouts, retries and an
//! application id. Tokens are cached and shared, never logged, and sent only to the configured endpoint.
//!
//! # Deciding safely
//!
//! [`RequestsClient::approve`], [`RequestsClient::deny`] and [`RequestsClient::update_status`] (three ways to
//! decide, one shape: each ends with an `Option<`[`DecisionOptions`]`>`) give a [`Decision`] (what was recorded,
//! with the ids an audit log cites). Once a round may have been taken, nothing but the request's own status ends
//! the call: [`Error::DecisionConflict`] when it reached another final status, [`Error::DecisionOutcomeUnknown`]
//! when the call's bound ended with the outcome still unknown. [`DecisionOptions::until_final`] also waits for
//! the request's final status, as [`RequestsClient::wait_for_decision`] does on its own with a [`Waiter`]
//! ([`WaiterOptions`], [`WaiterStatus`], [`ResumeToken`], [`MAX_POLL_WAIT`]). A reason is at most
//! [`MAX_REASON_LEN`] characters.
//!
//! # Reading, paging and watching
//!
//! [`CustomerLockboxClient::requests`] gives the [`RequestsClient`] of one subscription: [`RequestsClient::get`]
//! (or [`RequestsClient::get_with_response`], a [`WithCallIds`] with the service's ids), and
//! [`RequestsClient::list`] with [`RequestsListOptions`] and a [`RequestFilter`]. A listing is a lazy [`Listing`] of
//! items, or of [`Page`]s ([`PageStream`]) that resume from a [`ContinuationToken`]. [`RequestsClient::watch`]
//! turns listings into a [`Watch`] of [`WatchEvent`]s ([`WatchOptions`], at most every [`MIN_WATCH_INTERVAL`]).
//! The models are in [`models`].
//!
//! # Every subscription
//!
//! [`CustomerLockboxClient::all_requests`] lists the requests of every subscription the caller can see
//! ([`SubscriptionsClient`], [`SubscriptionState`]) as one stream of [`AllRequestsItem`]s ([`AllRequestsOptions`],
//! [`AllRequests`], [`AllRequestsSummary`], [`SubscriptionRequest`], [`SubscriptionFailure`], [`FailureKind`],
//! [`DEFAULT_ALL_REQUESTS_CONCURRENCY`]); [`CustomerLockboxClient::find_request`] finds one request anywhere
//! ([`FindRequestOptions`]); and
//! [`CustomerLockboxClient::watch_all_requests`] watches them all ([`AllRequestsWatch`], [`AllRequestsWatchEvent`],
//! [`AllRequestsWatchOptions`], [`DEFAULT_SUBSCRIPTIONS_REFRESH`]). "Tenant" means one thing only: the tenant's
//! own Lockbox opt-in, the [`TenantClient`]. The provider's operation catalogue is the [`OperationsClient`]
//! ([`OperationsListOptions`]).
//!
//! # Errors, retries and limits
//!
//! Every failure is an [`Error`] ([`Result`]): bad input before anything is sent, a refusal by the service with
//! its ARM error ([`ServiceError`], [`ArmErrorDetail`], [`ArmAdditionalInfo`]), a transport failure (its cause
//! classified as a [`TransportKind`]: a certificate or DNS failure is not retried), a timeout.
//! Requests that can pass on a retry are retried ([`Retries`], [`ExponentialRetries`],
//! [`FixedRetries`]). Answers are read up to [`DEFAULT_MAX_RESPONSE_BODY`]; the API version is
//! [`DEFAULT_API_VERSION`].
//!
//! # The emulator
//!
//! The crate [`azure_customer_lockbox_emulator`](https://docs.rs/azure_customer_lockbox_emulator) is a local,
//! stateful emulator of the service on loopback, with fault injection, for your own tests: point
//! [`CustomerLockboxClientOptions::for_endpoint`] at it and use a [`StaticTokenCredential`].
//!
//! # TLS
//!
//! HTTPS is this crate's own choice: the `rustls` feature (the default, with the *ring* provider),
//! `rustls-aws-lc-rs`, or `native-tls`. The [`reqwest`] it is built on is re-exported, so a client you build for
//! [`CustomerLockboxClientOptions::http_client`] always matches.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(clippy::arithmetic_side_effects)]

mod across;
mod auth;
mod client;
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
mod options;
mod pager;
mod pipeline;
mod requests;
mod response;
mod retry;
mod status;
mod subscriptions;
mod tenant;
mod validate;
mod waiter;
mod watch;

pub use across::{
    AllRequests, AllRequestsItem, AllRequestsOptions, AllRequestsSummary, AllRequestsWatch, AllRequestsWatchEvent,
    AllRequestsWatchOptions, DEFAULT_ALL_REQUESTS_CONCURRENCY, DEFAULT_SUBSCRIPTIONS_REFRESH, FailureKind,
    FindRequestOptions, SubscriptionFailure, SubscriptionRequest,
};
pub use auth::StaticTokenCredential;
pub use client::CustomerLockboxClient;
pub use cloud::Audience;
pub use decision::{Decision, DecisionOptions};
pub use error::{ArmAdditionalInfo, ArmErrorDetail, Error, Result, ServiceError, TransportKind};
pub use listing::{RequestFilter, RequestsListOptions};
pub use operations::{OperationsClient, OperationsListOptions};
pub use options::{CustomerLockboxClientOptions, DEFAULT_API_VERSION, DEFAULT_MAX_RESPONSE_BODY};
pub use pager::{ContinuationToken, Listing, Page, PageStream};
pub use requests::RequestsClient;
pub use response::WithCallIds;
pub use retry::{ExponentialRetries, FixedRetries, Retries};
pub use subscriptions::{SubscriptionState, SubscriptionsClient};
pub use tenant::TenantClient;
pub use validate::MAX_REASON_LEN;
pub use waiter::{MAX_POLL_WAIT, ResumeToken, Waiter, WaiterOptions, WaiterStatus};
pub use watch::{MIN_WATCH_INTERVAL, Watch, WatchEvent, WatchOptions};

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
