//! `lockbox requests watch`: events as requests arrive and change, the formats, the `--exec` hook, a tenant-wide
//! watch, and a watch that ends cleanly on Ctrl-C or when its reader goes away.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
    time::Duration,
};

use azure_customer_lockbox_emulator::{Fault, NewLockboxRequest, Operation};

use super::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_new_and_changed_requests_until_interrupted() {
    let emulator = emulator().await;
    let existing = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["-o", "table", "requests", "watch", "--interval", "100ms"]);
    let first = watch.next_line().await;
    // A request there before the watch is `existing`, not `new`.
    assert!(first.contains(&format!("existing {existing} Pending")), "{first}");
    let fresh = emulator.create_request(SUB, Default::default());
    let line = watch.next_line().await;
    assert!(line.contains(&format!("new      {fresh}")), "{line}");
    emulator.advance_clock(Duration::from_secs(30 * 24 * 3600));
    let mut changes = vec![watch.next_line().await, watch.next_line().await];
    changes.sort();
    assert!(changes.iter().all(|l| l.contains("changed") && l.ends_with("Pending -> Expired")), "{changes:?}");
    // Ctrl-C ends the watch cleanly.
    watch.interrupt();
}

/// Issue 31: with `--only-changes`, the watch says on stderr when the first listing is done.
#[tokio::test(flavor = "multi_thread")]
async fn watch_only_changes_says_when_the_first_listing_is_done() {
    let emulator = emulator().await;
    emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--only-changes"]);
    watch
        .wait_for_stderr(&format!(
            "lockbox: subscription {SUB}: first listing done, 1 request(s) there now; reporting changes from here"
        ))
        .await;
    let fresh = emulator.create_request(SUB, Default::default());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!((event["event"].as_str(), event["requestId"].as_str()), (Some("new"), Some(fresh.as_str())));
    watch.interrupt();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_writes_json_lines_when_piped_and_tsv_when_asked() {
    let emulator = emulator().await;
    let existing = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms"]);
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(event["event"], "existing");
    assert_eq!(event["requestId"], existing.as_str());
    assert_eq!(event["subscription"], SUB);
    assert_eq!(event["status"], "Pending");
    assert_eq!(event["request"]["properties"]["status"], "Pending");
    let out = at(&emulator, &[SUB], &["requests", "deny", &existing, "--reason", "no", "--yes"]).await;
    assert!(out.status.success());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!((event["event"].as_str(), event["previousStatus"].as_str()), (Some("changed"), Some("Pending")));
    assert_eq!(event["status"], "Denied");
    watch.interrupt();

    for format in ["tsv", "json"] {
        let mut watch = Running::start(&emulator, &["-o", format, "requests", "watch", "--interval", "100ms"]);
        let first = watch.next_line().await;
        if format == "tsv" {
            // No header: the first line is the first event.
            let row: Vec<String> = first.split('\t').map(str::to_owned).collect();
            assert_eq!(
                (row[1].as_str(), row[2].as_str(), row[3].as_str(), row[4].as_str()),
                ("existing", SUB, existing.as_str(), "Denied")
            );
        } else {
            let event: serde_json::Value = serde_json::from_str(&first).unwrap();
            assert_eq!(event["requestId"], existing.as_str());
        }
        watch.interrupt();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_exec_runs_a_command_per_event_and_keeps_watching_when_it_fails() {
    let emulator = emulator().await;
    let dir = tempdir("exec");
    let events = dir.join("events.jsonl");
    let hook = format!("cat >> '{}'; exit 3", events.display());
    // Issue 31: an old, decided request is shown as existing, and the hook does not run for it.
    let decided = emulator.create_request(SUB, Default::default());
    let out = at(&emulator, &[SUB], &["requests", "deny", &decided, "--reason", "no", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--exec", &hook]);
    let mut existing = vec![watch.next_line().await, watch.next_line().await];
    existing.sort();
    assert!(existing.iter().all(|l| l.contains("\"event\":\"existing\"")), "{existing:?}");
    let second = emulator.create_request(SUB, Default::default());
    let line = watch.next_line().await;
    assert!(line.contains(&second), "{line}");
    // The hook of the second event has run once its line is out and the next listing went by.
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    let seen = loop {
        let seen: Vec<serde_json::Value> = std::fs::read(&events).map(|b| json_lines(&b)).unwrap_or_default();
        if seen.len() >= 2 || std::time::Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ids: Vec<&str> = seen.iter().filter_map(|e| e["requestId"].as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let kinds: Vec<&str> = seen.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["existing", "new"]);
    assert!(seen.iter().all(|e| e["subscription"] == SUB));
    let stderr = watch.interrupt();
    assert!(
        stderr.contains(&format!("--exec command failed for request {first} (exit status: 3); still watching")),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_tenant_wide_sees_new_requests_in_every_readable_subscription() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 0);
    let existing = emulator.create_request(&subs[1], Default::default());
    let mut watch = Running::start_in(&emulator, &[], &["requests", "watch", "--interval", "100ms"]);
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(
        (event["event"].as_str(), event["requestId"].as_str(), event["subscription"].as_str()),
        (Some("existing"), Some(existing.as_str()), Some(subs[1].as_str()))
    );
    // The fresh request is created once the watch has asked for subs[2]'s requests twice: it asks again only after
    // its first listing of subs[2] is done, so the request is new to it, whichever subscription it listed first.
    // Counted, not timed (created earlier, it could be in that first listing, and so `existing`).
    let listed = || emulator.received().iter().filter(|r| r.path.starts_with(&requests_path(&subs[2]))).count();
    while listed() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = emulator.create_request(&subs[2], Default::default());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(
        (event["event"].as_str(), event["requestId"].as_str(), event["subscription"].as_str()),
        (Some("new"), Some(fresh.as_str()), Some(subs[2].as_str()))
    );
    let stderr = watch.interrupt();
    assert!(
        stderr.contains(&format!(
            "listing subscription {} failed, still watching (said again only if it changes): 403 AuthorizationFailed",
            subs[0]
        )),
        "{stderr}"
    );
    // A tenant-wide watch that cannot list the subscriptions at its start has nothing to watch: it ends with
    // the failure's exit status.
    emulator.inject(Fault::status(403).on(Operation::SubscriptionsList));
    let out = at(&emulator, &[], &["requests", "watch", "--interval", "100ms"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("lockbox: error: 403 InjectedFault"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_watch_that_sees_no_subscription_says_so_and_keeps_watching() {
    // An emulator with no subscription at all: the credential sees nothing to watch.
    let emulator = emulator().await;
    let watch = Running::start_in(&emulator, &[], &["requests", "watch", "--interval", "100ms"]);
    let note = "this credential sees no active subscription; still watching for one to appear";
    watch.wait_for_stderr(note).await;
    let listed = emulator.received().into_iter().filter(|r| r.method == "GET" && r.path == "/subscriptions").count();
    assert_eq!(listed, 1);
    // Still running: the watch does not end for lack of subscriptions, and Ctrl-C ends it cleanly.
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches(note).count(), 1, "{stderr}");
}

/// Starts `lockbox` with `args`, reads the first line of its stdout, and closes the pipe, as `| head -1` does.
fn first_line_then_hang_up(args: &[String]) -> (Child, String) {
    let mut child =
        lockbox().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    (child, first)
}

/// `lockbox requests watch | head -1`: the reader goes away; at the next event the watch ends quietly (exit 0),
/// with no panic (it exited 101 with "failed printing to stdout: Broken pipe").
#[tokio::test(flavor = "multi_thread")]
async fn a_watch_whose_reader_goes_away_ends_without_a_panic() {
    let emulator = emulator().await;
    pending_request(&emulator, SUB, NewLockboxRequest::default());
    let mut args = emulator_args(&emulator, &[SUB]);
    args.extend(["-o", "jsonl", "requests", "watch", "--interval", "1s"].map(str::to_owned));
    let child = tokio::task::spawn_blocking(move || {
        let (child, first) = first_line_then_hang_up(&args);
        assert!(!first.is_empty());
        child
    })
    .await
    .unwrap();
    // The next event is written to a pipe nobody reads.
    pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = tokio::task::spawn_blocking(move || finish(child, "requests watch | head -1")).await.unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_says_a_lasting_refusal_once_and_a_missing_hook_once() {
    let emulator = emulator().await;
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms"]);
    watch.wait_for_stderr(&format!("lockbox: listing subscription {SUB} failed")).await;
    // Several rounds of the backoff go by (counted, not timed: a loaded machine takes longer); the same 403 is
    // not said again.
    let listings = || emulator.received().iter().filter(|r| r.path.ends_with("/requests")).count();
    while listings() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches("failed, still watching").count(), 1, "{stderr}");

    let emulator = self::emulator().await;
    emulator.create_request(SUB, Default::default());
    let mut watch =
        Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--exec", "./no-such-hook.sh"]);
    watch.next_line().await;
    emulator.create_request(SUB, Default::default());
    watch.next_line().await;
    emulator.create_request(SUB, Default::default());
    watch.next_line().await;
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches("the --exec command cannot be run").count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "lockbox: the --exec command cannot be run (exit status: 127: not found or not executable): \
             ./no-such-hook.sh; the watch goes on without it"
        ),
        "{stderr}"
    );
}
