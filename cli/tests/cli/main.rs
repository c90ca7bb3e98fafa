//! The `lockbox` tool, run as a user would (the binary Cargo built for this package): output, exit status and
//! effect of each command, against the embedded emulator (`--emulator`) and against an emulator in this process
//! that keeps state between commands and records every decision. The confirmation tests use `script`
//! (util-linux) for a terminal.
//!
//! One module per command (`requests_list`, `requests_show`, ...), the helpers they share in [`common`], and the
//! golden files of every command's output in [`golden`] (`cli/tests/golden/`). They are one test binary, not one
//! per command: each test binary links the tool's whole dependency tree (tokio, axum, the emulator, the SDK) on
//! its own, so a dozen binaries would cost a dozen links on every change, where one costs one.
//!
//! Run one command's tests with `cargo test -p azure_customer_lockbox_cli --test cli requests_watch::`.

mod common;

mod completions;
mod connection;
mod golden;
mod help;
mod operations;
mod policy_bot;
mod policy_explain;
mod policy_run;
mod policy_test;
mod query;
mod requests_decide;
mod requests_list;
mod requests_show;
mod requests_watch;
mod tenant;
