//! `lockbox`: a command-line tool for answering Customer Lockbox requests, built only on the public SDK.
//!
//! ```sh
//! lockbox --emulator requests list --status pending
//! lockbox --emulator requests approve <ID> --reason "read access for case 123" --yes
//! lockbox requests watch --interval 30s --exec ./notify.sh
//! lockbox --subscription <GUID> policy run --file policy.toml --once --dry-run
//! lockbox --help
//! ```
//!
//! It works on Azure (`az login` or `--managed-identity`) unless told `--emulator`: alone, that starts an
//! embedded emulator with sample data (each run starts afresh); with `--endpoint`, it talks to a standalone
//! emulator (`cargo run -p azure_customer_lockbox_emulator`) that keeps state between commands. Without
//! `--subscription` it covers every subscription the credential can see; `--subscription` narrows that (the
//! embedded emulator covers its one sample subscription). The exit statuses are listed in `--help` (see
//! [`EXIT_STATUS`](failure::EXIT_STATUS)).

// `println!` panics on a closed stdout: everything goes through `output::line`. Everything for stderr goes through
// its one sink, `output::stderr` (`say!`), which shows every field terminal-safe. Every number, duration, hour and
// offset is computed with checked or saturating arithmetic.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::arithmetic_side_effects)]

#[macro_use]
mod output;
#[macro_use]
mod failure;
mod backend;
mod bot;
mod cli;
mod completions;
mod credential;
mod endpoint;
mod operations;
mod options;
mod policy;
mod requests;
mod session;
mod tenant;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::{
    cli::{Cli, resolve},
    session::Connector,
};

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let resolved = match resolve(&cli) {
        Ok(resolved) => resolved,
        Err(failure) => return failure.report(None),
    };
    if resolved.service.verbose > 0 {
        let filter = match resolved.service.verbose {
            1 => "azure_customer_lockbox=debug",
            _ => "azure_customer_lockbox=debug,azure_identity=debug,azure_core=debug",
        };
        // Through the one stderr sink, terminal-safe; coloured only on a terminal and without `NO_COLOR`.
        let colour = output::stderr::colour_enabled();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_ansi(colour)
            .with_writer(output::stderr::log_writer(colour))
            .init();
    }
    // Each command signs in through the connector only if it asks a service: completions and a policy test
    // need no login. A failure's hint names the endpoint of the session, if one was made.
    let connector = Connector::new(&resolved);
    match cli.command.run(&connector).await {
        Ok(code) => ExitCode::from(code),
        Err(failure) => failure.report(connector.endpoint()),
    }
}
