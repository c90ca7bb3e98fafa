//! `lockbox`: a command-line tool for answering Customer Lockbox requests, built only on the public SDK.
//!
//! ```sh
//! cargo run --example lockbox -- requests list --status pending
//! cargo run --example lockbox -- requests approve <ID> --reason "read access for case 123" --wait
//! cargo run --example lockbox -- requests watch --interval 30s
//! cargo run --example lockbox -- tenant status
//! cargo run --example lockbox -- --help
//! ```
//!
//! With no Azure configuration (no `--subscription`, no `AZURE_SUBSCRIPTION_ID`) it starts the embedded emulator
//! with sample data and says so on stderr; each run then starts from the same sample requests. To keep state
//! between commands, run the standalone emulator (`cargo run -p azure_customer_lockbox_emulator -- --port 8080 --sample-subscription
//! <GUID>`) and pass `--endpoint http://127.0.0.1:8080/ --subscription <GUID>`.
//!
//! Exit status: 0 success, 2 usage error (bad arguments or input), 3 not found, 4 refused by the service (conflict,
//! forbidden, throttled, server error), 5 could not reach the service or authenticate.

use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use azure_core::{cloud::CloudConfiguration, credentials::TokenCredential};
use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, PollerOptions, RequestFilter, RequestsListOptions,
    StaticTokenCredential, Watch, WatchEvent, WatchOptions,
    models::{LockboxRequestResponse, LockboxRequestStatus},
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures::StreamExt;

const EXIT_USAGE: u8 = 2;
const EXIT_NOT_FOUND: u8 = 3;
const EXIT_SERVICE: u8 = 4;
const EXIT_CONNECTION: u8 = 5;
const EMULATOR_SUBSCRIPTION: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

#[derive(Parser)]
#[command(
    name = "lockbox",
    about = "Review, approve and deny Azure Customer Lockbox requests",
    after_help = "Exit status: 0 success, 2 usage error, 3 not found, 4 refused by the service, 5 connection or \
                  authentication failure.\nWithout --subscription or AZURE_SUBSCRIPTION_ID, an embedded emulator with \
                  sample data is used."
)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Connection {
    /// Use the embedded emulator with sample data (the default when no Azure configuration is present).
    #[arg(long, global = true)]
    emulator: bool,
    /// Subscription(s) to work on; repeat for several. Also read from AZURE_SUBSCRIPTION_ID.
    #[arg(long = "subscription", global = true, env = "AZURE_SUBSCRIPTION_ID", value_delimiter = ',')]
    subscriptions: Vec<String>,
    /// Authenticate with the managed identity of the machine instead of developer tools (Azure CLI / azd).
    #[arg(long, global = true)]
    managed_identity: bool,
    /// Azure cloud.
    #[arg(long, global = true, value_enum, default_value_t = Cloud::Public)]
    cloud: Cloud,
    /// A Resource Manager endpoint of your own, such as a standalone emulator (loopback endpoints get a test token).
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
}

#[derive(Subcommand)]
enum RequestsCommand {
    /// List requests, optionally only those in one status.
    List {
        /// Only requests in this status (pending, approved, denied, expired, ...; any letter case).
        #[arg(long, value_parser = parse_status)]
        status: Option<LockboxRequestStatus>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Show one request in full.
    Show {
        /// The request id.
        id: String,
    },
    /// Approve a pending request.
    Approve(Decision),
    /// Deny a pending request.
    Deny(Decision),
    /// Print each new or changed request as it happens, until Ctrl-C.
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
    },
}

#[derive(Args)]
struct Decision {
    /// The request id.
    id: String,
    /// Why; shown to the engineer and kept in the audit log.
    #[arg(long)]
    reason: String,
    /// Wait until the decision is final (Approved or Denied), showing its progress.
    #[arg(long)]
    wait: bool,
}

#[derive(Subcommand)]
enum TenantCommand {
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

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Output {
    Table,
    Json,
}

/// Where the commands run: a client, the subscriptions, and the emulator if one is embedded.
struct Session {
    client: CustomerLockboxClient,
    subscriptions: Vec<String>,
    default_tenant: Option<String>,
    _emulator: Option<Emulator>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.connection.verbose {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("azure_customer_lockbox=debug"))
            .with_writer(std::io::stderr)
            .init();
    }
    let session = match connect(&cli.connection).await {
        Ok(session) => session,
        Err(error) => return fail(&error),
    };
    let outcome = match cli.command {
        Command::Requests(command) => requests(&session, command).await,
        Command::Tenant(command) => tenant(&session, command).await,
        Command::Operations(OperationsCommand::List) => operations(&session).await,
    };
    match outcome {
        Ok(code) => code,
        Err(error) => fail(&error),
    }
}

async fn connect(options: &Connection) -> Result<Session, Error> {
    let embedded = options.emulator || (options.subscriptions.is_empty() && options.endpoint.is_none());
    if embedded {
        let emulator = Emulator::start(EmulatorConfig::default().with_transition_delay(Duration::from_millis(300)))
            .await
            .map_err(|e| Error::Configuration(format!("cannot start the emulator: {e}")))?;
        emulator.sample_data(EMULATOR_SUBSCRIPTION);
        emulator.set_tenant_opted_in(emulator.default_tenant_id(), true);
        eprintln!(
            "lockbox: using the embedded emulator at {} with sample data in subscription {EMULATOR_SUBSCRIPTION}",
            emulator.url()
        );
        let client = CustomerLockboxClient::new(
            Arc::new(StaticTokenCredential::new("lockbox-cli")),
            Some(CustomerLockboxClientOptions::for_endpoint(emulator.url().clone())),
        )?;
        return Ok(Session {
            client,
            subscriptions: vec![EMULATOR_SUBSCRIPTION.to_owned()],
            default_tenant: Some(emulator.default_tenant_id().to_owned()),
            _emulator: Some(emulator),
        });
    }
    // An explicit endpoint keeps the cloud's audience; the same value configures the credential's authority.
    let cloud = match options.cloud {
        Cloud::Public => CloudConfiguration::AzurePublic,
        Cloud::China => CloudConfiguration::AzureChina,
        Cloud::UsGov => CloudConfiguration::AzureGovernment,
    };
    let loopback = options.endpoint.as_ref().and_then(|u| u.host_str()).is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h == "[::1]"
    });
    let credential: Arc<dyn TokenCredential> = if loopback {
        Arc::new(StaticTokenCredential::new("lockbox-cli"))
    } else if options.managed_identity {
        azure_identity::ManagedIdentityCredential::new(None).map_err(Error::Credential)?
    } else {
        azure_identity::DeveloperToolsCredential::new(None).map_err(Error::Credential)?
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
        subscriptions: options.subscriptions.clone(),
        default_tenant: std::env::var("AZURE_TENANT_ID").ok(),
        _emulator: None,
    })
}

async fn requests(session: &Session, command: RequestsCommand) -> Result<ExitCode, Error> {
    let first = || session.client.requests(&session.subscriptions[0]);
    match command {
        RequestsCommand::List { status, output } => {
            let filter = status.map(RequestFilter::status);
            let mut all = Vec::new();
            for subscription in &session.subscriptions {
                let options = RequestsListOptions { filter: filter.clone(), ..Default::default() };
                let mut pager = session.client.requests(subscription)?.list(Some(options));
                while let Some(request) = pager.try_next().await? {
                    if output == Output::Json {
                        println!("{}", serde_json::to_string(&request).unwrap_or_default());
                    } else {
                        all.push(request);
                    }
                }
            }
            if output == Output::Table {
                print_table(&all);
            }
        }
        RequestsCommand::Show { id } => {
            let request = first()?.get(&id).await?;
            println!("{}", serde_json::to_string_pretty(&request).unwrap_or_default());
        }
        RequestsCommand::Watch { interval, status, only_changes } => {
            let options = WatchOptions {
                interval,
                filter: status.map(RequestFilter::status),
                emit_existing: !only_changes,
                ..Default::default()
            };
            let mut watches: Vec<Watch> = Vec::new();
            for subscription in &session.subscriptions {
                watches.push(session.client.requests(subscription)?.watch(options.clone()));
            }
            let mut events = futures::stream::select_all(watches);
            let stop = tokio::signal::ctrl_c();
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    event = events.next() => match event {
                        Some(event) => print_event(&event),
                        None => break,
                    },
                }
            }
        }
        RequestsCommand::Approve(decision) => decide(session, decision, true).await?,
        RequestsCommand::Deny(decision) => decide(session, decision, false).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(session: &Session, decision: Decision, approve: bool) -> Result<(), Error> {
    let requests = session.client.requests(&session.subscriptions[0])?;
    if approve {
        requests.approve(&decision.id, &decision.reason).await?;
    } else {
        requests.deny(&decision.id, &decision.reason).await?;
    }
    let verb = if approve { "approved" } else { "denied" };
    if !decision.wait {
        println!("{}: {verb}", decision.id);
        return Ok(());
    }
    let options = PollerOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(600)) };
    let mut poller = requests.wait_for_decision(&decision.id, Some(options))?;
    let spinner = ['|', '/', '-', '\\'];
    let tty = std::io::stderr().is_terminal();
    let mut ticks = 0usize;
    while let Some(status) = poller.try_next().await? {
        if tty {
            eprint!("\r{} {}: {status}   ", spinner[ticks % spinner.len()], decision.id);
            let _ = std::io::stderr().flush();
            ticks += 1;
        } else {
            eprintln!("{}: {status}", decision.id);
        }
    }
    if tty {
        eprintln!();
    }
    let request = poller.await?;
    println!("{}: {}", decision.id, request.status().map_or("Unknown".into(), ToString::to_string));
    Ok(())
}

async fn tenant(session: &Session, command: TenantCommand) -> Result<ExitCode, Error> {
    let tenants = session.client.tenant();
    match command {
        TenantCommand::Status { tenant_id } => {
            let Some(tenant) = tenant_id.or_else(|| session.default_tenant.clone()) else {
                return Err(Error::InvalidArgument {
                    name: "tenant_id",
                    reason: "give a tenant id or set AZURE_TENANT_ID".into(),
                });
            };
            let on = tenants.is_opted_in(&tenant).await?;
            println!("{tenant}: Customer Lockbox is {}", if on { "on" } else { "off" });
        }
        TenantCommand::Enable { yes } | TenantCommand::Disable { yes } if !yes && !confirm()? => {
            eprintln!("lockbox: cancelled");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
        TenantCommand::Enable { .. } => {
            tenants.enable().await?;
            println!("Customer Lockbox is on for your tenant");
        }
        TenantCommand::Disable { .. } => {
            tenants.disable().await?;
            println!("Customer Lockbox is off for your tenant");
        }
    }
    Ok(ExitCode::SUCCESS)
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

/// Asks on stderr, reads stdin: true only for "y" or "yes".
fn confirm() -> Result<bool, Error> {
    eprint!("This changes Customer Lockbox for your whole tenant. Continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| Error::Configuration(format!("cannot read stdin: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

async fn operations(session: &Session) -> Result<ExitCode, Error> {
    let mut pager = session.client.operations().list(None);
    while let Some(operation) = pager.try_next().await? {
        let display = operation.display.unwrap_or_default();
        println!(
            "{:<55} {}",
            operation.name.unwrap_or_default(),
            display.description.or(display.operation).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per watch event, with the time it was seen.
fn print_event(event: &WatchEvent) {
    let now = chrono::Utc::now().format("%H:%M:%S");
    let summary = |request: &LockboxRequestResponse| {
        let p = request.properties.clone().unwrap_or_default();
        let mut why = p.justification.unwrap_or_default().replace(['\n', '\r'], " ");
        if why.chars().count() > 60 {
            why = why.chars().take(59).collect::<String>() + "…";
        }
        format!("{} [{}] {why}", p.resource_type.unwrap_or_default(), p.support_request.unwrap_or_default())
    };
    match event {
        WatchEvent::New(request) => println!(
            "{now} new      {} {} {}",
            request.request_id().unwrap_or("-"),
            request.status().map_or("-".into(), ToString::to_string),
            summary(request)
        ),
        WatchEvent::StatusChanged { request, old, new } => {
            println!("{now} changed  {} {old} -> {new}", request.request_id().unwrap_or("-"))
        }
        WatchEvent::Removed { request_id } => println!("{now} removed  {request_id}"),
        WatchEvent::Error(error) => eprintln!("{now} lockbox: listing failed, still watching: {error}"),
        other => println!("{now} {other:?}"),
    }
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
        "m" => Duration::from_secs(value * 60),
        "h" => Duration::from_secs(value * 3600),
        _ => return Err(format!("unknown unit {unit:?}; use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("the interval must be more than zero".into());
    }
    Ok(duration)
}

fn print_table(requests: &[LockboxRequestResponse]) {
    let width: usize = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(160);
    let fixed = 38 + 10 + 17 + 17 + 17 + 17 + 6;
    let room = width.saturating_sub(fixed).max(20);
    println!(
        "{:<38} {:<10} {:<17} {:<17} {:<17} {:<17} JUSTIFICATION",
        "ID", "STATUS", "CREATED", "EXPIRES", "RESOURCE TYPE", "SUPPORT TICKET"
    );
    for request in requests {
        let p = request.properties.clone().unwrap_or_default();
        let time =
            |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string());
        let mut why = p.justification.unwrap_or_default().replace(['\n', '\r'], " ");
        if why.chars().count() > room {
            why = why.chars().take(room - 1).collect::<String>() + "…";
        }
        println!(
            "{:<38} {:<10} {:<17} {:<17} {:<17} {:<17} {why}",
            request.request_id().unwrap_or("-"),
            p.status.map_or("-".into(), |s| s.to_string()),
            time(p.created_date_time),
            time(p.expiration_date_time),
            p.resource_type.unwrap_or_default(),
            p.support_request.unwrap_or_default(),
        );
    }
    if requests.is_empty() {
        println!("(no requests)");
    }
}

/// Prints one readable line for an error and picks the exit status.
fn fail(error: &Error) -> ExitCode {
    let code = match error {
        Error::InvalidArgument { .. } | Error::Configuration(_) => EXIT_USAGE,
        Error::Service(service) if service.status.as_u16() == 404 => EXIT_NOT_FOUND,
        Error::Service(_) | Error::DecisionConflict { .. } | Error::Decode { .. } | Error::OperationFailed { .. } => {
            EXIT_SERVICE
        }
        _ => EXIT_CONNECTION,
    };
    match error.service_error() {
        Some(service) => {
            let message =
                service.error.as_ref().and_then(|e| e.message.clone()).unwrap_or_else(|| service.status.to_string());
            eprintln!(
                "lockbox: error: {} {}: {} (request id {})",
                service.status.as_u16(),
                error.code().unwrap_or("-"),
                message.replace('\n', " "),
                error.request_id().unwrap_or("-")
            );
        }
        None => eprintln!("lockbox: error: {}", error.to_string().replace('\n', " ")),
    }
    ExitCode::from(code)
}
