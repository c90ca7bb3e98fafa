//! `lockbox requests`: list, show, approve, deny and watch the access requests of every subscription in scope.
//! Its arguments are here; each command's run is in a file of its own (`list.rs`, `show.rs`, `decide.rs`,
//! `watch.rs`), and the rows of a request in `rows.rs`.

use std::time::Duration;

use azure_customer_lockbox::models::LockboxRequestStatus;
use clap::Subcommand;

use crate::{
    failure::Failure,
    options::{Given, Requested, Streamed, parse_duration, parse_status},
    session::Connector,
};

mod decide;
mod list;
mod rows;
mod show;
mod watch;

#[derive(Subcommand)]
pub enum Command {
    /// List the requests of every subscription in scope, sorted by time left before expiry. A subscription
    /// that cannot be listed is named on stderr, and the exit status is 1 when the others were listed.
    #[command(after_help = exits!(0, 1, 2, 3, 4, 5))]
    List {
        /// Only requests in these statuses (pending, approved, denied, expired, ...; any letter case); repeat
        /// the option or separate them with commas.
        #[arg(long, value_parser = parse_status, value_delimiter = ',')]
        status: Vec<LockboxRequestStatus>,
        #[command(flatten)]
        on: Requested,
    },
    /// Show one request in full.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Show {
        /// The request id (looked for in every subscription in scope), or its full resource id
        /// (/subscriptions/SUB/providers/Microsoft.CustomerLockbox/requests/ID).
        request: String,
        #[command(flatten)]
        on: Requested,
    },
    /// Approve a pending request (shows it and asks first; --yes skips the question).
    #[command(after_help = exits!(0, 2, 3, 4, 5, 6, 7, 9))]
    Approve(decide::Args),
    /// Deny a pending request (shows it and asks first; --yes skips the question).
    #[command(after_help = exits!(0, 2, 3, 4, 5, 6, 7, 9))]
    Deny(decide::Args),
    /// Print each new or changed request of every subscription in scope as it happens, until Ctrl-C.
    /// Tenant-wide, the subscriptions are read again every 5 minutes.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Watch {
        /// Time between listings, e.g. 30s or 2m: at least 5s, but for an emulator on this machine.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        interval: Duration,
        /// Only requests in this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<LockboxRequestStatus>,
        /// Leave out the requests already there when the watch starts.
        #[arg(long)]
        only_changes: bool,
        /// Run this shell command for each event, with the event as JSON on its standard input.
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        #[command(flatten)]
        on: Streamed,
    },
}

impl Command {
    /// The option groups this command takes, and its name.
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::List { on, .. } => (Given::requested(on), "requests list"),
            Self::Show { on, .. } => (Given::requested(on), "requests show"),
            Self::Approve(args) => (Given::requested(&args.on), "requests approve"),
            Self::Deny(args) => (Given::requested(&args.on), "requests deny"),
            Self::Watch { on, .. } => (Given::streamed(on), "requests watch"),
        }
    }
}

/// Runs a `requests` command in the session: its exit status.
pub async fn run(command: Command, connector: &Connector<'_>) -> Result<u8, Failure> {
    let session = connector.session().await?;
    // The scope is checked (each subscription a GUID) before anything else.
    let backend = session.backend()?;
    match command {
        Command::List { status, .. } => list::run(session, &backend, &status).await,
        Command::Show { request, .. } => show::run(session, &backend, &request).await,
        Command::Approve(args) => decide::run(session, &backend, args, decide::Verdict::Approve).await,
        Command::Deny(args) => decide::run(session, &backend, args, decide::Verdict::Deny).await,
        Command::Watch { interval, status, only_changes, exec, .. } => {
            watch::run(session, &backend, watch::Options { interval, status, only_changes, exec }).await
        }
    }
}
