//! The SDK's integration tests, as one test binary: `cargo test` links it once, not once per file. Each file
//! beside this one is a module with the tests of one topic; `common/` holds their shared helpers, among them the
//! [`TestClient`](common::TestClient) builder that every test builds its client with.
//!
//! Run one topic with a filter on its module: `cargo test --test it retry::`. A test that needs a process of its
//! own (a process-wide tracing subscriber, a panic hook) is a binary of its own instead: `tests/redaction.rs`,
//! `tests/telemetry.rs` and `tests/hostile/`, each saying why at its top.

mod common;

mod architecture;
mod auth;
mod between_pages;
mod decision_schedules;
mod decision_seams;
mod decision_wait;
mod decisions;
mod docs;
mod durations;
mod e2e;
mod ecosystem;
mod fuzz;
mod models;
mod paging;
mod poller;
mod read_options;
mod readme;
mod retry;
mod streams;
mod tenant;
mod wire;
