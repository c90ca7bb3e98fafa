//! Where the bot's loop (signals, recovery) meets what it shows as a service (`--listen`): a signal in a pass
//! turns `/readyz` to 503 while every intent still gets its outcome, and an intent settled at a restart shows in
//! `/metrics`. Each test runs the binary against an emulator in this process.

mod botkit;

use std::{
    path::Path,
    process::{Child, Command},
    time::{Duration, Instant},
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
use botkit::*;

/// The base URL the bot serves its endpoints on, as it says on stderr (`--listen 127.0.0.1:0`).
fn endpoints(log: &Path, child: &mut Child) -> String {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        let stderr = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(at) = stderr.find(" on http://") {
            let rest = &stderr[at + " on ".len()..];
            return rest.lines().next().unwrap().trim().to_owned();
        }
        assert!(child.try_wait().unwrap().is_none(), "the bot ended before it served: {stderr}");
        assert!(Instant::now() < deadline, "the bot never said where it serves: {stderr}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `GET base+path`: its status and body.
fn get(base: &str, path: &str) -> (u16, String) {
    let url = format!("{base}{path}");
    tokio::runtime::Handle::current().block_on(async move {
        let answer = reqwest::get(url).await.unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    })
}

/// Asks `path` until `done` holds for its answer, at most [`RUN_LIMIT`]; the bot must not end meanwhile.
fn until(base: &str, path: &str, child: &mut Child, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        assert!(child.try_wait().unwrap().is_none(), "the bot ended before {path} answered as expected");
        let (status, body) = get(base, path);
        if done(status, &body) {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "{path} never answered as expected; last: {status} {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of the metric line that starts with `series ` (its name and labels), 0 when there is none.
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(&format!("{series} ")))
        .map_or(0.0, |line| line.rsplit(' ').next().unwrap().parse().unwrap())
}

/// SIGTERM while a decision is in flight, with `--listen` on: from the signal on `/readyz` answers 503 "the bot
/// is stopping" (a load balancer sends it nothing more) while `/healthz` stays 200; the decision in flight still
/// ends with its outcome line, no new request is taken, and the bot exits 0. `/metrics` counted each outcome.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_in_a_pass_turns_readyz_to_stopping_and_every_intent_still_gets_its_outcome() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let ids: Vec<String> = (0..20).map(|_| request(&emulator, SUB, "approve-me")).collect();
    let dir = tempdir("observed-signal");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    // Each answer takes 2 s: the decision in flight when the signal comes is still out when it is handled, and
    // /readyz is asked in that time.
    emulator.set_latency(Some(Duration::from_secs(2)..=Duration::from_secs(2)));
    let args = ["--interval", "1s", "--listen", "127.0.0.1:0"];
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &args);
    let (status, intents_before, metrics) = tokio::task::block_in_place(|| {
        let base = endpoints(&log, &mut bot);
        assert_eq!(get(&base, "/healthz").0, 200);
        wait_for_lines(&audit, 1, &mut bot);
        let intents_before = trail(&audit).iter().filter(|l| l["outcome"] == "sending").count();
        signal(&bot, "TERM");
        let (_, ready) = until(&base, "/readyz", &mut bot, |status, _| status == 503);
        assert_eq!(ready.trim(), "the bot is stopping");
        assert_eq!(get(&base, "/healthz"), (200, "ok\n".to_owned()));
        let metrics = get(&base, "/metrics").1;
        (wait(&mut bot, "policy run after SIGTERM"), intents_before, metrics)
    });
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let lines = trail(&audit);
    let paired = Paired::of(&lines);
    assert_eq!((paired.open(), paired.settled_twice(), paired.orphans.len()), (0, 0, 0), "{lines:?}");
    assert!(paired.intents.len() <= intents_before + 1, "{} intents after the signal", paired.intents.len());
    assert!(paired.intents.len() < ids.len());
    let records = recorded(&emulator);
    assert_eq!(records.len(), paired.intents.len(), "each intent's decision, and no other");
    assert!(paired.outcomes().all(|(_, decision, line)| agrees(
        line,
        decision,
        records.get(line["request"].as_str().unwrap())
    )));
    // The outcomes written before /metrics was asked were counted, by the audit's outcome and the rule.
    let approved_before = value(&metrics, r#"lockbox_policy_decisions_total{outcome="approved",rule="approve"}"#);
    assert!(approved_before >= (intents_before - 1) as f64, "{metrics}");
    assert!(approved_before <= paired.intents.len() as f64, "{metrics}");
    std::fs::remove_dir_all(dir).ok();
}

/// A restart settles the intent a kill left open (its request was decided meanwhile), and `/metrics` shows it:
/// `lockbox_policy_intents_settled_total` and the decisions counted by the outcome written.
#[tokio::test(flavor = "multi_thread")]
async fn an_intent_settled_at_a_restart_shows_in_the_metrics() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let landed = request(&emulator, SUB, "approve-me");
    let dir = tempdir("observed-recovery");
    let (audit, log) = (dir.join("audit.jsonl"), dir.join("stderr"));
    // The bot's call took effect, then a kill took its answer and its outcome line.
    let out = Command::new(env!("CARGO_BIN_EXE_lockbox"))
        .args(["--emulator", "--endpoint", emulator.url().as_str(), "--subscription", SUB])
        .args(["requests", "approve", &landed, "--reason", "by a", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let intent = format!(
        "{{\"version\":1,\"time\":\"2026-12-07T05:00:00Z\",\"intent\":\"intent-1\",\"request\":\"{landed}\",\
         \"subscription\":\"{SUB}\",\"rule\":\"approve\",\"decision\":\"approve\",\"reason\":\"x\",\"dryRun\":false,\
         \"outcome\":\"sending\",\"reconciled\":false}}\n"
    );
    std::fs::write(&audit, intent).unwrap();
    let args = ["--interval", "1s", "--listen", "127.0.0.1:0"];
    let mut bot = bot(&emulator, &[SUB], &policy(&dir, "a"), &audit, &log, &args);
    let (status, metrics) = tokio::task::block_in_place(|| {
        let base = endpoints(&log, &mut bot);
        until(&base, "/readyz", &mut bot, |status, _| status == 200);
        let metrics = get(&base, "/metrics").1;
        signal(&bot, "TERM");
        (wait(&mut bot, "policy run after SIGTERM"), metrics)
    });
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let outcome = "decided, by this bot or another";
    let settled = format!(r#"lockbox_policy_intents_settled_total{{outcome="{outcome}"}}"#);
    assert_eq!(value(&metrics, &settled), 1.0, "{metrics}");
    let decided = format!(r#"lockbox_policy_decisions_total{{outcome="{outcome}",rule="approve"}}"#);
    assert_eq!(value(&metrics, &decided), 1.0, "{metrics}");
    let lines = trail(&audit);
    assert_eq!((lines[1]["outcome"].as_str(), lines[1]["reconciled"].as_bool()), (Some(outcome), Some(true)));
    assert_eq!(Paired::of(&lines).open(), 0);
    std::fs::remove_dir_all(dir).ok();
}
