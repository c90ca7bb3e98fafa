//! Recording a decision (an approval or a denial) exactly once, and never reporting a plain failure for one the
//! service may have taken.
//!
//! A decision is not blindly resent after it may have reached the service (the pipeline stops at a 500, 502 or
//! 504, a lost connection or a timeout once it was sent, and says the outcome is ambiguous). Then the request is
//! read: its status tells whether the decision was taken. Once a try may have been taken, every later refusal is
//! read the same way, and so is a decision the service accepted (`202`) whose progress cannot be followed to its
//! end (its polling fails, its polling URL is on another host or missing, its final body shows no decision).
//! How a decision moves:
//!
//! ```text
//!                  +------------ Pending, may have been taken, a round and time left -----------+
//!                  v                                                                            |
//!   Sending { round } --200/201/204 + decision----------------------------------> Answered      |
//!     |  |   --2xx, body lost------------------------------------------------> Recorded         |
//!     |  |   --202 + polling URL--> Following --ends with the decision------> Answered          |
//!     |  |                                |  --fails, or names none------> Reading (Accepted)   |
//!     |  |   --202, cannot be followed----------------------------------> Reading (Accepted)     |
//!     |  '--refused (after an uncertain round: its currentStatus shows ours)--> Recorded         |
//!     |      --refused, after an uncertain round----------------------> Reading (Refused)        |
//!     |      --refused-----------------------------------------------------------> Refused       |
//!     '--may have been taken--> Reading { why } --shows the decision---------> Recorded          |
//!                                  |  --another final status---------------> Conflicted           |
//!                                  |  --cannot be read---------------------> Unknown              |
//!                                  |  --Pending, otherwise-----------------> Unknown              |
//!                                  '----------------------------------------------------------------'
//! ```
//!
//! Before a read the machine waits a backoff (the retry policy's delay for that round): a backend often
//! finishes its work after a gateway's `504`. `Conflicted` is [`Error::DecisionConflict`], `Unknown`
//! [`Error::DecisionOutcomeUnknown`]; `Answered` and `Recorded` give a [`Decision`], which says whether it was
//! reconciled by a read. The transitions ([`after_send`], [`after_follow`], [`after_read`]) are plain
//! functions; [`run`] runs them, within a [`Bound`]: the client's `timeout` (and a wait's own timeout) bounds the
//! whole call, of which part is kept for a reconciling read.
//!
//! Uses `core`, `poller`, `operation`, `status`, `models`, `response`, `retry` and `error`; used by
//! `requests.rs`.

use std::{ops::Deref, time::Duration};

use reqwest::StatusCode;
use tokio::time::Instant;

use crate::{
    core::Core,
    error::{Error, Result},
    generated::ClientRequestsExt,
    models::Approval,
    operation::Operation,
    poller::{Expect, Poller, PollerOptions},
    response::{CallIds, Response},
    retry::ExponentialRetryOptions,
    status::{ApprovalDecision, LockboxRequestStatus},
};

/// An approval or a denial the service recorded, with what an audit log cites: the ids of the call the service
/// recorded it in, how many attempts it took, and whether the outcome was learned by reading the request.
///
/// Derefs to the [`Approval`]; [`into_model`](Self::into_model) gives it.
///
/// ```no_run
/// # async fn demo(requests: azure_customer_lockbox::RequestsClient) -> azure_customer_lockbox::Result<()> {
/// let decision = requests.approve("req-1", "Ticket 123 checked").await?;
/// println!(
///     "approved: x-ms-request-id {:?}, x-ms-correlation-request-id {:?}, {} attempt(s), reconciled: {}",
///     decision.service_request_id(),
///     decision.correlation_request_id(),
///     decision.attempts(),
///     decision.reconciled(),
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Decision {
    response: Response<Approval>,
    reconciled: bool,
}

impl Decision {
    /// The approval: the service's answer, or, when that answer was lost or showed no decision, the decision and
    /// reason that were sent (the request's status showed them taken).
    pub fn into_model(self) -> Approval {
        self.response.into_model()
    }

    /// The `x-ms-request-id` of the call the service recorded the decision in: the answered try, or, when
    /// reconciled, the try that may have been taken (`None` when its answer was lost).
    pub fn service_request_id(&self) -> Option<&str> {
        self.response.service_request_id()
    }

    /// The `x-ms-correlation-request-id` of that call, as [`service_request_id`](Self::service_request_id).
    pub fn correlation_request_id(&self) -> Option<&str> {
        self.response.correlation_request_id()
    }

    /// The `x-ms-client-request-id` the SDK sent with that call.
    pub fn client_request_id(&self) -> Option<&str> {
        self.response.client_request_id()
    }

    /// How many times the decision was sent, over all rounds (retries of `429`/`503` included).
    pub fn attempts(&self) -> u32 {
        self.response.attempts()
    }

    /// True when the outcome was learned by reading the request, after a try whose answer was lost or after an
    /// accepted decision whose progress could not be followed.
    pub fn reconciled(&self) -> bool {
        self.reconciled
    }
}

impl Deref for Decision {
    type Target = Approval;
    fn deref(&self) -> &Approval {
        &self.response
    }
}

/// Why the request is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
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
enum State<P> {
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
fn after_send<P>(
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
fn after_follow<P>(round: u32, result: Result<Approval>, waited: Duration) -> State<P> {
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
fn after_read<P>(
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

/// The longest part of what is left that a decision keeps for a reconciling read (the wait before it included).
const READ_RESERVE: Duration = Duration::from_secs(5);

/// When a decision call must be over: the earlier of the client's `timeout` and a wait's own timeout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound(Option<Instant>);

impl Bound {
    /// Ends `limits` (each counted from now) from now: the shortest of them; no end when none is given.
    pub(crate) fn new(limits: impl IntoIterator<Item = Option<Duration>>) -> Self {
        let now = Instant::now();
        // A limit too far off to be an `Instant` is no limit.
        Self(limits.into_iter().flatten().filter_map(|limit| now.checked_add(limit)).min())
    }

    /// What is left.
    fn left(self) -> Option<Duration> {
        self.0.map(|end| end.saturating_duration_since(Instant::now()))
    }

    /// What a send or a wait may take: what is left, less what is kept for a reconciling read (half of it, at
    /// most [`READ_RESERVE`]).
    fn for_work(self) -> Option<Duration> {
        self.left().map(|left| left - (left / 2).min(READ_RESERVE))
    }

    fn timeout(self, what: &str) -> Error {
        Error::Timeout { what: what.into(), elapsed: Duration::ZERO, last_status: "no time left".into() }
    }
}

/// How a decision call ended.
enum Ended {
    /// Accepted with a polling URL, and not followed (a `begin_*` call): its poller.
    Following(Poller<Approval>),
    /// Decided.
    Decided(Decision),
}

/// Records `decision` with `reason` on a checked request id, exactly once, and returns a poller for it (see
/// the module doc): a `begin_*` call, whose caller follows an accepted decision's progress.
pub(crate) async fn record(
    core: &Core,
    subscription_id: &str,
    request_id: &str,
    decision: ApprovalDecision,
    reason: &str,
) -> Result<Poller<Approval>> {
    let bound = Bound::new([core.pipeline().settings().call_timeout]);
    match run(core, subscription_id, request_id, decision, reason, bound, None).await? {
        Ended::Following(poller) => Ok(poller),
        Ended::Decided(decision) => Ok(Poller::done(core, Operation::RequestsUpdateStatus, decision.into_model())),
    }
}

/// Records `decision` with `reason` on a checked request id, exactly once, follows an accepted decision's
/// progress with `options`, and says what the service recorded; all within `bound`.
pub(crate) async fn decide(
    core: &Core,
    subscription_id: &str,
    request_id: &str,
    decision: ApprovalDecision,
    reason: &str,
    bound: Bound,
    options: PollerOptions,
) -> Result<Decision> {
    match run(core, subscription_id, request_id, decision, reason, bound, Some(options)).await? {
        Ended::Decided(decision) => Ok(decision),
        Ended::Following(_) => Err(Error::Configuration("an accepted decision was not followed".into())),
    }
}

/// Runs the state machine; `follow` (the poller's options) when an accepted decision is followed here.
async fn run(
    core: &Core,
    subscription_id: &str,
    request_id: &str,
    decision: ApprovalDecision,
    reason: &str,
    bound: Bound,
    follow: Option<PollerOptions>,
) -> Result<Ended> {
    let body = Approval { status: Some(decision.clone()), reason: Some(reason.to_owned()) };
    let policy = &core.pipeline().settings().retry;
    let rounds = policy.max_retries() + 1;
    let mut attempts = 0;
    // The ids of the last try, and of the last one that may have been taken.
    let (mut last, mut taken): (CallIds, Option<CallIds>) = Default::default();
    let mut state = State::Sending { round: 1, uncertain: false };
    loop {
        state = match state {
            State::Sending { round, uncertain } => {
                let limit = bound.for_work();
                if limit.is_some_and(|limit| limit.is_zero()) {
                    let error = bound.timeout("requests_update_status to be sent");
                    if uncertain { State::Unknown(error) } else { State::Refused(error) }
                } else {
                    let send = core
                        .api()
                        .requests_update_status()
                        .subscription_id(subscription_id)
                        .request_id(request_id)
                        .api_version(core.api_version())
                        .body(body.clone())
                        .send();
                    let expect = Expect::BodyOr(serde_json::to_value(&body).unwrap_or_default());
                    let (result, meta) =
                        Poller::start_within(core, Operation::RequestsUpdateStatus, send, expect, limit).await;
                    attempts += meta.attempts;
                    last = CallIds::from_meta(&meta);
                    let accepted = meta.last_status == Some(StatusCode::ACCEPTED);
                    let next = after_send(round, uncertain, &decision, result, accepted, meta.ambiguous);
                    if let State::Reading { why: Why::MayHaveBeenTaken | Why::Accepted, .. } | State::Following { .. } =
                        &next
                    {
                        taken = Some(last.clone());
                    }
                    next
                }
            }
            State::Following { round, poller } => match &follow {
                None => return Ok(Ended::Following(poller)),
                Some(options) => {
                    let started = Instant::now();
                    let limit = bound.for_work();
                    let timeout = match (options.timeout, limit) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    let poller = poller.with_options(PollerOptions { timeout, ..options.clone() });
                    let result = match limit {
                        Some(limit) => tokio::time::timeout(limit, poller)
                            .await
                            .unwrap_or_else(|_| Err(bound.timeout("requests_update_status to finish"))),
                        None => poller.await,
                    };
                    after_follow(round, result, started.elapsed())
                }
            },
            State::Reading { round, why, error } => {
                tracing::info!(
                    request_id,
                    round,
                    "decision outcome unknown ({error}); reading the request to learn it"
                );
                let mut wait = policy.backoff(round, fastrand::f64());
                if wait.is_zero() {
                    wait = ExponentialRetryOptions::default().initial_delay;
                }
                if let Some(left) = bound.left() {
                    wait = wait.min(left / 2);
                }
                tokio::time::sleep(wait).await;
                let read = read_status(core, subscription_id, request_id);
                let read = match bound.left() {
                    Some(left) => tokio::time::timeout(left, read)
                        .await
                        .unwrap_or_else(|_| Err(bound.timeout("requests_get to reconcile a decision"))),
                    None => read.await,
                };
                let time_left = bound.for_work().is_none_or(|left| !left.is_zero());
                after_read(round, rounds, why, &decision, error, read, time_left)
            }
            State::Answered(approval) => {
                return Ok(Ended::Decided(Decision {
                    response: Response::new(approval, CallIds { attempts, ..last }),
                    reconciled: false,
                }));
            }
            State::Recorded { read } => {
                let ids = if read { taken.take().unwrap_or(last) } else { last };
                return Ok(Ended::Decided(Decision {
                    response: Response::new(body, CallIds { attempts, ..ids }),
                    reconciled: read,
                }));
            }
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
    }
}
