//! Interleavings explored on purpose, not by the machine's luck: a seeded property test on tokio's paused clock.
//!
//! Each case is a *schedule* for one decision: for each round the client may send, when the service applies it
//! relative to the client's events (before its answer; later, after the answer was lost or cut, after the
//! per-try timeout, between the reconciling read and the resend, after the resend; at the next read; never), what
//! the answer is (`200`, `500`, a dropped connection, a cut body, an answer that hangs past the per-try timeout,
//! or `202` with a polling URL on the endpoint, on a foreign origin or missing, whose operation runs for a chosen
//! time, in either of the service's two `202` behaviours), which faults hit the reconciling reads (`500`, a
//! dropped connection, a request with no status), whether another approver's opposite decision lands at some
//! time, and whether the call has a `timeout`. A scripted service on loopback, in the test's own runtime,
//! carries the schedule out; the clock only moves when every task waits, so a schedule replays exactly.
//!
//! Over every schedule it checks the promises: the service never records two decisions for the request; the
//! caller is told the truth (a `Decision` only if ours is recorded, a conflict only if another is, a plain error
//! only if nothing is recorded, ever); `DecisionOutcomeUnknown` only when the call's bound ended or every round
//! was used. A failing schedule is printed with the seed of the run, and `DECISION_SCHEDULES_SEED=<seed>
//! cargo test --test it decision_schedules` replays it (`DECISION_SCHEDULES_CASES` sets how many are run).

use std::{
    collections::HashMap,
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, Error,
    options::{ExponentialRetries, Retries},
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, service::service_fn};
use hyper_util::rt::TokioIo;
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner},
};
use serde_json::json;
use tokio::time::Instant;

/// The rounds a call may send: the first and `MAX_RETRIES` resends.
const MAX_RETRIES: u32 = 2;
const PER_TRY: Duration = Duration::from_secs(2);
/// The retry budget, which bounds the reconciling reads of a call without a `timeout`.
const BUDGET: Duration = Duration::from_secs(30);

/// When the service applies a round.
#[derive(Clone, Copy, Debug)]
enum Effect {
    /// Before it answers.
    Now,
    /// This long after the round arrived (its answer failed or hung meanwhile).
    Later(Duration),
    /// Just after it answers the next read of the request.
    AtNextRead,
    /// Never: the round did not reach the service's backend.
    Never,
}

/// Where a `202`'s polling URL points.
#[derive(Clone, Copy, Debug)]
enum Poll {
    Endpoint,
    Foreign,
    Missing,
}

/// How the service answers a round.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// `200` with the decision (the round applied now).
    Ok,
    /// `500` with an ARM body.
    Error500,
    /// The connection closed without an answer.
    Drop,
    /// `200`, its body cut half-way (the round applied now).
    Cut,
    /// An answer that comes long after the per-try timeout.
    Hang,
    /// `202 Accepted`: the operation runs `runs`, `Retry-After: hint` seconds; `lost` when the `202` itself is
    /// lost (the connection closes once the service accepted it).
    Accepted { poll: Poll, runs: Duration, hint: u64, lost: bool },
}

/// A round as the service carries it out.
#[derive(Clone, Copy, Debug)]
struct Round {
    effect: Effect,
    answer: Answer,
}

/// A reconciling read's fault.
#[derive(Clone, Copy, Debug)]
enum ReadFault {
    None,
    Error500,
    Drop,
    NoStatus,
}

/// One schedule.
#[derive(Clone, Debug)]
struct Schedule {
    approve: bool,
    /// Whether the request moves to Approving/Denying when a `202` is accepted (else it stays Pending until
    /// the operation ends, and a second accepted operation fails then).
    interim: bool,
    rounds: Vec<Round>,
    reads: Vec<ReadFault>,
    /// Another approver's opposite decision, this long after the call starts.
    rival: Option<Duration>,
    timeout: Option<Duration>,
}

fn duration() -> impl Strategy<Value = Duration> {
    prop::sample::select(vec![10u64, 300, 900, 1_500, 2_500, 4_000, 8_000]).prop_map(Duration::from_millis)
}

fn round() -> impl Strategy<Value = Round> {
    let effect = prop_oneof![
        2 => Just(Effect::Now),
        3 => duration().prop_map(Effect::Later),
        1 => Just(Effect::AtNextRead),
        2 => Just(Effect::Never),
    ];
    let poll = prop_oneof![Just(Poll::Endpoint), Just(Poll::Foreign), Just(Poll::Missing)];
    let accepted = (poll, duration(), 0u64..3, any::<bool>()).prop_map(|(poll, runs, hint, lost)| Answer::Accepted {
        poll,
        runs,
        hint,
        lost,
    });
    let answer = prop_oneof![
        2 => Just(Answer::Ok),
        2 => Just(Answer::Error500),
        2 => Just(Answer::Drop),
        1 => Just(Answer::Cut),
        1 => Just(Answer::Hang),
        3 => accepted,
    ];
    (effect, answer).prop_map(|(effect, answer)| match answer {
        // A `200` says the service took it: it was applied before the answer.
        Answer::Ok | Answer::Cut => Round { effect: Effect::Now, answer },
        _ => Round { effect, answer },
    })
}

fn schedule() -> impl Strategy<Value = Schedule> {
    let read = prop_oneof![
        3 => Just(ReadFault::None),
        1 => Just(ReadFault::Error500),
        1 => Just(ReadFault::Drop),
        1 => Just(ReadFault::NoStatus),
    ];
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(round(), 1..=3),
        prop::collection::vec(read, 0..4),
        prop::option::weighted(0.2, duration()),
        prop::option::weighted(0.3, prop::sample::select(vec![3u64, 12, 40]).prop_map(Duration::from_secs)),
    )
        .prop_map(|(approve, interim, rounds, reads, rival, timeout)| Schedule {
            approve,
            interim,
            rounds,
            reads,
            rival,
            timeout,
        })
}

// ---- the scripted service ----

/// What happens to the request at a time.
#[derive(Clone, Copy, Debug)]
enum Due {
    /// Apply a decision (`true`: approve); `op`, the operation that ends with it.
    Apply { approve: bool, op: Option<usize> },
    /// An accepted decision's operation ends (interim behaviour: the request was moved on when it was accepted).
    Finish { op: usize },
}

#[derive(Debug)]
struct Op {
    /// `None` while running; then whether it succeeded.
    outcome: Option<bool>,
}

/// One request's service-side state.
#[derive(Debug)]
struct Model {
    schedule: Schedule,
    status: &'static str,
    /// Decisions recorded (`true`: approve).
    recorded: Vec<bool>,
    posts: usize,
    /// Posts that arrived after a decision was recorded or accepted.
    late_posts: usize,
    reads: usize,
    dues: Vec<(Instant, Due)>,
    at_next_read: Vec<Due>,
    ops: Vec<Op>,
}

impl Model {
    fn new(schedule: Schedule, start: Instant) -> Self {
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
            Due::Apply { approve, op } => {
                let took = self.apply(approve).is_ok();
                if let Some(op) = op {
                    self.ops[op].outcome = Some(took);
                }
            }
            Due::Finish { op } => {
                let approve = self.status == "Approving";
                self.status = if approve { "Approved" } else { "Denied" };
                self.recorded.push(approve);
                self.ops[op].outcome = Some(true);
            }
        }
    }

    /// Runs everything due by `now`, in time order.
    fn settle(&mut self, now: Instant) {
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
struct Service {
    models: HashMap<String, Model>,
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
            Some(true) => full(200, json!({"status": "Succeeded"})),
            Some(false) => {
                full(200, json!({"status": "Failed", "error": {"code": "RequestNotPending", "message": "x"}}))
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
            if let Answer::Accepted { poll, runs, hint, lost } = round.answer {
                // Accepted: the operation runs `runs`, applying the decision at its end (pending behaviour), or
                // moving the request on now and finishing it then (interim behaviour).
                let op = model.ops.len();
                if model.schedule.interim {
                    if model.status != "Pending" {
                        return Ok(refusal(model.status));
                    }
                    model.status = if approve { "Approving" } else { "Denying" };
                    model.dues.push((now + runs, Due::Finish { op }));
                } else {
                    model.dues.push((now + runs, Due::Apply { approve, op: Some(op) }));
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

async fn start() -> (Arc<Mutex<Service>>, SocketAddr) {
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
fn client(address: SocketAddr, timeout: Option<Duration>, http: &reqwest::Client) -> CustomerLockboxClient {
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

/// Runs one schedule against the scripted service as request `id`, and checks the promises.
async fn check(
    service: &Arc<Mutex<Service>>,
    address: SocketAddr,
    http: &reqwest::Client,
    id: String,
    schedule: Schedule,
) -> Result<Kept, String> {
    let started = Instant::now();
    service.lock().unwrap().models.insert(id.clone(), Model::new(schedule.clone(), started));
    let requests = client(address, schedule.timeout, http).requests(SUB).unwrap();
    let result = if schedule.approve {
        requests.approve(&id, "scheduled", None).await
    } else {
        requests.deny(&id, "scheduled", None).await
    };
    let elapsed = started.elapsed();
    // Let everything the schedule still holds happen (late rounds, operations, the rival).
    tokio::time::sleep(Duration::from_secs(600)).await;
    let mut guard = service.lock().unwrap();
    let model = guard.models.get_mut(&id).unwrap();
    model.settle(Instant::now());
    let ours = |approve: bool| approve == schedule.approve;
    let recorded = model.recorded.clone();
    let fail = |what: String| Err(format!("{what}; recorded {recorded:?}, {} POST(s), result {result:?}", model.posts));
    if recorded.len() > 1 {
        return fail("two decisions recorded".into());
    }
    let kept = match &result {
        Ok(decision) if recorded.first().copied().is_some_and(ours) => {
            if decision.reconciled() {
                "a decision learned by a read"
            } else {
                "a decision answered"
            }
        }
        Ok(_) => return fail("reported as taken, but ours is not recorded".into()),
        Err(Error::DecisionConflict { .. }) if recorded.first().copied().is_some_and(|d| !ours(d)) => "a conflict",
        Err(Error::DecisionConflict { .. }) => return fail("a conflict, but no other decision is recorded".into()),
        Err(Error::DecisionOutcomeUnknown { .. }) => {
            let rounds_used = model.posts >= (MAX_RETRIES + 1) as usize;
            let bound = schedule.timeout.unwrap_or(BUDGET);
            if !rounds_used && elapsed < bound / 2 {
                return fail(format!("unknown after only {elapsed:?}"));
            }
            "an unknown outcome"
        }
        Err(_) if recorded.iter().any(|d| ours(*d)) => return fail("a plain failure, but ours is recorded".into()),
        Err(_) => "a refusal",
    };
    Ok(Kept { outcome: kept, resent_after_taken: model.late_posts })
}

/// What a schedule came to, for the run's summary.
struct Kept {
    outcome: &'static str,
    /// Rounds sent after one was recorded or accepted (each refused, or failed, by the service).
    resent_after_taken: usize,
}

#[test]
fn every_schedule_keeps_the_decision_promises() {
    let seed: u64 = std::env::var("DECISION_SCHEDULES_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(22);
    let cases: u32 = std::env::var("DECISION_SCHEDULES_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let (service, address) = runtime.block_on(start());
    let http = paused_clock_http();
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let next = std::sync::atomic::AtomicU64::new(0);
    let seen: Mutex<HashMap<&'static str, usize>> = Mutex::default();
    let resent = std::sync::atomic::AtomicUsize::new(0);
    let outcome = runner.run(&schedule(), |schedule| {
        let id = format!("req-{}", next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let kept = runtime.block_on(check(&service, address, &http, id, schedule)).map_err(TestCaseError::fail)?;
        *seen.lock().unwrap().entry(kept.outcome).or_default() += 1;
        resent.fetch_add(kept.resent_after_taken, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}\nreplay with DECISION_SCHEDULES_SEED={seed} cargo test --test it decision_schedules");
    }
    let seen = seen.into_inner().unwrap();
    let resent = resent.into_inner();
    eprintln!("{cases} schedules (seed {seed}): {seen:?}; {resent} rounds sent after one was taken, each refused");
    // The schedules reach every way a decision can end, or the exploration explores less than it claims.
    for outcome in
        ["a decision answered", "a decision learned by a read", "a conflict", "an unknown outcome", "a refusal"]
    {
        assert!(seen.get(outcome).is_some_and(|n| *n > 0), "no schedule ended in {outcome}: {seen:?}");
    }
}
