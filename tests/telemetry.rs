//! Tracing output: one span per call, one event per retry, and never a token, even at TRACE level with every
//! dependency's logs on. One process-wide subscriber, so this file holds only tests that share it.

mod common;

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, ExponentialRetryOptions, RetryOptions,
};
use common::*;
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static Buffer {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        buffer
    })
}

fn text() -> String {
    String::from_utf8_lossy(&logs().0.lock().unwrap()).into_owned()
}

fn client(endpoint: &str) -> CustomerLockboxClient {
    let options = CustomerLockboxClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            initial_delay: Duration::from_millis(5),
            jitter: false,
            ..Default::default()
        }),
        ..CustomerLockboxClientOptions::for_endpoint(endpoint.parse().unwrap())
    };
    CustomerLockboxClient::new(CountingCredential::new(), Some(options)).unwrap()
}

#[tokio::test]
async fn retries_are_events_and_tokens_never_reach_the_logs() {
    logs();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(429).insert_header("x-ms-request-id", "rid-429"),
            ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(SUB, "a", "Pending")]})),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("you sent Bearer {TOKEN}")))
        .mount(&server)
        .await;
    let client = client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    assert_eq!(requests.list_pending().try_collect().await.unwrap().len(), 1);
    let error = client.tenant().enable().await.unwrap_err();
    tracing::error!(%error, ?error, "the call failed");
    let logs = text();
    let retries: Vec<&str> = logs.lines().filter(|l| l.contains("retrying")).collect();
    assert!(retries.len() >= 2, "{logs}");
    assert!(retries.iter().any(|l| l.contains("attempt=1") && l.contains("status=503") && l.contains("wait_ms=5")));
    assert!(retries.iter().any(|l| l.contains("attempt=2") && l.contains("status=429") && l.contains("wait_ms=10")));
    assert!(logs.contains("operation=\"requests_list\""), "{logs}");
    assert!(logs.contains("client_request_id="), "{logs}");
    assert!(logs.lines().count() > 20, "TRACE output of the dependencies is captured too");
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(!logs.contains("c2VjcmV0LXRva2VuLWRvLW5vdC1sZWFr"), "part of the token leaked into the logs");
}
