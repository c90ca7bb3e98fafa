//! `--listen`: `/healthz`, `/readyz` and `/metrics` answer as the README says.

use std::time::{Duration, Instant};

use azure_customer_lockbox_emulator::{Fault, Operation};

use crate::{RUN_LIMIT, Running, bot, emulator, finish, pending, text, workdir};

/// `GET base+path`: status, body and content type.
async fn get(base: &str, path: &str) -> (u16, String, String) {
    let answer = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = answer.status().as_u16();
    let kind = answer.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, answer.text().await.unwrap(), kind)
}

/// Asks `path` until `done` holds for its answer (a pass ends every interval), at most [`RUN_LIMIT`].
async fn until(base: &str, path: &str, done: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let limit = Instant::now() + RUN_LIMIT;
    loop {
        let (status, body, _) = get(base, path).await;
        if done(status, &body) {
            return (status, body);
        }
        assert!(Instant::now() < limit, "{path} never answered as expected; last: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the metric line that starts with `series ` (its name and labels).
fn value(metrics: &str, series: &str) -> f64 {
    let line = metrics.lines().find(|l| l.starts_with(&format!("{series} "))).unwrap_or_else(|| {
        panic!("no {series} in:\n{metrics}");
    });
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoints_say_alive_and_ready_and_the_metrics_count_each_outcome_by_rule() {
    let emulator = emulator().await;
    let dir = workdir("endpoints");
    pending(&emulator, "Storage Account", "read the logs");
    pending(&emulator, "Key Vault", "read the metadata");
    pending(&emulator, "Virtual Machine", "collect a memory dump");
    let audit = dir.join("audit.jsonl").display().to_string();
    let running =
        Running::start(bot(&emulator, &dir, &["--interval", "1s", "--listen", "127.0.0.1:0", "--audit", &audit]));
    let base = running.endpoints().await;
    let credential = running.line_with("lockbox: policy run: credential: ").await;
    assert!(credential.ends_with("credential: the standalone emulator's (any token)"), "{credential}");

    let (status, body, _) = get(&base, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // Ready once a token was obtained and a pass succeeded.
    let (_, body) = until(&base, "/readyz", |status, _| status == 200).await;
    assert_eq!(body, "ok\n");

    let (status, metrics, kind) = get(&base, "/metrics").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    for (series, expected) in [
        (r#"lockbox_policy_decisions_total{outcome="approved",rule="storage reads"}"#, 1.0),
        (r#"lockbox_policy_decisions_total{outcome="denied",rule="no memory dumps"}"#, 1.0),
        (r#"lockbox_policy_decisions_total{outcome="left for a human",rule="key vaults need a human"}"#, 1.0),
        ("lockbox_policy_left_for_person_total", 1.0),
        (r#"lockbox_policy_errors_total{kind="list"}"#, 0.0),
        (r#"lockbox_policy_errors_total{kind="decide"}"#, 0.0),
    ] {
        assert_eq!(value(&metrics, series), expected, "{series} in:\n{metrics}");
    }
    assert!(value(&metrics, "lockbox_policy_pass_duration_seconds_count") >= 1.0, "{metrics}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let last = value(&metrics, "lockbox_policy_last_success_timestamp_seconds");
    assert!(last > now - 600.0 && last <= now + 1.0, "last success at {last}, now {now}");

    let (status, _, _) = get(&base, "/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(emulator.decisions().len(), 2, "the approval and the denial");
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_is_503_with_the_reason_while_passes_fail_and_liveness_stays_200() {
    let emulator = emulator().await;
    let dir = workdir("not-ready");
    // Every listing is refused: every pass fails.
    emulator.inject(Fault::status(403).on(Operation::RequestsList).times(1_000_000));
    let running = Running::start(bot(&emulator, &dir, &["--interval", "1s", "--listen", "127.0.0.1:0"]));
    let base = running.endpoints().await;
    let (status, body) = until(&base, "/readyz", |_, body| body.contains("the last pass failed")).await;
    assert_eq!(status, 503);
    assert!(body.starts_with("the last pass failed: exit status "), "{body}");
    let (status, _, _) = get(&base, "/healthz").await;
    assert_eq!(status, 200, "failing passes are a readiness matter; the loop is alive");
    let (_, metrics, _) = get(&base, "/metrics").await;
    assert!(value(&metrics, r#"lockbox_policy_errors_total{kind="list"}"#) >= 1.0, "{metrics}");
    assert_eq!(value(&metrics, "lockbox_policy_last_success_timestamp_seconds"), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_that_cannot_be_listened_on_is_a_usage_error_before_anything_is_sent() {
    let emulator = emulator().await;
    let dir = workdir("taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = finish(bot(&emulator, &dir, &["--once", "--listen", &address])).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("--listen {address}: cannot listen there")), "{}", text(&out.stderr));
    assert_eq!(emulator.requests_received(), 0, "nothing is sent before the endpoints are up");
}
