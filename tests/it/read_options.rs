//! `ReadOptions`: a read's own time limit, in place of the client's `timeout` (issue 31: every method that can
//! be configured takes `Option<…Options>` last). On tokio's paused clock: the server holds its answer for a
//! minute of real time, so the call's limit, whichever it is, is what ends it.

use std::time::Duration;

use crate::common::*;
use azure_customer_lockbox::{
    Error,
    options::{ReadOptions, Retries},
};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

async fn slow_server() -> wiremock::MockServer {
    let server = mock_server().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(request_json(SUB, "req-1", "Pending"))
        .set_delay(Duration::from_secs(60));
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1")))
        .respond_with(slow.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/{TENANT}")))
        .respond_with(slow)
        .mount(&server)
        .await;
    server
}

fn elapsed<T: std::fmt::Debug>(result: Result<T, Error>) -> Duration {
    match result {
        Err(Error::Timeout { elapsed, .. }) => elapsed,
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_reads_own_timeout_replaces_the_clients_in_both_directions() {
    let server = slow_server().await;
    let client = TestClient::new(server.uri())
        .retry(Retries::None)
        .per_try_timeout(None)
        .timeout(Some(Duration::from_secs(30)))
        .paused_clock()
        .build();
    let requests = client.requests(SUB).unwrap();
    let short = ReadOptions { timeout: Some(Duration::from_secs(2)) };
    assert_eq!(elapsed(requests.get("req-1", None).await), Duration::from_secs(30));
    assert_eq!(elapsed(requests.get("req-1", Some(short.clone())).await), Duration::from_secs(2));
    assert_eq!(elapsed(requests.get_with_response("req-1", Some(short.clone())).await), Duration::from_secs(2));
    let long = ReadOptions { timeout: Some(Duration::from_secs(45)) };
    assert_eq!(elapsed(requests.get("req-1", Some(long)).await), Duration::from_secs(45));
    let tenant = client.tenant();
    assert_eq!(elapsed(tenant.get_opt_in_status(TENANT, Some(short.clone())).await), Duration::from_secs(2));
    assert_eq!(elapsed(tenant.is_opted_in(TENANT, Some(short)).await), Duration::from_secs(2));
    assert_eq!(elapsed(tenant.is_opted_in(TENANT, None).await), Duration::from_secs(30));
}
