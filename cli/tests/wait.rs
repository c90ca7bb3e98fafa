//! `lockbox requests approve|deny --wait` at the seams of a decision (issue 29), as the SDK's tests explore
//! them (`tests/it/decision_wait.rs`): the tool waits through the SDK's `until_final`, never by itself, and a
//! decision the service recorded is printed whatever the wait came to. A scripted server on loopback gives the
//! answers the emulator does not (an approval recorded whose wait's reads then fail, an accepted operation that
//! fails while the request shows the decision, a refusal that does not say where the request stands).
//!
//! Every run is bounded by [`common::RUN_LIMIT`]; a hung command fails its test with what it printed.

#[path = "cli/common.rs"]
#[allow(dead_code)] // each test binary uses a part of the shared helpers
mod common;

use std::process::Output;

use azure_customer_lockbox_emulator::testing::request_json;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Respond, ResponseTemplate,
    matchers::{method, path, path_regex},
};

use common::{PENDING as ID, SUB, lockbox as command, output, text};

/// Answers `responses` in turn, repeating the last one.
struct Sequence(Vec<ResponseTemplate>, std::sync::atomic::AtomicUsize);

impl Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst).min(self.0.len() - 1);
        self.0[i].clone()
    }
}

fn sequence(responses: Vec<ResponseTemplate>) -> Sequence {
    Sequence(responses, Default::default())
}

fn read(status: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, ID, status))
}

fn answer(decision: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": decision, "reason": "ok"}))
}

fn not_pending(current: Option<&str>) -> ResponseTemplate {
    let info = current.map_or(json!([]), |s| json!([{"type": "LockboxRequestStatus", "info": {"currentStatus": s}}]));
    ResponseTemplate::new(409).set_body_json(
        json!({"error": {"code": "RequestNotPending", "message": "not pending", "additionalInfo": info}}),
    )
}

/// A server whose decisions answer `posts` in turn (none mounted when empty: the test mounts its own) and whose
/// reads of the request answer `reads` in turn (the first read is the tool's own, to show the request before
/// deciding).
async fn server(posts: Vec<ResponseTemplate>, reads: Vec<ResponseTemplate>) -> MockServer {
    let server = MockServer::builder().start().await;
    if !posts.is_empty() {
        let posts = sequence(posts);
        Mock::given(method("POST")).and(path_regex("/updateApproval$")).respond_with(posts).mount(&server).await;
    }
    let at = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/{ID}");
    Mock::given(method("GET")).and(path(at)).respond_with(sequence(reads)).mount(&server).await;
    server
}

async fn count(server: &MockServer, verb: &str) -> usize {
    let received = server.received_requests().await.unwrap();
    received.iter().filter(|r| r.method.as_str() == verb && r.url.path().contains("/requests/")).count()
}

/// Runs `lockbox` against `server` (as a standalone emulator, `--emulator --endpoint`), off the async runtime.
async fn lockbox(server: &MockServer, args: &[&str]) -> Output {
    let mut all: Vec<String> = ["--emulator", "--endpoint", &server.uri(), "--subscription", SUB, "-o", "json"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || output(command().args(&all))).await.unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {:?} / {}", text(&out.stdout), text(&out.stderr)))
}

const APPROVE: [&str; 7] = ["requests", "approve", ID, "--reason", "ok", "--yes", "--wait"];

/// Finding 4: the approval is answered `200`, then every read of the wait fails. The approval was recorded: it
/// is printed on stdout, and the exit status says "recorded, final status not confirmed" (9), never "refused".
#[tokio::test(flavor = "multi_thread")]
async fn an_approval_recorded_whose_wait_fails_is_printed_and_exits_9() {
    let server = server(vec![answer("Approve")], vec![read("Pending"), ResponseTemplate::new(403)]).await;
    let out = lockbox(&server, &APPROVE).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    let printed = stdout_json(&out);
    assert_eq!(printed["decision"], "approve", "{printed}");
    assert_eq!(printed["request"], ID);
    assert_eq!(printed["status"], "Unconfirmed");
    assert!(stderr.contains("was recorded, but its final status was not confirmed"), "{stderr}");
    assert!(stderr.contains("do not decide again"), "{stderr}");
    assert_eq!(count(&server, "POST").await, 1, "decided once");
}

/// The wait confirms the final status: printed, exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_that_confirms_the_final_status_exits_0() {
    let server = server(vec![answer("Approve")], vec![read("Pending"), read("Approving"), read("Approved")]).await;
    let out = lockbox(&server, &APPROVE).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(stdout_json(&out)["status"], "Approved");
    assert!(count(&server, "GET").await >= 3, "the SDK read the request until it was final");
}

/// Finding 3 through the tool: accepted (`202`), its operation ends `Failed`, the request shows the approval:
/// approved, read out, not "refused".
#[tokio::test(flavor = "multi_thread")]
async fn an_accepted_approval_whose_operation_fails_is_settled_by_the_request() {
    let server = server(vec![], vec![read("Pending"), read("Approved")]).await;
    let accepted =
        ResponseTemplate::new(202).insert_header("Azure-AsyncOperation", format!("{}/operations/op1", server.uri()));
    Mock::given(method("POST")).and(path_regex("/updateApproval$")).respond_with(accepted).mount(&server).await;
    let failed = ResponseTemplate::new(200).set_body_json(json!({"status": "Failed"}));
    Mock::given(method("GET")).and(path("/operations/op1")).respond_with(failed).mount(&server).await;
    let out = lockbox(&server, &APPROVE).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = stdout_json(&out);
    assert_eq!(printed["status"], "Approved");
    assert_eq!(printed["reconciled"], true, "{printed}");
}

/// Finding 5 through the tool: a request decided by someone else between the tool's read and its decision is
/// exit 6, whether the refusal names the status or a read does.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_decided_meanwhile_exits_6() {
    for (refusal, reads) in [
        (not_pending(Some("Approved")), vec![read("Pending")]),
        (not_pending(None), vec![read("Pending"), read("Expired")]),
    ] {
        let server = server(vec![refusal], reads).await;
        let out = lockbox(&server, &APPROVE).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{stderr}");
        assert!(stderr.contains("already decided or has expired"), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing was recorded: {}", text(&out.stdout));
        assert_eq!(count(&server, "POST").await, 1);
    }
}

/// A try that may have been taken (`500`) is reconciled by a read, then waited for: exit 0, `reconciled`.
#[tokio::test(flavor = "multi_thread")]
async fn an_uncertain_round_is_read_out_then_waited_for() {
    let server = server(vec![ResponseTemplate::new(500)], vec![read("Pending"), read("Denying"), read("Denied")]).await;
    let out = lockbox(&server, &["requests", "deny", ID, "--reason", "no", "--yes", "--wait"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = stdout_json(&out);
    assert_eq!((printed["status"].as_str(), printed["reconciled"].as_bool()), (Some("Denied"), Some(true)));
    assert_eq!(count(&server, "POST").await, 1, "never resent once it may have been taken");
}

/// The exit status the tool gives for it is in the command's `--help`.
#[test]
fn the_help_of_approve_and_deny_lists_exit_9() {
    for verb in ["approve", "deny"] {
        let out = output(command().args(["requests", verb, "--help"]));
        let help = text(&out.stdout);
        assert!(help.contains("  9  --wait: the decision was recorded"), "{help}");
    }
}
