//! Long-running operations and decision waits against scripted wiremock sequences, on paused time.
//!
//! The clients here have no per-try timeout, no connect timeout and no pool idle timer: with paused time, tokio
//! jumps to the next timer whenever it waits on a socket, so any such timer would fire spuriously.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use crate::common::*;
use azure_customer_lockbox::{
    ContinuationToken, CustomerLockboxClient, Error, Waiter, WaiterStatus,
    models::LockboxRequestStatus,
    options::{DecisionOptions, MAX_POLL_WAIT, WaiterOptions},
};
use futures::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{method, path},
};

const ENABLE: &str = "/providers/Microsoft.CustomerLockbox/enableLockbox";

fn lro_client(uri: &str) -> CustomerLockboxClient {
    TestClient::new(uri).per_try_timeout(None).paused_clock().build()
}

/// Answers with each template in turn, repeating the last one.
struct Sequence(Vec<ResponseTemplate>, AtomicUsize);

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, Ordering::SeqCst);
        self.0[i.min(self.0.len() - 1)].clone()
    }
}

async fn script(server: &MockServer, verb: &str, at: &str, answers: Vec<ResponseTemplate>) {
    Mock::given(method(verb)).and(path(at)).respond_with(Sequence(answers, AtomicUsize::new(0))).mount(server).await;
}

fn accepted(headers: &[(&str, String)]) -> ResponseTemplate {
    headers.iter().fold(ResponseTemplate::new(202), |t, (k, v)| t.insert_header(*k, v.as_str()))
}

fn monitor(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"id": "op1", "name": "op1", "status": status}))
}

fn every(secs: u64) -> WaiterOptions {
    WaiterOptions { frequency: Duration::from_secs(secs), timeout: None }
}

async fn statuses<T: serde::de::DeserializeOwned + Send + 'static>(poller: &mut Waiter<T>) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(status) = poller.next().await {
        seen.push(status.unwrap().to_string());
    }
    seen
}

async fn hits(server: &MockServer, at: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == at).collect()
}

#[tokio::test(start_paused = true)]
async fn azure_async_operation_honours_retry_after_on_202_and_polls() {
    let server = mock_server().await;
    let op = format!("{}/operations/op1", server.uri());
    let first = accepted(&[("Azure-AsyncOperation", op), ("Retry-After", "3".into())]);
    script(&server, "POST", ENABLE, vec![first]).await;
    script(
        &server,
        "GET",
        "/operations/op1",
        vec![monitor("InProgress").insert_header("Retry-After", "5"), monitor("Succeeded")],
    )
    .await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    let mut poller = client.tenant().begin_enable(Some(every(30)));
    assert_eq!(statuses(&mut poller).await, ["InProgress", "Succeeded"]);
    // 3 s asked by the 202, then 5 s asked by the first poll instead of the 30 s frequency.
    assert_eq!(started.elapsed(), Duration::from_secs(8));
    poller.await.unwrap();
    let polls = hits(&server, "/operations/op1").await;
    assert_eq!(polls.len(), 2);
    for poll in &polls {
        assert_eq!(poll.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {TOKEN}"));
        assert!(poll.headers.get("x-ms-client-request-id").is_some());
        assert_eq!(poll.url.query_pairs().filter(|(k, _)| k == "api-version").count(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn operation_location_is_preferred_and_result_read_from_location() {
    let server = mock_server().await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1/updateApproval");
    let headers = [
        ("Location", format!("{}/results/op1", server.uri())),
        ("Operation-Location", format!("{}/operations/op1", server.uri())),
    ];
    script(&server, "POST", &at, vec![accepted(&headers)]).await;
    script(&server, "GET", "/operations/op1", vec![monitor("Running"), monitor("succeeded")]).await;
    let result = json!({"status": "Approve", "reason": "read from Location"});
    script(&server, "GET", "/results/op1", vec![ResponseTemplate::new(200).set_body_json(result)]).await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    let follow = DecisionOptions { follow: every(2), ..Default::default() };
    let decision = client.requests(SUB).unwrap().approve("req-1", "ok", Some(follow)).await.unwrap();
    assert_eq!(decision.reason(), Some("read from Location"));
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(hits(&server, &at).await.len(), 1, "the decision is sent once");
    assert_eq!(hits(&server, "/operations/op1").await.len(), 2, "Operation-Location is the one polled");
    assert_eq!(hits(&server, "/results/op1").await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn location_polls_until_it_stops_answering_202() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![accepted(&[("Location", format!("{}/results/op1", server.uri()))])]).await;
    let running = || ResponseTemplate::new(202);
    script(
        &server,
        "GET",
        "/results/op1",
        vec![running().insert_header("Retry-After", "1"), running(), ResponseTemplate::new(204)],
    )
    .await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    let mut poller = client.tenant().begin_enable(Some(every(5)));
    assert_eq!(statuses(&mut poller).await, ["InProgress", "InProgress", "Succeeded"]);
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    poller.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn enable_and_approve_wait_through_a_202_transparently() {
    let server = mock_server().await;
    script(
        &server,
        "POST",
        ENABLE,
        vec![accepted(&[("Azure-AsyncOperation", format!("{}/operations/e", server.uri()))])],
    )
    .await;
    script(&server, "GET", "/operations/e", vec![monitor("Running"), monitor("Succeeded")]).await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1/updateApproval");
    script(&server, "POST", &at, vec![accepted(&[("Azure-AsyncOperation", format!("{}/operations/a", server.uri()))])])
        .await;
    script(&server, "GET", "/operations/a", vec![monitor("Succeeded")]).await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(30), "default frequency");
    let approval = client.requests(SUB).unwrap().approve("req-1", "ticket 7", None).await.unwrap();
    assert_eq!(approval.reason(), Some("ticket 7"), "no final body: the decision sent");
    assert_eq!(hits(&server, &at).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn immediate_answers_complete_without_polling() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![ResponseTemplate::new(200)]).await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1/updateApproval");
    script(&server, "POST", &at, vec![ResponseTemplate::new(204)]).await;
    let client = lro_client(&server.uri());
    let mut poller = client.tenant().begin_enable(None);
    assert!(poller.continuation().is_none());
    assert_eq!(statuses(&mut poller).await, ["Succeeded"]);
    poller.await.unwrap();
    let approval = client.requests(SUB).unwrap().deny("req-1", "no", None).await.unwrap();
    assert_eq!(approval.reason(), Some("no"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn failed_and_canceled_end_with_the_arm_error() {
    for (status, error) in [("Failed", Some(json!({"code": "Boom", "message": "it broke"}))), ("Cancelled", None)] {
        let server = mock_server().await;
        script(&server, "POST", ENABLE, vec![accepted(&[("Azure-AsyncOperation", format!("{}/op", server.uri()))])])
            .await;
        let body = ResponseTemplate::new(200).set_body_json(json!({"status": status, "error": error}));
        script(&server, "GET", "/op", vec![monitor("Running"), body]).await;
        let client = lro_client(&server.uri());
        let mut poller = client.tenant().begin_enable(Some(every(1)));
        let seen = statuses(&mut poller).await;
        assert_eq!(seen, ["Running", status]);
        match poller.await {
            Err(Error::OperationFailed { status: got, error: detail }) => {
                assert_eq!(got, status);
                assert_eq!(detail.and_then(|d| d.code), error.map(|_| "Boom".to_owned()));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(client.tenant().enable(None).await, Err(Error::OperationFailed { .. })));
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_and_mixed_case_statuses_keep_polling() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![accepted(&[("Operation-Location", format!("{}/op", server.uri()))])]).await;
    script(&server, "GET", "/op", vec![monitor("notStarted"), monitor("Warming"), monitor("SUCCEEDED")]).await;
    let client = lro_client(&server.uri());
    let mut poller = client.tenant().begin_enable(Some(every(1)));
    let mut seen = Vec::new();
    while let Some(status) = poller.try_next().await.unwrap() {
        seen.push(status);
    }
    assert_eq!(seen.last(), Some(&WaiterStatus::Succeeded("SUCCEEDED".into())));
    assert_eq!(seen[..2], [WaiterStatus::InProgress("notStarted".into()), WaiterStatus::InProgress("Warming".into())]);
}

#[tokio::test(start_paused = true)]
async fn timeout_reports_the_last_status() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![accepted(&[("Azure-AsyncOperation", format!("{}/op", server.uri()))])]).await;
    script(&server, "GET", "/op", vec![monitor("Running")]).await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    let options = WaiterOptions { frequency: Duration::from_secs(10), timeout: Some(Duration::from_secs(25)) };
    let result = client.tenant().begin_enable(None).with_options(options).await;
    match result {
        Err(Error::Timeout { last_status, elapsed, .. }) => {
            assert_eq!(last_status, "Running");
            assert_eq!(elapsed, Duration::from_secs(25));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(25));
    assert_eq!(hits(&server, "/op").await.len(), 3, "polls at 0, 10 and 20 s");
}

#[tokio::test(start_paused = true)]
async fn foreign_polling_urls_are_refused_before_sending() {
    let server = mock_server().await;
    let foreign = mock_server().await;
    let client = lro_client(&server.uri());
    let cases = [
        vec![("Azure-AsyncOperation", format!("{}/op", foreign.uri()))],
        vec![("Location", format!("{}/result", foreign.uri()))],
        vec![("Operation-Location", format!("{}/op", server.uri())), ("Location", format!("{}/r", foreign.uri()))],
    ];
    for headers in cases {
        server.reset().await;
        script(&server, "POST", ENABLE, vec![accepted(&headers)]).await;
        match client.tenant().enable(None).await {
            Err(Error::UnsafeUrl { kind, .. }) => assert_eq!(kind, "polling URL"),
            other => panic!("{other:?}"),
        }
    }
    assert!(foreign.received_requests().await.unwrap().is_empty(), "nothing, no token, reaches the foreign host");
}

#[tokio::test(start_paused = true)]
async fn accepted_without_a_polling_header_is_an_error() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![ResponseTemplate::new(202)]).await;
    let client = lro_client(&server.uri());
    let error = client.tenant().enable(None).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(202));
    assert_eq!(error.code(), Some("MissingPollingHeader"));
    assert!(!error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn resume_token_continues_with_a_new_client() {
    let server = mock_server().await;
    script(&server, "POST", ENABLE, vec![accepted(&[("Azure-AsyncOperation", format!("{}/op", server.uri()))])]).await;
    script(&server, "GET", "/op", vec![monitor("Running"), monitor("Running"), monitor("Succeeded")]).await;
    let mut poller = lro_client(&server.uri()).tenant().begin_enable(Some(every(1)));
    assert_eq!(poller.try_next().await.unwrap(), Some(WaiterStatus::InProgress("Running".into())));
    let token = poller.continuation().unwrap();
    drop(poller);
    let json = String::from_utf8(azure_core::base64::decode_url_safe(token.as_str()).unwrap()).unwrap();
    assert!(json.contains(&format!("{}/op", server.uri())), "{json}");
    assert!(!json.contains(TOKEN) && !json.to_ascii_lowercase().contains("bearer"), "no secret in the token: {json}");
    let text = token.to_string();
    let other = lro_client(&server.uri());
    let resumed: Waiter<()> = Waiter::resume(&other, &ContinuationToken::from(text), Some(every(1))).unwrap();
    resumed.await.unwrap();
    assert_eq!(hits(&server, "/op").await.len(), 3);

    let elsewhere = mock_server().await;
    let wrong = lro_client(&elsewhere.uri());
    assert!(matches!(Waiter::<()>::resume(&wrong, &token, None), Err(Error::UnsafeUrl { .. })));
    let garbage = ContinuationToken::from("not a token!".to_owned());
    assert!(matches!(Waiter::<()>::resume(&wrong, &garbage, None), Err(Error::InvalidArgument { .. })));
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn wait_for_decision_streams_pending_approving_approved() {
    let server = mock_server().await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1");
    let answer = |s: &str| ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", s));
    script(&server, "GET", &at, vec![answer("Pending"), answer("Approving"), answer("Approved")]).await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    let mut poller = client.requests(SUB).unwrap().wait_for_decision("req-1", Some(every(5))).unwrap();
    assert_eq!(statuses(&mut poller).await, ["Pending", "Approving", "Approved"]);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let request = poller.await.unwrap();
    assert_eq!(request.status(), Some(&LockboxRequestStatus::Approved));
    assert_eq!(hits(&server, &at).await.len(), 3, "awaiting after the stream sends nothing more");
}

#[tokio::test(start_paused = true)]
async fn decisions_until_final() {
    let server = mock_server().await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1");
    let decide = format!("{at}/updateApproval");
    script(&server, "POST", &decide, vec![ResponseTemplate::new(200).set_body_json(json!({"status": "Approve"}))])
        .await;
    let answer = |s: &str| ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", s));
    script(&server, "GET", &at, vec![answer("Approving"), answer("Approved")]).await;
    let client = lro_client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    let until_final = |options| Some(DecisionOptions { until_final: Some(options), ..Default::default() });
    let decision = requests.approve("req-1", "ok", until_final(every(1))).await.unwrap();
    assert_eq!(decision.request().and_then(|r| r.status()), Some(&LockboxRequestStatus::Approved));
    // Denying a request that ends Approved is a conflict, not a success.
    match requests.deny("req-1", "no", until_final(every(1))).await {
        Err(Error::DecisionConflict { current_status, .. }) => {
            assert_eq!(current_status, LockboxRequestStatus::Approved)
        }
        other => panic!("{other:?}"),
    }
    let options = WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::ZERO) };
    server.reset().await;
    script(&server, "POST", &decide, vec![ResponseTemplate::new(200).set_body_json(json!({"status": "Approve"}))])
        .await;
    script(&server, "GET", &at, vec![answer("Approving")]).await;
    assert!(matches!(requests.approve("req-1", "ok", until_final(options)).await, Err(Error::Timeout { .. })));
}

// ---- issue 14: a server's Retry-After never makes a poller without a timeout sleep past the cap ----

const FOREVER: &str = "18446744073709551615";

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_without_a_timeout_waits_at_most_the_cap_between_polls() {
    assert_eq!(MAX_POLL_WAIT, Duration::from_secs(60));
    // (frequency, the cap it gives): the cap is MAX_POLL_WAIT, or the frequency when that is longer.
    for (frequency, cap) in [(30, 60), (90, 90)] {
        let server = mock_server().await;
        let op = format!("{}/operations/op1", server.uri());
        script(
            &server,
            "POST",
            ENABLE,
            vec![accepted(&[("Azure-AsyncOperation", op), ("Retry-After", FOREVER.into())])],
        )
        .await;
        let running = monitor("Running").insert_header("Retry-After", FOREVER);
        script(&server, "GET", "/operations/op1", vec![running, monitor("Succeeded")]).await;
        let client = lro_client(&server.uri());
        let started = Instant::now();
        let mut poller = client.tenant().begin_enable(Some(every(frequency)));
        assert_eq!(statuses(&mut poller).await, ["Running", "Succeeded"]);
        // The 202's wait, then the first poll's: each cut to the cap.
        assert_eq!(started.elapsed(), Duration::from_secs(2 * cap), "frequency {frequency} s");
        poller.await.unwrap();
        assert_eq!(hits(&server, "/operations/op1").await.len(), 2);
    }
}

#[tokio::test(start_paused = true)]
async fn a_decisions_poll_with_a_huge_retry_after_waits_at_most_the_cap() {
    let server = mock_server().await;
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1");
    let op = format!("{}/operations/op1", server.uri());
    let first = accepted(&[("Azure-AsyncOperation", op), ("Retry-After", FOREVER.into())]);
    script(&server, "POST", &format!("{at}/updateApproval"), vec![first]).await;
    let running = monitor("Running").insert_header("Retry-After", FOREVER);
    script(&server, "GET", "/operations/op1", vec![running, monitor("Succeeded")]).await;
    let client = lro_client(&server.uri());
    let started = Instant::now();
    // `approve` follows a 202 with the default options: no timeout, a 30 s frequency.
    let decision = client.requests(SUB).unwrap().approve("req-1", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &azure_customer_lockbox::models::ApprovalDecision::Approve);
    assert!(!decision.reconciled(), "followed to its end");
    assert_eq!(started.elapsed(), Duration::from_secs(2 * 60));
    assert_eq!(hits(&server, "/operations/op1").await.len(), 2);
    assert!(hits(&server, &at).await.is_empty(), "the request was not read");

    // The wait for a decision: a request read answered with a huge Retry-After.
    let answer = |s: &str| ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", s));
    script(&server, "GET", &at, vec![answer("Pending").insert_header("Retry-After", FOREVER), answer("Approved")])
        .await;
    let started = Instant::now();
    let request = client.requests(SUB).unwrap().wait_for_decision("req-1", Some(every(5))).unwrap().await.unwrap();
    assert_eq!(request.status(), Some(&LockboxRequestStatus::Approved));
    assert_eq!(started.elapsed(), Duration::from_secs(60));
}

// ---- issue 14 A3: polling URLs on an origin the caller allowed ----

#[tokio::test(start_paused = true)]
async fn a_begin_poller_follows_an_allowed_origin_and_so_does_its_continuation() {
    let server = mock_server().await;
    let regional = mock_server().await;
    let op = format!("{}/operations/op1", regional.uri());
    script(&server, "POST", ENABLE, vec![accepted(&[("Azure-AsyncOperation", op)])]).await;
    script(&regional, "GET", "/operations/op1", vec![monitor("Running"), monitor("Running"), monitor("Succeeded")])
        .await;
    let allowing = |uri: &str| {
        TestClient::new(uri).per_try_timeout(None).paused_clock().allowed_poll_origins(&[&regional.uri()]).build()
    };
    let mut poller = allowing(&server.uri()).tenant().begin_enable(Some(every(1)));
    assert_eq!(poller.try_next().await.unwrap(), Some(WaiterStatus::InProgress("Running".into())));
    let token = poller.continuation().unwrap();
    drop(poller);
    // A client that does not allow the origin refuses the token before sending anything.
    let strict = lro_client(&server.uri());
    assert!(matches!(Waiter::<()>::resume(&strict, &token, None), Err(Error::UnsafeUrl { .. })));
    // One that does resumes it there, with its token.
    let resumed: Waiter<()> = Waiter::resume(&allowing(&server.uri()), &token, Some(every(1))).unwrap();
    resumed.await.unwrap();
    let polls = hits(&regional, "/operations/op1").await;
    assert_eq!(polls.len(), 3);
    for poll in &polls {
        assert_eq!(poll.headers.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {TOKEN}"));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "only the action went to the endpoint");
}
