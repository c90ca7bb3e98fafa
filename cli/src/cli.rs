//! The command line: the options before the command, and the command by its noun. Each noun's module owns its
//! arguments, its run and its rows (`requests.rs`, `tenant.rs`, `operations.rs`, `policy.rs`, `completions.rs`);
//! this file only names them, and runs the one given. Each command takes only the options that apply to it, and
//! its `--help` lists only those and the exit statuses it can return. The options may also stand before the
//! command, as `az` and kubectl users write them (`lockbox --emulator requests list`); there, one that does not
//! apply to the command is a usage error, not silently ignored ([`resolve()`]).

use clap::{Parser, Subcommand};

use crate::{
    completions,
    failure::{EXIT_STATUS, Failure},
    operations,
    options::{Given, OutputArg, QueryArg, Scope, Service},
    policy, requests,
    session::Connector,
    tenant,
};

mod resolve;

pub use resolve::resolve;

#[derive(Parser)]
#[command(name = "lockbox", version, about = "Review, approve and deny Azure Customer Lockbox requests", after_help = EXIT_STATUS)]
pub struct Cli {
    #[command(flatten)]
    pub service: Service,
    #[command(flatten)]
    pub scope: Scope,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub query: QueryArg,
    #[command(subcommand)]
    pub command: Command,
}

/// The nouns.
#[derive(Subcommand)]
pub enum Command {
    /// Access requests: list, show, approve, deny, watch.
    #[command(subcommand)]
    Requests(requests::Command),
    /// The tenant's Customer Lockbox opt-in.
    #[command(subcommand)]
    Tenant(tenant::Command),
    /// The resource provider's operations.
    #[command(subcommand)]
    Operations(operations::Command),
    /// Decide pending requests by rules (an approval bot).
    #[command(subcommand)]
    Policy(policy::Command),
    /// Print a completion script for a shell, e.g. `lockbox completions bash > /etc/bash_completion.d/lockbox`.
    #[command(after_help = exits!(0))]
    Completions(completions::Args),
}

impl Command {
    /// The option groups this command takes, and its name (`requests list`).
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::Requests(command) => command.given(),
            Self::Tenant(command) => command.given(),
            Self::Operations(command) => command.given(),
            Self::Policy(command) => command.given(),
            Self::Completions(_) => (Given::default(), "completions"),
        }
    }

    /// Runs the command: its exit status. A command that asks a service signs in through `connector` (the one
    /// way to a session), when it needs to; completions and `policy test` never do.
    pub async fn run(self, connector: &Connector<'_>) -> Result<u8, Failure> {
        match self {
            Self::Requests(command) => requests::run(command, connector).await,
            Self::Tenant(command) => tenant::run(command, connector).await,
            Self::Operations(command) => operations::run(command, connector).await,
            Self::Policy(command) => policy::run(command, connector).await,
            Self::Completions(args) => Ok(completions::run(&args, <Cli as clap::CommandFactory>::command())),
        }
    }
}
