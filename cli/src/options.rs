//! The option groups the commands share: where the service is and how to sign in ([`Service`]), which
//! subscriptions ([`Scope`]), the output format and the query; and the parsers of option values clap does not
//! know. Each command takes only the groups that apply to it (see [`Given`]); its `--help` lists only those.

use clap::{Args, ValueEnum};

use crate::output::Format;

mod parse;
pub use parse::{parse_duration, parse_status};

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

/// The option groups a command takes, as given after it.
#[derive(Default)]
pub struct Given<'a> {
    pub service: Option<&'a Service>,
    pub scope: Option<&'a Scope>,
    pub output: Option<&'a OutputArg>,
    pub query: Option<&'a QueryArg>,
}

impl Given<'_> {
    pub fn requested(on: &Requested) -> Given<'_> {
        Given { service: Some(&on.service), scope: Some(&on.scope), output: Some(&on.output), query: Some(&on.query) }
    }

    pub fn streamed(on: &Streamed) -> Given<'_> {
        Given { service: Some(&on.service), scope: Some(&on.scope), output: Some(&on.output), query: None }
    }

    pub fn tenanted(on: &Tenanted) -> Given<'_> {
        Given { service: Some(&on.service), scope: None, output: Some(&on.output), query: Some(&on.query) }
    }
}
