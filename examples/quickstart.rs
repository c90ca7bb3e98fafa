//! Quick start: list pending Customer Lockbox requests, approve one, deny another, wait for the decisions, and
//! show the tenant's opt-in state.
//!
//! ```sh
//! cargo run --example quickstart                      # against the embedded emulator, with sample requests
//! AZURE_SUBSCRIPTION_ID=<sub> AZURE_TENANT_ID=<tenant> \
//!   cargo run --example quickstart -- --azure [--approve ID] [--deny ID]   # against Azure (az login first)
//! ```
//!
//! Against Azure nothing is decided unless you name the requests with `--approve` / `--deny`. Everything
//! below the connection setup uses only the public SDK, so it runs unchanged against either.

use std::{sync::Arc, time::Duration};

use azure_core::credentials::TokenCredential;
use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, StaticTokenCredential,
    models::LockboxRequestResponse,
    options::{RequestsListOptions, WaiterOptions},
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Customer Lockbox quick start: list, approve, deny, wait, show tenant opt-in")]
struct Args {
    /// Use Azure Resource Manager with `DeveloperToolsCredential` instead of the embedded emulator.
    #[arg(long)]
    azure: bool,
    /// Subscription whose requests to list (Azure mode).
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID")]
    subscription: Option<String>,
    /// Tenant whose opt-in state to show (Azure mode).
    #[arg(long, env = "AZURE_TENANT_ID")]
    tenant: Option<String>,
    /// Request to approve. With the emulator, the oldest pending request by default.
    #[arg(long)]
    approve: Option<String>,
    /// Request to deny. With the emulator, the second-oldest pending request by default.
    #[arg(long)]
    deny: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // The emulator (kept alive until the end of main) or Azure.
    let (_emulator, client, subscription, tenant) = if args.azure {
        let subscription = args.subscription.clone().ok_or("--azure needs AZURE_SUBSCRIPTION_ID or --subscription")?;
        let tenant = args.tenant.clone().ok_or("--azure needs AZURE_TENANT_ID or --tenant")?;
        let credential: Arc<dyn TokenCredential> = azure_identity::DeveloperToolsCredential::new(None)?;
        (None, CustomerLockboxClient::new(credential, None)?, subscription, tenant)
    } else {
        let emulator =
            Emulator::start(EmulatorConfig::default().with_transition_delay(Duration::from_millis(400))).await?;
        let subscription = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21".to_owned();
        emulator.sample_data(&subscription);
        let tenant = emulator.default_tenant_id().to_owned();
        emulator.set_tenant_opted_in(&tenant, true);
        eprintln!("Using the embedded Customer Lockbox emulator at {} (pass --azure for Azure).", emulator.url());
        let options = CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint");
        let client = CustomerLockboxClient::new(StaticTokenCredential::new("emulator-token"), Some(options))?;
        (Some(emulator), client, subscription, tenant)
    };

    let requests = client.requests(&subscription)?;

    // 1. What is waiting for a decision?
    let pending = requests.list(Some(RequestsListOptions::pending())).try_collect().await?;
    println!("Pending Customer Lockbox requests in subscription {subscription}:");
    print_table(&pending);

    // 2. Decide: explicitly named requests, or (emulator only) the two oldest pending ones.
    let ids: Vec<String> = pending.iter().filter_map(|r| r.request_id().map(str::to_owned)).collect();
    let (to_approve, to_deny) = if args.azure {
        (args.approve.clone(), args.deny.clone())
    } else {
        (args.approve.clone().or_else(|| ids.first().cloned()), args.deny.clone().or_else(|| ids.get(1).cloned()))
    };
    let mut decided = Vec::new();
    if let Some(id) = &to_approve {
        requests.approve(id, "Approved for the open support case; read access only.", None).await?;
        println!("\nApproved {id}.");
        decided.push(id.clone());
    }
    if let Some(id) = &to_deny {
        requests.deny(id, "Denied: change freeze until Monday; please reopen after.", None).await?;
        println!("Denied {id}.");
        decided.push(id.clone());
    }

    // 3. Wait for the decisions to take effect (Approving -> Approved, Denying -> Denied), showing each status.
    let wait = WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(120)) };
    for id in &decided {
        let mut poller = requests.wait_for_decision(id, Some(wait.clone()))?;
        while let Some(status) = poller.try_next().await? {
            println!("  {id}: {status}");
        }
        let request = poller.await?;
        println!("{id} is now {}.", request.status().map_or("unknown".into(), ToString::to_string));
    }

    // 4. The tenant's opt-in state.
    let opted_in = client.tenant().is_opted_in(&tenant, None).await?;
    println!("\nTenant {tenant}: Customer Lockbox is {}.", if opted_in { "on" } else { "off" });

    println!(
        "\nDone: listed {} pending request(s), approved {}, denied {}.",
        pending.len(),
        usize::from(to_approve.is_some()),
        usize::from(to_deny.is_some())
    );
    Ok(())
}

fn print_table(requests: &[LockboxRequestResponse]) {
    println!("{:<38} {:<9} {:<17} {:<17} {:<16} JUSTIFICATION", "ID", "STATUS", "CREATED", "EXPIRES", "RESOURCE TYPE");
    for request in requests {
        let p = request.properties.clone().unwrap_or_default();
        let time =
            |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string());
        let mut why = p.justification.unwrap_or_default();
        if why.chars().count() > 60 {
            why = why.chars().take(59).collect::<String>() + "…";
        }
        println!(
            "{:<38} {:<9} {:<17} {:<17} {:<16} {}",
            request.request_id().unwrap_or("-"),
            p.status.map_or("-".into(), |s| s.to_string()),
            time(p.created_date_time),
            time(p.expiration_date_time),
            p.resource_type.unwrap_or_default(),
            why
        );
    }
    if requests.is_empty() {
        println!("(none)");
    }
}
