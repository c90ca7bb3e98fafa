//! The public client: checks its options (`options.rs`) once and builds the crate-private [`Core`] that the
//! per-resource clients (`operations.rs`, `tenant.rs`, `requests.rs`) work with.
//!
//! The only module that names [`CustomerLockboxClient`]; uses `core`, `pipeline` (its settings), `auth`,
//! `cloud`, `retry`, `validate` and the per-resource clients it hands out.

use std::{fmt, sync::Arc, time::Duration};

use azure_core::credentials::TokenCredential;
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use url::Url;

use crate::{
    across::{self, AllRequests, AllRequestsOptions, AllRequestsWatch, AllRequestsWatchOptions, SubscriptionRequest},
    auth::TokenCache,
    client_options::CustomerLockboxClientOptions,
    cloud,
    core::Core,
    error::{Error, Result},
    operations::OperationsClient,
    pager::ContinuationToken,
    pipeline::{Pipeline, Settings, is_loopback},
    requests::RequestsClient,
    subscriptions::SubscriptionsClient,
    tenant::TenantClient,
    validate,
    waiter::{Waiter, WaiterOptions},
};

/// The Customer Lockbox client: the entry point of the SDK.
///
/// Cheap to clone (one `Arc`), `Send + Sync`; share one per process. Its per-resource clients cover the seven
/// operations: [`operations`](Self::operations), [`tenant`](Self::tenant) and [`requests`](Self::requests).
///
/// ```no_run
/// use std::sync::Arc;
/// use azure_customer_lockbox::{CustomerLockboxClient, options::RequestsListOptions};
///
/// async fn print_pending() -> Result<(), Box<dyn std::error::Error>> {
///     let credential = azure_identity::DeveloperToolsCredential::new(None)?;
///     let client = CustomerLockboxClient::new(credential, None)?;
///     let requests = client.requests("00000000-0000-0000-0000-000000000000")?;
///     let mut pending = requests.list(Some(RequestsListOptions::pending()));
///     while let Some(request) = pending.try_next().await? {
///         println!("{:?}", request.name);
///     }
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct CustomerLockboxClient {
    core: Core,
}

impl fmt::Debug for CustomerLockboxClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerLockboxClient").field("pipeline", self.core.pipeline()).finish()
    }
}

const MAX_APPLICATION_ID: usize = 24;

impl CustomerLockboxClient {
    /// Creates a client that authenticates with `credential` (any `azure_identity` credential).
    ///
    /// # Errors
    /// [`Error::Configuration`] when the options are unusable: a custom cloud without an endpoint or an
    /// [`Audience`](crate::Audience), a plain-`http` endpoint on a remote host without
    /// `allow_insecure_http`, an endpoint that cannot be a base URL, an invalid `application_id`, or an
    /// `allowed_poll_origins` entry that is not an `https` origin (see its doc).
    pub fn new(credential: Arc<dyn TokenCredential>, options: Option<CustomerLockboxClientOptions>) -> Result<Self> {
        let options = options.unwrap_or_default();
        let (endpoint, scope) = cloud::resource_manager(&options.cloud, options.endpoint.as_ref())?;
        let endpoint = checked_endpoint(endpoint, options.allow_insecure_http)?;
        let poll_origins = checked_poll_origins(options.allowed_poll_origins, &endpoint)?;
        if options.api_version.trim().is_empty() {
            return Err(Error::Configuration("api_version must not be empty".into()));
        }
        if options.max_response_body == 0 {
            return Err(Error::Configuration("max_response_body must be at least 1 byte".into()));
        }
        let user_agent = user_agent(options.application_id.as_deref())?;
        // A client the SDK builds carries the per-try timeout itself, which spares each attempt a per-request
        // setting (an allocation in reqwest); a client you pass gets it on every attempt.
        let (http, per_try_timeout) = match options.http_client {
            Some(client) => (client, options.per_try_timeout),
            None => {
                install_tls_provider();
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(limit) = options.per_try_timeout {
                    builder = builder.timeout(limit);
                }
                let client =
                    builder.build().map_err(|e| Error::Configuration(format!("cannot build the HTTP client: {e}")))?;
                (client, None)
            }
        };
        let operation_base = Url::parse(endpoint.as_str().trim_end_matches('/'))
            .map_err(|e| Error::Configuration(format!("endpoint {endpoint} is not a usable base URL: {e}")))?;
        let settings = Settings {
            auth: TokenCache::new(credential, scope),
            endpoint,
            poll_origins,
            generated_base: operation_base.as_str().trim_end_matches('/').to_owned(),
            operation_base,
            api_version: options.api_version,
            http,
            user_agent,
            retry: options.retry,
            per_try_timeout,
            call_timeout: options.timeout,
            max_response_body: options.max_response_body,
        };
        Ok(Self { core: Core::new(Pipeline::new(settings)) })
    }

    /// The Resource Manager endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.core.pipeline().settings().endpoint
    }

    /// The provider's operation catalogue (`Operations_List`).
    pub fn operations(&self) -> OperationsClient {
        OperationsClient::new(self.core.clone())
    }

    /// The tenant opt-in operations (`Get_TenantOptedIn`, `Post_EnableLockbox`, `Post_DisableLockbox`).
    pub fn tenant(&self) -> TenantClient {
        TenantClient::new(self.core.clone())
    }

    /// The subscriptions the caller can see (Resource Manager's `Subscriptions_List`, api-version
    /// `2022-12-01`): the starting point of the tenant-wide listings.
    pub fn subscriptions(&self) -> SubscriptionsClient {
        SubscriptionsClient::new(self.core.clone())
    }

    /// The access requests of one subscription (`Requests_Get`, `Requests_List`, `Requests_UpdateStatus`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `subscription_id` is not a GUID.
    pub fn requests(&self, subscription_id: &str) -> Result<RequestsClient> {
        let subscription_id = validate::guid("subscription_id", subscription_id)?;
        Ok(RequestsClient::new(self.core.clone(), subscription_id))
    }

    /// The Lockbox requests of every subscription the caller can see (or of
    /// [`AllRequestsOptions::subscriptions`]), as one lazy stream of items that each name their subscription.
    ///
    /// `Enabled`, `Warned` and `PastDue` subscriptions are listed, [`AllRequestsOptions::concurrency`] at a time
    /// (default [`DEFAULT_ALL_REQUESTS_CONCURRENCY`](crate::options::DEFAULT_ALL_REQUESTS_CONCURRENCY)); `Disabled` and `Deleted`
    /// ones are skipped and counted. A subscription whose listing fails (403, 409
    /// `MissingSubscriptionRegistration`, 404, retries spent) yields a [`AllRequestsItem::Failed`](crate::every_subscription::AllRequestsItem::Failed)
    /// and the rest goes on; [`AllRequests::summary`] tells what was listed, skipped and failed. The filter
    /// applies to every subscription. Memory holds at most one page per running listing. Throttling is shared:
    /// a `429` with a retry hint on any listing holds back every request of the stream until the hinted time.
    /// Nothing is sent until the stream is polled.
    ///
    /// The stream's own `Err` items (see [`AllRequests::try_next`]): the error of `Subscriptions_List`, or
    /// [`Error::Credential`] when the credential gives no token, which no subscription can get past. Either is
    /// yielded once and ends the stream.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a given subscription is not a GUID, before sending.
    pub fn all_requests(&self, options: Option<AllRequestsOptions>) -> Result<AllRequests> {
        across::all_requests(&self.core, options.unwrap_or_default())
    }

    /// Finds a request whose subscription is not known: asks every active subscription (or
    /// [`AllRequestsOptions::subscriptions`]) for it (`Requests_Get`), [`AllRequestsOptions::concurrency`] at a
    /// time (default [`DEFAULT_ALL_REQUESTS_CONCURRENCY`](crate::options::DEFAULT_ALL_REQUESTS_CONCURRENCY)), and stops
    /// as soon as one has it: no further subscription is asked and the lookups in flight are dropped, so at most
    /// `concurrency - 1` subscriptions are asked after the one that has it. A subscription that cannot be read
    /// (403, 409 `MissingSubscriptionRegistration`) counts as not having it: `Ok(None)` means every subscription
    /// answered, and no readable one has the request.
    ///
    /// It takes the options of [`all_requests`](Self::all_requests), which cover the same subscriptions the same
    /// way; a lookup reads the request by id, so there is nothing for a filter to narrow.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad request id, a given subscription that is not a GUID, or a
    /// [`filter`](AllRequestsOptions::filter), before sending; the error of `Subscriptions_List` when the subscriptions cannot be listed;
    /// [`Error::Credential`] at the first lookup that gets no token (no further subscription is asked); and, when no
    /// subscription had the request but one lookup failed without an answer that tells (5xx or 429 past the
    /// retries, a transport failure, a timeout), that lookup's error: the request may be in that subscription,
    /// so "not found" would not be the truth.
    pub async fn find_request(
        &self,
        request_id: &str,
        options: Option<AllRequestsOptions>,
    ) -> Result<Option<SubscriptionRequest>> {
        across::find_request(&self.core, request_id, options.unwrap_or_default()).await
    }

    /// Watches the requests of every active subscription: the watch of
    /// [`RequestsClient::watch`] for each, merged, each event carrying its subscription. The set of
    /// subscriptions is read again every [`AllRequestsWatchOptions::refresh`]: a new subscription's watch starts
    /// (with [`AllRequestsWatchEvent::SubscriptionAdded`](crate::every_subscription::AllRequestsWatchEvent::SubscriptionAdded)), and the watch
    /// of one that disappeared or stopped being active ends quietly
    /// ([`AllRequestsWatchEvent::SubscriptionRemoved`](crate::every_subscription::AllRequestsWatchEvent::SubscriptionRemoved)). A reading that
    /// finds no active subscription says so
    /// ([`AllRequestsWatchEvent::NoSubscriptions`](crate::every_subscription::AllRequestsWatchEvent::NoSubscriptions)). Throttling is shared
    /// as in [`all_requests`](Self::all_requests): a `429` with a retry hint on any subscription's listing
    /// holds back every request of the watch until the hinted time. Like every watch, it is driven by its
    /// consumer, spawns no task, and stops when dropped. A subscription's failing listing is an
    /// [`AllRequestsWatchEvent::Failed`](crate::every_subscription::AllRequestsWatchEvent::Failed) item; a
    /// failure to list the subscriptions is an `Err` (see [`AllRequestsWatch::try_next`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when [`WatchOptions::interval`](crate::options::WatchOptions::interval) or
    /// [`AllRequestsWatchOptions::refresh`] is shorter than
    /// [`MIN_WATCH_INTERVAL`](crate::options::MIN_WATCH_INTERVAL), before anything is sent (against a loopback
    /// endpoint, the emulator, any interval is taken).
    pub fn watch_all_requests(&self, options: Option<AllRequestsWatchOptions>) -> Result<AllRequestsWatch> {
        AllRequestsWatch::new(self.core.clone(), options.unwrap_or_default())
    }
}

impl<T: DeserializeOwned + Send + 'static> Waiter<T> {
    /// Rebuilds a poller from a [`ContinuationToken`], to continue waiting with `client` (possibly in another process).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a token that is not one; [`Error::UnsafeUrl`] when its URLs are not on the
    /// client's endpoint.
    pub fn resume(
        client: &CustomerLockboxClient,
        token: &ContinuationToken,
        options: Option<WaiterOptions>,
    ) -> Result<Self> {
        Self::resume_with(&client.core, token, options)
    }
}

/// With the `rustls` feature (and not `rustls-aws-lc-rs`), reqwest has no crypto provider of its own: install
/// *ring* as the process default unless the application installed one first.
///
/// rustls 0.23.48 deprecates its *ring* provider (it has no post-quantum key exchange) and gives no other way to
/// build one: the choice of *ring* over aws-lc-rs is this crate's (aws-lc-rs is the slowest crate of the tree to
/// build; the `rustls-aws-lc-rs` feature takes it, post-quantum key exchange included), so the call is allowed
/// here, once, rather than warned about in every build of a crate that depends on this one.
fn install_tls_provider() {
    #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc-rs")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another thread installing a provider is fine: there is a provider either way.
        #[allow(deprecated)]
        let ring = rustls::crypto::ring::default_provider();
        let _ = ring.install_default();
    }
}

fn checked_endpoint(endpoint: Url, allow_insecure_http: bool) -> Result<Url> {
    if endpoint.cannot_be_a_base() || endpoint.host().is_none() {
        return Err(Error::Configuration(format!("endpoint {endpoint} is not a base URL with a host")));
    }
    if !endpoint.username().is_empty() || endpoint.password().is_some() {
        return Err(Error::Configuration("the endpoint must not carry credentials".into()));
    }
    match endpoint.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&endpoint) => {}
        "http" => {
            return Err(Error::Configuration(format!(
                "refusing to send tokens over plain http to {}; use https, or set allow_insecure_http",
                endpoint.host_str().unwrap_or_default()
            )));
        }
        other => return Err(Error::Configuration(format!("unsupported endpoint scheme {other:?}"))),
    }
    if endpoint.query().is_some() || endpoint.fragment().is_some() {
        return Err(Error::Configuration("the endpoint must not have a query or fragment".into()));
    }
    Ok(endpoint)
}

/// Checks each of `allowed_poll_origins`: an origin (no path, query, fragment or credentials), on `https`, or
/// on plain `http` only when both it and `endpoint` are on loopback.
fn checked_poll_origins(origins: Vec<Url>, endpoint: &Url) -> Result<Vec<Url>> {
    origins
        .into_iter()
        .map(|origin| {
            let refuse = |why: &str| {
                Error::Configuration(format!("allowed_poll_origins: {} is not usable: {why}", origin.as_str()))
            };
            if origin.cannot_be_a_base() || origin.host().is_none() {
                return Err(refuse("it has no host"));
            }
            if !origin.username().is_empty() || origin.password().is_some() {
                return Err(refuse("it carries credentials"));
            }
            if origin.path() != "/" || origin.query().is_some() || origin.fragment().is_some() {
                return Err(refuse("it must be an origin (scheme, host and port) without a path, query or fragment"));
            }
            match origin.scheme() {
                "https" => {}
                "http" if endpoint.scheme() == "http" && is_loopback(endpoint) && is_loopback(&origin) => {}
                "http" => {
                    return Err(refuse("tokens go only over https, except to loopback beside a loopback endpoint"));
                }
                _ => return Err(refuse("its scheme is not https")),
            }
            Ok(origin)
        })
        .collect()
}

fn user_agent(application_id: Option<&str>) -> Result<HeaderValue> {
    let base = format!(
        "azsdk-rust-{}/{} ({}; {}; {})",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        env!("AZSDK_RUSTC_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let text = match application_id {
        None => base,
        Some(id) => {
            let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if id.is_empty() || id.len() > MAX_APPLICATION_ID || !id.chars().all(tchar) {
                return Err(Error::Configuration(format!(
                    "application_id must be 1 to {MAX_APPLICATION_ID} token characters without spaces, got {id:?}"
                )));
            }
            format!("{id} {base}")
        }
    };
    HeaderValue::from_str(&text).map_err(|e| Error::Configuration(format!("invalid User-Agent {text:?}: {e}")))
}
