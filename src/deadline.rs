//! One deadline type for the time limits that end at an instant: the call's `timeout` (`pipeline/call.rs`), the
//! shared throttling gate (`pipeline/gate.rs`) and the next reading of a tenant watch (`across/watch.rs`). The
//! per-try timeout is a duration handed to the HTTP client, and the retry budget and the watch's waits are
//! durations compared with saturating arithmetic (`retry/mod.rs`): none of them adds to an instant.
//!
//! Durations come from callers (options) and from servers (`Retry-After: 18446744073709551615`), so adding one to
//! an instant may overflow, and `Instant + Duration` panics when it does. A [`Deadline`] only offers checked
//! and saturating arithmetic: a deadline too far to name is the far future (about 30 years away, as tokio's own
//! "never"), which no call outlives. The crate denies `clippy::arithmetic_side_effects`, so an unchecked `+`
//! on an instant does not compile outside this file's saturating forms.

use std::time::Duration;

use tokio::time::Instant;

/// How far away the far future is: about 30 years, tokio's own horizon for a sleep that never ends.
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// An instant on tokio's clock (so tests can pause it) by which something must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Deadline(Instant);

impl Deadline {
    /// `wait` from `now`; the far future when that is further than [`FAR_FUTURE`] or cannot be named.
    pub(crate) fn at(now: Instant, wait: Duration) -> Self {
        // Each bound is checked: the far future from a clock near its own end is the latest instant it can name.
        let end = now.checked_add(wait.min(FAR_FUTURE)).or_else(|| now.checked_add(Duration::from_secs(86_400)));
        Self(end.unwrap_or(now))
    }

    /// `wait` from now (see [`Deadline::at`]).
    pub(crate) fn after(wait: Duration) -> Self {
        Self::at(Instant::now(), wait)
    }

    /// The instant itself, to sleep until or to compare.
    pub(crate) fn instant(self) -> Instant {
        self.0
    }

    /// What is left until the deadline: zero once it has passed.
    pub(crate) fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(self) -> bool {
        self.0 <= Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadlines_saturate_at_the_far_future_and_never_overflow() {
        let now = Instant::now();
        let secs = Duration::from_secs;
        assert_eq!(Deadline::at(now, secs(5)).instant(), now.checked_add(secs(5)).unwrap());
        for huge in [Duration::MAX, secs(u64::MAX), FAR_FUTURE.saturating_add(secs(1))] {
            assert_eq!(Deadline::at(now, huge).instant(), now.checked_add(FAR_FUTURE).unwrap(), "{huge:?}");
        }
        let soon = Deadline::after(secs(5));
        assert_eq!(soon.remaining(), secs(5));
        assert!(soon < Deadline::after(Duration::MAX));
        assert!(!soon.passed());
        tokio::time::sleep(secs(6)).await;
        assert!(soon.passed());
        assert_eq!(soon.remaining(), Duration::ZERO, "a passed deadline leaves nothing, not a negative wait");
    }
}
