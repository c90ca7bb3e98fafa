//! One logical call: a generated operation's `send()`, a page or a poll, run with its own call context (see
//! `scope.rs`) and tracing span, bounded by the client's `timeout`, its failure turned into an [`Error`].

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use progenitor_client::ResponseValue;
use reqwest::header::HeaderValue;
use tracing::Instrument;

use super::{
    Pipeline, Sent,
    body::{read_body, too_large},
    scope::CallState,
};
use crate::{
    deadline::Deadline,
    error::{CallMeta, Cause, Error, Result, into_error},
    operation::Operation,
    retry::{self, Next, Try, Used},
};

/// A fresh random (version 4) UUID for `x-ms-client-request-id`.
///
/// Written into an array the value owns (`Bytes::from_owner`): one allocation, shared by every copy the call
/// makes (one per attempt, one for its spare request). From a `String` it was three: the text, the value's copy
/// of it, and the shared buffer its first copy turned it into (callgrind, `BENCH_PROFILE=sdk-get`).
pub(super) fn new_request_id() -> HeaderValue {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(text)).expect("a UUID is a valid header value")
}

impl Pipeline {
    /// Runs one logical call with its own call context and tracing span, bounded by `limit` (the client's
    /// `timeout`, a caller's per-call timeout, or the part of the call's bound a decision may use: see
    /// `decision/bound.rs`), and converts its error. `send` is handed the call's pipeline (see [`Pipeline::for_call`]): the generated client it
    /// builds on it (`generated::Client::on`) runs the hooks with this call's context.
    pub(crate) async fn call_within<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        limit: Option<Duration>,
        send: impl FnOnce(Pipeline) -> F,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        let client_request_id = new_request_id();
        let span = tracing::debug_span!(
            "customer_lockbox",
            operation = operation.name(),
            client_request_id = client_request_id.to_str().unwrap_or_default(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let state =
            Arc::new(Mutex::new(CallState { client_request_id: Some(client_request_id), ..Default::default() }));
        let sent = send(self.for_call(state.clone())).instrument(span.clone());
        let result = match limit {
            Some(limit) => tokio::time::timeout_at(Deadline::after(limit).instant(), sent).await.map_err(|_| limit),
            None => Ok(sent.await),
        };
        let mut state = std::mem::take(&mut *state.lock().unwrap_or_else(PoisonError::into_inner));
        state.close(&span);
        // A success is handed back here, not through one more future: only a refusal reads on (its body).
        let error = match result {
            Ok(Ok(value)) => return (Ok(value), state.meta),
            Ok(Err(error)) => self.failed(operation, error, &mut state).await,
            Err(limit) => {
                let meta = &mut state.meta;
                // Cut while a decision was on its way, or while the body of its success came in: the service
                // may have taken it, or has.
                meta.ambiguous |= meta.in_flight;
                Error::Timeout {
                    what: format!("{} to complete", operation.name()),
                    elapsed: limit,
                    last_status: meta.last_status.map_or_else(|| "no response".into(), |s| s.to_string()),
                }
            }
        };
        (Err(error), state.meta)
    }

    /// The error a call that ended in progenitor's `error` comes to: what the hooks recorded in the call's
    /// context (a credential failure, a refused URL) first; an unexpected answer's body is read for it.
    async fn failed(&self, operation: Operation, error: progenitor_client::Error<()>, state: &mut CallState) -> Error {
        let cause = if let Some(source) = state.credential_error.take() {
            Cause::Credential(source)
        } else if let Some((url, reason)) = state.refused_url.take() {
            Cause::RefusedUrl { url, reason }
        } else {
            match error {
                progenitor_client::Error::ResponseBodyError(e) if too_large(&e) => Cause::BodyTooLarge,
                progenitor_client::Error::UnexpectedResponse(response) => {
                    let (status, headers) = (response.status(), response.headers().clone());
                    Cause::Refused { status, headers, body: read_body(response).await }
                }
                error => Cause::Other(error),
            }
        };
        into_error(operation.name(), cause, &state.meta, self.settings().max_response_body)
    }

    /// Runs a read as one logical call, as [`Self::call_within`] does, with one more kind of retry: when a success
    /// answer's body is cut (the connection dropped, or the per-try timeout passed, half-way through it), `send`
    /// is called again and the read is resent, while the retry policy allows. The resent attempts keep the
    /// call's `x-ms-client-request-id`, are numbered after the earlier ones, and share the policy's retries and
    /// time budget with them. A body larger than the limit is not resent. Only for operations that are safe to
    /// repeat.
    pub(crate) async fn read<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        send: impl FnMut(Pipeline) -> F,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        self.read_within(operation, self.settings().call_timeout, send).await
    }

    /// [`Self::read`], bounded by `limit` instead of the client's `timeout` (a caller's
    /// [`ReadOptions::timeout`](crate::options::ReadOptions::timeout)).
    pub(crate) async fn read_within<T, F: Future<Output = Sent<T>>>(
        &self,
        operation: Operation,
        limit: Option<Duration>,
        mut send: impl FnMut(Pipeline) -> F,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        self.call_within(operation, limit, |call: Pipeline| async move {
            loop {
                match send(call.clone()).await {
                    Err(progenitor_client::Error::ResponseBodyError(error)) if !too_large(&error) => {
                        match call.resend_after_cut_body() {
                            Some(wait) => {
                                tracing::debug!(%error, wait_ms = retry::millis(wait), "answer's body cut; retrying");
                                tokio::time::sleep(wait).await;
                            }
                            None => return Err(progenitor_client::Error::ResponseBodyError(error)),
                        }
                    }
                    result => return result,
                }
            }
        })
        .await
    }

    /// After a success answer's body was cut: how long to wait before sending the read again, or `None` when
    /// the retry policy says stop. Earlier sends' attempts count against its retries and budget.
    fn resend_after_cut_body(&self) -> Option<Duration> {
        let (tries, started) = self.with_call(|c| {
            c.attempts_before = c.meta.ids.attempts;
            (c.meta.ids.attempts, c.started)
        })?;
        let used = Used { tries, elapsed: started.map_or(Duration::ZERO, |s| s.elapsed()) };
        match retry::next(&self.settings().retry, Try::Lost, true, used, fastrand::f64()) {
            Next::Retry(wait) => Some(wait),
            Next::Stop(_) => None,
        }
    }
}
