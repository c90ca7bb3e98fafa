//! The shared throttling gate of a tenant-wide listing (see `src/across/`).
//!
//! Many listings run side by side over one principal's Resource Manager budget. When any of them is answered
//! `429` with a retry hint (`Retry-After`, `retry-after-ms` or `x-ms-retry-after-ms`), the gate records a
//! "not before" instant (`tokio::time`; the hint, at most the retry policy's longest wait, saturating), and
//! every request of every listing under the same gate waits until then before it is sent: the others slow
//! down too instead of spending the budget further. The gate travels in the pipeline of the client the
//! tenant-wide call sends through (`Pipeline::with_gate`), so requests of any other client never see it.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use tokio::time::Duration;

use crate::deadline::Deadline;

/// A "not before" instant shared by the requests of one tenant-wide call. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate(Arc<GateState>);

#[derive(Debug, Default)]
struct GateState {
    not_before: Mutex<Option<Deadline>>,
    throttled: AtomicU64,
}

impl Gate {
    /// The instant before which no request under this gate is sent, if one is set.
    fn not_before(&self) -> Option<Deadline> {
        *self.0.not_before.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many `429` answers were seen under this gate.
    pub(crate) fn throttled(&self) -> u64 {
        self.0.throttled.load(Ordering::Relaxed)
    }

    /// Waits until the gate lets requests through.
    pub(super) async fn wait(&self) {
        while let Some(until) = self.not_before() {
            if until.passed() {
                break;
            }
            tracing::debug!(
                wait_ms = crate::retry::millis(until.remaining()),
                "waiting for the shared throttling gate"
            );
            tokio::time::sleep_until(until.instant()).await;
        }
    }

    /// Records a request answered `429` asking for `wait`: nothing under the gate is sent for that long, at most
    /// `longest` (the retry policy's longest wait: a hint the policy would not wait for itself does not stop
    /// every other request of the call for longer). A later instant already set is kept.
    pub(super) fn throttle(&self, wait: Duration, longest: Duration) {
        self.0.throttled.fetch_add(1, Ordering::Relaxed);
        let until = Deadline::after(wait.min(longest));
        let mut not_before = self.0.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if not_before.is_none_or(|t| t < until) {
            *not_before = Some(until);
        }
    }
}
