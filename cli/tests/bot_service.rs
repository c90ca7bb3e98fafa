//! `lockbox policy run` as a service: a pass that sees every pending request once, signals that stop it
//! cleanly, intents settled at the next start, and a summary that counts only what was written. Each test runs
//! the binary against an emulator in this process.

mod botkit;

use std::{process::Command, time::Duration};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};
use botkit::*;

async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn stderr_of(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Deciding while paging a `Pending` listing moves the offsets its skip tokens count from: a pass that decided
/// page by page decided 50 of each subscription's 100. A pass lists first, then decides, so it decides all.
#[tokio::test(flavor = "multi_thread")]
async fn one_pass_decides_every_pending_request_of_two_subscriptions() {
    let emulator = emulator().await;
    let mut ids = Vec::new();
    for subscription in [SUB, SUB2] {
        ids.extend((0..100).map(|_| request(&emulator, subscription, "approve-me")));
    }
    let dir = tempdir("full-pass");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    let mut bot = bot(&emulator, &[SUB, SUB2], &policy(&dir, "a"), &audit, &log, &["--once"]);
    let status = tokio::task::block_in_place(|| wait(&mut bot, "policy run --once"));
    let stderr = stderr_of(&log);
    assert!(status.success(), "{stderr}");
    assert_eq!(recorded(&emulator).keys().cloned().collect::<Vec<_>>(), set(&ids).into_iter().collect::<Vec<_>>());
    assert!(stderr.contains("lockbox: policy run: 200 decided, 0 left for a human"), "{stderr}");
    let paired = Paired::of(&trail(&audit));
    assert_eq!((paired.intents.len(), paired.open(), paired.settled_twice()), (200, 0, 0));
    std::fs::remove_dir_all(dir).ok();
}

/// A listing that names a request twice (here, one subscription given twice in two letter cases) gets one
/// decision per request: one intent, one outcome and one decision POST each.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_listed_twice_is_decided_once() {
    let emulator = emulator().await;
    let ids: Vec<String> = (0..5).map(|_| request(&emulator, SUB, "approve-me")).collect();
    let dir = tempdir("listed-twice");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    let upper = SUB.to_ascii_uppercase();
    let mut bot = bot(&emulator, &[SUB, &upper], &policy(&dir, "a"), &audit, &log, &["--once"]);
    let status = tokio::task::block_in_place(|| wait(&mut bot, "policy run --once"));
    assert!(status.success(), "{}", stderr_of(&log));
    let posts: Vec<(String, u64)> = emulator.decision_posts().into_iter().map(|p| (p.request_id, p.received)).collect();
    assert_eq!(posts, ids.iter().map(|id| (id.clone(), 1)).collect::<Vec<_>>());
    let paired = Paired::of(&trail(&audit));
    assert_eq!((paired.intents.len(), paired.open(), paired.settled_twice()), (5, 0, 0));
    std::fs::remove_dir_all(dir).ok();
}

/// After exit 8 (the trail cannot be written), the summary counted a request "left for a human" whose line was
/// never written. It counts lines written.
#[tokio::test(flavor = "multi_thread")]
async fn the_summary_counts_only_lines_that_were_written() {
    let emulator = emulator().await;
    for _ in 0..3 {
        request(&emulator, SUB, "leave");
    }
    let dir = tempdir("counts");
    let log = dir.join("stderr");
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), std::path::Path::new("/dev/full"), &log, &["--once"]);
    let status = tokio::task::block_in_place(|| wait(&mut bot, "policy run --once"));
    let stderr = stderr_of(&log);
    assert_eq!(status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("lockbox: policy run: 0 decided, 0 left for a human"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

/// The first SIGTERM or SIGINT in the middle of a pass: the bot takes no new request, the decision in flight
/// ends with its outcome line, and the bot exits 0. The summary counts what the trail holds.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sigint_in_a_pass_end_the_decision_in_flight_and_exit_0() {
    for name in ["TERM", "INT"] {
        let emulator = emulator().await;
        // Each answer takes 400 ms: a pass over 40 requests takes many seconds, and the decision in flight when
        // the signal comes is still out when it is handled.
        emulator.set_latency(Some(Duration::from_millis(400)..=Duration::from_millis(400)));
        let ids: Vec<String> = (0..40).map(|_| request(&emulator, SUB, "approve-me")).collect();
        let dir = tempdir("signal");
        let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
        let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &["--interval", "1s"]);
        let status = tokio::task::block_in_place(|| {
            wait_for_lines(&audit, 3, &mut bot);
            let intents_before = trail(&audit).iter().filter(|l| l["outcome"] == "sending").count();
            signal(&bot, name);
            let status = wait(&mut bot, "policy run after a signal");
            (status, intents_before)
        });
        let (status, intents_before) = status;
        let stderr = stderr_of(&log);
        assert_eq!(status.code(), Some(0), "SIG{name}: {stderr}");
        let lines = trail(&audit);
        let paired = Paired::of(&lines);
        assert_eq!((paired.open(), paired.settled_twice(), paired.orphans.len()), (0, 0, 0), "SIG{name}: {lines:?}");
        // No new request after the signal: at most the one the bot was taking when it came.
        assert!(paired.intents.len() <= intents_before + 1, "SIG{name}: {} intents", paired.intents.len());
        assert!(paired.intents.len() < ids.len());
        let records = recorded(&emulator);
        assert_eq!(records.len(), paired.intents.len(), "SIG{name}: each intent's decision, and no other");
        assert!(
            paired
                .outcomes()
                .all(|(_, decision, line)| { agrees(line, decision, records.get(line["request"].as_str().unwrap())) })
        );
        let summary = format!("lockbox: policy run: {} decided,", paired.intents.len());
        assert!(stderr.contains(&summary), "SIG{name}: {summary} in {stderr}");
        std::fs::remove_dir_all(dir).ok();
    }
}

/// A second signal ends the bot at once (exit 143 for SIGTERM); the next start settles what it cut.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once_and_the_next_start_settles_what_it_cut() {
    let emulator = emulator().await;
    // Each answer takes a second: the decision in flight is still out when the second signal comes.
    emulator.set_latency(Some(Duration::from_secs(1)..=Duration::from_secs(1)));
    for _ in 0..10 {
        request(&emulator, SUB, "approve-me");
    }
    let dir = tempdir("second-signal");
    let (audit, log, policy) = (dir.join("audit.jsonl"), dir.join("stderr"), policy(&dir, "a"));
    let mut first = bot(&emulator, &[SUB], &policy, &audit, &log, &["--interval", "1s"]);
    let status = tokio::task::block_in_place(|| {
        wait_for_lines(&audit, 3, &mut first);
        signal(&first, "TERM");
        std::thread::sleep(Duration::from_millis(20));
        signal(&first, "TERM");
        wait(&mut first, "policy run after two signals")
    });
    assert_eq!(status.code(), Some(143), "{}", stderr_of(&log));
    emulator.set_latency(None);
    let mut again = bot(&emulator, &[SUB], &policy, &audit, &log, &["--once"]);
    let status = tokio::task::block_in_place(|| wait(&mut again, "policy run --once"));
    assert!(status.success(), "{}", stderr_of(&log));
    let lines = trail(&audit);
    let paired = Paired::of(&lines);
    assert_eq!((paired.open(), paired.settled_twice(), paired.orphans.len()), (0, 0, 0), "{lines:?}");
    let records = recorded(&emulator);
    assert_eq!(records.len(), 10);
    assert!(
        paired
            .outcomes()
            .all(|(_, decision, line)| { agrees(line, decision, records.get(line["request"].as_str().unwrap())) })
    );
    std::fs::remove_dir_all(dir).ok();
}

/// An intent line written by hand for each case a kill can leave, then one start: each is settled, by reading
/// its request, before anything new is decided.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_start_settles_each_open_intent_before_deciding_anything() {
    let emulator = emulator().await;
    let pending = request(&emulator, SUB, "approve-me");
    let landed = request(&emulator, SUB, "approve-me");
    let by_a_person = request(&emulator, SUB, "deny-me");
    let expiring = NewLockboxRequest { expires_in: Duration::from_secs(60), ..NewLockboxRequest::default() };
    let expired = emulator.create_request(SUB, expiring);
    let fresh = request(&emulator, SUB, "approve-me");
    let dir = tempdir("recovery");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    // The bot's call for `landed` took effect before it was killed; a person approved `by_a_person`, which the
    // bot meant to deny; `expired` expired.
    for (id, reason) in [(&landed, "ok by a"), (&by_a_person, "a person")] {
        let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
            .args(["--emulator", "--endpoint", emulator.url().as_str(), "--subscription", SUB])
            .args(["requests", "approve", id, "--reason", reason, "--yes"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    emulator.advance_clock(Duration::from_secs(120));
    let intent = |id: &str, decision: &str, n: usize| {
        format!(
            "{{\"version\":1,\"time\":\"2026-12-07T05:00:0{n}Z\",\"intent\":\"intent-{n}\",\"request\":\"{id}\",\
             \"subscription\":\"{SUB}\",\"rule\":\"r\",\"decision\":\"{decision}\",\"reason\":\"x\",\"dryRun\":false,\
             \"outcome\":\"sending\",\"reconciled\":false}}\n"
        )
    };
    // The last line is torn, as a kill while writing leaves it.
    let text = [intent(&pending, "approve", 1), intent(&landed, "approve", 2), intent(&by_a_person, "deny", 3)]
        .concat()
        + &intent(&expired, "approve", 4)
        + "{\"version\":1,\"time\":\"2026-12";
    std::fs::write(&audit, text).unwrap();
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &["--once"]);
    let status = tokio::task::block_in_place(|| wait(&mut bot, "policy run --once"));
    let stderr = stderr_of(&log);
    assert!(status.success(), "{stderr}");
    let lines = trail(&audit);
    let settled: Vec<(&str, &str, bool)> = lines[4..8]
        .iter()
        .map(|l| (l["request"].as_str().unwrap(), l["outcome"].as_str().unwrap(), l["reconciled"] == true))
        .collect();
    assert_eq!(
        settled,
        // `pending` last: a request that reads `Pending` is read again a second later before it is settled.
        [
            (landed.as_str(), "decided, by this bot or another", true),
            (by_a_person.as_str(), "decided by another", true),
            (expired.as_str(), "expired", true),
            (pending.as_str(), "not sent", true),
        ],
        "{stderr}"
    );
    assert!(matches!(lines[4]["currentStatus"].as_str(), Some("Approving" | "Approved")), "{}", lines[4]);
    // Then the pass: `pending` decided afresh, and `fresh`.
    let decided: Vec<(&str, &str)> = lines[8..]
        .iter()
        .filter(|l| l["outcome"] != "sending")
        .map(|l| (l["request"].as_str().unwrap(), l["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(decided, [(pending.as_str(), "approved"), (fresh.as_str(), "approved")]);
    let paired = Paired::of(&lines);
    assert_eq!((paired.open(), paired.settled_twice(), paired.orphans.len()), (0, 0, 0));
    assert!(stderr.contains("4 open intents settled"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}

/// A decision whose outcome came out unknown (the connection dropped after the service recorded it, and the
/// reads that would have told were refused) stays open: the next pass reads the request and settles it, and
/// sends nothing again.
#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_unknown_is_settled_at_the_next_pass_without_a_second_decision() {
    use azure_customer_lockbox_emulator::{Fault, Operation};
    let emulator = emulator().await;
    let id = request(&emulator, SUB, "approve-me");
    emulator.inject(Fault::drop_connection().after_commit().on(Operation::RequestsUpdateStatus));
    emulator.inject(Fault::status(403).on(Operation::RequestsGet).times(5));
    let dir = tempdir("unknown");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &["--interval", "50ms"]);
    let status = tokio::task::block_in_place(|| {
        let deadline = std::time::Instant::now() + RUN_LIMIT;
        while !trail(&audit).iter().any(|l| l["reconciled"] == true && l["outcome"] != "outcome unknown") {
            assert!(std::time::Instant::now() < deadline, "not settled in time: {}", stderr_of(&log));
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(&bot, "TERM");
        wait(&mut bot, "policy run after SIGTERM")
    });
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&log));
    let outcomes: Vec<(String, bool)> = trail(&audit)
        .iter()
        .filter(|l| l["outcome"] != "sending")
        .map(|l| (l["outcome"].as_str().unwrap().to_owned(), l["reconciled"] == true))
        .collect();
    let settled = ("decided, by this bot or another".to_owned(), true);
    assert_eq!(outcomes, [("outcome unknown".to_owned(), false), settled], "{}", stderr_of(&log));
    let posts: Vec<(String, u64)> = emulator.decision_posts().into_iter().map(|p| (p.request_id, p.received)).collect();
    assert_eq!(posts, [(id, 1)]);
    let paired = Paired::of(&trail(&audit));
    assert_eq!((paired.intents.len(), paired.open(), paired.settled_twice()), (1, 0, 0));
    std::fs::remove_dir_all(dir).ok();
}

/// A dry run sends nothing, and settles nothing either: it says how many intents it leaves open.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_leaves_open_intents_to_the_next_run_that_decides() {
    let emulator = emulator().await;
    let id = request(&emulator, SUB, "approve-me");
    let dir = tempdir("dry-open");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    let intent = format!(
        "{{\"version\":1,\"time\":\"2026-12-07T05:00:00Z\",\"intent\":\"i\",\"request\":\"{id}\",\"subscription\":\
         \"{SUB}\",\"rule\":\"r\",\"decision\":\"approve\",\"reason\":\"x\",\"dryRun\":false,\"outcome\":\"sending\"}}\n"
    );
    std::fs::write(&audit, &intent).unwrap();
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &["--once", "--dry-run"]);
    let status = tokio::task::block_in_place(|| wait(&mut bot, "policy run --once --dry-run"));
    let stderr = stderr_of(&log);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("1 intents in the audit trail have no outcome; a dry run leaves them"), "{stderr}");
    let outcomes: Vec<String> = trail(&audit).iter().map(|l| l["outcome"].as_str().unwrap().to_owned()).collect();
    assert_eq!(outcomes, ["sending", "not decided (dry run)"]);
    assert!(emulator.decision_posts().is_empty() && emulator.decisions().is_empty());
    std::fs::remove_dir_all(dir).ok();
}
