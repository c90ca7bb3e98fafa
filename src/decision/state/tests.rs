//! The transitions, case by case.

use super::*;

fn refusal(status: Option<&str>) -> Error {
    Error::DecisionConflict {
        request_id: "r".into(),
        decision: ApprovalDecision::Deny,
        current_status: LockboxRequestStatus::parse(status.unwrap_or("Expired")),
        call: None,
    }
}

fn timeout() -> Error {
    Error::Timeout { what: "x".into(), elapsed: Duration::ZERO, last_status: "no response".into() }
}

/// A `409` refusal, saying where the request stands when `current` is given.
fn conflict(current: Option<&str>) -> Error {
    let info = current.map_or_else(String::new, |s| {
        format!(r#","additionalInfo":[{{"type":"LockboxRequestStatus","info":{{"currentStatus":"{s}"}}}}]"#)
    });
    let body = format!(r#"{{"error":{{"code":"RequestNotPending","message":"no"{info}}}}}"#);
    let meta = crate::error::CallMeta::default();
    let headers = reqwest::header::HeaderMap::new();
    let error = crate::error::ServiceError::from_parts("x", StatusCode::CONFLICT, &headers, body.into(), &meta);
    Error::Service(Box::new(error))
}

fn ids(n: u32) -> CallIds {
    CallIds { client_request_id: Some(format!("round {n}")), ..Default::default() }
}

fn doubt(accepted: Option<Option<Duration>>) -> Doubt {
    Doubt { ids: ids(1), accepted }
}

fn approval(status: Option<ApprovalDecision>) -> Approval {
    Approval { status, reason: None }
}

fn name<P>(state: &State<P>) -> String {
    let credited = |ids: &CallIds| ids.client_request_id.clone().unwrap_or_default();
    match state {
        State::Sending { round, wait, doubt } => {
            format!("Sending {round} {wait:?} {}", doubt.as_ref().map_or("sure", |_| "in doubt"))
        }
        State::Following { accepted, .. } => {
            format!("Following {} {}", accepted.round, accepted.before.as_ref().map_or("sure", |_| "in doubt"))
        }
        State::Reading { wait, look } => {
            let cause = if look.cause == Cause::InDoubt { String::new() } else { format!(" {:?}", look.cause) };
            format!("Reading {} {wait:?} accepted={:?}{cause}", look.round, look.doubt.accepted)
        }
        State::OutOfTime { last, .. } => format!("OutOfTime {last}"),
        State::Answered(_, ids) => format!("Answered ({})", credited(ids)),
        State::Recorded { ids, read } => format!("Recorded read={read} ({})", credited(ids)),
        State::Conflicted(status, _) => format!("Conflicted {status}"),
        State::Unknown(_) => "Unknown".into(),
        State::Refused(_) => "Refused".into(),
    }
}

#[test]
fn transitions_after_sending() {
    let approve = ApprovalDecision::Approve;
    let hint = Some(Duration::from_secs(3));
    let send =
        |round, before: Option<Doubt>, sent: Sent<()>| name(&after_send(round, before, &approve, sent, ids(round)));
    let cases: Vec<(&str, String, &str)> = vec![
        ("answered", send(1, None, Sent::Answer(approval(Some(ApprovalDecision::Approve)))), "Answered (round 1)"),
        // An answer that names the other decision, or none, is read out, never success.
        (
            "answer names the other decision",
            send(1, None, Sent::Answer(approval(Some(ApprovalDecision::Deny)))),
            "Reading 1 Backoff accepted=None",
        ),
        ("answer names none", send(1, None, Sent::Answer(approval(None))), "Reading 1 Backoff accepted=None"),
        ("body lost", send(1, None, Sent::BodyLost), "Recorded read=false (round 1)"),
        ("accepted", send(1, None, Sent::Accepted { poller: (), hint }), "Following 1 sure"),
        (
            "accepted after doubt",
            send(2, Some(doubt(None)), Sent::Accepted { poller: (), hint }),
            "Following 2 in doubt",
        ),
        (
            "accepted, cannot follow",
            send(1, None, Sent::AcceptedBlind { hint, error: timeout() }),
            "Reading 1 Cadence(Some(3s)) accepted=Some(Some(3s))",
        ),
        ("may have been taken", send(1, None, Sent::MayHaveBeenTaken(timeout())), "Reading 1 Backoff accepted=None"),
        ("refused", send(1, None, Sent::Refused(refusal(Some("Denied")))), "Refused"),
        ("first round's refusal", send(1, None, Sent::Refused(refusal(Some("Approved")))), "Refused"),
        // A fresh round refused because the request is not pending: "already decided", whichever status.
        ("409, approved", send(1, None, Sent::Refused(conflict(Some("Approved")))), "Conflicted Approved"),
        ("409, expired", send(1, None, Sent::Refused(conflict(Some("Expired")))), "Conflicted Expired"),
        ("409, pending", send(1, None, Sent::Refused(conflict(Some("Pending")))), "Refused"),
        ("409, says nothing", send(1, None, Sent::Refused(conflict(None))), "Reading 1 None accepted=None NotPending"),
        // A refusal after an uncertain round that shows our decision: that round went through.
        (
            "refusal shows it",
            send(2, Some(doubt(None)), Sent::Refused(refusal(Some("Approved")))),
            "Recorded read=false (round 1)",
        ),
        // Any other refusal after an uncertain round is read out.
        (
            "refusal shows another",
            send(2, Some(doubt(None)), Sent::Refused(refusal(Some("Denied")))),
            "Reading 2 Backoff accepted=None",
        ),
        (
            "refusal shows nothing",
            send(2, Some(doubt(None)), Sent::Refused(timeout())),
            "Reading 2 Backoff accepted=None",
        ),
    ];
    for (case, state, expected) in cases {
        assert_eq!(state, expected, "{case}");
    }
}

#[test]
fn transitions_after_following() {
    let approve = ApprovalDecision::Approve;
    let hint = Some(Duration::from_secs(2));
    let follow = |before: Option<Doubt>, result| {
        name::<()>(&after_follow(Accepted { round: 2, ids: ids(2), hint, before }, &approve, result))
    };
    assert_eq!(follow(None, Ok(approval(Some(ApprovalDecision::Approve)))), "Answered (round 2)");
    assert_eq!(follow(None, Ok(approval(None))), "Reading 2 None accepted=None", "a final body without the decision");
    assert_eq!(
        follow(None, Ok(approval(Some(ApprovalDecision::Deny)))),
        "Reading 2 None accepted=None",
        "a final body naming the other decision"
    );
    let odd = ApprovalDecision::Other("Escalate".into());
    assert_eq!(follow(None, Ok(approval(Some(odd)))), "Reading 2 None accepted=None");
    assert_eq!(follow(None, Err(timeout())), "Reading 2 Cadence(Some(2s)) accepted=Some(Some(2s))", "may still land");
    let failed = || Error::OperationFailed { status: "Failed".into(), error: None };
    // Every accepted round is settled by the request's status, a failed or canceled one too.
    assert_eq!(follow(None, Err(failed())), "Reading 2 None accepted=None OperationFailed", "nothing else in doubt");
    let canceled = Error::OperationFailed { status: "Canceled".into(), error: None };
    assert_eq!(follow(None, Err(canceled)), "Reading 2 None accepted=None OperationFailed");
    // A resend's operation that fails after an uncertain round: the earlier round may be why.
    assert_eq!(follow(Some(doubt(None)), Err(failed())), "Reading 2 None accepted=None");
}

#[test]
fn transitions_after_reading() {
    let approve = ApprovalDecision::Approve;
    let hint = Some(Duration::from_secs(5));
    let read = |round, doubt: Doubt, status: Result<&str>, time_left| {
        let look = Look::new(round, doubt, timeout());
        name::<()>(&after_read(look, 4, &approve, status.map(LockboxRequestStatus::parse), time_left))
    };
    let read_settled = |round, doubt: Doubt, status: Result<&str>, time_left| {
        let look = Look { settled: true, ..Look::new(round, doubt, timeout()) };
        name::<()>(&after_read(look, 4, &approve, status.map(LockboxRequestStatus::parse), time_left))
    };
    let read_failed = |round, doubt: Doubt, failed_before| {
        let look = Look { failed: failed_before, ..Look::new(round, doubt, timeout()) };
        name::<()>(&after_read(look, 4, &approve, Err(timeout()), true))
    };
    let taken = || doubt(None);
    let accepted = || doubt(Some(hint));
    let cases: Vec<(&str, String, &str)> = vec![
        ("shows it", read(1, taken(), Ok("Approving"), true), "Recorded read=true (round 1)"),
        ("final", read(1, accepted(), Ok("Approved"), true), "Recorded read=true (round 1)"),
        ("shows it, no time left", read(1, taken(), Ok("Approved"), false), "Recorded read=true (round 1)"),
        ("another", read(1, taken(), Ok("Denied"), true), "Conflicted Denied"),
        ("expired", read(2, taken(), Ok("Expired"), true), "Conflicted Expired"),
        (
            "pending: read again after the service had time",
            read(1, taken(), Ok("Pending"), true),
            "Reading 1 Settle accepted=None",
        ),
        ("pending after that: send again", read_settled(1, taken(), Ok("Pending"), true), "Sending 2 None in doubt"),
        ("shows it after that", read_settled(1, taken(), Ok("Approved"), true), "Recorded read=true (round 1)"),
        ("pending, no round left", read(4, taken(), Ok("Pending"), true), "Unknown"),
        ("pending, no time left", read(1, taken(), Ok("Pending"), false), "OutOfTime Pending"),
        // An accepted decision may land after a read that shows Pending: keep reading, never resend.
        (
            "pending after acceptance",
            read(1, accepted(), Ok("Pending"), true),
            "Reading 1 Cadence(Some(5s)) accepted=Some(Some(5s))",
        ),
        ("pending after acceptance, no time left", read(1, accepted(), Ok("Pending"), false), "OutOfTime Pending"),
        // Only a final status other than ours is a conflict.
        ("initializing", read(1, taken(), Ok("Initializing"), true), "Reading 1 Cadence(None) accepted=None"),
        (
            "a status this SDK does not know",
            read(1, taken(), Ok("Escalated"), true),
            "Reading 1 Cadence(None) accepted=None",
        ),
        ("no status", read(1, taken(), Ok("Unknown"), true), "Reading 1 Cadence(None) accepted=None"),
        (
            "the other decision on its way",
            read(1, accepted(), Ok("Denying"), true),
            "Reading 1 Cadence(Some(5s)) accepted=Some(Some(5s))",
        ),
        ("in flight, no time left", read(1, taken(), Ok("Initializing"), false), "OutOfTime Initializing"),
        ("unreadable for now", read(1, taken(), Err(timeout()), true), "Reading 1 Backoff accepted=None"),
        ("unreadable, no time left", read(1, taken(), Err(timeout()), false), "Unknown"),
        ("unreadable three times running", read_failed(1, taken(), MAX_FAILED_READS - 1), "Unknown"),
        ("unreadable twice running", read_failed(1, taken(), MAX_FAILED_READS - 2), "Reading 1 Backoff accepted=None"),
        ("unreadable for good", read(1, taken(), Err(Error::Configuration("403".into())), true), "Unknown"),
    ];
    for (case, state, expected) in cases {
        assert_eq!(state, expected, "{case}");
    }
}

/// Reads after an accepted operation that failed, or after a refusal that did not say where the request
/// stands, nothing else in doubt.
#[test]
fn transitions_after_reading_a_failure_or_a_refusal() {
    let approve = ApprovalDecision::Approve;
    let read = |cause, status: Result<&str>, time_left| {
        let look = Look::new(1, doubt(None), timeout()).because(cause);
        name::<()>(&after_read(look, 4, &approve, status.map(LockboxRequestStatus::parse), time_left))
    };
    use Cause::{NotPending, OperationFailed};
    let cases: Vec<(&str, String, &str)> = vec![
        ("failed, shows it", read(OperationFailed, Ok("Approved"), true), "Recorded read=true (round 1)"),
        ("failed, shows it on its way", read(OperationFailed, Ok("Approving"), true), "Recorded read=true (round 1)"),
        ("failed, shows another", read(OperationFailed, Ok("Denied"), true), "Conflicted Denied"),
        ("failed, shows neither", read(OperationFailed, Ok("Pending"), true), "Refused"),
        ("failed, pending, no time left", read(OperationFailed, Ok("Pending"), false), "Refused"),
        (
            "failed, in flight",
            read(OperationFailed, Ok("Initializing"), true),
            "Reading 1 Cadence(None) accepted=None OperationFailed",
        ),
        (
            "failed, unreadable for good",
            read(OperationFailed, Err(Error::Configuration("403".into())), true),
            "Unknown",
        ),
        ("refused, approved", read(NotPending, Ok("Approved"), true), "Conflicted Approved"),
        ("refused, denied", read(NotPending, Ok("Denied"), true), "Conflicted Denied"),
        ("refused, pending", read(NotPending, Ok("Pending"), true), "Refused"),
        ("refused, unreadable", read(NotPending, Err(timeout()), false), "Refused"),
    ];
    for (case, state, expected) in cases {
        assert_eq!(state, expected, "{case}");
    }
}
