#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod cloud;
mod error;
mod generated;
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
pub use cloud::CloudConfiguration;
pub use error::{ArmAdditionalInfo, ArmErrorDetail, Error, Result, ServiceError};
pub use pager::{ContinuationToken, Page, PageStream, Pager};
pub use poller::{Poller, PollerOptions, PollerStatus, ResumeToken};
pub use requests::{RequestFilter, RequestsClient, RequestsListOptions};
pub use retry::{ExponentialRetryOptions, FixedRetryOptions, RetryOptions};
pub use validate::MAX_REASON_LEN;
pub use watch::{MIN_WATCH_INTERVAL, Watch, WatchEvent, WatchOptions};
