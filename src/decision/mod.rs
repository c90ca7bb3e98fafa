//! Recording a decision (an approval or a denial) exactly once, and never reporting a plain failure for one the
//! service may have taken.
//!
//! One rule: once a round may have been taken (a 500, 502 or 504, a lost connection or a timeout once it was
//! sent) or was accepted (`202`), nothing ends the call but the request's own status, read from the service.
//! A refusal, an operation that ends `Failed` or `Canceled`, an answer that names no decision or another one,
//! polling that cannot go on: each is followed by a read. A read that shows `Pending` proves only that no round
//! has landed *yet*: an accepted round, or a try cut on the client's side, can still land after it. So an
//! accepted round is never sent again (its request is read at the poller's cadence until it leaves `Pending`),
//! and a round that may have been taken is sent again only after a second read, at least a poll interval later,
//! still shows `Pending`; should the earlier round land first after all, the service refuses the resend and the
//! refusal is read out. An accepted round whose operation failed, with nothing else in flight, cannot land any
//! more: a read that shows `Pending` confirms the failure. Only a final status other than ours is a conflict;
//! a fresh round refused (`409`) because the request is not pending is one too ("already decided"), whichever
//! status it is in.
//!
//! ```text
//!                 +---- Pending twice (Settle between), nothing accepted outstanding, a round left ---+
//!                 v                                                                                    |
//!   Sending { round, doubt } --2xx naming our decision----------------------------> Answered           |
//!     |   |   |   --2xx, body lost or blank-------------------------------------------> Recorded       |
//!     |   |   |   --202 + polling URL--> Following --ends naming our decision------> Answered          |
//!     |   |   |                             |  --ends naming none/other------------> Reading           |
//!     |   |   |                             |  --Failed/Canceled-------------------> Reading           |
//!     |   |   |                             '  --polls fail, timeout---------------> Reading           |
//!     |   |   '--202, cannot be followed; 2xx naming none/other--------------------> Reading           |
//!     |   '--refused, nothing in doubt: 409 naming a status not Pending-----------> Conflicted         |
//!     |                                 409 naming none-----------------------------> Reading          |
//!     |                                 otherwise-----------------------------------> Refused          |
//!     |      refused, in doubt: currentStatus is ours-------------------------------> Recorded         |
//!     |                         otherwise-------------------------------------------> Reading          |
//!     '--may have been taken---------------------------------------------------------> Reading         |
//!                                                                                                       |
//!   Reading { wait, look } --shows our decision (Approving, Approved, ...)-------> Recorded             |
//!      ^   |   |   --another final status (Denied, Expired, ...)----------------> Conflicted           |
//!      |   |   |   --after a 409 naming none: not Pending -> Conflicted; Pending -> Refused            |
//!      |   |   |   --after a Failed/Canceled operation, nothing else in flight: Pending -> Refused     |
//!      |   |   |   --Pending, first look in this stretch-------> Reading (Settle) ----------------------+
//!      |   |   |   --no time left in the bound------------------> OutOfTime --> Unknown (the bound's timeout)
//!      |   |   '--no round left; unreadable for good-----------------------------> Unknown
//!      '---'--Pending with an accepted round outstanding; in flight (Initializing, unknown, no status);
//!             a read that failed but may pass: read again (cadence, or a growing delay)
//!
//!   Answered, Recorded --> the caller's step after it (with until_final: the wait, its outcome kept inside the
//!                          Decision; it gives a Decision, never an error)
//! ```
//!
//! Waits ([`Wait`](state::Wait)): before the reconciling read of a round that may have been taken, the retry
//! policy's delay (a backend often finishes its work after a gateway's `504`); between reads of an accepted
//! round, the poller's cadence (the `202`'s `Retry-After`); before the read that decides a resend, the longer of
//! the retry delay and the poller's shortest interval (1 s). The reads are bounded by the call's bound, or,
//! when it has none, by the retry policy's budget from the first read. `Conflicted` is
//! [`Error::DecisionConflict`], `Unknown` [`Error::DecisionOutcomeUnknown`] (when the bound ended, its source is
//! a timeout that names the bound and the last status read); `Answered` and `Recorded` give a [`Decision`], which
//! says whether it was reconciled by a read.
//!
//! The parts: `send.rs` sends one round and says what its first answer came to; `state/` holds the states and
//! their transitions ([`after_send`](state::after_send), [`after_follow`](state::after_follow),
//! [`after_read`](state::after_read), plain functions tested by tables); `run.rs` drives them within a
//! [`Bound`] and logs each step (the decision's history); `bound.rs` the bound on the whole call; `result.rs`
//! [`Decision`], what a caller gets; this file the entry, [`decide`], and the step after a recorded decision
//! (the wait until the request's status is final), whose outcome can only be kept inside the [`Decision`].

mod bound;
mod result;
mod run;
mod send;
mod state;

pub(crate) use bound::Bound;
pub use result::Decision;
use run::{Caller, run};

use std::{future::Future, ops::ControlFlow};

use crate::{
    core::Core,
    error::{Error, Result},
    models::{Approval, LockboxRequestResponse},
    status::{ApprovalDecision, LockboxRequestStatus},
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
/// progress with `follow`, and says what the service recorded; then, with `until_final`, waits with that poller
/// of the request until its status is final, the wait's outcome kept inside the [`Decision`]. All within `bound`.
pub(crate) async fn decide(
    core: &Core,
    order: Order<'_>,
    bound: Bound,
    follow: WaiterOptions,
    until_final: Option<Waiter<LockboxRequestResponse>>,
) -> Result<Decision> {
    let request_id = order.request_id.to_owned();
    // On the heap: the decision's rounds, reads and wait make a future of 5 KB, over the crate's
    // `future-size-threshold` (clippy.toml), which a caller's `approve` future would otherwise hold inline. One
    // allocation a decision, beside its calls' hundred.
    Box::pin(run(core, order, bound, Follow { options: follow, until_final, request_id })).await
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
    /// frequency (as [`wait_for_decision`](crate::RequestsClient::wait_for_decision) does); their timeout and
    /// the client's, whichever ends first, bound the whole call, decision included. The wait cannot replace a
    /// recorded decision: its outcome is [`Decision::until_final`] (the final request, or why it could not be
    /// confirmed, such as a read that failed, the bound passing, or, as an
    /// [`Error::DecisionConflict`](crate::Error::DecisionConflict), a final status that is not the decision).
    pub until_final: Option<WaiterOptions>,
}

/// A call that waits: an accepted round's poller is followed here with `options`, within the call's bound; a
/// recorded decision is then followed until the request's status is final when `until_final` holds a poller.
struct Follow {
    options: WaiterOptions,
    until_final: Option<Waiter<LockboxRequestResponse>>,
    request_id: String,
}

impl Caller for Follow {
    type Output = Decision;

    fn cadence(&self) -> WaiterOptions {
        self.options.clone()
    }

    fn accepted(
        &self,
        poller: Waiter<Approval>,
        bound: Bound,
    ) -> impl Future<Output = ControlFlow<Self::Output, Result<Approval>>> + Send {
        // Only the options go into the future (a `Waiter` this holds for later is `Send`, not `Sync`).
        let options = self.options.clone();
        async move {
            let limit = bound.for_work();
            let timeout = match (options.timeout, limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let poller = poller.with_options(WaiterOptions { timeout, ..options });
            ControlFlow::Continue(match limit {
                Some(limit) => tokio::time::timeout(limit, poller)
                    .await
                    .unwrap_or_else(|_| Err(bound.timeout("requests_update_status to finish", "still running"))),
                None => poller.await,
            })
        }
    }

    async fn decided(self, decision: Decision, bound: Bound) -> Self::Output {
        match self.until_final {
            Some(poller) => {
                let waited = until_final(poller, &self.request_id, decision.decision(), bound).await;
                decision.waited(waited)
            }
            None => decision,
        }
    }
}

/// The step after a recorded decision: waits with `poller` until the request's status is final, within `bound`,
/// and gives the request, or why the wait could not confirm it. Its result can only be kept inside the
/// [`Decision`] ([`Decision::waited`]): it never replaces the decision.
async fn until_final(
    mut poller: Waiter<LockboxRequestResponse>,
    request_id: &str,
    decision: &ApprovalDecision,
    bound: Bound,
) -> Result<LockboxRequestResponse> {
    let mut last = "none seen".to_owned();
    let statuses = async {
        while let Some(status) = poller.try_next().await? {
            last = status.to_string();
        }
        Ok::<_, Error>(())
    };
    match bound.deadline() {
        Some(end) => match tokio::time::timeout_at(end.instant(), statuses).await {
            Ok(ended) => ended?,
            Err(_) => return Err(bound.timeout(format!("request {request_id}'s status to be final"), last)),
        },
        None => statuses.await?,
    }
    let request = poller.await?;
    let status = request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown);
    if !status.reflects(decision) {
        // Recorded, then ended otherwise (it expired, say): the wait says so; the decision stays.
        let (request_id, decision) = (request_id.to_owned(), decision.clone());
        return Err(Error::DecisionConflict { request_id, decision, current_status: status, call: None });
    }
    Ok(request)
}
