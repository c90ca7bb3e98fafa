//! Backoff, retry decisions and retry hints.

use super::*;
use reqwest::header::HeaderValue;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

#[test]
fn retry_after_header_forms_and_priority() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    assert_eq!(retry_after(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
    assert_eq!(retry_after(&headers(&[("retry-after-ms", "1500")]), now), Some(Duration::from_millis(1500)));
    let all = headers(&[("retry-after", "9"), ("retry-after-ms", "200"), ("x-ms-retry-after-ms", "100")]);
    assert_eq!(retry_after(&all, now), Some(Duration::from_millis(100)));
    let http_date = |t: SystemTime| azure_core::time::to_rfc7231(&t.into());
    let date = http_date(now + Duration::from_secs(30));
    assert_eq!(retry_after(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(30)));
    let past = http_date(now - Duration::from_secs(30));
    assert_eq!(retry_after(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
}

#[test]
fn exponential_backoff_doubles_with_bounded_jitter_and_cap() {
    let policy = Retries::default();
    for retry in 1..=3 {
        let base = 0.8 * 2f64.powi(retry as i32 - 1);
        let low = policy.backoff(retry, 0.0).as_secs_f64();
        let high = policy.backoff(retry, 1.0).as_secs_f64();
        assert!((low - base * 0.8).abs() < 1e-9, "retry {retry}: {low}");
        assert!((high - base * 1.3).abs() < 1e-9, "retry {retry}: {high}");
    }
    assert_eq!(policy.backoff(20, 0.5), Duration::from_secs(60));
}

#[test]
fn classification() {
    for s in [408, 429, 500, 502, 503, 504] {
        assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()));
    }
    for s in [400, 401, 403, 404, 409, 412, 501] {
        assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()));
    }
}

/// The retry decision, case by case (as azure_core tests its retry policy): what a try came to, how much
/// of the policy is used, and what follows.
#[test]
fn next_after_a_try() {
    use Next::{Retry, Stop as S};
    let ms = Duration::from_millis;
    let secs = Duration::from_secs;
    let fixed = Retries::Fixed(FixedRetries { max_retries: 3, delay: secs(1), max_total_elapsed: secs(10) });
    let answered = |status: u16, retry_after: Option<Duration>| Try::Answered {
        status: StatusCode::from_u16(status).unwrap(),
        retry_after,
    };
    let used = |tries, elapsed| Used { tries, elapsed };
    #[rustfmt::skip]
    let cases: &[(&str, &Retries, Try, bool, Used, Next)] = &[
        ("success", &fixed, answered(200, None), true, used(1, ms(0)), S(Stop::Final)),
        ("not found is final", &fixed, answered(404, None), true, used(1, ms(0)), S(Stop::Final)),
        ("conflict is final", &fixed, answered(409, None), false, used(1, ms(0)), S(Stop::Final)),
        ("throttled", &fixed, answered(429, None), true, used(1, ms(0)), Retry(secs(1))),
        ("503 for a decision: nothing done", &fixed, answered(503, None), false, used(1, ms(0)), Retry(secs(1))),
        ("500 for a read", &fixed, answered(500, None), true, used(1, ms(0)), Retry(secs(1))),
        ("500 for a decision", &fixed, answered(500, None), false, used(1, ms(0)), S(Stop::MayHaveBeenTaken)),
        ("504 for a decision, retries spent", &fixed, answered(504, None), false, used(4, ms(0)), S(Stop::MayHaveBeenTaken)),
        ("not connected, decision", &fixed, Try::NotConnected, false, used(1, ms(0)), Retry(secs(1))),
        ("unreachable, read", &fixed, Try::Unreachable, true, used(1, ms(0)), S(Stop::Final)),
        ("unreachable, decision: nothing was sent", &fixed, Try::Unreachable, false, used(1, ms(0)), S(Stop::Final)),
        ("lost, read", &fixed, Try::Lost, true, used(2, ms(0)), Retry(secs(1))),
        ("lost, decision", &fixed, Try::Lost, false, used(1, ms(0)), S(Stop::MayHaveBeenTaken)),
        ("broken, read", &fixed, Try::Broken, true, used(1, ms(0)), S(Stop::Final)),
        ("retries spent", &fixed, answered(503, None), true, used(4, ms(0)), S(Stop::RetriesSpent)),
        ("last retry", &fixed, answered(503, None), true, used(3, ms(0)), Retry(secs(1))),
        ("server asks longer", &fixed, answered(503, Some(secs(2))), true, used(1, ms(0)), S(Stop::AskedTooLong(secs(2)))),
        ("server asks shorter", &fixed, answered(503, Some(ms(200))), true, used(1, ms(0)), Retry(secs(1))),
        ("asks past the budget", &fixed, answered(429, Some(secs(1))), true, used(1, ms(9_500)), S(Stop::AskedTooLong(secs(1)))),
        ("wait past the budget", &fixed, answered(503, None), true, used(1, ms(9_500)), S(Stop::BudgetSpent)),
        ("wait ends at the budget", &fixed, answered(503, None), true, used(1, secs(9)), Retry(secs(1))),
        ("no retries", &Retries::None, answered(503, None), true, used(1, ms(0)), S(Stop::RetriesSpent)),
        ("no retries, decision lost", &Retries::None, Try::Lost, false, used(1, ms(0)), S(Stop::MayHaveBeenTaken)),
    ];
    for (name, policy, outcome, safe, used, expected) in cases {
        assert_eq!(next(policy, *outcome, *safe, *used, 0.5), *expected, "{name}");
    }
    // Exponential: the server's wait is a floor under the backoff.
    let exponential = Retries::Exponential(ExponentialRetries { jitter: false, ..Default::default() });
    assert_eq!(next(&exponential, answered(503, None), true, used(2, ms(0)), 0.5), Retry(ms(1600)));
    assert_eq!(next(&exponential, answered(503, Some(secs(5))), true, used(2, ms(0)), 0.5), Retry(secs(5)));
}

#[test]
fn waits_never_overflow() {
    let secs = Duration::from_secs;
    assert_eq!(doubling(secs(30), 1, secs(300)), secs(30));
    assert_eq!(doubling(secs(30), 3, secs(300)), secs(120));
    assert_eq!(doubling(secs(30), 40, secs(300)), secs(300));
    assert_eq!(doubling(Duration::MAX, 5, Duration::MAX), Duration::MAX);
    assert_eq!(scaled(secs(10), 1.5), Duration::from_millis(15_000));
    assert_eq!(scaled(secs(10), f64::NAN), secs(10));
    assert_eq!(scaled(Duration::MAX, 2.0), Duration::MAX);
    assert_eq!(wait_within(secs(5), secs(1), None), Ok(secs(5)));
    assert_eq!(wait_within(secs(5), secs(1), Some(secs(6))), Ok(secs(5)));
    assert_eq!(wait_within(secs(5), secs(2), Some(secs(6))), Err(secs(4)));
    assert_eq!(wait_within(Duration::MAX, secs(2), Some(Duration::MAX)), Err(Duration::MAX - secs(2)));
    assert_eq!(millis(Duration::from_millis(1500)), 1500);
    assert_eq!(millis(Duration::from_secs(u64::MAX)), u64::MAX);
    assert_eq!(millis(Duration::MAX), u64::MAX);
}
