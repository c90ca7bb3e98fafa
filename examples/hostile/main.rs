//! Hostile inputs and secret hygiene, in one run: every bad-input case against the embedded emulator and every
//! bad-response case against scripted servers started in-process, with the token searched for in every error's
//! `Display` and `Debug`, in the captured TRACE output, and in what any server but the endpoint received.
//!
//! ```text
//! cargo run --release --example hostile
//! ```
//!
//! Failed cases are listed on stderr; stdout ends with exactly one line,
//! `hostile: <cases> cases, <panics> panics, <untyped> untyped errors, <leaks> token leaks`, and the exit status
//! is non-zero unless the last three are all 0. The case tables are tested by `tests.rs` beside this file, which
//! `cargo test` runs (the example is declared with `test = true`).

mod cases;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    cases::logs();
    // Panics are counted, not printed as they happen: the summary says how many there were.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let (emulator, all) = cases::all_cases().await;
    let outcomes = cases::run(all).await;
    drop(emulator);
    for outcome in outcomes.iter().filter(|o| !o.ok()) {
        eprintln!("FAILED {outcome:?}");
    }
    println!("{}", cases::summary(&outcomes));
    if outcomes.iter().all(cases::Outcome::ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
