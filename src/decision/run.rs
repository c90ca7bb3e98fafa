//! [`run`]: the loop that drives a decision's [states](super::state) — it sends the decision, follows an accepted
//! one's poller, waits a backoff and reads the request to reconcile, all within a [`Bound`] — and [`read_status`],
//! the reconciling read.

use reqwest::StatusCode;
use tokio::time::Instant;

use super::{
    Decision, Order,
    bound::Bound,
    state::{State, Why, after_follow, after_read, after_send},
};
use crate::{
    core::Core,
    error::{Error, Result},
    generated::ClientRequestsExt,
    models::Approval,
    operation::Operation,
    poller::{Expect, Poller, PollerOptions},
    response::{CallIds, Response},
    retry::ExponentialRetryOptions,
    status::LockboxRequestStatus,
};

/// How a decision call ended.
pub(super) enum Ended {
    /// Accepted with a polling URL, and not followed (a `begin_*` call): its poller.
    Following(Poller<Approval>),
    /// Decided.
    Decided(Decision),
}

/// Runs the state machine; `follow` (the poller's options) when an accepted decision is followed here.
///
/// Every error it ends with passes the redaction step: a [`Error::DecisionConflict`]'s status is text the
/// service chose (the request's status as read), and may echo the token like any other.
pub(super) async fn run(core: &Core, order: Order<'_>, bound: Bound, follow: Option<PollerOptions>) -> Result<Ended> {
    drive(core, order, bound, follow).await.map_err(|error| core.pipeline().redacted(error))
}

/// [`run`], before its error is redacted.
async fn drive(core: &Core, order: Order<'_>, bound: Bound, follow: Option<PollerOptions>) -> Result<Ended> {
    let Order { subscription_id, request_id, decision, reason } = order;
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
