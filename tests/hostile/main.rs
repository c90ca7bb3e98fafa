//! Hostile inputs and secret hygiene, in one run: every bad-input case against the embedded emulator and every
//! bad-response case against scripted servers started in-process, with the token searched for in every error's
//! `Display` and `Debug`, in the captured TRACE output, and in what any server but the endpoint received.
//!
//! ```text
//! cargo test --test hostile
//! ```
//!
//! A test target with a `main` of its own (`harness = false`, and `test = false` so that a plain `cargo test`
//! leaves this run to CI's hostile step): it installs a process-wide panic hook and TRACE capture, so it needs a
//! process of its own, and it reports one summary rather than test by test. Failed cases are listed on stderr;
//! stdout ends with exactly one line,
//! `hostile: <cases> cases, <panics> panics, <untyped> untyped errors, <wrong> wrong results, <leaks> token leaks`,
//! and the exit status is non-zero unless the last four are all 0 and some log output was captured. `panics`
//! counts panics in any task (a panic hook records them); `untyped errors` counts cases whose result was not the
//! typed error (or success) expected; `wrong results` counts cases whose result or side effect (what was sent,
//! received or recorded) was wrong; `token leaks` counts places the token showed up: a result's `Display` and
//! `Debug` (a failed case's too), panic messages, and every log line, including those written after the last
//! case. The case tables are tested by `tests.rs` beside this file, in the test binary `hostile_tables`
//! (`tables.rs`), which `cargo test` runs.

mod cases;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // The TRACE capture, and a panic hook that records every panic in any task for the summary.
    cases::logs();
    let (emulator, all) = cases::all_cases().await;
    let report = cases::run(all).await;
    drop(emulator);
    eprint!("{}", report.failures());
    println!("{}", report.summary());
    if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
