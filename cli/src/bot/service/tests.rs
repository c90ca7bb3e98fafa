//! The health verdicts as tables of states and times, the metrics' text, and the notification key.

use std::time::{Duration, Instant};

use super::{
    ErrorKind,
    health::{self, State},
    metrics::Metrics,
    notify::idempotency_key,
};

const INTERVAL: Duration = Duration::from_secs(30);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn readiness_needs_a_token_and_a_successful_pass_within_three_intervals() {
    let t0 = Instant::now();
    let ok = |at: u64| Some((t0 + secs(at), Ok(())));
    let succeeded = |at: u64| State { last_pass: ok(at), last_success: Some(t0 + secs(at)), ..State::default() };
    // Each row: its name, the state, whether a token was obtained, the second asked at, the answer.
    type Row<'a> = (&'a str, State, bool, u64, Result<(), &'a str>);
    let table: Vec<Row<'_>> = vec![
        ("at start", State::default(), false, 0, Err("no token obtained yet")),
        ("token, no pass yet", State::default(), true, 5, Err("no pass has finished yet")),
        ("a pass ok, no token", succeeded(10), false, 10, Err("no token obtained yet")),
        ("a pass ok just now", succeeded(10), true, 10, Ok(())),
        ("three intervals later", succeeded(10), true, 100, Ok(())),
        (
            "just over three intervals",
            succeeded(10),
            true,
            101,
            Err("the last successful pass ended 91 s ago, more than three intervals (90 s)"),
        ),
        (
            "the last pass failed",
            State {
                last_pass: Some((t0 + secs(40), Err("exit status 4".into()))),
                last_success: Some(t0 + secs(10)),
                ..State::default()
            },
            true,
            41,
            Err("the last pass failed: exit status 4"),
        ),
        (
            "failed, never succeeded",
            State { last_pass: Some((t0 + secs(1), Err("exit status 5".into()))), ..State::default() },
            true,
            2,
            Err("the last pass failed: exit status 5"),
        ),
        ("stopping", State { stopping: true, ..succeeded(10) }, true, 11, Err("the bot is stopping")),
    ];
    for (name, state, token, at, expected) in table {
        let verdict = health::readiness(&state, token, t0 + secs(at), INTERVAL);
        assert_eq!(verdict.as_ref().map_err(String::as_str), expected.as_ref().map_err(|e| *e), "{name}");
    }
}

#[test]
fn liveness_holds_while_the_loop_runs_and_shows_life_within_the_stall_bound() {
    let t0 = Instant::now();
    let life = |at: u64| State { last_life: Some(t0 + secs(at)), ..State::default() };
    assert_eq!(health::stall_bound(INTERVAL), secs(300));
    assert_eq!(health::stall_bound(secs(600)), secs(1800));
    let table: Vec<(&str, State, u64, Result<(), String>)> = vec![
        ("before the first pass", State::default(), 1000, Ok(())),
        ("life just now", life(10), 10, Ok(())),
        ("quiet for the bound", life(10), 310, Ok(())),
        ("quiet past the bound", life(10), 311, Err("the bot's loop has shown no sign of life for 301 s".into())),
        ("stopping but alive", State { stopping: true, ..life(10) }, 11, Ok(())),
        ("ended", State { ended: true, ..life(10) }, 11, Err("the bot's loop has ended".into())),
    ];
    for (name, state, at, expected) in table {
        assert_eq!(health::liveness(&state, t0 + secs(at), INTERVAL), expected, "{name}");
    }
}

#[test]
fn the_metrics_text_has_every_family_with_its_labels() {
    let metrics = Metrics::default();
    let fresh = metrics.encode();
    // Every error kind and notification result is there from the start, at 0.
    for kind in ErrorKind::ALL {
        assert!(fresh.contains(&format!("lockbox_policy_errors_total{{kind=\"{}\"}} 0", kind.label())), "{fresh}");
    }
    assert!(fresh.contains("lockbox_policy_last_success_timestamp_seconds 0"), "{fresh}");
    metrics.decided("approved", "read-only-in-hours");
    metrics.decided("approved", "read-only-in-hours");
    metrics.decided("left for a human", "default");
    metrics.left_for_person();
    metrics.settled("not sent");
    metrics.error(ErrorKind::OutcomeUnknown);
    metrics.pass_finished(0.2, Some(1_700_000_000.5));
    metrics.notified(true);
    let text = metrics.encode();
    for line in [
        "lockbox_policy_decisions_total{outcome=\"approved\",rule=\"read-only-in-hours\"} 2",
        "lockbox_policy_decisions_total{outcome=\"left for a human\",rule=\"default\"} 1",
        "lockbox_policy_left_for_person_total 1",
        "lockbox_policy_intents_settled_total{outcome=\"not sent\"} 1",
        "lockbox_policy_errors_total{kind=\"outcome_unknown\"} 1",
        "lockbox_policy_pass_duration_seconds_count 1",
        "lockbox_policy_pass_duration_seconds_bucket{le=\"0.4\"} 1",
        "lockbox_policy_last_success_timestamp_seconds 1700000000.5",
        "lockbox_policy_notifications_total{result=\"delivered\"} 1",
        "# TYPE lockbox_policy_pass_duration_seconds histogram",
        "# EOF",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
}

#[test]
fn the_idempotency_key_is_the_subscription_and_request_whatever_their_case() {
    let key = idempotency_key("6A1D3F1E-93b4-4c53-9a37-2f0c5d8e7b21", "5A3B0000-0c1d-4e2f-8a9b-000000000004");
    assert_eq!(
        key,
        "lockbox-left-for-person:6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21:5a3b0000-0c1d-4e2f-8a9b-000000000004"
    );
    assert_ne!(key, idempotency_key("6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21", "5a3b0000-0c1d-4e2f-8a9b-000000000005"));
}
