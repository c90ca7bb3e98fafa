#![doc = include_str!("../README.md")]
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
mod poller;
mod requests;
mod response;
mod retry;
mod status;
mod subscriptions;
mod tenant;
mod validate;
mod watch;

pub use across::{
    DEFAULT_SUBSCRIPTIONS_REFRESH, DEFAULT_TENANT_CONCURRENCY, FailureKind, SubscriptionFailure, SubscriptionRequest,
    TenantItem, TenantOptions, TenantRequests, TenantSummary, TenantWatch, TenantWatchEvent, TenantWatchOptions,
};
pub use auth::StaticTokenCredential;
pub use client::CustomerLockboxClient;
pub use cloud::Audience;
pub use decision::Decision;
pub use error::{ArmAdditionalInfo, ArmErrorDetail, Error, Result, ServiceError, TransportKind};
pub use listing::{RequestFilter, RequestsListOptions};
pub use operations::{OperationsClient, OperationsListOptions};
pub use options::{CustomerLockboxClientOptions, DEFAULT_API_VERSION, DEFAULT_MAX_RESPONSE_BODY};
pub use pager::{ContinuationToken, Page, PageStream, Pager};
pub use poller::{MAX_POLL_WAIT, Poller, PollerOptions, PollerStatus, ResumeToken};
pub use requests::RequestsClient;
pub use response::Response;
pub use retry::{ExponentialRetryOptions, FixedRetryOptions, RetryOptions};
pub use subscriptions::{SubscriptionState, SubscriptionsClient};
pub use tenant::TenantClient;
pub use validate::MAX_REASON_LEN;
pub use watch::{MIN_WATCH_INTERVAL, Watch, WatchEvent, WatchOptions};

/// The HTTP client library this crate is built on, re-exported as part of its API: the
/// [`http_client`](CustomerLockboxClientOptions::http_client) option takes a [`reqwest::Client`], and
/// [`Error::Transport`] carries a [`reqwest::Error`]. Use this path so your `reqwest` is always the one the
/// SDK was built with.
pub use reqwest;
