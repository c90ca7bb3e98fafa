//! The scripted service the schedules run against: one request's state per schedule ([`Model`]), carried out
//! on loopback in the test's own runtime, so that tokio's paused clock only moves when every task waits.

use std::{
    collections::HashMap,
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use azure_customer_lockbox::{
    CustomerLockboxClient,
    options::{ExponentialRetries, Retries},
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::time::Instant;

use super::{Answer, BUDGET, Effect, MAX_RETRIES, OpEnd, PER_TRY, Poll, ReadFault, Round, Schedule, Shows};
use crate::common::*;

/// What happens to the request at a time.
#[derive(Clone, Copy, Debug)]
enum Due {
    /// Apply a decision (`true`: approve); `op`, the operation that ends with it, and how.
    Apply { approve: bool, op: Option<(usize, OpEnd)> },
    /// An accepted decision's operation ends, as `end` says (interim behaviour: the request was moved on when it
    /// was accepted).
    Finish { op: usize, end: OpEnd },
}

#[derive(Debug)]
struct Op {
    /// `None` while running; then the status its monitor shows (`Succeeded`, `Failed`, `Canceled`).
    outcome: Option<&'static str>,
}

/// The monitor's status of an operation that ends as `end`.
fn ended(end: OpEnd) -> &'static str {
    match end {
        OpEnd::Succeeds => "Succeeded",
        OpEnd::Fails { canceled: true, .. } => "Canceled",
        OpEnd::Fails { canceled: false, .. } => "Failed",
    }
}

/// One request's service-side state.
#[derive(Debug)]
pub(super) struct Model {
    schedule: Schedule,
    status: &'static str,
    /// Decisions recorded (`true`: approve).
    pub(super) recorded: Vec<bool>,
    pub(super) posts: usize,
    /// Posts that arrived after a decision was recorded or accepted.
    pub(super) late_posts: usize,
    reads: usize,
    dues: Vec<(Instant, Due)>,
    at_next_read: Vec<Due>,
    ops: Vec<Op>,
}

impl Model {
    pub(super) fn new(schedule: Schedule, start: Instant) -> Self {
        let mut model = Self {
            status: "Pending",
            recorded: vec![],
            posts: 0,
            late_posts: 0,
            reads: 0,
            dues: vec![],
            at_next_read: vec![],
            ops: vec![],
            schedule,
        };
        if let Some(after) = model.schedule.rival {
            model.dues.push((start + after, Due::Apply { approve: !model.schedule.approve, op: None }));
        }
        model
    }

    /// Applies a decision: recorded when the request is Pending, else refused with the status it is in.
    fn apply(&mut self, approve: bool) -> Result<(), &'static str> {
        if self.status != "Pending" {
            return Err(self.status);
        }
        self.status = if approve { "Approved" } else { "Denied" };
        self.recorded.push(approve);
        Ok(())
    }

    fn run(&mut self, due: Due) {
        match due {
            Due::Apply { approve, op: None } => {
                let _ = self.apply(approve);
            }
            // Pending behaviour: the decision is applied as its operation ends.
            Due::Apply { approve, op: Some((op, end)) } => {
                let outcome = match end {
                    OpEnd::Succeeds if self.apply(approve).is_ok() => "Succeeded",
                    // Refused: the request was not pending any more.
                    OpEnd::Succeeds => "Failed",
                    OpEnd::Fails { shows, .. } => {
                        let _ = match shows {
                            Shows::Ours => self.apply(approve),
                            Shows::Other => self.apply(!approve),
                            Shows::Neither => Ok(()),
                        };
                        ended(end)
                    }
                };
                self.ops[op].outcome = Some(outcome);
            }
            // Interim behaviour: the request moved to Approving/Denying when it was accepted.
            Due::Finish { op, end } => {
                let approve = self.status == "Approving";
                match end {
                    OpEnd::Succeeds | OpEnd::Fails { shows: Shows::Ours, .. } => {
                        self.status = if approve { "Approved" } else { "Denied" };
                        self.recorded.push(approve);
                    }
                    // Never moved on (see `handle`): applied as an operation of the pending behaviour.
                    OpEnd::Fails { shows: Shows::Other | Shows::Neither, .. } => {
                        unreachable!("an operation that does not move the request on is applied at its end")
                    }
                }
                self.ops[op].outcome = Some(ended(end));
            }
        }
    }

    /// Runs everything due by `now`, in time order.
    pub(super) fn settle(&mut self, now: Instant) {
        self.dues.sort_by_key(|(at, _)| *at);
        while let Some(&(at, due)) = self.dues.first() {
            if at > now {
                break;
            }
            self.dues.remove(0);
            self.run(due);
        }
    }
}

#[derive(Default)]
pub(super) struct Service {
    pub(super) models: HashMap<String, Model>,
    base: String,
    foreign: String,
}

type Body = BoxBody<Bytes, io::Error>;

/// Closes the connection without an answer (hyper drops a connection whose service fails).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

fn full(status: u16, body: serde_json::Value) -> Response<Body> {
    let body = Full::new(Bytes::from(body.to_string())).map_err(|never: Infallible| match never {}).boxed();
    Response::builder().status(status).header("content-type", "application/json").body(body).unwrap()
}

/// `200` whose body stops half-way, the connection closed.
fn cut(body: serde_json::Value) -> Response<Body> {
    let text = body.to_string();
    let half = Bytes::from(text[..text.len() / 2].to_owned());
    let frames: Vec<Result<Frame<Bytes>, io::Error>> =
        vec![Ok(Frame::data(half)), Err(io::Error::new(io::ErrorKind::ConnectionReset, "cut"))];
    let body = StreamBody::new(futures::stream::iter(frames)).boxed();
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("content-length", text.len().to_string())
        .body(body)
        .unwrap()
}

fn echo(approve: bool) -> serde_json::Value {
    json!({"status": if approve { "Approve" } else { "Deny" }, "reason": "scheduled"})
}

fn refusal(status: &str) -> Response<Body> {
    full(
        409,
        json!({"error": {"code": "RequestNotPending", "message": "not pending",
            "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": status}}]}}),
    )
}

async fn handle(
    service: Arc<Mutex<Service>>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Dropped> {
    let now = Instant::now();
    let path = request.uri().path().to_owned();
    let post = request.method() == hyper::Method::POST;
    if let Some(rest) = path.strip_prefix("/operations/") {
        let (id, op) = rest.rsplit_once('-').expect("id-op");
        let mut service = service.lock().unwrap();
        let model = service.models.get_mut(id).expect("model");
        model.settle(now);
        let op: usize = op.parse().unwrap();
        return Ok(match model.ops[op].outcome {
            None => full(200, json!({"status": "InProgress"})),
            Some("Succeeded") => full(200, json!({"status": "Succeeded"})),
            Some(status) => {
                full(200, json!({"status": status, "error": {"code": "RequestNotPending", "message": "x"}}))
            }
        });
    }
    let segments: Vec<&str> = path.split('/').collect();
    // /subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}[/updateApproval]
    let id = segments.get(6).copied().unwrap_or_default().to_owned();
    if post {
        let (round, approve) = {
            let mut guard = service.lock().unwrap();
            let Service { models, base, foreign } = &mut *guard;
            let model = models.get_mut(&id).unwrap_or_else(|| panic!("no model for {path}"));
            model.settle(now);
            let n = model.posts;
            model.posts += 1;
            if !model.recorded.is_empty() || model.status != "Pending" || !model.ops.is_empty() {
                model.late_posts += 1;
            }
            let round =
                model.schedule.rounds.get(n).copied().unwrap_or(Round { effect: Effect::Now, answer: Answer::Ok });
            let approve = model.schedule.approve;
            if let Answer::Accepted { poll, runs, hint, lost, end } = round.answer {
                // Accepted: the operation runs `runs`, applying the decision at its end (pending behaviour), or
                // moving the request on now and finishing it then (interim behaviour). An operation that fails
                // with the request showing the other decision or neither never moved it on (a request that shows
                // `Approving` or `Denying` has the decision: it is not rolled back), in either behaviour.
                let op = model.ops.len();
                let moves_on = !matches!(end, OpEnd::Fails { shows: Shows::Other | Shows::Neither, .. });
                if model.schedule.interim && moves_on {
                    if model.status != "Pending" {
                        return Ok(refusal(model.status));
                    }
                    model.status = if approve { "Approving" } else { "Denying" };
                    model.dues.push((now + runs, Due::Finish { op, end }));
                } else {
                    model.dues.push((now + runs, Due::Apply { approve, op: Some((op, end)) }));
                }
                model.ops.push(Op { outcome: None });
                if lost {
                    return Err(Dropped);
                }
                let mut response = full(202, json!({}));
                let origin = match poll {
                    Poll::Endpoint => Some(base.as_str()),
                    Poll::Foreign => Some(foreign.as_str()),
                    Poll::Missing => None,
                };
                if let Some(origin) = origin {
                    let url = format!("{origin}/operations/{id}-{op}");
                    response.headers_mut().insert("azure-asyncoperation", url.parse().unwrap());
                }
                response.headers_mut().insert("retry-after", hint.to_string().parse().unwrap());
                return Ok(response);
            }
            let applied = match round.effect {
                Effect::Now => Some(model.apply(approve)),
                Effect::Later(after) => {
                    model.dues.push((now + after, Due::Apply { approve, op: None }));
                    None
                }
                Effect::AtNextRead => {
                    model.at_next_read.push(Due::Apply { approve, op: None });
                    None
                }
                Effect::Never => None,
            };
            match (round.answer, applied) {
                (Answer::Ok, Some(Ok(()))) => return Ok(full(200, echo(approve))),
                (Answer::Cut, Some(Ok(()))) => return Ok(cut(echo(approve))),
                // Refused: the request is not pending any more.
                (Answer::Ok | Answer::Cut, Some(Err(status))) => return Ok(refusal(status)),
                (Answer::Error500, _) => {
                    return Ok(full(500, json!({"error": {"code": "InternalServerError", "message": "x"}})));
                }
                (Answer::Drop, _) => return Err(Dropped),
                _ => {}
            }
            (round, approve)
        };
        // Hang: answer long after the per-try timeout (the client has given up by then).
        debug_assert!(matches!(round.answer, Answer::Hang));
        tokio::time::sleep(PER_TRY * 5).await;
        return Ok(full(200, echo(approve)));
    }
    // A read of the request.
    let mut service = service.lock().unwrap();
    let model = service.models.get_mut(&id).expect("model");
    model.settle(now);
    let fault = model.schedule.reads.get(model.reads).copied().unwrap_or(ReadFault::None);
    model.reads += 1;
    let response = match fault {
        ReadFault::Error500 => Ok(full(500, json!({"error": {"code": "InternalServerError", "message": "x"}}))),
        ReadFault::Drop => Err(Dropped),
        ReadFault::NoStatus => Ok(full(200, json!({"name": id, "properties": {}}))),
        ReadFault::None => Ok(full(200, request_json(SUB, &id, model.status))),
    };
    for due in std::mem::take(&mut model.at_next_read) {
        model.run(due);
    }
    response
}

pub(super) async fn start() -> (Arc<Mutex<Service>>, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = Arc::new(Mutex::new(Service {
        base: format!("http://{address}"),
        foreign: format!("http://localhost:{}", address.port()),
        ..Service::default()
    }));
    let shared = service.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let shared = shared.clone();
            tokio::spawn(async move {
                let serve = service_fn(move |request| handle(shared.clone(), request));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), serve).await;
            });
        }
    });
    (service, address)
}

/// A client of the scripted service, with a call `timeout` (one HTTP client serves them all: building one
/// loads the platform's root certificates, which would cost more than a schedule).
pub(super) fn client(address: SocketAddr, timeout: Option<Duration>, http: &reqwest::Client) -> CustomerLockboxClient {
    let retry = ExponentialRetries {
        max_retries: MAX_RETRIES,
        initial_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
        max_total_elapsed: BUDGET,
        jitter: false,
    };
    TestClient::new(format!("http://{address}"))
        .retry(Retries::Exponential(retry))
        .per_try_timeout(Some(PER_TRY))
        .timeout(timeout)
        .http_client(http.clone())
        .build()
}
