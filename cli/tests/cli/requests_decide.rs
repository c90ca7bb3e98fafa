//! `lockbox requests approve` and `deny`: confirmation, the decision sent once, and the exit statuses of a
//! decision that cannot be made or whose outcome is unknown.

use std::time::Duration;

use azure_customer_lockbox_emulator::{Fault, NewLockboxRequest, Operation};

use super::common::*;

#[test]
fn approve_with_wait_waits_until_approved() {
    let out =
        run(&["--emulator", "requests", "approve", PENDING, "--reason", "read access for the case", "--wait", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("{PENDING}: Approved"));
    let stderr = text(&out.stderr);
    // The SDK waits (`until_final`), not the tool: see tests/wait.rs for the seams.
    assert!(stderr.contains("then wait until its status is final"), "{stderr}");
    // What is being decided is shown first.
    assert!(stderr.contains("Justification     Customer reports missing diagnostics data"), "{stderr}");
    assert!(
        stderr.contains("Support case ") && stderr.contains("Time left ") && stderr.contains("Access level      Read")
    );
}

/// A request that is no longer pending is shown, and reported as such: no question, no decision sent (it was
/// shown, asked about, sent, and refused with a 409).
#[tokio::test(flavor = "multi_thread")]
async fn deciding_on_a_request_that_is_not_pending_exits_6_without_asking_or_sending() {
    let out = run(&["--emulator", "requests", "deny", APPROVED, "--reason", "no", "--yes"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("is Approved, not Pending: nothing to deny, nothing was sent"),
        "{}",
        text(&out.stderr)
    );
    // Against an emulator that records every decision POST: none arrives, and no terminal is asked either.
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    assert!(at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok", "--yes"]).await.status.success());
    let out = at(&emulator, &[SUB], &["requests", "deny", &id, "--reason", "too late"]).await;
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let posts = emulator.decision_posts().into_iter().find(|p| p.request_id == id).unwrap();
    assert_eq!(posts.received, 1, "only the approval was sent");
}

#[test]
fn bad_input_exits_2_before_anything_is_sent() {
    let out = run(&["--emulator", "requests", "approve", PENDING, "--reason", "   "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid argument `reason`"));
    let out = run(&["--emulator", "requests", "approve", PENDING]);
    assert_eq!(out.status.code(), Some(2), "clap: --reason is required");
    let out =
        run(&["--emulator", "--subscription", "not-a-guid", "--endpoint", "http://127.0.0.1:9/", "requests", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("subscription_id"));
    let out = run(&["--emulator", "requests", "show", "/subscriptions/x/providers/Microsoft.Other/requests/y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a request id nor a resource id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standalone_emulator_keeps_state_between_commands() {
    let emulator = emulator().await;
    emulator.sample_data(SUB);
    let out = at(&emulator, &[SUB], &["requests", "deny", PENDING, "--reason", "not during the freeze", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("embedded emulator"));
    let out = at(&emulator, &[SUB], &["requests", "list", "--status", "denied", "--output", "jsonl"]).await;
    assert_eq!(text(&out.stdout).lines().count(), 2, "the sample's denied request and ours");
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].reason.as_deref(), Some("not during the freeze"));
    assert!(
        emulator.received().iter().all(|r| r.header("user-agent").is_some_and(|ua| ua.starts_with("lockbox-cli ")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_and_deny_need_a_terminal_or_yes() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // No terminal, no --yes: refused before anything is decided (the request is read, to say whether it is
    // still pending at all).
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no terminal to ask on; pass --yes"), "{}", text(&out.stderr));
    assert!(emulator.received().iter().all(|r| r.method == "GET"), "nothing but reads");

    let args = |answer: &str| {
        let url = emulator.url().to_string();
        let id = id.clone();
        let answer = answer.to_owned();
        move || {
            let args = [
                "--emulator",
                "--endpoint",
                &url,
                "--subscription",
                SUB,
                "requests",
                "deny",
                &id,
                "--reason",
                "not now",
            ];
            on_terminal(&args, &answer, &[])
        }
    };
    // On a terminal: the request is shown, and "n" decides nothing.
    let out = tokio::task::spawn_blocking(args("n\n")).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let shown = text(&out.stdout);
    assert!(shown.contains(&format!("Request           {id}")) && shown.contains("Storage Account"), "{shown}");
    assert!(
        shown.contains(&format!("Deny request {id} with reason \"not now\"? [y/N]")) && shown.contains("cancelled")
    );
    assert!(emulator.decisions().is_empty());
    // "y" decides, once.
    let out = tokio::task::spawn_blocking(args("y\n")).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(&format!("{id}: Denied")));
    let decisions = emulator.decisions();
    assert_eq!((decisions.len(), decisions[0].decision.as_str()), (1, "Deny"));
}

#[tokio::test(flavor = "multi_thread")]
async fn outcome_unknown_exits_7_and_a_failed_subscription_is_reported() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // The first read (to show the request) passes; the decision's connection drops after it was recorded,
    // and the read that would reconcile it is refused.
    emulator.inject(Fault::delay(Duration::from_millis(1)).on(Operation::RequestsGet));
    emulator.inject(Fault::drop_connection().after_commit().on(Operation::RequestsUpdateStatus));
    emulator.inject(Fault::status(403).on(Operation::RequestsGet).times(5));
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok", "--yes"]).await;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is unknown") && text(&out.stderr).contains("before deciding again"));
    assert_eq!(emulator.decisions().len(), 1, "the service did record it");

    // One of two subscriptions cannot be listed: the other is, and the exit status says so.
    let emulator = self::emulator().await;
    let listed = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let out = at(&emulator, &[SUB, SUB2], &["-o", "jsonl", "requests", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("cannot list subscription {SUB}: 403 InjectedFault")),
        "{}",
        text(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!((lines.len(), lines[0]["name"].as_str()), (1, Some(listed.as_str())));
    // Only one subscription, and it fails: the failure's own exit status.
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let out = at(&emulator, &[SUB], &["requests", "list"]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_and_tenant_changes_in_every_format() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB], &["-o", "jsonl", "requests", "approve", &id, "--reason", "ok", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0]["request"].as_str(), lines[0]["status"].as_str()), (Some(id.as_str()), Some("Approved")));
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB], &["requests", "deny", &id, "--reason", "no", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{id}: Denied\n"));
    assert_eq!(emulator.decisions().len(), 2);

    let tenant = emulator.default_tenant_id().to_owned();
    let out = at(&emulator, &[], &["-o", "json", "tenant", "enable", "--yes"]).await;
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((state["customerLockbox"].as_str(), state["optedIn"].as_bool()), (Some("on"), Some(true)));
    assert!(emulator.tenant_opted_in(&tenant));
    let out = at(&emulator, &[], &["-o", "tsv", "tenant", "disable", "--yes"]).await;
    assert_eq!(text(&out.stdout), "-\toff\n");
    assert!(!emulator.tenant_opted_in(&tenant));
    let out = at(&emulator, &[], &["-o", "jsonl", "tenant", "status", &tenant]).await;
    assert_eq!(json_lines(&out.stdout)[0]["customerLockbox"], "off");
}
