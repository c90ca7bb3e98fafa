//! [`Decision`]: what a recorded approval or denial gives its caller (the approval, the ids of the call the service
//! recorded it in, the attempts, and whether it was learned by reading the request).

use std::sync::Arc;

#[cfg(doc)]
use crate::error::Error;
use crate::{
    call_ids::CallIds,
    error::Result,
    models::{Approval, LockboxRequestResponse},
    response::WithCallIds,
    status::ApprovalDecision,
};

/// An approval or a denial the service recorded, with what an audit log cites: the ids of the call the service
/// recorded it in, how many attempts it took, and whether the outcome was learned by reading the request.
///
/// [`decision`](Self::decision) is what the service recorded (always the decision sent: an answer that named
/// another one is never a `Decision`), [`reason`](Self::reason) its reason; [`approval`](Self::approval) and
/// [`into_model`](Self::into_model) give the [`Approval`] itself.
///
/// ```no_run
/// use azure_customer_lockbox::{RequestsClient, Result};
///
/// async fn approve(requests: &RequestsClient) -> Result<()> {
///     let decision = requests.approve("7e2ad9c4-0b4f-4c5a-9b7e-1f2d3c4b5a69", "Ticket 123 checked", None).await?;
///     let ids = decision.call_ids();
///     println!(
///         "{} ({:?}): x-ms-request-id {:?}, x-ms-correlation-request-id {:?}, {} attempt(s), reconciled: {}",
///         decision.decision(),
///         decision.reason(),
///         ids.service_request_id,
///         ids.correlation_request_id,
///         ids.attempts,
///         decision.reconciled(),
///     );
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Decision {
    pub(super) decision: ApprovalDecision,
    pub(super) response: WithCallIds<Approval>,
    pub(super) reconciled: bool,
    /// What the wait until the request's status was final came to, when the call was asked to wait
    /// ([`DecisionOptions::until_final`](super::DecisionOptions::until_final)). Shared, so a `Decision` stays
    /// `Clone` though an [`Error`] is not.
    pub(super) until_final: Option<Arc<Result<LockboxRequestResponse>>>,
}

impl Decision {
    /// The decision the service recorded: the one that was sent.
    pub fn decision(&self) -> &ApprovalDecision {
        &self.decision
    }

    /// Its reason: the service's answer's, or, when that answer was lost, the reason that was sent.
    pub fn reason(&self) -> Option<&str> {
        self.response.reason.as_deref()
    }

    /// The approval: the service's answer, or, when that answer was lost or showed no decision, the decision and
    /// reason that were sent.
    pub fn approval(&self) -> &Approval {
        &self.response
    }

    /// The approval: the service's answer, or, when that answer was lost or showed no decision, the decision and
    /// reason that were sent (the request's status showed them taken).
    pub fn into_model(self) -> Approval {
        self.response.into_model()
    }

    /// The identity of the call the service recorded the decision in: its `x-ms-request-id` and
    /// `x-ms-correlation-request-id` (the answered try, or, when reconciled, the try that may have been taken:
    /// `None` when its answer was lost), the `x-ms-client-request-id` the SDK sent, and how many times the
    /// decision was sent over all rounds (retries of `429`/`503` included).
    pub fn call_ids(&self) -> &CallIds {
        self.response.call_ids()
    }

    /// What the wait until the request's status was final came to, when the call was asked to wait
    /// ([`DecisionOptions::until_final`](super::DecisionOptions::until_final)); `None` otherwise. The decision
    /// was recorded either way: this is only whether its final status could be confirmed.
    ///
    /// `Ok` holds the request as last read, its status final and reflecting the decision. `Err` says why it
    /// could not be confirmed: [`Error::Timeout`] (with the last status seen) when the call's bound (the wait's
    /// `timeout` or the client's, whichever ends first) passed, the error of a read that failed, or
    /// [`Error::DecisionConflict`] when the request ended in another final status (it expired, say). Never send
    /// the decision again for it: read the request.
    ///
    /// ```no_run
    /// use azure_customer_lockbox::{options::{DecisionOptions, WaiterOptions}, RequestsClient, Result};
    ///
    /// async fn approve_until_final(requests: &RequestsClient) -> Result<()> {
    ///     let options = DecisionOptions { until_final: Some(WaiterOptions::default()), ..Default::default() };
    ///     let decision = requests.approve("7e2ad9c4-0b4f-4c5a-9b7e-1f2d3c4b5a69", "Ticket 123", Some(options)).await?;
    ///     match decision.until_final() {
    ///         Some(Ok(request)) => println!("final: {:?}", request.status()),
    ///         Some(Err(error)) => println!("{} recorded; final status not confirmed: {error}", decision.decision()),
    ///         None => println!("{} recorded", decision.decision()),
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn until_final(&self) -> Option<&Result<LockboxRequestResponse>> {
        self.until_final.as_deref()
    }

    /// The request as last read, its status final and reflecting the decision, when the call was asked to wait
    /// for that and the wait confirmed it (see [`until_final`](Self::until_final)); `None` otherwise.
    pub fn request(&self) -> Option<&LockboxRequestResponse> {
        self.until_final().and_then(|waited| waited.as_ref().ok())
    }

    /// This decision with what the wait after it came to: the one way a wait's outcome reaches the caller, so
    /// that it is kept beside the decision and can never take its place.
    pub(super) fn waited(self, outcome: Result<LockboxRequestResponse>) -> Self {
        Self { until_final: Some(Arc::new(outcome)), ..self }
    }

    /// True when the outcome was learned by reading the request, after a try whose answer was lost or after an
    /// accepted decision whose progress could not be followed.
    pub fn reconciled(&self) -> bool {
        self.reconciled
    }
}
