//! The public client and its options: checks the options once and builds the crate-private [`Core`] that the
//! per-resource clients (`operations.rs`, `tenant.rs`, `requests.rs`) work with.
//!
//! The only module that names [`CustomerLockboxClient`]; uses `core`, `pipeline` (its settings), `auth`,
//! `cloud`, `retry`, `validate` and the per-resource clients it hands out.

use std::{fmt, sync::Arc, time::Duration};

use azure_core::{cloud::CloudConfiguration, credentials::TokenCredential};
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use url::{Host, Url};

use crate::{
    across::{self, SubscriptionRequest, TenantOptions, TenantRequests, TenantWatch, TenantWatchOptions},
    auth::TokenCache,
    cloud,
    core::Core,
    error::{Error, Result},
    operations::OperationsClient,
    pipeline::{Pipeline, Settings},
    poller::{Poller, PollerOptions, ResumeToken},
    requests::RequestsClient,
    retry::RetryOptions,
    subscriptions::SubscriptionsClient,
    tenant::TenantClient,
    validate,
};

/// The api-version this SDK speaks.
pub const DEFAULT_API_VERSION: &str = "2018-02-28-preview";

/// The default of [`CustomerLockboxClientOptions::max_response_body`]: 16 MiB. A page of 100 access requests is
/// some 200 KB.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 << 20;

/// Options of a [`CustomerLockboxClient`]. Every field has a documented default; start from `Default`.
///
/// ```
/// use std::time::Duration;
/// use azure_core::cloud::CloudConfiguration;
/// use azure_customer_lockbox::CustomerLockboxClientOptions;
/// let options = CustomerLockboxClientOptions {
///     cloud: CloudConfiguration::AzureGovernment,
///     application_id: Some("lockbox-bot".into()),
///     per_try_timeout: Some(Duration::from_secs(20)),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct CustomerLockboxClientOptions {
    /// The Azure cloud, azure_core's type (the one `azure_identity` credentials take): it sets the Resource
    /// Manager endpoint and the token scope (`AzurePublic`: `https://management.azure.com` and
    /// `https://management.azure.com/.default`; `AzureGovernment`: `management.usgovcloudapi.net`; `AzureChina`:
    /// `management.chinacloudapi.cn`). For `Custom`, the audience is the [`Audience`](crate::Audience) entry of
    /// its `audiences`, and [`endpoint`](Self::endpoint) is required. The default is `AzurePublic`.
    pub cloud: CloudConfiguration,
    /// The Resource Manager endpoint, replacing the cloud's own (a proxy, an Azure Stack hub, the emulator);
    /// tokens are still asked for the cloud's audience. Required with a custom cloud. The default is `None`.
    pub endpoint: Option<Url>,
    /// The api-version sent with every request. The default is [`DEFAULT_API_VERSION`], the only version this
    /// SDK's models describe.
    pub api_version: String,
    /// How failed attempts are retried. The default is exponential backoff, 3 retries (see [`RetryOptions`]).
    pub retry: RetryOptions,
    /// Time limit for one attempt, from sending to the last byte of the answer. The default is 20 s: a Lockbox
    /// call normally answers within a second or two, so a try still silent after 20 s is most likely a stalled
    /// connection, and cutting it there leaves the default 120 s retry budget room for three more tries (a
    /// try cut while a decision is on its way is reconciled, never blindly resent). Raise it (Resource Manager
    /// gives a resource provider up to 60 s before answering 504) together with the retry budget.
    pub per_try_timeout: Option<Duration>,
    /// Time limit for a whole call, retries and waits included; exceeding it gives [`Error::Timeout`]. The
    /// default is `None`: the retry budget bounds a call. A decision cut by it while on its way is not reported
    /// as a timeout: the SDK reads the request to learn whether it was taken (see
    /// [`RequestsClient::begin_update_status`](crate::RequestsClient::begin_update_status)).
    pub timeout: Option<Duration>,
    /// Your application's name, put in front of the `User-Agent`: at most 24 characters, no spaces. The
    /// default is `None`.
    pub application_id: Option<String>,
    /// The HTTP client to use, to share a connection pool or set proxies. The default is `None`: a client with
    /// a 10 s connect timeout and the per-try timeout, that follows no redirects. A client you pass should not
    /// follow redirects either; the SDK sets the per-try timeout on each of its requests.
    pub http_client: Option<reqwest::Client>,
    /// Allows plain `http://` to a host that is not loopback. The default is `false`: without it, only
    /// `https://` endpoints, or `http://` on loopback (the emulator), are accepted, so a token never travels
    /// in clear text to a remote host.
    pub allow_insecure_http: bool,
    /// The largest answer body the SDK reads, in bytes. A body declared or found larger is not read past the
    /// limit, and the call fails with [`Error::ResponseTooLarge`], which is not retried; a decision answered
    /// `200` with such a body was taken all the same, and succeeds. The default is
    /// [`DEFAULT_MAX_RESPONSE_BODY`]; `0` is refused.
    pub max_response_body: usize,
    /// Other Resource Manager origins whose polling URLs the SDK follows, such as a regional host
    /// (`https://westus.management.azure.com`) that an `Azure-AsyncOperation`, `Operation-Location` or
    /// `Location` header may name. A poll there carries the token, as it is Resource Manager too; nothing is
    /// ever sent to any other origin, and only polls go to these (a `nextLink` must be on the endpoint). An
    /// accepted decision whose polling URL is on no allowed origin is reconciled by reading the request.
    ///
    /// Each entry is an origin: scheme, host and optional port, with no path (other than `/`), query, fragment
    /// or credentials. It must be `https`, unless both it and the endpoint are plain `http` on loopback (the
    /// emulator). [`CustomerLockboxClient::new`] refuses any other value with [`Error::Configuration`]. The
    /// default is empty: polling URLs are followed only on the endpoint's own origin.
    pub allowed_poll_origins: Vec<Url>,
}

impl Default for CustomerLockboxClientOptions {
    fn default() -> Self {
        Self {
            cloud: CloudConfiguration::default(),
            endpoint: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            retry: RetryOptions::default(),
            per_try_timeout: Some(Duration::from_secs(20)),
            timeout: None,
            application_id: None,
            http_client: None,
            allow_insecure_http: false,
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            allowed_poll_origins: Vec::new(),
        }
    }
}

impl fmt::Debug for CustomerLockboxClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerLockboxClientOptions")
            .field("cloud", &self.cloud)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("api_version", &self.api_version)
            .field("retry", &self.retry)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("timeout", &self.timeout)
            .field("application_id", &self.application_id)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_response_body", &self.max_response_body)
            .field("allowed_poll_origins", &self.allowed_poll_origins.iter().map(Url::as_str).collect::<Vec<_>>())
            .finish()
    }
}

impl CustomerLockboxClientOptions {
    /// Options for a custom endpoint, such as the local emulator, asking tokens for the public cloud's audience.
    pub fn for_endpoint(endpoint: Url) -> Self {
        Self { endpoint: Some(endpoint), ..Default::default() }
    }
}

/// The Customer Lockbox client: the entry point of the SDK.
///
/// Cheap to clone (one `Arc`), `Send + Sync`; share one per process. Its per-resource clients cover the seven
/// operations: [`operations`](Self::operations), [`tenant`](Self::tenant) and [`requests`](Self::requests).
///
/// ```no_run
/// use std::sync::Arc;
/// use azure_customer_lockbox::CustomerLockboxClient;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let credential = azure_identity::DeveloperToolsCredential::new(None)?;
/// let client = CustomerLockboxClient::new(credential, None)?;
/// let requests = client.requests("00000000-0000-0000-0000-000000000000")?;
/// let mut pending = requests.list_pending();
/// while let Some(request) = pending.try_next().await? {
///     println!("{:?}", request.name);
/// }
/// # Ok(()) }
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
    /// [`TenantOptions::subscriptions`]), as one lazy stream of items that each name their subscription.
    ///
    /// `Enabled`, `Warned` and `PastDue` subscriptions are listed, [`TenantOptions::concurrency`] at a time
    /// (default [`DEFAULT_TENANT_CONCURRENCY`](crate::DEFAULT_TENANT_CONCURRENCY)); `Disabled` and `Deleted`
    /// ones are skipped and counted. A subscription whose listing fails (403, 409
    /// `MissingSubscriptionRegistration`, 404, retries spent) yields a [`TenantItem::Failed`](crate::TenantItem::Failed)
    /// and the rest goes on; [`TenantRequests::summary`] tells what was listed, skipped and failed. The filter
    /// applies to every subscription. Memory holds at most one page per running listing. Throttling is shared:
    /// a `429` with a retry hint on any listing holds back every request of the stream until the hinted time.
    /// Nothing is sent until the stream is polled.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a given subscription is not a GUID, before sending.
    pub fn tenant_requests(&self, options: Option<TenantOptions>) -> Result<TenantRequests> {
        across::tenant_requests(&self.core, options.unwrap_or_default())
    }

    /// Finds a request whose subscription is not known: asks every active subscription for it
    /// (`Requests_Get`), [`DEFAULT_TENANT_CONCURRENCY`](crate::DEFAULT_TENANT_CONCURRENCY) at a time, and
    /// stops as soon as one has it. See [`find_request_with`](Self::find_request_with).
    ///
    /// # Errors
    /// As [`find_request_with`](Self::find_request_with).
    pub async fn find_request(&self, request_id: &str) -> Result<Option<SubscriptionRequest>> {
        self.find_request_with(request_id, TenantOptions::default()).await
    }

    /// [`find_request`](Self::find_request) over [`TenantOptions::subscriptions`] (or every active one), with
    /// [`TenantOptions::concurrency`] lookups at a time; the filter is not used. Once the request is found, no
    /// further subscription is asked and the lookups in flight are dropped, so at most `concurrency - 1`
    /// subscriptions are asked after the one that has it. A subscription that cannot be read (403, 409
    /// `MissingSubscriptionRegistration`) counts as not having it: `Ok(None)` means every subscription answered,
    /// and no readable one has the request.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad request id or a given subscription that is not a GUID, before
    /// sending; the error of `Subscriptions_List` when the subscriptions cannot be listed; and, when no
    /// subscription had the request but one lookup failed without an answer that tells (5xx or 429 past the
    /// retries, a transport failure, a timeout), that lookup's error: the request may be in that subscription,
    /// so "not found" would not be the truth.
    pub async fn find_request_with(
        &self,
        request_id: &str,
        options: TenantOptions,
    ) -> Result<Option<SubscriptionRequest>> {
        across::find_request(&self.core, request_id, options).await
    }

    /// Watches the requests of every active subscription: the watch of
    /// [`RequestsClient::watch`] for each, merged, each event carrying its subscription. The set of
    /// subscriptions is read again every [`TenantWatchOptions::refresh`]: a new subscription's watch starts
    /// (with [`TenantWatchEvent::SubscriptionAdded`](crate::TenantWatchEvent::SubscriptionAdded)), and the watch
    /// of one that disappeared or stopped being active ends quietly
    /// ([`TenantWatchEvent::SubscriptionRemoved`](crate::TenantWatchEvent::SubscriptionRemoved)). Like every
    /// watch, it is driven by its consumer, spawns no task, and stops when dropped.
    pub fn tenant_watch(&self, options: Option<TenantWatchOptions>) -> TenantWatch {
        TenantWatch::new(self.core.clone(), options.unwrap_or_default())
    }

    /// Resumes a wait saved with [`Poller::resume_token`]; the same as [`Poller::resume`].
    ///
    /// # Errors
    /// As [`Poller::resume`].
    pub fn resume_poller<T: DeserializeOwned + Send + 'static>(
        &self,
        token: &ResumeToken,
        options: Option<PollerOptions>,
    ) -> Result<Poller<T>> {
        Poller::resume(self, token, options)
    }
}

impl<T: DeserializeOwned + Send + 'static> Poller<T> {
    /// Rebuilds a poller from a [`ResumeToken`], to continue waiting with `client` (possibly in another process).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a token that is not one; [`Error::UnsafeUrl`] when its URLs are not on the
    /// client's endpoint.
    pub fn resume(client: &CustomerLockboxClient, token: &ResumeToken, options: Option<PollerOptions>) -> Result<Self> {
        Self::resume_with(&client.core, token, options)
    }
}

/// With the `rustls` feature (and not `rustls-aws-lc-rs`), reqwest has no crypto provider of its own: install
/// *ring* as the process default unless the application installed one first.
fn install_tls_provider() {
    #[cfg(all(feature = "rustls", not(feature = "rustls-aws-lc-rs")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another thread installing a provider is fine: there is a provider either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
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

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
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
