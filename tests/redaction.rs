//! One redaction point, before truncation (issue 14 C): a token a server echoes back (in a body, a header, a
//! link's path or query) never reaches an error's `Display` or `Debug`, nor a tracing event, whatever path the
//! failure took: not even part of it, when a body is cut to 4 KiB.
//!
//! Each test asserts that no substring of the token of 8 characters or more appears. One process-wide tracing
//! subscriber at TRACE level captures every event of every test of this file, and each test searches all of it.

// A test binary of its own, not a module of `tests/it`: `logs::capture` installs a process-wide tracing
// subscriber at TRACE level, and these tests search everything it captured. In the shared binary every other
// test would log at TRACE into it too (slower, and its lines would satisfy or break these searches); for the
// same reason redaction.rs and telemetry.rs do not share one binary.
#[path = "it/common/mod.rs"]
mod common;
#[path = "it/common/logs.rs"]
mod logs;
#[path = "redaction/properties.rs"]
mod properties;

use std::time::Duration;

use azure_customer_lockbox::{
    CustomerLockboxClient, Error,
    options::{FixedRetries, Retries},
};
use common::*;
use futures::StreamExt;
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, path_regex},
};

/// The first piece of the token, 8 characters or longer, that `text` contains.
fn leaked(text: &str) -> Option<&'static str> {
    (0..=TOKEN.len() - 8).map(|i| &TOKEN[i..i + 8]).find(|piece| text.contains(piece))
}

/// Asserts that neither the error's `Display` nor its `Debug`, nor anything logged so far, holds a piece of the
/// token.
fn assert_no_token(what: &str, error: &Error) {
    let display = error.to_string();
    let debug = format!("{error:?}");
    assert_eq!(leaked(&display), None, "{what}: Display leaks the token: {display}");
    assert_eq!(leaked(&debug), None, "{what}: Debug leaks the token: {debug}");
    let logs = logs::text();
    assert_eq!(leaked(&logs), None, "{what}: the logs leak the token: {logs}");
}

const ENABLE: &str = "/providers/Microsoft.CustomerLockbox/enableLockbox";
const LIST: &str = "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.CustomerLockbox/requests";

fn client_with(uri: &str, retry: Retries, per_try_timeout: Option<Duration>) -> CustomerLockboxClient {
    TestClient::new(uri).retry(retry).per_try_timeout(per_try_timeout).build()
}

/// An undecodable poll answer that echoes the token: `Error::Decode`'s body.
#[tokio::test]
async fn an_undecodable_poll_answer_echoing_the_token() {
    logs::capture();
    let server = mock_server().await;
    let accepted = ResponseTemplate::new(202).insert_header("Azure-AsyncOperation", format!("{}/op", server.uri()));
    Mock::given(method("POST")).and(path(ENABLE)).respond_with(accepted).mount(&server).await;
    let echo = ResponseTemplate::new(200).set_body_string(format!("{{\"status\": you sent {TOKEN}"));
    Mock::given(method("GET")).and(path("/op")).respond_with(echo).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None);
    let error = client.tenant().enable(None).await.unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(format!("{error:?}").contains("<redacted>"), "the echo is shown, redacted: {error:?}");
    assert_no_token("undecodable poll answer", &error);
}

/// A 202 with no polling header whose body echoes the token: the `ServiceError`'s body.
#[tokio::test]
async fn a_202_without_a_polling_header_echoing_the_token() {
    logs::capture();
    let server = mock_server().await;
    let echo = ResponseTemplate::new(202).set_body_string(format!("accepted the call from {TOKEN}"));
    Mock::given(method("POST")).and(path(ENABLE)).respond_with(echo).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None);
    let error = client.tenant().enable(None).await.unwrap_err();
    assert_eq!(error.code(), Some("MissingPollingHeader"));
    assert_no_token("202 without a polling header", &error);
}

/// A transport failure (a connection closed without an answer) on a `nextLink` that carries the token in its
/// query: reqwest's error names the URL, in `Display`, `Debug` and the retry event. The server is a raw listener
/// that answers the first page and closes every connection that asks for the next: no timer decides anything.
#[tokio::test]
async fn a_transport_failure_on_a_next_link_carrying_the_token() {
    logs::capture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let next = format!("{uri}/next/page?$skiptoken={TOKEN}");
    let first = json!({"value": [], "nextLink": next}).to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.ends_with(b"\r\n\r\n") {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => head.extend_from_slice(&buffer[..read]),
                }
            }
            if !String::from_utf8_lossy(&head).starts_with("GET /next/page") {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{first}",
                    first.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        }
    });
    let retry = Retries::Fixed(FixedRetries {
        max_retries: 1,
        delay: Duration::from_millis(1),
        max_total_elapsed: Duration::from_secs(10),
    });
    let client = client_with(&uri, retry, None);
    let error = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap_err();
    assert!(matches!(error, Error::Transport { attempts: 2, .. }), "{error:?}");
    assert!(logs::text().contains("retrying"), "the retry event was logged");
    assert!(error.to_string().contains("/next/page"), "the URL's path is still shown: {error}");
    assert_no_token("transport failure on a nextLink", &error);
    // The error's source, as a caller walking the chain would print it.
    let source = std::error::Error::source(&error).map(|s| format!("{s} {s:?}")).unwrap_or_default();
    assert_eq!(leaked(&source), None, "the source leaks the token: {source}");
}

/// A `nextLink` whose path carries the token, sent a second time: `Error::Paging` names the link. The link is
/// redacted as the page enters the crate, so the token is never sent back in a URL either: the next page is
/// asked for at `/next/<redacted>/page`.
#[tokio::test]
async fn a_repeated_next_link_with_the_token_in_its_path() {
    logs::capture();
    let server = mock_server().await;
    let next = format!("{}/next/{TOKEN}/page", server.uri());
    let page = ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": next}));
    Mock::given(method("GET")).and(path(LIST)).respond_with(page.clone()).mount(&server).await;
    Mock::given(method("GET")).and(path_regex("^/next/[^/]+/page$")).respond_with(page).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None);
    let error = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap_err();
    assert!(matches!(error, Error::Paging(_)), "{error:?}");
    assert!(error.to_string().contains("/next/"), "the link is still shown: {error}");
    assert_no_token("repeated nextLink", &error);
    let asked: Vec<String> = server.received_requests().await.unwrap().iter().map(|r| r.url.to_string()).collect();
    assert_eq!(asked.len(), 2, "the first page and the next: {asked:?}");
    assert!(asked[1].ends_with("/next/%3Credacted%3E/page?api-version=2018-02-28-preview"), "{asked:?}");
    assert!(asked.iter().all(|url| leaked(url).is_none()), "the token went out in a URL: {asked:?}");
}

/// A body cut to 4 KiB where the token straddles the cut: redaction comes first, so not even the token's first
/// half is kept. For an error answer (`ServiceError`) and an undecodable success (`Error::Decode`).
#[tokio::test]
async fn a_token_straddling_the_4_kib_cut() {
    logs::capture();
    let server = mock_server().await;
    let body = format!("{}{TOKEN} and more", "x".repeat(4096 - TOKEN.len() / 2));
    let at = format!("{LIST}/req-1");
    Mock::given(method("GET"))
        .and(path(&at))
        .respond_with(ResponseTemplate::new(400).set_body_string(body.clone()))
        .mount(&server)
        .await;
    let client = client_with(&server.uri(), Retries::None, None);
    let error = client.requests(SUB).unwrap().get("req-1", None).await.unwrap_err();
    let kept = error.service_error().map(|e| e.body.len()).unwrap();
    assert!(kept <= 4096, "{kept}");
    assert_no_token("error body cut at 4 KiB", &error);
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(&at))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let error = client.requests(SUB).unwrap().get("req-1", None).await.unwrap_err();
    match &error {
        Error::Decode { body, .. } => assert!(body.len() <= 4096, "{}", body.len()),
        other => panic!("{other:?}"),
    }
    assert_no_token("undecodable body cut at 4 KiB", &error);
}

/// A percent-encoded token in a link's path is still the token.
#[tokio::test]
async fn a_percent_encoded_token_in_a_refused_link() {
    logs::capture();
    let server = mock_server().await;
    let encoded: String = TOKEN.bytes().map(|b| format!("%{b:02X}")).collect();
    let next = format!("https://elsewhere.example/next/{encoded}/page");
    let page = ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": next}));
    Mock::given(method("GET")).and(path(LIST)).respond_with(page).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None);
    let mut pages = client.requests(SUB).unwrap().list(None).into_pages();
    assert!(pages.next().await.unwrap().is_ok());
    let error = pages.next().await.unwrap().unwrap_err();
    assert!(matches!(error, Error::UnsafeUrl { .. }), "{error:?}");
    assert_no_token("refused link with a percent-encoded token", &error);
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(&encoded[..24]), "the encoded token is the token: {shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}

/// A decision refused after an uncertain try, where the service's texts echo the token: the refusal's
/// `additionalInfo.currentStatus`, and a status the request is read in. A status this SDK does not know is in
/// flight, not a conflict: the reads go on (each logged, redacted) until a final status, here `Denied`.
#[tokio::test(start_paused = true)]
async fn a_decision_conflict_whose_current_status_echoes_the_token() {
    logs::capture();
    let server = mock_server().await;
    let planted = format!("Held-{TOKEN}");
    let at = format!("{LIST}/req-1");
    let refusal = ResponseTemplate::new(409).set_body_json(json!({"error": {
        "code": "RequestNotPending",
        "message": "The request is not pending.",
        "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": planted}}],
    }}));
    // The first try is ambiguous (500); two reads say Pending; the resend is refused; the reads say `planted`,
    // then `Denied`.
    let posts = Sequence::new(vec![ResponseTemplate::new(500), refusal]);
    Mock::given(method("POST")).and(path(format!("{at}/updateApproval"))).respond_with(posts).mount(&server).await;
    let read = |status: &str| ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", status));
    let reads = Sequence::new(vec![read("Pending"), read("Pending"), read(&planted), read("Denied")]);
    Mock::given(method("GET")).and(path(at.as_str())).respond_with(reads).mount(&server).await;
    let retry =
        FixedRetries { max_retries: 2, delay: Duration::from_millis(10), max_total_elapsed: Duration::from_secs(30) };
    // The status that is not final is read again at the poller's cadence (30 s), on the paused clock.
    let client =
        TestClient::new(server.uri()).retry(Retries::Fixed(retry)).per_try_timeout(None).paused_clock().build();
    let error = client.requests(SUB).unwrap().approve("req-1", "ok", None).await.unwrap_err();
    let Error::DecisionConflict { current_status, .. } = &error else { panic!("{error:?}") };
    assert_eq!(current_status.to_string(), "Denied");
    assert!(logs::text().contains("Held-<redacted>"), "the status read in between is logged, redacted");
    assert_no_token("a decision conflict after a read that echoes the token", &error);
    let posts = server.received_requests().await.unwrap().into_iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(posts, 2, "the ambiguous try and one resend after two Pending reads");
}

/// What a server sends is redacted where it enters the crate, so a model echoing the token (a requester's
/// justification, say) and a header value (its request id) are clean too, not only errors. Text that holds
/// nothing to remove comes back as it was sent.
#[tokio::test]
async fn a_model_and_a_header_echoing_the_token_are_redacted_as_they_enter() {
    logs::capture();
    let server = mock_server().await;
    let mut echoed = request_json(SUB, "req-1", "Pending");
    echoed["properties"]["justification"] = json!(format!("please, as {TOKEN} said"));
    let answer =
        ResponseTemplate::new(200).set_body_json(echoed).insert_header("x-ms-request-id", format!("r-{TOKEN}"));
    Mock::given(method("GET")).and(path(format!("{LIST}/req-1"))).respond_with(answer).mount(&server).await;
    let plain = request_json(SUB, "req-2", "Pending");
    Mock::given(method("GET"))
        .and(path(format!("{LIST}/req-2")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&plain))
        .mount(&server)
        .await;
    let requests = client_with(&server.uri(), Retries::None, None).requests(SUB).unwrap();

    let got = requests.get_with_response("req-1", None).await.unwrap();
    assert_eq!(got.call_ids().service_request_id.as_deref(), Some("r-<redacted>"));
    let justification = got.into_model().properties.and_then(|p| p.justification);
    assert_eq!(justification.as_deref(), Some("please, as <redacted> said"));
    assert_eq!(leaked(&logs::text()), None, "the logs leak the token");

    let untouched = requests.get("req-2", None).await.unwrap();
    assert_eq!(
        serde_json::to_value(&untouched).unwrap()["properties"]["justification"],
        plain["properties"]["justification"]
    );
}
