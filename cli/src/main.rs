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

// `println!` panics on a closed stdout: everything goes through `output::line`. Everything for stderr goes through
// its one sink, `output::stderr` (`say!`), which shows every field terminal-safe. Every number, duration, hour and
// offset is computed with checked or saturating arithmetic.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::arithmetic_side_effects)]

#[macro_use]
mod output;
#[macro_use]
mod failure;
mod args;
mod backend;
mod bot;
mod commands;
mod credential;
mod policy;
mod policytest;
mod render;
mod table;
mod watch;

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use azure_core::{cloud::CloudConfiguration, credentials::TokenCredential};
use azure_customer_lockbox::{CustomerLockboxClient, CustomerLockboxClientOptions, Error, StaticTokenCredential};
use clap::{CommandFactory, FromArgMatches, ValueEnum};

use crate::{
    args::{Cli, Cloud, Command, OperationsCommand, PolicyCommand, Service},
    backend::Backend,
    output::{Format, Output},
};
pub(crate) use failure::*;

const EMULATOR_SUBSCRIPTION: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

/// Where the commands run: a client, the requests backend, and the emulator if one is embedded.
pub(crate) struct Session {
    pub(crate) client: CustomerLockboxClient,
    /// The scope: empty for every subscription the credential can see.
    pub(crate) subscriptions: Vec<String>,
    pub(crate) default_tenant: Option<String>,
    pub(crate) output: Output,
    /// Which credential signs in, as may be said (no secret).
    pub(crate) credential: String,
    /// The embedded emulator, kept running as long as the session.
    _emulator: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl Session {
    pub(crate) fn backend(&self) -> Result<Backend, Error> {
        Backend::new(self.client.clone(), self.subscriptions.clone())
    }
}

/// The options of the command run, given after it or else before it.
struct Resolved {
    service: Service,
    subscriptions: Vec<String>,
    output: Output,
}

/// Merges the options given before the command with those given after it (which win), refusing any given
/// before that does not apply to the command; reads AZURE_SUBSCRIPTION_ID and LOCKBOX_OUTPUT for the commands
/// that take those options, and checks the --query before anything is sent.
fn resolve(cli: &Cli) -> Result<Resolved, Failure> {
    let (given, name) = cli.command.given();
    let (before, applies) = (&cli.service, given.service.is_some());
    let flags = [
        ("--emulator", before.emulator, applies),
        ("--managed-identity", before.managed_identity, applies),
        ("--credential", before.credential.is_some(), applies),
        ("--cloud", before.cloud.is_some(), applies),
        ("--endpoint", before.endpoint.is_some(), applies),
        ("--verbose", before.verbose > 0, applies),
        ("--subscription", !cli.scope.subscriptions.is_empty(), given.scope.is_some()),
        ("--output", cli.output.output.is_some(), given.output.is_some()),
        ("--query", cli.query.query.is_some(), given.query.is_some()),
    ];
    if let Some((flag, ..)) = flags.iter().find(|(_, set, applies)| *set && !applies) {
        return Err(usage(format!("{flag} does not apply to `lockbox {name}` (see `lockbox {name} --help`)")));
    }
    let after = given.service.cloned().unwrap_or_default();
    let service = Service {
        emulator: after.emulator || before.emulator,
        managed_identity: after.managed_identity || before.managed_identity,
        credential: after.credential.or(before.credential),
        cloud: after.cloud.or(before.cloud),
        endpoint: after.endpoint.or_else(|| before.endpoint.clone()),
        verbose: after.verbose.saturating_add(before.verbose),
    };
    let mut subscriptions = given.scope.map(|s| s.subscriptions.clone()).unwrap_or_default();
    if subscriptions.is_empty() {
        subscriptions.clone_from(&cli.scope.subscriptions);
    }
    if given.scope.is_some() && subscriptions.is_empty() {
        let from_env = std::env::var("AZURE_SUBSCRIPTION_ID").unwrap_or_default();
        subscriptions = from_env.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        // An environment variable set for other tools (azd sets it) must not hide the rest of the tenant unnoticed.
        if !subscriptions.is_empty() {
            say!(
                "note: AZURE_SUBSCRIPTION_ID narrows the scope to {}; unset it to cover every subscription the credential can see",
                subscriptions.join(", ")
            );
        }
    }
    let mut format = given.output.and_then(|o| o.output).or(cli.output.output);
    let from_env = std::env::var("LOCKBOX_OUTPUT").ok().filter(|t| !t.trim().is_empty());
    if let (None, Some(_), Some(text)) = (format, given.output, from_env) {
        let parsed = Format::from_str(text.trim(), true);
        format = Some(parsed.map_err(|_| usage(format!("LOCKBOX_OUTPUT={text:?} is not an --output format")))?);
    }
    let query = given.query.and_then(|q| q.query.clone()).or_else(|| cli.query.query.clone());
    if let Some(query) = &query {
        render::check_query(query).map_err(usage)?;
    }
    Ok(Resolved { service, subscriptions, output: Output { format, query } })
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    let resolved = match resolve(&cli) {
        Ok(resolved) => resolved,
        Err(failure) => return failure.report(),
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
    // Each command connects only if it asks a service: completions and a policy test need no login.
    let outcome = match cli.command {
        Command::Requests(command) => match connect(&resolved).await {
            Ok(session) => commands::requests(&session, command).await,
            Err(failure) => Err(failure),
        },
        Command::Tenant(command) => match connect(&resolved).await {
            Ok(session) => commands::tenant(&session, command).await,
            Err(failure) => Err(failure),
        },
        Command::Operations(OperationsCommand::List { .. }) => match connect(&resolved).await {
            Ok(session) => commands::operations(&session).await,
            Err(failure) => Err(failure),
        },
        Command::Policy(PolicyCommand::Run { file, dry_run, explain, once, interval, audit, served, .. }) => {
            match connect(&resolved).await {
                Ok(session) => {
                    let options = bot::RunOptions { dry_run, explain, once, interval };
                    run_policy(&session, &file, audit.as_ref(), options, served).await
                }
                Err(failure) => Err(failure),
            }
        }
        Command::Policy(PolicyCommand::Explain { file, request, .. }) => match policy::Policy::load(&file) {
            // The policy is read before anything is sent: a bad file asks no service.
            Ok(policy) => match connect(&resolved).await {
                Ok(session) => bot::explain_one(&session, &policy, &request).await,
                Err(failure) => Err(failure),
            },
            Err(error) => Err(usage(error)),
        },
        Command::Policy(PolicyCommand::Test { file, cases, require_coverage, .. }) => {
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
    served: args::AsService,
) -> Result<u8, Failure> {
    let policy = policy::Policy::load(file).map_err(usage)?;
    let mut audit = bot::Audit::open(audit, session.output.format, options.dry_run).map_err(usage)?;
    let backend = session.backend()?;
    // botops: the credential is said, and the endpoints, traces and hook start, before the first pass.
    say!("lockbox: policy run: credential: {}", session.credential);
    let hook = match (served.notify_command, served.notify_url) {
        (Some(command), _) => Some(bot::service::Hook::Command(command)),
        (None, Some(url)) => Some(bot::service::Hook::Webhook(url)),
        (None, None) => None,
    };
    let setup = bot::service::Setup { listen: served.listen, hook, interval: options.interval };
    let observer = bot::service::Observer::start(setup).await.map_err(usage)?;
    Ok(bot::run(&backend, &policy, &mut audit, options, &observer).await)
}

/// Starts the embedded emulator with sample data: the client, the emulator's tenant, and the emulator to keep
/// running. The one place the CLI names the emulator.
#[cfg(feature = "emulator")]
async fn embedded_emulator() -> Result<(CustomerLockboxClient, String, Box<dyn std::any::Any + Send + Sync>), Failure> {
    use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
    let emulator =
        Emulator::start(EmulatorConfig::default().with_transition_delay(std::time::Duration::from_millis(300)))
            .await
            .map_err(|e| usage(format!("cannot start the emulator: {e}")))?;
    emulator.sample_data(EMULATOR_SUBSCRIPTION);
    emulator.set_tenant_opted_in(emulator.default_tenant_id(), true);
    say!(
        "lockbox: using the embedded emulator at {} with sample data in subscription {EMULATOR_SUBSCRIPTION}",
        emulator.url()
    );
    let client = CustomerLockboxClient::new(
        crate::credential::watched(StaticTokenCredential::new("lockbox-cli")),
        Some(CustomerLockboxClientOptions {
            application_id: Some("lockbox-cli".into()),
            ..CustomerLockboxClientOptions::for_endpoint(emulator.url())?
        }),
    )?;
    let tenant = emulator.default_tenant_id().to_owned();
    Ok((client, tenant, Box::new(emulator)))
}

/// The tenant a standalone emulator answers for by default.
#[cfg(feature = "emulator")]
fn emulator_tenant() -> Option<String> {
    Some(azure_customer_lockbox_emulator::DEFAULT_TENANT_ID.to_owned())
}

/// Without the embedded emulator, its default tenant is not known here: the emulator prints it when it starts.
#[cfg(not(feature = "emulator"))]
fn emulator_tenant() -> Option<String> {
    None
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

async fn connect(resolved: &Resolved) -> Result<Session, Failure> {
    let (options, output) = (&resolved.service, resolved.output.clone());
    let mut subscriptions = resolved.subscriptions.clone();
    let loopback = options.endpoint.as_ref().and_then(|u| u.host_str()).is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h == "[::1]"
    });
    if let Some(endpoint) = &options.endpoint {
        let _ = ENDPOINT.set((endpoint.clone(), loopback));
    }
    if options.emulator && options.endpoint.is_none() {
        let (client, tenant, emulator) = embedded_emulator().await?;
        if subscriptions.is_empty() {
            subscriptions.push(EMULATOR_SUBSCRIPTION.to_owned());
        }
        let credential = "the embedded emulator's (any token)".to_owned();
        return Ok(Session {
            client,
            subscriptions,
            default_tenant: Some(tenant),
            output,
            credential,
            _emulator: Some(emulator),
        });
    }
    let (cloud, credential, said): (_, Arc<dyn TokenCredential>, _) = if options.emulator {
        if !loopback {
            return Err(usage("--emulator with --endpoint talks to an emulator on this machine only".into()));
        }
        // The emulator takes any token and speaks as the public cloud; `endpoint` below points at it.
        let said = "the standalone emulator's (any token)".to_owned();
        (CloudConfiguration::AzurePublic, credential::watched(StaticTokenCredential::new("lockbox-cli")), said)
    } else {
        // An explicit endpoint keeps the cloud's audience; the same value configures the credential's authority.
        let cloud = match options.cloud.unwrap_or(Cloud::Public) {
            Cloud::Public => CloudConfiguration::AzurePublic,
            Cloud::China => CloudConfiguration::AzureChina,
            Cloud::UsGov => CloudConfiguration::AzureGovernment,
        };
        // botops: chosen from --credential (or --managed-identity) or the environment, as Azure's default chain.
        let requested = options.credential.or(options.managed_identity.then_some(credential::Kind::ManagedIdentity));
        let choice = credential::choose(requested, &|name| std::env::var(name).ok()).map_err(usage)?;
        let made = choice.build(options.cloud.map(|_| &cloud)).map_err(Error::Credential)?;
        (cloud, credential::watched(made), choice.describe())
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
        // A standalone emulator's tenant is its default one (it prints it when it starts).
        default_tenant: std::env::var("AZURE_TENANT_ID")
            .ok()
            .or_else(|| options.emulator.then(emulator_tenant).flatten()),
        output,
        credential: said,
        _emulator: None,
    })
}
