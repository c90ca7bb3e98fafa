//! The command line. Each command takes only the options that apply to it, and its `--help` lists only those
//! and the exit statuses it can return. The options may also stand before the command, as `az` and kubectl
//! users write them (`lockbox --emulator requests list`); there, one that does not apply to the command is a
//! usage error, not silently ignored.

use std::{path::PathBuf, time::Duration};

use azure_customer_lockbox::models::LockboxRequestStatus;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

mod parse;
#[macro_use]
mod served;
use parse::{parse_duration, parse_status};
pub use served::AsService;

#[derive(Parser)]
#[command(name = "lockbox", version, about = "Review, approve and deny Azure Customer Lockbox requests", after_help = crate::EXIT_STATUS)]
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

/// Where the service is and how to sign in to it: for every command that asks a service.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Connection")]
pub struct Service {
    /// Use an emulator, not Azure: the embedded one with sample data, or the standalone one at --endpoint.
    #[arg(long)]
    pub emulator: bool,
    /// Authenticate with the managed identity of the machine instead of developer tools (Azure CLI / azd).
    #[arg(long)]
    pub managed_identity: bool,
    /// The credential to sign in with [default: from the environment, as Azure's default chain chooses].
    #[arg(long, value_enum, value_name = "KIND")]
    pub credential: Option<crate::credential::Kind>,
    /// Azure cloud [default: public].
    #[arg(long, value_enum)]
    pub cloud: Option<Cloud>,
    /// A Resource Manager endpoint of your own; with --emulator, a standalone emulator on this machine.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<url::Url>,
    /// Log what the SDK does (tracing, to stderr; never tokens); `-vv` adds the events of sign-in (azure_identity,
    /// azure_core), to see why a credential failed.
    #[arg(long, short, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Which subscriptions: for the commands on requests.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Scope")]
pub struct Scope {
    /// Narrow the scope to this subscription; repeat (or separate with commas) for several. Without it,
    /// every subscription the credential can see (with the embedded emulator, its sample subscription). Also
    /// read from AZURE_SUBSCRIPTION_ID (with a note on stderr). A full resource id given to show/approve/deny
    /// names its own subscription.
    #[arg(long = "subscription", value_delimiter = ',', value_name = "GUID")]
    pub subscriptions: Vec<String>,
}

#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputArg {
    /// Output format [default: table; jsonl for `requests watch` when stdout is not a terminal; also read
    /// from LOCKBOX_OUTPUT].
    #[arg(long, short, value_enum)]
    pub output: Option<Format>,
}

#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Output")]
pub struct QueryArg {
    /// A JMESPath query on the JSON form of the output (as `az --query`), e.g. `[?properties.status=='Pending'].name`;
    /// checked before anything is sent. The result is printed in the --output format.
    #[arg(long, value_name = "JMESPATH")]
    pub query: Option<String>,
}

/// The options of a command that prints one document about requests (a list, one request, a decision).
#[derive(Args, Clone)]
pub struct Requested {
    #[command(flatten)]
    pub service: Service,
    #[command(flatten)]
    pub scope: Scope,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub query: QueryArg,
}

/// The options of a command that prints as things happen (no --query: its output has no one JSON document).
#[derive(Args, Clone)]
pub struct Streamed {
    #[command(flatten)]
    pub service: Service,
    #[command(flatten)]
    pub scope: Scope,
    #[command(flatten)]
    pub output: OutputArg,
}

/// The options of a command about the tenant or the provider (no subscription).
#[derive(Args, Clone)]
pub struct Tenanted {
    #[command(flatten)]
    pub service: Service,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub query: QueryArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Cloud {
    Public,
    China,
    UsGov,
}

#[derive(Subcommand)]
pub enum Command {
    /// Access requests: list, show, approve, deny, watch.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// The tenant's Customer Lockbox opt-in.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The resource provider's operations.
    #[command(subcommand)]
    Operations(OperationsCommand),
    /// Decide pending requests by rules (an approval bot).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print a completion script for a shell, e.g. `lockbox completions bash > /etc/bash_completion.d/lockbox`.
    #[command(after_help = exits!(0))]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
pub enum RequestsCommand {
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
    Approve(Decision),
    /// Deny a pending request (shows it and asks first; --yes skips the question).
    #[command(after_help = exits!(0, 2, 3, 4, 5, 6, 7, 9))]
    Deny(Decision),
    /// Print each new or changed request of every subscription in scope as it happens, until Ctrl-C.
    /// Tenant-wide, the subscriptions are read again every 5 minutes.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Watch {
        /// Time between listings, e.g. 30s, 2m, 500ms.
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

#[derive(Args)]
pub struct Decision {
    /// The request id (looked for in every subscription in scope), or its full resource id.
    pub request: String,
    /// Why; shown to the engineer and kept in the audit log.
    #[arg(long)]
    pub reason: String,
    /// Do not ask for confirmation (required when there is no terminal to ask on).
    #[arg(long, short)]
    pub yes: bool,
    /// Also wait (at most 10 minutes, decision included) until the request's status is final (Approved or
    /// Denied). If the decision was recorded but that status cannot be confirmed, the decision is still printed
    /// and the exit status is 9.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub on: Requested,
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Show whether Customer Lockbox is on for a tenant (default: AZURE_TENANT_ID, or the embedded emulator's
    /// tenant; a standalone emulator's is in the emulator's first lines, or give any tenant id).
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Status {
        /// The tenant id.
        #[arg(env = "AZURE_TENANT_ID")]
        tenant_id: Option<String>,
        #[command(flatten)]
        on: Tenanted,
    },
    /// Turn Customer Lockbox on for your tenant.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Enable {
        /// Do not ask for confirmation (required when there is no terminal to ask on).
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        on: Tenanted,
    },
    /// Turn Customer Lockbox off for your tenant.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Disable {
        /// Do not ask for confirmation (required when there is no terminal to ask on).
        #[arg(long, short)]
        yes: bool,
        #[command(flatten)]
        on: Tenanted,
    },
}

#[derive(Subcommand)]
pub enum OperationsCommand {
    /// List the operations of Microsoft.CustomerLockbox.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    List {
        #[command(flatten)]
        on: Tenanted,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Decide pending requests by the rules of a policy file; one JSON audit line per request decided or left
    /// (on stdout, or to --audit FILE; then stdout shows each decision in the --output format).
    #[command(after_help = concat!(
        "The policy file format is described in the README (\"The `lockbox` command-line tool\").\n\n",
        signals_and_recovery!(),
        exits!(0, 1, 2, 3, 4, 5, 7, 8)
    ))]
    Run {
        /// The policy file (TOML).
        #[arg(long)]
        file: PathBuf,
        /// Say what would be decided, deciding nothing.
        #[arg(long)]
        dry_run: bool,
        /// For each request, say on stderr which condition of each rule tried failed, and which rule matched
        /// (the JSON lines also get an "explanation" array).
        #[arg(long)]
        explain: bool,
        /// One pass over the pending requests, then exit.
        #[arg(long)]
        once: bool,
        /// Time between passes, e.g. 30s, 2m.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        interval: Duration,
        /// Append the audit lines to this file (synced per line) instead of stdout.
        #[arg(long, value_name = "FILE")]
        audit: Option<PathBuf>,
        #[command(flatten)]
        on: Streamed,
        #[command(flatten)]
        served: AsService,
    },
    /// Say how a policy would decide one request now, and why: which condition of each rule tried failed, and
    /// which rule matched. Decides nothing.
    #[command(after_help = exits!(0, 2, 3, 4, 5))]
    Explain {
        /// The policy file (TOML).
        #[arg(long)]
        file: PathBuf,
        /// The request id (looked for in every subscription in scope), or its full resource id.
        request: String,
        #[command(flatten)]
        on: Requested,
    },
    /// Test a policy against sample requests and the action each must get (no service is asked). Exit status 0
    /// when every case passes, 1 when one does not (or, with --require-coverage, when a rule never decides a case
    /// or a condition never fails), 2 for a bad file.
    #[command(after_help = concat!(
        "The cases file format is at the top of cli/src/policytest.rs and in the README.\n\n",
        exits!(0, cases, 2)
    ))]
    Test {
        /// The policy file (TOML).
        #[arg(long)]
        file: PathBuf,
        /// The cases file (TOML): `[[case]]` with `name`, `at`, `expect`, optional `rule`, and `[case.request]`.
        #[arg(long)]
        cases: PathBuf,
        /// Also fail unless every rule decides some case and every condition of every rule fails in some case.
        #[arg(long)]
        require_coverage: bool,
    },
}

/// The option groups a command takes, as given after it.
#[derive(Default)]
pub struct Given<'a> {
    pub service: Option<&'a Service>,
    pub scope: Option<&'a Scope>,
    pub output: Option<&'a OutputArg>,
    pub query: Option<&'a QueryArg>,
}

impl Given<'_> {
    fn requested(on: &Requested) -> Given<'_> {
        Given { service: Some(&on.service), scope: Some(&on.scope), output: Some(&on.output), query: Some(&on.query) }
    }

    fn streamed(on: &Streamed) -> Given<'_> {
        Given { service: Some(&on.service), scope: Some(&on.scope), output: Some(&on.output), query: None }
    }

    fn tenanted(on: &Tenanted) -> Given<'_> {
        Given { service: Some(&on.service), scope: None, output: Some(&on.output), query: Some(&on.query) }
    }
}

impl Command {
    /// The option groups this command takes, and its name (`requests list`).
    pub fn given(&self) -> (Given<'_>, &'static str) {
        match self {
            Self::Requests(RequestsCommand::List { on, .. }) => (Given::requested(on), "requests list"),
            Self::Requests(RequestsCommand::Show { on, .. }) => (Given::requested(on), "requests show"),
            Self::Requests(RequestsCommand::Approve(d)) => (Given::requested(&d.on), "requests approve"),
            Self::Requests(RequestsCommand::Deny(d)) => (Given::requested(&d.on), "requests deny"),
            Self::Requests(RequestsCommand::Watch { on, .. }) => (Given::streamed(on), "requests watch"),
            Self::Tenant(TenantCommand::Status { on, .. }) => (Given::tenanted(on), "tenant status"),
            Self::Tenant(TenantCommand::Enable { on, .. }) => (Given::tenanted(on), "tenant enable"),
            Self::Tenant(TenantCommand::Disable { on, .. }) => (Given::tenanted(on), "tenant disable"),
            Self::Operations(OperationsCommand::List { on }) => (Given::tenanted(on), "operations list"),
            Self::Policy(PolicyCommand::Run { on, .. }) => (Given::streamed(on), "policy run"),
            Self::Policy(PolicyCommand::Explain { on, .. }) => (Given::requested(on), "policy explain"),
            Self::Policy(PolicyCommand::Test { .. }) => (Given::default(), "policy test"),
            Self::Completions { .. } => (Given::default(), "completions"),
        }
    }
}
