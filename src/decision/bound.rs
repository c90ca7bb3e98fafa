//! [`Bound`]: when a decision call must be over (the client's `timeout`, and a wait's own), and how much of what
//! is left a send or a wait may take, the rest being kept for a reconciling read.

use std::time::Duration;

use tokio::time::Instant;

use crate::{deadline::Deadline, error::Error};

/// The longest part of what is left that a decision keeps for a reconciling read (the wait before it included).
const READ_RESERVE: Duration = Duration::from_secs(5);

/// When a decision call must be over: the earlier of the client's `timeout` and a wait's own timeout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound(Option<Deadline>);

/// Half of `d` (rounded down).
pub(super) fn half(d: Duration) -> Duration {
    d.checked_div(2).unwrap_or_default()
}

impl Bound {
    /// Ends `limits` (each counted from now) from now: the shortest of them; no end when none is given. A limit
    /// too far off to name ends in the far future (see [`Deadline`]).
    pub(crate) fn new(limits: impl IntoIterator<Item = Option<Duration>>) -> Self {
        let now = Instant::now();
        Self(limits.into_iter().flatten().map(|limit| Deadline::at(now, limit)).min())
    }

    /// This bound if it ends, else one that ends `budget` from now.
    pub(super) fn or_from_now(self, budget: Duration) -> Self {
        if self.0.is_some() { self } else { Self(Some(Deadline::after(budget))) }
    }

    /// What is left.
    pub(super) fn left(self) -> Option<Duration> {
        self.0.map(Deadline::remaining)
    }

    /// What a send or a wait may take: what is left, less what is kept for a reconciling read (half of it, at
    /// most [`READ_RESERVE`]).
    pub(super) fn for_work(self) -> Option<Duration> {
        self.left().map(|left| left.saturating_sub(half(left).min(READ_RESERVE)))
    }

    pub(super) fn timeout(self, what: &str) -> Error {
        Error::Timeout { what: what.into(), elapsed: Duration::ZERO, last_status: "no time left".into() }
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
}
