//! The call scope: what one logical call learns on its way, shared by the call (`call.rs`) and the hooks
//! (`hooks.rs`, `body.rs`) through a task-local, so that the hooks progenitor calls need no extra arguments.

use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::HeaderValue;

use crate::error::CallMeta;

/// The state of one call. Created by `call.rs` for each call, read back when it ends.
#[derive(Default)]
pub(super) struct CallState {
    pub(super) meta: CallMeta,
    /// This call's `x-ms-client-request-id`, sent by every attempt.
    pub(super) client_request_id: Option<HeaderValue>,
    pub(super) credential_error: Option<azure_core::Error>,
    pub(super) refused_url: Option<(String, String)>,
    /// The token this call sent, to scrub from what comes back even after a 401 dropped it from the cache.
    pub(super) secret: Option<HeaderValue>,
    /// `x-ms-request-id` of the last response, as received (turned into text, redacted, when the call ends).
    pub(super) last_request_id: Option<HeaderValue>,
    /// `x-ms-correlation-request-id` of the last response, as received (turned into text as above).
    pub(super) last_correlation_id: Option<HeaderValue>,
    /// When the call's first attempt went out.
    pub(super) started: Option<tokio::time::Instant>,
    /// Attempts made by earlier sends of this call: a read sent again after the body of its answer was cut
    /// numbers its attempts after them, and its retries come out of the same policy (see `call.rs`).
    pub(super) attempts_before: u32,
    /// The largest body this call reads (the client's `max_response_body`).
    pub(super) body_limit: usize,
    /// A body was larger than `body_limit`.
    pub(super) body_too_large: bool,
}

/// A call's state, shared between the call and the hooks it runs.
pub(super) type Shared = Arc<Mutex<CallState>>;

tokio::task_local! {
    static CALL: Shared;
}

/// Runs `f` on the current call's state; `None` outside a call.
pub(super) fn with_call<R>(f: impl FnOnce(&mut CallState) -> R) -> Option<R> {
    CALL.try_with(|state| f(&mut state.lock().unwrap_or_else(PoisonError::into_inner))).ok()
}

/// `future`, run with `state` as the current call's state.
pub(super) fn in_scope<F: Future>(state: Shared, future: F) -> impl Future<Output = F::Output> {
    CALL.scope(state, future)
}
