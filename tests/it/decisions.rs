//! Decisions where features meet: refusals without `currentStatus`, 202s whose progress cannot be followed,
//! no retries, the reconciling read's backoff, timeouts, and what an audit log can cite (issue 14 A and D,
//! issue 15 item 5). All on tokio's paused clock unless a test says otherwise.

use std::time::Duration;

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, Error,
    models::{ApprovalDecision, LockboxRequestStatus},
    options::{DecisionOptions, ExponentialRetries, Retries, WaiterOptions},
};
use serde_json::json;
use tokio::time::Instant;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path, path_regex},
};

fn policy(max_retries: u32) -> Retries {
    Retries::Exponential(ExponentialRetries { max_retries, jitter: false, ..Default::default() })
}

fn client_with(endpoint: &str, retry: Retries, timeout: Option<Duration>) -> CustomerLockboxClient {
    TestClient::new(endpoint).retry(retry).timeout(timeout).per_try_timeout(None).paused_clock().build()
}

fn client(endpoint: &str, retry: Retries) -> CustomerLockboxClient {
    client_with(endpoint, retry, None)
}

async fn script(server: &MockServer, at: &str, answers: Vec<ResponseTemplate>) {
    Mock::given(method("GET")).and(path(at)).respond_with(Sequence::new(answers)).mount(server).await;
}

async fn count(server: &MockServer, verb: &str, path_ends: &str) -> usize {
    let received = server.received_requests().await.unwrap();
    received.iter().filter(|r| r.method.as_str() == verb && r.url.path().ends_with(path_ends)).count()
}

fn read(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req", status))
}

/// A refusal with an ARM body that says nothing about where the request stands.
fn bare_refusal(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": {"code": "RequestNotPending", "message": "The request is not pending."}}))
}

fn accepted(header: &str, url: String) -> ResponseTemplate {
    ResponseTemplate::new(202).insert_header(header, url.as_str())
}

/// Decisions answer `202` with an `Azure-AsyncOperation` URL on the server, whose polls answer `polls` in turn.
async fn accepted_with_polls(server: &MockServer, polls: Vec<ResponseTemplate>) {
    Mock::given(method("POST"))
        .and(path_regex("/updateApproval$"))
        .respond_with(accepted("Azure-AsyncOperation", format!("{}/operations/op1", server.uri())))
        .mount(server)
        .await;
    script(server, "/operations/op1", polls).await;
}

// ---- A1: every refusal after an uncertain try is reconciled ----

#[tokio::test(start_paused = true)]
async fn a_refusal_without_current_status_after_an_uncertain_try_is_reconciled_by_a_read() {
    for refusal in [409u16, 400] {
        // The two reads after the 500 say Pending, the resend is refused, the read after the refusal shows ours.
        let server = decisions_server(
            vec![ResponseTemplate::new(500), bare_refusal(refusal)],
            vec![read("Pending"), read("Pending"), read("Approved")],
        )
        .await;
        let decision =
            client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
        assert_eq!(decision.decision(), &ApprovalDecision::Approve, "{refusal}");
        assert!(decision.reconciled(), "{refusal}");
        assert_eq!(count(&server, "POST", "/updateApproval").await, 2, "{refusal}");
        assert_eq!(count(&server, "GET", "/req").await, 3, "{refusal}");

        let server = decisions_server(
            vec![ResponseTemplate::new(502), bare_refusal(refusal)],
            vec![read("Pending"), read("Pending"), read("Expired")],
        )
        .await;
        match client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
            Error::DecisionConflict { current_status, .. } => assert_eq!(current_status, LockboxRequestStatus::Expired),
            other => panic!("{refusal}: {other:?}"),
        }

        let server = decisions_server(
            vec![ResponseTemplate::new(504), bare_refusal(refusal)],
            vec![read("Pending"), read("Pending"), ResponseTemplate::new(404)],
        )
        .await;
        match client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
            Error::DecisionOutcomeUnknown { source, .. } => assert_eq!(source.status().unwrap().as_u16(), 404),
            other => panic!("{refusal}: {other:?}"),
        }
    }
}

// ---- A4: no retries, and the read says Pending ----

#[tokio::test(start_paused = true)]
async fn without_retries_an_uncertain_try_that_reads_pending_is_an_unknown_outcome() {
    let server = decisions_server(vec![ResponseTemplate::new(504)], vec![read("Pending")]).await;
    match client(&server.uri(), Retries::None).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionOutcomeUnknown { request_id, decision, .. } => {
            assert_eq!(request_id, "req");
            assert_eq!(decision, ApprovalDecision::Approve);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1);
    assert_eq!(count(&server, "GET", "/req").await, 1);
}

// ---- A2: a 202 whose polling fails ----

#[tokio::test(start_paused = true)]
async fn an_accepted_decision_whose_polling_fails_is_reconciled_by_a_read() {
    let server = decisions_server(vec![], vec![read("Approved")]).await;
    accepted_with_polls(&server, vec![ResponseTemplate::new(500)]).await;
    let requests = client(&server.uri(), policy(1)).requests(SUB).unwrap();
    let decision = requests.approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    assert_eq!(decision.reason(), Some("ok"));
    assert!(decision.reconciled());
    assert_eq!(count(&server, "GET", "/operations/op1").await, 2, "one poll and its retry");
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1);

    // The same, waiting until the request is final.
    let until_final = DecisionOptions { until_final: Some(WaiterOptions::default()), ..Default::default() };
    let decision = requests.approve("req", "ok", Some(until_final)).await.unwrap();
    assert_eq!(decision.request().and_then(|r| r.status()), Some(&LockboxRequestStatus::Approved));
}

#[tokio::test(start_paused = true)]
async fn an_accepted_decision_whose_polling_fails_and_cannot_be_read_is_an_unknown_outcome() {
    let server = decisions_server(vec![], vec![ResponseTemplate::new(503)]).await;
    accepted_with_polls(&server, vec![ResponseTemplate::new(502)]).await;
    match client(&server.uri(), policy(1)).requests(SUB).unwrap().deny("req", "no", None).await.unwrap_err() {
        Error::DecisionOutcomeUnknown { decision, .. } => assert_eq!(decision, ApprovalDecision::Deny),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1);
}

// ---- A3: a 202 whose progress cannot be followed ----

#[tokio::test(start_paused = true)]
async fn an_accepted_decision_with_a_foreign_or_missing_polling_url_is_reconciled_by_a_read() {
    let foreign = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", "https://westus.management.azure.com/operations/op1");
    for first in [foreign, ResponseTemplate::new(202)] {
        let server = decisions_server(vec![first], vec![read("Approving")]).await;
        let decision =
            client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
        assert_eq!(decision.decision(), &ApprovalDecision::Approve);
        assert!(decision.reconciled());
        assert_eq!(count(&server, "GET", "/req").await, 1, "the request was read");
    }
    // Read as another final status: a conflict, not a success.
    let server = decisions_server(vec![ResponseTemplate::new(202)], vec![read("Denied")]).await;
    match client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionConflict { current_status, .. } => assert_eq!(current_status, LockboxRequestStatus::Denied),
        other => panic!("{other:?}"),
    }
}

/// A client on `endpoint` that also follows polling URLs on `poll_origins`.
fn client_polling(endpoint: &str, poll_origins: &[&str]) -> CustomerLockboxClient {
    TestClient::new(endpoint)
        .retry(policy(3))
        .per_try_timeout(None)
        .paused_clock()
        .allowed_poll_origins(poll_origins)
        .build()
}

/// The `Authorization` headers of what `server` received.
async fn authorizations(server: &MockServer) -> Vec<Option<String>> {
    let received = server.received_requests().await.unwrap();
    received.iter().map(|r| r.headers.get("authorization").map(|v| v.to_str().unwrap().to_owned())).collect()
}

#[tokio::test(start_paused = true)]
async fn a_polling_url_on_an_allowed_origin_is_followed_with_the_token() {
    // The endpoint, and a "regional host": another loopback origin (same host, another port).
    let server = decisions_server(vec![], vec![read("Approved")]).await;
    let regional = mock_server().await;
    Mock::given(method("POST"))
        .and(path_regex("/updateApproval$"))
        .respond_with(accepted("Azure-AsyncOperation", format!("{}/operations/op1", regional.uri())))
        .mount(&server)
        .await;
    script(
        &regional,
        "/operations/op1",
        vec![
            ResponseTemplate::new(200).set_body_json(json!({"status": "Running"})),
            ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})),
        ],
    )
    .await;
    let requests = client_polling(&server.uri(), &[&regional.uri()]).requests(SUB).unwrap();
    let decision = requests.approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    assert!(!decision.reconciled(), "the poll was followed to its end, not reconciled by a read");
    assert_eq!(count(&server, "GET", "/req").await, 0, "the request was not read");
    let sent = authorizations(&regional).await;
    assert_eq!(sent.len(), 2, "two polls on the allowed origin");
    let bearer = format!("Bearer {TOKEN}");
    assert!(sent.iter().all(|h| h.as_deref() == Some(bearer.as_str())), "the token goes to the allowed origin");
    let polls = regional.received_requests().await.unwrap();
    assert!(polls.iter().all(|r| r.url.path() == "/operations/op1" && r.method.as_str() == "GET"));
    assert!(polls.iter().all(|r| r.url.query() == Some("api-version=2018-02-28-preview")), "{polls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_polling_url_on_an_origin_not_allowed_gets_nothing_and_the_decision_is_reconciled() {
    let server = decisions_server(vec![], vec![read("Approving")]).await;
    let foreign = mock_server().await;
    let allowed = mock_server().await;
    Mock::given(method("POST"))
        .and(path_regex("/updateApproval$"))
        .respond_with(accepted("Azure-AsyncOperation", format!("{}/operations/op1", foreign.uri())))
        .mount(&server)
        .await;
    script(&foreign, "/operations/op1", vec![ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"}))])
        .await;
    // Allowing another origin does not allow this one; nor does allowing none.
    for origins in [vec![allowed.uri()], vec![]] {
        let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
        let requests = client_polling(&server.uri(), &origins).requests(SUB).unwrap();
        let decision = requests.approve("req", "ok", None).await.unwrap();
        assert_eq!(decision.decision(), &ApprovalDecision::Approve);
        assert!(decision.reconciled(), "{origins:?}");
    }
    assert_eq!(foreign.received_requests().await.unwrap().len(), 0, "nothing, token included, went to it");
    assert_eq!(allowed.received_requests().await.unwrap().len(), 0);
    assert_eq!(count(&server, "GET", "/req").await, 2, "each decision was reconciled by a read");
    assert_eq!(count(&server, "POST", "/updateApproval").await, 2, "one per call, none resent");
}

#[tokio::test]
async fn bad_allowed_poll_origins_are_refused_when_the_client_is_built() {
    let server = mock_server().await;
    let build = |endpoint: &str, origin: &str| TestClient::new(endpoint).allowed_poll_origins(&[origin]).try_build();
    let https = "https://management.azure.com";
    for (endpoint, origin) in [
        (https, "http://westus.management.azure.com"),
        (https, "http://127.0.0.1:9"),
        (server.uri().as_str(), "http://westus.management.azure.com"),
        (https, "https://westus.management.azure.com/operations"),
        (https, "https://westus.management.azure.com/?api-version=1"),
        (https, "https://westus.management.azure.com/#x"),
        (https, "https://user:pw@westus.management.azure.com"),
        (https, "ftp://westus.management.azure.com"),
        (https, "data:text/plain,x"),
    ] {
        match build(endpoint, origin) {
            Err(Error::Configuration(message)) => assert!(message.contains("allowed_poll_origins"), "{message}"),
            other => panic!("{endpoint} {origin}: {other:?}"),
        }
    }
    for (endpoint, origin) in [
        (https, "https://westus.management.azure.com"),
        (https, "https://westus.management.azure.com:8443/"),
        (server.uri().as_str(), "http://127.0.0.1:9"),
        (server.uri().as_str(), "http://localhost:9"),
    ] {
        assert!(build(endpoint, origin).is_ok(), "{endpoint} {origin}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
}

// ---- A5: a final body that is the request, not an Approval ----

#[tokio::test(start_paused = true)]
async fn a_final_body_that_is_the_request_reports_the_decision_not_an_empty_approval() {
    let server = decisions_server(vec![], vec![read("Denied")]).await;
    Mock::given(method("POST"))
        .and(path_regex("/updateApproval$"))
        .respond_with(accepted("Location", format!("{}/results/op1", server.uri())))
        .mount(&server)
        .await;
    script(&server, "/results/op1", vec![read("Denied")]).await;
    let decision = client(&server.uri(), policy(3)).requests(SUB).unwrap().deny("req", "no", None).await.unwrap();
    assert_eq!(decision.decision(), &ApprovalDecision::Deny);
    assert_eq!(decision.reason(), Some("no"));
    assert!(decision.reconciled(), "the decision is reported from the request's status, as read");
    assert_eq!(count(&server, "GET", "/req").await, 1);
}

// ---- D2: the reconciling read waits a backoff ----

#[tokio::test(start_paused = true)]
async fn the_reconciling_read_waits_a_backoff_after_an_ambiguous_try() {
    let server = decisions_server(vec![ResponseTemplate::new(504)], vec![read("Approved")]).await;
    let retry = Retries::Exponential(ExponentialRetries {
        initial_delay: Duration::from_secs(2),
        jitter: false,
        ..Default::default()
    });
    let started = Instant::now();
    client(&server.uri(), retry).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    // Nothing else waits: the only time that passes on the paused clock is the wait before the read.
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(count(&server, "GET", "/req").await, 1);
}

// ---- A6 and A7: timeouts ----

/// Real clock: on the paused clock the bound on the reconciling read would fire while its answer is still on
/// the socket (tokio jumps to the next timer whenever it waits on IO).
#[tokio::test]
async fn a_decision_until_final_reconciles_when_its_timeout_passes_while_the_decision_is_on_its_way() {
    let server = decisions_server(vec![], vec![read("Approved")]).await;
    accepted_with_polls(&server, vec![ResponseTemplate::new(200).set_body_json(json!({"status": "Running"}))]).await;
    let options = WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(6)) };
    let started = Instant::now();
    let until_final = DecisionOptions { follow: options.clone(), until_final: Some(options) };
    let requests = client(&server.uri(), policy(3)).requests(SUB).unwrap();
    let decision = requests.approve("req", "ok", Some(until_final)).await.unwrap();
    assert_eq!(decision.request().and_then(|r| r.status()), Some(&LockboxRequestStatus::Approved));
    assert!(started.elapsed() <= Duration::from_secs(6), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn the_client_timeout_bounds_the_polling_after_a_202() {
    let server = decisions_server(vec![], vec![read("Pending")]).await;
    accepted_with_polls(&server, vec![ResponseTemplate::new(200).set_body_json(json!({"status": "Running"}))]).await;
    let requests = client_with(&server.uri(), policy(3), Some(Duration::from_secs(60))).requests(SUB).unwrap();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(3600), requests.approve("req", "ok", None)).await;
    let error = outcome.expect("the client's timeout bounds the wait after a 202").unwrap_err();
    assert!(matches!(error, Error::DecisionOutcomeUnknown { .. }), "{error:?}");
    assert!(started.elapsed() <= Duration::from_secs(60), "{:?}", started.elapsed());
}

// ---- issue 15 item 5: what an audit log cites ----

#[tokio::test(start_paused = true)]
async fn a_decision_carries_the_service_ids_attempts_and_whether_it_was_reconciled() {
    let answer = ResponseTemplate::new(200)
        .set_body_json(json!({"status": "Approve", "reason": "ok"}))
        .insert_header("x-ms-request-id", "svc-1")
        .insert_header("x-ms-correlation-request-id", "corr-1");
    let server = decisions_server(vec![ResponseTemplate::new(503), answer], vec![read("Pending")]).await;
    let decision = client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.call_ids().service_request_id.as_deref(), Some("svc-1"));
    assert_eq!(decision.call_ids().correlation_request_id.as_deref(), Some("corr-1"));
    assert!(decision.call_ids().client_request_id.as_deref().is_some_and(|id| id.len() == 36));
    assert_eq!(decision.call_ids().attempts, 2);
    assert!(!decision.reconciled());
    assert_eq!(decision.into_model().reason.as_deref(), Some("ok"));

    // Reconciled: the ids are those of the uncertain try the service recorded.
    let uncertain = ResponseTemplate::new(500)
        .insert_header("x-ms-request-id", "svc-2")
        .insert_header("x-ms-correlation-request-id", "corr-2");
    let server = decisions_server(vec![uncertain], vec![read("Approved")]).await;
    let decision = client(&server.uri(), policy(3)).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(decision.call_ids().service_request_id.as_deref(), Some("svc-2"));
    assert_eq!(decision.call_ids().correlation_request_id.as_deref(), Some("corr-2"));
    assert_eq!(decision.call_ids().attempts, 1);
    assert!(decision.reconciled());
}

#[tokio::test(start_paused = true)]
async fn get_gives_the_service_ids_when_asked() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path_regex("/requests/req$"))
        .respond_with(
            read("Pending")
                .insert_header("x-ms-request-id", "svc-3")
                .insert_header("x-ms-correlation-request-id", "corr-3"),
        )
        .mount(&server)
        .await;
    let requests = client(&server.uri(), policy(3)).requests(SUB).unwrap();
    let response = requests.get_with_response("req", None).await.unwrap();
    assert_eq!(response.call_ids().service_request_id.as_deref(), Some("svc-3"));
    assert_eq!(response.call_ids().correlation_request_id.as_deref(), Some("corr-3"));
    assert_eq!(response.call_ids().attempts, 1);
    assert_eq!(response.into_model().status(), Some(&LockboxRequestStatus::Pending));
}
