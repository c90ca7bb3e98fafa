//! Bearer tokens: a cache over any `azure_core` [`TokenCredential`], and a fixed credential for tests.
//!
//! The cache asks the credential for a token once and shares it between concurrent calls. When several calls
//! find the cache cold at once, one of them asks the credential and the others wait for its answer, a token or
//! an error: a failure is shared the same way, and not remembered, so the next call after it asks again.
//!
//! A token is refreshed a margin before it expires: five minutes, or half its lifetime if it lives less than ten
//! minutes (a token valid for four minutes is used for two). A refresh that fails while the old token is still
//! valid keeps the old token, for the call that asked and for every call waiting on it. A 401 from the service
//! drops the cached token, if it is the one that call sent, so the next call asks again; a late 401 about an
//! older token leaves a newer one alone.
//!
//! There is one copy of the token: the cache's. The `Authorization` values handed to requests share its bytes
//! (they are marked sensitive), and those bytes are wiped when the last of them and the cache are dropped.

use std::{
    any::Any,
    fmt,
    sync::{
        Arc, OnceLock, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use azure_core::{
    credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions},
    time::{Duration as AzDuration, OffsetDateTime},
};
use bytes::Bytes;
use reqwest::header::HeaderValue;
use tokio::time::Instant;
use zeroize::Zeroizing;

/// How long before expiry a token is refreshed, at most: tokens living less than twice this are refreshed at
/// half their lifetime instead (see [`refresh_margin`]).
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The margin before expiry at which a token living `lifetime` is refreshed: five minutes, or half the
/// lifetime if that is shorter, so a short-lived token is still used for half its life.
fn refresh_margin(lifetime: Duration) -> Duration {
    REFRESH_MARGIN.min(lifetime.div_f64(2.0))
}

struct Cached {
    header: HeaderValue,
    /// What a caller derived from the token ([`TokenCache::derived`]): built once per token, dropped with it.
    derived: OnceLock<Arc<dyn Any + Send + Sync>>,
    /// When to fetch a new token, on the monotonic clock (tokio's, so tests can pause it).
    refresh_at: Instant,
    /// When the token expires, on the monotonic clock.
    expires_at: Instant,
    /// The same two on the wall clock: a monotonic clock may stand still while the machine sleeps.
    refresh_on: SystemTime,
    expires_on: SystemTime,
}

impl Cached {
    fn new(header: HeaderValue, expires_on: OffsetDateTime) -> Self {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let expires_on = SystemTime::from(expires_on);
        let lifetime = expires_on.duration_since(wall).unwrap_or_default();
        let use_for = lifetime.saturating_sub(refresh_margin(lifetime));
        // Checked: `expires_on` is the credential's (a far future must not overflow the monotonic clock).
        let later =
            |by: Duration| now.checked_add(by).or_else(|| now.checked_add(Duration::from_secs(86_400))).unwrap_or(now);
        Self {
            header,
            derived: OnceLock::new(),
            refresh_at: later(use_for),
            expires_at: later(lifetime),
            refresh_on: wall.checked_add(use_for).unwrap_or(expires_on),
            expires_on,
        }
    }

    /// Good to send without asking the credential.
    fn fresh(&self) -> bool {
        Instant::now() < self.refresh_at && SystemTime::now() < self.refresh_on
    }

    /// Not expired: good to send when a refresh failed.
    fn valid(&self) -> bool {
        Instant::now() < self.expires_at && SystemTime::now() < self.expires_on
    }
}

/// What the last finished credential call left for the calls that waited on it.
#[derive(Default)]
struct Flight {
    /// The error it failed with, if it failed.
    failure: Option<Arc<azure_core::Error>>,
}

/// Shared token cache; cloned cheaply through `Arc` by the pipeline.
pub(crate) struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    current: RwLock<Option<Cached>>,
    /// Held by the one call asking the credential; the others wait on it and then read what it left.
    flight: tokio::sync::Mutex<Flight>,
    /// How many credential calls have finished (succeeded or failed), bumped while `flight` is held.
    flights: AtomicU64,
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
        Self {
            credential,
            scope,
            current: RwLock::new(None),
            flight: tokio::sync::Mutex::new(Flight::default()),
            flights: AtomicU64::new(0),
        }
    }

    /// The cached token if `keep` accepts it.
    fn cached(&self, keep: impl Fn(&Cached) -> bool) -> Option<HeaderValue> {
        let guard = self.current.read().ok()?;
        guard.as_ref().filter(|cached| keep(cached)).map(|cached| cached.header.clone())
    }

    /// Replaces the cached token (or drops it, with `None`).
    fn store(&self, cached: Option<Cached>) {
        if let Ok(mut slot) = self.current.write() {
            *slot = cached;
        }
    }

    /// The `Authorization` header value, from the cache or the credential.
    ///
    /// Concurrent calls that find no fresh token share one credential call: the first asks, the others wait for
    /// it and take its token or its error. If the asking call is cancelled, the next waiter asks instead.
    pub(crate) async fn authorization(&self) -> azure_core::Result<HeaderValue> {
        if let Some(header) = self.cached(Cached::fresh) {
            return Ok(header);
        }
        let flights_before = self.flights.load(Ordering::Acquire);
        let mut flight = self.flight.lock().await;
        if self.flights.load(Ordering::Acquire) != flights_before {
            // A credential call finished while this call waited: its outcome is this call's too, as it was the
            // asking call's. A token still valid comes first: a failed early refresh keeps it for every waiter.
            if let Some(header) = self.cached(Cached::valid) {
                return Ok(header);
            }
            if let Some(error) = &flight.failure {
                return Err(shared_error(error));
            }
        } else if let Some(header) = self.cached(Cached::fresh) {
            return Ok(header);
        }
        let options = TokenRequestOptions::default();
        let outcome = self.credential.get_token(&[self.scope.as_str()], Some(options)).await;
        let result = match outcome {
            Ok(token) => {
                flight.failure = None;
                bearer(&token).inspect(|header| self.store(Some(Cached::new(header.clone(), token.expires_on))))
            }
            Err(error) => {
                let error = Arc::new(error);
                flight.failure = Some(error.clone());
                // A failed early refresh keeps a token that is still valid.
                self.cached(Cached::valid).ok_or_else(|| shared_error(&error))
            }
        };
        self.flights.fetch_add(1, Ordering::AcqRel);
        result
    }

    /// What `make` derives from the cached token, when `header` is the cached token's value: built once per
    /// token, and dropped with it (so it lives no longer than the token's own bytes). `None` for any other value
    /// (a token replaced since), for which the caller derives its own.
    pub(crate) fn derived<T: Any + Send + Sync>(
        &self,
        header: &HeaderValue,
        make: impl FnOnce() -> T,
    ) -> Option<Arc<T>> {
        let guard = self.current.read().ok()?;
        let cached = guard.as_ref().filter(|cached| cached.header == *header)?;
        cached.derived.get_or_init(|| Arc::new(make())).clone().downcast::<T>().ok()
    }

    /// The cached `Authorization` value (cheap to clone), to scrub the token from anything a server echoes.
    pub(crate) fn current_header(&self) -> Option<HeaderValue> {
        self.cached(|_| true)
    }

    /// Drops the cached token after a 401 answered a request that carried `sent`, so the next call asks the
    /// credential again; a token fetched since then (another call's refresh) is kept.
    pub(crate) fn invalidate(&self, sent: &HeaderValue) {
        if let Ok(mut slot) = self.current.write()
            && slot.as_ref().is_some_and(|cached| cached.header == sent)
        {
            *slot = None;
        }
    }
}

/// An error every waiter of one credential call can return: the same error, shared.
fn shared_error(error: &Arc<azure_core::Error>) -> azure_core::Error {
    azure_core::Error::new(error.kind().clone(), Arc::clone(error))
}

/// The bytes of an `Authorization` value: zeroed when the last `HeaderValue` sharing them is dropped.
struct WipedOnDrop(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for WipedOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
thread_local! {
    /// How many token buffers this thread has wiped, for the tests.
    static WIPED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
impl Drop for WipedOnDrop {
    fn drop(&mut self) {
        WIPED.with(|w| w.set(w.get().saturating_add(1)));
    }
}

fn bearer(token: &AccessToken) -> azure_core::Result<HeaderValue> {
    let secret = token.token.secret().as_bytes();
    let mut value = Zeroizing::new(Vec::with_capacity(secret.len().saturating_add(7)));
    value.extend_from_slice(b"Bearer ");
    value.extend_from_slice(secret);
    // `from_maybe_shared` keeps the `Bytes` as they are: every clone of the value shares the one wiped buffer.
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(WipedOnDrop(value))).map_err(|_| {
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
/// let credential = StaticTokenCredential::new("not-a-real-token");
/// assert!(!format!("{credential:?}").contains("not-a-real-token"));
/// ```
#[derive(Clone)]
pub struct StaticTokenCredential {
    token: Secret,
    lifetime: AzDuration,
}

impl StaticTokenCredential {
    /// A credential whose tokens are `token` and are valid for an hour from each request. Like
    /// `azure_identity`'s credentials it comes in an [`Arc`], ready for [`CustomerLockboxClient::new`].
    ///
    /// [`CustomerLockboxClient::new`]: crate::CustomerLockboxClient::new
    pub fn new(token: impl Into<String>) -> Arc<Self> {
        Self::with_lifetime(token, std::time::Duration::from_secs(3600))
    }

    /// A credential whose tokens are `token` and stay valid for `lifetime` from each request. A lifetime that
    /// reaches past the last date the token's expiry can name (the year 9999) means a token that does not expire.
    pub fn with_lifetime(token: impl Into<String>, lifetime: std::time::Duration) -> Arc<Self> {
        let lifetime = AzDuration::try_from(lifetime).unwrap_or(AzDuration::MAX);
        Arc::new(Self { token: Secret::new(token.into()), lifetime })
    }
}

impl fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenCredential").field("token", &"<redacted>").finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticTokenCredential {
    /// Gives the token, valid for the credential's lifetime from now, whatever the scopes.
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        // Saturating: a caller's lifetime must not overflow the date (`+` panics past the year 9999).
        Ok(AccessToken::new(self.token.clone(), OffsetDateTime::now_utc().saturating_add(self.lifetime)))
    }
}

/// The token inside an `Authorization: Bearer <token>` value.
pub(crate) fn token_bytes(header: &HeaderValue) -> &[u8] {
    header.as_bytes().get(7..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiped() -> usize {
        WIPED.with(|w| w.get())
    }

    #[tokio::test]
    async fn the_one_copy_of_the_token_is_shared_sensitive_and_wiped_with_its_last_user() {
        let cache = TokenCache::new(StaticTokenCredential::new("secret-a"), "scope".into());
        let first = cache.authorization().await.unwrap();
        let second = cache.authorization().await.unwrap();
        assert_eq!(second, "Bearer secret-a");
        assert!(first.is_sensitive() && second.is_sensitive());
        let held = cache.current_header().unwrap();
        assert_eq!(first.as_bytes().as_ptr(), held.as_bytes().as_ptr(), "no copy: the values share the cache's bytes");
        assert_eq!(second.as_bytes().as_ptr(), held.as_bytes().as_ptr());
        drop(held);
        let derived = Arc::downgrade(&cache.derived(&first, || 7u8).unwrap()); // built once, dropped with the token
        assert_eq!(derived.upgrade().map(|d| *d), cache.derived(&first, || 8).map(|d| *d));
        let before = wiped();
        cache.invalidate(&first);
        assert!(cache.current_header().is_none() && derived.upgrade().is_none(), "a 401 on the cached token drops it");
        drop(second);
        assert_eq!(wiped(), before, "a request still holding the value keeps its bytes");
        drop(first);
        assert_eq!(wiped(), before + 1, "the last user wipes them");

        let third = cache.authorization().await.unwrap();
        drop(third);
        drop(cache);
        assert_eq!(wiped(), before + 2, "dropping the cache wipes its token");
    }

    #[tokio::test]
    async fn a_401_about_an_older_token_keeps_the_current_one() {
        let cache = TokenCache::new(StaticTokenCredential::new("secret-a"), "scope".into());
        let old = cache.authorization().await.unwrap();
        cache.invalidate(&old);
        let new = cache.authorization().await.unwrap();
        assert_ne!(old.as_bytes().as_ptr(), new.as_bytes().as_ptr(), "a new token was fetched");
        cache.invalidate(&HeaderValue::from_static("Bearer other"));
        let held = cache.current_header().unwrap();
        assert_eq!(held.as_bytes().as_ptr(), new.as_bytes().as_ptr(), "a 401 about another token keeps this one");
    }

    /// Gives a token valid for ten minutes, then fails every later call after a short wait (so that
    /// concurrent calls pile up behind the one asking).
    #[derive(Debug)]
    struct FailsAfterFirst {
        calls: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for FailsAfterFirst {
        async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                let expires_on = OffsetDateTime::now_utc().saturating_add(AzDuration::minutes(10));
                return Ok(AccessToken::new(Secret::new("secret-a"), expires_on));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "identity endpoint down"))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn calls_waiting_on_a_failed_early_refresh_get_the_still_valid_token() {
        let credential = Arc::new(FailsAfterFirst { calls: Default::default() });
        let cache = TokenCache::new(credential.clone(), "scope".into());
        cache.authorization().await.unwrap();
        // Past the refresh (five minutes before expiry), with 200 s of validity left.
        tokio::time::advance(Duration::from_secs(400)).await;
        let calls = futures::future::join_all((0..4).map(|_| cache.authorization())).await;
        for (i, call) in calls.iter().enumerate() {
            assert_eq!(call.as_ref().map_err(ToString::to_string).unwrap(), "Bearer secret-a", "call {i}");
        }
        assert_eq!(credential.calls.load(Ordering::SeqCst), 2, "the waiters share the one failed refresh");
    }

    #[test]
    fn the_refresh_margin_is_five_minutes_or_half_a_short_lifetime() {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        assert_eq!(refresh_margin(minutes(60)), minutes(5));
        assert_eq!(refresh_margin(minutes(10)), minutes(5));
        assert_eq!(refresh_margin(minutes(4)), minutes(2));
        assert_eq!(refresh_margin(Duration::from_secs(1)), Duration::from_millis(500));
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }
}
