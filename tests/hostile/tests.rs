//! Hostile inputs: bad caller input, bad service responses, and an abused emulator. The two case tables are the
//! hostile run's own (`cases.rs` beside this file), so the run and these tests cannot drift. `tables.rs` makes
//! them the test binary `hostile_tables`, which `cargo test` runs.

use super::cases;

use std::{collections::HashMap, sync::Arc, time::Duration};

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, StaticTokenCredential, options::Retries,
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_caller_input_is_refused_before_sending_or_encoded_into_one_path_segment() {
    cases::logs();
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default()).await.unwrap());
    let report = cases::run(cases::bad_input_cases(emulator)).await;
    assert!(report.outcomes.len() >= 55, "{}", report.outcomes.len());
    assert!(report.ok(), "{}\n{}", report.summary(), report.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_service_responses_give_typed_errors_or_tolerant_results() {
    cases::logs();
    let report = cases::run(cases::bad_response_cases()).await;
    assert!(report.outcomes.len() >= 50, "{}", report.outcomes.len());
    assert!(report.ok(), "{}\n{}", report.summary(), report.failures());
}

/// Sends a request (with `Connection: close`) and reads until the server closes: `None` when nothing came back.
/// No time limit: the server closes after its answer, however long a loaded machine takes to give it.
async fn raw(addr: &str, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    status_of(&answer)
}

/// Sends bytes a server may wait on for more (not a whole request, or one over a limit) and reads until it
/// closes or 3 s pass. Every caller accepts both `None` and the answer it may give, so the time limit decides
/// only how long the wait is, never the outcome.
async fn raw_or_nothing(addr: &str, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    status_of(&answer)
}

fn status_of(answer: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(answer).into_owned();
    let status = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, text))
}

/// A well-formed ARM error: an error status, `x-ms-request-id`, and `{"error":{"code":..,"message":..}}`.
fn assert_arm_error(what: &str, answer: Option<(u16, String)>, status: u16) {
    let (got, text) = answer.unwrap_or_else(|| panic!("{what}: no response"));
    assert_eq!(got, status, "{what}: {text:.400}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("x-ms-request-id:"), "{what}: {head}");
    let body = body.rsplit_once('}').map(|(b, _)| format!("{b}}}")).unwrap_or_default();
    let start = body.find('{').unwrap_or(0);
    let json: serde_json::Value =
        serde_json::from_str(&body[start..]).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert!(json["error"]["code"].is_string() && json["error"]["message"].is_string(), "{what}: {json}");
}

fn request(method: &str, path: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer abuse-token\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_answers_abuse_with_arm_errors_and_keeps_serving() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let addr = format!("127.0.0.1:{}", emulator.url().port().unwrap());
    let sub = cases::SUB;
    let id = emulator.create_request(sub, NewLockboxRequest::default());
    let base = format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests");
    let q = "?api-version=2018-02-28-preview";
    let update = format!("{base}/{id}/updateApproval{q}");

    // Not HTTP at all: a clean close, or hyper's own 400 for a request line it cannot parse.
    for garbage in [&b"\x00\x01\x02 garbage \xff\r\n\r\n"[..], b"SSH-2.0-OpenSSH_9.6\r\n", b"GET\r\n\r\n"] {
        let answer = raw_or_nothing(&addr, garbage).await;
        assert!(answer.as_ref().is_none_or(|(s, _)| *s == 400), "{garbage:?}: {answer:?}");
    }
    // Raw invalid UTF-8 in the path: refused by the HTTP layer or the router, never a crash.
    let answer = raw(&addr, &request("GET", &format!("{base}/"), "", b"")[..]).await;
    assert!(answer.is_some());
    let mut bytes = format!("GET {base}/").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let answer = raw_or_nothing(&addr, &bytes).await;
    assert!(answer.as_ref().is_none_or(|(s, _)| (400..500).contains(s)), "{answer:?}");

    assert_arm_error(
        "percent-encoded invalid UTF-8",
        raw(&addr, &request("GET", &format!("{base}/%FF%FE{q}"), "", b"")).await,
        400,
    );
    assert_arm_error("bad JSON", raw(&addr, &request("POST", &update, "", b"{\"status\": Appr")).await, 400);
    assert_arm_error("JSON of the wrong shape", raw(&addr, &request("POST", &update, "", b"[\"Approve\"]")).await, 400);
    assert_arm_error(
        "unknown decision",
        raw(&addr, &request("POST", &update, "", b"{\"status\":\"Maybe\"}")).await,
        400,
    );
    let huge = vec![b'x'; 2 << 20];
    assert_arm_error("2 MB body", raw(&addr, &request("POST", &update, "", &huge)).await, 413);
    assert_arm_error(
        "no token",
        raw(&addr, format!("GET {base}{q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await,
        401,
    );
    assert_arm_error("wrong method", raw(&addr, &request("DELETE", &format!("{base}/{id}{q}"), "", b"")).await, 405);
    assert_arm_error("no api-version", raw(&addr, &request("GET", &base, "", b"")).await, 400);
    let big_header = format!("X-Padding: {}\r\n", "p".repeat(100 * 1024));
    assert_arm_error(
        "100 KB header",
        raw(&addr, &request("GET", &format!("{base}/nope{q}"), &big_header, b"")).await,
        404,
    );
    for (path, status) in [
        ("//".to_owned(), 400),
        (format!("/..{q}"), 400),
        (format!("/%2e%2e/subscriptions{q}"), 400),
        (format!("{base}/a/b/c{q}"), 404),
        (format!("{base}/%00{q}"), 400),
        (format!("/{}{q}", "x".repeat(5000)), 414),
        (format!("/providers/Microsoft.CustomerLockbox/nothing{q}"), 404),
    ] {
        assert_arm_error(&path[..path.len().min(60)], raw(&addr, &request("GET", &path, "", b"")).await, status);
    }
    // A 1 MB header is over the HTTP layer's limit: refused (431 or 400) or closed, and the server lives on.
    let huge_header = format!("X-Padding: {}\r\n", "p".repeat(1 << 20));
    let answer = raw_or_nothing(&addr, &request("GET", &format!("{base}{q}"), &huge_header, b"")).await;
    assert!(answer.as_ref().is_none_or(|(s, _)| (400..500).contains(s)), "{:?}", answer.map(|a| a.0));

    // Still serving, state intact: the request is still pending and no decision was recorded by the abuse.
    let client = cases::client(emulator.url().as_str());
    let request = client.requests(sub).unwrap().get(&id, None).await.unwrap();
    assert_eq!(request.status().map(|s| s.as_str()), Some("Pending"));
    assert!(emulator.decisions().is_empty());
}

/// Requests decided on concurrently, 50 calls each.
const REQUESTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_decisions_leave_exactly_one_per_request() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let sub = cases::SUB;
    let ids: Vec<String> = (0..REQUESTS).map(|_| emulator.create_request(sub, NewLockboxRequest::default())).collect();
    let clients: Vec<CustomerLockboxClient> = (0..5)
        .map(|_| {
            // No per-try timeout: 500 calls at once on a loaded machine must not turn into timeouts.
            let options = CustomerLockboxClientOptions {
                retry: Retries::None,
                per_try_timeout: None,
                ..CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint")
            };
            CustomerLockboxClient::new(StaticTokenCredential::new("concurrent-token"), Some(options)).unwrap()
        })
        .collect();
    let calls = (0..500).map(|j| {
        let requests = clients[j % clients.len()].requests(sub).unwrap();
        let id = ids[j % ids.len()].clone();
        tokio::spawn(async move {
            let result = if (j / REQUESTS).is_multiple_of(2) {
                requests.approve(&id, "concurrent approve", None).await
            } else {
                requests.deny(&id, "concurrent deny", None).await
            };
            (id, result)
        })
    });
    let mut wins: HashMap<String, usize> = HashMap::new();
    for joined in futures::future::join_all(calls).await {
        let (id, result) = joined.expect("no task panics");
        match result {
            Ok(_) => *wins.entry(id).or_default() += 1,
            // The loser: the one answer for "already decided", with the ids of the refused call.
            Err(Error::DecisionConflict { current_status, call: Some(call), .. })
                if current_status.is_final() && call.service_request_id.is_some() => {}
            Err(other) => panic!("untyped or unexpected: {other:?}"),
        }
    }
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), ids.len(), "{decisions:?}");
    for id in &ids {
        assert_eq!(decisions.iter().filter(|d| &d.request_id == id).count(), 1, "{id}");
        assert_eq!(wins.get(id), Some(&1), "exactly one caller wins {id}");
        let status = emulator.request_status(sub, id).unwrap();
        let decision = &decisions.iter().find(|d| &d.request_id == id).unwrap().decision;
        assert_eq!(status, if decision == "Approve" { "Approved" } else { "Denied" });
    }
    assert_eq!(emulator.received().len(), 500);
}

// ---- every counter of the summary can go above 0: deliberately broken cases ----

/// Runs `broken` alone and returns its report.
async fn run_one(broken: cases::Case) -> cases::Report {
    cases::logs();
    cases::run(vec![broken]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_background_task_counts_although_the_case_itself_returns_ok() {
    let report = run_one(cases::case("panics in a detached task", async {
        // The case waits for the task to end (not for a while, which a loaded machine could outlast), and
        // ignores how it ended: its own result is Ok.
        let _ = tokio::spawn(async { panic!("background task gave up") }).await;
        Ok(vec![])
    }))
    .await;
    assert_eq!(report.panics(), 1, "{}", report.failures());
    assert!(report.outcomes[0].panics[0].contains("background task gave up"), "{:?}", report.outcomes);
    assert!(!report.ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_after_the_last_case_is_counted_too() {
    cases::logs();
    // The task panics once the case's window is closed, whatever the machine's speed.
    let (go, late) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = late.await;
        panic!("late panic")
    });
    let after = async move {
        let _ = go.send(());
        let _ = task.await;
    };
    let report = cases::run_then(vec![cases::case("panics late", async { Ok(vec![]) })], after).await;
    assert_eq!(report.outcomes[0].panics.len(), 0);
    assert_eq!(report.panics(), 1, "{}", report.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_whose_own_task_panics_is_counted_once() {
    let report = run_one(cases::case("panics itself", async { panic!("case panicked") })).await;
    assert_eq!((report.panics(), report.untyped(), report.wrong()), (1, 0, 0), "{}", report.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untyped_error_and_a_wrong_result_land_in_their_own_buckets() {
    let report = cases::run(vec![
        cases::case("a plain error where a typed one was expected", async {
            Err(cases::Problem::from("expected Service(409), got Transport".to_owned()))
        }),
        cases::case("right type, wrong value", async {
            Err(cases::Problem { bucket: cases::Bucket::Wrong, text: "recorded reason None".into() })
        }),
        cases::case("fine", async { Ok(vec!["nothing to see".into()]) }),
    ])
    .await;
    assert_eq!((report.untyped(), report.wrong(), report.panics(), report.leaks()), (1, 1, 0, 0));
    assert!(report.summary().contains(" 1 untyped errors, 1 wrong results, 0 token leaks"), "{}", report.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_found_in_a_failed_case_in_a_panic_and_in_late_log_lines() {
    let broken = vec![
        cases::case("leaks in a failed result", async {
            Err(cases::Problem::from(format!("expected Service, got Transport(url: https://x/?t={})", cases::TOKEN)))
        }),
        cases::case("leaks in a panic message", async { panic!("bad header {}", cases::TOKEN_PART) }),
        cases::case("leaks in a log line after the case", async { Ok(vec![]) }),
    ];
    // A log line once the last case's window is closed, whatever the machine's speed.
    let after = async { tracing::warn!("retrying with Bearer {}", cases::TOKEN) };
    let report = cases::run_then(broken, after).await;
    // Each place is found (a log line of another test's client running at the same time may add to a window,
    // so the counts are lower bounds).
    assert!(report.outcomes[0].leaks.iter().any(|l| l.contains("in output")), "{:?}", report.outcomes[0]);
    assert!(report.outcomes[1].leaks.iter().any(|l| l.contains("in output")), "{:?}", report.outcomes[1]);
    assert!(report.late_leaks.iter().any(|l| l.contains("after the last case")), "{:?}", report.late_leaks);
    assert!(report.leaks() >= 3, "{}", report.failures());
}

#[test]
fn a_run_that_captured_no_log_line_fails() {
    let report = cases::Report { outcomes: vec![cases::Outcome::default()], ..cases::Report::default() };
    assert_eq!((report.panics(), report.untyped(), report.wrong(), report.leaks()), (0, 0, 0, 0));
    assert!(!report.ok(), "a run with no captured log line proves nothing about the logs");
    assert!(report.failures().contains("no log line"));
    let captured = cases::Report { logs_captured: 1, ..report };
    assert!(captured.ok());
}
