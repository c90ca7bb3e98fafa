//! The states a decision moves through and its transitions ([`after_send`], [`after_follow`], [`after_read`]):
//! plain functions from what a step came to to the next state, with no I/O, so a table of cases tests them.
//! The diagram is in the [module doc](super); [`run`](super::run) drives them.

use std::time::Duration;

use reqwest::StatusCode;

use crate::{
    error::{Error, Result},
    models::Approval,
    status::{ApprovalDecision, LockboxRequestStatus},
};

/// Why the request is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Why {
    /// The round may have been carried out (500, 502, 504, a lost connection, a timeout while on its way): if the
    /// request is still `Pending`, the decision may be sent again.
    MayHaveBeenTaken,
    /// The round was refused after an earlier one may have been carried out, which may be why.
    RefusedAfterUncertain,
    /// The service accepted it (`202`), but its progress could not be followed to the end.
    Accepted,
}

/// Where a decision stands.
#[derive(Debug)]
pub(super) enum State<P> {
    /// Sending it, for the `round`th time; `uncertain` once an earlier round may have been taken.
    Sending { round: u32, uncertain: bool },
    /// Following the progress of an accepted decision (its poller).
    Following { round: u32, poller: P },
    /// Reading the request to learn what round `round` came to. `error` is why it is not known.
    Reading { round: u32, why: Why, error: Error },
    /// The service's answer shows the decision.
    Answered(Approval),
    /// The service has the decision, though its answer was lost or showed no decision: report it as sent.
    /// `read` when a read of the request showed it.
    Recorded { read: bool },
    /// The request reached another final status.
    Conflicted(LockboxRequestStatus),
    /// It cannot be told whether the decision was taken.
    Unknown(Error),
    /// The decision was refused, and no earlier round may have been taken: the refusal.
    Refused(Error),
}

/// The state after round `round` was sent and answered `result`: `accepted` when the service answered `202`,
/// `ambiguous` when the pipeline says the service may have carried it out.
pub(super) fn after_send<P>(
    round: u32,
    uncertain: bool,
    decision: &ApprovalDecision,
    result: Result<P>,
    accepted: bool,
    ambiguous: bool,
) -> State<P> {
    let error = match result {
        Ok(poller) => return State::Following { round, poller },
        Err(error) => error,
    };
    if accepted || error.status() == Some(StatusCode::ACCEPTED) {
        // Accepted, but there is nothing to follow (no polling header, or one the token may not go to).
        return State::Reading { round, why: Why::Accepted, error };
    }
    if let Some(status) = error.status().filter(StatusCode::is_success) {
        // The service said yes; only its answer's body was lost or could not be decoded. The decision was
        // taken: report it as sent, not as a failure that would invite a second one.
        tracing::warn!(
            status = status.as_u16(),
            "decision accepted, but the answer's body could not be read ({error}); reporting it as sent"
        );
        return State::Recorded { read: false };
    }
    if ambiguous {
        return State::Reading { round, why: Why::MayHaveBeenTaken, error };
    }
    if !uncertain {
        return State::Refused(error);
    }
    // Refused after an earlier round that may have gone through: a "not pending" refusal that shows our
    // decision says that round did; any other refusal is read out.
    match error.current_status() {
        Some(status) if status.reflects(decision) => State::Recorded { read: false },
        _ => State::Reading { round, why: Why::RefusedAfterUncertain, error },
    }
}

/// The state after the poller of an accepted decision (round `round`) ended with `result`, `waited` after it
/// started.
pub(super) fn after_follow<P>(round: u32, result: Result<Approval>, waited: Duration) -> State<P> {
    match result {
        // The service's answer names a decision: keep it as sent (even a value this SDK does not know).
        Ok(approval) if approval.status.is_some() => State::Answered(approval),
        // A final body that names no decision (the request resource, say): the request's status tells.
        Ok(_) => State::Reading {
            round,
            why: Why::Accepted,
            error: Error::Timeout {
                what: "the accepted decision to show".into(),
                elapsed: waited,
                last_status: "a final answer that shows no decision".into(),
            },
        },
        // The service says the operation failed: a definite answer.
        Err(error @ Error::OperationFailed { .. }) => State::Refused(error),
        Err(error) => State::Reading { round, why: Why::Accepted, error },
    }
}

/// The state after the request was read (`read`) to learn what round `round` of `rounds` came to (`why` it
/// was read, `error` why it was not known); `time_left` when there is time for another round.
pub(super) fn after_read<P>(
    round: u32,
    rounds: u32,
    why: Why,
    decision: &ApprovalDecision,
    error: Error,
    read: Result<LockboxRequestStatus>,
    time_left: bool,
) -> State<P> {
    match read {
        Err(read_error) => State::Unknown(read_error),
        Ok(status) if status.reflects(decision) => {
            tracing::info!(%status, "the request shows the decision taken");
            State::Recorded { read: true }
        }
        Ok(status) if !status.is_pending() => State::Conflicted(status),
        Ok(_) if why == Why::MayHaveBeenTaken && round < rounds && time_left => {
            State::Sending { round: round + 1, uncertain: true }
        }
        // Still Pending, and it cannot be sent again (no round or time left, or it was accepted or refused):
        // it may still be on its way.
        Ok(_) => State::Unknown(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: Option<&str>) -> Error {
        Error::DecisionConflict {
            request_id: "r".into(),
            decision: ApprovalDecision::Deny,
            current_status: LockboxRequestStatus::parse(status.unwrap_or("Expired")),
        }
    }

    fn timeout() -> Error {
        Error::Timeout { what: "x".into(), elapsed: Duration::ZERO, last_status: "no response".into() }
    }

    fn name<P>(state: &State<P>) -> String {
        match state {
            State::Sending { round, uncertain } => format!("Sending {round} {uncertain}"),
            State::Following { round, .. } => format!("Following {round}"),
            State::Reading { round, why, .. } => format!("Reading {round} {why:?}"),
            State::Answered(_) => "Answered".into(),
            State::Recorded { read } => format!("Recorded {read}"),
            State::Conflicted(status) => format!("Conflicted {status}"),
            State::Unknown(_) => "Unknown".into(),
            State::Refused(_) => "Refused".into(),
        }
    }

    #[test]
    fn transitions_after_sending() {
        let approve = ApprovalDecision::Approve;
        let send = |round, uncertain, result, accepted, ambiguous| {
            name::<()>(&after_send(round, uncertain, &approve, result, accepted, ambiguous))
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("answered", send(1, false, Ok(()), false, false), "Following 1"),
            ("refused", send(1, false, Err(refusal(Some("Denied"))), false, false), "Refused"),
            ("may have been taken", send(1, false, Err(timeout()), false, true), "Reading 1 MayHaveBeenTaken"),
            ("accepted, cannot follow", send(1, false, Err(timeout()), true, false), "Reading 1 Accepted"),
            // A refusal after an uncertain round that shows our decision: that round went through.
            ("refusal shows it", send(2, true, Err(refusal(Some("Approved"))), false, false), "Recorded false"),
            // Any other refusal after an uncertain round is read out.
            (
                "refusal shows another",
                send(2, true, Err(refusal(Some("Denied"))), false, false),
                "Reading 2 RefusedAfterUncertain",
            ),
            ("refusal shows nothing", send(2, true, Err(timeout()), false, false), "Reading 2 RefusedAfterUncertain"),
            ("first round's refusal", send(1, false, Err(refusal(Some("Approved"))), false, false), "Refused"),
        ];
        for (case, state, expected) in cases {
            assert_eq!(state, expected, "{case}");
        }
    }

    #[test]
    fn transitions_after_following() {
        let follow = |result| name::<()>(&after_follow(1, result, Duration::ZERO));
        let approval = |status: Option<ApprovalDecision>| Approval { status, reason: None };
        assert_eq!(follow(Ok(approval(Some(ApprovalDecision::Approve)))), "Answered");
        assert_eq!(follow(Ok(approval(None))), "Reading 1 Accepted", "a final body without the decision");
        let odd = ApprovalDecision::Other("Escalate".into());
        assert_eq!(follow(Ok(approval(Some(odd)))), "Answered", "the service's answer is kept as sent");
        assert_eq!(follow(Err(timeout())), "Reading 1 Accepted");
        let failed = Error::OperationFailed { status: "Failed".into(), error: None };
        assert_eq!(follow(Err(failed)), "Refused");
    }

    #[test]
    fn transitions_after_reading() {
        use Why::*;
        let approve = ApprovalDecision::Approve;
        let read = |round, why, status: Result<&str>, time_left| {
            name::<()>(&after_read(
                round,
                4,
                why,
                &approve,
                timeout(),
                status.map(LockboxRequestStatus::parse),
                time_left,
            ))
        };
        let cases: Vec<(&str, String, &str)> = vec![
            ("shows it", read(1, MayHaveBeenTaken, Ok("Approving"), true), "Recorded true"),
            ("final", read(1, Accepted, Ok("Approved"), true), "Recorded true"),
            ("another", read(1, MayHaveBeenTaken, Ok("Denied"), true), "Conflicted Denied"),
            ("expired", read(2, RefusedAfterUncertain, Ok("Expired"), true), "Conflicted Expired"),
            ("pending: send again", read(1, MayHaveBeenTaken, Ok("Pending"), true), "Sending 2 true"),
            ("pending, no round left", read(4, MayHaveBeenTaken, Ok("Pending"), true), "Unknown"),
            ("pending, no time left", read(1, MayHaveBeenTaken, Ok("Pending"), false), "Unknown"),
            ("pending after a refusal", read(2, RefusedAfterUncertain, Ok("Pending"), true), "Unknown"),
            ("pending after acceptance", read(1, Accepted, Ok("Pending"), true), "Unknown"),
            ("unreadable", read(1, MayHaveBeenTaken, Err(timeout()), true), "Unknown"),
        ];
        for (case, state, expected) in cases {
            assert_eq!(state, expected, "{case}");
        }
    }
}
