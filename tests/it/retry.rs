//! The retry policy: what is retried, how long it waits, and approvals that happen exactly once.
//! All on tokio's paused clock, so waits of seconds take microseconds.

use std::time::Duration;

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error,
    models::{ApprovalDecision, LockboxRequestStatus},
    options::{ExponentialRetries, FixedRetries, Retries},
};
use serde_json::json;
use tokio::{io::AsyncReadExt, io::AsyncWriteExt, net::TcpListener, time::Instant};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

fn policy(max_retries: u32) -> Retries {
    Retries::Exponential(ExponentialRetries { max_retries, jitter: false, ..Default::default() })
}

/// The default exponential policy, without jitter, starting from a short delay.
fn quick_policy(initial_delay: Duration) -> Retries {
    Retries::Exponential(ExponentialRetries { initial_delay, jitter: false, ..Default::default() })
}

fn retrying_client(endpoint: &str, retry: Retries) -> CustomerLockboxClient {
    TestClient::new(endpoint).retry(retry).per_try_timeout(None).paused_clock().build()
}

fn ok_tenant() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"isOptedIn": true}))
}

async fn tenant_server(responses: Vec<ResponseTemplate>) -> MockServer {
    let server = mock_server().await;
    Mock::given(method("GET")).respond_with(Sequence::new(responses)).mount(&server).await;
    server
}

async fn count(server: &MockServer, verb: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == verb).count()
}

#[tokio::test(start_paused = true)]
async fn each_retry_after_form_sets_the_wait() {
    // The HTTP date is made just before its case runs: it is read against the real clock, which keeps moving
    // while the paused test clock does not. Dates have whole-second precision, so 10 s ahead waits 9 to 10 s.
    type Case = (&'static str, fn() -> String, f64, f64);
    let cases: [Case; 4] = [
        ("retry-after", || "7".into(), 7.0, 7.0),
        ("retry-after-ms", || "1500".into(), 1.5, 1.5),
        ("x-ms-retry-after-ms", || "2500".into(), 2.5, 2.5),
        ("retry-after", || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(10)), 8.0, 10.0),
    ];
    for (name, value, low, high) in cases {
        let value = value();
        let server =
            tenant_server(vec![ResponseTemplate::new(429).insert_header(name, value.as_str()), ok_tenant()]).await;
        let client = retrying_client(&server.uri(), quick_policy(Duration::from_millis(100)));
        let started = Instant::now();
        assert!(client.tenant().is_opted_in(TENANT, None).await.unwrap());
        let waited = started.elapsed().as_secs_f64();
        assert!(waited >= low && waited <= high + 0.05, "{name}: {value}: waited {waited}");
        assert_eq!(count(&server, "GET").await, 2);
    }
}

#[tokio::test(start_paused = true)]
async fn x_ms_retry_after_ms_wins_over_the_others_and_500_honours_it_too() {
    let server = tenant_server(vec![
        ResponseTemplate::new(500)
            .insert_header("retry-after", "30")
            .insert_header("retry-after-ms", "9000")
            .insert_header("x-ms-retry-after-ms", "1200"),
        ok_tenant(),
    ])
    .await;
    let client = retrying_client(&server.uri(), quick_policy(Duration::from_millis(10)));
    let started = Instant::now();
    client.tenant().is_opted_in(TENANT, None).await.unwrap();
    assert_eq!(started.elapsed().as_millis(), 1200);
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_and_the_last_error_says_how_many_attempts() {
    let server = tenant_server(vec![ResponseTemplate::new(503).insert_header("x-ms-request-id", "last")]).await;
    let client = retrying_client(&server.uri(), policy(3));
    let started = Instant::now();
    let error = client.tenant().is_opted_in(TENANT, None).await.unwrap_err();
    // 0.8 s + 1.6 s + 3.2 s between four attempts.
    assert_eq!(started.elapsed().as_millis(), 5600);
    assert_eq!(count(&server, "GET").await, 4);
    assert_eq!(error.status().unwrap().as_u16(), 503);
    assert_eq!(error.attempts(), Some(4));
    assert_eq!(error.request_id(), Some("last"));
    assert!(error.to_string().contains("after 4 attempts"), "{error}");
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn retryable_statuses_are_retried_and_others_are_not() {
    for status in [408u16, 429, 500, 502, 503, 504] {
        let server = tenant_server(vec![ResponseTemplate::new(status), ok_tenant()]).await;
        let client = retrying_client(&server.uri(), policy(3));
        assert!(client.tenant().is_opted_in(TENANT, None).await.unwrap(), "{status}");
        assert_eq!(count(&server, "GET").await, 2, "{status}");
    }
    for status in [400u16, 401, 403, 404, 409, 412] {
        let server = tenant_server(vec![ResponseTemplate::new(status), ok_tenant()]).await;
        let client = retrying_client(&server.uri(), policy(3));
        let error = client.tenant().is_opted_in(TENANT, None).await.unwrap_err();
        assert_eq!(error.status().unwrap().as_u16(), status);
        assert_eq!(error.attempts(), Some(1));
        assert_eq!(count(&server, "GET").await, 1, "{status} must not be retried");
    }
}

#[tokio::test(start_paused = true)]
async fn the_time_budget_stops_retries_before_a_wait_would_pass_it() {
    let server = tenant_server(vec![ResponseTemplate::new(502)]).await;
    let retry = Retries::Exponential(ExponentialRetries {
        max_retries: 10,
        max_total_elapsed: Duration::from_secs(3),
        jitter: false,
        ..Default::default()
    });
    let client = retrying_client(&server.uri(), retry);
    let started = Instant::now();
    let error = client.tenant().is_opted_in(TENANT, None).await.unwrap_err();
    // Waits 0.8 s and 1.6 s; the next (3.2 s) would pass the 3 s budget.
    assert_eq!(started.elapsed().as_millis(), 2400);
    assert_eq!(error.attempts(), Some(3));
}

#[tokio::test(start_paused = true)]
async fn a_long_retry_after_is_not_slept_and_is_reported() {
    for (name, value, asked) in
        [("retry-after", "3600", 3_600_000_u128), ("retry-after-ms", "61000", 61_000), ("retry-after", "59", 59_000)]
    {
        let server = tenant_server(vec![ResponseTemplate::new(429).insert_header(name, value), ok_tenant()]).await;
        let retry = Retries::Exponential(ExponentialRetries {
            max_total_elapsed: Duration::from_secs(30),
            ..Default::default()
        });
        let client = retrying_client(&server.uri(), retry);
        let started = Instant::now();
        let error = client.tenant().is_opted_in(TENANT, None).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::ZERO, "{name}: {value}");
        assert_eq!(error.status().unwrap().as_u16(), 429);
        assert_eq!(error.retry_after().unwrap().as_millis(), asked);
        assert_eq!(count(&server, "GET").await, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn fixed_and_none_policies() {
    let server = tenant_server(vec![ResponseTemplate::new(503)]).await;
    let client = retrying_client(
        &server.uri(),
        Retries::Fixed(FixedRetries { max_retries: 2, delay: Duration::from_secs(2), ..Default::default() }),
    );
    let started = Instant::now();
    assert_eq!(client.tenant().is_opted_in(TENANT, None).await.unwrap_err().attempts(), Some(3));
    assert_eq!(started.elapsed().as_secs(), 4);

    let server = tenant_server(vec![ResponseTemplate::new(503), ok_tenant()]).await;
    let client = retrying_client(&server.uri(), Retries::None);
    assert!(client.tenant().is_opted_in(TENANT, None).await.is_err());
    assert_eq!(count(&server, "GET").await, 1);
}

#[tokio::test(start_paused = true)]
async fn client_request_id_is_stable_across_attempts_and_fresh_per_call() {
    let server = tenant_server(vec![ResponseTemplate::new(503), ResponseTemplate::new(429), ok_tenant()]).await;
    let client = retrying_client(&server.uri(), policy(3));
    client.tenant().is_opted_in(TENANT, None).await.unwrap();
    client.tenant().is_opted_in(TENANT, None).await.unwrap();
    let ids: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers.get("x-ms-client-request-id").unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids[0] == ids[1] && ids[1] == ids[2], "{ids:?}");
    assert_ne!(ids[2], ids[3]);
}

/// What `raw_server` writes on a connection, and what it does then.
enum Raw {
    /// These bytes, then close the connection.
    Close(String),
    /// These bytes, then hold the connection open without sending more.
    Stall(String),
}

/// A server that reads one request head per connection, then does what `reply` gives for (connection number,
/// request head), or closes the connection unanswered where `reply` gives `None`. Returns its URL and the number
/// of connections it accepted.
async fn raw_server<F>(reply: F) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>)
where
    F: Fn(usize, &[u8]) -> Option<Raw> + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    let reply = std::sync::Arc::new(reply);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => read += k,
                    }
                }
                match reply(n, &buf[..read]) {
                    Some(Raw::Close(bytes)) => {
                        let _ = socket.write_all(bytes.as_bytes()).await;
                    }
                    Some(Raw::Stall(bytes)) => {
                        let _ = socket.write_all(bytes.as_bytes()).await;
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    None => {}
                }
                // Dropping the socket closes the connection, answered or not.
            });
        }
    });
    (url, seen)
}

/// A whole `200` response carrying the JSON `body`, for `raw_server` to write before it closes.
fn http_200(body: &str) -> Raw {
    Raw::Close(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

/// A server that, for the first `drops` connections, closes the connection without answering; later connections
/// get `reply`.
async fn dropping_server(
    drops: usize,
    reply: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    raw_server(move |n, _| (n >= drops).then(|| http_200(reply))).await
}

#[tokio::test(start_paused = true)]
async fn a_dropped_connection_is_retried_for_reads() {
    let (url, seen) = dropping_server(2, r#"{"isOptedIn":true}"#).await;
    let client = retrying_client(&url, policy(3));
    assert!(client.tenant().is_opted_in(TENANT, None).await.unwrap());
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A refusal on this machine (loopback) is the kernel saying that nothing listens: reported at once, not
/// retried. (A remote host's refusal is retried: `error/transport.rs` has that rule's test; a refusal on loopback
/// is the only one a test can make.)
#[tokio::test(start_paused = true)]
async fn refused_connections_on_this_machine_are_reported_at_once_as_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = retrying_client(&url, policy(2));
    match client.tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::Transport { attempts, source, .. } => {
            assert_eq!(attempts, 1);
            assert!(source.is_connect(), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
}

// ---- approvals ----

fn get_status(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req", status))
}

fn approved_reply() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": "Approve", "reason": "ok"}))
}

#[tokio::test(start_paused = true)]
async fn approval_after_a_500_that_committed_reconciles_without_resending() {
    for (status, seen) in [(500u16, "Approving"), (502, "Approved"), (504, "Completed")] {
        let server =
            decisions_server(vec![ResponseTemplate::new(status), approved_reply()], vec![get_status(seen)]).await;
        let client = retrying_client(&server.uri(), policy(3));
        let approval = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
        assert_eq!(approval.reason(), Some("ok"));
        assert!(approval.reconciled(), "{status}: learned by reading the request");
        assert_eq!(count(&server, "POST").await, 1, "{status}: the decision must not be sent twice");
        assert_eq!(count(&server, "GET").await, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn approval_whose_failed_attempt_did_not_commit_is_resent_once() {
    let server =
        decisions_server(vec![ResponseTemplate::new(500), approved_reply()], vec![get_status("Pending")]).await;
    let client = retrying_client(&server.uri(), policy(3));
    let started = tokio::time::Instant::now();
    client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(count(&server, "POST").await, 2);
    // Resent only after a second read, a second after the first, still shows Pending.
    assert_eq!(count(&server, "GET").await, 2);
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn approval_that_finds_another_outcome_is_a_typed_conflict() {
    let server = decisions_server(vec![ResponseTemplate::new(502)], vec![get_status("Denied")]).await;
    let client = retrying_client(&server.uri(), policy(3));
    match client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionConflict { current_status, .. } => assert_eq!(current_status, LockboxRequestStatus::Denied),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "POST").await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_resend_refused_as_not_pending_with_our_decision_is_success() {
    let conflict = ResponseTemplate::new(409).set_body_json(json!({"error": {"code": "RequestNotPending",
        "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": "Approved"}}]}}));
    // The read after the 500 still shows Pending (the decision lands a moment later).
    let server = decisions_server(vec![ResponseTemplate::new(500), conflict], vec![get_status("Pending")]).await;
    let client = retrying_client(&server.uri(), policy(3));
    client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(count(&server, "POST").await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_not_pending_refusal_is_reported_not_hidden() {
    let conflict = ResponseTemplate::new(409).set_body_json(json!({"error": {"code": "RequestNotPending",
        "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": "Approved"}}]}}));
    let server = decisions_server(vec![conflict], vec![get_status("Approved")]).await;
    let client = retrying_client(&server.uri(), policy(3));
    let error = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err();
    // "Already decided" has one answer, whichever decision the request shows (issue 29).
    assert!(matches!(error, Error::DecisionConflict { .. }), "{error:?}");
    assert_eq!(error.current_status(), Some(LockboxRequestStatus::Approved));
    assert_eq!(count(&server, "GET").await, 0);
}

#[tokio::test(start_paused = true)]
async fn throttled_and_unavailable_approvals_are_resent_normally() {
    let server = decisions_server(
        vec![
            ResponseTemplate::new(429).insert_header("retry-after-ms", "10"),
            ResponseTemplate::new(503),
            approved_reply(),
        ],
        vec![get_status("Pending")],
    )
    .await;
    let client = retrying_client(&server.uri(), policy(3));
    client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(count(&server, "POST").await, 3);
    assert_eq!(count(&server, "GET").await, 0, "429 and 503 guarantee nothing was done: no reconciliation");
}

#[tokio::test(start_paused = true)]
async fn an_approval_whose_connection_dropped_after_sending_is_reconciled() {
    // Every POST connection is dropped; the reconciling GET then reads Approved.
    let posts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = posts.clone();
    let body = serde_json::to_string(&request_json(SUB, "req", "Approved")).unwrap();
    let (url, _) = raw_server(move |_, head| {
        if head.starts_with(b"POST") {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return None;
        }
        Some(http_200(&body))
    })
    .await;
    let client = retrying_client(&url, policy(3));
    let approval = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert!(approval.reconciled(), "learned by reading the request");
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_decision_answered_200_with_an_unreadable_body_counts_as_taken() {
    for body in ["not json", "", "null", "[]", r#"{"status": 5}"#] {
        let server =
            decisions_server(vec![ResponseTemplate::new(200).set_body_string(body)], vec![get_status("Pending")]).await;
        let client = retrying_client(&server.uri(), policy(3));
        let approval = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
        assert_eq!(approval.decision(), &ApprovalDecision::Approve, "{body:?}");
        assert_eq!(approval.reason(), Some("ok"), "{body:?}");
        assert_eq!(count(&server, "POST").await, 1, "{body:?}: the decision must not be sent twice");
        assert_eq!(count(&server, "GET").await, 0, "{body:?}: a 200 needs no reconciling");
    }
}

#[tokio::test(start_paused = true)]
async fn a_decision_whose_200_answer_is_cut_mid_body_counts_as_taken() {
    let posts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = posts.clone();
    let (url, connections) = raw_server(move |_, head| {
        assert!(head.starts_with(b"POST"), "only the decision is sent");
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // The head promises 100 bytes; the connection closes after 12.
        Some(Raw::Close(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"status\": \"A".into(),
        ))
    })
    .await;
    let client = retrying_client(&url, policy(3));
    let approval = client.requests(SUB).unwrap().deny("req", "no", None).await.unwrap();
    assert_eq!(approval.decision(), &ApprovalDecision::Deny);
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_approval_that_cannot_be_reconciled_reports_an_unknown_outcome() {
    let server = decisions_server(vec![ResponseTemplate::new(504)], vec![ResponseTemplate::new(503)]).await;
    let client = retrying_client(&server.uri(), policy(1));
    let started = tokio::time::Instant::now();
    match client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::DecisionOutcomeUnknown { request_id, source, .. } => {
            assert_eq!(request_id, "req");
            assert_eq!(source.status().unwrap().as_u16(), 503);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "POST").await, 1, "never resent while the outcome is unknown");
    // A read that fails (after its own retry) is tried again after a longer delay, three times in a row at most:
    // a request that cannot be read will not tell within any useful time.
    assert_eq!(count(&server, "GET").await, 6, "three reads, each with one retry");
    assert!(started.elapsed() >= Duration::from_millis(2400), "growing delays: {:?}", started.elapsed());
}

/// The `timeout` option bounds the whole call, retries and waits included, and names the last status seen.
/// Real clock: on tokio's paused clock the deadline would fire while the first answer is still on the socket.
#[tokio::test]
async fn the_call_timeout_ends_a_call_in_the_middle_of_its_retries() {
    let busy = ResponseTemplate::new(503).insert_header("retry-after", "1");
    let server = tenant_server(vec![busy.clone(), busy.clone(), busy.clone(), busy]).await;
    let client = TestClient::new(server.uri()).retry(policy(3)).timeout(Some(Duration::from_millis(1500))).build();
    match client.tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::Timeout { elapsed, last_status, what } => {
            assert_eq!(elapsed, Duration::from_millis(1500));
            assert!(last_status.starts_with("503"), "{last_status}");
            assert!(what.contains("to complete"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // Tries at 0 s and 1 s; the call ended during the second wait, so the third try (due at 2 s) never went out.
    assert_eq!(count(&server, "GET").await, 2);
}

/// The call's `timeout` passing while the decision is on its way leaves its outcome unknown: the SDK reads the
/// request rather than report a failure, and finds the decision taken. Real clock, as above.
#[tokio::test]
async fn a_call_timeout_while_a_decision_is_on_its_way_is_reconciled() {
    let server =
        decisions_server(vec![approved_reply().set_delay(Duration::from_secs(30))], vec![get_status("Approved")]).await;
    let client = TestClient::new(server.uri()).retry(policy(3)).timeout(Some(Duration::from_secs(1))).build();
    let approval = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(approval.reason(), Some("ok"));
    assert!(approval.reconciled(), "learned by reading the request");
    assert_eq!(count(&server, "POST").await, 1, "the decision must not be sent twice");
    assert_eq!(count(&server, "GET").await, 1);
}

/// The call's `timeout` passing while the body of the decision's `200` comes in: the decision was taken, and
/// the SDK learns so by reading the request. Real clock: the server sends half the body, then nothing.
#[tokio::test]
async fn a_call_timeout_while_a_decisions_200_body_comes_in_is_reconciled() {
    let posts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = posts.clone();
    let approved = serde_json::to_string(&request_json(SUB, "req", "Approved")).unwrap();
    let (url, _) = raw_server(move |_, head| {
        if head.starts_with(b"POST") {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let half = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"st";
            return Some(Raw::Stall(half.into()));
        }
        Some(http_200(&approved))
    })
    .await;
    let client = TestClient::new(url).retry(policy(3)).timeout(Some(Duration::from_secs(1))).build();
    let approval = client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(approval.reason(), Some("ok"));
    assert!(approval.reconciled(), "learned by reading the request");
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1, "the decision must not be sent twice");
}

/// The call's `timeout` passing between tries, after answers that guarantee nothing was done, is a plain
/// timeout: no decision is on its way, so there is nothing to reconcile.
#[tokio::test]
async fn a_call_timeout_between_refused_tries_of_a_decision_is_a_plain_timeout() {
    let busy = ResponseTemplate::new(503).insert_header("retry-after", "5");
    let server = decisions_server(vec![busy], vec![get_status("Approved")]).await;
    let client = TestClient::new(server.uri()).retry(policy(3)).timeout(Some(Duration::from_secs(2))).build();
    match client.requests(SUB).unwrap().approve("req", "ok", None).await.unwrap_err() {
        Error::Timeout { last_status, .. } => assert!(last_status.starts_with("503"), "{last_status}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "POST").await, 1);
    assert_eq!(count(&server, "GET").await, 0);
}

/// The client the SDK builds carries the per-try timeout itself (no per-request setting): each try is cut at
/// the limit and retried. Real clock: the server would hold each answer for 30 s.
#[tokio::test]
async fn the_sdk_built_client_cuts_each_try_at_the_per_try_timeout() {
    let server = mock_server().await;
    Mock::given(method("GET")).respond_with(ok_tenant().set_delay(Duration::from_secs(30))).mount(&server).await;
    let retry = FixedRetries { max_retries: 1, delay: Duration::from_millis(10), ..Default::default() };
    let client = TestClient::new(server.uri())
        .retry(Retries::Fixed(retry))
        .per_try_timeout(Some(Duration::from_millis(300)))
        .build();
    let started = std::time::Instant::now();
    match client.tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::Transport { attempts, source, .. } => {
            assert_eq!(attempts, 2);
            assert!(source.is_timeout(), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "each try ended at its limit, not the server's 30 s");
    assert_eq!(count(&server, "GET").await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_try_that_outlives_the_per_try_timeout_is_retried_then_reported() {
    let server = mock_server().await;
    Mock::given(method("GET")).respond_with(ok_tenant().set_delay(Duration::from_secs(30))).mount(&server).await;
    let client = TestClient::new(server.uri())
        .retry(policy(2))
        .per_try_timeout(Some(Duration::from_secs(5)))
        .paused_clock()
        .build();
    let started = Instant::now();
    match client.tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::Transport { attempts, source, .. } => {
            assert_eq!(attempts, 3);
            assert!(source.is_timeout(), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    // Three tries of 5 s, and waits of 0.8 s and 1.6 s between them.
    assert_eq!(started.elapsed().as_millis(), 17_400);
}

// ---- the response body limit ----

fn limited_client(endpoint: &str, max_response_body: usize) -> CustomerLockboxClient {
    TestClient::new(endpoint)
        .retry(policy(3))
        .per_try_timeout(None)
        .paused_clock()
        .max_response_body(max_response_body)
        .build()
}

/// A tenant answer of exactly `len` bytes.
fn tenant_body(len: usize) -> String {
    let start = r#"{"isOptedIn":true,"pad":""#;
    let pad = len - start.len() - 2;
    format!("{start}{}\"}}", "x".repeat(pad))
}

#[tokio::test(start_paused = true)]
async fn a_body_over_the_limit_is_refused_and_not_retried_whether_declared_or_streamed() {
    // Declared by content-length.
    let server = tenant_server(vec![ResponseTemplate::new(200).set_body_string(tenant_body(1001))]).await;
    match limited_client(&server.uri(), 1000).tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::ResponseTooLarge { status, limit, .. } => assert_eq!((status.as_u16(), limit), (200, 1000)),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&server, "GET").await, 1, "not retried");
    // Exactly at the limit is fine.
    let server = tenant_server(vec![ResponseTemplate::new(200).set_body_string(tenant_body(1000))]).await;
    assert!(limited_client(&server.uri(), 1000).tenant().is_opted_in(TENANT, None).await.unwrap());

    // Streamed in chunks, without a declared length: found too large on the way.
    let body = tenant_body(1800);
    let (url, connections) = raw_server(move |_, _| {
        let chunks: String = body
            .as_bytes()
            .chunks(600)
            .map(|c| format!("{:x}\r\n{}\r\n", c.len(), String::from_utf8_lossy(c)))
            .collect();
        Some(Raw::Close(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{chunks}0\r\n\r\n"
        )))
    })
    .await;
    match limited_client(&url, 1000).tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::ResponseTooLarge { status, .. } => assert_eq!(status.as_u16(), 200),
        other => panic!("{other:?}"),
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1, "not retried");
    // The same chunked answer within the limit is read whole.
    assert!(limited_client(&url, 1800).tenant().is_opted_in(TENANT, None).await.unwrap());

    // An error answer is held to the limit too, and keeps its status.
    let server = tenant_server(vec![ResponseTemplate::new(404).set_body_string("x".repeat(5000))]).await;
    let error = limited_client(&server.uri(), 1000).tenant().is_opted_in(TENANT, None).await.unwrap_err();
    assert!(matches!(error, Error::ResponseTooLarge { .. }), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    assert!(!error.is_retryable());
}

/// A body declared larger than the limit is refused on its head: nothing waits for bytes that are not needed.
/// Real clock: the server never sends the body, nor closes the connection.
#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_without_reading_the_body() {
    let (url, connections) = raw_server(|_, _| {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10737418240\r\n\r\n{";
        Some(Raw::Stall(head.into()))
    })
    .await;
    let client = TestClient::new(url).retry(policy(3)).build();
    let answer = tokio::time::timeout(Duration::from_secs(20), client.tenant().is_opted_in(TENANT, None)).await;
    match answer.expect("refused on the head, not after waiting for the body") {
        Err(Error::ResponseTooLarge { limit, .. }) => {
            assert_eq!(limit, azure_customer_lockbox::options::DEFAULT_MAX_RESPONSE_BODY)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn a_decision_answered_200_with_a_body_over_the_limit_counts_as_taken() {
    let server = decisions_server(
        vec![
            ResponseTemplate::new(200)
                .set_body_string(format!("{{\"status\":\"Approve\",\"reason\":\"{}\"}}", "x".repeat(4000))),
        ],
        vec![get_status("Pending")],
    )
    .await;
    let approval = limited_client(&server.uri(), 1000).requests(SUB).unwrap().approve("req", "ok", None).await.unwrap();
    assert_eq!(approval.reason(), Some("ok"));
    assert_eq!(count(&server, "POST").await, 1);
    assert_eq!(count(&server, "GET").await, 0);
}

#[test]
fn a_zero_body_limit_is_refused() {
    match TestClient::new("http://127.0.0.1:1").max_response_body(0).try_build().unwrap_err() {
        Error::Configuration(message) => assert!(message.contains("max_response_body"), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// With the default options, a try that stalls is cut by the per-try timeout and retried within the default
/// budget (issue 14 D): 20 s tries, 120 s budget, 3 retries, so a stalled pooled connection costs one try, not
/// the call. Paused clock: the test client applies the default per-try timeout to each request itself.
#[tokio::test(start_paused = true)]
async fn with_the_default_options_a_stalled_try_is_retried_within_the_budget() {
    let defaults = CustomerLockboxClientOptions::default();
    assert_eq!(defaults.per_try_timeout, Some(Duration::from_secs(20)));
    assert_eq!(ExponentialRetries::default().max_total_elapsed, Duration::from_secs(120));
    let server = mock_server().await;
    Mock::given(method("GET")).respond_with(ok_tenant().set_delay(Duration::from_secs(3600))).mount(&server).await;
    let options = CustomerLockboxClientOptions {
        http_client: Some(paused_clock_http()),
        ..CustomerLockboxClientOptions::for_endpoint(server.uri()).unwrap()
    };
    assert_eq!(options.per_try_timeout, defaults.per_try_timeout);
    assert_eq!(options.retry, Retries::default());
    let client = CustomerLockboxClient::new(CountingCredential::new(), Some(options)).unwrap();
    let started = Instant::now();
    match client.tenant().is_opted_in(TENANT, None).await.unwrap_err() {
        Error::Transport { attempts, source, .. } => {
            assert_eq!(attempts, 4, "the first try and its three retries");
            assert!(source.is_timeout(), "{source:?}");
        }
        other => panic!("{other:?}"),
    }
    // Four tries of 20 s and three jittered waits (0.8 s, 1.6 s, 3.2 s, each x0.8..1.3).
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(84) && elapsed <= Duration::from_secs(88), "{elapsed:?}");
}
