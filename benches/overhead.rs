//! What the SDK costs on top of a bare HTTP client, measured against that client in the same process.
//!
//! One in-process loopback server (hyper 1, HTTP/1.1 keep-alive) serves fixed, realistic Customer Lockbox
//! payloads. Each case runs the SDK side and a hand-written baseline (a bare `reqwest::Client` plus
//! `serde_json` into the SDK's own model types, sending the headers a real call needs: a bearer token and the
//! `api-version` query parameter) in alternating rounds, with the side that goes first swapped every round, so
//! both sides see the same machine load. Each side's figure is the median over its rounds. The ratio is SDK time
//! over baseline time, so lower is better and 1.00 means no overhead: the median of the ratios within each
//! round (the two sides having run back to back), with the ratio of the two medians printed beside it.
//!
//! Cases:
//! * `Requests_Get` one at a time, and with 64 calls in flight;
//! * listing 100,000 requests in pages of 100 through the SDK pager, against a loop following `nextLink`;
//! * decoding one 100-item page into the SDK models, against decoding it into `serde_json::Value`.
//!
//! Run with `cargo bench --bench overhead`; set `BENCH_QUICK=1` for a smoke run with few iterations. The last
//! line is `overhead: get c=1 <r>x, get c=64 <r>x, list 100k <r>x`. Nothing here asserts on time: the
//! assertions only check that both sides did the same, successful work.
//!
//! For profiling, `BENCH_PROFILE=<side>-<case>` (side `sdk` or `raw`, case `get` or `list`) runs only that side
//! of that case, untimed, `BENCH_PROFILE_N` times (default 2000 gets or 3 listings; gets spread over
//! `BENCH_PROFILE_C` tasks, default 1), e.g. under
//! `valgrind --tool=callgrind` or `perf record`; `BENCH_PROFILE_RUNTIME=current-thread` runs it on one thread,
//! which makes instruction counts repeatable from run to run. `BENCH_ONLY=<text>` runs only the cases whose name contains
//! it. `BENCH_SDK_NO_RETRY=1` and `BENCH_SDK_NO_PER_TRY_TIMEOUT=1` turn those features off on the SDK side, to
//! price them; `BENCH_RAW_TIMEOUT=1` gives the baseline's client the SDK's default per-try timeout (20 s), as a
//! caller who bounds each request would. The published figures use the SDK's defaults and the bare baseline.

#![allow(
    clippy::large_futures,
    reason = "the harness awaits each operation's future inline, as a caller does; boxing it would time an allocation too"
)]

use std::{
    convert::Infallible,
    future::Future,
    hint::black_box,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, RequestsClient, StaticTokenCredential,
    models::{LockboxRequestResponse, RequestListResult},
    options::Retries,
};
use bytes::Bytes;
use hyper::{
    Request, Response, StatusCode,
    body::{Body, Frame, Incoming, SizeHint},
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;

const SUB: &str = "11111111-2222-3333-4444-555555555555";
const API: &str = "2018-02-28-preview";
const REQUEST_ID: &str = "LB-0a1b2c3d";
const PAGE_SIZE: usize = 100;
const TOTAL: usize = 100_000;

/// Rounds and work per round for one run of the benchmark.
struct Plan {
    rounds: usize,
    list_rounds: usize,
    gets_c1: usize,
    gets_c64: usize,
    decodes: usize,
}

impl Plan {
    fn from_env() -> Self {
        if std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0") {
            Self { rounds: 3, list_rounds: 1, gets_c1: 200, gets_c64: 1_280, decodes: 20 }
        } else {
            Self { rounds: 31, list_rounds: 9, gets_c1: 1_500, gets_c64: 9_600, decodes: 200 }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Payloads and the loopback server.

/// A bearer token of a realistic size (Entra ID access tokens are JWTs of 1.5 to 2.5 KB).
fn token() -> String {
    let mut token = String::from("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6ImJlbmNoIiwia2lkIjoiYmVuY2gifQ.");
    while token.len() < 1_700 {
        token.push_str("eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tLyIsImlzcyI6ImJlbmNoIn0");
    }
    token.push_str(".c2lnbmF0dXJl");
    token
}

/// A Lockbox request of the service's shape: the same fixture the integration tests use.
fn request_json(id: &str, status: &str) -> serde_json::Value {
    azure_customer_lockbox_emulator::testing::request_json(SUB, id, status)
}

/// The fixed response bodies. A list page is the shared item array plus a small tail holding the `nextLink`.
struct Payloads {
    get: Bytes,
    /// `{"value":[ ...100 items... ]`, without the closing brace.
    items: Bytes,
    base: String,
}

impl Payloads {
    fn new(base: String) -> Self {
        let get = serde_json::to_vec(&request_json(REQUEST_ID, "Pending")).expect("serializable").into();
        let statuses = ["Pending", "Approved", "Denied", "Expired", "Revoked", "Completed"];
        let items: Vec<_> =
            (0..PAGE_SIZE).map(|i| request_json(&format!("LB-{i:08x}"), statuses[i % statuses.len()])).collect();
        let mut page = serde_json::to_vec(&serde_json::json!({ "value": items })).expect("serializable");
        assert_eq!(page.pop(), Some(b'}'));
        Self { get, items: page.into(), base }
    }

    /// The `nextLink` of page `page` (0-based), as ARM sends it: absolute, with api-version and a skip token.
    fn next_link(&self, page: usize) -> String {
        format!(
            "{}/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests?api-version={API}&%24skipToken=page-{page}",
            self.base
        )
    }

    fn page(&self, page: usize) -> TwoPart {
        let tail = if (page + 1) * PAGE_SIZE < TOTAL {
            Bytes::from(format!(",\"nextLink\":\"{}\"}}", self.next_link(page + 1)))
        } else {
            Bytes::from_static(b"}")
        };
        TwoPart::new(self.items.clone(), tail)
    }

    /// A whole list page in one buffer, for the decoding case.
    fn page_bytes(&self, page: usize) -> Vec<u8> {
        let body = self.page(page);
        [body.head.unwrap_or_default(), body.tail.unwrap_or_default()].concat()
    }
}

/// A response body in two shared pieces, sent without copying and with an exact `Content-Length`.
struct TwoPart {
    head: Option<Bytes>,
    tail: Option<Bytes>,
}

impl TwoPart {
    fn new(head: Bytes, tail: Bytes) -> Self {
        Self { head: Some(head), tail: Some(tail) }
    }
}

impl Body for TwoPart {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.head.take().or_else(|| self.tail.take());
        Poll::Ready(next.map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.tail.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let len = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        SizeHint::with_exact(len(&self.head) + len(&self.tail))
    }
}

fn respond(payloads: &Payloads, request: &Request<Incoming>) -> Response<TwoPart> {
    let query = request.uri().query().unwrap_or_default();
    let authorized = request.headers().get(AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(b"Bearer "));
    let versioned = query.split('&').any(|pair| pair == concat!("api-version=", "2018-02-28-preview"));
    let path = request.uri().path();
    let (status, body) = if !authorized {
        (StatusCode::UNAUTHORIZED, TwoPart::new(Bytes::new(), Bytes::new()))
    } else if !versioned {
        (StatusCode::BAD_REQUEST, TwoPart::new(Bytes::new(), Bytes::new()))
    } else if path.ends_with("/requests") {
        let page = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("%24skipToken=page-"))
            .map_or(0, |n| n.parse().expect("a page number"));
        (StatusCode::OK, payloads.page(page))
    } else if path.ends_with(REQUEST_ID) {
        (StatusCode::OK, TwoPart::new(payloads.get.clone(), Bytes::new()))
    } else {
        (StatusCode::NOT_FOUND, TwoPart::new(Bytes::new(), Bytes::new()))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-ms-request-id", HeaderValue::from_static("5b2c9a3e-8d1f-4c3a-9e6b-1f2a3b4c5d6e"));
    headers.insert("x-ms-correlation-request-id", HeaderValue::from_static("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
    headers.insert("x-ms-ratelimit-remaining-subscription-reads", HeaderValue::from_static("11999"));
    response
}

/// Starts the loopback server on the current runtime; returns its base URL.
async fn serve() -> (String, Arc<Payloads>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let payloads = Arc::new(Payloads::new(base.clone()));
    let shared = payloads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let payloads = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let response = respond(&payloads, &request);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (base, payloads)
}

// ---------------------------------------------------------------------------------------------------------
// The two sides.

/// The baseline: what a careful hand-written caller does with reqwest and serde_json.
struct Raw {
    http: reqwest::Client,
    base: String,
    authorization: HeaderValue,
}

impl Raw {
    /// `timeout`: a time limit for each request (`reqwest`'s, as the SDK sets its per-try timeout), or none.
    fn new(base: &str, token: &str, timeout: Option<Duration>) -> Self {
        let mut http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(timeout) = timeout {
            http = http.timeout(timeout);
        }
        let http = http.build().expect("reqwest client");
        let mut authorization = HeaderValue::try_from(format!("Bearer {token}")).expect("header value");
        authorization.set_sensitive(true);
        Self { http, base: base.to_owned(), authorization }
    }

    async fn fetch<T: serde::de::DeserializeOwned>(&self, url: &str) -> T {
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header("accept", "application/json")
            .send()
            .await
            .expect("raw request");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.bytes().await.expect("raw body");
        serde_json::from_slice(&body).expect("raw decode")
    }

    async fn get(&self, request_id: &str) -> LockboxRequestResponse {
        let url = format!(
            "{}/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/{request_id}?api-version={API}",
            self.base
        );
        self.fetch(&url).await
    }

    async fn list_all(&self) -> usize {
        let mut url =
            format!("{}/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests?api-version={API}", self.base);
        let mut count = 0;
        loop {
            let page: RequestListResult = self.fetch(&url).await;
            for item in page.value {
                black_box(&item);
                count += 1;
            }
            match page.next_link {
                Some(next) if !next.is_empty() => url = next,
                _ => return count,
            }
        }
    }
}

async fn sdk_list_all(requests: &RequestsClient) -> usize {
    let mut pager = requests.list(None);
    let mut count = 0;
    while let Some(item) = pager.try_next().await.expect("sdk listing") {
        black_box(&item);
        count += 1;
    }
    count
}

// ---------------------------------------------------------------------------------------------------------
// Measuring.

/// Runs `op` `total` times spread over `concurrency` tasks; returns how many operations ran.
async fn run_ops<F, Fut>(op: F, total: usize, concurrency: usize) -> usize
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let per_task = total / concurrency;
    if concurrency == 1 {
        for _ in 0..per_task {
            op().await;
        }
    } else {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let op = op.clone();
            tasks.spawn(async move {
                for _ in 0..per_task {
                    op().await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("benchmark task");
        }
    }
    per_task * concurrency
}

/// CPU time used so far by every thread of this process (client, server and runtime alike), where the
/// platform tells it (Linux `/proc`). Less sensitive than wall time to other work on a shared machine.
fn cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 { samples[mid] } else { (samples[mid - 1] + samples[mid]) / 2 }
}

/// Median wall time (and CPU time) per operation of each side, and the median of the rounds' paired ratios.
struct Outcome {
    sdk: Duration,
    raw: Duration,
    sdk_cpu: Option<Duration>,
    raw_cpu: Option<Duration>,
    /// The median over rounds of (SDK time / baseline time) within each round, the two sides having run back to
    /// back. A shared virtual machine changes speed for seconds at a time (see BENCHMARKS.md); a ratio taken
    /// within a round sees one speed, where the ratio of the two medians can mix a fast median with a slow one.
    paired: f64,
}

fn ratio(sdk: Duration, raw: Duration) -> f64 {
    sdk.as_secs_f64() / raw.as_secs_f64()
}

impl Outcome {
    fn ratio(&self) -> f64 {
        self.paired
    }
}

/// Times one round of a side: wall and CPU time divided by the operations it reports.
async fn timed<F: Future<Output = usize>>(round: F, wall: &mut Vec<Duration>, cpu: &mut Vec<Duration>) {
    let (cpu_before, started) = (cpu_time(), Instant::now());
    let ops = round.await.max(1) as u32;
    let elapsed = started.elapsed();
    if let (Some(before), Some(after)) = (cpu_before, cpu_time()) {
        cpu.push(after.saturating_sub(before) / ops);
    }
    wall.push(elapsed / ops);
}

/// One warm-up round per side, then `rounds` rounds per side, alternating which side goes first. Each side
/// returns how many operations its round did. `BENCH_ONLY=<text>` skips the cases whose name lacks it.
async fn compare<S, SF, R, RF>(name: &str, rounds: usize, mut sdk: S, mut raw: R) -> Outcome
where
    S: FnMut() -> SF,
    SF: Future<Output = usize>,
    R: FnMut() -> RF,
    RF: Future<Output = usize>,
{
    if std::env::var("BENCH_ONLY").is_ok_and(|only| !name.contains(&only)) {
        return Outcome { sdk: Duration::ZERO, raw: Duration::ZERO, sdk_cpu: None, raw_cpu: None, paired: f64::NAN };
    }
    sdk().await;
    raw().await;
    let (mut sdk_wall, mut raw_wall) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let (mut sdk_cpu, mut raw_cpu) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        if round % 2 == 0 {
            timed(sdk(), &mut sdk_wall, &mut sdk_cpu).await;
            timed(raw(), &mut raw_wall, &mut raw_cpu).await;
        } else {
            timed(raw(), &mut raw_wall, &mut raw_cpu).await;
            timed(sdk(), &mut sdk_wall, &mut sdk_cpu).await;
        }
    }
    let mut pairs: Vec<f64> = sdk_wall.iter().zip(&raw_wall).map(|(s, r)| ratio(*s, *r)).collect();
    pairs.sort_by(f64::total_cmp);
    let paired = match pairs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => pairs[n / 2],
        n => (pairs[n / 2 - 1] + pairs[n / 2]) / 2.0,
    };
    let cpu = |samples: Vec<Duration>| (samples.len() == rounds).then(|| median(samples));
    let outcome =
        Outcome { sdk: median(sdk_wall), raw: median(raw_wall), sdk_cpu: cpu(sdk_cpu), raw_cpu: cpu(raw_cpu), paired };
    let cpu_note = match (outcome.sdk_cpu, outcome.raw_cpu) {
        (Some(sdk), Some(raw)) => format!("  cpu {sdk:>10.2?} / {raw:>10.2?} = {:.3}x", ratio(sdk, raw)),
        _ => String::new(),
    };
    println!(
        "{name:<22} sdk {:>10.2?}  baseline {:>10.2?}  ratio {:.3}x (of medians {:.3}x)  ({rounds} rounds/side, \
         quartiles {:.3}-{:.3}){cpu_note}",
        outcome.sdk,
        outcome.raw,
        outcome.ratio(),
        ratio(outcome.sdk, outcome.raw),
        pairs.get(pairs.len() / 4).copied().unwrap_or(f64::NAN),
        pairs.get(pairs.len() * 3 / 4).copied().unwrap_or(f64::NAN),
    );
    outcome
}

fn main() {
    let plan = Plan::from_env();
    // A single-threaded runtime makes a profile's instruction counts repeatable: with worker threads, how often
    // a future is polled, and so how much work a call takes, depends on the race between client and server.
    let mut builder = match std::env::var("BENCH_PROFILE_RUNTIME").as_deref() {
        Ok("current-thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = builder.enable_all().build().expect("tokio runtime");
    runtime.block_on(run(plan));
}

async fn run(plan: Plan) {
    let (base, payloads) = serve().await;
    let token = token();
    let mut options = CustomerLockboxClientOptions::for_endpoint(&base).expect("endpoint URL");
    // Knobs to price two SDK features: each turns one off on the SDK side only.
    if std::env::var_os("BENCH_SDK_NO_PER_TRY_TIMEOUT").is_some() {
        options.per_try_timeout = None;
    }
    if std::env::var_os("BENCH_SDK_NO_RETRY").is_some() {
        options.retry = Retries::None;
    }
    let client =
        CustomerLockboxClient::new(StaticTokenCredential::new(token.clone()), Some(options)).expect("SDK client");
    let requests = client.requests(SUB).expect("subscription id");
    let raw_timeout = std::env::var_os("BENCH_RAW_TIMEOUT").map(|_| Duration::from_secs(20));
    let raw = Arc::new(Raw::new(&base, &token, raw_timeout));

    if let Ok(profile) = std::env::var("BENCH_PROFILE") {
        let n = |default: usize| std::env::var("BENCH_PROFILE_N").ok().and_then(|n| n.parse().ok()).unwrap_or(default);
        let concurrency = std::env::var("BENCH_PROFILE_C").ok().and_then(|c| c.parse().ok()).unwrap_or(1);
        match profile.as_str() {
            "sdk-get" => {
                let requests = Arc::new(requests.clone());
                let op = move || {
                    let requests = requests.clone();
                    async move {
                        black_box(requests.get(REQUEST_ID, None).await.expect("sdk get"));
                    }
                };
                run_ops(op, n(2_000), concurrency).await;
            }
            "raw-get" => {
                let raw = raw.clone();
                let op = move || {
                    let raw = raw.clone();
                    async move {
                        black_box(raw.get(REQUEST_ID).await);
                    }
                };
                run_ops(op, n(2_000), concurrency).await;
            }
            "sdk-list" => {
                for _ in 0..n(3) {
                    black_box(sdk_list_all(&requests).await);
                }
            }
            "raw-list" => {
                for _ in 0..n(3) {
                    black_box(raw.list_all().await);
                }
            }
            other => panic!("BENCH_PROFILE={other:?}: expected sdk-get, raw-get, sdk-list or raw-list"),
        }
        return;
    }

    // Both sides must do the same, successful work before any of it is timed.
    assert_eq!(requests.get(REQUEST_ID, None).await.expect("sdk get"), raw.get(REQUEST_ID).await);
    assert_eq!(sdk_list_all(&requests).await, TOTAL);
    assert_eq!(raw.list_all().await, TOTAL);

    // Each operation clones one `Arc` on either side (a task needs an owned handle), so that the harness costs
    // both sides the same: a `RequestsClient` clone would be two.
    let sdk_get = {
        let requests = Arc::new(requests.clone());
        move || {
            let requests = requests.clone();
            async move {
                black_box(requests.get(black_box(REQUEST_ID), None).await.expect("sdk get"));
            }
        }
    };
    let raw_get = {
        let raw = raw.clone();
        move || {
            let raw = raw.clone();
            async move {
                black_box(raw.get(black_box(REQUEST_ID)).await);
            }
        }
    };

    println!(
        "customer lockbox SDK overhead: median wall time per operation (a listing of 100k is one operation), \
         ratio = SDK / baseline, lower is better; cpu = CPU time of the whole process per operation"
    );
    let get1 = compare(
        "Requests_Get c=1",
        plan.rounds,
        || run_ops(sdk_get.clone(), plan.gets_c1, 1),
        || run_ops(raw_get.clone(), plan.gets_c1, 1),
    )
    .await;
    let get64 = compare(
        "Requests_Get c=64",
        plan.rounds,
        || run_ops(sdk_get.clone(), plan.gets_c64, 64),
        || run_ops(raw_get.clone(), plan.gets_c64, 64),
    )
    .await;
    let list = compare(
        "Requests_List 100k",
        plan.list_rounds,
        || async {
            black_box(sdk_list_all(&requests).await);
            1
        },
        || async {
            black_box(raw.list_all().await);
            1
        },
    )
    .await;

    let page = payloads.page_bytes(7);
    compare(
        "decode 100-item page",
        plan.rounds,
        || async {
            for _ in 0..plan.decodes {
                black_box(serde_json::from_slice::<RequestListResult>(black_box(&page)).expect("models"));
            }
            plan.decodes
        },
        || async {
            for _ in 0..plan.decodes {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(&page)).expect("value"));
            }
            plan.decodes
        },
    )
    .await;

    emulator_throughput(plan.gets_c64, plan.rounds.min(5)).await;

    println!("overhead: get c=1 {:.2}x, get c=64 {:.2}x, list 100k {:.2}x", get1.ratio(), get64.ratio(), list.ratio());
}

/// Requests per second the emulator serves for `Requests_Get` at concurrency 64, through the SDK (not a ratio:
/// the emulator is the test backbone, and this says whether it could be the bottleneck of a soak).
async fn emulator_throughput(calls: usize, rounds: usize) {
    use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
    let emulator = Emulator::start(EmulatorConfig::default()).await.expect("emulator");
    let ids = emulator.sample_data(SUB);
    let client = CustomerLockboxClient::new(
        StaticTokenCredential::new(token()),
        Some(CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint")),
    )
    .expect("client");
    let requests = Arc::new(client.requests(SUB).expect("subscription id"));
    let id: Arc<str> = ids[3].as_str().into();
    let get = move || {
        let (requests, id) = (requests.clone(), id.clone());
        async move {
            black_box(requests.get(&id, None).await.expect("emulator get"));
        }
    };
    run_ops(get.clone(), calls / 10, 64).await;
    let mut rates = Vec::new();
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let done = run_ops(get.clone(), calls, 64).await;
        rates.push(done as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "emulator Requests_Get c=64: {:.0} requests/s through the SDK (median of {} rounds of {calls})",
        rates[rates.len() / 2],
        rates.len()
    );
    emulator.shutdown().await;
}
