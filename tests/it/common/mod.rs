//! Helpers shared by the integration tests (`use crate::common::*;` in each module of `tests/it`; the test
//! binaries of their own include this file with `#[path]`). They build the SDK's client, so they stay with the
//! tests; the SDK-independent payload fixture is in `azure_customer_lockbox_emulator::testing`.
//!
//! `logs.rs` beside this file is not a module of it: it installs a process-wide tracing subscriber, so only a
//! test binary of its own includes it (`tests/redaction.rs`, `tests/telemetry.rs`).
#![allow(dead_code)]

mod client;

pub use client::TestClient;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use azure_core::{
    credentials::{AccessToken, TokenCredential, TokenRequestOptions},
    time::{Duration, OffsetDateTime},
};
use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions};
/// The Lockbox request payload comes from the emulator crate, so the benchmark uses the same one without
/// including this file.
#[allow(unused_imports)] // not every test file uses it
pub use azure_customer_lockbox_emulator::testing::request_json;

/// Every `.rs` file under `dir`, in every folder below it, sorted: what the tests that read the sources
/// (`architecture.rs`, `docs.rs`, `decision_wait.rs`) walk.
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let (mut found, mut stack) = (Vec::new(), vec![dir.to_path_buf()]);
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found.sort();
    found
}

pub const SUB: &str = "11111111-2222-3333-4444-555555555555";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.c2VjcmV0LXRva2VuLWRvLW5vdC1sZWFr.sig";

/// A credential that counts how often it is asked, and can be slow to answer, or give no token at all.
#[derive(Debug, Default)]
pub struct CountingCredential {
    pub calls: AtomicUsize,
    pub delay_ms: u64,
    pub lifetime_secs: i64,
    /// Answers every call with a credential error (nobody signed in) instead of a token.
    pub fails: bool,
}

impl CountingCredential {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { lifetime_secs: 3600, ..Default::default() })
    }
    /// One that never gives a token.
    pub fn failing() -> Arc<Self> {
        Arc::new(Self { fails: true, ..Default::default() })
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TokenCredential for CountingCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.delay_ms)).await;
        }
        if self.fails {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "nobody is signed in",
            ));
        }
        Ok(AccessToken::new(TOKEN.to_owned(), OffsetDateTime::now_utc() + Duration::seconds(self.lifetime_secs)))
    }
}

/// Options pointing at `endpoint` with no retries: [`TestClient::new`]`(endpoint).options()`.
pub fn options(endpoint: &str) -> CustomerLockboxClientOptions {
    TestClient::new(endpoint).options()
}

/// A client of `endpoint` with no retries, and its counting credential: [`TestClient::new`]`(endpoint)
/// .build_counted()`.
pub fn client(endpoint: &str) -> (CustomerLockboxClient, Arc<CountingCredential>) {
    TestClient::new(endpoint).build_counted()
}

/// An HTTP client for tests on tokio's paused clock: no connect or pool timers that the paused clock could
/// fire while a test waits on real socket IO.
pub fn paused_clock_http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_idle_timeout(None).build().unwrap()
}

/// Replies with the given responses in order, repeating the last one.
pub struct Sequence {
    responses: Vec<wiremock::ResponseTemplate>,
    next: AtomicUsize,
}

impl Sequence {
    pub fn new(responses: Vec<wiremock::ResponseTemplate>) -> Self {
        Self { responses, next: AtomicUsize::new(0) }
    }
}

impl wiremock::Respond for Sequence {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst).min(self.responses.len() - 1);
        self.responses[i].clone()
    }
}

/// A mock server of this test's own, on a fresh port.
///
/// `wiremock::MockServer::start` lends servers from a process-wide pool. A request an earlier test left on the
/// socket (a try cut by a timeout, say) can then reach the pooled server after it was reset, and be counted in
/// the next test that borrows it: a count assertion here saw one such stray `GET` under CPU load. A dedicated
/// server is shut down with its test, so every request it records came from the test that started it.
pub async fn mock_server() -> wiremock::MockServer {
    wiremock::MockServer::builder().start().await
}

/// Decisions at `/updateApproval` answer `posts` in turn (none mounted when empty: the test mounts its own),
/// reads of the request `gets` in turn.
pub async fn decisions_server(
    posts: Vec<wiremock::ResponseTemplate>,
    gets: Vec<wiremock::ResponseTemplate>,
) -> wiremock::MockServer {
    let server = mock_server().await;
    if !posts.is_empty() {
        let posts = Sequence::new(posts);
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path_regex("/updateApproval$"))
            .respond_with(posts)
            .mount(&server)
            .await;
    }
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path_regex("/requests/[^/]+$"))
        .respond_with(Sequence::new(gets))
        .mount(&server)
        .await;
    server
}
