//! Bearer tokens: a cache over any `azure_core` [`TokenCredential`], and a fixed credential for tests.
//!
//! The cache asks the credential for a token once, shares it between concurrent calls, and refreshes it five
//! minutes before it expires. When several calls find the cache cold at once, one of them asks the credential
//! and the others wait for its answer. A refresh that fails while the old token is still valid keeps the old
//! token. A 401 from the service drops the cached token, so the next call asks again.

use std::{
    cell::RefCell,
    fmt,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
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
///
/// Each thread also keeps its own copy of the current token (see [`ThreadCopy`]), so that concurrent calls on
/// different cores do not all take the lock and bump the reference count of one shared header value: on a
/// busy multi-core runtime those shared writes make the cores wait on each other's cache lines.
pub(crate) struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    current: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
    /// Unique among all caches ever created, so a thread's copy can never be taken for another cache's.
    id: u64,
    /// Bumped, under the write lock, whenever `current` changes; a thread's copy is good only for its version.
    version: AtomicU64,
}

/// One thread's copy of one cache's token.
struct ThreadCopy {
    cache: u64,
    version: u64,
    header: HeaderValue,
    refresh_at: SystemTime,
}

thread_local! {
    static THREAD_COPY: RefCell<Option<ThreadCopy>> = const { RefCell::new(None) };
}

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(0);

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
            refresh: tokio::sync::Mutex::new(()),
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(0),
        }
    }

    /// The cached token if it is fresh; it also becomes this thread's copy, under the same read lock.
    fn fresh(&self, now: SystemTime) -> Option<HeaderValue> {
        let guard = self.current.read().ok()?;
        let cached = guard.as_ref().filter(|cached| cached.refresh_at > now)?;
        self.copy_to_thread(cached);
        Some(cached.header.clone())
    }

    /// This thread's copy of the current token, if it has one for the current version and it is fresh.
    fn thread_copy(&self, now: SystemTime) -> Option<HeaderValue> {
        let version = self.version.load(Ordering::Acquire);
        THREAD_COPY.with_borrow(|copy| {
            let copy = copy.as_ref()?;
            (copy.cache == self.id && copy.version == version && copy.refresh_at > now).then(|| copy.header.clone())
        })
    }

    /// Makes this thread a copy of the cached token: a separate allocation, whose reference count only the
    /// calls made on this thread touch. The caller holds the read lock on `current`.
    fn copy_to_thread(&self, cached: &Cached) {
        let Ok(mut header) = HeaderValue::from_bytes(cached.header.as_bytes()) else { return };
        header.set_sensitive(true);
        // The version cannot change while the read lock is held: writers bump it under the write lock.
        let version = self.version.load(Ordering::Acquire);
        let copy = ThreadCopy { cache: self.id, version, header, refresh_at: cached.refresh_at };
        THREAD_COPY.with_borrow_mut(|slot| *slot = Some(copy));
    }

    /// Drops this thread's copy if it is of this cache's token.
    fn forget_thread_copy(&self) {
        // `try_with`: during thread teardown the thread-local may already be gone.
        let _ = THREAD_COPY.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut()
                && slot.as_ref().is_some_and(|copy| copy.cache == self.id)
            {
                *slot = None;
            }
        });
    }

    /// Replaces the cached token (or drops it, with `None`) and invalidates every thread's copy.
    fn store(&self, cached: Option<Cached>) {
        if let Ok(mut slot) = self.current.write() {
            *slot = cached;
            self.version.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The `Authorization` header value, from this thread's copy, the cache or the credential.
    pub(crate) async fn authorization(&self) -> azure_core::Result<HeaderValue> {
        let now = SystemTime::now();
        if let Some(header) = self.thread_copy(now) {
            return Ok(header);
        }
        if let Some(header) = self.fresh(now) {
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
                self.store(Some(cached));
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
        self.store(None);
        self.forget_thread_copy();
    }
}

/// A dropped client's token should not outlive it where that is cheap to prevent: the copy of the thread that drops
/// the client goes with it. Copies on other threads are replaced by the next call made there, and are never sent
/// for another cache (they are keyed by this cache's unique id) nor once the token is due for refresh.
impl Drop for TokenCache {
    fn drop(&mut self) {
        self.forget_thread_copy();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn copied_token() -> Option<(u64, Vec<u8>)> {
        THREAD_COPY.with_borrow(|copy| copy.as_ref().map(|c| (c.cache, c.header.as_bytes().to_vec())))
    }

    #[tokio::test]
    async fn a_threads_token_copy_goes_with_its_cache_and_with_a_401() {
        let cache = TokenCache::new(Arc::new(StaticTokenCredential::new("secret-a")), "scope".into());
        assert_eq!(cache.authorization().await.unwrap(), "Bearer secret-a");
        assert_eq!(copied_token(), None, "the first token comes from the credential: nothing copied yet");
        assert_eq!(cache.authorization().await.unwrap(), "Bearer secret-a");
        assert_eq!(copied_token(), Some((cache.id, b"Bearer secret-a".to_vec())));
        assert!(cache.thread_copy(SystemTime::now()).unwrap().is_sensitive());

        cache.invalidate();
        assert_eq!(copied_token(), None, "a 401 drops this thread's copy");
        assert!(cache.thread_copy(SystemTime::now()).is_none());

        cache.authorization().await.unwrap();
        cache.authorization().await.unwrap();
        let other = TokenCache::new(Arc::new(StaticTokenCredential::new("secret-b")), "scope".into());
        drop(other);
        assert!(copied_token().is_some(), "dropping another cache leaves this one's copy");
        drop(cache);
        assert_eq!(copied_token(), None, "dropping the cache drops the copy");
    }
}
