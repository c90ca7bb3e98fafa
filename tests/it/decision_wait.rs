//! A decision's outcome survives every step after it (issue 29): the wait until the request's status is final
//! (`DecisionOptions::until_final`), a bound that covers the whole call, an accepted round whose operation ends
//! `Failed` or `Canceled`, a request already decided, and the figure a timeout reports. All on tokio's paused
//! clock against a scripted server.

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
    matchers::{method, path},
};

/// A client for tokio's paused clock. No call `timeout`: on the paused clock a bound around real I/O would
/// fire while an answer is on the socket (tokio jumps to the next timer whenever it waits on I/O).
fn client(endpoint: &str) -> CustomerLockboxClient {
    let retry = ExponentialRetries { max_retries: 2, jitter: false, ..Default::default() };
    TestClient::new(endpoint).retry(Retries::Exponential(retry)).per_try_timeout(None).paused_clock().build()
}

/// A client for the real clock, with a call `timeout` of a few seconds: each answer of the loopback server
/// comes in milliseconds, so only the waits between reads fill the bound.
fn bounded_client(endpoint: &str, timeout: Duration) -> CustomerLockboxClient {
    let retry = ExponentialRetries { max_retries: 2, jitter: false, ..Default::default() };
    TestClient::new(endpoint).retry(Retries::Exponential(retry)).timeout(Some(timeout)).build()
}

fn read(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req", status))
}

fn answer(decision: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": decision, "reason": "ok"}))
}

fn until_final(timeout: Option<Duration>) -> Option<DecisionOptions> {
    let wait = WaiterOptions { frequency: Duration::from_secs(1), timeout };
    Some(DecisionOptions { until_final: Some(wait), ..Default::default() })
}

/// A refusal that says where the request stands (`409 RequestNotPending`), or, without `current`, says nothing.
fn not_pending(current: Option<&str>) -> ResponseTemplate {
    let info = current.map_or(json!([]), |s| json!([{"type": "LockboxRequestStatus", "info": {"currentStatus": s}}]));
    ResponseTemplate::new(409).set_body_json(
        json!({"error": {"code": "RequestNotPending", "message": "not pending", "additionalInfo": info}}),
    )
}

async fn count(server: &MockServer, verb: &str, path_ends: &str) -> usize {
    let received = server.received_requests().await.unwrap();
    received.iter().filter(|r| r.method.as_str() == verb && r.url.path().ends_with(path_ends)).count()
}

/// Decisions are accepted (`202`) with an operation on the server whose polls answer `status`.
async fn accepted_ending(server: &MockServer, status: &str) {
    let accepted = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", format!("{}/operations/op1", server.uri()).as_str());
    Mock::given(method("POST"))
        .and(wiremock::matchers::path_regex("/updateApproval$"))
        .respond_with(accepted)
        .mount(server)
        .await;
    let end = ResponseTemplate::new(200)
        .set_body_json(json!({"status": status, "error": {"code": "RequestNotPending", "message": "x"}}));
    Mock::given(method("GET")).and(path("/operations/op1")).respond_with(end).mount(server).await;
}

// ---- finding 1: the wait drops a recorded decision ----

/// Answered `200` with the approval, then every read of the wait fails: the call still gives the `Decision`,
/// the wait's failure inside it, never a plain retryable error that would invite a second decision.
#[tokio::test(start_paused = true)]
async fn a_recorded_decision_survives_a_wait_whose_reads_fail() {
    let server = decisions_server(vec![answer("Approve")], vec![ResponseTemplate::new(503)]).await;
    let requests = client(&server.uri()).requests(SUB).unwrap();
    let outcome = requests.approve("req", "ok", until_final(None)).await;
    let decision = outcome.expect("recorded: a Decision, whatever the wait came to");
    assert_eq!(decision.decision(), &ApprovalDecision::Approve);
    match decision.until_final() {
        Some(Err(error)) => assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error:?}"),
        other => panic!("the wait's failure is kept: {other:?}"),
    }
    assert!(decision.request().is_none(), "no final request was read");
    assert_eq!(count(&server, "POST", "/updateApproval").await, 1);

    // A 202 whose operation ends with the decision, then the request reads 404: recorded all the same.
    let server = decisions_server(vec![], vec![ResponseTemplate::new(404)]).await;
    accepted_ending(&server, "Succeeded").await;
    let decision = client(&server.uri()).requests(SUB).unwrap().deny("req", "no", until_final(None)).await.unwrap();
    assert!(matches!(decision.until_final(), Some(Err(error)) if error.status().is_some_and(|s| s.as_u16() == 404)));
}

/// A recorded decision whose request then ends otherwise (it expired, say): still the decision, the wait saying
/// which status it ended in.
#[tokio::test(start_paused = true)]
async fn a_recorded_decision_whose_request_ends_otherwise_is_kept() {
    let server = decisions_server(vec![answer("Approve")], vec![read("Approving"), read("Expired")]).await;
    let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", until_final(None)).await.unwrap();
    match decision.until_final() {
        Some(Err(Error::DecisionConflict { current_status, .. })) => {
            assert_eq!(current_status, &LockboxRequestStatus::Expired)
        }
        other => panic!("{other:?}"),
    }
    // And the plain case: the final request, read.
    let server = decisions_server(vec![answer("Approve")], vec![read("Approving"), read("Approved")]).await;
    let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", until_final(None)).await.unwrap();
    assert_eq!(decision.request().and_then(|r| r.status()), Some(&LockboxRequestStatus::Approved));
    assert!(matches!(decision.until_final(), Some(Ok(_))));
}

// ---- finding 2: one bound covers the whole call ----

/// The client's `timeout` and no timeout of the wait's own, the request `Approving` for ever: the call ends at
/// the client's `timeout`, with the decision and the wait's timeout inside it. Real clock (see [`client`]).
#[tokio::test]
async fn the_client_timeout_bounds_the_wait_until_final() {
    let server = decisions_server(vec![answer("Approve")], vec![read("Approving")]).await;
    let requests = bounded_client(&server.uri(), Duration::from_secs(3)).requests(SUB).unwrap();
    let started = Instant::now();
    let call = requests.approve("req", "ok", until_final(None));
    let outcome = tokio::time::timeout(Duration::from_secs(30), call).await.expect("bounded by the client's timeout");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let decision = outcome.expect("recorded");
    match decision.until_final() {
        Some(Err(error @ Error::Timeout { .. })) => {
            let text = error.to_string();
            assert!(text.contains("after 3s") && text.contains("last status: Approving"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// The wait's own timeout, shorter than the client's, ends the call too. Real clock.
#[tokio::test]
async fn the_wait_timeout_bounds_the_call_when_it_ends_first() {
    let server = decisions_server(vec![answer("Deny")], vec![read("Denying")]).await;
    let requests = bounded_client(&server.uri(), Duration::from_secs(600)).requests(SUB).unwrap();
    let started = Instant::now();
    let decision = requests.deny("req", "no", until_final(Some(Duration::from_secs(2)))).await.expect("recorded");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    match decision.until_final() {
        Some(Err(error @ Error::Timeout { .. })) => assert!(error.to_string().contains("after 2s"), "{error}"),
        other => panic!("{other:?}"),
    }
}

// ---- finding 3: an accepted round whose operation fails is settled by the request's status ----

#[tokio::test(start_paused = true)]
async fn an_accepted_round_whose_operation_fails_is_settled_by_the_request_status() {
    for end in ["Failed", "Canceled"] {
        // The request shows the decision: it was recorded.
        let server = decisions_server(vec![], vec![read("Approved")]).await;
        accepted_ending(&server, end).await;
        let decision = client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await;
        let decision = decision.unwrap_or_else(|e| panic!("{end}: the request shows the approval: {e:?}"));
        assert!(decision.reconciled(), "{end}");
        assert_eq!(count(&server, "GET", "/req").await, 1, "{end}: read once");

        // It shows the other decision: a conflict.
        let server = decisions_server(vec![], vec![read("Denied")]).await;
        accepted_ending(&server, end).await;
        match client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await {
            Err(Error::DecisionConflict { current_status, .. }) => {
                assert_eq!(current_status, LockboxRequestStatus::Denied, "{end}")
            }
            other => panic!("{end}: {other:?}"),
        }

        // It shows neither (Pending): the operation's failure, read out, is the answer; nothing is resent.
        let server = decisions_server(vec![], vec![read("Pending")]).await;
        accepted_ending(&server, end).await;
        match client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await {
            Err(Error::OperationFailed { status, .. }) => assert_eq!(status, end),
            other => panic!("{end}: {other:?}"),
        }
        assert_eq!(count(&server, "GET", "/req").await, 1, "{end}: read before it is called a failure");
        assert_eq!(count(&server, "POST", "/updateApproval").await, 1, "{end}");
    }
}

// ---- finding 5: one answer for "already decided" ----

/// A fresh decision on a request already decided or expired: `DecisionConflict`, the status it is in, whether
/// the refusal says it or a read does.
#[tokio::test(start_paused = true)]
async fn a_request_already_decided_is_a_decision_conflict() {
    for status in ["Approved", "Denied", "Expired"] {
        let server = decisions_server(vec![not_pending(Some(status))], vec![read(status)]).await;
        match client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await {
            Err(Error::DecisionConflict { current_status, decision, .. }) => {
                assert_eq!(current_status, LockboxRequestStatus::parse(status));
                assert_eq!(decision, ApprovalDecision::Approve);
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(count(&server, "POST", "/updateApproval").await, 1, "{status}: never resent");

        // A refusal that does not say where the request stands: a read does.
        let server = decisions_server(vec![not_pending(None)], vec![read(status)]).await;
        match client(&server.uri()).requests(SUB).unwrap().approve("req", "ok", None).await {
            Err(Error::DecisionConflict { current_status, .. }) => {
                assert_eq!(current_status, LockboxRequestStatus::parse(status))
            }
            other => panic!("{status}, read: {other:?}"),
        }
    }
}

// ---- finding 6: a timeout names its real bound ----

/// `deny` answered `{"status": "Approve"}`, then reads that keep showing `Initializing`: the outcome is unknown
/// when the bound ends, and the message names that bound and the last status read, not "0ns". Without a
/// `timeout`, the retry policy's budget bounds the reads: that is the figure.
#[tokio::test(start_paused = true)]
async fn an_unknown_outcome_names_the_real_bound_and_the_last_status() {
    let server = decisions_server(vec![answer("Approve")], vec![read("Initializing")]).await;
    let error = client(&server.uri()).requests(SUB).unwrap().deny("req", "no", None).await.unwrap_err();
    assert!(matches!(error, Error::DecisionOutcomeUnknown { .. }), "{error:?}");
    let text = error.to_string();
    assert!(!text.contains("0ns"), "{text}");
    assert!(text.contains("after 120s") && text.contains("last status: Initializing"), "{text}");
    assert!(text.contains("shows 'Approve'"), "and why it was read: {text}");
}

/// The same with the client's `timeout`: its figure. Real clock.
#[tokio::test]
async fn an_unknown_outcome_names_the_client_timeout() {
    let server = decisions_server(vec![answer("Approve")], vec![read("Initializing")]).await;
    let requests = bounded_client(&server.uri(), Duration::from_secs(3)).requests(SUB).unwrap();
    let text = requests.deny("req", "no", None).await.unwrap_err().to_string();
    assert!(text.contains("after 3s") && text.contains("last status: Initializing"), "{text}");
}

// ---- finding 6, the class: a timeout's figure comes from the limit that ended or a clock, never a literal ----

/// Every `Error::Timeout` the SDK builds outside its tests names a duration it measured or the limit that ended:
/// none is built with a figure of nothing (`Duration::ZERO`, a default). That was the class of "timed out after
/// 0ns".
#[test]
fn no_timeout_is_built_with_a_made_up_figure() {
    let files = crate::common::rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n != "tests.rs"));
    let mut made_up = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // The code before the file's unit tests.
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for (at, _) in code.match_indices("Error::Timeout {") {
            let literal: String = code[at..].chars().take_while(|c| *c != '}').collect();
            if ["ZERO", "default()", "from_secs(0)", "from_millis(0)"].iter().any(|bad| literal.contains(bad)) {
                made_up.push(format!("{}: {literal}", file.display()));
            }
        }
    }
    assert!(made_up.is_empty(), "timeouts with a figure of nothing:\n{}", made_up.join("\n"));
}
