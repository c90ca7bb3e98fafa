//! The states a decision moves through and its transitions ([`after_send`], [`after_follow`], [`after_read`]):
//! plain functions from what a step came to to the next state, with no I/O, so a table of cases tests them.
//! The diagram is in the [module doc](super); [`run`](super::run) drives them.
//!
//! One rule shapes them all: once a round may have been taken (or was accepted), nothing ends the call but the
//! request's own status, read from the service. A refusal, a failed operation, an answer that names no decision
//! or another one, a timeout: each is followed by a read. A read that shows `Pending` proves only that no round
//! has landed *yet*; an accepted round (and a try cut on the client's side) can still land after it.

use std::time::Duration;

use reqwest::StatusCode;

use crate::{
    call_ids::CallIds,
    error::{Error, Result},
    models::Approval,
    status::{ApprovalDecision, LockboxRequestStatus},
};

/// What one round of sending came to (see `send.rs`).
#[derive(Debug)]
pub(super) enum Sent<P> {
    /// A `2xx` whose body is an approval (it may name our decision, another one or none).
    Answer(Approval),
    /// A `2xx` whose body was lost, cut, blank or could not be decoded: the service took it.
    BodyLost,
    /// `202 Accepted` with a polling URL the token may go to: its poller, and the `Retry-After` it asked for.
    Accepted { poller: P, hint: Option<Duration> },
    /// `202 Accepted` whose progress cannot be followed (no polling URL, or one on a foreign origin): why.
    AcceptedBlind { hint: Option<Duration>, error: Error },
    /// Failed after it may have reached the service (500, 502, 504, a lost connection or a timeout once sent).
    MayHaveBeenTaken(Error),
    /// Refused by the service, or failed before it could reach it.
    Refused(Error),
}

/// What is known of the rounds that may have been taken.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Doubt {
    /// The ids of the latest round that may have been taken: the call a read that shows the decision credits.
    pub(super) ids: CallIds,
    /// A round the service accepted (`202`) whose operation was not seen to end: it may still land, so the
    /// decision is never sent again while it is outstanding. Holds the wait its answer asked for (`Retry-After`).
    pub(super) accepted: Option<Option<Duration>>,
}

/// What the rounds before a stretch of reads came to: it says what a read that shows neither decision means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cause {
    /// A round may have been taken, or was accepted and may still land.
    InDoubt,
    /// The only accepted round's operation ended `Failed` or `Canceled`, and nothing else may land: a request
    /// that shows neither decision confirms the failure (one that shows the decision was recorded all the same).
    OperationFailed,
    /// The service refused a round (`409`) without saying where the request stands, and nothing else may land:
    /// a request that is not `Pending` was decided (or expired) before, a `Pending` one confirms the refusal.
    NotPending,
}

/// A stretch of reconciling reads: what they are to learn, and how far they got.
#[derive(Debug)]
pub(super) struct Look {
    /// The last round sent.
    pub(super) round: u32,
    /// The reads done so far in this stretch (a failed read's wait grows with them).
    pub(super) reads: u32,
    /// The reads in a row that failed (after the pipeline's own retries).
    pub(super) failed: u32,
    /// Whether the service was given a [`Wait::Settle`] before the last read: a round that may have been taken
    /// is sent again only after a read that followed one.
    pub(super) settled: bool,
    /// What may have been taken.
    pub(super) doubt: Doubt,
    /// Why the outcome is not known: the error it ends with if it never becomes known.
    pub(super) error: Error,
    /// What the rounds came to.
    pub(super) cause: Cause,
}

impl Look {
    fn new(round: u32, doubt: Doubt, error: Error) -> Self {
        Self { round, reads: 0, failed: 0, settled: false, doubt, error, cause: Cause::InDoubt }
    }

    fn because(self, cause: Cause) -> Self {
        Self { cause, ..self }
    }
}

/// A round the service accepted (`202`) whose operation is being followed.
#[derive(Debug)]
pub(super) struct Accepted {
    /// The round.
    pub(super) round: u32,
    /// Its call's ids.
    pub(super) ids: CallIds,
    /// The wait its answer asked for before the first look (`Retry-After`).
    pub(super) hint: Option<Duration>,
    /// What was in doubt before it.
    pub(super) before: Option<Doubt>,
}

/// How many reads in a row may fail (each after the pipeline's own retries) before the outcome is unknown: a
/// request that cannot be read three times running will not tell within any useful time.
pub(super) const MAX_FAILED_READS: u32 = 3;

/// How long to wait before the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    /// Not at all.
    None,
    /// The retry policy's delay for the round (a backend often finishes its work after a gateway's `504`).
    Backoff,
    /// The poller's cadence: the service's hint (`Retry-After` of a `202`) or the options' frequency.
    Cadence(Option<Duration>),
    /// Before a read that decides whether to send again: the retry delay, and at least the shortest interval
    /// at which the poller would look at an accepted operation, so that a round whose answer was lost but which
    /// the service took has had the time to show.
    Settle,
}

/// Where a decision stands.
#[derive(Debug)]
pub(super) enum State<P> {
    /// Sending it for the `round`th time, after `wait`; `doubt` once an earlier round may have been taken.
    Sending { round: u32, wait: Wait, doubt: Option<Doubt> },
    /// Following the operation of an accepted round with its `poller`.
    Following { poller: P, accepted: Accepted },
    /// Reading the request after `wait` to learn what the rounds came to.
    Reading { wait: Wait, look: Look },
    /// The service's answer to round's call `ids` names the decision.
    Answered(Approval, CallIds),
    /// The service has the decision (call `ids`), though no answer showed it: report it as sent. `read` when a
    /// read of the request showed it.
    Recorded { ids: CallIds, read: bool },
    /// The request reached another final status; the ids of the call the conflict is known from.
    Conflicted(LockboxRequestStatus, Option<CallIds>),
    /// It cannot be told whether the decision was taken.
    Unknown(Error),
    /// The call's bound ended with the outcome not known; `last` is the status the last read showed. (The
    /// driver turns it into [`State::Unknown`] with the bound's own timeout, which names the bound.)
    OutOfTime { look: Look, last: LockboxRequestStatus },
    /// The decision was refused, and no round may have been taken: the refusal.
    Refused(Error),
}

/// The error that says why an answer did not settle it: it named no decision, or another one.
fn unconfirmed(decision: &ApprovalDecision, approval: &Approval) -> Error {
    Error::DecisionNotShown { decision: decision.clone(), shown: approval.status.clone() }
}

/// The state after round `round` (call `ids`) was sent and came to `sent`; `doubt` is what was in doubt before.
pub(super) fn after_send<P>(
    round: u32,
    doubt: Option<Doubt>,
    decision: &ApprovalDecision,
    sent: Sent<P>,
    ids: CallIds,
) -> State<P> {
    match sent {
        Sent::Answer(approval) if approval.status.as_ref() == Some(decision) => State::Answered(approval, ids),
        // A `2xx` that names no decision, or the other one (a mock or a confused proxy): the service took
        // something; what, its status tells.
        Sent::Answer(approval) => {
            let error = unconfirmed(decision, &approval);
            State::Reading { wait: Wait::Backoff, look: Look::new(round, Doubt { ids, accepted: None }, error) }
        }
        Sent::BodyLost => {
            // The service said yes; only its answer's body was lost or could not be decoded. The decision was
            // taken: report it as sent, not as a failure that would invite a second one.
            State::Recorded { ids, read: false }
        }
        Sent::Accepted { poller, hint } => {
            State::Following { poller, accepted: Accepted { round, ids, hint, before: doubt } }
        }
        Sent::AcceptedBlind { hint, error } => State::Reading {
            wait: Wait::Cadence(hint),
            look: Look::new(round, Doubt { ids, accepted: Some(hint) }, error),
        },
        Sent::MayHaveBeenTaken(error) => {
            State::Reading { wait: Wait::Backoff, look: Look::new(round, Doubt { ids, accepted: None }, error) }
        }
        Sent::Refused(error) => match doubt {
            // Nothing was in doubt: the refusal is the answer. A `409` because the request is not pending is the
            // one answer for "already decided", whichever status it is in; one that does not say where the
            // request stands is read out.
            None if error.status() == Some(StatusCode::CONFLICT) => match error.current_status() {
                Some(status) if !status.is_pending() => State::Conflicted(status, error.call_ids().cloned()),
                Some(_) => State::Refused(error),
                None => {
                    let look = Look::new(round, Doubt { ids, accepted: None }, error).because(Cause::NotPending);
                    State::Reading { wait: Wait::None, look }
                }
            },
            None => State::Refused(error),
            // Refused after a round that may have gone through: a "not pending" refusal that shows our decision
            // says that round did; any other refusal is read out.
            Some(doubt) => match error.current_status() {
                Some(status) if status.reflects(decision) => State::Recorded { ids: doubt.ids, read: false },
                _ => State::Reading { wait: Wait::Backoff, look: Look::new(round, doubt, error) },
            },
        },
    }
}

/// The state after the poller of the `accepted` round ended with `result`.
pub(super) fn after_follow<P>(accepted: Accepted, decision: &ApprovalDecision, result: Result<Approval>) -> State<P> {
    let Accepted { round, ids, hint, before } = accepted;
    match result {
        Ok(approval) if approval.status.as_ref() == Some(decision) => State::Answered(approval, ids),
        // The operation ended, but its final answer names no decision or another one: the status tells.
        Ok(approval) => {
            let error = unconfirmed(decision, &approval);
            State::Reading { wait: Wait::None, look: Look::new(round, Doubt { ids, accepted: None }, error) }
        }
        // The operation ended `Failed` or `Canceled`: as every accepted round, settled by the request's status.
        Err(error @ Error::OperationFailed { .. }) => match before {
            // Nothing else may land: neither decision shown confirms the failure.
            None => {
                let look = Look::new(round, Doubt { ids, accepted: None }, error).because(Cause::OperationFailed);
                State::Reading { wait: Wait::None, look }
            }
            // An earlier round may have landed, and may be why this one failed.
            Some(doubt) => State::Reading { wait: Wait::None, look: Look::new(round, doubt, error) },
        },
        // Its progress could not be followed to the end (polls failed, a timeout): it may still land.
        Err(error) => State::Reading {
            wait: Wait::Cadence(hint),
            look: Look::new(round, Doubt { ids, accepted: Some(hint) }, error),
        },
    }
}

/// The state after a read (`read`: the request's status, or why it could not be read) in the stretch `look`,
/// with `rounds` rounds in all; `time_left` when the call's bound leaves time for more.
pub(super) fn after_read<P>(
    look: Look,
    rounds: u32,
    decision: &ApprovalDecision,
    read: Result<LockboxRequestStatus>,
    time_left: bool,
) -> State<P> {
    let look = Look { reads: look.reads.saturating_add(1), ..look };
    let (status, look) = match read {
        Ok(status) => (status, Look { failed: 0, ..look }),
        // A read that may pass later is tried again after a growing delay, a few times in a row; one that cannot
        // (403, 404) cannot tell.
        Err(read_error)
            if read_error.is_retryable() && time_left && look.failed.saturating_add(1) < MAX_FAILED_READS =>
        {
            let look = Look { error: read_error, failed: look.failed.saturating_add(1), ..look };
            return State::Reading { wait: Wait::Backoff, look };
        }
        // Nothing of this call may land after a refusal: it stands.
        Err(_) if look.cause == Cause::NotPending => return State::Refused(look.error),
        Err(read_error) => return State::Unknown(read_error),
    };
    if look.cause == Cause::NotPending {
        // Refused, and the request is not pending: decided (or expired) before this call.
        return if status.is_pending() {
            State::Refused(look.error)
        } else {
            State::Conflicted(status, look.error.call_ids().cloned())
        };
    }
    if status.reflects(decision) {
        return State::Recorded { ids: look.doubt.ids, read: true };
    }
    // Only a final status other than ours is a conflict.
    if status.is_final() {
        return State::Conflicted(status, Some(look.doubt.ids));
    }
    if look.cause == Cause::OperationFailed && status.is_pending() {
        // The operation failed and nothing else may land: the failure, confirmed by the request's status.
        return State::Refused(look.error);
    }
    if !time_left {
        return State::OutOfTime { look, last: status };
    }
    match look.doubt.accepted {
        // Accepted and not seen to end, or in flight (Initializing, a status this SDK does not know, another
        // decision on its way, no status at all): it may still land. Keep reading at the poller's pace.
        Some(hint) => State::Reading { wait: Wait::Cadence(hint), look },
        None if !status.is_pending() => State::Reading { wait: Wait::Cadence(None), look },
        // Pending, no accepted round outstanding, and a round left: read once more after the service was given
        // time to show a round it took, and send again only if that read too shows Pending. Should an earlier
        // round still land first, the service refuses the resend, and the refusal is read out.
        None if look.round < rounds && !look.settled => {
            State::Reading { wait: Wait::Settle, look: Look { settled: true, ..look } }
        }
        None if look.round < rounds => {
            State::Sending { round: look.round.saturating_add(1), wait: Wait::None, doubt: Some(look.doubt) }
        }
        // Pending, with nothing left to try: it may still be on its way.
        None => State::Unknown(look.error),
    }
}

#[cfg(test)]
mod tests;
