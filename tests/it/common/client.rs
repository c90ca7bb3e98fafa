//! [`TestClient`]: the one way the integration tests build a [`CustomerLockboxClient`].

use std::{sync::Arc, time::Duration};

use azure_core::credentials::TokenCredential;
use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, Result, options::Retries};

use super::{CountingCredential, paused_clock_http};

/// Builds the client a test needs, in one chain that names only what the test cares about:
///
/// ```ignore
/// let client = TestClient::new(&server.uri()).build();
/// let client = TestClient::new(&server.uri()).retry(policy(3)).per_try_timeout(None).paused_clock().build();
/// let (client, credential) = TestClient::new(&server.uri()).build_counted();
/// let error = TestClient::new(&server.uri()).with(|o| o.api_version = " ".into()).try_build().unwrap_err();
/// ```
///
/// It starts from [`CustomerLockboxClientOptions::for_endpoint`] with **no retries** (one attempt, so a test
/// counts requests exactly; [`retry`](Self::retry) asks for more) and a fresh [`CountingCredential`] that
/// answers at once with a token valid for an hour; every other option is the SDK's default until a method
/// changes it.
///
/// - [`paused_clock`](Self::paused_clock) gives the client an HTTP client without timers of its own, for tests on
///   tokio's paused clock (`#[tokio::test(start_paused = true)]`). It leaves `per_try_timeout` alone: most such
///   tests also call [`per_try_timeout(None)`](Self::per_try_timeout).
/// - [`credential`](Self::credential) and [`counting`](Self::counting) replace the credential;
///   [`with`](Self::with) changes any option this builder has no method for.
/// - [`build`](Self::build) panics when the SDK refuses the options (a mistake of the test);
///   [`try_build`](Self::try_build) returns the SDK's error, for tests of that refusal;
///   [`build_counted`](Self::build_counted) also returns the counting credential, to count how often it was
///   asked; [`options`](Self::options) returns the options alone, for tests that build something else from them.
#[must_use]
pub struct TestClient {
    options: CustomerLockboxClientOptions,
    credential: Credential,
}

enum Credential {
    Counting(Arc<CountingCredential>),
    Other(Arc<dyn TokenCredential>),
}

impl TestClient {
    /// A client of `endpoint` (an absolute `http` or `https` URL, such as a mock server's `uri()`), with no
    /// retries and a fresh [`CountingCredential`].
    pub fn new(endpoint: impl AsRef<str>) -> Self {
        let mut options = CustomerLockboxClientOptions::for_endpoint(endpoint).unwrap();
        options.retry = Retries::None;
        Self { options, credential: Credential::Counting(CountingCredential::new()) }
    }

    /// How failed attempts are retried (the builder's default is [`Retries::none`]).
    pub fn retry(mut self, retry: Retries) -> Self {
        self.options.retry = retry;
        self
    }

    /// The time limit of one attempt (the SDK's default is 20 s; `None` sets none).
    pub fn per_try_timeout(mut self, per_try_timeout: Option<Duration>) -> Self {
        self.options.per_try_timeout = per_try_timeout;
        self
    }

    /// The time limit of a whole call (the SDK's default is `None`).
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// An HTTP client for tokio's paused clock ([`paused_clock_http`]): no connect or pool timers that the
    /// paused clock could fire while the test waits on real socket IO.
    pub fn paused_clock(self) -> Self {
        self.http_client(paused_clock_http())
    }

    /// The HTTP client the SDK sends with.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.options.http_client = Some(http);
        self
    }

    /// The largest answer body the SDK reads.
    pub fn max_response_body(mut self, max_response_body: usize) -> Self {
        self.options.max_response_body = max_response_body;
        self
    }

    /// Other origins whose polling URLs the SDK follows (each parsed as a URL).
    pub fn allowed_poll_origins(mut self, origins: &[&str]) -> Self {
        self.options.allowed_poll_origins = origins.iter().map(|origin| origin.parse().unwrap()).collect();
        self
    }

    /// Changes any other option.
    pub fn with(mut self, change: impl FnOnce(&mut CustomerLockboxClientOptions)) -> Self {
        change(&mut self.options);
        self
    }

    /// Asks `credential` for tokens instead of a fresh [`CountingCredential`].
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Credential::Other(credential);
        self
    }

    /// Asks this counting credential (one that is slow, short-lived or failing, say) for tokens, so that
    /// [`build_counted`](Self::build_counted) returns it.
    pub fn counting(mut self, credential: Arc<CountingCredential>) -> Self {
        self.credential = Credential::Counting(credential);
        self
    }

    /// The options as built so far, without a client.
    pub fn options(self) -> CustomerLockboxClientOptions {
        self.options
    }

    /// The client, or the SDK's error when it refuses the options.
    pub fn try_build(self) -> Result<CustomerLockboxClient> {
        let credential: Arc<dyn TokenCredential> = match self.credential {
            Credential::Counting(counting) => counting,
            Credential::Other(other) => other,
        };
        CustomerLockboxClient::new(credential, Some(self.options))
    }

    /// The client. Panics when the SDK refuses the options.
    pub fn build(self) -> CustomerLockboxClient {
        self.try_build().unwrap()
    }

    /// The client and its counting credential. Panics when the SDK refuses the options, or when
    /// [`credential`](Self::credential) replaced the counting credential.
    pub fn build_counted(self) -> (CustomerLockboxClient, Arc<CountingCredential>) {
        let Credential::Counting(counting) = &self.credential else {
            panic!("build_counted: the credential is not a CountingCredential");
        };
        let counting = counting.clone();
        (self.build(), counting)
    }
}
