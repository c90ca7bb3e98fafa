//! Soak test: 10,000+ mixed operations from 32 concurrent tasks against the emulator while about a third of
//! all responses are injected faults (429 with each retry-hint header, 5xx with and without ARM bodies, HTML
//! gateway pages, dropped connections, failures after the decision was recorded). Decisions on half of the
//! subscriptions are answered `202 Accepted` and polled (the emulator's 202 mode), with faults on the polls too
//! (5xx, dropped connections, cut bodies) and 202s whose polling URLs name another host. At the end the
//! emulator's state is checked against what the SDK reported.
//!
//! ```sh
//! cargo run --release --example soak [-- --ops 10000 --tasks 32 --seed 7]
//! ```
//!
//! The last line is `soak: <ops> ops, <faults> faults injected, <failed> failed, <dup> duplicate decisions,
//! <lost> lost decisions`; the exit status is non-zero unless the last three are 0 and at least 30% of the
//! responses were faults. A *duplicate* decision is a decision POST that reached the emulator for a request whose
//! decision was already recorded (`Emulator::duplicate_decisions`). A *lost* decision is one whose outcome the
//! caller was told wrongly: reported as taken but not recorded, or reported as failed although the service
//! recorded it. The exit status is also non-zero if the client sent anything to a foreign polling host
//! (`Emulator::foreign_host_requests`): the token goes only to the configured origin.

use std::{
    collections::HashMap,
    process::ExitCode,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, ExponentialRetryOptions, RetryOptions,
    StaticTokenCredential,
};
use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, Fault, NewLockboxRequest, Operation, RetryAfterHeader,
};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Operations to run in total.
    #[arg(long, default_value_t = 10_000)]
    ops: usize,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 32)]
    tasks: usize,
    /// Seed of the random choices.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Probability that an operation is preceded by an injected fault.
    #[arg(long, default_value_t = 0.6)]
    fault_rate: f64,
}

const SUBSCRIPTIONS: [&str; 4] = [
    "0b1f6c39-0000-4000-8000-000000000001",
    "0b1f6c39-0000-4000-8000-000000000002",
    "0b1f6c39-0000-4000-8000-000000000003",
    "0b1f6c39-0000-4000-8000-000000000004",
];

/// What the SDK reported for a decision.
#[derive(Clone, Copy, PartialEq)]
enum Reported {
    Taken,
    Failed,
    /// `Error::DecisionOutcomeUnknown`: the SDK said it could not tell. Honest, so never "lost"; still a failure.
    Unknown,
}

/// What the SDK reported for each decision: request id -> (decision, report).
type Outcomes = Arc<Mutex<HashMap<String, (&'static str, Reported)>>>;

fn random_fault(rng: &mut fastrand::Rng) -> Fault {
    let retry_hint = match rng.u8(0..4) {
        0 => RetryAfterHeader::Millis(rng.u64(1..20)),
        1 => RetryAfterHeader::XMsMillis(rng.u64(1..20)),
        2 => RetryAfterHeader::Seconds(0),
        _ => RetryAfterHeader::HttpDate(SystemTime::now()),
    };
    let fault = match rng.u8(0..12) {
        0 | 1 => Fault::throttle(retry_hint),
        2 => Fault::status(500),
        3 => Fault::status_without_body(502),
        4 => Fault::status(503),
        5 => Fault::status_without_body(504),
        6 => Fault::html(502),
        7 => Fault::drop_connection(),
        // An answer whose body is cut half-way: a read is sent again, a decision counts as taken.
        8 => Fault::cut_body(),
        // The decision is recorded, then the reply is lost: the SDK must reconcile, not resend.
        9 => Fault::status(500).after_commit().on(Operation::RequestsUpdateStatus),
        10 => Fault::drop_connection().after_commit().on(Operation::RequestsUpdateStatus),
        // The decision is recorded and answered 200, but the answer's body is cut: it was taken all the same.
        _ => Fault::cut_body().on(Operation::RequestsUpdateStatus),
    };
    fault.times(1)
}

/// A fault for a task whose decisions are answered `202 Accepted`: half the time one of [`random_fault`], else
/// one on the polls (or a `202` naming another host).
fn random_async_fault(rng: &mut fastrand::Rng) -> Fault {
    if rng.bool() {
        return random_fault(rng);
    }
    let fault = match rng.u8(0..7) {
        0 => Fault::status(500),
        1 => Fault::status_without_body(503),
        2 => Fault::html(502),
        3 => Fault::drop_connection(),
        4 => Fault::cut_body(),
        // Several 503s in a row on the polls (shared by every task polling at the time).
        5 => Fault::status(503).times(4),
        // The decision is accepted, but its progress is on a host the token must not go to.
        _ => return Fault::foreign_polling_host().on(Operation::RequestsUpdateStatus),
    };
    fault.on(Operation::AsyncOperationPoll)
}

/// Subscriptions whose decisions the emulator answers `202 Accepted` (the others at once).
fn answers_202(sub: &str) -> bool {
    sub == SUBSCRIPTIONS[1] || sub == SUBSCRIPTIONS[3]
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default().with_page_size(50)).await.expect("emulator"));
    // Operations end almost at once; the client still waits the 202's `Retry-After` (1 s) before its first
    // poll, so those tasks run their decisions beside their other operations rather than one after another.
    let async_mode =
        AsyncOperations { duration: Duration::from_millis(5), retry_after_secs: 1, ..AsyncOperations::default() };
    for sub in SUBSCRIPTIONS.into_iter().filter(|s| answers_202(s)) {
        emulator.set_async_operations_for(sub, Some(async_mode.clone()));
    }
    // Enough pending requests for every decision the run can make; each task owns its own slice.
    let per_task = args.ops / args.tasks / 3 + 8;
    let mut owned: Vec<Vec<(String, String)>> = vec![Vec::new(); args.tasks];
    for (task, slice) in owned.iter_mut().enumerate() {
        let sub = SUBSCRIPTIONS[task % SUBSCRIPTIONS.len()];
        for i in 0..per_task {
            let new = NewLockboxRequest { justification: format!("soak {task}/{i}"), ..Default::default() };
            slice.push((sub.to_owned(), emulator.create_request(sub, new)));
        }
    }
    let options = CustomerLockboxClientOptions {
        retry: RetryOptions::exponential(ExponentialRetryOptions {
            max_retries: 12,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(200),
            ..Default::default()
        }),
        per_try_timeout: Some(Duration::from_secs(10)),
        ..CustomerLockboxClientOptions::for_endpoint(emulator.url().clone())
    };
    let client =
        CustomerLockboxClient::new(Arc::new(StaticTokenCredential::new("soak-token")), Some(options)).expect("client");
    let tenant = emulator.default_tenant_id().to_owned();
    let outcomes: Outcomes = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    let mut handles = Vec::new();
    for (task, mut mine) in owned.into_iter().enumerate() {
        let readable: Vec<String> = mine.iter().map(|(_, id)| id.clone()).collect();
        let (client, emulator, outcomes, done, failed, tenant) =
            (client.clone(), emulator.clone(), outcomes.clone(), done.clone(), failed.clone(), tenant.clone());
        let quota = args.ops / args.tasks + usize::from(task < args.ops % args.tasks);
        let fault_rate = args.fault_rate;
        let mut rng = fastrand::Rng::with_seed(args.seed.wrapping_mul(1_000_003).wrapping_add(task as u64));
        handles.push(tokio::spawn(async move {
            let sub = SUBSCRIPTIONS[task % SUBSCRIPTIONS.len()];
            let accepted = answers_202(sub);
            let requests = client.requests(sub).expect("subscription id");
            let mut decisions = tokio::task::JoinSet::new();
            for _ in 0..quota {
                if rng.f64() < fault_rate {
                    emulator.inject(if accepted { random_async_fault(&mut rng) } else { random_fault(&mut rng) });
                }
                let ok = match rng.u8(0..10) {
                    0..=1 => requests.list(None).try_next().await.map(drop),
                    2 => requests.list_pending().try_next().await.map(drop),
                    3 | 4 => requests.get(&readable[rng.usize(0..readable.len())]).await.map(drop),
                    5..=7 if !mine.is_empty() => {
                        let (_, id) = mine.pop().expect("not empty");
                        let decide = decide(requests.clone(), id, rng.bool(), outcomes.clone());
                        if accepted {
                            // Polled after a 1 s wait: run it beside the task's next operations.
                            let (done, failed) = (done.clone(), failed.clone());
                            decisions.spawn(async move {
                                count(decide.await, &done, &failed);
                            });
                            continue;
                        }
                        decide.await
                    }
                    8 => client.tenant().is_opted_in(&tenant).await.map(drop),
                    _ if rng.bool() => client.tenant().enable().await,
                    _ => client.tenant().disable().await,
                };
                count(ok, &done, &failed);
            }
            while let Some(joined) = decisions.join_next().await {
                joined.expect("decision task panicked");
            }
        }));
    }
    for handle in handles {
        handle.await.expect("task panicked");
    }
    let elapsed = started.elapsed();

    // Check the emulator's record against what the SDK reported.
    let outcomes = outcomes.lock().expect("lock").clone();
    let Tally { dup, lost } = tally(&emulator, &outcomes);

    let foreign = emulator.foreign_host_requests();
    if foreign > 0 {
        println!("{foreign} requests sent to a foreign polling host");
    }
    let ops = done.load(Ordering::Relaxed);
    let failed = failed.load(Ordering::Relaxed);
    let faults = emulator.faults_injected();
    let responses = emulator.requests_received();
    let share = faults as f64 / responses.max(1) as f64;
    println!(
        "{} decisions, {responses} responses served, {:.1}% of them faults, {:.1} s, {:.0} ops/s",
        outcomes.len(),
        share * 100.0,
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64()
    );
    println!(
        "soak: {ops} ops, {faults} faults injected, {failed} failed, {dup} duplicate decisions, {lost} lost decisions"
    );
    if failed == 0 && dup == 0 && lost == 0 && foreign == 0 && share >= 0.30 && ops >= args.ops {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The two counters that compare the emulator's record with what the SDK reported.
#[derive(Debug, PartialEq)]
struct Tally {
    /// Decision POSTs that reached the emulator for a request whose decision was already recorded (the
    /// emulator counts every POST per request, refused ones included).
    dup: u64,
    /// Decisions the caller was told wrongly: reported as taken but not recorded (or recorded otherwise),
    /// reported as failed although recorded, or recorded without any report.
    lost: usize,
}

/// Counts duplicate and lost decisions: the emulator's record against `outcomes`, what the SDK reported.
fn tally(emulator: &Emulator, outcomes: &HashMap<String, (&'static str, Reported)>) -> Tally {
    let mut recorded: HashMap<String, Vec<String>> = HashMap::new();
    for d in emulator.decisions() {
        recorded.entry(d.request_id).or_default().push(d.decision);
    }
    let mut lost = 0;
    for (id, (decision, reported)) in outcomes {
        let seen = recorded.get(id).map(Vec::as_slice).unwrap_or_default();
        let wrong = match reported {
            Reported::Taken => !(seen.len() == 1 && seen[0] == *decision),
            Reported::Failed => !seen.is_empty(),
            Reported::Unknown => false,
        };
        lost += usize::from(wrong);
    }
    lost += recorded.keys().filter(|id| !outcomes.contains_key(*id)).count();
    Tally { dup: emulator.duplicate_decisions(), lost }
}

/// Approves or denies `id`, recording what the SDK reported.
async fn decide(
    requests: azure_customer_lockbox::RequestsClient,
    id: String,
    approve: bool,
    outcomes: Outcomes,
) -> Result<(), Error> {
    let result =
        if approve { requests.approve(&id, "soak approval").await } else { requests.deny(&id, "soak denial").await };
    let decision = if approve { "Approve" } else { "Deny" };
    let reported = match &result {
        Ok(_) => Reported::Taken,
        Err(Error::DecisionOutcomeUnknown { .. }) => Reported::Unknown,
        Err(_) => Reported::Failed,
    };
    outcomes.lock().expect("lock").insert(id, (decision, reported));
    result.map(drop)
}

/// Counts one finished operation, and whether it failed.
fn count(result: Result<(), Error>, done: &AtomicUsize, failed: &AtomicUsize) {
    if let Err(error) = result {
        eprintln!("operation failed: {error}");
        failed.fetch_add(1, Ordering::Relaxed);
    }
    done.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    //! The soak's counters can count what they claim: fed a state where they must be non-zero, they are.

    use super::*;

    const SUB: &str = SUBSCRIPTIONS[0];

    async fn emulator_and_client() -> (Emulator, CustomerLockboxClient) {
        let emulator = Emulator::start(EmulatorConfig::default()).await.expect("emulator");
        let options = CustomerLockboxClientOptions {
            retry: RetryOptions::none(),
            ..CustomerLockboxClientOptions::for_endpoint(emulator.url().clone())
        };
        let credential = Arc::new(StaticTokenCredential::new("soak-test-token"));
        (emulator, CustomerLockboxClient::new(credential, Some(options)).expect("client"))
    }

    #[tokio::test]
    async fn lost_counts_every_decision_reported_wrongly() {
        let (emulator, client) = emulator_and_client().await;
        let never_sent = emulator.create_request(SUB, NewLockboxRequest::default());
        let approved = emulator.create_request(SUB, NewLockboxRequest::default());
        client.requests(SUB).unwrap().approve(&approved, "ok").await.expect("approved");
        let case = |reports: &[(&String, &'static str, Reported)]| {
            let outcomes = reports.iter().map(|(id, d, r)| ((*id).clone(), (*d, *r))).collect();
            tally(&emulator, &outcomes).lost
        };
        use Reported::*;
        assert_eq!(case(&[(&approved, "Approve", Taken)]), 0, "reported as recorded");
        // A decision that succeeded, absent from the emulator.
        assert_eq!(case(&[(&approved, "Approve", Taken), (&never_sent, "Approve", Taken)]), 1);
        assert_eq!(case(&[(&approved, "Deny", Taken)]), 1, "recorded otherwise than reported");
        assert_eq!(case(&[(&approved, "Approve", Failed)]), 1, "reported failed, but recorded");
        assert_eq!(case(&[]), 1, "recorded, never reported");
        assert_eq!(case(&[(&approved, "Approve", Unknown), (&never_sent, "Approve", Unknown)]), 0, "honest");
        assert_eq!(case(&[(&approved, "Approve", Taken), (&never_sent, "Deny", Failed)]), 0);
    }

    #[tokio::test]
    async fn dup_counts_a_decision_sent_again_after_it_was_recorded() {
        let (emulator, client) = emulator_and_client().await;
        let id = emulator.create_request(SUB, NewLockboxRequest::default());
        let requests = client.requests(SUB).unwrap();
        requests.approve(&id, "ok").await.expect("approved");
        let outcomes = HashMap::from([(id.clone(), ("Approve", Reported::Taken))]);
        assert_eq!(tally(&emulator, &outcomes), Tally { dup: 0, lost: 0 });
        // A blind resend of the same decision, as a broken client would send it: refused, and counted.
        assert!(requests.approve(&id, "ok").await.is_err(), "the request is no longer pending");
        assert_eq!(tally(&emulator, &outcomes), Tally { dup: 1, lost: 0 });
    }
}
