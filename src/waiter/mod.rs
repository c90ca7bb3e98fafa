//! Waiting for work that finishes later: ARM long-running operations and Lockbox decisions.
//!
//! An action may answer `202 Accepted` and finish asynchronously. The SDK then follows, in this order of
//! preference, `Azure-AsyncOperation`, `Operation-Location` or `Location`: a status monitor is done at
//! `Succeeded`, `Failed` or `Canceled`/`Cancelled` (any letter case; other values mean "still running"), a
//! `Location` URL is done when it stops answering 202. After a monitor succeeds, the result is read from
//! `Location` when the first answer had one. Every poll takes the normal request path (token, retries, ids),
//! and a polling URL on another origin than the endpoint (or one of the client's
//! [`allowed_poll_origins`](crate::CustomerLockboxClientOptions::allowed_poll_origins)) is refused before
//! anything, token included, is sent.
//!
//! This file holds the public types and the first answer ([`Waiter::start`]); `engine.rs` the polling state
//! machine; `types.rs` its options, statuses and resume token.

use std::{
    fmt,
    future::{Future, IntoFuture},
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use futures::{FutureExt, Stream, future::BoxFuture};
use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

mod engine;
mod types;

pub(crate) use engine::Expect;
use engine::{Answer, End, Engine, Kind, Progress, Target, polling_header};
pub(crate) use types::MIN_FREQUENCY;
pub use types::{MAX_POLL_WAIT, WaiterOptions, WaiterStatus};

use crate::{
    core::Core,
    error::{ArmErrorDetail, CallMeta, Error, Result, ServiceError, header},
    generated,
    operation::Operation,
    pager::ContinuationToken,
    pipeline::{LinkKind, Pipeline, Sent, body::body},
    retry,
};

type Step<T> = BoxFuture<'static, (Box<Engine<T>>, Option<Result<WaiterStatus>>)>;

/// Where a [`Waiter`] stands.
enum Phase<T> {
    /// A `begin_*` poller's action and the poller that follows it: a future, so nothing is sent until the
    /// poller is first polled or awaited.
    Starting(BoxFuture<'static, Result<Waiter<T>>>),
    /// The action was refused: its error was the stream's last item (or `.await`'s result).
    Refused,
    /// Between two steps.
    Idle(Box<Engine<T>>),
    /// A step (a wait and a poll) is under way.
    Stepping(Step<T>),
    /// The stream of statuses is over: after the terminal status, or after an error (`.await` resumes then).
    Ended(Box<Engine<T>>),
    /// Only while a step is being set up; a poller left here (its step panicked) has lost its state.
    Lost,
}

/// Waits for a long-running operation or a Lockbox decision.
///
/// `.await` it for the final result, or use it as a [`futures::Stream`][Stream] of every [`WaiterStatus`] seen (or
/// [`try_next`](Self::try_next)); the stream ends after the terminal status, or after an error. A `Failed` or
/// `Canceled` operation is a terminal status in the stream and an [`Error::OperationFailed`] from `.await`;
/// awaiting after the stream ended sends nothing more unless the stream stopped on an error, in which case
/// polling resumes where it was. Dropping a poller stops waiting; it never cancels the operation itself.
///
/// ```no_run
/// use futures::StreamExt;
/// use azure_customer_lockbox::{options::WaiterOptions, RequestsClient, Result};
///
/// async fn wait(requests: RequestsClient) -> Result<()> {
///     let options = WaiterOptions { timeout: Some(std::time::Duration::from_secs(600)), ..Default::default() };
///     let mut poller = requests.wait_for_decision("req-1", Some(options))?;
///     while let Some(status) = poller.next().await {
///         println!("{}", status?);
///         // Store this to resume in another process with `Waiter::resume`.
///         println!("resume with {:?}", poller.continuation());
///     }
///     let request = poller.await?;
///     println!("final: {:?}", request.status());
///     Ok(())
/// }
/// ```
///
/// [Stream]: https://docs.rs/futures/0.3/futures/stream/trait.Stream.html
pub struct Waiter<T> {
    phase: Phase<T>,
    options: WaiterOptions,
    token: Option<ContinuationToken>,
}

impl<T> fmt::Debug for Waiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter").field("options", &self.options).field("token", &self.token).finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> Waiter<T> {
    fn from_engine(engine: Engine<T>) -> Self {
        Self { token: engine.token(), phase: Phase::Idle(Box::new(engine)), options: WaiterOptions::default() }
    }

    /// A poller that is ready at once with `value`.
    pub(crate) fn done(core: &Core, op: Operation, value: T) -> Self {
        let target = Target { kind: Kind::Location, poll: String::new(), location: None, op, expect: Expect::Nothing };
        Self::from_engine(Engine::new(core, target, Progress::Ended(End::Done("Succeeded".into(), value))))
    }

    /// Waits for a Lockbox request's status to be final, polling the request URL `url`.
    pub(crate) fn for_request(core: &Core, url: String) -> Result<Self> {
        core.pipeline().service_url(LinkKind::RequestUrl, &url)?;
        let target =
            Target { kind: Kind::Request, poll: url, location: None, op: Operation::RequestsGet, expect: Expect::Body };
        Ok(Self::from_engine(Engine::new(core, target, Progress::Running { wait: Duration::ZERO })))
    }

    /// Sends an action (`send`, the generated operation `op`) and returns a poller for it, whatever 2xx it
    /// answered. `expect` says what the result is once it is done.
    pub(crate) async fn start<F: Future<Output = Sent<T>>>(
        core: &Core,
        op: Operation,
        send: impl FnOnce(generated::Client) -> F,
        expect: Expect,
    ) -> (Result<Self>, CallMeta) {
        let (result, meta) = first_answer(core, op, send, core.pipeline().settings().call_timeout).await;
        let poller = result.and_then(|answer| match answer {
            FirstAnswer::Done(value) => Ok(Self::done(core, op, value.into_inner())),
            FirstAnswer::Accepted(accepted) => Self::follow(core, accepted, expect),
        });
        (poller, meta)
    }

    /// A poller that follows an action's `201`, `202` or `204` answer (see [`first_answer`]). A `202` without a
    /// polling header is an error (`MissingPollingHeader`), and so is a polling URL the token may not go to; a
    /// `201` or `204` without one is finished now, its result what `expect` says.
    pub(crate) fn follow(core: &Core, accepted: Accepted, expect: Expect) -> Result<Self> {
        let Accepted { answer, meta } = accepted;
        let (op, status) = (answer.op, answer.status);
        let wait = accepted_wait(&answer.headers);
        let target = Target { kind: Kind::Location, poll: String::new(), location: None, op, expect };
        let mut engine = Engine::new(core, target, Progress::Running { wait });
        let pipeline = core.pipeline();
        let found = polling_header(&answer.headers).filter(|_| status != StatusCode::NO_CONTENT);
        let Some((kind, url)) = found else {
            if status == StatusCode::ACCEPTED {
                let mut error = ServiceError::from_parts(op.name(), status, &answer.headers, answer.body, &meta);
                error.code = Some("MissingPollingHeader".into());
                error.error = Some(ArmErrorDetail {
                    code: error.code.clone(),
                    message: Some(
                        "accepted, but no Azure-AsyncOperation, Operation-Location or Location to follow".into(),
                    ),
                    ..Default::default()
                });
                return Err(Error::Service(Box::new(error)));
            }
            // 201 or 204 without a polling URL: finished now.
            engine.finish("Succeeded".into(), &answer, true)?;
            return Ok(Self::from_engine(engine));
        };
        let location = header(&answer.headers, "location").filter(|_| kind != Kind::Location);
        for link in std::iter::once(&url).chain(location.as_ref()) {
            pipeline.service_url(LinkKind::PollingUrl, link)?;
        }
        engine.target = Target { kind, poll: url, location, ..engine.target };
        Ok(Self::from_engine(engine))
    }

    /// Rebuilds a poller from a [`ContinuationToken`] (see [`Waiter::resume`]).
    pub(crate) fn resume_with(core: &Core, token: &ContinuationToken, options: Option<WaiterOptions>) -> Result<Self> {
        let bad = |reason: String| Error::invalid("token", reason);
        let json = azure_core::base64::decode_url_safe(token.as_str()).map_err(|e| bad(e.to_string()))?;
        let target: Target = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
        for link in std::iter::once(&target.poll).chain(target.location.as_ref()) {
            core.pipeline().service_url(LinkKind::PollingUrl, link)?;
        }
        let engine = Engine::new(core, target, Progress::Running { wait: Duration::ZERO });
        Ok(Self::from_engine(engine).with_options(options.unwrap_or_default()))
    }

    /// The same poller with other options.
    pub fn with_options(mut self, options: WaiterOptions) -> Self {
        self.options = options;
        self
    }

    /// A token to resume this wait later with [`Waiter::resume`]; `None` once the operation has finished.
    pub fn continuation(&self) -> Option<ContinuationToken> {
        self.token.clone()
    }

    /// The next status, or `None` once the wait is over. Usable without importing `StreamExt`.
    pub async fn try_next(&mut self) -> Result<Option<WaiterStatus>> {
        futures::StreamExt::next(self).await.transpose()
    }

    /// A poller that sends its action (`start`) only when it is first polled or awaited: azure_core's
    /// `begin_*` style. Its [`continuation`](Self::continuation) is `None` until then.
    pub(crate) fn lazy(start: BoxFuture<'static, Result<Waiter<T>>>) -> Self {
        Self { phase: Phase::Starting(start), options: WaiterOptions::default(), token: None }
    }

    /// Runs the engine's next step: the next status, or `None` when there is none. A lazy poller sends its
    /// action first.
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<WaiterStatus>>> {
        if let Phase::Starting(starting) = &mut self.phase {
            match std::task::ready!(starting.as_mut().poll(cx)) {
                // The options stay this poller's (`with_options` may have set them before it started).
                Ok(started) => (self.phase, self.token) = (started.phase, started.token),
                Err(error) => {
                    self.phase = Phase::Refused;
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
        if let Phase::Idle(_) | Phase::Ended(_) = self.phase
            && let Phase::Idle(mut engine) | Phase::Ended(mut engine) = std::mem::replace(&mut self.phase, Phase::Lost)
        {
            engine.options = self.options.clone();
            self.phase = Phase::Stepping(engine.step().boxed());
        }
        let Phase::Stepping(step) = &mut self.phase else { return Poll::Ready(None) };
        let (engine, item) = std::task::ready!(step.as_mut().poll(cx));
        self.token = engine.token();
        self.phase = match item {
            Some(Ok(_)) => Phase::Idle(engine),
            None | Some(Err(_)) => Phase::Ended(engine),
        };
        Poll::Ready(item)
    }
}

/// The first answer of an action (the generated operation `op`, sent by `send`): done at once, or accepted to
/// finish later.
pub(crate) enum FirstAnswer<T> {
    /// The generated operation's own success (`200`), decoded.
    Done(ResponseValue<T>),
    /// `201`, `202` or `204`, which the generated code does not accept: to be followed ([`Waiter::follow`]).
    Accepted(Accepted),
}

/// An action's `201`, `202` or `204` answer, with what its call learned.
pub(crate) struct Accepted {
    answer: Answer,
    meta: CallMeta,
}

impl Accepted {
    /// The answer's status.
    pub(crate) fn status(&self) -> StatusCode {
        self.answer.status
    }

    /// The wait the service asked for before the first look (`Retry-After` and its variants), if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        let wait = accepted_wait(&self.answer.headers);
        (!wait.is_zero()).then_some(wait)
    }

    /// Whether the answer names a URL to follow its progress at (`Azure-AsyncOperation`, `Operation-Location`
    /// or `Location`).
    pub(crate) fn has_polling_url(&self) -> bool {
        polling_header(&self.answer.headers).is_some()
    }

    /// The answer's body, decoded as `D`; `None` when it is blank or cannot be decoded.
    pub(crate) fn body<D: DeserializeOwned>(&self) -> Option<D> {
        let blank = self.answer.body.iter().all(u8::is_ascii_whitespace);
        if blank { None } else { serde_json::from_slice(&self.answer.body).ok() }
    }
}

/// The wait a first answer's `Retry-After` (or `retry-after-ms`) asks for; zero without one.
fn accepted_wait(headers: &reqwest::header::HeaderMap) -> Duration {
    retry::retry_after(headers, SystemTime::now()).unwrap_or_default()
}

/// Sends an action (`send`, the generated operation `op`) bounded by `limit`, and gives its first answer,
/// whatever 2xx it is: the generated code accepts only `200`, so a `201`, `202` or `204` is taken back before it
/// becomes an error.
pub(crate) async fn first_answer<T, F: Future<Output = Sent<T>>>(
    core: &Core,
    op: Operation,
    send: impl FnOnce(generated::Client) -> F,
    limit: Option<Duration>,
) -> (Result<FirstAnswer<T>>, CallMeta) {
    enum Initial<T> {
        Done(T),
        Accepted(Bytes),
    }
    let intercepted = |call: Pipeline| async move {
        match send(generated::Client::on(call)).await {
            Ok(value) => {
                let (status, headers) = (value.status(), value.headers().clone());
                Ok(ResponseValue::new(Initial::Done(value.into_inner()), status, headers))
            }
            Err(progenitor_client::Error::UnexpectedResponse(response))
                if matches!(response.status().as_u16(), 201 | 202 | 204) =>
            {
                let (status, headers) = (response.status(), response.headers().clone());
                let bytes = body(response).await?;
                Ok(ResponseValue::new(Initial::Accepted(bytes), status, headers))
            }
            Err(e) => Err(e),
        }
    };
    let (result, meta) = core.pipeline().call_within(op, limit, intercepted).await;
    let response = match result {
        Ok(response) => response,
        Err(e) => return (Err(e), meta),
    };
    let (status, headers) = (response.status(), response.headers().clone());
    let answer = match response.into_inner() {
        Initial::Done(value) => FirstAnswer::Done(ResponseValue::new(value, status, headers)),
        Initial::Accepted(body) => {
            FirstAnswer::Accepted(Accepted { answer: Answer { op, status, headers, body }, meta: meta.clone() })
        }
    };
    (Ok(answer), meta)
}

impl<T: DeserializeOwned + Send + 'static> Stream for Waiter<T> {
    type Item = Result<WaiterStatus>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Phase::Ended(_) | Phase::Lost | Phase::Refused = self.phase {
            return Poll::Ready(None);
        }
        self.poll_step(cx)
    }
}

// Nothing here is pinned structurally: the step future is boxed.
impl<T> Unpin for Waiter<T> {}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for Waiter<T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'static, Result<T>>;

    fn into_future(mut self) -> Self::IntoFuture {
        Box::pin(async move {
            while let Some(item) = futures::future::poll_fn(|cx| self.poll_step(cx)).await {
                item?;
            }
            match self.phase {
                Phase::Idle(engine) | Phase::Ended(engine) => engine.into_result(),
                Phase::Refused => Err(Error::Configuration(
                    "the operation was never started: the stream already returned why it was refused".into(),
                )),
                Phase::Starting(_) | Phase::Stepping(_) | Phase::Lost => {
                    Err(Error::Configuration("the poller lost its state".into()))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
