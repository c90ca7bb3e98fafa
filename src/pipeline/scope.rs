//! The call context: what one logical call carries and learns on its way. `call.rs` makes one per call and
//! hands the generated client a [`Pipeline`] that holds it ([`Pipeline::for_call`]); the hooks that client
//! runs (`hooks.rs`) read and write it through `self`, so nothing travels beside the call.

use std::sync::{Arc, Mutex, PoisonError};

use reqwest::header::HeaderValue;

use super::Pipeline;
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
}

/// One call's state, shared by the call and the pipeline value its requests are sent through. The lock is
/// never held across an `await`: every access is one short closure ([`Pipeline::with_call`]).
pub(super) type Shared = Arc<Mutex<CallState>>;

impl CallState {
    /// What the call learned, made ready to hand back when it ends: the ids kept as header values turned into
    /// text in its [`CallMeta`], and recorded in the call's `span`.
    pub(super) fn close(&mut self, span: &tracing::Span) {
        // Visible ASCII, as ids are, is taken as it is; anything else lossily (a third of the cost, callgrind).
        let text = |value: HeaderValue| match value.to_str() {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
        };
        let ids = &mut self.meta.ids;
        ids.client_request_id = self.client_request_id.take().map(text);
        // Header values as received, which the `exec` hook redacted (see `hooks.rs`).
        ids.service_request_id = self.last_request_id.take().map(text);
        ids.correlation_request_id = self.last_correlation_id.take().map(text);
        span.record("attempts", ids.attempts);
        if let Some(status) = self.meta.last_status {
            span.record("status", status.as_u16());
        }
        if let Some(request_id) = &ids.service_request_id {
            span.record("request_id", request_id.as_str());
        }
    }
}

impl Pipeline {
    /// This pipeline (the same settings, token cache, HTTP client and gate), carrying the call `state`: what
    /// the generated client of that one call is built on.
    pub(super) fn for_call(&self, state: Shared) -> Self {
        Self { call: Some(state), ..self.clone() }
    }

    /// Runs `f` on the state of the call this pipeline value carries; `None` on the client's own pipeline,
    /// which carries no call (nothing sends through it).
    pub(super) fn with_call<R>(&self, f: impl FnOnce(&mut CallState) -> R) -> Option<R> {
        let call = self.call.as_ref()?;
        Some(f(&mut call.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}
