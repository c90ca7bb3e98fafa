//! [`send`]: one round of a decision, from the `POST` to what its first answer says ([`Sent`]). It follows
//! nothing: an accepted round's poller is handed back for [`run`](super::run) to follow, or not.

use std::time::Duration;

use reqwest::StatusCode;

use super::{Order, state::Sent};
use crate::{
    call_ids::CallIds,
    core::Core,
    error::Error,
    generated::{self, ClientRequestsExt},
    models::Approval,
    operation::Operation,
    waiter::{Expect, FirstAnswer, Waiter, first_answer},
};

/// What one round came to, with the ids and attempts of its call.
pub(super) struct Round {
    pub(super) sent: Sent<Waiter<Approval>>,
    pub(super) ids: CallIds,
}

/// Sends `order` once (the pipeline's own retries included), its call bounded by `limit`.
pub(super) async fn send(core: &Core, order: &Order<'_>, body: &Approval, limit: Option<Duration>) -> Round {
    let call = |api: generated::Client| async move {
        api.requests_update_status()
            .subscription_id(order.subscription_id)
            .request_id(order.request_id)
            .api_version(core.api_version())
            .body(body.clone())
            .send()
            .await
    };
    let (result, mut meta) = first_answer(core, Operation::RequestsUpdateStatus, call, limit).await;
    let ids = std::mem::take(&mut meta.ids);
    let sent = match result {
        Ok(FirstAnswer::Done(value)) => Sent::Answer(value.into_inner()),
        // `202`, or a `201` that names a polling URL: followed. (A `204` has nothing to follow.)
        Ok(FirstAnswer::Accepted(accepted))
            if accepted.status() == StatusCode::ACCEPTED
                || (accepted.status() == StatusCode::CREATED && accepted.has_polling_url()) =>
        {
            let hint = accepted.retry_after();
            // What the poller gives when the operation's final answer has no body: what was sent.
            let expect = Expect::BodyOr(serde_json::to_value(body).unwrap_or_default());
            match Waiter::follow(core, accepted, expect) {
                Ok(poller) => Sent::Accepted { poller, hint },
                // No polling URL, or one the token may not go to: accepted all the same.
                Err(error) => Sent::AcceptedBlind { hint, error },
            }
        }
        // `201` or `204` with nothing to follow: done now; its body (if any) says what was recorded.
        Ok(FirstAnswer::Accepted(accepted)) => match accepted.body::<Approval>() {
            Some(approval) => Sent::Answer(approval),
            None => Sent::BodyLost,
        },
        Err(error) => classify(error, meta.ambiguous, meta.last_status),
    };
    Round { sent, ids }
}

/// What a failed round came to: `ambiguous` when the pipeline says the service may have carried it out,
/// `last_status` the status of its last answer.
fn classify<P>(error: Error, ambiguous: bool, last_status: Option<StatusCode>) -> Sent<P> {
    if last_status == Some(StatusCode::ACCEPTED) || error.status() == Some(StatusCode::ACCEPTED) {
        // Accepted, but its answer could not be read whole (a cut body): there is nothing to follow.
        return Sent::AcceptedBlind { hint: None, error };
    }
    if error.status().is_some_and(|status| status.is_success()) {
        return Sent::BodyLost;
    }
    if ambiguous { Sent::MayHaveBeenTaken(error) } else { Sent::Refused(error) }
}

/// A [`Sent`]'s variant, for the tests.
#[cfg(test)]
fn name<P>(sent: &Sent<P>) -> &'static str {
    match sent {
        Sent::Answer(_) => "Answer",
        Sent::BodyLost => "BodyLost",
        Sent::Accepted { .. } => "Accepted",
        Sent::AcceptedBlind { .. } => "AcceptedBlind",
        Sent::MayHaveBeenTaken(_) => "MayHaveBeenTaken",
        Sent::Refused(_) => "Refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout() -> Error {
        Error::Timeout { what: "x".into(), elapsed: Duration::ZERO, last_status: "no response".into() }
    }

    #[test]
    fn failed_rounds_are_classified_by_what_the_service_may_have_done() {
        let case = |ambiguous, last| name(&classify::<()>(timeout(), ambiguous, last));
        assert_eq!(case(false, Some(StatusCode::ACCEPTED)), "AcceptedBlind", "a 202 whose body was cut");
        assert_eq!(case(true, Some(StatusCode::BAD_GATEWAY)), "MayHaveBeenTaken");
        assert_eq!(case(true, None), "MayHaveBeenTaken", "a timeout once sent");
        assert_eq!(case(false, Some(StatusCode::CONFLICT)), "Refused");
        assert_eq!(case(false, None), "Refused", "failed before it was sent");
    }
}
