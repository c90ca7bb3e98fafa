//! Tracing output: one span per call, one event per retry, and never a token, even at TRACE level with every
//! dependency's logs on. One process-wide subscriber, so this file holds only tests that share it.

// A test binary of its own, not a module of `tests/it`: `logs::capture` installs a process-wide tracing
// subscriber at TRACE level, and these tests search everything it captured. In the shared binary every other
// test would log at TRACE into it too (slower, and its lines would satisfy or break these searches); for the
// same reason redaction.rs and telemetry.rs do not share one binary.
#[path = "it/common/mod.rs"]
mod common;
#[path = "it/common/logs.rs"]
mod logs;

use std::time::Duration;

use azure_customer_lockbox::{
    CustomerLockboxClient,
    options::{ExponentialRetries, RequestsListOptions, Retries},
};
use common::*;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate, matchers::method};

fn client(endpoint: &str) -> CustomerLockboxClient {
    let retry = ExponentialRetries { initial_delay: Duration::from_millis(5), jitter: false, ..Default::default() };
    TestClient::new(endpoint).retry(Retries::Exponential(retry)).build()
}

#[tokio::test]
async fn retries_are_events_and_tokens_never_reach_the_logs() {
    logs::capture();
    let server = mock_server().await;
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
    assert_eq!(requests.list(Some(RequestsListOptions::pending())).try_collect().await.unwrap().len(), 1);
    let error = client.tenant().enable(None).await.unwrap_err();
    tracing::error!(%error, ?error, "the call failed");
    let logs = logs::text();
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

#[tokio::test]
async fn every_operation_with_errors_retries_and_paging_logs_no_token() {
    use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, Fault, Operation, RetryAfterHeader};
    logs::capture();
    let emulator = Emulator::start(EmulatorConfig::default().with_page_size(1)).await.unwrap();
    let ids = emulator.sample_data(SUB);
    let client = client(emulator.url().as_str());
    let requests = client.requests(SUB).unwrap();

    // Paging (one item per page) with a throttled page in the middle, and the catalogue.
    emulator.inject(Fault::throttle(RetryAfterHeader::Millis(1)).on(Operation::RequestsList));
    assert_eq!(requests.list(None).try_collect().await.unwrap().len(), ids.len());
    assert_eq!(requests.list(Some(RequestsListOptions::pending())).try_collect().await.unwrap().len(), 3);
    assert!(!client.operations().list(None).try_collect().await.unwrap().is_empty());
    // The tenant operations, one of them retried after a 503.
    emulator.inject(Fault::status(503).on(Operation::EnableLockbox));
    client.tenant().enable(None).await.unwrap();
    assert!(client.tenant().is_opted_in(emulator.default_tenant_id(), None).await.unwrap());
    client.tenant().disable(None).await.unwrap();
    // Reads, decisions, a decision reconciled after a 500 that was committed, and refusals.
    let pending = requests.list(Some(RequestsListOptions::pending())).try_collect().await.unwrap();
    let first = pending[0].request_id().unwrap().to_owned();
    let second = pending[1].request_id().unwrap().to_owned();
    requests.get(&first, None).await.unwrap();
    requests.approve(&first, "approved in the telemetry test", None).await.unwrap();
    emulator.inject(Fault::status(500).after_commit().on(Operation::RequestsUpdateStatus));
    requests.deny(&second, "denied in the telemetry test", None).await.unwrap();
    let mut errors = vec![
        requests.deny(&first, "too late", None).await.unwrap_err(),
        requests.get("no-such-request", None).await.unwrap_err(),
        requests.get("..", None).await.unwrap_err(),
    ];
    emulator.inject(Fault::html(502).times(10).on(Operation::RequestsGet));
    errors.push(requests.get(&first, None).await.unwrap_err());

    // A service that echoes the token in its body and headers, with a 401.
    let server = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("x-ms-request-id", format!("Bearer {TOKEN}").as_str())
                .insert_header("x-ms-error-code", TOKEN)
                .set_body_string(format!("{{\"error\":{{\"code\":\"{TOKEN}\",\"message\":\"got {TOKEN}\"}}}}")),
        )
        .mount(&server)
        .await;
    errors.push(self::client(&server.uri()).tenant().get_opt_in_status(TENANT, None).await.unwrap_err());

    for error in &errors {
        tracing::error!(%error, ?error, "the call failed");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("c2VjcmV0LXRva2VuLWRvLW5vdC1sZWFr"), "{shown}");
    }
    let logs = logs::text();
    for operation in [
        "operations_list",
        "get_tenant_opted_in",
        "post_enable_lockbox",
        "post_disable_lockbox",
        "requests_get",
        "requests_list",
        "requests_update_status",
    ] {
        assert!(logs.contains(&format!("operation=\"{operation}\"")), "{operation} has no span");
    }
    assert!(logs.contains("retrying"), "a retry was logged");
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(!logs.contains("c2VjcmV0LXRva2VuLWRvLW5vdC1sZWFr"), "part of the token leaked into the logs");
}
