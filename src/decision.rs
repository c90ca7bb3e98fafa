//! Recording a decision (an approval or a denial) exactly once, and never reporting a plain failure for one the
//! service may have taken.
//!
//! A decision is not blindly resent after it may have reached the service (the pipeline stops at a 500, 502 or
//! 504, a lost connection or a timeout once it was sent, and says the outcome is ambiguous). Then the request is
//! read: its status tells whether the decision was taken. How a decision moves:
//!
//! ```text
//!                  +---------------------- Pending, a round left -----------------------+
//!                  v                                                                    |
//!   Sending { round } --2xx------------------------------------------> Accepted / Recorded
//!          |  --refused (after an uncertain round: its currentStatus shows ours)--> Recorded
//!          |  --refused-------------------------------------------------------> Refused
//!          '--may have been taken--> Reading { round } --shows the decision--> Recorded
//!                                         |  --another final status--------> Conflicted
//!                                         |  --cannot be read--------------> Unknown
//!                                         |  --Pending, no round left------> Refused
//!                                         '----------------------------------------------'
//! ```
//!
//! `Accepted` hands back the poller of a 200/201/202/204; `Recorded` a poller that is ready with what was sent;
//! `Conflicted` is [`Error::DecisionConflict`], `Unknown` [`Error::DecisionOutcomeUnknown`]. The transitions
//! ([`after_send`], [`after_read`]) are plain functions; [`record`] runs them. Uses `core`, `poller`,
//! `operation`, `status`, `models` and `error`; used by `requests.rs`.

use crate::{
    core::Core,
    error::{Error, Result},
    generated::ClientRequestsExt,
    models::Approval,
    operation::Operation,
    poller::{Expect, Poller},
    status::{ApprovalDecision, LockboxRequestStatus},
};

/// Where a decision stands.
#[derive(Debug)]
enum State<P> {
    /// Sending it, for the `round`th time; `uncertain` once an earlier round may have been taken.
    Sending { round: u32, uncertain: bool },
    /// Round `round` may have been taken: reading the request to find out. `error` is that round's failure.
    Reading { round: u32, error: Error },
    /// The service answered 2xx: the poller of its answer.
    Accepted(P),
    /// The service has the decision, though its answer was lost or refused: report it as sent.
    Recorded,
    /// The request reached another final status.
    Conflicted(LockboxRequestStatus),
    /// It cannot be told whether the decision was taken: the request could not be read.
    Unknown(Error),
    /// The decision was refused, or not taken after the last round: the refusal.
    Refused(Error),
}

/// The state after round `round` was sent and answered `result`; `ambiguous` when the pipeline says the service
/// may have carried it out.
fn after_send<P>(
    round: u32,
    uncertain: bool,
    decision: &ApprovalDecision,
    result: Result<P>,
    ambiguous: bool,
) -> State<P> {
    let error = match result {
        Ok(poller) => return State::Accepted(poller),
        Err(error) => error,
    };
    if let Some(status) = error.status().filter(reqwest::StatusCode::is_success) {
        // The service said yes; only its answer's body was lost or could not be decoded. The decision was
        // taken: report it as sent, not as a failure that would invite a second one.
        tracing::warn!(
            status = status.as_u16(),
            "decision accepted, but the answer's body could not be read ({error}); reporting it as sent"
        );
        return State::Recorded;
    }
    if !ambiguous {
        // A definite answer. After an earlier round that may have gone through, a "not pending" refusal showing
        // our decision means that round did.
        return match (uncertain, error.current_status()) {
            (true, Some(status)) if status.reflects(decision) => State::Recorded,
            _ => State::Refused(error),
        };
    }
    State::Reading { round, error }
}

/// The state after the request was read (`read`) to reconcile round `round` of `rounds`, which failed with
/// `error`.
fn after_read<P>(
    round: u32,
    rounds: u32,
    decision: &ApprovalDecision,
    error: Error,
    read: Result<LockboxRequestStatus>,
) -> State<P> {
    match read {
        Err(read_error) => State::Unknown(read_error),
        Ok(status) if status.reflects(decision) => {
            tracing::info!(%status, "decision was recorded by the failed attempt");
            State::Recorded
        }
        Ok(status) if !status.is_pending() => State::Conflicted(status),
        Ok(_) if round >= rounds => State::Refused(error),
        Ok(_) => State::Sending { round: round + 1, uncertain: true },
    }
}

/// Records `decision` with `reason` on a checked request id, exactly once (see the module doc).
pub(crate) async fn record(
    core: &Core,
    subscription_id: &str,
    request_id: &str,
    decision: ApprovalDecision,
    reason: &str,
) -> Result<Poller<Approval>> {
    let body = Approval { status: Some(decision.clone()), reason: Some(reason.to_owned()) };
    let rounds = core.pipeline().settings().retry.max_retries() + 1;
    let mut state = State::Sending { round: 1, uncertain: false };
    loop {
        state = match state {
            State::Sending { round, uncertain } => {
                let send = core
                    .api()
                    .requests_update_status()
                    .subscription_id(subscription_id)
                    .request_id(request_id)
                    .api_version(core.api_version())
                    .body(body.clone())
                    .send();
                let expect = Expect::BodyOr(serde_json::to_value(&body).unwrap_or_default());
                let (result, meta) = Poller::start(core, Operation::RequestsUpdateStatus, send, expect).await;
                after_send(round, uncertain, &decision, result, meta.ambiguous)
            }
            State::Reading { round, error } => {
                tracing::info!(
                    request_id,
                    round,
                    "decision outcome unknown ({error}); reading the request to reconcile"
                );
                let read = read_status(core, subscription_id, request_id).await;
                after_read(round, rounds, &decision, error, read)
            }
            State::Accepted(poller) => return Ok(poller),
            State::Recorded => return Ok(Poller::done(core, Operation::RequestsUpdateStatus, body)),
            State::Conflicted(current_status) => {
                return Err(Error::DecisionConflict { request_id: request_id.to_owned(), decision, current_status });
            }
            State::Unknown(source) => {
                return Err(Error::DecisionOutcomeUnknown {
                    request_id: request_id.to_owned(),
                    decision,
                    source: Box::new(source),
                });
            }
            State::Refused(error) => return Err(error),
        };
    }
}

/// Reads a request's status to reconcile an uncertain decision. A read is safe to repeat, so a read that fails
/// even after the pipeline's retries is tried again, up to three times in all.
async fn read_status(core: &Core, subscription_id: &str, request_id: &str) -> Result<LockboxRequestStatus> {
    let mut tries = 0;
    loop {
        tries += 1;
        let send = || {
            core.api()
                .requests_get()
                .subscription_id(subscription_id)
                .request_id(request_id)
                .api_version(core.api_version())
                .send()
        };
        match core.read(Operation::RequestsGet, send).await {
            Ok(request) => return Ok(request.status().cloned().unwrap_or(LockboxRequestStatus::Unknown)),
            Err(error) if tries < 3 && error.is_retryable() => {
                tracing::info!(request_id, tries, "reconciling read failed ({error}); reading again");
            }
            Err(error) => return Err(error),
        }
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
        Error::Timeout { what: "x".into(), elapsed: std::time::Duration::ZERO, last_status: "no response".into() }
    }

    fn name<P>(state: &State<P>) -> String {
        match state {
            State::Sending { round, uncertain } => format!("Sending {round} {uncertain}"),
            State::Reading { round, .. } => format!("Reading {round}"),
            State::Accepted(_) => "Accepted".into(),
            State::Recorded => "Recorded".into(),
            State::Conflicted(status) => format!("Conflicted {status}"),
            State::Unknown(_) => "Unknown".into(),
            State::Refused(_) => "Refused".into(),
        }
    }

    #[test]
    fn transitions_after_sending() {
        let approve = ApprovalDecision::Approve;
        let cases: Vec<(&str, State<()>, &str)> = vec![
            ("accepted", after_send(1, false, &approve, Ok(()), false), "Accepted"),
            ("refused", after_send(1, false, &approve, Err(refusal(Some("Denied"))), false), "Refused"),
            ("may have been taken", after_send(1, false, &approve, Err(timeout()), true), "Reading 1"),
            // A refusal after an uncertain round that shows our decision: that round went through.
            ("refusal shows it", after_send(2, true, &approve, Err(refusal(Some("Approved"))), false), "Recorded"),
            ("refusal shows another", after_send(2, true, &approve, Err(refusal(Some("Denied"))), false), "Refused"),
            ("first round's refusal", after_send(1, false, &approve, Err(refusal(Some("Approved"))), false), "Refused"),
        ];
        for (case, state, expected) in cases {
            assert_eq!(name(&state), expected, "{case}");
        }
    }

    #[test]
    fn transitions_after_reading() {
        let approve = ApprovalDecision::Approve;
        let read = |status: &str| Ok(LockboxRequestStatus::parse(status));
        let cases: Vec<(&str, State<()>, &str)> = vec![
            ("shows it", after_read(1, 4, &approve, timeout(), read("Approving")), "Recorded"),
            ("final", after_read(1, 4, &approve, timeout(), read("Approved")), "Recorded"),
            ("another", after_read(1, 4, &approve, timeout(), read("Denied")), "Conflicted Denied"),
            ("expired", after_read(1, 4, &approve, timeout(), read("Expired")), "Conflicted Expired"),
            ("pending: send again", after_read(1, 4, &approve, timeout(), read("Pending")), "Sending 2 true"),
            ("pending, no round left", after_read(4, 4, &approve, timeout(), read("Pending")), "Refused"),
            ("unreadable", after_read(1, 4, &approve, timeout(), Err(timeout())), "Unknown"),
        ];
        for (case, state, expected) in cases {
            assert_eq!(name(&state), expected, "{case}");
        }
    }
}
