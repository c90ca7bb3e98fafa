//! What one call learned on its way (attempts, statuses, ids), gathered by the pipeline and read to build
//! errors and to reconcile decisions.

use std::time::Duration;

use reqwest::StatusCode;

use crate::call_ids::CallIds;

/// What one logical call learned on its way; read after the call to build errors and to reconcile decisions.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallMeta {
    pub(crate) client_request_id: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) retry_after: Option<Duration>,
    /// The last failure may have been carried out by the service (a decision only).
    pub(crate) ambiguous: bool,
    /// An attempt of a decision went out and its answer has not been refused nor read whole: were the call
    /// cut now, it might have been carried out. (A success stays in flight until its body is read.)
    pub(crate) in_flight: bool,
    pub(crate) last_status: Option<StatusCode>,
    pub(crate) last_request_id: Option<String>,
    /// `x-ms-correlation-request-id` of the last answer.
    pub(crate) last_correlation_id: Option<String>,
}

impl CallMeta {
    /// The call's identity, as a caller sees it.
    pub(crate) fn call_ids(&self) -> CallIds {
        CallIds {
            service_request_id: self.last_request_id.clone(),
            correlation_request_id: self.last_correlation_id.clone(),
            client_request_id: self.client_request_id.clone(),
            attempts: self.attempts,
        }
    }
}
