//! The hostile-input table, shared by the summary run (`main.rs`) and its tests (`tests.rs`, in the test binary
//! `hostile_tables`) so that they cannot drift.
//!
//! Two tables: bad caller input (run against the emulator, asserting on what it received) and bad service
//! responses (run against scripted raw-TCP servers started here, so that malformed HTTP is possible too). Every
//! case runs in its own Tokio task, so a panic is caught as a `JoinError`; every case returns the `Display` and
//! `Debug` text of what the SDK gave back, which is searched for the token, as is the captured `tracing` output
//! and everything a server other than the endpoint received.
#![allow(dead_code)]

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use azure_customer_lockbox::{
    ContinuationToken, CustomerLockboxClient, CustomerLockboxClientOptions, Error, RequestFilter, Result as SdkResult,
    StaticTokenCredential,
    models::ApprovalDecision,
    options::{DecisionOptions, RequestsListOptions, Retries},
};
use azure_customer_lockbox_emulator::{Emulator, NewLockboxRequest, Seed, SeedRequest};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};

/// The bearer token every client here uses; it must never show up anywhere but the endpoint.
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.aG9zdGlsZS10b2tlbi1kby1ub3QtbGVhaw.c2lnbmF0dXJl";
/// The token's middle part, to catch partial leaks too.
pub const TOKEN_PART: &str = "aG9zdGlsZS10b2tlbi1kby1ub3QtbGVhaw";
/// The subscription the cases use.
pub const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const API: &str = "2018-02-28-preview";
const PER_TRY: Duration = Duration::from_millis(300);
/// How long a case may run before it counts as hung. Not a figure any case is meant to approach (the slowest,
/// the 2 MB bodies and a 1 s poll, take about a second): a bound so far away that a loaded machine does not
/// reach it, there only so that a hang is reported instead of stalling the run.
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// What a case gave back: texts to search for the token, or what went wrong.
pub type Check = Result<Vec<String>, Problem>;

/// Which summary bucket a failed expectation falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// `untyped errors`: the SDK gave back something other than the typed error (or success) the case
    /// expects, or the case could not finish (setup failed, [`CASE_LIMIT`] passed).
    Untyped,
    /// `wrong results`: the right kind of result, but a wrong value or side effect (what was sent, received,
    /// recorded).
    Wrong,
}

/// A failed expectation.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Its bucket.
    pub bucket: Bucket,
    /// What was expected and what came (including the result's `Display` and `Debug`).
    pub text: String,
}

/// An SDK error or a setup failure where something else was expected: `untyped errors`.
impl From<String> for Problem {
    fn from(text: String) -> Self {
        Self { bucket: Bucket::Untyped, text }
    }
}

/// An SDK error where a case expected to go on: `untyped errors`, with its `Display` and `Debug` (searched).
impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        Self { bucket: Bucket::Untyped, text: format!("unexpected error: {error} | {error:?}") }
    }
}

fn wrong(text: String) -> Problem {
    Problem { bucket: Bucket::Wrong, text }
}

/// One named case.
pub struct Case {
    /// Name shown on failure.
    pub name: String,
    /// The case itself.
    pub run: Pin<Box<dyn Future<Output = Check> + Send>>,
}

/// A case from its name and body (public so that tests can build deliberately broken cases).
pub fn case(name: impl Into<String>, run: impl Future<Output = Check> + Send + 'static) -> Case {
    Case { name: name.into(), run: Box::pin(run) }
}

/// How one case went.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The case's name.
    pub name: String,
    /// Panic messages seen while it ran, in any task (its own, a client's or a server's background task).
    pub panics: Vec<String>,
    /// A failed expectation.
    pub problem: Option<Problem>,
    /// Where the token showed up.
    pub leaks: Vec<String>,
}

impl Outcome {
    /// True when nothing went wrong.
    pub fn ok(&self) -> bool {
        self.panics.is_empty() && self.problem.is_none() && self.leaks.is_empty()
    }

    fn bucket(&self) -> Option<Bucket> {
        self.problem.as_ref().map(|p| p.bucket)
    }
}

/// A whole run: every case's outcome, and what was found after the last case.
#[derive(Debug, Default)]
pub struct Report {
    /// One per case.
    pub outcomes: Vec<Outcome>,
    /// Panics after the last case's window (a background task that outlived its case).
    pub late_panics: Vec<String>,
    /// Token found after the last case's window, or in the whole capture when no case window showed it.
    pub late_leaks: Vec<String>,
    /// Bytes of log output captured during the run; 0 fails the run (the log search would prove nothing).
    pub logs_captured: usize,
}

impl Report {
    /// Panics in any task.
    pub fn panics(&self) -> usize {
        self.outcomes.iter().map(|o| o.panics.len()).sum::<usize>() + self.late_panics.len()
    }
    /// Failed expectations in the `untyped errors` bucket.
    pub fn untyped(&self) -> usize {
        self.outcomes.iter().filter(|o| o.bucket() == Some(Bucket::Untyped)).count()
    }
    /// Failed expectations in the `wrong results` bucket.
    pub fn wrong(&self) -> usize {
        self.outcomes.iter().filter(|o| o.bucket() == Some(Bucket::Wrong)).count()
    }
    /// Places where the token showed up.
    pub fn leaks(&self) -> usize {
        self.outcomes.iter().map(|o| o.leaks.len()).sum::<usize>() + self.late_leaks.len()
    }
    /// True when every counter is 0 and some log output was captured.
    pub fn ok(&self) -> bool {
        self.panics() == 0 && self.untyped() == 0 && self.wrong() == 0 && self.leaks() == 0 && self.logs_captured > 0
    }
    /// The summary line of the example.
    pub fn summary(&self) -> String {
        format!(
            "hostile: {} cases, {} panics, {} untyped errors, {} wrong results, {} token leaks",
            self.outcomes.len(),
            self.panics(),
            self.untyped(),
            self.wrong(),
            self.leaks()
        )
    }
    /// Everything that went wrong, one per line, for assertion messages and stderr.
    pub fn failures(&self) -> String {
        let mut out: String = self.outcomes.iter().filter(|o| !o.ok()).map(|o| format!("FAILED {o:?}\n")).collect();
        for panic in &self.late_panics {
            out.push_str(&format!("FAILED panic after the last case: {panic:.300}\n"));
        }
        for leak in &self.late_leaks {
            out.push_str(&format!("FAILED token leak {leak}\n"));
        }
        if self.logs_captured == 0 {
            out.push_str("FAILED no log line was captured: the token search of the logs proves nothing\n");
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Captured tracing output and panics

/// Everything written by the process-wide TRACE subscriber.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    fn since(&self, start: usize) -> String {
        let logs = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&logs[start.min(logs.len())..]).into_owned()
    }
}

/// Every panic message of the process since [`logs`] was first called, in any thread or task.
fn panics() -> &'static Mutex<Vec<String>> {
    static PANICS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    PANICS.get_or_init(Mutex::default)
}

fn panics_since(start: usize) -> Vec<String> {
    let all = panics().lock().unwrap_or_else(|e| e.into_inner());
    all[start.min(all.len())..].to_vec()
}

fn panic_count() -> usize {
    panics().lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// Installs (once) a TRACE subscriber for every crate that writes into a buffer, and returns the buffer.
/// Also installs (once) a panic hook that records every panic message (then runs the previous hook), so that
/// panics in background tasks count, not only a case's own.
pub fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            panics().lock().unwrap_or_else(|e| e.into_inner()).push(info.to_string());
            previous(info);
        }));
        let logs = Logs::default();
        let writer = logs.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init();
        logs
    })
}

/// The token, or any 24 characters of it in a row (a token cut in two by a truncation leaves such a piece).
pub fn leaks_in(text: &str) -> bool {
    const PIECE: usize = 24;
    text.contains(TOKEN_PART) || (0..=TOKEN.len() - PIECE).any(|i| text.contains(&TOKEN[i..i + PIECE]))
}

/// Runs cases one after the other, each in its own task, with a time limit. Each case's window (from its start
/// until a moment after it ends) is searched: the result's texts (also those of a failed case, which its
/// problem text carries), the panic messages and the log lines of the window. After the last case, a pause
/// for background tasks, then the rest and the whole capture are searched too.
pub async fn run(cases: Vec<Case>) -> Report {
    run_then(cases, async {}).await
}

/// [`run`], awaiting `after_cases` once the last case's window is closed: a test of the late checks starts its
/// late work there, so that it happens after the cases whatever the machine's speed, not after a pause that a
/// loaded machine could outlast.
pub async fn run_then(cases: Vec<Case>, after_cases: impl std::future::Future<Output = ()>) -> Report {
    // One run at a time in the process: the panic record and the log capture are process-wide, so runs side by
    // side (tests) would count each other's panics and log lines.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let logs = logs();
    let first_log = logs.len();
    let mut report = Report::default();
    for Case { name, run } in cases {
        let (log_start, panic_start) = (logs.len(), panic_count());
        let joined = tokio::time::timeout(CASE_LIMIT, tokio::spawn(run)).await;
        let mut outcome = Outcome { name, ..Outcome::default() };
        let texts = match joined {
            Err(_) => {
                outcome.problem = Some(format!("did not finish within {CASE_LIMIT:?}").into());
                Vec::new()
            }
            // A panic of the case's own task is in the hook's record, with its message.
            Ok(Err(join)) if join.is_panic() => Vec::new(),
            Ok(Err(join)) => {
                outcome.problem = Some(format!("task failed: {join}").into());
                Vec::new()
            }
            Ok(Ok(Err(problem))) => {
                let text = problem.text.clone();
                outcome.problem = Some(problem);
                vec![text]
            }
            Ok(Ok(Ok(texts))) => texts,
        };
        // Give the logs of this case's tasks a moment to land, then search them.
        tokio::time::sleep(Duration::from_millis(5)).await;
        outcome.panics = panics_since(panic_start);
        for text in texts.iter().chain(&outcome.panics) {
            if leaks_in(text) {
                outcome.leaks.push(format!("in output: {text:.300}"));
            }
        }
        if leaks_in(&logs.since(log_start)) {
            outcome.leaks.push("in tracing output".into());
        }
        report.outcomes.push(outcome);
    }
    let (log_end, panic_end) = (logs.len(), panic_count());
    after_cases.await;
    // Background tasks (retries, pool connections, servers) may still write or panic. (This pause only gives
    // them a chance: the checks after it can find more failures, never hide one.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    report.late_panics = panics_since(panic_end);
    for panic in &report.late_panics {
        if leaks_in(panic) {
            report.late_leaks.push(format!("in a late panic: {panic:.300}"));
        }
    }
    if leaks_in(&logs.since(log_end)) {
        report.late_leaks.push("in tracing output after the last case".into());
    }
    let whole = logs.since(first_log);
    if leaks_in(&whole)
        && !report.outcomes.iter().flat_map(|o| &o.leaks).any(|l| l.contains("tracing"))
        && report.late_leaks.is_empty()
    {
        report.late_leaks.push("in the whole tracing capture".into());
    }
    report.logs_captured = whole.len();
    report
}

// ---------------------------------------------------------------------------------------------------------------
// Expectations

fn shown<T: std::fmt::Debug>(result: &SdkResult<T>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(error) => format!("{error} | {error:?} | {:?}", error.service_error()),
    }
}

/// An `InvalidArgument` naming `name`.
fn invalid<T: std::fmt::Debug>(result: SdkResult<T>, name: &str) -> Check {
    let text = shown(&result);
    match result {
        Err(Error::InvalidArgument { name: got, .. }) if got == name => Ok(vec![text]),
        _ => Err(format!("expected InvalidArgument({name}), got {text}").into()),
    }
}

/// A typed error with a response: the status and the request id must be there.
fn with_response<T: std::fmt::Debug>(result: SdkResult<T>, status: u16, want: fn(&Error) -> bool) -> Check {
    let text = shown(&result);
    match &result {
        Err(e) if want(e) && e.status().map(|s| s.as_u16()) == Some(status) && e.request_id().is_some() => {
            Ok(vec![text])
        }
        _ => Err(format!("expected a typed error with status {status} and a request id, got {text}").into()),
    }
}

fn service<T: std::fmt::Debug>(result: SdkResult<T>, status: u16) -> Check {
    with_response(result, status, |e| matches!(e, Error::Service(_)))
}

fn decode<T: std::fmt::Debug>(result: SdkResult<T>) -> Check {
    with_response(result, 200, |e| matches!(e, Error::Decode { body, .. } if body.len() <= 4096))
}

fn transport_after_head<T: std::fmt::Debug>(result: SdkResult<T>, status: u16) -> Check {
    with_response(result, status, |e| matches!(e, Error::Transport { .. }))
}

fn outcome_unknown<T: std::fmt::Debug>(result: SdkResult<T>, status: u16) -> Check {
    let text = shown(&result);
    match result {
        Err(Error::DecisionOutcomeUnknown { source, .. }) => {
            transport_after_head::<T>(Err(*source), status).map(|mut texts| {
                texts.push(text);
                texts
            })
        }
        _ => Err(format!("expected DecisionOutcomeUnknown, got {text}").into()),
    }
}

fn transport<T: std::fmt::Debug>(result: SdkResult<T>) -> Check {
    let text = shown(&result);
    match result {
        Err(Error::Transport { status: None, .. }) => Ok(vec![text]),
        _ => Err(format!("expected Transport without a response, got {text}").into()),
    }
}

fn ok_if<T: std::fmt::Debug>(result: SdkResult<T>, what: &str, good: impl FnOnce(&T) -> bool) -> Check {
    let text = shown(&result);
    match &result {
        Ok(value) if good(value) => Ok(vec![text]),
        Ok(_) => Err(wrong(format!("expected {what}, got {text}"))),
        Err(_) => Err(format!("expected {what}, got {text}").into()),
    }
}

/// A side effect or value that must hold: else `wrong results`.
fn require(condition: bool, why: impl FnOnce() -> String) -> Result<(), Problem> {
    if condition { Ok(()) } else { Err(wrong(why())) }
}

/// A typed error that must be the one given back: else `untyped errors`.
fn require_typed(condition: bool, why: impl FnOnce() -> String) -> Result<(), Problem> {
    if condition { Ok(()) } else { Err(why().into()) }
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

/// Options with no retries and no per-try timeout: no case's outcome may depend on how fast this machine is
/// (a per-try timeout here once turned a 17 MiB body's size error into a timeout on a loaded machine). Only the
/// cases about a timeout have one ([`timing_out_client`]), against a server that never finishes its answer.
fn options(endpoint: &str) -> CustomerLockboxClientOptions {
    CustomerLockboxClientOptions {
        retry: Retries::None,
        per_try_timeout: None,
        ..CustomerLockboxClientOptions::for_endpoint(endpoint).expect("a URL")
    }
}

/// A client of `endpoint` with the case token, no retries and no per-try timeout.
pub fn client(endpoint: &str) -> CustomerLockboxClient {
    CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options(endpoint))).expect("valid options")
}

/// [`client`] with a 300 ms per-try timeout, for a server that never finishes ([`Reply::Drip`]): the timeout
/// is the only way the attempt can end, however fast or slow the machine.
fn timing_out_client(endpoint: &str) -> CustomerLockboxClient {
    let options = CustomerLockboxClientOptions { per_try_timeout: Some(PER_TRY), ..options(endpoint) };
    CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options)).expect("valid options")
}

// ---------------------------------------------------------------------------------------------------------------
// Bad caller input, against the emulator

fn seed(emulator: &Emulator, id: &str) {
    emulator.seed(Seed {
        tenants: Default::default(),
        requests: vec![SeedRequest {
            subscription_id: SUB.into(),
            request_id: Some(id.into()),
            status: None,
            created_date_time: None,
            expiration_date_time: None,
            request: NewLockboxRequest::default(),
        }],
    });
}

fn nothing_sent(emulator: &Emulator) -> Result<(), Problem> {
    let received = emulator.received();
    require(received.is_empty(), || format!("sent {} request(s) for refused input: {received:?}", received.len()))
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The bad-input table: about 60 cases. The emulator's received log is cleared by each case.
pub fn bad_input_cases(emulator: Arc<Emulator>) -> Vec<Case> {
    let mut cases = Vec::new();
    let long = "1".repeat(10 * 1024);
    let bad_guids: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("not a GUID", "not-a-guid".into()),
        ("10 KB", long.clone()),
        ("unicode", "ünï-cödé".into()),
        ("fullwidth digits", "１１１１１１１１-2222-3333-4444-555555555555".into()),
        ("GUID plus path", format!("{SUB}/../x")),
        ("GUID plus newline", format!("{SUB}\n")),
        ("unbalanced brace", format!("{{{SUB}")),
    ];
    for (label, value) in bad_guids {
        let (e, v) = (emulator.clone(), value.clone());
        cases.push(case(format!("subscription id: {label}"), async move {
            e.clear_received();
            let c = client(e.url().as_str());
            let texts = invalid(c.requests(&v), "subscription_id")?;
            nothing_sent(&e)?;
            Ok(texts)
        }));
        let e = emulator.clone();
        cases.push(case(format!("tenant id: {label}"), async move {
            e.clear_received();
            let c = client(e.url().as_str());
            let texts = invalid(c.tenant().get_opt_in_status(&value, None).await, "tenant_id")?;
            nothing_sent(&e)?;
            Ok(texts)
        }));
    }

    let refused_ids = ["", " ", ".", "..", "a\u{0}b", "a\nb", "a\u{7f}b", "\u{1b}[2J", "a\\b", "..\\x"];
    for id in refused_ids.into_iter().map(String::from).chain([format!("r{long}")]) {
        let e = emulator.clone();
        cases.push(case(format!("request id refused: {:.20?}", id), async move {
            e.clear_received();
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let mut texts = invalid(requests.get(&id, None).await, "request_id")?;
            texts.extend(invalid(requests.approve(&id, "fine", None).await, "request_id")?);
            nothing_sent(&e)?;
            Ok(texts)
        }));
    }

    let odd_ids = [
        "a/b",
        "../../x",
        "..%2F..%2Fx",
        "%2F",
        "%",
        "a?b=c",
        "a#b",
        "a b ",
        "é",
        "日本語",
        "🔒🔑",
        "\u{202e}gnp.exe",
        "a;b,c",
        "a|b",
        "a+b&c=d",
        "./x",
        "x/..",
        "~!$'()*",
    ];
    for id in odd_ids {
        let e = emulator.clone();
        cases.push(case(format!("request id encoded: {id:?}"), async move {
            seed(&e, id);
            e.clear_received();
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let mut texts = ok_if(requests.get(id, None).await, "the seeded request", |r| r.request_id() == Some(id))?;
            texts.extend(ok_if(requests.approve(id, "odd id", None).await, "an approval", |_| true)?);
            let prefix = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/");
            let received = e.received();
            require(received.len() == 2, || format!("expected 2 requests, got {received:?}"))?;
            for (request, suffix) in received.iter().zip(["", "/updateApproval"]) {
                let segment = request
                    .path
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(suffix))
                    .ok_or_else(|| format!("unexpected path {}", request.path))?;
                require(!segment.contains('/') && decode_segment(segment) == id, || {
                    format!("{id:?} is not exactly one path segment: {}", request.path)
                })?;
            }
            let decided = e.decisions().iter().any(|d| d.request_id == id && d.decision == "Approve");
            require(decided, || format!("no approval of {id:?} recorded"))?;
            Ok(texts)
        }));
    }

    let refused_reasons =
        [String::new(), "   ".into(), "\t\n".into(), "x".repeat(10 * 1024), "y".repeat(4097), "a\u{0}b".into()];
    for reason in refused_reasons {
        let e = emulator.clone();
        cases.push(case(format!("reason refused: {:.20?} ({} bytes)", reason, reason.len()), async move {
            e.clear_received();
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let texts = invalid(requests.deny("any", &reason, None).await, "reason")?;
            nothing_sent(&e)?;
            Ok(texts)
        }));
    }
    let kept_reasons =
        ["z".repeat(4096), "multi\nline \"quoted\" 'single' </script> {\"json\":1} ü 🔒\t%2F &x=y".into()];
    for (i, reason) in kept_reasons.into_iter().enumerate() {
        let e = emulator.clone();
        cases.push(case(format!("reason kept exactly: {:.20?} ({} bytes)", reason, reason.len()), async move {
            let id = format!("reason-kept-{i}");
            seed(&e, &id);
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let texts = ok_if(requests.deny(&id, &reason, None).await, "a denial", |_| true)?;
            let recorded = e.decisions().into_iter().find(|d| d.request_id == id).and_then(|d| d.reason);
            require(recorded.as_deref() == Some(reason.as_str()), || format!("recorded reason {recorded:.40?}"))?;
            Ok(texts)
        }));
    }
    let e = emulator.clone();
    cases.push(case("decision not known to the SDK", async move {
        e.clear_received();
        let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
        let decision = ApprovalDecision::Other("Maybe".into());
        let texts = invalid(requests.update_status("any", decision, "why", None).await, "decision")?;
        nothing_sent(&e)?;
        Ok(texts)
    }));

    let filters = [
        ("quote inside", "properties/status eq 'Pen'ding'", Some(400)),
        ("query injection", "properties/status eq 'Pending'&api-version=1999-01-01#frag", Some(400)),
        ("only quotes", "''''", Some(400)),
        ("valid, raw", "properties/status eq 'Pending'", None),
    ];
    for (label, filter, status) in filters {
        let e = emulator.clone();
        cases.push(case(format!("raw $filter: {label}"), async move {
            e.clear_received();
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let listed =
                requests.list(Some(RequestsListOptions::filter(RequestFilter::raw(filter)))).try_collect().await;
            let texts = match status {
                Some(status) => service(listed, status)?,
                None => ok_if(listed, "a listing", |_| true)?,
            };
            let received = e.received();
            require(received.len() == 1, || format!("expected one request, got {received:?}"))?;
            let query = received[0].query.clone().unwrap_or_default();
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let filters: Vec<_> = pairs.iter().filter(|(k, _)| k == "$filter").map(|(_, v)| v.as_str()).collect();
            let versions: Vec<_> = pairs.iter().filter(|(k, _)| k == "api-version").map(|(_, v)| v.as_str()).collect();
            require(filters == [filter] && versions == [API], || format!("query {query:?} does not carry it intact"))?;
            Ok(texts)
        }));
    }

    for (label, token) in [
        ("foreign host", "https://attacker.example/subscriptions/x?api-version=1".to_owned()),
        ("javascript scheme", "javascript:alert(1)".to_owned()),
    ] {
        let e = emulator.clone();
        cases.push(case(format!("continuation token: {label}"), async move {
            e.clear_received();
            let requests = client(e.url().as_str()).requests(SUB).map_err(|e| e.to_string())?;
            let options = RequestsListOptions { continuation: Some(ContinuationToken::from(token)), filter: None };
            let listed = requests.list(Some(options)).try_collect().await;
            let text = shown(&listed);
            require_typed(matches!(listed, Err(Error::UnsafeUrl { .. })), || {
                format!("expected UnsafeUrl, got {text}")
            })?;
            nothing_sent(&e)?;
            Ok(vec![text])
        }));
    }
    cases
}

// ---------------------------------------------------------------------------------------------------------------
// Bad service responses, from scripted raw-TCP servers

/// What a scripted server sends on every connection.
#[derive(Clone)]
pub enum Reply {
    /// These bytes, then close.
    Raw(Vec<u8>),
    /// A head (and maybe some body), then a byte every 50 ms for as long as the client listens.
    Drip(Vec<u8>),
    /// Close at once without a byte.
    Close,
    /// By request: the first route whose needle is in the request line answers with its replies in turn (the
    /// last one again once they run out); no match closes the connection. `{url}` in a reply is the server's
    /// own URL, `{foreign}` the URL of a second server that must receive nothing.
    Routes(Arc<Vec<Route>>),
}

/// One route of [`Reply::Routes`].
pub struct Route {
    needle: String,
    replies: Vec<Reply>,
    served: Mutex<usize>,
}

/// A route answering requests whose request line contains `needle` with `replies` in turn.
pub fn route(needle: &str, replies: Vec<Reply>) -> Route {
    Route { needle: needle.to_owned(), replies, served: Mutex::new(0) }
}

impl Reply {
    fn pick(&self, request_line: &str) -> Reply {
        match self {
            Reply::Routes(routes) => {
                let Some(route) = routes.iter().find(|r| request_line.contains(&r.needle)) else {
                    return Reply::Close;
                };
                let mut served = route.served.lock().unwrap_or_else(|e| e.into_inner());
                let reply = route.replies.get(*served).or(route.replies.last()).cloned().unwrap_or(Reply::Close);
                *served += 1;
                reply
            }
            other => other.clone(),
        }
    }
}

/// A raw HTTP/1.1 server on 127.0.0.1 that answers every request with the same [`Reply`] and records what it
/// received (request head and body, as bytes).
pub struct Scripted {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scripted {
    /// Starts a server answering with `reply`.
    pub async fn start(reply: Reply) -> Self {
        Self::start_for(|_| reply).await
    }

    /// Starts a server answering with the reply `make` builds from the server's own URL (`http://127.0.0.1:PORT`).
    pub async fn start_for(make: impl FnOnce(&str) -> Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let reply = make(&url);
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream, reply.clone(), log.clone()));
            }
        });
        Self { url, received, task }
    }

    /// Everything received so far, one entry per request.
    pub fn received(&self) -> Vec<String> {
        let log = self.received.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect()
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, log: Arc<Mutex<Vec<Vec<u8>>>>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if request.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while request.len() < head_end + length.min(1 << 20) {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request_line = String::from_utf8_lossy(&request[..head_end]).lines().next().unwrap_or_default().to_owned();
    log.lock().unwrap_or_else(|e| e.into_inner()).push(request);
    match reply.pick(&request_line) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Drip(head) => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if stream.write_all(b" ").await.is_err() || stream.flush().await.is_err() {
                    return;
                }
            }
        }
        Reply::Close | Reply::Routes(_) => {}
    }
}

/// A complete response with `Content-Length`, `Connection: close` and `x-ms-request-id: rid-hostile`.
pub fn http(status: &str, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Vec<u8> {
    let body = body.as_ref();
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\nx-ms-request-id: rid-hostile\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn json_ok(body: impl AsRef<[u8]>) -> Reply {
    Reply::Raw(http("200 OK", &[("Content-Type", "application/json")], body))
}

fn request_json(id: &str, status: &str, justification: &str) -> String {
    serde_json::json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/{id}"),
        "name": id,
        "type": "requests",
        "properties": {"requestId": id, "status": status, "justification": justification,
                       "createdDateTime": "2026-11-28T10:00:00Z"}
    })
    .to_string()
}

/// Which call a response case makes.
#[derive(Clone, Copy, Debug)]
enum Call {
    Get,
    List,
    Approve,
    Enable,
    TenantGet,
}

async fn call(endpoint: &str, call: Call, timing_out: bool) -> SdkResult<String> {
    let client = if timing_out { timing_out_client(endpoint) } else { client(endpoint) };
    let requests = client.requests(SUB)?;
    match call {
        Call::Get => requests.get("r1", None).await.map(|r| format!("{r:?}")),
        Call::List => requests.list(None).try_collect().await.map(|r| format!("{r:?}")),
        Call::Approve => requests.approve("r1", "ok", None).await.map(|r| format!("{r:?}")),
        Call::Enable => client.tenant().enable(None).await.map(|r| format!("{r:?}")),
        Call::TenantGet => client.tenant().get_opt_in_status(SUB, None).await.map(|r| format!("{r:?}")),
    }
}

/// What a response case must give.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// `Ok`, and the debug text contains this.
    Ok(&'static str),
    /// `Error::Decode` (status 200, request id, body kept to 4 KiB).
    Decode,
    /// `Error::Service` with this status and the request id.
    Service(u16),
    /// `Error::Transport` after the head of a response with this status (status and request id kept).
    TransportAfterHead(u16),
    /// `Error::Transport` with no response.
    Transport,
    /// `Error::DecisionOutcomeUnknown`: a decision failed after it may have reached the service and the read
    /// that would tell also failed; its source is a transport error after a response head with this status.
    OutcomeUnknownAfterHead(u16),
    /// `Error::DecisionOutcomeUnknown`, whatever its source: the answer did not show the decision sent, and no
    /// read could tell what the service recorded.
    OutcomeUnknown,
    /// `Error::ResponseTooLarge` for a response with this status (status and request id kept).
    TooLarge(u16),
}

fn check(result: SdkResult<String>, want: Want) -> Check {
    match want {
        Want::Ok(needle) => ok_if(result, needle, |text| text.contains(needle)),
        Want::Decode => decode(result),
        Want::Service(status) => service(result, status),
        Want::TransportAfterHead(status) => transport_after_head(result, status),
        Want::Transport => transport(result),
        Want::OutcomeUnknownAfterHead(status) => outcome_unknown(result, status),
        Want::OutcomeUnknown => {
            let text = shown(&result);
            match result {
                Err(Error::DecisionOutcomeUnknown { .. }) => Ok(vec![text]),
                _ => Err(format!("expected DecisionOutcomeUnknown, got {text}").into()),
            }
        }
        Want::TooLarge(status) => with_response(result, status, |e| matches!(e, Error::ResponseTooLarge { .. })),
    }
}

/// The bad-response table: about 45 cases, each against its own scripted server.
pub fn bad_response_cases() -> Vec<Case> {
    let html = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    let huge_json = request_json("r1", "Pending", &"j".repeat(2 << 20));
    let huge_garbage = vec![b'#'; 2 << 20];
    let huge_html = format!("<html>{}</html>", "<p>oops</p>".repeat(200_000));
    let deep = "[".repeat(100_000);
    let echo = format!("{{\"error\":{{\"code\":\"Echo\",\"message\":\"you sent Bearer {TOKEN} and {TOKEN}\"}}}}");
    let json_type = [("Content-Type", "application/json")];
    // Over the default 16 MiB body limit: declared (the body never comes), or streamed in 1 MiB chunks.
    let declared_huge = |status: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nx-ms-request-id: rid-big\r\nContent-Length: 17179869184\r\n\r\n{{")
            .into_bytes()
    };
    let mut chunked_huge =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-ms-request-id: rid-big\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..17 {
        chunked_huge.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
        chunked_huge.extend(std::iter::repeat_n(b' ', 1 << 20));
        chunked_huge.extend_from_slice(b"\r\n");
    }
    chunked_huge.extend_from_slice(b"0\r\n\r\n");
    #[rustfmt::skip]
    let table: Vec<(&str, Call, Reply, Want)> = vec![
        ("truncated JSON", Call::Get, json_ok(&request_json("r1", "Pending", "x")[..40]), Want::Decode),
        ("invalid JSON", Call::Get, json_ok("not json at all"), Want::Decode),
        ("invalid UTF-8 in JSON", Call::Get, json_ok(b"{\"name\":\"\xff\xfe\"}"), Want::Decode),
        ("JSON array for an object", Call::Get, json_ok("[1,2,3]"), Want::Decode),
        ("string for an object field", Call::Get, json_ok("{\"properties\":\"nope\"}"), Want::Decode),
        ("number for a string field", Call::Get, json_ok("{\"name\":42}"), Want::Decode),
        ("null body for a model", Call::Get, json_ok("null"), Want::Decode),
        ("nested null is None", Call::Get, json_ok("{\"name\":\"r1\",\"properties\":null}"), Want::Ok("properties: None")),
        ("deeply nested JSON", Call::Get, json_ok(&deep), Want::Decode),
        ("list value null", Call::List, json_ok("{\"value\":null}"), Want::Decode),
        ("list value an object", Call::List, json_ok("{\"value\":{\"a\":1}}"), Want::Decode),
        ("list nextLink a number", Call::List, json_ok("{\"value\":[],\"nextLink\":7}"), Want::Decode),
        ("unknown fields ignored", Call::Get,
            json_ok("{\"name\":\"r1\",\"new\":{\"x\":[1]},\"properties\":{\"status\":\"Pending\",\"more\":true}}"),
            Want::Ok("Pending")),
        ("unknown enum value kept", Call::Get, json_ok(request_json("r1", "Quarantined", "x")), Want::Ok("Other(\"Quarantined\")")),
        // An answer that names a decision other than the one sent (here one this SDK does not know) is not
        // success: the request is read, and here it shows no status, so the outcome is unknown.
        ("another decision answered", Call::Approve, json_ok("{\"status\":\"Escalate\"}"), Want::OutcomeUnknown),
        ("tenant flag a string", Call::TenantGet, json_ok("{\"isOptedIn\":\"yes\"}"), Want::Decode),
        ("HTML 502 page", Call::Get, Reply::Raw(http("502 Bad Gateway", &[("Content-Type", "text/html")], html)), Want::Service(502)),
        ("HTML 200 page", Call::Get, Reply::Raw(http("200 OK", &[("Content-Type", "text/html")], html)), Want::Decode),
        ("empty 200 for a model", Call::Get, json_ok(""), Want::Decode),
        ("empty 200 for a list", Call::List, json_ok(""), Want::Decode),
        ("empty 200 where none is expected", Call::Enable, json_ok(""), Want::Ok("()")),
        ("wrong Content-Type, JSON body", Call::Get,
            Reply::Raw(http("200 OK", &[("Content-Type", "text/plain")], request_json("r1", "Pending", "x"))), Want::Ok("Pending")),
        ("no Content-Type, JSON body", Call::Get, Reply::Raw(http("200 OK", &[], request_json("r1", "Denied", "x"))), Want::Ok("Denied")),
        ("error body not ARM-shaped", Call::Get, Reply::Raw(http("400 Bad Request", &json_type, "{\"message\":\"x\"}")), Want::Service(400)),
        ("error member a string", Call::Approve, Reply::Raw(http("409 Conflict", &json_type, "{\"error\":\"nope\"}")), Want::Service(409)),
        ("error code a number", Call::Get, Reply::Raw(http("404 Not Found", &json_type, "{\"error\":{\"code\":5}}")), Want::Service(404)),
        ("error body plain text", Call::Enable, Reply::Raw(http("403 Forbidden", &[], "go away")), Want::Service(403)),
        ("error body empty", Call::List, Reply::Raw(http("500 Internal Server Error", &[], "")), Want::Service(500)),
        ("unusual status 599", Call::Get, Reply::Raw(http("599 Whatever", &[], "")), Want::Service(599)),
        ("2 MB valid model", Call::Get, json_ok(&huge_json), Want::Ok("jjjj")),
        ("2 MB garbage 200", Call::Get, json_ok(&huge_garbage), Want::Decode),
        ("2 MB HTML 500", Call::Get, Reply::Raw(http("500 Internal Server Error", &[], &huge_html)), Want::Service(500)),
        ("slow drip body (per-try timeout)", Call::Get,
            Reply::Drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-ms-request-id: rid-drip\r\nContent-Length: 100000\r\n\r\n{".to_vec()),
            Want::TransportAfterHead(200)),
        ("slow drip chunked error body", Call::Approve,
            Reply::Drip(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nx-ms-request-id: rid-drip\r\n\r\n1\r\n{\r\n".to_vec()),
            // The approval may have reached the service, and the reconciling read fails the same way.
            Want::OutcomeUnknownAfterHead(500)),
        ("head that never ends", Call::Get, Reply::Drip(b"HTTP/1.1 200 OK\r\nX-Slow: ".to_vec()), Want::Transport),
        ("body cut short", Call::Get,
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nx-ms-request-id: rid-cut\r\n\r\n{\"name\":".to_vec()),
            Want::TransportAfterHead(200)),
        ("body declared over the size limit", Call::Get, Reply::Drip(declared_huge("200 OK")), Want::TooLarge(200)),
        ("error body declared over the size limit", Call::Get, Reply::Drip(declared_huge("500 Oops")), Want::TooLarge(500)),
        ("chunked body over the size limit", Call::List, Reply::Raw(chunked_huge), Want::TooLarge(200)),
        ("decision answered 200, body cut short", Call::Approve,
            Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nx-ms-request-id: rid-cut\r\n\r\n{\"status\":".to_vec()),
            // The service said yes: the decision was taken, and the call says so.
            Want::Ok("Approve")),
        ("decision answered 200 with garbage", Call::Approve, json_ok("not json at all"), Want::Ok("Approve")),
        ("not HTTP at all", Call::Get, Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()), Want::Transport),
        ("garbage status line", Call::Get, Reply::Raw(b"HTTP/1.1 abc\r\n\r\n".to_vec()), Want::Transport),
        ("connection closed at once", Call::Enable, Reply::Close, Want::Transport),
        ("huge response header", Call::Get,
            Reply::Raw(http("200 OK", &[("X-Huge", &"h".repeat(1 << 20))], "{}")), Want::Transport),
        ("absurd Retry-After", Call::Get,
            Reply::Raw(http("429 Too Many Requests", &[("Retry-After", "99999999999999999999")], "")), Want::Service(429)),
        ("token echoed in the error body", Call::Enable,
            Reply::Raw(http("401 Unauthorized", &[("WWW-Authenticate", "Bearer error=\"invalid_token\"")], &echo)), Want::Service(401)),
        ("token echoed in response headers", Call::Get,
            Reply::Raw(format!("HTTP/1.1 400 Bad\r\nContent-Length: 0\r\nx-ms-request-id: Bearer {TOKEN}\r\nx-ms-error-code: {TOKEN}\r\nx-ms-correlation-request-id: {TOKEN}\r\n\r\n").into_bytes()),
            Want::Service(400)),
    ];
    let mut cases: Vec<Case> = table
        .into_iter()
        .map(|(name, call_kind, reply, want)| {
            // A server that never finishes, where the case expects the attempt to fail on the way: only a
            // per-try timeout ends it. (A body declared too large fails at its first byte, with the head.)
            let timing_out = matches!(
                (&reply, want),
                (Reply::Drip(_), Want::Transport | Want::TransportAfterHead(_) | Want::OutcomeUnknownAfterHead(_))
            );
            case(name, async move {
                let server = Scripted::start(reply).await;
                let result = call(&server.url, call_kind, timing_out).await;
                let texts = check(result, want)?;
                require(!server.received().is_empty(), || "the scripted server got no request".to_owned())?;
                Ok(texts)
            })
        })
        .collect();
    cases.extend(foreign_host_cases());
    cases.extend(issue_14_cases());
    cases
}

/// Redirects and `nextLink`s to another host: that host receives nothing (or, through a caller's own
/// redirect-following client, no token).
fn foreign_host_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (status, call_kind) in
        [("302 Found", Call::Get), ("307 Temporary Redirect", Call::Approve), ("301 Moved", Call::List)]
    {
        cases.push(case(format!("{status} redirect to another host"), async move {
            let foreign = Scripted::start(json_ok("{}")).await;
            let location = format!("{}/steal?x=1", foreign.url);
            let server = Scripted::start(Reply::Raw(http(status, &[("Location", &location)], ""))).await;
            let code = status[..3].parse().unwrap_or(0);
            let texts = service(call(&server.url, call_kind, false).await, code)?;
            let got = foreign.received();
            require(got.is_empty(), || format!("the foreign host received {got:?}"))?;
            Ok(texts)
        }));
    }
    cases.push(case("caller's redirect-following client: no token to the other host", async move {
        let foreign = Scripted::start(json_ok(request_json("r1", "Pending", "x"))).await;
        let location = format!("{}/steal", foreign.url);
        let server = Scripted::start(Reply::Raw(http("302 Found", &[("Location", &location)], ""))).await;
        let options =
            CustomerLockboxClientOptions { http_client: Some(reqwest::Client::new()), ..options(&server.url) };
        let client =
            CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options)).map_err(|e| e.to_string())?;
        let result = client.requests(SUB).map_err(|e| e.to_string())?.get("r1", None).await;
        let mut texts = vec![shown(&result)];
        texts.extend(foreign.received());
        Ok(texts)
    }));
    let next_links = [
        ("foreign host", "https://attacker.example/next?api-version=1".to_owned()),
        ("other port", "http://127.0.0.1:1/next".to_owned()),
        ("https on the same host", "https://127.0.0.1/next".to_owned()),
        ("userinfo", "http://user:pass@127.0.0.1/next".to_owned()),
        ("unparsable", "http://[::1".to_owned()),
        ("carries the token", format!("https://attacker.example/next?token={TOKEN}")),
    ];
    for (label, link) in next_links {
        cases.push(case(format!("nextLink refused: {label}"), async move {
            let server = Scripted::start(json_ok(
                serde_json::json!({"value": [serde_json::from_str::<serde_json::Value>(&request_json("a", "Pending", "x")).unwrap_or_default()], "nextLink": link}).to_string(),
            ))
            .await;
            let client = client(&server.url);
            let mut pager = client.requests(SUB).map_err(|e| e.to_string())?.list(None);
            let first = pager.try_next().await;
            ok_if(first, "the first page's item", |item| item.is_some())?;
            let second = pager.try_next().await;
            let text = shown(&second);
            // A nextLink on the endpoint's own host but another port or scheme names another server.
            require_typed(matches!(second, Err(Error::UnsafeUrl { .. })), || format!("expected UnsafeUrl, got {text}"))?;
            require(server.received().len() == 1, || "the refused nextLink was requested".to_owned())?;
            Ok(vec![text])
        }));
    }
    cases.push(case("nextLink repeated", async move {
        let server = Scripted::start(json_ok("{\"value\":[],\"nextLink\":\"/again?x=1\"}")).await;
        let client = client(&server.url);
        let listed = client.requests(SUB).map_err(|e| e.to_string())?.list(None).try_collect().await;
        let text = shown(&listed);
        require_typed(matches!(listed, Err(Error::Paging(_))), || format!("expected Paging, got {text}"))?;
        require(server.received().len() == 2, || format!("expected 2 requests, got {:?}", server.received()))?;
        Ok(vec![text])
    }));
    cases
}

/// Both tables against a fresh emulator: the example's whole run.
pub async fn all_cases() -> (Arc<Emulator>, Vec<Case>) {
    let emulator = Arc::new(Emulator::start(Default::default()).await.expect("the emulator starts"));
    let mut cases = bad_input_cases(emulator.clone());
    cases.extend(bad_response_cases());
    (emulator, cases)
}

// ---------------------------------------------------------------------------------------------------------------
// Issue 14: decisions through 202s and refusals (A), durations from anywhere (B), token escapes (C)

/// A `202 Accepted` whose `Azure-AsyncOperation` is an operation status on `polling_base`, `Retry-After: 1`.
fn accepted(polling_base: &str, body: &str) -> Vec<u8> {
    let op = format!("{polling_base}/providers/Microsoft.CustomerLockbox/operationStatuses/op1?api-version={API}");
    http("202 Accepted", &[("Azure-AsyncOperation", &op), ("Retry-After", "1")], body)
}

/// Routes for a decision on `r1`: the POST answers `post`, polls answer `poll`, reads answer `read`.
fn decision_routes(post: Vec<Reply>, poll: Vec<Reply>, read: Vec<Reply>) -> Reply {
    Reply::Routes(Arc::new(vec![
        route("/updateApproval", post),
        route("/operationStatuses/", poll),
        route("/requests/r1", read),
    ]))
}

fn approved_read() -> Vec<Reply> {
    vec![json_ok(request_json("r1", "Approved", "x"))]
}

/// A client with a few quick retries (the refusal cases need a resend round).
fn retrying_client(endpoint: &str) -> CustomerLockboxClient {
    let options = CustomerLockboxClientOptions {
        retry: Retries::Exponential(azure_customer_lockbox::options::ExponentialRetries {
            max_retries: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..Default::default()
        }),
        ..options(endpoint)
    };
    CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options)).expect("valid options")
}

/// A decision's result: taken (`Ok` naming the decision) or honestly unknown; never a plain error.
fn taken_or_unknown<T: std::fmt::Debug>(result: SdkResult<T>, decision: &str) -> Check {
    let text = shown(&result);
    match &result {
        Ok(_) if text.contains(decision) => Ok(vec![text]),
        Ok(_) => Err(wrong(format!("expected a result reporting {decision}, got {text}"))),
        Err(Error::DecisionOutcomeUnknown { .. }) => Ok(vec![text]),
        Err(_) => Err(format!("expected {decision} taken or DecisionOutcomeUnknown, got {text}").into()),
    }
}

/// Any result but a panic: the case is about what the result (and the logs) show, searched for the token.
fn any<T: std::fmt::Debug>(result: SdkResult<T>) -> Check {
    Ok(vec![shown(&result)])
}

fn issue_14_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let refusal = |status: &str| {
        Reply::Raw(http(
            status,
            &[("Content-Type", "application/json")],
            r#"{"error":{"code":"RequestNotPending","message":"The request is not pending."}}"#,
        ))
    };
    let poll_failures: Vec<(&str, Reply)> = vec![
        ("polls answered 500", Reply::Raw(http("500 Internal Server Error", &[], ""))),
        ("poll connection dropped", Reply::Close),
        ("poll body cut", Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"status\":".to_vec())),
    ];
    for (label, poll) in poll_failures {
        cases.push(case(format!("A2: decision 202, {label}, request Approved"), async move {
            let server = Scripted::start_for(|url| {
                decision_routes(vec![Reply::Raw(accepted(url, ""))], vec![poll], approved_read())
            })
            .await;
            taken_or_unknown(client(&server.url).requests(SUB)?.approve("r1", "ok", None).await, "Approve")
        }));
    }
    cases.push(case("A2: approve until final, decision 202, polls answered 503", async move {
        let poll = Reply::Raw(http("503 Service Unavailable", &[], ""));
        let server = Scripted::start_for(|url| {
            decision_routes(vec![Reply::Raw(accepted(url, ""))], vec![poll], approved_read())
        })
        .await;
        let options = azure_customer_lockbox::options::WaiterOptions {
            timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let until_final = DecisionOptions { until_final: Some(options), ..Default::default() };
        let decided = client(&server.url).requests(SUB)?.approve("r1", "ok", Some(until_final)).await;
        taken_or_unknown(decided.map(|d| d.request().cloned()), "Approved")
    }));
    cases.push(case("A3: decision 202 polled on another host: no request there, reconciled", async move {
        let foreign = Scripted::start(json_ok(r#"{"status":"Succeeded"}"#)).await;
        let server = Scripted::start(decision_routes(
            vec![Reply::Raw(accepted(&foreign.url, ""))],
            vec![Reply::Close],
            approved_read(),
        ))
        .await;
        let texts = taken_or_unknown(client(&server.url).requests(SUB)?.approve("r1", "ok", None).await, "Approve")?;
        let got = foreign.received();
        require(got.is_empty(), || format!("the foreign polling host received {got:?}"))?;
        Ok(texts)
    }));
    for status in ["409 Conflict", "400 Bad Request"] {
        cases.push(case(
            format!("A1: ambiguous try, Pending, resend refused {status} without currentStatus"),
            async move {
                let server = Scripted::start(decision_routes(
                    vec![Reply::Raw(http("502 Bad Gateway", &[], "")), refusal(status)],
                    vec![Reply::Close],
                    vec![json_ok(request_json("r1", "Pending", "x")), json_ok(request_json("r1", "Approved", "x"))],
                ))
                .await;
                taken_or_unknown(retrying_client(&server.url).requests(SUB)?.approve("r1", "ok", None).await, "Approve")
            },
        ));
    }
    cases.push(case("A4: no retries, ambiguous try, request still Pending: outcome unknown", async move {
        let server = Scripted::start(decision_routes(
            vec![Reply::Raw(http("504 Gateway Timeout", &[], ""))],
            vec![Reply::Close],
            vec![json_ok(request_json("r1", "Pending", "x"))],
        ))
        .await;
        let result = client(&server.url).requests(SUB)?.approve("r1", "ok", None).await;
        let text = shown(&result);
        require_typed(matches!(result, Err(Error::DecisionOutcomeUnknown { .. })), || {
            format!("expected DecisionOutcomeUnknown, got {text}")
        })?;
        Ok(vec![text])
    }));

    // B: durations from a server or a caller.
    cases.push(case("B: Retry-After u64::MAX on a 202 with a poller timeout", async move {
        let server = Scripted::start_for(|url| {
            let op = format!("{url}/providers/Microsoft.CustomerLockbox/operationStatuses/op1?api-version={API}");
            let huge = u64::MAX.to_string();
            let post = Reply::Raw(http("202 Accepted", &[("Azure-AsyncOperation", &op), ("Retry-After", &huge)], ""));
            decision_routes(vec![post], vec![Reply::Close], approved_read())
        })
        .await;
        let options = azure_customer_lockbox::options::WaiterOptions {
            timeout: Some(Duration::from_millis(200)),
            ..Default::default()
        };
        let follow = DecisionOptions { follow: options, ..Default::default() };
        any(client(&server.url).requests(SUB)?.approve("r1", "ok", Some(follow)).await)
    }));
    cases.push(case("B: wait_for_decision with timeout Duration::MAX", async move {
        // Pending first, so that the poller computes a wait against its timeout.
        let read = vec![json_ok(request_json("r1", "Pending", "x")), json_ok(request_json("r1", "Approved", "x"))];
        let server = Scripted::start(Reply::Routes(Arc::new(vec![route("/requests/r1", read)]))).await;
        // A 1 s poll interval (the least allowed): the default 30 s would outlast the case's time limit.
        let options = azure_customer_lockbox::options::WaiterOptions {
            timeout: Some(Duration::MAX),
            frequency: Duration::from_secs(1),
        };
        let poller = client(&server.url).requests(SUB)?.wait_for_decision("r1", Some(options))?;
        ok_if(poller.await, "the Approved request", |r| format!("{r:?}").contains("Approved"))
    }));
    cases.push(case("B: absurd initial_delay, first try 503", async move {
        let server = Scripted::start(Reply::Raw(http("503 Service Unavailable", &[], ""))).await;
        let options = CustomerLockboxClientOptions {
            retry: Retries::Exponential(azure_customer_lockbox::options::ExponentialRetries {
                max_retries: 1,
                initial_delay: Duration::MAX,
                max_delay: Duration::from_millis(5),
                ..Default::default()
            }),
            ..options(&server.url)
        };
        let client = CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options))?;
        service(client.requests(SUB)?.get("r1", None).await, 503)
    }));
    for (label, value) in [
        ("u64::MAX seconds", u64::MAX.to_string()),
        ("negative", "-5".to_owned()),
        ("fractional", "0.5".to_owned()),
        ("HTTP date far in the future", "Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        ("HTTP date far in the past", "Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
    ] {
        cases.push(case(format!("B: 429 with Retry-After {label}, one retry allowed"), async move {
            let server = Scripted::start(Reply::Raw(http("429 Too Many Requests", &[("Retry-After", &value)], ""))).await;
            // The retry may honour the hint only within the client's timeout; either way: a typed 429.
            let options =
                CustomerLockboxClientOptions { timeout: Some(Duration::from_secs(2)), ..retrying_options(&server.url) };
            let client = CustomerLockboxClient::new(StaticTokenCredential::new(TOKEN), Some(options))?;
            let result = client.requests(SUB)?.get("r1", None).await;
            let text = shown(&result);
            require_typed(
                matches!(&result, Err(e) if e.status().map(|s| s.as_u16()) == Some(429) || matches!(e, Error::Timeout { .. })),
                || format!("expected a typed 429 or Timeout, got {text}"),
            )?;
            Ok(vec![text])
        }));
    }

    // C: five ways for the token to escape.
    let echo = format!("not json: Bearer {TOKEN}");
    cases.push(case("C: undecodable poll answer echoing the token", {
        let echo = echo.clone();
        async move {
            let server = Scripted::start_for(|url| {
                decision_routes(vec![Reply::Raw(accepted(url, ""))], vec![json_ok(echo)], approved_read())
            })
            .await;
            any(client(&server.url).requests(SUB)?.approve("r1", "ok", None).await)
        }
    }));
    cases.push(case("C: 202 without a polling header, body echoing the token", async move {
        let body = format!(r#"{{"error":{{"code":"Echo","message":"Bearer {TOKEN}"}}}}"#);
        let post = Reply::Raw(http("202 Accepted", &[("Content-Type", "application/json")], body));
        let server = Scripted::start(decision_routes(vec![post], vec![Reply::Close], approved_read())).await;
        any(client(&server.url).requests(SUB)?.approve("r1", "ok", None).await)
    }));
    cases.push(case("C: transport failure on a nextLink carrying the token in its query", async move {
        let server = Scripted::start_for(|url| {
            let page = serde_json::json!({"value": [], "nextLink": format!("{url}/next?sig={TOKEN}")}).to_string();
            Reply::Routes(Arc::new(vec![route("/next", vec![Reply::Close]), route("/requests", vec![json_ok(page)])]))
        })
        .await;
        let listed = client(&server.url).requests(SUB)?.list(None).try_collect().await;
        transport(listed)
    }));
    cases.push(case("C: paging error on a nextLink with the token in its path", async move {
        let server = Scripted::start_for(|url| {
            json_ok(serde_json::json!({"value": [], "nextLink": format!("{url}/{TOKEN}/again")}).to_string())
        })
        .await;
        let listed = client(&server.url).requests(SUB)?.list(None).try_collect().await;
        let text = shown(&listed);
        require_typed(matches!(listed, Err(Error::Paging(_))), || format!("expected Paging, got {text}"))?;
        Ok(vec![text])
    }));
    cases.push(case("C: token straddling the 4 KiB cut of an error body", async move {
        let mut body = "x".repeat(4096 - TOKEN.len() / 2);
        body.push_str(TOKEN);
        body.push_str(&"y".repeat(100));
        let server = Scripted::start(Reply::Raw(http("500 Internal Server Error", &[], body))).await;
        service(client(&server.url).requests(SUB)?.get("r1", None).await, 500)
    }));
    cases
}

fn retrying_options(endpoint: &str) -> CustomerLockboxClientOptions {
    CustomerLockboxClientOptions {
        retry: Retries::Exponential(azure_customer_lockbox::options::ExponentialRetries {
            max_retries: 1,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..Default::default()
        }),
        ..options(endpoint)
    }
}
