//! [`Bound`]: when a decision call must be over (the client's `timeout`, and a wait's own), and how much of what
//! is left a send or a wait may take, the rest being kept for a reconciling read.

use std::time::Duration;

use tokio::time::Instant;

use crate::{deadline::Deadline, error::Error};

/// The longest part of what is left that a decision keeps for a reconciling read (the wait before it included).
const READ_RESERVE: Duration = Duration::from_secs(5);

/// When a decision call must be over: the earlier of the client's `timeout` and a wait's own timeout. It keeps
/// the limit it was made from, so that a timeout names the bound that ended, never another figure.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    /// When the call began.
    started: Instant,
    /// Its end, and the limit (counted from `started`) that set it.
    end: Option<(Deadline, Duration)>,
}

/// Half of `d` (rounded down).
pub(super) fn half(d: Duration) -> Duration {
    d.checked_div(2).unwrap_or_default()
}

impl Bound {
    /// Ends `limits` (each counted from now) from now: the shortest of them; no end when none is given. A limit
    /// too far off to name ends in the far future (see [`Deadline`]).
    pub(crate) fn new(limits: impl IntoIterator<Item = Option<Duration>>) -> Self {
        let started = Instant::now();
        let limit = limits.into_iter().flatten().min();
        Self { started, end: limit.map(|limit| (Deadline::at(started, limit), limit)) }
    }

    /// This bound if it ends, else one that ends `budget` from now (its limit: `budget`).
    pub(super) fn or_from_now(self, budget: Duration) -> Self {
        if self.end.is_some() { self } else { Self { end: Some((Deadline::after(budget), budget)), ..self } }
    }

    /// What is left.
    pub(crate) fn left(self) -> Option<Duration> {
        self.end.map(|(end, _)| end.remaining())
    }

    /// The instant it ends, if it does.
    pub(crate) fn deadline(self) -> Option<Deadline> {
        self.end.map(|(end, _)| end)
    }

    /// What a send or a wait may take: what is left, less what is kept for a reconciling read (half of it, at
    /// most [`READ_RESERVE`]).
    pub(super) fn for_work(self) -> Option<Duration> {
        self.left().map(|left| left.saturating_sub(half(left).min(READ_RESERVE)))
    }

    /// The error of this bound ending while waiting for `what`, `last_status` the last thing seen: it names the
    /// bound's limit (or, for a bound that has none, the time since the call began).
    pub(crate) fn timeout(self, what: impl Into<String>, last_status: impl Into<String>) -> Error {
        let elapsed = self.end.map_or_else(|| self.started.elapsed(), |(_, limit)| limit);
        Error::Timeout { what: what.into(), elapsed, last_status: last_status.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bound_keeps_part_of_what_is_left_for_a_read() {
        assert!(Bound::new([None, None]).for_work().is_none());
        let bound = Bound::new([Some(Duration::from_secs(60)), None, Some(Duration::MAX)]);
        assert_eq!(bound.for_work(), Some(Duration::from_secs(55)));
        assert_eq!(Bound::new([Some(Duration::from_secs(2))]).for_work(), Some(Duration::from_secs(1)));
        assert_eq!(
            Bound::new([Some(Duration::from_secs(600)), Some(Duration::from_secs(20))]).for_work(),
            Some(Duration::from_secs(15))
        );
        // Limits no instant can name: the far future, never an overflow.
        let far = Bound::new([Some(Duration::MAX)]);
        assert!(far.for_work().is_some_and(|left| left > Duration::from_secs(86_400 * 365)));
        assert!(Bound::new([None]).or_from_now(Duration::MAX).left().is_some());
        assert_eq!(half(Duration::from_nanos(3)), Duration::from_nanos(1));
    }

    /// A timeout names the bound that ended: the shorter limit, or the budget of a bound made to end.
    #[tokio::test(start_paused = true)]
    async fn a_timeout_names_the_bound_that_ended() {
        let bound = Bound::new([Some(Duration::from_secs(600)), Some(Duration::from_secs(45))]);
        tokio::time::sleep(Duration::from_secs(50)).await;
        assert!(bound.timeout("x", "y").to_string().starts_with("timed out after 45s waiting for x"));
        let budget = Bound::new([None]).or_from_now(Duration::from_secs(120));
        assert!(budget.timeout("x", "y").to_string().contains("after 120s"));
        let unbounded = Bound::new([None]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(unbounded.timeout("x", "y").to_string().contains("after 3s"));
    }
}
