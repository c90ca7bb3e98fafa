//! No panics from durations, whoever supplies them (issue 14 B): a server's `Retry-After` and friends, and every
//! duration option a caller sets, are only added, multiplied or slept on checked or saturating. Extreme values
//! end in a result or a typed error, never in "overflow when adding duration to instant".
//!
//! On tokio's paused clock, so that a wait of `Duration::MAX` (tokio sleeps it until its far future) costs
//! nothing: the runtime jumps to the next timer.

use std::time::{Duration, SystemTime};

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, Error,
    options::{DecisionOptions, ExponentialRetries, FixedRetries, Retries, WaiterOptions, WatchOptions},
};
use proptest::prelude::*;
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

const ENABLE: &str = "/providers/Microsoft.CustomerLockbox/enableLockbox";

fn request_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1")
}

/// A client for the paused clock (no timers of the HTTP client's own) with these retry and timeout options.
fn client_with(
    uri: &str,
    retry: Retries,
    per_try_timeout: Option<Duration>,
    timeout: Option<Duration>,
) -> CustomerLockboxClient {
    TestClient::new(uri).retry(retry).per_try_timeout(per_try_timeout).timeout(timeout).paused_clock().build()
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap()
}

fn pending() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", "Pending"))
}

fn approved() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", "Approved"))
}

/// `Retry-After: u64::MAX` on a 202, with a poller timeout: the wait is cut at the timeout, not added to now.
/// The first poll would come after the timeout, so none is sent.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_on_a_202_with_a_poller_timeout_times_out() {
    let server = mock_server().await;
    let accepted = ResponseTemplate::new(202)
        .insert_header("Azure-AsyncOperation", format!("{}/op", server.uri()).as_str())
        .insert_header("Retry-After", "18446744073709551615");
    Mock::given(method("POST")).and(path(ENABLE)).respond_with(accepted).mount(&server).await;
    let running = ResponseTemplate::new(200)
        .insert_header("Retry-After", "18446744073709551615")
        .set_body_json(json!({"id": "op", "name": "op", "status": "Running"}));
    Mock::given(method("GET")).and(path("/op")).respond_with(running).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None, None);
    let options = WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(30)) };
    let started = tokio::time::Instant::now();
    match client.tenant().begin_enable(None).with_options(options).await {
        Err(Error::Timeout { elapsed, last_status, .. }) => {
            assert_eq!(elapsed, Duration::from_secs(30));
            assert_eq!(last_status, "none seen");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    let polls = server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == "/op").count();
    assert_eq!(polls, 0);
}

/// `WaiterOptions { timeout: Some(Duration::MAX) }` is a timeout that never comes, not an overflow.
#[tokio::test(start_paused = true)]
async fn wait_for_decision_with_the_longest_timeout_finishes() {
    let server = mock_server().await;
    let answers = Sequence::new(vec![pending(), approved()]);
    Mock::given(method("GET")).and(path(request_path())).respond_with(answers).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None, None);
    let options = WaiterOptions { frequency: Duration::from_secs(5), timeout: Some(Duration::MAX) };
    let requests = client.requests(SUB).unwrap();
    let request = requests.wait_for_decision("req-1", Some(options.clone())).unwrap().await.unwrap();
    assert_eq!(request.status().map(|s| s.to_string()).as_deref(), Some("Approved"));
}

/// An absurd `initial_delay` is a long wait (capped by `max_delay`, then the budget), not a panic in the
/// jitter's multiplication.
#[tokio::test(start_paused = true)]
async fn an_absurd_initial_delay_waits_within_the_budget() {
    let server = mock_server().await;
    let retry = Retries::Exponential(ExponentialRetries {
        initial_delay: Duration::MAX,
        max_delay: Duration::MAX,
        max_total_elapsed: Duration::MAX,
        ..Default::default()
    });
    let client = client_with(&server.uri(), retry, None, None);
    // The jitter factor is drawn in [0.8, 1.3): only a factor above 1 overflows an unchecked product, so the
    // call is made often enough that one such draw is all but certain (1 - 0.4^12).
    for _ in 0..12 {
        server.reset().await;
        let answers = Sequence::new(vec![ResponseTemplate::new(503), approved()]);
        Mock::given(method("GET")).and(path(request_path())).respond_with(answers).mount(&server).await;
        let request = client.requests(SUB).unwrap().get("req-1", None).await.unwrap();
        assert_eq!(request.status().map(|s| s.to_string()).as_deref(), Some("Approved"));
    }
    // The same with the default cap: the wait is max_delay (60 s), and the call still succeeds.
    let answers = Sequence::new(vec![ResponseTemplate::new(503), approved()]);
    server.reset().await;
    Mock::given(method("GET")).and(path(request_path())).respond_with(answers).mount(&server).await;
    let retry = Retries::Exponential(ExponentialRetries {
        initial_delay: Duration::MAX,
        max_total_elapsed: Duration::from_secs(120),
        ..Default::default()
    });
    let client = client_with(&server.uri(), retry, None, None);
    let started = tokio::time::Instant::now();
    client.requests(SUB).unwrap().get("req-1", None).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(60) && waited < Duration::from_secs(61), "{waited:?}");
}

// ---- property test: extreme values everywhere ----

/// Durations at the edges: zero, one nanosecond, a second, `u64::MAX` seconds, `Duration::MAX`, and any.
fn extreme_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(Duration::from_secs(1)),
        Just(Duration::from_secs(u64::MAX)),
        Just(Duration::MAX),
        any::<u64>().prop_map(Duration::from_nanos),
        any::<u64>().prop_map(Duration::from_secs),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn http_date(secs_since_epoch: u64) -> String {
    httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs_since_epoch))
}

/// Values a server may put in a wait header: numbers at the edges, negative and fractional ones, HTTP-dates far
/// in the past and the future, and garbage.
fn header_value() -> impl Strategy<Value = String> {
    // 9999-12-31T23:59:59Z, the last instant an HTTP-date can name.
    const LAST_DATE: u64 = 253_402_300_799;
    prop_oneof![
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just(u64::MAX.to_string()),
        Just("18446744073709551616".to_owned()),
        Just(i64::MIN.to_string()),
        Just("-1".to_owned()),
        Just("1.5".to_owned()),
        Just("1e308".to_owned()),
        Just("NaN".to_owned()),
        Just("".to_owned()),
        Just(http_date(0)),
        Just(http_date(LAST_DATE)),
        Just("Mon, 01 Jan 0001 00:00:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        (0..=LAST_DATE).prop_map(http_date),
    ]
}

fn header_name() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("x-ms-retry-after-ms"), Just("retry-after-ms"), Just("Retry-After")]
}

fn retry_options() -> impl Strategy<Value = Retries> {
    prop_oneof![
        Just(Retries::None),
        (0u32..5, extreme_duration(), extreme_duration(), extreme_duration(), any::<bool>()).prop_map(
            |(max_retries, initial_delay, max_delay, max_total_elapsed, jitter)| {
                Retries::Exponential(ExponentialRetries {
                    max_retries,
                    initial_delay,
                    max_delay,
                    max_total_elapsed,
                    jitter,
                })
            }
        ),
        (0u32..5, extreme_duration(), extreme_duration()).prop_map(|(max_retries, delay, max_total_elapsed)| {
            Retries::Fixed(FixedRetries { max_retries, delay, max_total_elapsed })
        }),
    ]
}

/// A typed outcome: anything but a panic passes; a panic fails the property (proptest reports it).
fn typed<T>(result: Result<T, Error>) {
    if let Err(error) = result {
        let _ = (error.to_string(), format!("{error:?}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every retry header, on a 503 then a 429, with any retry, per-try and call timeout options.
    #[test]
    fn retry_headers_and_retry_options_never_panic(
        name in header_name(),
        value in header_value(),
        retry in retry_options(),
        per_try_timeout in proptest::option::of(extreme_duration()),
        timeout in proptest::option::of(extreme_duration()),
    ) {
        paused_runtime().block_on(async {
            let server = mock_server().await;
            let wait = |status| ResponseTemplate::new(status).insert_header(name, value.as_str());
            let answers = Sequence::new(vec![wait(503), wait(429), approved()]);
            Mock::given(method("GET")).and(path(request_path())).respond_with(answers).mount(&server).await;
            let client = client_with(&server.uri(), retry, per_try_timeout, timeout);
            typed(client.requests(SUB).unwrap().get("req-1", None).await);
        });
    }

    /// The poller's `Retry-After` (on the 202 and on each poll) with any poller options.
    #[test]
    fn poller_retry_after_and_options_never_panic(
        value in header_value(),
        frequency in extreme_duration(),
        timeout in proptest::option::of(extreme_duration()),
        per_try_timeout in proptest::option::of(extreme_duration()),
    ) {
        paused_runtime().block_on(async {
            let server = mock_server().await;
            let accepted = ResponseTemplate::new(202)
                .insert_header("Azure-AsyncOperation", format!("{}/op", server.uri()).as_str())
                .insert_header("Retry-After", value.as_str());
            Mock::given(method("POST")).and(path(ENABLE)).respond_with(accepted).mount(&server).await;
            let status = |s: &str| ResponseTemplate::new(200)
                .insert_header("Retry-After", value.as_str())
                .set_body_json(json!({"id": "op", "name": "op", "status": s}));
            let polls = Sequence::new(vec![status("Running"), status("Running"), status("Succeeded")]);
            Mock::given(method("GET")).and(path("/op")).respond_with(polls).mount(&server).await;
            let client = client_with(&server.uri(), Retries::None, per_try_timeout, None);
            let options = WaiterOptions { frequency, timeout };
            typed(client.tenant().begin_enable(Some(options.clone())).await);
            // The decision poller: wait_for_decision, and a decision that waits until final, the same options.
            let answers = Sequence::new(vec![pending(), pending(), approved()]);
            Mock::given(method("GET")).and(path(request_path())).respond_with(answers).mount(&server).await;
            let requests = client.requests(SUB).unwrap();
            match requests.wait_for_decision("req-1", Some(options.clone())) {
                Ok(poller) => typed(poller.await),
                Err(error) => typed::<()>(Err(error)),
            }
            let decided = ResponseTemplate::new(200).set_body_json(json!({"status": "Approve"}));
            Mock::given(method("POST")).and(path(format!("{}/updateApproval", request_path())))
                .respond_with(decided).mount(&server).await;
            let until_final = DecisionOptions { until_final: Some(options), ..Default::default() };
            typed(requests.approve("req-1", "ok", Some(until_final)).await);
        });
    }

    /// The watch's interval and backoff cap, through failing listings (each one doubles the wait) and a good one.
    #[test]
    fn watch_durations_never_panic(
        interval in extreme_duration(),
        max_backoff in extreme_duration(),
        jitter in prop_oneof![Just(0.0), Just(1.0), Just(-1.0), Just(f64::NAN), Just(f64::INFINITY), any::<f64>()],
    ) {
        paused_runtime().block_on(async {
            let server = mock_server().await;
            let list = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests");
            let page = ResponseTemplate::new(200)
                .set_body_json(json!({"value": [request_json(SUB, "req-1", "Pending")]}));
            let answers = Sequence::new(vec![
                ResponseTemplate::new(500), ResponseTemplate::new(500), ResponseTemplate::new(500), page,
            ]);
            Mock::given(method("GET")).and(path(list)).respond_with(answers).mount(&server).await;
            let client = client_with(&server.uri(), Retries::None, None, None);
            let options = WatchOptions { interval, max_backoff, jitter, max_consecutive_failures: 1, ..Default::default() };
            // On loopback (the mock server), any interval is taken.
            let mut watch = client.requests(SUB).unwrap().watch(Some(options)).unwrap();
            for _ in 0..3 {
                prop_assert!(watch.try_next().await.is_err(), "each failed listing is yielded");
            }
            let id = watch.try_next().await.ok().flatten().and_then(|e| e.request_id().map(str::to_owned));
            prop_assert_eq!(id.as_deref(), Some("req-1"));
            Ok(())
        })?;
    }
}

/// `StaticTokenCredential::with_lifetime` is a duration option too: any lifetime gives a token, and a client
/// with it works (a lifetime past the last representable date is a token that never expires, not a panic).
#[tokio::test(start_paused = true)]
async fn any_static_token_lifetime_gives_a_token() {
    use azure_core::credentials::TokenCredential;
    let server = mock_server().await;
    Mock::given(method("GET")).and(path(request_path())).respond_with(approved()).mount(&server).await;
    let lifetimes = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_secs(1),
        Duration::from_secs(i64::MAX as u64),
        Duration::from_secs(u64::MAX),
        Duration::MAX,
    ];
    for lifetime in lifetimes {
        let credential = azure_customer_lockbox::StaticTokenCredential::with_lifetime(TOKEN, lifetime);
        let token = credential.get_token(&["scope"], None).await.unwrap();
        assert_eq!(token.token.secret(), TOKEN);
        if lifetime >= Duration::from_secs(1) {
            assert!(token.expires_on > azure_core::time::OffsetDateTime::now_utc(), "{lifetime:?}");
        }
        let client = TestClient::new(server.uri()).per_try_timeout(None).paused_clock().credential(credential).build();
        client.requests(SUB).unwrap().get("req-1", None).await.unwrap();
    }
}

// ---- the tenant-wide calls (issue 24): the shared throttling gate and the refresh of the tenant watch ----

const SUB_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn requests_path(subscription: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests")
}

/// `Retry-After: u64::MAX` on a `429` under the shared throttling gate of `all_requests` and `find_request`:
/// the gate holds the other subscriptions at most as long as the retry policy waits for one (its `max_delay`),
/// and is not an overflow when added to now.
#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_under_the_shared_throttling_gate_is_capped_not_an_overflow() {
    use azure_customer_lockbox::{
        every_subscription::{AllRequestsItem, FailureKind},
        options::AllRequestsOptions,
    };
    let server = mock_server().await;
    let throttled = ResponseTemplate::new(429).insert_header("Retry-After", "18446744073709551615");
    Mock::given(method("GET")).and(path(requests_path(SUB))).respond_with(throttled.clone()).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{}/req-1", requests_path(SUB))))
        .respond_with(throttled)
        .mount(&server)
        .await;
    let page = ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(SUB_B, "b1", "Pending")]}));
    Mock::given(method("GET")).and(path(requests_path(SUB_B))).respond_with(page).mount(&server).await;
    let not_here = ResponseTemplate::new(404)
        .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "no such request"}}));
    Mock::given(method("GET"))
        .and(path(format!("{}/req-1", requests_path(SUB_B))))
        .respond_with(not_here)
        .mount(&server)
        .await;
    let client = client_with(&server.uri(), Retries::default(), None, None);
    let both = || AllRequestsOptions {
        subscriptions: Some(vec![SUB.into(), SUB_B.into()]),
        concurrency: 1,
        ..Default::default()
    };

    let started = tokio::time::Instant::now();
    let mut listing = client.all_requests(Some(both())).unwrap();
    let mut items = Vec::new();
    while let Some(item) = listing.try_next().await.unwrap() {
        items.push(match item {
            AllRequestsItem::Request(r) => format!("{} {}", r.subscription_id, r.request.name.unwrap()),
            AllRequestsItem::Failed(f) => format!("{} failed {:?}", f.subscription_id, f.kind),
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(items, [format!("{SUB} failed {:?}", FailureKind::Throttled), format!("{SUB_B} b1")]);
    assert_eq!(listing.summary().throttled, 1);
    // The second subscription waited for the gate, as long as the policy's longest wait and no longer.
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(60) && waited < Duration::from_secs(61), "{waited:?}");

    let started = tokio::time::Instant::now();
    match client.find_request("req-1", Some(both())).await {
        Err(error) => assert_eq!(error.retry_after(), Some(Duration::from_secs(u64::MAX)), "{error}"),
        other => panic!("{other:?}"),
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(60) && waited < Duration::from_secs(61), "{waited:?}");
}

/// `AllRequestsWatchOptions { refresh: Duration::MAX }`: the subscriptions are read once and never again, not an
/// overflow when the next reading is scheduled.
#[tokio::test(start_paused = true)]
async fn a_tenant_watch_with_the_longest_refresh_reads_the_subscriptions_once() {
    use azure_customer_lockbox::{every_subscription::AllRequestsWatchEvent, options::AllRequestsWatchOptions};
    let server = mock_server().await;
    let none = ResponseTemplate::new(200).set_body_json(json!({"value": []}));
    Mock::given(method("GET")).and(path("/subscriptions")).respond_with(none).mount(&server).await;
    let client = client_with(&server.uri(), Retries::None, None, None);
    let options = AllRequestsWatchOptions { refresh: Duration::MAX, ..Default::default() };
    let mut watch = client.watch_all_requests(Some(options)).unwrap();
    assert!(matches!(watch.try_next().await, Ok(Some(AllRequestsWatchEvent::NoSubscriptions))));
    // A year later, still one reading: the next is due in the far future.
    let next = tokio::time::timeout(Duration::from_secs(365 * 86_400), watch.try_next()).await;
    assert!(next.is_err(), "{next:?}");
    let readings = server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == "/subscriptions");
    assert_eq!(readings.count(), 1);
}
