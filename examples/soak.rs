//! Soak test: 10,000+ mixed operations from 32 concurrent tasks against the emulator while about a third of
//! all responses are injected faults (429 with each retry-hint header, 5xx with and without ARM bodies, HTML
//! gateway pages, dropped connections, failures after the decision was recorded). Decisions on half of the
//! subscriptions are answered `202 Accepted` and polled (the emulator's 202 mode, in the variant `--variant`
//! names), with faults on the polls too (5xx, dropped connections, cut bodies) and 202s whose polling URLs name
//! another host. At the end the emulator's state is checked against what the SDK reported.
//!
//! ```sh
//! cargo run --release --example soak [-- --ops 10000 --tasks 32 --seed 7 --variant interim]
//! cargo run --release --example soak -- --matrix
//! ```
//!
//! The last line is `soak: <ops> ops, <faults> faults injected, <failed> failed, <dup> duplicate decisions,
//! <lost> lost decisions`; the exit status is non-zero unless no operation failed, no decision was lost, the
//! duplicates are at most 0.5% of the decisions, and at least 30% of the responses were faults. A *duplicate*
//! decision is a decision POST that reached the emulator for a request whose decision was already recorded or
//! accepted (`Emulator::duplicate_decisions`; the emulator refuses it, or, in the `pending` variant, accepts it
//! and fails its operation). A *lost* decision is one whose outcome the caller was told wrongly: reported as
//! taken but not recorded (or recorded twice), or reported as failed although the service recorded it. The exit
//! status is also non-zero if the client sent anything to a foreign polling host
//! (`Emulator::foreign_host_requests`): the token goes only to the configured origin.
//!
//! `--matrix` runs `--tasks` 1, 4, 8, 32 and 128, three seeds each, in both `202` variants (30 runs of `--ops`
//! operations), a line each, and ends with `soak matrix: <runs> runs, <ops> ops, <faults> faults injected,
//! <failed> failed, <dup> duplicate decisions, <lost> lost decisions`. A run that fails prints its first failing
//! decisions, each with what the emulator recorded and the SDK's history of it (each round: what was sent and
//! what came back; each read and what it showed), kept from the SDK's `tracing` events in the decision's span.
//!
//! `--between-pages` (with or without `--matrix`) also pages whole listings while another principal changes them
//! between their pages (the emulator's `Fault::between_pages`: a request decided, expired or created). Those
//! changes fall on requests no task owns (created first, so they list first), and the decisions another
//! principal made are not counted as lost. A whole listing's pages after its first are left out of the 30% (one
//! fault is injected an operation, however many pages it reads).

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
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, StaticTokenCredential,
    options::{DecisionOptions, ExponentialRetries, RequestsListOptions, Retries, WaiterOptions},
};
use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, Fault, NewLockboxRequest, Operation, PageChange, RetryAfterHeader,
    WhileRunning,
};
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// Operations to run in total (in each run of the matrix).
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
    /// Where a request stands while a decision accepted with `202` runs: `interim` (it moves to Approving or
    /// Denying, and a second decision is refused) or `pending` (it stays Pending until the operation ends).
    #[arg(long, value_enum, default_value_t = Variant::Interim)]
    variant: Variant,
    /// Run the matrix instead: `--tasks` 1, 4, 8, 32 and 128, three seeds each (from `--seed`), in both `202`
    /// variants, each run of `--ops` operations.
    #[arg(long)]
    matrix: bool,
    /// Also page whole listings while the emulator changes them between their pages (see the module docs).
    #[arg(long)]
    between_pages: bool,
}

/// The emulator's `202` variant a run uses (see `WhileRunning`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Variant {
    Interim,
    Pending,
}

impl Variant {
    fn while_running(self) -> WhileRunning {
        match self {
            Variant::Interim => WhileRunning::Interim,
            Variant::Pending => WhileRunning::Pending,
        }
    }
}

/// The largest share of a run's decisions that may be sent again after an earlier round was recorded (each
/// such duplicate refused by the service: two decisions are never recorded for one request, see [`tally`]).
const MAX_DUPLICATE_SHARE: f64 = 0.005;

/// How many failing decisions a run prints with their history.
const SHOWN_FAILURES: usize = 5;

const SUBSCRIPTIONS: [&str; 4] = [
    "0b1f6c39-0000-4000-8000-000000000001",
    "0b1f6c39-0000-4000-8000-000000000002",
    "0b1f6c39-0000-4000-8000-000000000003",
    "0b1f6c39-0000-4000-8000-000000000004",
];

/// What the SDK reported for a decision.
#[derive(Clone, Copy, PartialEq, Debug)]
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

/// One run's settings.
#[derive(Clone, Copy, Debug)]
struct Run {
    ops: usize,
    tasks: usize,
    seed: u64,
    fault_rate: f64,
    variant: Variant,
    between_pages: bool,
}

/// With `--between-pages`: the pending requests no task owns, per subscription, for the between-pages changes.
const OTHERS_REQUESTS: usize = 200;

/// What one run counted.
#[derive(Debug, Default)]
struct Counts {
    ops: usize,
    decisions: usize,
    responses: usize,
    faults: usize,
    failed: usize,
    dup: u64,
    lost: usize,
    foreign: usize,
    /// The pages after the first of each whole listing (`--between-pages`): requests of an operation that drew
    /// one fault at most, as every other operation does, however many pages it took.
    later_pages: usize,
}

impl Counts {
    /// Faults among the responses an operation's fault could fall on: a whole listing's later pages are left out,
    /// or `--between-pages` would dilute the share with pages no fault was injected for.
    fn share_of_faults(&self) -> f64 {
        self.faults as f64 / self.responses.saturating_sub(self.later_pages).max(1) as f64
    }

    /// Whether the run kept every promise: nothing failed or lost, few duplicates (each refused), nothing sent
    /// to a foreign host, enough faults, every operation run.
    fn passed(&self, run: &Run) -> bool {
        self.failed == 0
            && self.lost == 0
            && (self.dup as f64) <= MAX_DUPLICATE_SHARE * self.decisions as f64
            && self.foreign == 0
            && self.share_of_faults() >= 0.30
            && self.ops >= run.ops
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    history::install();
    let one = Run {
        ops: args.ops,
        tasks: args.tasks,
        seed: args.seed,
        fault_rate: args.fault_rate,
        variant: args.variant,
        between_pages: args.between_pages,
    };
    if !args.matrix {
        let counts = soak(one).await;
        println!(
            "soak: {} ops, {} faults injected, {} failed, {} duplicate decisions, {} lost decisions",
            counts.ops, counts.faults, counts.failed, counts.dup, counts.lost
        );
        return if counts.passed(&one) { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let mut total = Counts::default();
    let (mut runs, mut passed) = (0, true);
    for variant in [Variant::Interim, Variant::Pending] {
        for tasks in [1, 4, 8, 32, 128] {
            for seed in args.seed..args.seed.saturating_add(3) {
                let run = Run { tasks, seed, variant, ..one };
                let counts = soak(run).await;
                println!(
                    "soak [{variant:?}, --tasks {tasks}, --seed {seed}]: {} ops, {} decisions, {:.1}% faults, {} failed, \
                     {} duplicate decisions, {} lost decisions{}",
                    counts.ops,
                    counts.decisions,
                    counts.share_of_faults() * 100.0,
                    counts.failed,
                    counts.dup,
                    counts.lost,
                    if counts.passed(&run) { "" } else { "  <-- FAILED" }
                );
                passed &= counts.passed(&run);
                runs += 1;
                total.ops += counts.ops;
                total.faults += counts.faults;
                total.failed += counts.failed;
                total.dup += counts.dup;
                total.lost += counts.lost;
            }
        }
    }
    println!(
        "soak matrix: {runs} runs, {} ops, {} faults injected, {} failed, {} duplicate decisions, {} lost decisions",
        total.ops, total.faults, total.failed, total.dup, total.lost
    );
    if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs `run` against a new emulator, and checks the emulator's record against what the SDK reported. Prints a
/// summary line, and the first failing decisions with their history.
async fn soak(run: Run) -> Counts {
    history::clear();
    let emulator = Arc::new(Emulator::start(EmulatorConfig::default().with_page_size(50)).await.expect("emulator"));
    // Operations end almost at once; the client still waits the 202's `Retry-After` (1 s) before its first
    // poll, so those tasks run their decisions beside their other operations rather than one after another.
    let async_mode = AsyncOperations {
        duration: Duration::from_millis(5),
        retry_after_secs: 1,
        while_running: run.variant.while_running(),
        ..AsyncOperations::default()
    };
    for sub in SUBSCRIPTIONS.into_iter().filter(|s| answers_202(s)) {
        emulator.set_async_operations_for(sub, Some(async_mode.clone()));
    }
    if run.between_pages {
        for sub in SUBSCRIPTIONS {
            for _ in 0..OTHERS_REQUESTS {
                emulator.create_request(sub, NewLockboxRequest::default());
            }
        }
    }
    // Enough pending requests for every decision the run can make; each task owns its own slice.
    let per_task = run.ops / run.tasks / 3 + 8;
    let mut owned: Vec<Vec<(String, String)>> = vec![Vec::new(); run.tasks];
    for (task, slice) in owned.iter_mut().enumerate() {
        let sub = SUBSCRIPTIONS[task % SUBSCRIPTIONS.len()];
        for i in 0..per_task {
            let new = NewLockboxRequest { justification: format!("soak {task}/{i}"), ..Default::default() };
            slice.push((sub.to_owned(), emulator.create_request(sub, new)));
        }
    }
    let options = CustomerLockboxClientOptions {
        retry: Retries::Exponential(ExponentialRetries {
            max_retries: 12,
            initial_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(200),
            ..Default::default()
        }),
        per_try_timeout: Some(Duration::from_secs(10)),
        ..CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint")
    };
    let client = CustomerLockboxClient::new(StaticTokenCredential::new("soak-token"), Some(options)).expect("client");
    let tenant = emulator.default_tenant_id().to_owned();
    let outcomes: Outcomes = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let later_pages = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();

    let mut handles = Vec::new();
    for (task, mut mine) in owned.into_iter().enumerate() {
        let readable: Vec<String> = mine.iter().map(|(_, id)| id.clone()).collect();
        let (client, emulator, outcomes, done, failed, tenant) =
            (client.clone(), emulator.clone(), outcomes.clone(), done.clone(), failed.clone(), tenant.clone());
        let later_pages = later_pages.clone();
        let quota = run.ops / run.tasks + usize::from(task < run.ops % run.tasks);
        let fault_rate = run.fault_rate;
        let mut rng = fastrand::Rng::with_seed(run.seed.wrapping_mul(1_000_003).wrapping_add(task as u64));
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
                    0 if run.between_pages && rng.bool() => {
                        let change = [PageChange::Decide, PageChange::Expire, PageChange::Create][rng.usize(0..3)];
                        emulator.inject(Fault::between_pages(change).on(Operation::RequestsList));
                        let mut pages = requests.list(None).into_pages();
                        async {
                            let mut read: usize = 0;
                            while pages.try_next().await?.is_some() {
                                read += 1;
                            }
                            later_pages.fetch_add(read.saturating_sub(1), Ordering::Relaxed);
                            Ok(())
                        }
                        .await
                    }
                    0..=1 => requests.list(None).try_next().await.map(drop),
                    2 => requests.list(Some(RequestsListOptions::pending())).try_next().await.map(drop),
                    3 | 4 => requests.get(&readable[rng.usize(0..readable.len())], None).await.map(drop),
                    5..=7 if !mine.is_empty() => {
                        // A decision can wait a second or more (a 202 is polled after its 1 s `Retry-After`; a
                        // round that may have been taken is read twice, a second apart, before a resend): run it
                        // beside the task's next operations.
                        let (_, id) = mine.pop().expect("not empty");
                        // A third of the decisions also wait until the request's status is final.
                        let wait = rng.u8(0..3) == 0;
                        let decide = decide(requests.clone(), id, rng.bool(), wait, outcomes.clone());
                        let (done, failed) = (done.clone(), failed.clone());
                        decisions.spawn(async move {
                            count(decide.await, &done, &failed);
                        });
                        continue;
                    }
                    8 => client.tenant().is_opted_in(&tenant, None).await.map(drop),
                    _ if rng.bool() => client.tenant().enable(None).await,
                    _ => client.tenant().disable(None).await,
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
    let tally = tally(&emulator, &outcomes);
    let counts = Counts {
        ops: done.load(Ordering::Relaxed),
        decisions: outcomes.len(),
        responses: emulator.requests_received(),
        faults: emulator.faults_injected(),
        failed: failed.load(Ordering::Relaxed),
        dup: tally.dup,
        lost: tally.lost.len(),
        foreign: emulator.foreign_host_requests(),
        later_pages: later_pages.load(Ordering::Relaxed),
    };
    if counts.foreign > 0 {
        println!("{} requests sent to a foreign polling host", counts.foreign);
    }
    println!(
        "{} decisions, {} responses served ({} later pages of whole listings), {:.1}% of the others faults, {:.1} s, \
         {:.0} ops/s",
        counts.decisions,
        counts.responses,
        counts.later_pages,
        counts.share_of_faults() * 100.0,
        elapsed.as_secs_f64(),
        counts.ops as f64 / elapsed.as_secs_f64()
    );
    // The failing decisions, with their history: each round, what came back, each read and what it showed.
    let mut failing: Vec<(&String, String)> = tally.lost.iter().map(|id| (id, "lost".to_owned())).collect();
    let mut reported: Vec<_> = outcomes.iter().filter(|(_, (_, r))| *r != Reported::Taken).collect();
    reported.sort_by_key(|(id, _)| id.as_str());
    failing.extend(reported.into_iter().map(|(id, (decision, r))| (id, format!("{decision} reported {r:?}"))));
    for (id, why) in failing.iter().take(SHOWN_FAILURES) {
        println!("failing decision {id} ({why}); the emulator shows {}", emulator_view(&emulator, id));
        for line in history::of(id) {
            println!("    {line}");
        }
    }
    counts
}

/// What the emulator shows of a request: its status, the decisions recorded, the decision POSTs received.
fn emulator_view(emulator: &Emulator, id: &str) -> String {
    let sub = SUBSCRIPTIONS.iter().find(|sub| emulator.request_status(sub, id).is_some()).copied().unwrap_or("?");
    let status = emulator.request_status(sub, id).unwrap_or_default();
    let recorded: Vec<String> =
        emulator.decisions().into_iter().filter(|d| d.request_id == id).map(|d| d.decision).collect();
    let posts = emulator.decision_posts().into_iter().find(|p| p.request_id == id);
    format!(
        "status {status}, recorded {recorded:?}, {} decision POST(s), {} after it was decided",
        posts.as_ref().map_or(0, |p| p.received),
        posts.as_ref().map_or(0, |p| p.after_decision)
    )
}

/// The SDK's log of each decision, kept by request id: every event logged inside a decision's span
/// (`lockbox_decision`, whose field `request_id` names it), the pipeline's retries included.
mod history {
    use std::{
        collections::HashMap,
        fmt::Write as _,
        sync::{LazyLock, Mutex},
    };

    use tracing::{
        Event, Subscriber,
        field::{Field, Visit},
        span::{Attributes, Id},
    };
    use tracing_subscriber::{
        Layer,
        filter::{LevelFilter, Targets},
        layer::{Context, SubscriberExt as _},
        registry::LookupSpan,
        util::SubscriberInitExt as _,
    };

    static LINES: LazyLock<Mutex<HashMap<String, Vec<String>>>> = LazyLock::new(Mutex::default);

    /// Keeps the SDK's `info` events of every decision from now on.
    pub fn install() {
        let only_the_sdk = Targets::new().with_target("azure_customer_lockbox", LevelFilter::INFO);
        tracing_subscriber::registry().with(Keeper.with_filter(only_the_sdk)).init();
    }

    /// Forgets what was kept (a new run).
    pub fn clear() {
        LINES.lock().expect("lock").clear();
    }

    /// The lines kept for request `id`.
    pub fn of(id: &str) -> Vec<String> {
        LINES.lock().expect("lock").get(id).cloned().unwrap_or_default()
    }

    /// A decision span's request id, kept in the span's extensions.
    struct RequestId(String);

    /// Renders an event's fields as `message key=value ...`.
    #[derive(Default)]
    struct Line(String);

    impl Visit for Line {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = match field.name() {
                "message" => write!(self.0, "{value:?} "),
                name => write!(self.0, "{name}={value:?} "),
            };
        }
    }

    /// Finds a span's `request_id` field.
    #[derive(Default)]
    struct FindId(Option<String>);

    impl Visit for FindId {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "request_id" {
                self.0 = Some(value.to_owned());
            }
        }
        fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
    }

    struct Keeper;

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Keeper {
        fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
            if attrs.metadata().name() != "lockbox_decision" {
                return;
            }
            let mut found = FindId::default();
            attrs.record(&mut found);
            if let (Some(request_id), Some(span)) = (found.0, ctx.span(id)) {
                span.extensions_mut().insert(RequestId(request_id));
            }
        }

        fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
            let Some(scope) = ctx.event_scope(event) else { return };
            let Some(request_id) =
                scope.from_root().find_map(|span| span.extensions().get::<RequestId>().map(|id| id.0.clone()))
            else {
                return;
            };
            let mut line = Line::default();
            event.record(&mut line);
            let line = format!("{} {}", event.metadata().level(), line.0.trim_end());
            LINES.lock().expect("lock").entry(request_id).or_default().push(line);
        }
    }
}

/// What compares the emulator's record with what the SDK reported.
#[derive(Debug, PartialEq)]
struct Tally {
    /// Decision POSTs that reached the emulator for a request whose decision was already recorded (the
    /// emulator counts every POST per request, refused ones included).
    dup: u64,
    /// The decisions the caller was told wrongly: reported as taken but not recorded (or recorded otherwise, or
    /// recorded twice), reported as failed although recorded, or recorded without any report. Sorted.
    lost: Vec<String>,
}

/// Counts duplicate and lost decisions: the emulator's record against `outcomes`, what the SDK reported.
fn tally(emulator: &Emulator, outcomes: &HashMap<String, (&'static str, Reported)>) -> Tally {
    let mut recorded: HashMap<String, Vec<String>> = HashMap::new();
    for d in emulator.decisions() {
        recorded.entry(d.request_id).or_default().push(d.decision);
    }
    let mut lost = Vec::new();
    for (id, (decision, reported)) in outcomes {
        let seen = recorded.get(id).map(Vec::as_slice).unwrap_or_default();
        let wrong = match reported {
            Reported::Taken => !(seen.len() == 1 && seen[0] == *decision),
            Reported::Failed => !seen.is_empty(),
            Reported::Unknown => seen.len() > 1,
        };
        if wrong {
            lost.push(id.clone());
        }
    }
    // Decisions another principal made (`--between-pages`) have no report, and need none.
    let others: std::collections::HashSet<String> =
        emulator.page_changes().into_iter().filter(|c| c.change == PageChange::Decide).map(|c| c.request_id).collect();
    lost.extend(recorded.keys().filter(|id| !outcomes.contains_key(*id) && !others.contains(*id)).cloned());
    lost.sort();
    Tally { dup: emulator.duplicate_decisions(), lost }
}

/// Approves or denies `id` (with `wait`, until its status is final: `DecisionOptions::until_final`), recording
/// what the SDK reported. A decision whose wait did not confirm the final status, or confirmed another one, is
/// still reported as taken (the SDK keeps the wait's outcome inside the `Decision`), and fails the operation.
async fn decide(
    requests: azure_customer_lockbox::RequestsClient,
    id: String,
    approve: bool,
    wait: bool,
    outcomes: Outcomes,
) -> Result<(), String> {
    let options = wait.then(|| DecisionOptions {
        until_final: Some(WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(120)) }),
        ..Default::default()
    });
    let result = if approve {
        requests.approve(&id, "soak approval", options).await
    } else {
        requests.deny(&id, "soak denial", options).await
    };
    let decision = if approve { "Approve" } else { "Deny" };
    let reported = match &result {
        Ok(_) => Reported::Taken,
        Err(Error::DecisionOutcomeUnknown { .. }) => Reported::Unknown,
        Err(_) => Reported::Failed,
    };
    outcomes.lock().expect("lock").insert(id.clone(), (decision, reported));
    let decision = result.map_err(|error| error.to_string())?;
    match decision.until_final() {
        None => Ok(()),
        Some(Ok(request)) => match request.status() {
            Some(status) if status.is_final() && status.reflects(decision.decision()) => Ok(()),
            status => Err(format!("{id}: the wait ended with the request {status:?}")),
        },
        Some(Err(error)) => {
            Err(format!("{id}: {} recorded, its final status not confirmed: {error}", decision.decision()))
        }
    }
}

/// Counts one finished operation, and whether it failed.
fn count<E: std::fmt::Display>(result: Result<(), E>, done: &AtomicUsize, failed: &AtomicUsize) {
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
            retry: Retries::None,
            ..CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint")
        };
        let credential = StaticTokenCredential::new("soak-test-token");
        (emulator, CustomerLockboxClient::new(credential, Some(options)).expect("client"))
    }

    #[tokio::test]
    async fn lost_counts_every_decision_reported_wrongly() {
        let (emulator, client) = emulator_and_client().await;
        let never_sent = emulator.create_request(SUB, NewLockboxRequest::default());
        let approved = emulator.create_request(SUB, NewLockboxRequest::default());
        client.requests(SUB).unwrap().approve(&approved, "ok", None).await.expect("approved");
        let case = |reports: &[(&String, &'static str, Reported)]| {
            let outcomes = reports.iter().map(|(id, d, r)| ((*id).clone(), (*d, *r))).collect();
            tally(&emulator, &outcomes).lost.len()
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

    /// A failing decision can be diagnosed from the soak's output alone: its history holds each round, what
    /// came back, and each read with what it showed.
    #[tokio::test]
    async fn the_history_of_a_decision_holds_its_rounds_and_reads() {
        history::install();
        let (emulator, client) = emulator_and_client().await;
        let id = emulator.create_request(SUB, NewLockboxRequest::default());
        // The decision is recorded, then its answer is lost: the SDK reads the request to learn the outcome.
        emulator.inject(Fault::status(500).after_commit().on(Operation::RequestsUpdateStatus));
        let decision = client.requests(SUB).unwrap().approve(&id, "ok", None).await.expect("approved");
        assert!(decision.reconciled());
        let lines = history::of(&id).join("\n");
        assert!(lines.contains("sending the decision round=1"), "{lines}");
        assert!(lines.contains("may have been taken"), "{lines}");
        assert!(
            lines.contains("the request read: Approving") || lines.contains("the request read: Approved"),
            "{lines}"
        );
        assert!(history::of("another-request").is_empty());
    }

    #[tokio::test]
    async fn dup_counts_a_decision_sent_again_after_it_was_recorded() {
        let (emulator, client) = emulator_and_client().await;
        let id = emulator.create_request(SUB, NewLockboxRequest::default());
        let requests = client.requests(SUB).unwrap();
        requests.approve(&id, "ok", None).await.expect("approved");
        let outcomes = HashMap::from([(id.clone(), ("Approve", Reported::Taken))]);
        assert_eq!(tally(&emulator, &outcomes), Tally { dup: 0, lost: vec![] });
        // A blind resend of the same decision, as a broken client would send it: refused, and counted.
        assert!(requests.approve(&id, "ok", None).await.is_err(), "the request is no longer pending");
        assert_eq!(tally(&emulator, &outcomes), Tally { dup: 1, lost: vec![] });
    }
}
