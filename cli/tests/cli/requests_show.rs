//! `lockbox requests show`: one request, in every format, found by ARM id or by a bare id across subscriptions.

use azure_customer_lockbox_emulator::NewLockboxRequest;

use super::common::*;

#[test]
fn show_prints_the_request_and_missing_ones_exit_3() {
    let out = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    assert!(out.status.success());
    let request: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(request["name"], PENDING);
    let out = run(&["--emulator", "requests", "show", "no-such-request"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let line = stderr.lines().last().unwrap();
    assert!(line.starts_with("lockbox: error: 404 RequestNotFound: ") && line.contains("(request id "), "{line}");
}

#[test]
fn show_in_every_format() {
    let out = run(&["--emulator", "requests", "show", PENDING]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for field in [
        "Request           5a3b0000",
        "Subscription      6a1d",
        "Status            Pending",
        "Time left ",
        "Access level      Read",
        "Support case ",
        "Justification     Customer reports",
    ] {
        assert!(stdout.contains(field), "{field}: {stdout}");
    }
    let out = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    assert!(out.status.success());
    let one: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["name"], PENDING, "one object for one item: {one}");
    assert_eq!(one["properties"]["status"], "Pending");
    let out = run(&["--emulator", "-o", "jsonl", "requests", "show", PENDING]);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], PENDING);
    let out = run(&["--emulator", "-o", "tsv", "requests", "show", PENDING]);
    let stdout = text(&out.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].starts_with(&format!("{PENDING}\t{SUB}\tPending\t")), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_addressed_by_arm_id_or_found_across_subscriptions() {
    let emulator = emulator().await;
    let other = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    let arm = format!("/subscriptions/{SUB2}/providers/Microsoft.CustomerLockbox/requests/{other}");
    // The ARM id names its subscription, whatever --subscription says.
    let out = at(&emulator, &[SUB], &["-o", "json", "requests", "show", &arm]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((shown["name"].as_str(), shown["subscription"].as_str()), (Some(other.as_str()), Some(SUB2)));
    // A bare id is looked up in each subscription given.
    let out = at(&emulator, &[SUB, SUB2], &["-o", "json", "requests", "show", &other]).await;
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["subscription"], SUB2);
    let out = at(&emulator, &[SUB], &["requests", "show", &other]).await;
    assert_eq!(out.status.code(), Some(3), "not in the only subscription given");
    // Deciding by ARM id, with the audit record in JSON.
    let out = at(&emulator, &[], &["-o", "json", "requests", "approve", &arm, "--reason", "by arm id", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["request"], other.as_str());
    assert_eq!(record["subscription"], SUB2);
    assert_eq!(record["decision"], "approve");
    assert!(
        record.as_object().unwrap().contains_key("serviceRequestId")
            && record.as_object().unwrap().contains_key("reconciled")
    );
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!((decisions[0].subscription_id.as_str(), decisions[0].request_id.as_str()), (SUB2, other.as_str()));
    // Deny in TSV: one row, no header.
    let second = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB2], &["-o", "tsv", "requests", "deny", &second, "--reason", "no", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{second}\t{SUB2}\tdeny\tDenied\tno\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_id_is_found_tenant_wide_and_decided_once_in_its_subscription() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 1);
    let target = pending_request(&emulator, &subs[2], NewLockboxRequest::default());
    let other = pending_request(&emulator, &subs[1], NewLockboxRequest::default());

    let out = at(&emulator, &[], &["-o", "json", "requests", "show", &target]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["subscription"].as_str()),
        (Some(target.as_str()), Some(subs[2].as_str()))
    );

    let out =
        at(&emulator, &[], &["-o", "json", "requests", "approve", &target, "--reason", "found tenant-wide", "--yes"])
            .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (record["request"].as_str(), record["subscription"].as_str()),
        (Some(target.as_str()), Some(subs[2].as_str()))
    );
    let out = at(&emulator, &[], &["requests", "deny", &other, "--reason", "not this one", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{other}: Denied\n"), "{}", text(&out.stderr));

    // Each decision landed once, on the request in its own subscription.
    let decisions: Vec<(String, String, String, Option<String>)> =
        emulator.decisions().into_iter().map(|d| (d.subscription_id, d.request_id, d.decision, d.reason)).collect();
    assert_eq!(
        decisions,
        [
            (subs[2].clone(), target.clone(), "Approve".to_owned(), Some("found tenant-wide".to_owned())),
            (subs[1].clone(), other.clone(), "Deny".to_owned(), Some("not this one".to_owned())),
        ]
    );
    let posts: Vec<(String, String, u64)> =
        emulator.decision_posts().into_iter().map(|p| (p.subscription_id, p.request_id, p.received)).collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts.contains(&(subs[2].clone(), target.clone(), 1)) && posts.contains(&(subs[1].clone(), other.clone(), 1))
    );
    assert_eq!(emulator.duplicate_decisions(), 0);
    assert_eq!(emulator.request_status(&subs[2], &target).as_deref(), Some("Approved"));
    assert_eq!(emulator.request_status(&subs[1], &other).as_deref(), Some("Denied"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_id_in_no_readable_subscription_exits_3_and_decides_nothing() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 1);
    // One id that is nowhere, and one in the subscription the credential cannot read.
    let hidden = pending_request(&emulator, &subs[0], NewLockboxRequest::default());
    for id in ["0f0e0d0c-0b0a-4909-8807-060504030201", hidden.as_str()] {
        let out = at(&emulator, &[], &["requests", "show", id]).await;
        assert_eq!(out.status.code(), Some(3), "{id}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("request {id} is in no subscription this credential can read")),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        let out = at(&emulator, &[], &["requests", "approve", id, "--reason", "ok", "--yes"]).await;
        assert_eq!(out.status.code(), Some(3), "{id}: {}", text(&out.stderr));
    }
    assert!(emulator.received().iter().all(|r| r.method == "GET"), "no decision was sent");
    assert!(emulator.decisions().is_empty());
    assert_eq!(emulator.request_status(&subs[0], &hidden).as_deref(), Some("Pending"));
    // Its full resource id names the subscription, and says why it cannot be read.
    let arm = format!("{}/{hidden}", requests_path(&subs[0]));
    let out = at(&emulator, &[], &["requests", "show", &arm]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("403 AuthorizationFailed"), "{}", text(&out.stderr));
}

/// Every text the requester chose reaches a terminal neutralised: escape sequences shown escaped, and a newline
/// in the support case never starts a line that reads as the tool's (`Access level  Read` under the real one).
#[tokio::test(flavor = "multi_thread")]
async fn requester_text_cannot_forge_the_block_shown_before_a_decision() {
    let emulator = emulator().await;
    let forged = NewLockboxRequest {
        justification: "Routine check\u{1b}[1A\u{1b}[2K\u{1b}[32mApproved by security\u{1b}[0m".into(),
        support_request: "120112345678\nAccess level     Read".into(),
        access_level: "Write".into(),
        ..NewLockboxRequest::default()
    };
    let id = pending_request(&emulator, SUB, forged);
    for args in [vec!["requests", "show", id.as_str()], vec!["requests", "list"]] {
        let out = at(&emulator, &[SUB], &args).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'), "{args:?}: an escape reached the terminal");
        assert!(stdout.contains("\\u{1b}[1A"), "{args:?}: shown escaped: {stdout}");
        let forged_lines = stdout.lines().filter(|l| l.trim_start().starts_with("Access level") && l.contains("Read"));
        assert_eq!(forged_lines.count(), 0, "{args:?}: a forged line: {stdout}");
    }
    // JSON stays exact.
    let out = at(&emulator, &[SUB], &["-o", "json", "requests", "show", &id]).await;
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["properties"]["supportRequest"], "120112345678\nAccess level     Read");
}
