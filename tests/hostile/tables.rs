//! The hostile run's case tables, tested where they live: `tests.rs` beside this file, with the run's own
//! `cases.rs`, so the summary (`main.rs`, `cargo test --test hostile`) and these tests cannot drift. A test binary
//! of its own, not a module of `tests/it`: `cases::logs` installs a process-wide panic hook and TRACE capture,
//! which would record every other test's panics and logs too.

mod cases;
mod tests;
