//! [`run`]: the loop that drives a decision's [states](super::state) — it sends a round ([`send`]), follows an
//! accepted one's poller, waits and reads the request to reconcile, all within a [`Bound`] — and
//! [`read_status`], the reconciling read.
//!
//! Each step is logged at `info` in the span `lockbox_decision` (fields `request_id`, `decision`): what each
//! round sent and what came back, each read and what it showed. That is the decision's history; a subscriber
//! that keeps it can tell afterwards why a call ended as it did.

use std::{future::Future, ops::ControlFlow, time::Duration};

use tracing::Instrument;

use super::{
    Decision, Order,
    bound::{Bound, half},
    send::{Round, send},
    state::{Sent, State, Wait, after_follow, after_read, after_send},
};
use crate::{
    call_ids::CallIds,
    core::Core,
    error::{Error, Result},
    generated::{self, ClientRequestsExt},
    models::Approval,
    operation::Operation,
    response::WithCallIds,
    retry::{ExponentialRetries, Retries},
    status::{ApprovalDecision, LockboxRequestStatus},
    waiter::{MIN_FREQUENCY, Waiter, WaiterOptions},
};

/// What a caller of [`run`] makes of an accepted round's poller, and of a decision: the difference between a
/// `begin_*` call ([`super::record`]), which hands the poller back, and a call that waits ([`super::decide`]).
pub(super) trait Caller {
    /// What the call returns.
    type Output;
    /// The poller options whose cadence the reconciling reads keep.
    fn cadence(&self) -> WaiterOptions;
    /// An accepted round's `poller`, within `bound`: followed to its end (`Continue` with its result), or the
    /// call's output (`Break`).
    fn accepted(
        &self,
        poller: Waiter<Approval>,
        bound: Bound,
    ) -> impl Future<Output = ControlFlow<Self::Output, Result<Approval>>> + Send;
    /// A decision the call ends with, recorded: what the call gives for it (the step after it, such as a wait,
    /// within `bound`). It gives an output, never an error: no step after a decision can replace it.
    fn decided(self, decision: Decision, bound: Bound) -> impl Future<Output = Self::Output> + Send;
}

/// Runs the state machine for `caller`.
pub(super) async fn run<C: Caller>(core: &Core, order: Order<'_>, bound: Bound, caller: C) -> Result<C::Output> {
    let span = tracing::info_span!("lockbox_decision", request_id = order.request_id, decision = %order.decision);
    drive(core, order, bound, caller).instrument(span).await
}

/// The shortest time the service is given to show a round that may have been taken before the decision is sent
/// again: the poller's shortest interval between two looks at an accepted operation.
const SETTLE: Duration = MIN_FREQUENCY;

/// The pace of a decision's waits: the retry policy's delays and the poller's cadence.
struct Pace<'a> {
    policy: &'a Retries,
    cadence: WaiterOptions,
}

impl Pace<'_> {
    /// How long `wait` is before round `round`'s next step.
    fn of(&self, wait: Wait, round: u32) -> Duration {
        match wait {
            Wait::None => Duration::ZERO,
            Wait::Backoff => {
                let delay = self.policy.backoff(round, fastrand::f64());
                // Even with no retries configured, a read waits a moment for the service to finish its work.
                if delay.is_zero() { ExponentialRetries::default().initial_delay } else { delay }
            }
            // At least the poller's shortest interval: a `Retry-After: 0` must not make the reads a busy loop.
            Wait::Cadence(hint) => self.cadence.next_wait(hint).max(MIN_FREQUENCY),
            Wait::Settle => self.of(Wait::Backoff, round).max(SETTLE),
        }
    }
}

/// [`run`], before its error is redacted.
async fn drive<C: Caller>(core: &Core, order: Order<'_>, bound: Bound, caller: C) -> Result<C::Output> {
    let decision = order.decision.clone();
    let body = Approval { status: Some(decision.clone()), reason: Some(order.reason.to_owned()) };
    let policy = &core.pipeline().settings().retry;
    let pace = Pace { policy, cadence: caller.cadence() };
    let rounds = policy.max_retries().saturating_add(1);
    // How many times the decision went out, over every round (a tally for the caller, not a state).
    let mut attempts: u32 = 0;
    // The bound on the reconciling reads: the call's own, or, when it has none, the retry policy's budget
    // counted from the first read. Set at the first read.
    let mut reading: Option<Bound> = None;
    let history = History;
    let mut state = State::Sending { round: 1, wait: Wait::None, doubt: None };
    loop {
        state = match state {
            State::Sending { round, wait, doubt } => {
                let wait = pace.of(wait, round);
                tokio::time::sleep(bound.for_work().map_or(wait, |limit| wait.min(limit))).await;
                match bound.for_work() {
                    Some(limit) if limit.is_zero() => {
                        let error = bound.timeout("requests_update_status to be sent", "no time left to send it");
                        if doubt.is_some() { State::Unknown(error) } else { State::Refused(error) }
                    }
                    limit => {
                        history.sending(round);
                        let Round { sent, ids } = send(core, &order, &body, limit).await;
                        attempts = attempts.saturating_add(ids.attempts);
                        history.sent(round, &sent, &ids);
                        after_send(round, doubt, &decision, sent, ids)
                    }
                }
            }
            State::Following { poller, accepted } => match caller.accepted(poller, bound).await {
                ControlFlow::Break(output) => return Ok(output),
                ControlFlow::Continue(result) => {
                    history.followed(accepted.round, &result);
                    after_follow(accepted, &decision, result)
                }
            },
            State::Reading { wait, look } => {
                let reading = *reading.get_or_insert_with(|| bound.or_from_now(policy.budget()));
                // A failed read's delay grows with the reads before it.
                let wait = pace.of(wait, look.round.saturating_add(look.reads));
                // The last read is the one whose wait takes half of what is left (the other half is its own).
                let (wait, last) = match reading.left() {
                    Some(left) if wait >= half(left) => (half(left), true),
                    _ => (wait, false),
                };
                history.reading(look.round, wait, &look.error);
                tokio::time::sleep(wait).await;
                let read = read_status(core, order.subscription_id, order.request_id);
                // The read itself is cut only by the call's own bound (the pipeline bounds each of its tries).
                let read = match bound.left() {
                    Some(left) => tokio::time::timeout(left, read).await.unwrap_or_else(|_| {
                        Err(bound.timeout("requests_get to reconcile a decision", "no answer to the read"))
                    }),
                    None => read.await,
                };
                history.read(look.round, &read);
                let time_left = !last && reading.for_work().is_none_or(|left| !left.is_zero());
                after_read(look, rounds, &decision, read, time_left)
            }
            State::OutOfTime { look, last } => {
                // The bound the reads kept: the call's own, or the retry budget from the first read.
                let bound = reading.unwrap_or(bound);
                let what = format!("the request's status to settle it ({})", look.error);
                State::Unknown(bound.timeout(what, last.to_string()))
            }
            State::Answered(approval, ids) => {
                return Ok(caller.decided(decision_of(decision, approval, ids, attempts, false), bound).await);
            }
            State::Recorded { ids, read } => {
                return Ok(caller.decided(decision_of(decision, body, ids, attempts, read), bound).await);
            }
            State::Conflicted(current_status, call) => {
                let (request_id, call) = (order.request_id.to_owned(), call.map(Box::new));
                return Err(Error::DecisionConflict { request_id, decision, current_status, call });
            }
            State::Unknown(source) => {
                let request_id = order.request_id.to_owned();
                return Err(Error::DecisionOutcomeUnknown { request_id, decision, source: Box::new(source) });
            }
            State::Refused(error) => return Err(error),
        };
    }
}

/// `decision` for the caller: `approval` as recorded by call `ids`, after `attempts` sends in all.
fn decision_of(
    decision: ApprovalDecision,
    approval: Approval,
    ids: CallIds,
    attempts: u32,
    reconciled: bool,
) -> Decision {
    Decision {
        decision,
        response: WithCallIds::new(approval, CallIds { attempts, ..ids }),
        reconciled,
        until_final: None,
    }
}

/// The decision's history, logged at `info`: what each round sent and what came back, each read and what it
/// showed. (Text a server chose was redacted as it was received: see `src/error/redact.rs`.)
struct History;

impl History {
    fn shown(&self, approval: &Approval) -> String {
        approval.status.as_ref().map_or_else(|| "no decision".to_owned(), ToString::to_string)
    }

    fn sending(&self, round: u32) {
        tracing::info!(round, "sending the decision");
    }

    fn sent<P>(&self, round: u32, sent: &Sent<P>, ids: &CallIds) {
        let attempts = ids.attempts;
        match sent {
            Sent::Answer(approval) => tracing::info!(round, attempts, "answered, showing {}", self.shown(approval)),
            Sent::BodyLost => tracing::info!(round, attempts, "answered 2xx, its body lost"),
            Sent::Accepted { hint, .. } => tracing::info!(round, attempts, ?hint, "accepted (202), following it"),
            Sent::AcceptedBlind { hint, error } => {
                tracing::info!(round, attempts, ?hint, "accepted (202), cannot follow it: {}", error)
            }
            Sent::MayHaveBeenTaken(error) => {
                tracing::info!(round, attempts, "may have been taken: {}", error)
            }
            Sent::Refused(error) => tracing::info!(round, attempts, "refused: {}", error),
        }
    }

    fn followed(&self, round: u32, result: &Result<Approval>) {
        match result {
            Ok(approval) => tracing::info!(round, "the accepted operation ended, showing {}", self.shown(approval)),
            Err(error) => tracing::info!(round, "following the accepted operation ended: {}", error),
        }
    }

    fn reading(&self, round: u32, wait: Duration, why: &Error) {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(round, wait_ms, "outcome not known ({}); reading the request", why);
    }

    fn read(&self, round: u32, read: &Result<LockboxRequestStatus>) {
        match read {
            Ok(status) => tracing::info!(round, "the request read: {}", status),
            Err(error) => tracing::info!(round, "the request could not be read: {}", error),
        }
    }
}

/// Reads a request's status to reconcile an uncertain decision (the pipeline's retries included). A request
/// with no status reads as [`LockboxRequestStatus::Unknown`]: in flight, not final.
async fn read_status(core: &Core, subscription_id: &str, request_id: &str) -> Result<LockboxRequestStatus> {
    let send = |api: generated::Client| async move {
        api.requests_get()
            .subscription_id(subscription_id)
            .request_id(request_id)
            .api_version(core.api_version())
            .send()
            .await
    };
    let request = core.read(Operation::RequestsGet, send).await?;
    Ok(request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backoff_is_never_zero_and_a_cadence_honours_the_hint() {
        let none = Retries::None;
        let pace = Pace { policy: &none, cadence: WaiterOptions::default() };
        assert_eq!(pace.of(Wait::Backoff, 1), ExponentialRetries::default().initial_delay);
        assert_eq!(pace.of(Wait::None, 3), Duration::ZERO);
        assert_eq!(pace.of(Wait::Cadence(Some(Duration::from_secs(4))), 1), Duration::from_secs(4));
        assert_eq!(pace.of(Wait::Cadence(None), 1), WaiterOptions::default().frequency);
    }
}
