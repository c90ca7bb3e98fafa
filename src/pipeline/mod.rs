//! The one path every request takes: headers, auth, retries, tracing and error conversion.
//!
//! Read in the order a call goes through it:
//!
//! 1. [`call`]: runs one logical call (a generated operation's `send()`, a page or a poll) with its own call
//!    context, span and time limit; resends a read whose answer's body was cut; turns a failure into an
//!    [`Error`].
//! 2. [`scope`]: the call context, what a call carries and learns on its way (ids, attempts, statuses, the
//!    token it sent). It is a field of the [`Pipeline`] value the call's generated client is built on
//!    ([`Pipeline::for_call`]), so the hooks read it from `self`.
//! 3. [`hooks`]: what progenitor's generated client calls for every operation (`src/generated.rs` forwards
//!    its `pre` and `exec` hooks here): the origin check and the token, then the headers, the retry loop, and
//!    the answer's body capped at the client's `max_response_body` ([`body`]).
//! 4. [`urls`] and [`links`]: checking URLs the service hands out, and GETting them (next pages, polls).
//!
//! It never uses the generated client: the generated code depends on this module (its inner type and its
//! hooks) and not the other way round. A call hands its closure the call's [`Pipeline`], and the caller builds
//! the generated client on it (`src/generated.rs`, `Client::on`).
//!
//! [`Error`]: crate::Error

use std::{fmt, sync::Arc, time::Duration};

use reqwest::header::HeaderValue;
use url::Url;

use self::gate::Gate;
use crate::{auth::TokenCache, retry::Retries};

pub(crate) mod body;
mod call;
pub(crate) mod gate;
mod hooks;
mod links;
mod scope;
mod urls;

pub(crate) use urls::LinkKind;

/// What one generated operation's `send()` comes to (and a link's GET, in the same shape): the value with its
/// status and headers, or progenitor's error, which the call turns into an [`Error`](crate::Error).
pub(crate) type Sent<T> = std::result::Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<()>>;

/// Shared, immutable client state: what every call of a client needs. The generated client's `inner`.
///
/// What travels with a request is a field of the value it is sent through, never beside it:
/// - a tenant-wide call's pipeline carries that call's throttling gate ([`Pipeline::with_gate`]);
/// - the pipeline a call's generated client is built on carries the call's context ([`Pipeline::for_call`]).
///
/// Cloning is cheap (reference counts).
#[derive(Clone)]
pub(crate) struct Pipeline {
    settings: Arc<Settings>,
    gate: Option<Gate>,
    call: Option<scope::Shared>,
}

/// The client's settings, checked by `CustomerLockboxClient::new`.
pub(crate) struct Settings {
    pub(crate) endpoint: Url,
    /// Other origins (scheme, host, port) whose polling URLs are followed with the token: the client's
    /// `allowed_poll_origins`, checked.
    pub(crate) poll_origins: Vec<Url>,
    /// The endpoint without trailing slashes, the base of every operation's URL (see [`Pipeline::request_url`]).
    pub(crate) operation_base: Url,
    /// `operation_base` as the generated clients take it: text without a trailing slash.
    pub(crate) generated_base: String,
    pub(crate) api_version: String,
    pub(crate) auth: TokenCache,
    pub(crate) http: reqwest::Client,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: Retries,
    /// The per-try timeout to set on each attempt: `None` when the HTTP client applies it itself (the SDK built
    /// the client) or there is none.
    pub(crate) per_try_timeout: Option<Duration>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) max_response_body: usize,
}

impl Pipeline {
    pub(crate) fn new(settings: Settings) -> Self {
        Self { settings: Arc::new(settings), gate: None, call: None }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the endpoint is on loopback (the local emulator): Resource Manager never is.
    pub(crate) fn on_loopback(&self) -> bool {
        is_loopback(&self.settings.endpoint)
    }

    /// This pipeline (the same settings, token cache and HTTP client), with every request it sends held by
    /// `gate`: see `gate.rs`.
    pub(crate) fn with_gate(&self, gate: Gate) -> Self {
        Self { settings: self.settings.clone(), gate: Some(gate), call: None }
    }
}

/// Whether `url`'s host is a loopback address or `localhost`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("Pipeline")
            .field("endpoint", &s.endpoint.as_str())
            .field("poll_origins", &s.poll_origins.iter().map(Url::as_str).collect::<Vec<_>>())
            .field("api_version", &s.api_version)
            .field("auth", &s.auth)
            .field("retry", &s.retry)
            .field("per_try_timeout", &s.per_try_timeout)
            .field("call_timeout", &s.call_timeout)
            .field("max_response_body", &s.max_response_body)
            .field("gated", &self.gate.is_some())
            .finish()
    }
}
