//! Retry policy: which failures are tried again, and how long to wait in between.
//!
//! Every request, next-page request and poll goes through one retry loop (`src/pipeline/hooks.rs`), which asks
//! [`next`] after each try; a read whose body was cut asks it too (`src/pipeline/call.rs`). It retries 408,
//! 429, 500, 502, 503, 504, connection failures and timeouts (not an untrusted certificate, a failed TLS
//! handshake, a host name that does not exist or a connection refused on this machine: see `TransportKind`),
//! waiting an exponentially growing, jittered delay
//! that is never shorter than what the server asks for in `x-ms-retry-after-ms`, `retry-after-ms` or
//! `Retry-After`. When the server asks for more than the policy's maximum delay or remaining time budget, the
//! SDK does not sleep: it returns the error at once and exposes the requested wait as
//! [`Error::retry_after`](crate::Error::retry_after). A read whose `200` answer is cut half-way through its body
//! is sent again too, within the same call and out of the same retries and time budget.
//!
//! Approvals are special: see [`RequestsClient::update_status`](crate::RequestsClient::update_status).
//!
//! [`next`] is a pure function (a try's outcome and what is left of the budget in, a wait or a reason to stop
//! out), as are the waits of the watch and the poller ([`doubling`], [`scaled`], [`wait_within`]). Uses nothing
//! of the crate.

use std::time::{Duration, SystemTime};

use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderName, RETRY_AFTER},
};

/// How failed attempts are retried. The default is [`Retries::Exponential`] with
/// [`ExponentialRetries::default`].
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::options::{ExponentialRetries, Retries};
/// let patient = Retries::Exponential(ExponentialRetries {
///     max_retries: 6,
///     max_total_elapsed: Duration::from_secs(300),
///     ..Default::default()
/// });
/// let never = Retries::None;
/// assert_ne!(patient, never);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Retries {
    /// Exponential backoff with jitter.
    Exponential(ExponentialRetries),
    /// The same delay before every retry.
    Fixed(FixedRetries),
    /// One attempt only.
    None,
}

impl Default for Retries {
    fn default() -> Self {
        Self::Exponential(ExponentialRetries::default())
    }
}

impl Retries {
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
                let jitter = if o.jitter { 0.8 + 0.5 * random.clamp(0.0, 1.0) } else { 1.0 };
                scaled(doubling(o.initial_delay, retry, Duration::MAX), jitter).min(o.max_delay)
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
/// The defaults follow the Azure SDK guidelines and the Go SDK (3 retries, 0.8 s, 60 s longest wait) rather
/// than the Rust core's 8 retries at 200 ms: ARM throttles per subscription and hour, so hammering it eight
/// times in a few seconds only burns quota. The budget is 120 s so that, with the client's default 20 s
/// per-try timeout, a try that stalls is cut and retried: four 20 s tries and their waits fit in it (the Rust
/// core's budget is 60 s but it sets no per-try timeout at all, only reqwest's 60 s read timeout, so a stalled
/// try there is never retried either; Go has no budget, only the caller's deadline).
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialRetries {
    /// Retries after the first attempt. The default is 3.
    pub max_retries: u32,
    /// Delay before the first retry. The default is 800 ms.
    pub initial_delay: Duration,
    /// Longest single wait; a server asking for more makes the SDK give up instead. The default is 60 s.
    pub max_delay: Duration,
    /// Time budget for all attempts and waits of one call; no wait goes past it. The default is 120 s.
    pub max_total_elapsed: Duration,
    /// Whether delays are jittered, so that many clients do not retry in step. The default is `true`.
    pub jitter: bool,
}

impl Default for ExponentialRetries {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            max_total_elapsed: Duration::from_secs(120),
            jitter: true,
        }
    }
}

/// Settings of a fixed delay between retries.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedRetries {
    /// Retries after the first attempt. The default is 3.
    pub max_retries: u32,
    /// Delay before each retry; also the longest server-requested wait honoured. The default is 1 s.
    pub delay: Duration,
    /// Time budget for all attempts and waits of one call. The default is 120 s, as the exponential policy's.
    pub max_total_elapsed: Duration,
}

impl Default for FixedRetries {
    fn default() -> Self {
        Self { max_retries: 3, delay: Duration::from_secs(1), max_total_elapsed: Duration::from_secs(120) }
    }
}

/// What one try of a call came to, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Try {
    /// An answer came with this status; `retry_after` is the wait it asked for.
    Answered { status: StatusCode, retry_after: Option<Duration> },
    /// Connecting failed: nothing reached the service.
    NotConnected,
    /// Connecting failed in a way another try cannot mend (an untrusted certificate, a failed TLS handshake, a
    /// host name that does not exist): nothing reached the service, and the next try would fail the same way.
    Unreachable,
    /// The request went out and no answer came back whole (a timeout, a dropped connection, a cut body).
    Lost,
    /// A failure another try cannot mend (the request could not be built, a redirect refused).
    Broken,
}

/// What the policy has used for a call so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Used {
    /// Tries made, the one just judged included.
    pub(crate) tries: u32,
    /// Time since the first try went out.
    pub(crate) elapsed: Duration,
}

/// What to do after a try.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Next {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Return this try's outcome, for this reason.
    Stop(Stop),
}

/// Why a call stops retrying.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Stop {
    /// The try succeeded, or failed in a way another try cannot mend.
    Final,
    /// The operation is not safe to resend and the service may have carried it out.
    MayHaveBeenTaken,
    /// The policy's retries are used up.
    RetriesSpent,
    /// The server asked for a longer wait than the policy's maximum delay or remaining budget.
    AskedTooLong(Duration),
    /// The next wait would pass the policy's time budget.
    BudgetSpent,
}

/// The retry decision after one try: `outcome` of a try of an operation (`resend_safe` when sending it twice
/// does no harm), with `used` of the policy spent so far and `random` in `0..=1` for the jitter.
pub(crate) fn next(policy: &Retries, outcome: Try, resend_safe: bool, used: Used, random: f64) -> Next {
    let hint = match outcome {
        Try::Answered { status, .. } if !is_retryable_status(status) => return Next::Stop(Stop::Final),
        Try::Answered { status, .. } if !resend_safe && may_have_committed(status) => {
            return Next::Stop(Stop::MayHaveBeenTaken);
        }
        Try::Answered { retry_after, .. } => retry_after,
        // Nothing reached the service, so resending is always safe.
        Try::NotConnected => None,
        Try::Unreachable => return Next::Stop(Stop::Final),
        Try::Lost | Try::Broken if !resend_safe => return Next::Stop(Stop::MayHaveBeenTaken),
        Try::Broken => return Next::Stop(Stop::Final),
        Try::Lost => None,
    };
    if used.tries > policy.max_retries() {
        return Next::Stop(Stop::RetriesSpent);
    }
    let remaining = policy.budget().saturating_sub(used.elapsed);
    if let Some(asked) = hint.filter(|h| *h > policy.max_delay() || *h > remaining) {
        return Next::Stop(Stop::AskedTooLong(asked));
    }
    let wait = policy.backoff(used.tries, random).max(hint.unwrap_or_default());
    match wait_within(wait, used.elapsed, Some(policy.budget())) {
        Ok(wait) => Next::Retry(wait),
        Err(_) => Next::Stop(Stop::BudgetSpent),
    }
}

/// `base × 2^(n−1)` for the n-th wait (n ≥ 1; the exponent stops growing at 30), at most `cap`. Never overflows.
pub(crate) fn doubling(base: Duration, n: u32, cap: Duration) -> Duration {
    base.saturating_mul(2u32.pow(n.saturating_sub(1).min(30))).min(cap)
}

/// `wait × factor`, or `wait` itself when the product is not a duration (negative, not finite, too large).
pub(crate) fn scaled(wait: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(wait.as_secs_f64() * factor).unwrap_or(wait)
}

/// A wait that must end within `limit` of a start `elapsed` ago: `Ok(wait)` when it does (or there is no
/// limit), else `Err(left)`, what is left until the limit.
pub(crate) fn wait_within(wait: Duration, elapsed: Duration, limit: Option<Duration>) -> Result<Duration, Duration> {
    match limit {
        Some(limit) if elapsed.checked_add(wait).is_none_or(|end| end > limit) => Err(limit.saturating_sub(elapsed)),
        _ => Ok(wait),
    }
}

/// A wait in whole milliseconds for a log field, `u64::MAX` for a wait longer than that (an `as` cast would
/// wrap a server's `Retry-After: 18446744073709551615` to a small number).
pub(crate) fn millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
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
    // Names as `HeaderName` constants: looked up by a `&str`, each is parsed again on every answer.
    const MS: [HeaderName; 2] =
        [HeaderName::from_static("x-ms-retry-after-ms"), HeaderName::from_static("retry-after-ms")];
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    for name in &MS {
        if let Some(ms) = text(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = text(&RETRY_AFTER)?;
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // azure_core's RFC 7231 parser, so the SDK carries one date parser, not two.
    let at = SystemTime::from(azure_core::time::parse_rfc7231(value).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests;
