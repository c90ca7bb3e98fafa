//! What a [`Waiter`](super::Waiter) is configured with and reports: its options, the statuses it yields, and
//! the token that resumes it.

use std::{fmt, time::Duration};

/// How often and how long a [`Waiter`](super::Waiter) waits.
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::options::WaiterOptions;
/// let options = WaiterOptions { frequency: Duration::from_secs(5), timeout: Some(Duration::from_secs(600)) };
/// assert_eq!(options.frequency, Duration::from_secs(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaiterOptions {
    /// The wait between polls when the service sends no `Retry-After`. The default is 30 s; values under 1 s
    /// count as 1 s. A `Retry-After` (or `retry-after-ms`) on the first answer or on a poll answer replaces it
    /// for the next wait, but never makes that wait longer than [`MAX_POLL_WAIT`] or `frequency`, whichever is
    /// longer: a server asking for hours (or `u64::MAX` seconds) is polled again after that cap.
    pub frequency: Duration,
    /// How long to wait in all, counted from the poller's creation (or resumption). The default is `None`: wait
    /// until the operation ends. When exceeded, the wait fails with [`Error::Timeout`](crate::Error::Timeout) carrying the last status.
    /// It is checked before each wait between polls; one poll in flight is bounded by the client's timeouts.
    pub timeout: Option<Duration>,
}

impl Default for WaiterOptions {
    fn default() -> Self {
        Self { frequency: Duration::from_secs(30), timeout: None }
    }
}

pub(crate) const MIN_FREQUENCY: Duration = Duration::from_secs(1);

/// The longest a [`Waiter`](super::Waiter) waits between two polls because the service asked for it
/// (`Retry-After`): 60 s, or [`WaiterOptions::frequency`] when that is longer. Without a cap, a poller with no
/// timeout would sleep for as long as any server asks, decades included.
pub const MAX_POLL_WAIT: Duration = Duration::from_secs(60);

impl WaiterOptions {
    /// The wait before the next poll: the service's `hint` when it gave one (capped, see [`MAX_POLL_WAIT`]),
    /// else the frequency (at least 1 s).
    pub(crate) fn next_wait(&self, hint: Option<Duration>) -> Duration {
        let frequency = self.frequency.max(MIN_FREQUENCY);
        hint.map_or(frequency, |hint| hint.min(MAX_POLL_WAIT.max(frequency)))
    }
}

/// A status seen while polling, with the text as the service sent it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaiterStatus {
    /// Not finished: `NotStarted`, `Running`, `InProgress` (a `Location` poll answering 202), a request that is
    /// `Pending` or `Approving`, or any status this SDK does not know.
    InProgress(String),
    /// Finished: `Succeeded`, or a final request status such as `Approved` or `Denied`.
    Succeeded(String),
    /// The operation failed: `Failed`.
    Failed(String),
    /// The operation was canceled: `Canceled` or `Cancelled`.
    Canceled(String),
}

impl WaiterStatus {
    /// Classifies a status-monitor status, ignoring letter case; unknown values are [`Self::InProgress`].
    pub fn parse(text: &str) -> Self {
        let owned = text.to_owned();
        match text.to_ascii_lowercase().as_str() {
            "succeeded" => Self::Succeeded(owned),
            "failed" => Self::Failed(owned),
            "canceled" | "cancelled" => Self::Canceled(owned),
            _ => Self::InProgress(owned),
        }
    }

    /// The status as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InProgress(s) | Self::Succeeded(s) | Self::Failed(s) | Self::Canceled(s) => s,
        }
    }

    /// True when no further status will follow.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Self::InProgress(_))
    }
}

impl fmt::Display for WaiterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
