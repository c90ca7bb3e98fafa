//! Retry policy: which failures are tried again, and how long to wait in between.
//!
//! Every request, next-page request and poll goes through one retry loop (`pipeline.rs`). It retries 408,
//! 429, 500, 502, 503, 504, connection failures and timeouts, waiting an exponentially growing, jittered delay
//! that is never shorter than what the server asks for in `x-ms-retry-after-ms`, `retry-after-ms` or
//! `Retry-After`. When the server asks for more than the policy's maximum delay or remaining time budget, the
//! SDK does not sleep: it returns the error at once and exposes the requested wait as
//! [`Error::retry_after`](crate::Error::retry_after). A read whose `200` answer is cut half-way through its body
//! is sent again too, within the same call and out of the same retries and time budget.
//!
//! Approvals are special: see [`RequestsClient::update_status`](crate::RequestsClient::update_status).

use std::time::{Duration, SystemTime};

use reqwest::{StatusCode, header::HeaderMap};

/// How failed attempts are retried. The default is [`RetryOptions::exponential`] with
/// [`ExponentialRetryOptions::default`].
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::{ExponentialRetryOptions, RetryOptions};
/// let patient = RetryOptions::exponential(ExponentialRetryOptions {
///     max_retries: 6,
///     max_total_elapsed: Duration::from_secs(300),
///     ..Default::default()
/// });
/// let never = RetryOptions::none();
/// # let _ = (patient, never);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RetryOptions {
    /// Exponential backoff with jitter.
    Exponential(ExponentialRetryOptions),
    /// The same delay before every retry.
    Fixed(FixedRetryOptions),
    /// One attempt only.
    None,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self::Exponential(ExponentialRetryOptions::default())
    }
}

impl RetryOptions {
    /// Exponential backoff with the given settings.
    pub fn exponential(options: ExponentialRetryOptions) -> Self {
        Self::Exponential(options)
    }
    /// A fixed delay with the given settings.
    pub fn fixed(options: FixedRetryOptions) -> Self {
        Self::Fixed(options)
    }
    /// No retries: exactly one attempt.
    pub fn none() -> Self {
        Self::None
    }

    pub(crate) fn max_retries(&self) -> u32 {
        match self {
            Self::Exponential(o) => o.max_retries,
            Self::Fixed(o) => o.max_retries,
            Self::None => 0,
        }
    }

    pub(crate) fn budget(&self) -> Duration {
        match self {
            Self::Exponential(o) => o.max_total_elapsed,
            Self::Fixed(o) => o.max_total_elapsed,
            Self::None => Duration::ZERO,
        }
    }

    pub(crate) fn max_delay(&self) -> Duration {
        match self {
            Self::Exponential(o) => o.max_delay,
            Self::Fixed(o) => o.delay,
            Self::None => Duration::ZERO,
        }
    }

    /// The computed delay before retry number `retry` (1 for the first retry), before any server hint.
    pub(crate) fn backoff(&self, retry: u32, random: f64) -> Duration {
        match self {
            Self::Exponential(o) => {
                let factor = 2f64.powi(retry.saturating_sub(1).min(30) as i32);
                let jitter = if o.jitter { 0.8 + 0.5 * random.clamp(0.0, 1.0) } else { 1.0 };
                o.initial_delay.mul_f64(factor * jitter).min(o.max_delay)
            }
            Self::Fixed(o) => o.delay,
            Self::None => Duration::ZERO,
        }
    }
}

/// Settings of exponential backoff.
///
/// The delay before retry *n* (1, 2, …) is `initial_delay × 2^(n−1) × J`, where `J` is drawn uniformly from
/// `[0.8, 1.3)` (when `jitter` is on), capped at `max_delay`; never less than the server's requested wait.
/// With the defaults: about 0.8 s, 1.6 s, 3.2 s.
///
/// The defaults follow the Azure SDK guidelines and the Go SDK (3 retries, 0.8 s, 60 s) rather than the Rust
/// core's 8 retries at 200 ms: ARM throttles per subscription and hour, so hammering it eight times in a few
/// seconds only burns quota, and a human approver waiting on a CLI wants an answer within a minute.
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialRetryOptions {
    /// Retries after the first attempt. The default is 3.
    pub max_retries: u32,
    /// Delay before the first retry. The default is 800 ms.
    pub initial_delay: Duration,
    /// Longest single wait; a server asking for more makes the SDK give up instead. The default is 60 s.
    pub max_delay: Duration,
    /// Time budget for all attempts and waits of one call; no wait goes past it. The default is 60 s.
    pub max_total_elapsed: Duration,
    /// Whether delays are jittered, so that many clients do not retry in step. The default is `true`.
    pub jitter: bool,
}

impl Default for ExponentialRetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            max_total_elapsed: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// Settings of a fixed delay between retries.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedRetryOptions {
    /// Retries after the first attempt. The default is 3.
    pub max_retries: u32,
    /// Delay before each retry; also the longest server-requested wait honoured. The default is 1 s.
    pub delay: Duration,
    /// Time budget for all attempts and waits of one call. The default is 60 s.
    pub max_total_elapsed: Duration,
}

impl Default for FixedRetryOptions {
    fn default() -> Self {
        Self { max_retries: 3, delay: Duration::from_secs(1), max_total_elapsed: Duration::from_secs(60) }
    }
}

/// Statuses worth another attempt: timeout, throttling and server-side failures.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Statuses after which a non-idempotent request may already have been carried out.
pub(crate) fn may_have_committed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 504)
}

/// The wait a response asks for: `x-ms-retry-after-ms`, then `retry-after-ms` (milliseconds), then
/// `Retry-After` (seconds, or an HTTP-date; a date in the past means no wait). Unparsable values are ignored.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // azure_core's RFC 7231 parser, so the SDK carries one date parser, not two.
    let at = SystemTime::from(azure_core::time::parse_rfc7231(value).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
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
        let policy = RetryOptions::default();
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
}
