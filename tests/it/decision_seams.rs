//! Decisions at the seams of issue 22, each on tokio's paused clock against a scripted server: a resend whose
//! accepted operation fails after an uncertain first round, an accepted decision with a foreign polling URL
//! while the request stays `Pending` for a while, a denial answered with `Approve`, and reconciling reads that
//! show no status or one that is not final. In each, the request's own status decides the outcome.

use std::time::Duration;

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, Error,
    models::{ApprovalDecision, LockboxRequestStatus},
    options::{ExponentialRetries, Retries},
};
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

/// Where the requests of `SUB` are.
const REQUESTS: &str =
    "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.CustomerLockbox/requests";

fn client(endpoint: &str) -> CustomerLockboxClient {
    let retry = ExponentialRetries { max_retries: 3, jitter: false, ..Default::default() };
    TestClient::new(endpoint).retry(Retries::Exponential(retry)).per_try_timeout(None).paused_clock().build()
}

fn read(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req", status))
}

/// A request whose body has no `properties.status`.
fn read_without_status() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"name": "req", "properties": {"justification": "x"}}))
}

async fn count(server: &MockServer, verb: &str, path_ends: &str) -> usize {
    let received = server.received_requests().await.unwrap();
    received.iter().filter(|r| r.method.as_str() == verb && r.url.path().ends_with(path_ends)).count()
}

/// The first round is cut (`504`, it may have been taken); two reads a second apart say `Pending`; the resend is accepted
/// (`202`) and its operation then fails, because the first round landed in between (the request is no longer
/// pending when the second operation ends). The caller is told the truth: approved, not a plain failure.
#[tokio::test(start_paused = true)]
async fn a_resend_whose_accepted_operation_fails_after_an_uncertain_round_is_read_out() {
    let server = mock_server().await;
    let accepted = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", format!("{}/operations/op2", server.uri()).as_str());
    let posts = Sequence::new(vec![ResponseTemplate::new(504), accepted]);
    Mock::given(method("POST"))
        .and(path(format!("{REQUESTS}/req/updateApproval")))
        .respond_with(posts)
        .mount(&server)
        .await;
    let failed = ResponseTemplate::new(200).set_body_json(json!({"status": "Failed", "error": {
        "code": "RequestNotPending", "message": "The Lockbox request 'req' is in status 'Approved'."}}));
    Mock::given(method("GET")).and(path("/operations/op2")).respond_with(failed).mount(&server).await;
    let reads = Sequence::new(vec![read("Pending"), read("Pending"), read("Approved")]);
    Mock::given(method("GET")).and(path(format!("{REQUESTS}/req"))).respond_with(reads).mount(&server).await;

    let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    assert!(decision.reconciled(), "learned by reading the request");
    assert_eq!(count(&server, "POST", "/updateApproval").await, 2, "the cut round and one resend");
    assert_eq!(count(&server, "GET", "/req").await, 3, "two reads before the resend, and one after it failed");
}

/// Accepted, but the polling URL is on another origin, and the request stays `Pending` for a while (the
/// service moves it only when its operation ends). One read is not enough: the request is read at the
/// `Retry-After` the `202` asked for until it leaves `Pending`, and the decision is never sent again.
#[tokio::test(start_paused = true)]
async fn an_accepted_decision_with_a_foreign_polling_url_is_read_until_it_leaves_pending() {
    let foreign = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", "https://westus.management.azure.com/operations/op1")
        .insert_header("Retry-After", "2");
    let server =
        decisions_server(vec![foreign], vec![read("Pending"), read("Pending"), read("Pending"), read("Approved")])
            .await;
    let started = tokio::time::Instant::now();
    let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    assert!(decision.reconciled());
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1, "never resent while it may still land");
    assert_eq!(count(&server, "GET", "/req").await, 4);
    assert!(started.elapsed() >= Duration::from_secs(8), "each read after the 2 s asked for: {:?}", started.elapsed());
}

/// `deny` answered `200 {"status": "Approve"}` (a mock or a confused proxy): not a successful `Decision`
/// carrying `Approve`, but a read; here the request shows it approved, so the denial is a conflict.
#[tokio::test(start_paused = true)]
async fn a_denial_answered_with_approve_is_reconciled_by_a_read() {
    let approve = ResponseTemplate::new(200).set_body_json(json!({"status": "Approve", "reason": "?"}));
    let server = decisions_server(vec![approve.clone()], vec![read("Approved")]).await;
    match client(&server.uri()).requests(SUB).unwrap().deny("req", "no", None).await.unwrap_err() {
        Error::DecisionConflict { decision, current_status, .. } => {
            assert_eq!(decision, ApprovalDecision::Deny);
            assert_eq!(current_status, LockboxRequestStatus::Approved);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "GET", "/req").await, 1, "the request was read");

    // The same answer while the request shows the denial: the denial was recorded.
    let server = decisions_server(vec![approve], vec![read("Denied")]).await;
    let decision = client(&server.uri()).requests(SUB).unwrap().deny("req", "no", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Deny, "what was sent, not what the answer named");
    assert!(decision.reconciled());
}

/// A reconciling read that shows no status, then `Initializing`, then a status this SDK does not know: none is
/// a conflict (nor success); the reads go on until a final status tells.
#[tokio::test(start_paused = true)]
async fn a_reconciling_read_with_no_status_or_one_not_final_is_read_again() {
    let server = decisions_server(
        vec![ResponseTemplate::new(502)],
        vec![read_without_status(), read("Initializing"), read("Escalated"), read("Approving")],
    )
    .await;
    let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    assert!(decision.reconciled());
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1, "not Pending: never resent");
    assert_eq!(count(&server, "GET", "/req").await, 4);

    // No status until the bound ends: the outcome is unknown, not a conflict.
    let server = decisions_server(vec![ResponseTemplate::new(502)], vec![read_without_status()]).await;
    match client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionOutcomeUnknown { decision, .. } => assert_eq!(decision, ApprovalDecision::Approve),
        other => panic!("{other:?}"),
    }
}

/// However long the call may take (a `timeout` of `Duration::MAX`), a request that cannot be read ends the call
/// after three failed reads in a row. Real clock: on the paused clock the call's own bound would fire while a
/// read is on the socket.
#[tokio::test]
async fn reconciling_reads_that_keep_failing_end_under_the_longest_timeout() {
    let server = decisions_server(vec![ResponseTemplate::new(502)], vec![ResponseTemplate::new(503)]).await;
    let retry = ExponentialRetries {
        max_retries: 0,
        initial_delay: Duration::from_millis(10),
        jitter: false,
        ..Default::default()
    };
    let client = TestClient::new(server.uri()).retry(Retries::Exponential(retry)).timeout(Some(Duration::MAX)).build();
    match client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionOutcomeUnknown { source, .. } => assert_eq!(source.status().map(|s| s.as_u16()), Some(503)),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "GET", "/req").await, 3);
}

/// Accepted with `retry-after-ms: 1` on a foreign origin, the request Pending for ten reads: read once a second
/// (the poller's shortest interval), not in a busy loop.
#[tokio::test(start_paused = true)]
async fn a_tiny_retry_after_does_not_make_the_reads_a_busy_loop() {
    let foreign = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", "https://westus.management.azure.com/operations/op1")
        .insert_header("retry-after-ms", "1");
    let mut reads = vec![read("Pending"); 10];
    reads.push(read("Approved"));
    let server = decisions_server(vec![foreign], reads).await;
    let started = tokio::time::Instant::now();
    client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(count(&server, "GET", "/req").await, 11);
    assert!(started.elapsed() >= Duration::from_secs(10), "{:?}", started.elapsed());
}
