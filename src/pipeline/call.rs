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
pub(super) fn new_request_id() -> HeaderValue {
    HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header value")
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
        let state = std::mem::take(&mut *state.lock().unwrap_or_else(PoisonError::into_inner));
        self.end(operation, result, state, &span).await
    }

    /// Turns what a call came to into its result, and records it in the call's span.
    async fn end<T>(
        &self,
        operation: Operation,
        result: std::result::Result<Sent<T>, Duration>,
        mut state: CallState,
        span: &tracing::Span,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        let text = |value: HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
        state.meta.client_request_id = state.client_request_id.take().map(text);
        // Header values as received, which the `exec` hook redacted (see `hooks.rs`).
        state.meta.last_request_id = state.last_request_id.take().map(text);
        state.meta.last_correlation_id = state.last_correlation_id.take().map(text);
        let meta = &mut state.meta;
        span.record("attempts", meta.attempts);
        if let Some(status) = meta.last_status {
            span.record("status", status.as_u16());
        }
        if let Some(request_id) = &meta.last_request_id {
            span.record("request_id", request_id.as_str());
        }
        let error = match result {
            Ok(Ok(value)) => return (Ok(value), state.meta),
            Ok(Err(error)) => error,
            Err(limit) => {
                // Cut while a decision was on its way, or while the body of its success came in: the service
                // may have taken it, or has.
                meta.ambiguous |= meta.in_flight;
                let error = Error::Timeout {
                    what: format!("{} to complete", operation.name()),
                    elapsed: limit,
                    last_status: meta.last_status.map_or_else(|| "no response".into(), |s| s.to_string()),
                };
                return (Err(error), state.meta);
            }
        };
        let cause = if let Some(source) = state.credential_error {
            Cause::Credential(source)
        } else if let Some((url, reason)) = state.refused_url {
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
        let limit = self.settings().max_response_body;
        let error = into_error(operation.name(), cause, &state.meta, limit);
        (Err(error), state.meta)
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
            c.attempts_before = c.meta.attempts;
            (c.meta.attempts, c.started)
        })?;
        let used = Used { tries, elapsed: started.map_or(Duration::ZERO, |s| s.elapsed()) };
        match retry::next(&self.settings().retry, Try::Lost, true, used, fastrand::f64()) {
            Next::Retry(wait) => Some(wait),
            Next::Stop(_) => None,
        }
    }
}
