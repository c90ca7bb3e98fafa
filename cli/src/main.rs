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
//! [`EXIT_STATUS`]).

// `println!` panics on a closed stdout: everything goes through `output::line`. Every number, duration, hour and
// offset is computed with checked or saturating arithmetic.
#![deny(clippy::print_stdout, clippy::arithmetic_side_effects)]

mod backend;
mod bot;
mod commands;
mod failure;
mod output;
mod policy;
mod policytest;

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use azure_core::{cloud::CloudConfiguration, credentials::TokenCredential};
use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, StaticTokenCredential, models::LockboxRequestStatus,
};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum, parser::ValueSource};

use crate::{backend::Backend, output::Format};
pub(crate) use failure::*;

const EMULATOR_SUBSCRIPTION: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

#[derive(Parser)]
#[command(name = "lockbox", version, about = "Review, approve and deny Azure Customer Lockbox requests", after_help = EXIT_STATUS)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    /// Output format (default: table; jsonl for `requests watch` when stdout is not a terminal).
    #[arg(long, short, global = true, value_enum, env = "LOCKBOX_OUTPUT")]
    output: Option<Format>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Connection {
    /// Use an emulator, not Azure: the embedded one with sample data, or the standalone one at --endpoint.
    #[arg(long, global = true)]
    emulator: bool,
    /// Narrow the scope to this subscription; repeat (or separate with commas) for several. Without it,
    /// every subscription the credential can see (with the embedded emulator, its sample subscription). Also
    /// read from AZURE_SUBSCRIPTION_ID (with a note on stderr). A full resource id given to show/approve/deny
    /// names its own subscription.
    #[arg(long = "subscription", global = true, env = "AZURE_SUBSCRIPTION_ID", value_delimiter = ',')]
    subscriptions: Vec<String>,
    /// Authenticate with the managed identity of the machine instead of developer tools (Azure CLI / azd).
    #[arg(long, global = true)]
    managed_identity: bool,
    /// Azure cloud.
    #[arg(long, global = true, value_enum, default_value_t = Cloud::Public)]
    cloud: Cloud,
    /// A Resource Manager endpoint of your own; with --emulator, a standalone emulator on this machine.
    #[arg(long, global = true)]
    endpoint: Option<url::Url>,
    /// Log what the SDK does (tracing, to stderr; never tokens).
    #[arg(long, short, global = true)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Cloud {
    Public,
    China,
    UsGov,
}

#[derive(Subcommand)]
enum Command {
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
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
pub(crate) enum RequestsCommand {
    /// List the requests of every subscription in scope, sorted by time left before expiry. A subscription
    /// that cannot be listed is named on stderr, and the exit status is 1 when the others were listed.
    List {
        /// Only requests in these statuses (pending, approved, denied, expired, ...; any letter case); repeat
        /// the option or separate them with commas.
        #[arg(long, value_parser = parse_status, value_delimiter = ',')]
        status: Vec<LockboxRequestStatus>,
    },
    /// Show one request in full.
    Show {
        /// The request id (looked for in every subscription in scope), or its full resource id
        /// (/subscriptions/SUB/providers/Microsoft.CustomerLockbox/requests/ID).
        request: String,
    },
    /// Approve a pending request (shows it and asks first; --yes skips the question).
    Approve(Decision),
    /// Deny a pending request (shows it and asks first; --yes skips the question).
    Deny(Decision),
    /// Print each new or changed request of every subscription in scope as it happens, until Ctrl-C.
    /// Tenant-wide, the subscriptions are read again every 5 minutes.
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
    },
}

#[derive(Args)]
pub(crate) struct Decision {
    /// The request id (looked for in every subscription in scope), or its full resource id.
    pub request: String,
    /// Why; shown to the engineer and kept in the audit log.
    #[arg(long)]
    pub reason: String,
    /// Do not ask for confirmation (required when there is no terminal to ask on).
    #[arg(long)]
    pub yes: bool,
    /// Wait until the decision is final (Approved or Denied), showing its progress.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
    /// Show whether Customer Lockbox is on for a tenant (default: the emulator's tenant or AZURE_TENANT_ID).
    Status {
        /// The tenant id.
        #[arg(env = "AZURE_TENANT_ID")]
        tenant_id: Option<String>,
    },
    /// Turn Customer Lockbox on for your tenant.
    Enable {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Turn Customer Lockbox off for your tenant.
    Disable {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum OperationsCommand {
    /// List the operations of Microsoft.CustomerLockbox.
    List,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Decide pending requests by the rules of a policy file; one JSON audit line per request decided or left.
    #[command(after_help = "The policy file format is described in the README (\"The `lockbox` command-line tool\").")]
    Run {
        /// The policy file (TOML).
        #[arg(long)]
        file: PathBuf,
        /// Say what would be decided, deciding nothing.
        #[arg(long)]
        dry_run: bool,
        /// For each request, say on stderr which condition of each rule tried failed, and which rule matched
        /// (JSON audit lines also get an "explanation" array).
        #[arg(long)]
        explain: bool,
        /// One pass over the pending requests, then exit.
        #[arg(long)]
        once: bool,
        /// Time between passes, e.g. 30s, 2m.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        interval: Duration,
        /// Append the audit lines to this file (flushed per line) instead of stdout.
        #[arg(long, value_name = "FILE")]
        audit: Option<PathBuf>,
    },
    /// Test a policy against sample requests and the action each must get (no service is asked). Exit status 0
    /// when every case passes, 1 when one does not (or, with --require-coverage, when a rule never decides a case
    /// or a condition never fails), 2 for a bad file.
    #[command(after_help = "The cases file format is at the top of cli/src/policytest.rs and in the README.")]
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

/// Where the commands run: a client, the requests backend, and the emulator if one is embedded.
pub(crate) struct Session {
    pub(crate) client: CustomerLockboxClient,
    /// The scope: empty for every subscription the credential can see.
    pub(crate) subscriptions: Vec<String>,
    pub(crate) default_tenant: Option<String>,
    pub(crate) output: Option<Format>,
    /// The embedded emulator, kept running as long as the session.
    _emulator: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Session {
    pub(crate) fn backend(&self) -> Result<Backend, Error> {
        Backend::new(self.client.clone(), self.subscriptions.clone())
    }

    /// The output format: --output / LOCKBOX_OUTPUT, else table.
    pub(crate) fn format(&self) -> Format {
        self.output.unwrap_or(Format::Table)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // An environment variable set for other tools (azd sets it) must not hide the rest of the tenant unnoticed.
    if matches.value_source("subscriptions") == Some(ValueSource::EnvVariable) {
        eprintln!(
            "note: AZURE_SUBSCRIPTION_ID narrows the scope to {}; unset it to cover every subscription the credential can see",
            cli.connection.subscriptions.join(", ")
        );
    }
    if cli.connection.verbose {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("azure_customer_lockbox=debug"))
            .with_writer(std::io::stderr)
            .init();
    }
    // Each command connects only if it asks a service: completions and a policy test need no login.
    let (connection, output) = (&cli.connection, cli.output);
    let outcome = match cli.command {
        Command::Requests(command) => match connect(connection, output).await {
            Ok(session) => commands::requests(&session, command).await,
            Err(failure) => Err(failure),
        },
        Command::Tenant(command) => match connect(connection, output).await {
            Ok(session) => commands::tenant(&session, command).await,
            Err(failure) => Err(failure),
        },
        Command::Operations(OperationsCommand::List) => match connect(connection, output).await {
            Ok(session) => commands::operations(&session).await,
            Err(failure) => Err(failure),
        },
        Command::Policy(PolicyCommand::Run { file, dry_run, explain, once, interval, audit }) => {
            match connect(connection, output).await {
                Ok(session) => {
                    run_policy(&session, &file, audit.as_ref(), bot::RunOptions { dry_run, explain, once, interval })
                        .await
                }
                Err(failure) => Err(failure),
            }
        }
        Command::Policy(PolicyCommand::Test { file, cases, require_coverage }) => {
            policy_test(&file, &cases, require_coverage)
        }
        Command::Completions { shell } => {
            let _ = output::line(completions(shell));
            Ok(0)
        }
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(failure) => failure.report(),
    }
}

/// The completion script for `shell`, as text (written through `output::line`, like everything on stdout).
fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "lockbox", &mut script);
    String::from_utf8_lossy(&script).trim_end().to_owned()
}

/// `policy test`: 0 when every case passes (and, if required, the cases cover the policy), else 1.
fn policy_test(file: &std::path::Path, cases: &std::path::Path, require_coverage: bool) -> Result<u8, Failure> {
    let policy = policy::Policy::load(file).map_err(usage)?;
    let passed = policytest::run(&policy, cases, require_coverage).map_err(usage)?;
    Ok(if passed { 0 } else { EXIT_PARTIAL })
}

async fn run_policy(
    session: &Session,
    file: &std::path::Path,
    audit: Option<&PathBuf>,
    options: bot::RunOptions,
) -> Result<u8, Failure> {
    let policy = policy::Policy::load(file).map_err(usage)?;
    let mut audit = bot::Audit::open(audit).map_err(usage)?;
    let backend = session.backend()?;
    Ok(bot::run(&backend, &policy, &mut audit, options).await)
}

/// Starts the embedded emulator with sample data: the client, the emulator's tenant, and the emulator to keep
/// running. The one place the CLI names the emulator.
#[cfg(feature = "emulator")]
async fn embedded_emulator() -> Result<(CustomerLockboxClient, String, Box<dyn std::any::Any + Send + Sync>), Failure> {
    use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
    let emulator = Emulator::start(EmulatorConfig::default().with_transition_delay(Duration::from_millis(300)))
        .await
        .map_err(|e| usage(format!("cannot start the emulator: {e}")))?;
    emulator.sample_data(EMULATOR_SUBSCRIPTION);
    emulator.set_tenant_opted_in(emulator.default_tenant_id(), true);
    eprintln!(
        "lockbox: using the embedded emulator at {} with sample data in subscription {EMULATOR_SUBSCRIPTION}",
        emulator.url()
    );
    let client = CustomerLockboxClient::new(
        StaticTokenCredential::new("lockbox-cli"),
        Some(CustomerLockboxClientOptions {
            application_id: Some("lockbox-cli".into()),
            ..CustomerLockboxClientOptions::for_endpoint(emulator.url())?
        }),
    )?;
    let tenant = emulator.default_tenant_id().to_owned();
    Ok((client, tenant, Box::new(emulator)))
}

/// Without the `emulator` feature, `--emulator` needs `--endpoint` (a standalone emulator).
#[cfg(not(feature = "emulator"))]
async fn embedded_emulator() -> Result<(CustomerLockboxClient, String, Box<dyn std::any::Any + Send + Sync>), Failure> {
    Err(usage(
        "this lockbox was built without its embedded emulator (feature `emulator`): give --endpoint with the URL of a \
         standalone emulator"
            .into(),
    ))
}

async fn connect(options: &Connection, output: Option<Format>) -> Result<Session, Failure> {
    let mut subscriptions = options.subscriptions.clone();
    let loopback = options.endpoint.as_ref().and_then(|u| u.host_str()).is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h == "[::1]"
    });
    if options.emulator && options.endpoint.is_none() {
        let (client, tenant, emulator) = embedded_emulator().await?;
        if subscriptions.is_empty() {
            subscriptions.push(EMULATOR_SUBSCRIPTION.to_owned());
        }
        return Ok(Session { client, subscriptions, default_tenant: Some(tenant), output, _emulator: Some(emulator) });
    }
    let (cloud, credential): (_, Arc<dyn TokenCredential>) = if options.emulator {
        if !loopback {
            return Err(usage("--emulator with --endpoint talks to an emulator on this machine only".into()));
        }
        // The emulator takes any token and speaks as the public cloud; `endpoint` below points at it.
        (CloudConfiguration::AzurePublic, StaticTokenCredential::new("lockbox-cli"))
    } else {
        // An explicit endpoint keeps the cloud's audience; the same value configures the credential's authority.
        let cloud = match options.cloud {
            Cloud::Public => CloudConfiguration::AzurePublic,
            Cloud::China => CloudConfiguration::AzureChina,
            Cloud::UsGov => CloudConfiguration::AzureGovernment,
        };
        let credential: Arc<dyn TokenCredential> = if options.managed_identity {
            azure_identity::ManagedIdentityCredential::new(None).map_err(Error::Credential)?
        } else {
            azure_identity::DeveloperToolsCredential::new(None).map_err(Error::Credential)?
        };
        (cloud, credential)
    };
    let client = CustomerLockboxClient::new(
        credential,
        Some(CustomerLockboxClientOptions {
            cloud,
            endpoint: options.endpoint.clone(),
            application_id: Some("lockbox-cli".into()),
            ..Default::default()
        }),
    )?;
    Ok(Session {
        client,
        subscriptions,
        default_tenant: std::env::var("AZURE_TENANT_ID").ok(),
        output,
        _emulator: None,
    })
}

/// Accepts the statuses the service knows, in any letter case.
fn parse_status(text: &str) -> Result<LockboxRequestStatus, String> {
    match LockboxRequestStatus::parse(text) {
        LockboxRequestStatus::Other(_) => {
            let known: Vec<String> = LockboxRequestStatus::KNOWN.iter().map(|s| s.as_str().to_lowercase()).collect();
            Err(format!("unknown status; expected one of {}", known.join(", ")))
        }
        status => Ok(status),
    }
}

fn too_long(text: &str) -> String {
    format!("{text:?} is longer than any interval this tool can wait")
}

/// Durations like `30s`, `2m`, `1h` or `500ms`; a bare number is seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number.parse().map_err(|_| format!("{text:?} is not a duration like 30s, 2m or 500ms"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(value),
        "" | "s" => Duration::from_secs(value),
        // Checked: `--interval 9999999999999999h` is refused, not an overflow.
        "m" => Duration::from_secs(value.checked_mul(60).ok_or_else(|| too_long(text))?),
        "h" => Duration::from_secs(value.checked_mul(3600).ok_or_else(|| too_long(text))?),
        _ => return Err(format!("unknown unit {unit:?}; use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the interval must be more than zero".into());
    }
    Ok(duration)
}
