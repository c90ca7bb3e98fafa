//! Tenant-wide review at the scale of a large tenant, against the in-process emulator.
//!
//! ```sh
//! cargo run --release --example tenant_scale
//! ```
//!
//! Seeds 1,000 subscriptions (3 forbidden, 1 without the resource provider registered, 10 disabled) holding
//! 20,000 `Pending` requests, with 20 ms of added latency on every answer, and lists every pending request
//! tenant-wide (`CustomerLockboxClient::all_requests`, default concurrency), then one subscription after
//! another (`RequestsClient::list` of the pending requests over the same subscriptions, timed in full), and prints:
//!
//! `tenant: 1000 subscriptions, <n> requests, <t1> s concurrent, <t2> s sequential, <r>x speedup, peak RSS <m> MiB, <f> failed subscriptions reported, 0 lost`
//!
//! `lost` is computed: the seeded requests of readable, active subscriptions (20 each) that were not listed
//! exactly once; every request listed is checked against the emulator's own state. Then the emulator's
//! per-principal request budget is switched on (200 requests a second) and the readable subscriptions are
//! listed again tenant-wide, which must finish with no failure because the `429`s' waits were honoured (and
//! shared between the listings):
//!
//! `tenant throttled: <n> requests, <k> throttled answers, <t> s, 0 failed, 0 lost`
//!
//! Peak RSS is `VmHWM` of this process, which also holds the emulator and its 20,000 requests. The example exits
//! with an error when a goal is missed (speedup >= 10x, peak RSS < 64 MiB, every forbidden or unregistered
//! subscription reported, 0 lost, 0 failed when throttled).

mod measure;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, RequestFilter, StaticTokenCredential,
    every_subscription::{AllRequestsItem, AllRequestsSummary, FailureKind},
    models::LockboxRequestStatus,
    options::{AllRequestsOptions, RequestsListOptions},
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, RequestBudget, TenantSeed};

const SUBSCRIPTIONS: usize = 1000;
const PER_SUBSCRIPTION: usize = 20;
const FORBIDDEN: usize = 3;
const UNREGISTERED: usize = 1;
const DISABLED: usize = 10;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let emulator = Emulator::start(EmulatorConfig::default()).await?;
    let seed = TenantSeed {
        subscriptions: SUBSCRIPTIONS,
        requests_per_subscription: PER_SUBSCRIPTION,
        forbidden: FORBIDDEN,
        unregistered: UNREGISTERED,
        disabled: DISABLED,
        ..Default::default()
    };
    let seeding = Instant::now();
    let ids = emulator.seed_tenant(&seed);
    eprintln!(
        "seeded {SUBSCRIPTIONS} subscriptions with {} requests in {:.2} s (one seed_tenant call)",
        SUBSCRIPTIONS * PER_SUBSCRIPTION,
        seeding.elapsed().as_secs_f64()
    );
    // Layout order: forbidden, unregistered, disabled, then enabled and readable ones.
    let unreadable: HashSet<&str> = ids[..FORBIDDEN + UNREGISTERED].iter().map(String::as_str).collect();
    let readable: Vec<String> = ids[FORBIDDEN + UNREGISTERED + DISABLED..].to_vec();
    emulator.set_latency(Some(Duration::from_millis(20)..=Duration::from_millis(20)));

    let options = CustomerLockboxClientOptions::for_endpoint(emulator.url()).expect("endpoint");
    let client = CustomerLockboxClient::new(StaticTokenCredential::new("tenant-scale"), Some(options))?;
    let pending = || AllRequestsOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending));

    // Tenant-wide, concurrently.
    let sent = emulator.requests_received();
    let started = Instant::now();
    let (listed, summary) = list_tenant(&client, pending()).await?;
    let concurrent = started.elapsed();
    eprintln!(
        "concurrent pass done in {concurrent:?}: {} ARM requests, {} listed, {:?} failed",
        emulator.requests_received() - sent,
        listed.len(),
        summary.failed
    );
    let lost_count = lost(&emulator, &readable, &listed);
    let reported: HashSet<&str> = summary
        .failed
        .iter()
        .filter(|(_, kind)| matches!(kind, FailureKind::Forbidden | FailureKind::NotRegistered))
        .map(|(id, _)| id.as_str())
        .collect();

    // One subscription after another, over the subscriptions the tenant-wide pass listed.
    let sent = emulator.requests_received();
    let started = Instant::now();
    let mut sequential_count = 0;
    let mut subscriptions = client.subscriptions().list(None);
    while let Some(subscription) = subscriptions.try_next().await? {
        let (Some(id), Some(state)) = (subscription.subscription_id, subscription.state) else { continue };
        if !state.is_active() {
            continue;
        }
        let mut requests = client.requests(&id)?.list(Some(RequestsListOptions::pending()));
        loop {
            match requests.try_next().await {
                Ok(Some(_)) => sequential_count += 1,
                Ok(None) => break,
                // The forbidden and unregistered subscriptions fail here too; the pass goes on.
                Err(_) => break,
            }
        }
    }
    let sequential = started.elapsed();
    eprintln!("sequential pass done in {sequential:?}: {} ARM requests", emulator.requests_received() - sent);
    let speedup = sequential.as_secs_f64() / concurrent.as_secs_f64();
    let peak_mib = measure::peak_rss_kib().unwrap_or(0) as f64 / 1024.0;
    println!(
        "tenant: {SUBSCRIPTIONS} subscriptions, {} requests, {:.2} s concurrent, {:.2} s sequential, {speedup:.1}x speedup, peak RSS {peak_mib:.1} MiB, {} failed subscriptions reported, {lost_count} lost",
        listed.len(),
        concurrent.as_secs_f64(),
        sequential.as_secs_f64(),
        reported.len(),
    );

    // Throttled: the request budget on, the readable subscriptions listed again.
    emulator.set_request_budget(Some(RequestBudget { requests: 200, per: Duration::from_secs(1) }));
    let before = emulator.throttled_by_budget();
    let started = Instant::now();
    let options = AllRequestsOptions { subscriptions: Some(readable.clone()), ..pending() };
    let (throttled_listed, throttled_summary) = list_tenant(&client, options).await?;
    let throttled_time = started.elapsed();
    let throttled_lost = lost(&emulator, &readable, &throttled_listed);
    println!(
        "tenant throttled: {} requests, {} throttled answers, {:.2} s, {} failed, {throttled_lost} lost",
        throttled_listed.len(),
        emulator.throttled_by_budget() - before,
        throttled_time.as_secs_f64(),
        throttled_summary.failed.len(),
    );
    emulator.shutdown().await;

    let mut missed = Vec::new();
    if speedup < 10.0 {
        missed.push(format!("speedup {speedup:.1}x < 10x"));
    }
    if peak_mib >= 64.0 {
        missed.push(format!("peak RSS {peak_mib:.1} MiB >= 64 MiB"));
    }
    if reported != unreadable {
        missed.push(format!("reported {} of {} unreadable subscriptions", reported.len(), unreadable.len()));
    }
    if sequential_count != listed.len() {
        missed.push(format!("the sequential pass listed {sequential_count}, the concurrent one {}", listed.len()));
    }
    if lost_count != 0 || throttled_lost != 0 || !throttled_summary.failed.is_empty() {
        missed.push("requests lost or listings failed".into());
    }
    if missed.is_empty() { Ok(()) } else { Err(missed.join("; ").into()) }
}

/// Lists tenant-wide; gives every (subscription, request id) listed, duplicates kept, and the summary.
async fn list_tenant(
    client: &CustomerLockboxClient,
    options: AllRequestsOptions,
) -> Result<(Vec<(Arc<str>, String)>, AllRequestsSummary), Error> {
    let mut stream = client.all_requests(Some(options))?;
    let mut listed = Vec::new();
    while let Some(item) = stream.try_next().await? {
        if let AllRequestsItem::Request(found) = item {
            listed.push((found.subscription_id, found.request.name.unwrap_or_default()));
        }
    }
    Ok((listed, stream.summary()))
}

/// The seeded requests of `readable` subscriptions not listed exactly once, plus listed requests that are not
/// pending requests of a readable subscription in the emulator.
fn lost(emulator: &Emulator, readable: &[String], listed: &[(Arc<str>, String)]) -> usize {
    let readable: HashSet<&str> = readable.iter().map(String::as_str).collect();
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for (subscription, request) in listed {
        *counts.entry((subscription, request)).or_default() += 1;
    }
    let mut per_subscription: HashMap<&str, usize> = HashMap::new();
    let mut wrong = 0;
    for (&(subscription, request), &n) in &counts {
        let genuine = readable.contains(subscription)
            && emulator.request_status(subscription, request).as_deref() == Some("Pending");
        if genuine && n == 1 {
            *per_subscription.entry(subscription).or_default() += 1;
        } else {
            wrong += 1;
        }
    }
    let missing: usize =
        readable.iter().map(|s| PER_SUBSCRIPTION.saturating_sub(*per_subscription.get(s).unwrap_or(&0))).sum();
    missing + wrong
}
