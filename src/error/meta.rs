//! What one call learned on its way (attempts, statuses, ids), gathered by the pipeline and read to build
//! errors and to reconcile decisions.

use std::time::Duration;

use reqwest::StatusCode;

use crate::call_ids::CallIds;

/// What one logical call learned on its way; read after the call to build errors and to reconcile decisions.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallMeta {
    /// The call's identity as the caller gets it: the ids of its last answer, its own id and its attempts. Kept
    /// here in the type it is handed on in, and moved out, not copied (`WithCallIds`, `Decision`).
    pub(crate) ids: CallIds,
    pub(crate) retry_after: Option<Duration>,
    /// The last failure may have been carried out by the service (a decision only).
    pub(crate) ambiguous: bool,
    /// An attempt of a decision went out and its answer has not been refused nor read whole: were the call
    /// cut now, it might have been carried out. (A success stays in flight until its body is read.)
    pub(crate) in_flight: bool,
    pub(crate) last_status: Option<StatusCode>,
}
