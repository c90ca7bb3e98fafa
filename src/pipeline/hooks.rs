//! What happens to each request of a call: [`Pipeline::prepare`] (progenitor's `pre` hook) checks its origin
//! and gets the token; [`Pipeline::send`] (the `exec` hook) stamps the headers and sends it, again while the
//! retry policy ([`retry::next`]) says so. Each answer enters the crate there: its headers and body redacted and the
//! body capped (`body.rs`, `src/error/redact.rs`). Both
//! record what they learn in the call context the pipeline value carries (`scope.rs`).

use std::time::Duration;

use reqwest::{
    Request, Response, StatusCode,
    header::{AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT},
};

use super::{Pipeline, body::entering, scope::CallState};
use crate::{
    auth::token_bytes,
    error::{PIECE, Pieces, Redactor, classify},
    operation::Operation,
    retry::{self, Next, Stop, Try, Used},
};

pub(super) const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const CORRELATION_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-correlation-request-id");

impl Pipeline {
    /// Checks the request's origin and gets the token: the two things that can refuse a call before anything
    /// is sent. A `poll` may also go to an allowed poll origin (see [`Pipeline::may_send_to`]). The reason for a
    /// refusal is in the call context, for the error the call ends with.
    pub(crate) async fn prepare(&self, request: &Request, poll: bool) -> Result<(), String> {
        let settings = self.settings();
        if !self.may_send_to(request.url(), poll) {
            let url = request.url().to_string();
            self.with_call(|c| c.refused_url = Some((url, "not on the configured endpoint".into())));
            return Err("refused URL".into());
        }
        match settings.auth.authorization().await {
            Ok(token) => {
                self.with_call(|c| c.secret = Some(token));
                Ok(())
            }
            Err(error) => {
                self.with_call(|c| c.credential_error = Some(error));
                Err("credential failure".into())
            }
        }
    }

    /// Sends the request, and sends it again while the retry policy allows.
    ///
    /// Not an `async fn`: one would keep `request` twice in its future, as passed and as moved into its body
    /// (rust-lang/rust#62958). The future of every call holds this one, so with 64 calls in flight its size is
    /// memory the calls go through (`cargo bench --bench overhead`, get c=64; BENCHMARKS.md).
    #[expect(clippy::manual_async_fn, reason = "an `async fn` keeps `request` twice in its future")]
    pub(crate) fn send(
        &self,
        mut request: Request,
        operation: Operation,
    ) -> impl Future<Output = reqwest::Result<Response>> + '_ {
        async move {
            let settings = self.settings();
            let (client_request_id, token, mut attempt, started) = self
                .with_call(|c| (c.client_request_id.clone(), c.secret.clone(), c.attempts_before, c.started))
                .unwrap_or_default();
            let token = token.or_else(|| settings.auth.current_header());
            // What the redaction step looks for the token with (two Bloom filters of its 4- and 8-grams), built once
            // per token and kept with it in the token cache, instead of once per answer: for a 1.7 KB token that
            // building cost about as much as everything else the SDK adds to a small `Requests_Get` (`cargo bench
            // --bench overhead`, get c=1 and c=64; see BENCHMARKS.md, 2026-12-07). Dropped with the token.
            let pieces = token
                .as_ref()
                .filter(|token| token_bytes(token).len() >= PIECE)
                .and_then(|token| settings.auth.derived(token, || Pieces::new(token_bytes(token))));
            let started = started.unwrap_or_else(tokio::time::Instant::now);
            loop {
                // Saturating: the policy's retries (a `u32`) and its time budget end the loop long before.
                attempt = attempt.saturating_add(1);
                // A copy to send again, when the policy has a retry left; taken before this attempt's headers go in.
                let spare = if attempt <= settings.retry.max_retries() { request.try_clone() } else { None };
                let headers = request.headers_mut();
                headers.insert(USER_AGENT, settings.user_agent.clone());
                headers
                    .insert(CLIENT_REQUEST_ID, client_request_id.clone().unwrap_or_else(super::call::new_request_id));
                if let Some(token) = &token {
                    headers.insert(AUTHORIZATION, token.clone());
                }
                if let Some(limit) = settings.per_try_timeout {
                    request.timeout_mut().get_or_insert(limit);
                }
                // Under a tenant-wide call, a 429 seen by any of its requests holds back every request.
                if let Some(gate) = &self.gate {
                    gate.wait().await;
                }
                if operation.is_decision() {
                    self.with_call(|c| c.meta.in_flight = true);
                }
                // Where an answer enters the crate: the redaction step, with the token this attempt carried, and the
                // body capped. Everything after this line sees only what is safe to keep, log and return.
                let result = match settings.http.execute(request).await {
                    Ok(response) => Ok(entering(response, settings.max_response_body, token.as_ref(), pieces.clone())),
                    Err(error) => Err(Redactor::new(token.as_ref().map(token_bytes)).transport(error)),
                };
                if let Some(gate) = &self.gate
                    && let Ok(response) = &result
                    && response.status() == StatusCode::TOO_MANY_REQUESTS
                    && let Some(asked) = retry::retry_after(response.headers(), std::time::SystemTime::now())
                {
                    gate.throttle(asked, settings.retry.max_delay());
                }
                // The copy becomes the request before the wait, so only one is held across it.
                let wait = match (self.judge(&result, operation, attempt, started, token.as_ref()), spare) {
                    (Some(wait), Some(spare)) => {
                        request = spare;
                        wait
                    }
                    _ => return result,
                };
                drop(result);
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Records what an attempt learned in the call context and asks the retry policy what follows: `Some(wait)`
    /// to send again after `wait`, `None` to return this answer. `sent` is the `Authorization` value the attempt
    /// carried: a 401 drops the cached token only if it is that one.
    fn judge(
        &self,
        result: &reqwest::Result<Response>,
        operation: Operation,
        attempt: u32,
        started: tokio::time::Instant,
        sent: Option<&HeaderValue>,
    ) -> Option<Duration> {
        let settings = self.settings();
        let status = result.as_ref().ok().map(Response::status);
        self.with_call(|c: &mut CallState| {
            c.meta.ids.attempts = attempt;
            c.started = Some(started);
            c.meta.in_flight &= status.is_some_and(|s| s.is_success());
            c.meta.last_status = status;
            c.last_request_id = result.as_ref().ok().and_then(|r| r.headers().get(REQUEST_ID).cloned());
            c.last_correlation_id = result.as_ref().ok().and_then(|r| r.headers().get(CORRELATION_REQUEST_ID).cloned());
        });
        if status == Some(StatusCode::UNAUTHORIZED)
            && let Some(sent) = sent
        {
            settings.auth.invalidate(sent);
        }
        let outcome = match result {
            Ok(response) => Try::Answered {
                status: response.status(),
                retry_after: retry::retry_after(response.headers(), std::time::SystemTime::now()),
            },
            // Classified once (`error/transport.rs`): what another try cannot mend is not retried.
            Err(e) if e.is_connect() && !classify(e).retryable => Try::Unreachable,
            Err(e) if e.is_connect() => Try::NotConnected,
            Err(e) if e.is_builder() || e.is_redirect() || e.is_decode() => Try::Broken,
            Err(_) => Try::Lost,
        };
        let used = Used { tries: attempt, elapsed: started.elapsed() };
        let status = status.map(|s| s.as_u16());
        match retry::next(&settings.retry, outcome, operation.safe_to_resend(), used, fastrand::f64()) {
            Next::Retry(wait) => {
                tracing::debug!(
                    attempt,
                    status,
                    error = result.as_ref().err().map(ToString::to_string),
                    wait_ms = retry::millis(wait),
                    "retrying"
                );
                Some(wait)
            }
            Next::Stop(Stop::MayHaveBeenTaken) => {
                self.with_call(|c| c.meta.ambiguous = true);
                tracing::debug!(attempt, status, "outcome unknown; not resending");
                None
            }
            Next::Stop(Stop::AskedTooLong(asked)) => {
                self.with_call(|c| c.meta.retry_after = Some(asked));
                tracing::debug!(
                    attempt,
                    retry_after_ms = retry::millis(asked),
                    "server asks for a longer wait than allowed; giving up"
                );
                None
            }
            Next::Stop(Stop::BudgetSpent) => {
                tracing::debug!(attempt, "retry budget spent");
                None
            }
            Next::Stop(Stop::Final | Stop::RetriesSpent) => None,
        }
    }
}
