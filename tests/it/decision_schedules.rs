//! Interleavings explored on purpose, not by the machine's luck: a seeded property test on tokio's paused clock.
//!
//! Each case is a *schedule* for one decision: for each round the client may send, when the service applies it
//! relative to the client's events (before its answer; later, after the answer was lost or cut, after the
//! per-try timeout, between the reconciling read and the resend, after the resend; at the next read; never), what
//! the answer is (`200`, `500`, a dropped connection, a cut body, an answer that hangs past the per-try timeout,
//! or `202` with a polling URL on the endpoint, on a foreign origin or missing, whose operation runs for a chosen
//! time and then succeeds, or ends `Failed` or `Canceled` while the request shows our decision, the other one or
//! neither, in either of the service's two `202` behaviours), which faults hit the reads (`500`, a dropped
//! connection, a request with no status, alone or in runs long enough to fail a read), whether another
//! approver's opposite decision lands at some time, whether the call has a `timeout`, and whether it then waits
//! until the request's status is final (`until_final`, with or without a timeout of its own; the faults hit that
//! wait's reads too). A scripted service on loopback, in the test's own runtime,
//! carries the schedule out; the clock only moves when every task waits, so a schedule replays exactly.
//!
//! Over every schedule it checks the promises: the service never records two decisions for the request; the
//! caller is told the truth (a `Decision` only if ours is recorded, a conflict only if another is, a plain error
//! only if nothing is recorded, ever); `DecisionOutcomeUnknown` only when the call's bound ended or every round
//! was used; a call that waited has the wait's outcome inside its `Decision` (a final request only if final and
//! ours); and a call with a bound (its `timeout`, the wait's) ends within it. A failing schedule is printed with the seed of the run, and `DECISION_SCHEDULES_SEED=<seed>
//! cargo test --test it decision_schedules` replays it (`DECISION_SCHEDULES_CASES` sets how many are run).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::common::*;
use azure_customer_lockbox::{
    Error,
    options::{DecisionOptions, WaiterOptions},
};
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner},
};
use tokio::time::Instant;

mod service;

use service::{Model, Service, client, start};

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
    Accepted { poll: Poll, runs: Duration, hint: u64, lost: bool, end: OpEnd },
}

/// How an accepted round's operation ends.
#[derive(Clone, Copy, Debug)]
enum OpEnd {
    Succeeds,
    /// `Failed` (or `Canceled`), the request then showing `shows`.
    Fails {
        canceled: bool,
        shows: Shows,
    },
}

/// What the request shows when an accepted operation ends `Failed` or `Canceled`.
#[derive(Clone, Copy, Debug)]
enum Shows {
    /// Our decision: the service recorded it all the same.
    Ours,
    /// The other decision, recorded as the operation failed.
    Other,
    /// Neither: the request is (back to) `Pending`.
    Neither,
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
    /// Whether the call then waits until the request's status is final, and the wait's own timeout.
    until_final: Option<Option<Duration>>,
}

impl Schedule {
    /// The call's bound: its `timeout` and the wait's, whichever ends first.
    fn bound(&self) -> Option<Duration> {
        [self.timeout, self.until_final.flatten()].into_iter().flatten().min()
    }
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
    let shows = prop_oneof![Just(Shows::Ours), Just(Shows::Other), Just(Shows::Neither)];
    let end = prop_oneof![
        3 => Just(OpEnd::Succeeds),
        2 => (any::<bool>(), shows).prop_map(|(canceled, shows)| OpEnd::Fails { canceled, shows }),
    ];
    let accepted = (poll, duration(), 0u64..3, any::<bool>(), end)
        .prop_map(|(poll, runs, hint, lost, end)| Answer::Accepted { poll, runs, hint, lost, end });
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
    // A fault alone, or a run of three (as many as a read's tries: the read fails).
    let faults = (read, prop_oneof![3 => Just(1usize), 1 => Just(3usize)]).prop_map(|(fault, n)| vec![fault; n]);
    let reads = prop::collection::vec(faults, 0..5).prop_map(|runs| runs.concat());
    let wait_timeout =
        prop::option::weighted(0.5, prop::sample::select(vec![2u64, 6, 20]).prop_map(Duration::from_secs));
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(round(), 1..=3),
        reads,
        prop::option::weighted(0.2, duration()),
        prop::option::weighted(0.3, prop::sample::select(vec![3u64, 12, 40]).prop_map(Duration::from_secs)),
        prop::option::weighted(0.4, wait_timeout),
    )
        .prop_map(|(approve, interim, rounds, reads, rival, timeout, until_final)| Schedule {
            approve,
            interim,
            rounds,
            reads,
            rival,
            timeout,
            until_final,
        })
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
    let options = schedule.until_final.map(|timeout| DecisionOptions {
        until_final: Some(WaiterOptions { frequency: Duration::from_secs(1), timeout }),
        ..Default::default()
    });
    let result = if schedule.approve {
        requests.approve(&id, "scheduled", options).await
    } else {
        requests.deny(&id, "scheduled", options).await
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
    // One bound covers the whole call, the wait included (the paused clock makes it exact).
    if let Some(bound) = schedule.bound()
        && elapsed > bound
    {
        return fail(format!("took {elapsed:?}, past its bound of {bound:?}"));
    }
    let kept = match &result {
        Ok(decision) if recorded.first().copied().is_some_and(ours) => {
            match (schedule.until_final, decision.until_final()) {
                (None, None) if decision.reconciled() => "a decision learned by a read",
                (None, None) => "a decision answered",
                (Some(_), Some(Ok(request))) => {
                    let final_ours = request.status().is_some_and(|s| s.is_final() && s.reflects(decision.decision()));
                    if !final_ours {
                        return fail(format!(
                            "the wait gave a request that is not final and ours: {:?}",
                            request.status()
                        ));
                    }
                    "a decision confirmed final"
                }
                (Some(_), Some(Err(_))) => "a decision whose final status was not confirmed",
                (asked, waited) => return fail(format!("asked to wait: {asked:?}, the wait: {waited:?}")),
            }
        }
        Ok(_) => return fail("reported as taken, but ours is not recorded".into()),
        Err(Error::DecisionConflict { .. }) if recorded.first().copied().is_some_and(|d| !ours(d)) => "a conflict",
        Err(Error::DecisionConflict { .. }) => return fail("a conflict, but no other decision is recorded".into()),
        Err(Error::DecisionOutcomeUnknown { .. }) => {
            let rounds_used = model.posts >= (MAX_RETRIES + 1) as usize;
            let bound = schedule.bound().unwrap_or(BUDGET);
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
    for outcome in [
        "a decision answered",
        "a decision learned by a read",
        "a decision confirmed final",
        "a decision whose final status was not confirmed",
        "a conflict",
        "an unknown outcome",
        "a refusal",
    ] {
        assert!(seen.get(outcome).is_some_and(|n| *n > 0), "no schedule ended in {outcome}: {seen:?}");
    }
}
