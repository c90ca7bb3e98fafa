//! Standalone Customer Lockbox emulator: serves the ARM API on 127.0.0.1 until Ctrl-C.
//!
//! ```text
//! cargo run -p azure_customer_lockbox_emulator -- --port 8080 --sample-subscription 0b1f6471-1bf0-4dda-aec3-cb9272f09590
//! ```
//!
//! Steer it over its admin API (no auth), e.g.
//! `curl -X POST localhost:8080/_emulator/clock/advance -d '{"seconds":3600}'`; see the crate docs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, NewSubscription, RequestBudget, TenantSeed,
};
use clap::Parser;

/// Customer Lockbox ARM emulator (Microsoft.CustomerLockbox, api-version 2018-02-28-preview).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "LOCKBOX_EMULATOR_PORT", default_value_t = 8080)]
    port: u16,
    /// Seed file: {"tenants":{"TENANT_ID":true},"requests":[{"subscriptionId":"..","status":"Pending",..}]}.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Create six realistic sample requests in this subscription, and list it in `GET /subscriptions`.
    #[arg(long, value_name = "GUID", value_parser = subscription_id)]
    sample_subscription: Vec<String>,
    /// Items per page of the list operations.
    #[arg(long, default_value_t = 50)]
    page_size: usize,
    /// Seconds a decided request stays Approving/Denying (emulator clock).
    #[arg(long, default_value_t = 0)]
    transition_delay_secs: u64,
    /// Answer the POST actions as long-running operations lasting this many seconds.
    #[arg(long, value_name = "SECONDS")]
    async_operations: Option<u64>,
    /// Seed this many subscriptions (listed by `GET /subscriptions`), each with `--requests-per-subscription`
    /// Pending requests.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed_subscriptions: usize,
    /// Pending requests in each seeded subscription.
    #[arg(long, value_name = "M", default_value_t = 20)]
    requests_per_subscription: usize,
    /// Of the seeded subscriptions, how many the caller may not read (403 AuthorizationFailed).
    #[arg(long, default_value_t = 0)]
    forbidden_subscriptions: usize,
    /// Of the seeded subscriptions, how many have the provider unregistered (409 MissingSubscriptionRegistration).
    #[arg(long, default_value_t = 0)]
    unregistered_subscriptions: usize,
    /// Of the seeded subscriptions, how many are Disabled.
    #[arg(long, default_value_t = 0)]
    disabled_subscriptions: usize,
    /// Add this latency to every ARM answer: milliseconds, `MS` or `MIN-MAX` (e.g. `20-50`).
    #[arg(long, value_name = "MS[-MS]", value_parser = parse_latency)]
    latency_ms: Option<(u64, u64)>,
    /// Per-principal request budget: at most this many ARM requests per `--budget-window-secs` (then 429).
    #[arg(long, value_name = "N")]
    request_budget: Option<u32>,
    /// The request budget's window, in seconds.
    #[arg(long, default_value_t = 1)]
    budget_window_secs: u64,
}

fn parse_latency(text: &str) -> Result<(u64, u64), String> {
    let number = |s: &str| s.trim().parse::<u64>().map_err(|e| format!("'{s}' is not a number of milliseconds: {e}"));
    let (lo, hi) = match text.split_once('-') {
        Some((lo, hi)) => (number(lo)?, number(hi)?),
        None => (number(text)?, number(text)?),
    };
    if lo > hi { Err(format!("{lo}-{hi}: the minimum is above the maximum")) } else { Ok((lo, hi)) }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = EmulatorConfig {
        port: args.port,
        page_size: args.page_size,
        transition_delay: Duration::from_secs(args.transition_delay_secs),
        async_operations: args
            .async_operations
            .map(|secs| AsyncOperations { duration: Duration::from_secs(secs), ..AsyncOperations::default() }),
        request_budget: args
            .request_budget
            .map(|requests| RequestBudget { requests, per: Duration::from_secs(args.budget_window_secs.max(1)) }),
        latency: args.latency_ms.map(|(lo, hi)| Duration::from_millis(lo)..=Duration::from_millis(hi)),
        ..EmulatorConfig::default()
    };
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot start the emulator on 127.0.0.1:{}: {error}", args.port);
            return ExitCode::FAILURE;
        }
    };
    // Lockbox requests exist only for a tenant that opted in: an emulator that serves requests says its default
    // tenant is on (a seed file's `tenants`, applied next, may say otherwise).
    if args.seed.is_some() || !args.sample_subscription.is_empty() || args.seed_subscriptions > 0 {
        emulator.set_tenant_opted_in(emulator.default_tenant_id(), true);
    }
    if let Some(path) = &args.seed
        && let Err(error) = emulator.seed_from_file(path)
    {
        eprintln!("error: cannot load the seed file {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    for subscription in &args.sample_subscription {
        // Listed, so that a tenant-wide caller (the CLI without --subscription) finds the sample requests.
        emulator.add_subscription(NewSubscription::new(subscription.clone()));
        let ids = emulator.sample_data(subscription);
        println!("Seeded {} sample requests in subscription {subscription}", ids.len());
    }
    if args.seed_subscriptions > 0 {
        let ids = emulator.seed_tenant(&TenantSeed {
            subscriptions: args.seed_subscriptions,
            requests_per_subscription: args.requests_per_subscription,
            forbidden: args.forbidden_subscriptions,
            unregistered: args.unregistered_subscriptions,
            disabled: args.disabled_subscriptions,
            ..TenantSeed::default()
        });
        println!(
            "Seeded {} subscriptions with {} requests each (first {})",
            ids.len(),
            args.requests_per_subscription,
            ids.first().map_or("-", String::as_str)
        );
    }
    println!("Customer Lockbox emulator listening on {}", emulator.url());
    println!("Default tenant: {}", emulator.default_tenant_id());

    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {error}");
    }
    println!("Shutting down");
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

/// A subscription id as Azure writes one: a GUID (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hexadecimal digits).
fn subscription_id(text: &str) -> Result<String, String> {
    let groups: Vec<&str> = text.split('-').collect();
    let shape = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    if shape && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(text.to_owned())
    } else {
        Err("a subscription id is a GUID, such as 0b1f6471-1bf0-4dda-aec3-cb9272f09590".to_owned())
    }
}
