#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod cloud;
mod error;
mod generated;
mod interop;
pub mod models;
mod pager;
mod pipeline;
mod poller;
mod requests;
pub mod retry;
mod status;
mod validate;
mod watch;

pub use auth::StaticTokenCredential;
pub use client::{
    CustomerLockboxClient, CustomerLockboxClientOptions, DEFAULT_API_VERSION, DEFAULT_MAX_RESPONSE_BODY,
    OperationsClient, TenantClient,
};
pub use cloud::Audience;
pub use error::{ArmAdditionalInfo, ArmErrorDetail, Error, Result, ServiceError};
pub use pager::{ContinuationToken, Page, PageStream, Pager};
pub use poller::{Poller, PollerOptions, PollerStatus, ResumeToken};
pub use requests::{RequestFilter, RequestsClient, RequestsListOptions};
pub use retry::{ExponentialRetryOptions, FixedRetryOptions, RetryOptions};
pub use validate::MAX_REASON_LEN;
pub use watch::{MIN_WATCH_INTERVAL, Watch, WatchEvent, WatchOptions};

/// The HTTP client library this crate is built on, re-exported as part of its API: the
/// [`http_client`](CustomerLockboxClientOptions::http_client) option takes a [`reqwest::Client`], and
/// [`Error::Transport`] carries a [`reqwest::Error`]. Use this path so your `reqwest` is always the one the
/// SDK was built with.
pub use reqwest;

#[cfg(feature = "emulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "emulator")))]
pub mod emulator;
