//! Bearer tokens: a cache over any `azure_core` [`TokenCredential`], and a fixed credential for tests.
//!
//! The cache asks the credential for a token once, shares it between concurrent calls, and refreshes it five
//! minutes before it expires. When several calls find the cache cold at once, one of them asks the credential
//! and the others wait for its answer. A refresh that fails while the old token is still valid keeps the old
//! token. A 401 from the service drops the cached token, so the next call asks again.

use std::{
    fmt,
    sync::{Arc, RwLock},
    time::SystemTime,
};

use azure_core::{
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    time::{Duration as AzDuration, OffsetDateTime},
};
use reqwest::header::HeaderValue;

/// How long before expiry a token is refreshed.
const REFRESH_MARGIN: AzDuration = AzDuration::minutes(5);

#[derive(Clone)]
struct Cached {
    header: HeaderValue,
    expires_on: OffsetDateTime,
    /// `expires_on` less the refresh margin, as a `SystemTime`: the hot path compares it with
    /// `SystemTime::now()`, which skips the calendar arithmetic of `OffsetDateTime::now_utc()`.
    refresh_at: SystemTime,
}

impl Cached {
    fn new(header: HeaderValue, expires_on: OffsetDateTime) -> Self {
        Self { header, expires_on, refresh_at: SystemTime::from(expires_on - REFRESH_MARGIN) }
    }
}

/// Shared token cache; cloned cheaply through `Arc` by the pipeline.
pub(crate) struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    current: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token: only whether one is held.
        let held = self.current.read().map(|c| c.is_some()).unwrap_or(false);
        f.debug_struct("TokenCache").field("scope", &self.scope).field("token_cached", &held).finish()
    }
}

impl TokenCache {
    pub(crate) fn new(credential: Arc<dyn TokenCredential>, scope: String) -> Self {
        Self { credential, scope, current: RwLock::new(None), refresh: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self, now: SystemTime) -> Option<HeaderValue> {
        let guard = self.current.read().ok()?;
        let cached = guard.as_ref()?;
        (cached.refresh_at > now).then(|| cached.header.clone())
    }

    /// The `Authorization` header value, from the cache or from the credential.
    pub(crate) async fn authorization(&self) -> azure_core::Result<HeaderValue> {
        if let Some(header) = self.fresh(SystemTime::now()) {
            return Ok(header);
        }
        let _single_flight = self.refresh.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(header) = self.fresh(SystemTime::from(now)) {
            return Ok(header);
        }
        let options = TokenRequestOptions::default();
        match self.credential.get_token(&[self.scope.as_str()], Some(options)).await {
            Ok(token) => {
                let cached = Cached::new(bearer(&token)?, token.expires_on);
                let header = cached.header.clone();
                if let Ok(mut slot) = self.current.write() {
                    *slot = Some(cached);
                }
                Ok(header)
            }
            Err(error) => {
                // A failed early refresh keeps a token that is still valid.
                let still_valid = self
                    .current
                    .read()
                    .ok()
                    .and_then(|c| c.as_ref().filter(|c| c.expires_on > now).map(|c| c.header.clone()));
                still_valid.ok_or(error)
            }
        }
    }

    /// The cached `Authorization` value (cheap to clone), to scrub the token from anything a server echoes.
    pub(crate) fn current_header(&self) -> Option<HeaderValue> {
        self.current.read().ok()?.as_ref().map(|c| c.header.clone())
    }

    /// Drops the cached token (after a 401), so the next call asks the credential again.
    pub(crate) fn invalidate(&self) {
        if let Ok(mut slot) = self.current.write() {
            *slot = None;
        }
    }
}

fn bearer(token: &AccessToken) -> azure_core::Result<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {}", token.token.secret())).map_err(|_| {
        azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "the credential returned a token that is not a valid HTTP header value",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// A credential that always returns the same token: for tests, the emulator and examples.
///
/// The emulator accepts any well-formed bearer token, so this is all a test needs. Its `Debug` output never
/// shows the token.
///
/// ```
/// use std::sync::Arc;
/// use azure_customer_lockbox::StaticTokenCredential;
/// let credential = Arc::new(StaticTokenCredential::new("not-a-real-token"));
/// assert!(!format!("{credential:?}").contains("not-a-real-token"));
/// ```
#[derive(Clone)]
pub struct StaticTokenCredential {
    token: Secret,
    lifetime: AzDuration,
}

impl StaticTokenCredential {
    /// A credential whose tokens are `token` and are valid for an hour from each request.
    pub fn new(token: impl Into<String>) -> Self {
        Self { token: Secret::new(token.into()), lifetime: AzDuration::hours(1) }
    }

    /// Sets how long each token handed out stays valid. The default is one hour.
    pub fn with_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.lifetime = AzDuration::try_from(lifetime).unwrap_or(AzDuration::hours(1));
        self
    }
}

impl fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenCredential").field("token", &"<redacted>").finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(self.token.clone(), OffsetDateTime::now_utc() + self.lifetime))
    }
}

/// The token inside an `Authorization: Bearer <token>` value.
pub(crate) fn token_bytes(header: &HeaderValue) -> &[u8] {
    header.as_bytes().get(7..).unwrap_or_default()
}
