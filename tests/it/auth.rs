//! The token cache as the wire sees it: single flight for failures, short-lived tokens, late 401s.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::common::*;
use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    time::{Duration as AzDuration, OffsetDateTime},
};
use azure_customer_lockbox::{CustomerLockboxClient, Error};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{header, method, path},
};

/// A credential that takes `delay` and then hands out `token-<n>` (valid for `lifetime`) or, when `fail` is set,
/// the error `credential down #<n>`, `n` counting its calls from 1.
#[derive(Debug)]
struct Numbered {
    calls: AtomicUsize,
    delay: Duration,
    lifetime: AzDuration,
    fail: bool,
}

impl Numbered {
    fn new(delay: Duration, lifetime: AzDuration, fail: bool) -> Arc<Self> {
        Arc::new(Self { calls: AtomicUsize::new(0), delay, lifetime, fail })
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenCredential for Numbered {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.delay).await;
        if self.fail {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("credential down #{n}"),
            ));
        }
        Ok(AccessToken::new(format!("token-{n}"), OffsetDateTime::now_utc() + self.lifetime))
    }
}

/// A client of `endpoint` for the paused clock, asking `credential` for its tokens.
fn paused_client(endpoint: &str, credential: Arc<Numbered>) -> CustomerLockboxClient {
    TestClient::new(endpoint).per_try_timeout(None).paused_clock().credential(credential).build()
}

fn sent_tokens(requests: &[wiremock::Request]) -> Vec<String> {
    requests.iter().map(|r| r.headers.get("authorization").unwrap().to_str().unwrap().to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_failing_credential_is_asked_once_by_concurrent_calls_which_all_get_its_error() {
    // Nothing is sent: every call fails at the credential. The endpoint only has to be a valid one.
    let credential = Numbered::new(Duration::from_millis(500), AzDuration::hours(1), true);
    let client = paused_client("http://127.0.0.1:9", credential.clone());
    let started = tokio::time::Instant::now();
    let calls = (0..8).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.tenant().enable(None).await })
    });
    let results = futures::future::join_all(calls).await;
    assert_eq!(credential.calls(), 1, "one credential call for the eight waiting calls");
    assert_eq!(started.elapsed(), Duration::from_millis(500), "the eight calls wait for one 500 ms credential call");
    for result in results {
        let error = result.unwrap().unwrap_err();
        assert!(matches!(error, Error::Credential(_)), "{error:?}");
        assert!(error.to_string().contains("credential down #1"), "every waiter gets the one error: {error}");
    }

    // The failure is not cached: the next caller asks again.
    let error = client.tenant().enable(None).await.unwrap_err();
    assert!(error.to_string().contains("credential down #2"), "{error}");
    assert_eq!(credential.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_token_shorter_lived_than_the_refresh_margin_is_used_until_half_its_life() {
    let server = mock_server().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    // Four minutes: less than the five-minute margin. The margin becomes half the lifetime, two minutes.
    let credential = Numbered::new(Duration::ZERO, AzDuration::minutes(4), false);
    let client = paused_client(&server.uri(), credential.clone());
    client.tenant().enable(None).await.unwrap();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 1, "a four-minute token is not fetched again at once");
    tokio::time::advance(Duration::from_secs(115)).await;
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 1, "nor before half its lifetime has passed");
    tokio::time::advance(Duration::from_secs(10)).await;
    client.tenant().enable(None).await.unwrap();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 2, "past half its lifetime it is refreshed, once");
    let sent = sent_tokens(&server.received_requests().await.unwrap());
    assert_eq!(sent, ["token-1", "token-1", "token-1", "token-2", "token-2"].map(|t| format!("Bearer {t}")));
}

#[tokio::test]
async fn a_late_401_does_not_drop_a_token_refreshed_since() {
    let server = mock_server().await;
    let tenant = format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/{TENANT}");
    // token-1 is refused: the GET slowly, the POST at once. Later tokens are accepted.
    Mock::given(method("GET"))
        .and(path(tenant.as_str()))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let credential = Numbered::new(Duration::ZERO, AzDuration::hours(1), false);
    let client = TestClient::new(server.uri()).per_try_timeout(None).credential(credential.clone()).build();

    // The slow call goes out with token-1.
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.tenant().is_opted_in(TENANT, None).await }
    });
    while server.received_requests().await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Meanwhile token-1 is refused and token-2 fetched and used.
    assert_eq!(client.tenant().enable(None).await.unwrap_err().status().unwrap().as_u16(), 401);
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 2);
    // Then the slow call's 401 arrives: it was about token-1, not token-2.
    assert_eq!(slow.await.unwrap().unwrap_err().status().unwrap().as_u16(), 401);
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 2, "token-2 is still cached after the late 401 about token-1");
    let sent = sent_tokens(&server.received_requests().await.unwrap());
    assert_eq!(sent, ["token-1", "token-1", "token-2", "token-2"].map(|t| format!("Bearer {t}")));
}
