//! The one path every request takes: headers, auth, retries, tracing and error conversion.
//!
//! progenitor's generated client calls [`ClientHooks::pre`] and [`ClientHooks::exec`] for every operation;
//! next-page requests and polls call the same two hooks through [`Pipeline::get_json`]. Per-call facts (the
//! client request id, attempt count, a credential failure) travel in a task-local [`CallState`] scoped
//! around each call, so the hooks need no extra arguments and the facade can build precise errors.

use std::{cell::RefCell, fmt, future::Future, pin::Pin, sync::Arc, time::Duration};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::{
    Request, Response, StatusCode,
    header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT},
};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{
    auth::{TokenCache, token_bytes},
    error::{Error, Result, ServiceError, header},
    generated::Client,
    retry::{self, RetryOptions},
};

const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");
const APPROVAL_OPERATION: &str = "requests_update_status";

/// Shared, immutable client state; the generated client's `inner`.
#[derive(Clone)]
pub(crate) struct Pipeline(pub(crate) Arc<Shared>);

pub(crate) struct Shared {
    pub(crate) endpoint: Url,
    /// The endpoint without trailing slashes, the base of every operation's URL (see [`Pipeline::operation_url`]).
    pub(crate) operation_base: Url,
    pub(crate) api_version: String,
    pub(crate) auth: TokenCache,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryOptions,
    /// The per-try timeout to set on each attempt: `None` when the HTTP client applies it itself (the SDK built
    /// the client) or there is none.
    pub(crate) per_try_timeout: Option<Duration>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) max_response_body: usize,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        f.debug_struct("Pipeline")
            .field("endpoint", &s.endpoint.as_str())
            .field("api_version", &s.api_version)
            .field("auth", &s.auth)
            .field("retry", &s.retry)
            .field("per_try_timeout", &s.per_try_timeout)
            .field("call_timeout", &s.call_timeout)
            .field("max_response_body", &s.max_response_body)
            .finish()
    }
}

/// What one logical call learned on its way; read after the call to build errors. The two ids are filled in
/// only when the call failed (or its span is recorded), so that a successful call allocates nothing for them.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallMeta {
    pub(crate) client_request_id: Option<String>,
    pub(crate) attempts: u32,
    pub(crate) retry_after: Option<Duration>,
    /// The last failure may have been carried out by the service (non-idempotent call only).
    pub(crate) ambiguous: bool,
    /// An attempt of a non-idempotent call went out and its answer has not been refused nor read whole: were
    /// the call cut now, it might have been carried out. (A success stays in flight until its body is read.)
    pub(crate) in_flight: bool,
    pub(crate) last_status: Option<StatusCode>,
    pub(crate) last_request_id: Option<String>,
}

#[derive(Default)]
struct CallState {
    meta: CallMeta,
    /// This call's `x-ms-client-request-id`, as text (a UUID is 36 ASCII bytes).
    client_request_id: Option<RequestId>,
    credential_error: Option<azure_core::Error>,
    refused_url: Option<(String, String)>,
    /// The token this call sent, to scrub from what comes back even after a 401 dropped it from the cache.
    secret: Option<HeaderValue>,
    /// `x-ms-request-id` of the last response, as received (turned into text only when needed).
    last_request_id: Option<HeaderValue>,
    /// When the call's first attempt went out.
    started: Option<tokio::time::Instant>,
    /// Attempts made by earlier sends of this call: a read sent again after the body of its answer was cut
    /// numbers its attempts after them, and its retries come out of the same policy (see [`Pipeline::read`]).
    attempts_before: u32,
    /// The largest body this call reads (the client's `max_response_body`).
    body_limit: usize,
    /// A body was larger than `body_limit`.
    body_too_large: bool,
}

tokio::task_local! {
    // Boxed: tokio swaps a task-local's value in and out on every poll, and a pointer is cheaper to swap; the
    // box is taken back whole when the call ends, rather than its contents copied out.
    static CALL: RefCell<Option<Box<CallState>>>;
}

fn with_call<R>(f: impl FnOnce(&mut CallState) -> R) -> Option<R> {
    CALL.try_with(|c| c.borrow_mut().as_deref_mut().map(f)).ok().flatten()
}

pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host() == b.host() && a.port_or_known_default() == b.port_or_known_default()
}

impl ClientHooks<Pipeline> for Client {
    /// Checks the request's origin and gets the token: the two things that can refuse a call before anything
    /// is sent. The per-attempt headers are added by [`Self::exec`], after it kept a copy for a resend.
    async fn pre<E>(
        &self,
        request: &mut Request,
        _info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        let shared = &self.inner().0;
        if !same_origin(request.url(), &shared.endpoint) {
            let url = request.url().to_string();
            with_call(|c| c.refused_url = Some((url, "not on the configured endpoint".into())));
            return Err(progenitor_client::Error::Custom("refused URL".into()));
        }
        match shared.auth.authorization().await {
            Ok(token) => {
                with_call(|c| c.secret = Some(token));
                Ok(())
            }
            Err(error) => {
                with_call(|c| c.credential_error = Some(error));
                Err(progenitor_client::Error::Custom("credential failure".into()))
            }
        }
    }

    /// Sends the request, and resends it while the retry policy allows. The first attempt runs inline; the
    /// retry loop is a separate, boxed future, so that a call that needs no retry does not carry its state.
    ///
    /// A plain function returning a future, not an `async fn`: the request is prepared before the future is
    /// made, so the future does not hold the request twice (an `async fn` keeps its argument and the local it is
    /// moved into), which keeps every operation's future about 800 bytes smaller.
    fn exec(&self, mut request: Request, info: &OperationInfo) -> impl Future<Output = reqwest::Result<Response>> {
        let shared = &self.inner().0;
        let non_idempotent = info.operation_id == APPROVAL_OPERATION;
        let (headers, SoFar { attempts, started }) = AttemptHeaders::of_call(shared);
        let started = started.unwrap_or_else(tokio::time::Instant::now);
        let first = attempts + 1;
        // The copy is taken before the per-attempt headers go in, so it holds only the generated ones.
        let spare = if shared.retry.max_retries() >= first { copy_request(&request) } else { None };
        headers.apply(&mut request, shared);
        if non_idempotent {
            with_call(|c| c.meta.in_flight = true);
        }
        let sent = self.client().execute(request);
        async move {
            let result = sent.await;
            let can_retry = spare.is_some();
            let sent = headers.authorization.as_ref();
            let retry = match (spare, self.judge(&result, first, started, non_idempotent, can_retry, sent)) {
                (Some(spare), Some(wait)) => Box::pin(self.retry(spare, wait, started, non_idempotent, headers, first)),
                _ => return result,
            };
            drop(result);
            retry.await
        }
    }
}

/// A copy of a request to resend, or `None` if its body cannot be sent twice (a stream).
///
/// `Request::try_clone` does the same, but always stores a timeout setting in the copy's extensions, a map it
/// allocates for each copy; the generated requests carry no extensions and no per-request timeout until
/// [`AttemptHeaders::apply`] adds one to the attempt itself.
fn copy_request(request: &Request) -> Option<Request> {
    let body = match request.body() {
        None => None,
        Some(body) => Some(reqwest::Body::from(bytes::Bytes::copy_from_slice(body.as_bytes()?))),
    };
    let mut copy = Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body;
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    Some(copy)
}

/// What earlier sends of a call used up: their attempts, and when the first went out.
#[derive(Default)]
struct SoFar {
    attempts: u32,
    started: Option<tokio::time::Instant>,
}

/// The headers every attempt of a call carries besides the generated ones.
struct AttemptHeaders {
    client_request_id: Option<RequestId>,
    authorization: Option<HeaderValue>,
}

impl AttemptHeaders {
    /// This call's request id and the token `pre` got for it, and what earlier sends of the call used up.
    fn of_call(shared: &Shared) -> (Self, SoFar) {
        let (client_request_id, authorization, so_far) = with_call(|c| {
            (c.client_request_id, c.secret.clone(), SoFar { attempts: c.attempts_before, started: c.started })
        })
        .unwrap_or_default();
        let headers = Self { client_request_id, authorization: authorization.or_else(|| shared.auth.current_header()) };
        (headers, so_far)
    }

    fn apply(&self, request: &mut Request, shared: &Shared) {
        let id = self.client_request_id.unwrap_or_else(new_request_id);
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, shared.user_agent.clone());
        headers.insert(CLIENT_REQUEST_ID, HeaderValue::from_bytes(&id.0).expect("a UUID is a valid header value"));
        if let Some(token) = &self.authorization {
            headers.insert(AUTHORIZATION, token.clone());
        }
        // (progenitor's Dropshot-style `api-version` header is removed from the generated code by build.rs.)
        if let Some(limit) = shared.per_try_timeout {
            request.timeout_mut().get_or_insert(limit);
        }
    }
}

impl Client {
    /// The attempts after `first`: waits, resends, and judges each answer as [`ClientHooks::exec`] did the
    /// first.
    async fn retry(
        &self,
        mut request: Request,
        mut wait: Duration,
        started: tokio::time::Instant,
        non_idempotent: bool,
        headers: AttemptHeaders,
        first: u32,
    ) -> reqwest::Result<Response> {
        let shared = &self.inner().0;
        let mut attempt = first;
        loop {
            tokio::time::sleep(wait).await;
            attempt += 1;
            let spare = if attempt <= shared.retry.max_retries() { copy_request(&request) } else { None };
            headers.apply(&mut request, shared);
            if non_idempotent {
                with_call(|c| c.meta.in_flight = true);
            }
            let result = self.client().execute(request).await;
            let can_retry = spare.is_some();
            let sent = headers.authorization.as_ref();
            match (spare, self.judge(&result, attempt, started, non_idempotent, can_retry, sent)) {
                (Some(spare), Some(next_wait)) => (request, wait) = (spare, next_wait),
                _ => return result,
            }
        }
    }

    /// Records what an attempt learned in the call state and decides whether to resend: `Some(wait)` to
    /// resend after `wait`, `None` to return this answer. `can_retry` says whether a copy for a resend exists
    /// (there is none once the policy's retries are used up). `sent` is the `Authorization` value the attempt
    /// carried: a 401 drops the cached token only if it is that one.
    fn judge(
        &self,
        result: &reqwest::Result<Response>,
        attempt: u32,
        started: tokio::time::Instant,
        non_idempotent: bool,
        can_retry: bool,
        sent: Option<&HeaderValue>,
    ) -> Option<Duration> {
        let shared = &self.inner().0;
        let policy = &shared.retry;
        let verdict = classify(result, non_idempotent);
        let status = result.as_ref().ok().map(Response::status);
        with_call(|c| {
            c.meta.attempts = attempt;
            c.started = Some(started);
            c.meta.in_flight &= status.is_some_and(|s| s.is_success());
            c.meta.last_status = status;
            c.last_request_id = result.as_ref().ok().and_then(|r| r.headers().get(REQUEST_ID).cloned());
        });
        if status == Some(StatusCode::UNAUTHORIZED)
            && let Some(sent) = sent
        {
            shared.auth.invalidate(sent);
        }
        let hint = match verdict {
            Verdict::Done => return None,
            Verdict::Ambiguous => {
                with_call(|c| c.meta.ambiguous = true);
                tracing::debug!(attempt, status = status.map(|s| s.as_u16()), "outcome unknown; not resending");
                return None;
            }
            Verdict::Retry(hint) => hint,
        };
        if !can_retry {
            return None;
        }
        let remaining = policy.budget().saturating_sub(started.elapsed());
        if let Some(asked) = hint.filter(|h| *h > policy.max_delay() || *h > remaining) {
            with_call(|c| c.meta.retry_after = Some(asked));
            tracing::debug!(
                attempt,
                retry_after_ms = asked.as_millis() as u64,
                "server asks for a longer wait than allowed; giving up"
            );
            return None;
        }
        let wait = policy.backoff(attempt, fastrand::f64()).max(hint.unwrap_or_default());
        if wait > remaining {
            tracing::debug!(attempt, "retry budget spent");
            return None;
        }
        tracing::debug!(
            attempt,
            status = status.map(|s| s.as_u16()),
            error = result.as_ref().err().map(|e| e.to_string()),
            wait_ms = wait.as_millis() as u64,
            "retrying"
        );
        Some(wait)
    }
}

enum Verdict {
    Done,
    Retry(Option<Duration>),
    Ambiguous,
}

fn classify(result: &reqwest::Result<Response>, non_idempotent: bool) -> Verdict {
    match result {
        Ok(response) => {
            let status = response.status();
            if !retry::is_retryable_status(status) {
                Verdict::Done
            } else if non_idempotent && retry::may_have_committed(status) {
                Verdict::Ambiguous
            } else {
                Verdict::Retry(retry::retry_after(response.headers(), std::time::SystemTime::now()))
            }
        }
        // Connecting failed: nothing reached the service, so resending is always safe.
        Err(e) if e.is_connect() => Verdict::Retry(None),
        Err(_) if non_idempotent => Verdict::Ambiguous,
        Err(e) if e.is_builder() || e.is_redirect() || e.is_decode() => Verdict::Done,
        Err(_) => Verdict::Retry(None),
    }
}

/// A fresh random (version 4) UUID for `x-ms-client-request-id`.
///
/// `Uuid::new_v4` makes a `getrandom` system call per id. A correlation id must be unique, not secret, so the
/// bits come from a per-thread generator instead, seeded once per thread from the operating system.
fn new_request_id() -> RequestId {
    thread_local! {
        static IDS: RefCell<fastrand::Rng> = RefCell::new(fastrand::Rng::with_seed(u64::from_le_bytes(
            *uuid::Uuid::new_v4().as_bytes().first_chunk().expect("a UUID has 16 bytes"),
        )));
    }
    let bits = IDS.with(|ids| ids.borrow_mut().u128(..));
    let id = uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid();
    let mut text = [0u8; 36];
    id.hyphenated().encode_lower(&mut text);
    RequestId(text)
}

/// An `x-ms-client-request-id`: a hyphenated UUID, kept as bytes so that it costs no allocation until sent.
#[derive(Clone, Copy)]
struct RequestId([u8; 36]);

impl RequestId {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Pipeline {
    pub(crate) fn shared(&self) -> &Shared {
        &self.0
    }

    /// Runs one logical call (the future of a generated `send()` or of [`Self::get_json`]) in its own call
    /// state and tracing span, and converts its error.
    pub(crate) fn call<'a, T, F>(
        &'a self,
        operation: &'static str,
        call: F,
    ) -> impl Future<Output = (Result<ResponseValue<T>>, CallMeta)> + 'a
    where
        F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>> + 'a,
        T: 'a,
    {
        // The operation's future is large (about 2 KB for a generated `send()`). Boxing it before anything else
        // keeps it out of this future and of every future that awaits this one, so none of them copies it
        // around on each move and poll.
        self.run(operation, Box::pin(call))
    }

    /// Runs a read as one logical call, as [`Self::call`] does, with one more kind of retry: when a success
    /// answer's body is cut (the connection dropped, or the per-try timeout passed, half-way through it),
    /// `send` makes the operation's future again and the read is resent, while the retry policy allows. The
    /// resent attempts keep the call's `x-ms-client-request-id`, are numbered after the earlier ones, and share
    /// the policy's retries and time budget with them. Only for operations that are safe to repeat.
    pub(crate) fn read<'a, T, M, F>(
        &'a self,
        operation: &'static str,
        mut send: M,
    ) -> impl Future<Output = (Result<ResponseValue<T>>, CallMeta)> + 'a
    where
        M: FnMut() -> F + 'a,
        F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>> + 'a,
        T: 'a,
    {
        self.call(operation, async move {
            loop {
                match send().await {
                    Err(progenitor_client::Error::ResponseBodyError(error)) => match self.resend_after_cut_body() {
                        Some(wait) => {
                            tracing::debug!(error = %error, wait_ms = wait.as_millis() as u64, "answer's body cut; retrying");
                            tokio::time::sleep(wait).await;
                        }
                        None => return Err(progenitor_client::Error::ResponseBodyError(error)),
                    },
                    result => return result,
                }
            }
        })
    }

    /// After a success answer's body was cut: how long to wait before sending the read again, or `None` when
    /// the retry policy's retries or time budget are used up. Earlier sends' attempts count against both.
    fn resend_after_cut_body(&self) -> Option<Duration> {
        let policy = &self.0.retry;
        let (attempts, started) = with_call(|c| {
            c.attempts_before = c.meta.attempts;
            (c.meta.attempts, c.started)
        })?;
        if attempts > policy.max_retries() {
            return None;
        }
        let wait = policy.backoff(attempts, fastrand::f64());
        let remaining = policy.budget().saturating_sub(started.map_or(Duration::ZERO, |s| s.elapsed()));
        (wait <= remaining).then_some(wait)
    }

    async fn run<T, F>(&self, operation: &'static str, call: Pin<Box<F>>) -> (Result<ResponseValue<T>>, CallMeta)
    where
        F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>>,
    {
        let id = new_request_id();
        let span = tracing::debug_span!(
            "customer_lockbox",
            operation,
            client_request_id = id.as_str(),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        let state = Box::new(CallState {
            client_request_id: Some(id),
            body_limit: self.0.max_response_body,
            ..Default::default()
        });
        let deadline = self.0.call_timeout.map(|limit| (limit, Box::pin(tokio::time::sleep(limit))));
        let (result, mut state) = InCall { call, state: Some(state), span: &span, deadline }.await;
        let failed = !matches!(result, Ok(Ok(_)));
        let recorded = !span.is_disabled();
        let secret =
            if failed || recorded { state.secret.take().or_else(|| self.0.auth.current_header()) } else { None };
        if failed || recorded {
            state.meta.client_request_id = Some(id.as_str().to_owned());
            // The request id is a header the server chose: scrub an echoed token before it reaches logs or errors.
            state.meta.last_request_id = state.last_request_id.take().map(|rid| {
                let text = String::from_utf8_lossy(rid.as_bytes()).into_owned();
                crate::error::redact_text(text, secret.as_ref().map(token_bytes))
            });
        }
        let meta = &state.meta;
        if recorded {
            span.record("attempts", meta.attempts);
            if let Some(status) = meta.last_status {
                span.record("status", status.as_u16());
            }
            if let Some(request_id) = &meta.last_request_id {
                span.record("request_id", request_id.as_str());
            }
        }
        let result = match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                // Only a failure needs the whole call state; success returns its facts uncopied. The conversion
                // (which may read a body) is boxed so that its future does not enlarge every call's.
                let meta = state.meta.clone();
                return (Err(Box::pin(convert(operation, error, *state, secret)).await), meta);
            }
            Err(limit) => {
                // Cut while a decision was on its way, or while the body of its success came in: the service
                // may have taken it, or has.
                state.meta.ambiguous |= state.meta.in_flight;
                Err(Error::Timeout {
                    what: format!("{operation} to complete"),
                    elapsed: limit,
                    last_status: state.meta.last_status.map_or_else(|| "no response".into(), |s| s.to_string()),
                })
            }
        };
        (result, state.meta)
    }
}

/// Polls one call's operation future inside the call: its state installed as the task-local [`CALL`], its span
/// entered, and its deadline (the `timeout` option) watched. Ends with the operation's output, or `Err(limit)`
/// when the deadline passed first, and the call state taken back.
///
/// One small future in place of tokio's `TaskLocalFuture`, tracing's `Instrumented` and tokio's `Timeout` nested
/// around an async block: every layer of those moved the operation's output (a whole response model) once more.
struct InCall<'a, F> {
    call: Pin<Box<F>>,
    state: Option<Box<CallState>>,
    span: &'a tracing::Span,
    deadline: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl<F: Future> Future for InCall<'_, F> {
    type Output = (std::result::Result<F::Output, Duration>, Box<CallState>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        let this = &mut *self;
        let _entered = this.span.enter();
        let call = &mut this.call;
        let (poll, state) = CALL.sync_scope(RefCell::new(this.state.take()), || {
            let poll = call.as_mut().poll(cx);
            (poll, CALL.with(|c| c.borrow_mut().take()))
        });
        let state = state.unwrap_or_default();
        if let Poll::Ready(output) = poll {
            return Poll::Ready((Ok(output), state));
        }
        if let Some((limit, sleep)) = &mut this.deadline
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready((Err(*limit), state));
        }
        this.state = Some(state);
        Poll::Pending
    }
}

impl Pipeline {
    /// An operation's URL: the endpoint, then these path segments, each percent-encoded as progenitor's
    /// `encode_path` does, then `?api-version=`. The generated operations call this instead of formatting and
    /// re-parsing a string (see `build.rs`).
    pub(crate) fn operation_url(&self, segments: &[&str], api_version: &str) -> Url {
        let mut url = self.0.operation_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.query_pairs_mut().append_pair("api-version", api_version);
        url
    }

    /// Checks a URL the service handed out (a `nextLink` or a polling URL) and makes it ready to send: relative
    /// links are resolved against the endpoint, the origin must be the endpoint's, and `api-version` is set to
    /// ours exactly once while every other query parameter is kept as sent.
    pub(crate) fn service_url(&self, kind: &'static str, link: &str) -> Result<Url> {
        let shared = &self.0;
        let refuse = |reason: &str| Error::UnsafeUrl {
            kind,
            // The link is text the server chose: never let it carry our token into an error message.
            url: crate::error::redact_text(link.to_owned(), shared.auth.current_header().as_ref().map(token_bytes)),
            reason: reason.to_owned(),
        };
        let mut url = match Url::parse(link) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                shared.endpoint.join(link).map_err(|e| refuse(&e.to_string()))?
            }
            Err(e) => return Err(refuse(&e.to_string())),
        };
        if !same_origin(&url, &shared.endpoint) {
            return Err(refuse("it is not on the configured endpoint, so the token will not be sent there"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("it carries credentials"));
        }
        url.set_fragment(None);
        let mut query: String = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default();
                !percent_decoded_eq(key, "api-version")
            })
            .collect::<Vec<_>>()
            .join("&");
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("api-version=");
        query.extend(url::form_urlencoded::byte_serialize(shared.api_version.as_bytes()));
        url.set_query(Some(&query));
        Ok(url)
    }

    /// GETs a JSON document from a URL the service handed out, through the same hooks as every operation.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        client: &Client,
        operation: &'static str,
        kind: &'static str,
        link: &str,
    ) -> (Result<ResponseValue<T>>, CallMeta) {
        self.get_link(client, operation, kind, link, |response| async move {
            if response.status() == StatusCode::OK {
                response_value(response).await
            } else {
                Err(progenitor_client::Error::UnexpectedResponse(response))
            }
        })
        .await
    }

    /// GETs a URL the service handed out (a polling URL) through the same hooks and call scope as every
    /// operation, and returns any 2xx answer as it came: status, headers and body. Other statuses become errors.
    pub(crate) async fn get_raw(
        &self,
        client: &Client,
        operation: &'static str,
        kind: &'static str,
        link: &str,
    ) -> (Result<ResponseValue<bytes::Bytes>>, CallMeta) {
        self.get_link(client, operation, kind, link, |mut response| async move {
            if !response.status().is_success() {
                return Err(progenitor_client::Error::UnexpectedResponse(response));
            }
            let (status, headers) = (response.status(), std::mem::take(response.headers_mut()));
            let body = capped_body(response).await?;
            Ok(ResponseValue::new(body, status, headers))
        })
        .await
    }

    /// Checks a link the service handed out (see [`Self::service_url`]), GETs it as a read (see [`Self::read`]),
    /// and makes the call's value of each answer with `answer`.
    async fn get_link<T, A, F>(
        &self,
        client: &Client,
        operation: &'static str,
        kind: &'static str,
        link: &str,
        answer: A,
    ) -> (Result<ResponseValue<T>>, CallMeta)
    where
        A: Fn(Response) -> F,
        F: Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<()>>>,
    {
        let url = match self.service_url(kind, link) {
            Ok(url) => url,
            Err(e) => return (Err(e), CallMeta::default()),
        };
        let send = || {
            let url = url.clone();
            let answer = &answer;
            async move { answer(send_get(client, operation, url).await?).await }
        };
        self.read(operation, send).await
    }
}

/// Sends a GET to a checked service URL through the same `pre` and `exec` hooks as every generated operation.
async fn send_get(
    client: &Client,
    operation: &'static str,
    url: Url,
) -> std::result::Result<Response, progenitor_client::Error<()>> {
    let mut request = client
        .client()
        .get(url)
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .build()
        .map_err(progenitor_client::Error::CommunicationError)?;
    let info = OperationInfo { operation_id: operation };
    client.pre(&mut request, &info).await?;
    client.exec(request, &info).await.map_err(progenitor_client::Error::CommunicationError)
}

fn percent_decoded_eq(raw: &str, expected: &str) -> bool {
    percent_decode(raw).eq_ignore_ascii_case(expected)
}

fn percent_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("{raw}=").as_bytes()).next().map(|(k, _)| k.into_owned()).unwrap_or_default()
}

/// Turns progenitor's error into ours, using what the call state recorded.
async fn convert(
    operation: &'static str,
    error: progenitor_client::Error<()>,
    state: CallState,
    secret: Option<HeaderValue>,
) -> Error {
    let secret = secret.as_ref().map(token_bytes);
    use progenitor_client::Error as P;
    let meta = &state.meta;
    if let Some(source) = state.credential_error {
        return Error::Credential(source);
    }
    if let Some((url, reason)) = state.refused_url {
        return Error::UnsafeUrl { kind: "request URL", url, reason };
    }
    let too_large = |status: StatusCode, request_id: Option<String>| Error::ResponseTooLarge {
        operation,
        status,
        request_id,
        limit: state.body_limit,
    };
    if state.body_too_large {
        return too_large(meta.last_status.unwrap_or(StatusCode::OK), meta.last_request_id.clone());
    }
    match error {
        P::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            match read_body(response, state.body_limit).await {
                Ok(Some(body)) => {
                    Error::Service(Box::new(ServiceError::from_parts(operation, status, &headers, body, meta, secret)))
                }
                Ok(None) => too_large(status, meta.last_request_id.clone()),
                Err(source) => Error::Transport {
                    operation,
                    attempts: meta.attempts.max(1),
                    status: Some(status),
                    request_id: header(&headers, "x-ms-request-id"),
                    source,
                },
            }
        }
        P::ErrorResponse(value) => {
            let headers = value.headers().clone();
            Error::Service(Box::new(ServiceError::from_parts(
                operation,
                value.status(),
                &headers,
                Default::default(),
                meta,
                secret,
            )))
        }
        // The head of the response arrived, its body did not: say which response it was.
        P::ResponseBodyError(source) => Error::Transport {
            operation,
            attempts: meta.attempts.max(1),
            status: meta.last_status,
            request_id: meta.last_request_id.clone(),
            source,
        },
        P::CommunicationError(source) | P::InvalidUpgrade(source) => {
            Error::Transport { operation, attempts: meta.attempts.max(1), status: None, request_id: None, source }
        }
        P::InvalidResponsePayload(body, source) => Error::Decode {
            operation,
            status: meta.last_status.unwrap_or(StatusCode::OK),
            request_id: meta.last_request_id.clone(),
            body: crate::error::redact(body.slice(..body.len().min(4096)), secret),
            source,
        },
        P::InvalidRequest(reason) => Error::InvalidArgument { name: "request", reason },
        P::Custom(message) => Error::Configuration(message),
    }
}

/// `ResponseValue::from_response`, moving the headers out of the response instead of cloning them. The
/// generated operations call this for a 200 with a body (see `build.rs`).
///
/// A plain function returning a future, so that the future holds the response once (an `async fn` keeps its
/// argument and the local it is moved into).
pub(crate) fn response_value<T: DeserializeOwned, E>(
    mut response: Response,
) -> impl Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    async move {
        let body = capped_body(response).await?;
        match serde_json::from_slice(&body) {
            Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
            Err(e) => Err(progenitor_client::Error::InvalidResponsePayload(body, e)),
        }
    }
}

/// A response's body, read within the call's `max_response_body`. A larger body is not read past the limit: the
/// call state records it, and the error becomes [`Error::ResponseTooLarge`].
pub(crate) async fn capped_body<E>(
    response: Response,
) -> std::result::Result<bytes::Bytes, progenitor_client::Error<E>> {
    let limit = with_call(|c| c.body_limit).unwrap_or(crate::DEFAULT_MAX_RESPONSE_BODY);
    match read_body(response, limit).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => {
            with_call(|c| c.body_too_large = true);
            Err(progenitor_client::Error::Custom(format!("response body larger than {limit} bytes")))
        }
        Err(error) => Err(progenitor_client::Error::ResponseBodyError(error)),
    }
}

/// Reads a body of at most `limit` bytes; `Ok(None)` when it is larger, declared or found so, in which case
/// reading stopped at the limit.
async fn read_body(mut response: Response, limit: usize) -> reqwest::Result<Option<bytes::Bytes>> {
    match response.content_length() {
        Some(length) if length > limit as u64 => return Ok(None),
        // The body cannot outgrow its declared length: the HTTP layer ends it there.
        Some(_) => return response.bytes().await.map(Some),
        None => {}
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// `ResponseValue::empty`, moving the headers out of the response instead of cloning them.
pub(crate) fn empty_response(mut response: Response) -> ResponseValue<()> {
    let status = response.status();
    ResponseValue::new((), status, std::mem::take(response.headers_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pipeline(endpoint: &str) -> Pipeline {
        let options = crate::CustomerLockboxClientOptions::for_endpoint(endpoint.parse().unwrap());
        let credential = std::sync::Arc::new(crate::StaticTokenCredential::new("t"));
        crate::CustomerLockboxClient::new(credential, Some(options)).unwrap().inner.inner.clone()
    }

    /// What progenitor's generated code did: format the URL from the endpoint text and `encode_path`, parse it,
    /// and serialize the `api-version` query through reqwest.
    fn progenitor_url(endpoint: &str, id: &str, api_version: &str) -> Url {
        let base = endpoint.trim_end_matches('/');
        let url = format!("{base}/subscriptions/s/requests/{}", progenitor_client::encode_path(id));
        let request = reqwest::Client::new()
            .get(url)
            .query(&progenitor_client::QueryParam::new("api-version", &api_version))
            .build()
            .unwrap();
        request.url().clone()
    }

    #[test]
    fn operation_urls_equal_progenitors_formatted_ones() {
        for endpoint in ["https://management.azure.com", "https://management.azure.com/", "http://127.0.0.1:8080/arm/"]
        {
            let pipeline = pipeline(endpoint);
            for id in ["LB-0a1b2c3d", "a/b", "a b", "100%", "é?#{}`<>\"", "%2F", "a?b#c", "../x", "~!$&'()*+,;=:@"] {
                for api_version in ["2018-02-28-preview", "a b&c=d/é"] {
                    let url = pipeline.operation_url(&["subscriptions", "s", "requests", id], api_version);
                    assert_eq!(url, progenitor_url(endpoint, id, api_version), "{endpoint} {id:?} {api_version:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn operation_urls_equal_progenitors_for_any_id(id in any::<String>(), api_version in any::<String>()) {
            // `.`, `..` and backslashes are refused before a request is built (see `validate::request_id`):
            // the formatted URL turned a backslash into a path separator, where `operation_url` encodes it as `%5C`.
            prop_assume!(id != "." && id != ".." && !id.contains('\\'));
            let endpoint = "https://management.azure.com/";
            let url = pipeline(endpoint).operation_url(&["subscriptions", "s", "requests", &id], &api_version);
            prop_assert_eq!(url, progenitor_url(endpoint, &id, &api_version));
        }
    }
}
