//! Recording a decision (an approval or a denial) exactly once, and never reporting a plain failure for one the
//! service may have taken.
//!
//! One rule: once a round may have been taken (a 500, 502 or 504, a lost connection or a timeout once it was
//! sent) or was accepted (`202`), nothing ends the call but the request's own status, read from the service.
//! A refusal, an operation that fails, an answer that names no decision or another one, polling that cannot go
//! on: each is followed by a read. A read that shows `Pending` proves only that no round has landed *yet*: an
//! accepted round, or a try cut on the client's side, can still land after it. So an accepted round is never sent
//! again (its request is read at the poller's cadence until it leaves `Pending`), and a round that may have been
//! taken is sent again only after a second read, at least a poll interval later, still shows `Pending`; should
//! the earlier round land first after all, the service refuses the resend and the refusal is read out. Only a
//! final status other than ours is a conflict.
//!
//! ```text
//!                 +---- Pending twice (Settle between), nothing accepted outstanding, a round left ---+
//!                 v                                                                                    |
//!   Sending { round, doubt } --2xx naming our decision----------------------------> Answered           |
//!     |   |   |   --2xx, body lost or blank-------------------------------------------> Recorded       |
//!     |   |   |   --202 + polling URL--> Following --ends naming our decision------> Answered          |
//!     |   |   |                             |  --ends naming none/other------------> Reading           |
//!     |   |   |                             |  --Failed, nothing else in doubt-----> Refused           |
//!     |   |   |                             |  --Failed after doubt; polls fail----> Reading           |
//!     |   |   '--202, cannot be followed; 2xx naming none/other--------------------> Reading           |
//!     |   '--refused: nothing in doubt--> Refused; in doubt, currentStatus is ours--> Recorded         |
//!     |                                  in doubt, otherwise-----------------------> Reading           |
//!     '--may have been taken---------------------------------------------------------> Reading         |
//!                                                                                                       |
//!   Reading { wait, look } --shows our decision (Approving, Approved, ...)-------> Recorded             |
//!      ^   |   |   --another final status (Denied, Expired, ...)----------------> Conflicted           |
//!      |   |   |   --Pending, first look in this stretch-------> Reading (Settle) ----------------------+
//!      |   |   '--no time left in the bound; no round left; unreadable for good--> Unknown
//!      '---'--Pending with an accepted round outstanding; in flight (Initializing, unknown, no status);
//!             a read that failed but may pass: read again (cadence, or a growing delay)
//! ```
//!
//! Waits ([`Wait`](state::Wait)): before the reconciling read of a round that may have been taken, the retry
//! policy's delay (a backend often finishes its work after a gateway's `504`); between reads of an accepted
//! round, the poller's cadence (the `202`'s `Retry-After`); before the read that decides a resend, the longer of
//! the retry delay and the poller's shortest interval (1 s). The reads are bounded by the call's bound, or,
//! when it has none, by the retry policy's budget from the first read. `Conflicted` is
//! [`Error::DecisionConflict`], `Unknown` [`Error::DecisionOutcomeUnknown`]; `Answered` and `Recorded` give a
//! [`Decision`], which says whether it was reconciled by a read.
//!
//! The parts: `send.rs` sends one round and says what its first answer came to; `state/` holds the states and
//! their transitions ([`after_send`](state::after_send), [`after_follow`](state::after_follow),
//! [`after_read`](state::after_read), plain functions tested by tables); `run.rs` drives them within a
//! [`Bound`] and logs each step (the decision's history); `bound.rs` the bound on the whole call; `result.rs`
//! [`Decision`], what a caller gets; this file the two entries, [`record`] (a `begin_*` call) and [`decide`]
//! (a call that waits).

mod bound;
mod result;
mod run;
mod send;
mod state;

pub(crate) use bound::Bound;
pub use result::Decision;
use run::{Caller, run};

use std::ops::ControlFlow;

use crate::{
    core::Core,
    error::Result,
    models::Approval,
    status::ApprovalDecision,
    waiter::{Waiter, WaiterOptions},
};

/// A decision to send: on which request, what, and why. Its request id and reason are already checked.
pub(crate) struct Order<'a> {
    pub(crate) subscription_id: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) decision: ApprovalDecision,
    pub(crate) reason: &'a str,
}

/// Records `decision` with `reason` on a checked request id, exactly once, follows an accepted decision's
/// progress with `options`, and says what the service recorded; all within `bound`.
pub(crate) async fn decide(core: &Core, order: Order<'_>, bound: Bound, options: WaiterOptions) -> Result<Decision> {
    run(core, order, bound, Follow { options }).await
}

/// Options of a decision: [`approve`](crate::RequestsClient::approve), [`deny`](crate::RequestsClient::deny) and
/// [`update_status`](crate::RequestsClient::update_status).
///
/// ```
/// use std::time::Duration;
/// use azure_customer_lockbox::options::{DecisionOptions, WaiterOptions};
///
/// // Also wait (at most 10 minutes, decision included) until the request's status is final.
/// let options = DecisionOptions {
///     until_final: Some(WaiterOptions { timeout: Some(Duration::from_secs(600)), ..Default::default() }),
///     ..Default::default()
/// };
/// assert!(options.follow.timeout.is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct DecisionOptions {
    /// How a decision the service accepted (`202`) is followed to its end: polling frequency and time limit.
    pub follow: WaiterOptions,
    /// When set, the call then also waits until the request's status is final, read at these options'
    /// frequency (as [`wait_for_decision`](crate::RequestsClient::wait_for_decision) does); their timeout bounds
    /// the whole call, decision included. A final status that does not reflect the decision is an
    /// [`Error::DecisionConflict`](crate::Error::DecisionConflict); the request as last read is
    /// [`Decision::request`].
    pub until_final: Option<WaiterOptions>,
}

/// A call that waits: an accepted round's poller is followed here with `options`, within the call's bound.
struct Follow {
    options: WaiterOptions,
}

impl Caller for Follow {
    type Output = Decision;

    fn cadence(&self) -> WaiterOptions {
        self.options.clone()
    }

    async fn accepted(&self, poller: Waiter<Approval>, bound: Bound) -> ControlFlow<Self::Output, Result<Approval>> {
        let limit = bound.for_work();
        let timeout = match (self.options.timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let poller = poller.with_options(WaiterOptions { timeout, ..self.options.clone() });
        ControlFlow::Continue(match limit {
            Some(limit) => tokio::time::timeout(limit, poller)
                .await
                .unwrap_or_else(|_| Err(bound.timeout("requests_update_status to finish"))),
            None => poller.await,
        })
    }

    fn decided(&self, decision: Decision) -> Self::Output {
        decision
    }
}
