//! The options of a [`CustomerLockboxClient`](crate::CustomerLockboxClient): every knob a caller sets once per
//! client, with its default. `client.rs` checks them when the client is built.

use std::{fmt, time::Duration};

use azure_core::cloud::CloudConfiguration;
use url::Url;

#[cfg(doc)]
use crate::CustomerLockboxClient;
use crate::{
    error::{Error, Result},
    retry::Retries,
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
/// assert_eq!(options.application_id.as_deref(), Some("lockbox-bot"));
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
    /// How failed attempts are retried. The default is exponential backoff, 3 retries (see [`Retries`]).
    pub retry: Retries,
    /// Time limit for one attempt, from sending to the last byte of the answer. The default is 20 s: a Lockbox
    /// call normally answers within a second or two, so a try still silent after 20 s is most likely a stalled
    /// connection, and cutting it there leaves the default 120 s retry budget room for three more tries (a
    /// try cut while a decision is on its way is reconciled, never blindly resent). Raise it (Resource Manager
    /// gives a resource provider up to 60 s before answering 504) together with the retry budget.
    pub per_try_timeout: Option<Duration>,
    /// Time limit for a whole call, retries and waits included; exceeding it gives [`Error::Timeout`]. The
    /// default is `None`: the retry budget bounds a call. A decision cut by it while on its way is not reported
    /// as a timeout: the SDK reads the request to learn whether it was taken (see
    /// [`RequestsClient::update_status`](crate::RequestsClient::update_status)).
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
            retry: Retries::default(),
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
    /// `endpoint` is an absolute URL, as text or a [`Url`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] (`endpoint`) when it is not an absolute `http` or `https` URL; nothing is
    /// sent.
    ///
    /// ```
    /// use azure_customer_lockbox::CustomerLockboxClientOptions;
    ///
    /// let options = CustomerLockboxClientOptions::for_endpoint("http://127.0.0.1:8080").unwrap();
    /// assert_eq!(options.endpoint.unwrap().as_str(), "http://127.0.0.1:8080/");
    /// assert!(CustomerLockboxClientOptions::for_endpoint("management.azure.com").is_err());
    /// ```
    pub fn for_endpoint(endpoint: impl AsRef<str>) -> Result<Self> {
        let text = endpoint.as_ref();
        let url = Url::parse(text).map_err(|e| Error::invalid("endpoint", format!("{text:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid("endpoint", format!("{text:?} is not an http or https URL")));
        }
        Ok(Self { endpoint: Some(url), ..Default::default() })
    }
}
