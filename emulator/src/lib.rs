//! A local, stateful emulator of the Customer Lockbox ARM service (`Microsoft.CustomerLockbox`,
//! api-version `2018-02-28-preview`) on 127.0.0.1.
//!
//! It is an independent implementation of the service, for tests and local development: it speaks ARM's
//! conventions (bearer-token check, `api-version`, ARM error bodies with `x-ms-error-code`,
//! `x-ms-request-id` / `x-ms-correlation-request-id`, absolute `nextLink` paging, long-running operations)
//! and keeps state you can inspect and steer from Rust or over its admin API under `/_emulator/`:
//!
//! * requests with the real status machine (`Pending` → `Approving` → `Approved`, `Pending` → `Denying`
//!   → `Denied`, `Pending` past its expiry reads `Expired`) on an adjustable clock
//!   ([`Emulator::advance_clock`]), and every accepted decision ([`Emulator::decisions`]);
//! * tenants' opt-in flags (the caller's tenant is the `tid` claim of a JWT bearer token, else
//!   [`EmulatorConfig::default_tenant_id`]); any well-formed bearer token is accepted;
//! * injected faults ([`Emulator::inject`]): throttling with each retry-hint header, error statuses,
//!   HTML gateway pages, connections dropped without a response, delays, failures *after* the
//!   effect was applied, and a listing changed between its pages ([`PageChange`]);
//! * a log of received requests with the `Authorization` value redacted ([`Emulator::received`]), and an
//!   uncapped count of decision POSTs per request ([`Emulator::decision_posts`],
//!   [`Emulator::duplicate_decisions`]);
//! * Resource Manager around the service: `GET /subscriptions` (api-version [`SUBSCRIPTIONS_API_VERSION`],
//!   paged, with [`SubscriptionState`]s), subscriptions that refuse Lockbox calls ([`SubscriptionAccess`]), a
//!   per-principal [`RequestBudget`], added latency ([`EmulatorConfig::latency`]) and bulk seeding
//!   ([`Emulator::seed_tenant`]).
//!
//! ```
//! use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let emulator = Emulator::start(EmulatorConfig::default()).await?;
//!     let subscription = "00000000-0000-0000-0000-000000000001";
//!     let id = emulator.create_request(subscription, NewLockboxRequest::default());
//!     assert_eq!(emulator.request_status(subscription, &id).as_deref(), Some("Pending"));
//!     // Point the SDK (or any HTTP client) at the ARM endpoint:
//!     println!("ARM endpoint: {}", emulator.url());
//!     emulator.shutdown().await;
//!     Ok(())
//! }
//! ```
//!
//! # Admin HTTP API
//!
//! Outside the ARM namespace and without authentication, for the standalone runner and other languages:
//!
//! | Call | Body / answer |
//! |------|---------------|
//! | `POST /_emulator/requests` | [`NewLockboxRequest`] JSON plus `subscriptionId` → `201 {"id":".."}` |
//! | `POST /_emulator/seed` | [`Seed`] JSON → `{"ids":[..]}` |
//! | `GET /_emulator/clock` | `{"now":".."}` |
//! | `POST /_emulator/clock/advance` | `{"seconds":N}` (may be negative) → `{"now":".."}` |
//! | `GET` / `DELETE /_emulator/received` | [`ReceivedRequest`] list / clear it |
//! | `POST /_emulator/faults` | [`FaultSpec`] JSON → `204` |
//! | `DELETE /_emulator/faults` | drops the faults still queued → `204` |
//! | `GET /_emulator/decisions` | [`DecisionRecord`] list |
//! | `POST /_emulator/subscriptions` | [`NewSubscription`] JSON → `204` |
//! | `POST /_emulator/seed-tenant` | [`TenantSeed`] JSON → `{"subscriptionIds":[..]}` |
//! | `GET /_emulator/decision-posts` | `{"duplicateDecisions":N,"requests":[..]}` ([`DecisionPosts`] list) |
//!
//! The standalone runner serves it until Ctrl-C:
//! `cargo run -p azure_customer_lockbox_emulator -- --port 8080 --sample-subscription <GUID>`. When it serves
//! requests (sample subscriptions, seeded subscriptions or a seed file), its default tenant is opted in, as a
//! tenant with Lockbox requests is; a seed file's `tenants` may say otherwise.

mod admin;
mod arm;
mod asyncops;
mod between;
mod envelope;
mod faults;
mod listing;
mod model;
mod request;
mod routes;
mod server;
mod state;
mod store;
mod subscriptions;
pub mod testing;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use between::{PageChange, PageChangeRecord};
pub use faults::{Fault, FaultKind, FaultSpec, Operation, RetryAfterHeader};
pub use model::{
    API_VERSION, AsyncOperations, DEFAULT_TENANT_ID, DecisionPosts, DecisionRecord, EmulatorConfig, KNOWN_STATUSES,
    NewLockboxRequest, ReceivedRequest, Seed, SeedRequest, WhileRunning,
};

pub use subscriptions::{
    NewSubscription, RequestBudget, SUBSCRIPTIONS_API_VERSION, SubscriptionAccess, SubscriptionState, TenantSeed,
};

use model::canonical_status;
use request::{StoredRequest, to_delta};
use state::{Inner, Shared};

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    url: Url,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds `127.0.0.1:config.port` and starts serving on the current Tokio runtime.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port))).await?;
        let port = listener.local_addr()?.port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut inner =
            Inner { transition_delay: config.transition_delay, async_cfg: config.async_operations, ..Inner::default() };
        inner.arm.budget = config.request_budget;
        inner.arm.latency = config.latency;
        let shared = Arc::new(Shared::new(
            inner,
            config.page_size,
            config.default_tenant_id,
            url.clone(),
            config.max_body_bytes,
        ));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server::serve(listener, server::router(shared.clone()), shutdown.clone()));
        Ok(Emulator { shared, url, shutdown, task: Some(task) })
    }

    /// The ARM base URL, e.g. `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The tenant of callers whose token has no `tid` claim.
    pub fn default_tenant_id(&self) -> &str {
        &self.shared.default_tenant_id
    }

    /// Creates a `Pending` request in the subscription, created now (emulator clock); returns its id.
    ///
    /// A subscription never added with [`Emulator::add_subscription`] is added now, `Enabled` and readable, so
    /// that `GET /subscriptions` lists it and a tenant-wide caller finds the request; one added before keeps its
    /// state and access.
    pub fn create_request(&self, subscription_id: &str, new: NewLockboxRequest) -> String {
        create(&self.shared, subscription_id, new)
    }

    /// Adds tenants and requests. Requests with an unknown status are skipped (with a warning); a request
    /// id that already exists makes the whole seed a no-op (with a warning). [`Emulator::seed_from_file`]
    /// reports both as errors instead.
    pub fn seed(&self, seed: Seed) {
        let lenient = Seed {
            requests: seed
                .requests
                .into_iter()
                .filter(|r| {
                    let known = r.status.as_deref().is_none_or(|s| canonical_status(s).is_some());
                    if !known {
                        tracing::warn!(status = ?r.status, "emulator seed: unknown status, request skipped");
                    }
                    known
                })
                .collect(),
            ..seed
        };
        if let Err(problem) = apply_seed(&self.shared, lenient) {
            tracing::warn!(%problem, "emulator seed ignored");
        }
    }

    /// Reads a [`Seed`] JSON file and applies it.
    pub fn seed_from_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let text = std::fs::read(path)?;
        let seed: Seed =
            serde_json::from_slice(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        apply_seed(&self.shared, seed).map(drop).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Seeds six realistic requests (three `Pending`, one `Approved`, one `Denied`, one `Expired`) in the
    /// subscription; returns their ids, oldest first.
    ///
    /// The first call for a subscription gives the same ids in every process (`5a3b0000-...-000000000001` to
    /// `...06`), so a tool that starts a fresh emulator per run can name them; later calls get random ids.
    pub fn sample_data(&self, subscription_id: &str) -> Vec<String> {
        let stable = self.shared.with(|inner, _| inner.find(subscription_id, &sample_id(1)).is_none());
        let now = self.now();
        let rg = format!("/subscriptions/{subscription_id}/resourceGroups");
        let day = 24 * 3600;
        #[rustfmt::skip]
        let samples: [(i64, i64, &str, &str, String, &str); 6] = [
            (5 * day, -day, "Pending", "Virtual Machine",
             format!("{rg}/prod-web/providers/Microsoft.Compute/virtualMachines/web-01"),
             "Investigating an unexpected reboot loop of VM web-01 reported in the support case; need to read boot diagnostics and guest logs."),
            (3 * day, 1, "Denied", "SQL Database",
             format!("{rg}/finance/providers/Microsoft.Sql/servers/fin-sql/databases/ledger"),
             "Query performance regression on database 'ledger'; need to inspect query store data."),
            (2 * day, 2 * day, "Approved", "Storage Account",
             format!("{rg}/contoso-rg/providers/Microsoft.Storage/storageAccounts/contosodata"),
             "Blob reads intermittently fail with 503; need to read storage analytics logs."),
            (2 * 3600, 4 * day - 2 * 3600, "Pending", "Storage Account",
             format!("{rg}/contoso-rg/providers/Microsoft.Storage/storageAccounts/contosologs"),
             "Customer reports missing diagnostics data; need to read the container listing of 'insights-logs'."),
            (90 * 60, 4 * day - 90 * 60, "Pending", "Virtual Machine",
             format!("{rg}/batch/providers/Microsoft.Compute/virtualMachines/worker-07"),
             "Disk I/O stalls on worker-07; need to collect a memory dump to analyse a storage driver hang."),
            (30 * 60, 4 * day - 30 * 60, "Pending", "Key Vault",
             format!("{rg}/security/providers/Microsoft.KeyVault/vaults/contoso-kv"),
             "Key Vault throttling investigation; need to read request metadata (no secret values)."),
        ];
        let seed = Seed {
            tenants: Default::default(),
            requests: samples
                .into_iter()
                .enumerate()
                .map(|(i, (age, expires, status, kind, resource, why))| SeedRequest {
                    subscription_id: subscription_id.to_owned(),
                    request_id: stable.then(|| sample_id(i + 1)),
                    status: Some(status.to_owned()),
                    created_date_time: now.checked_sub_signed(TimeDelta::seconds(age)),
                    expiration_date_time: now.checked_add_signed(TimeDelta::seconds(expires)),
                    request: NewLockboxRequest {
                        justification: why.to_owned(),
                        resource_ids: vec![resource],
                        resource_type: kind.to_owned(),
                        ..NewLockboxRequest::default()
                    },
                })
                .collect(),
        };
        apply_seed(&self.shared, seed).unwrap_or_default()
    }

    /// The status a read would show now, if the request exists.
    pub fn request_status(&self, subscription_id: &str, request_id: &str) -> Option<String> {
        self.shared.with(|inner, now| inner.find(subscription_id, request_id).map(|r| r.status_at(now).to_owned()))
    }

    /// Every accepted decision, in order.
    pub fn decisions(&self) -> Vec<DecisionRecord> {
        self.shared.with(|inner, _| inner.decisions.clone())
    }

    /// The decision POSTs received per request, for every request that received at least one, oldest request
    /// first. See [`DecisionPosts`].
    pub fn decision_posts(&self) -> Vec<DecisionPosts> {
        self.shared.with(|inner, _| decision_posts(inner))
    }

    /// How many duplicate decisions reached the emulator: decision POSTs for a request whose decision was
    /// already recorded, or accepted with a `202` (the sum of [`DecisionPosts::after_decision`]). A client that never sends a decision
    /// twice keeps this at 0, whatever faults it met.
    pub fn duplicate_decisions(&self) -> u64 {
        self.shared.with(|inner, _| inner.requests.iter().map(|r| r.posts.after_decision).sum())
    }

    /// Adds a subscription to what `GET /subscriptions` lists, or replaces the one with the same id. Its
    /// [`SubscriptionAccess`] applies to the Lockbox calls on it; subscriptions never added stay readable.
    pub fn add_subscription(&self, subscription: NewSubscription) {
        self.shared.with(|inner, _| inner.arm.add(subscription));
    }

    /// Creates many subscriptions with many `Pending` requests in one step (see [`TenantSeed`]); returns the
    /// subscription ids in layout order. Each call makes new subscriptions (ids `5eedSSSS-0000-4000-8000-<i>`,
    /// `SSSS` counting the calls).
    pub fn seed_tenant(&self, seed: &TenantSeed) -> Vec<String> {
        self.shared.with(|inner, now| seed_tenant(inner, seed, now))
    }

    /// Switches the per-principal request budget on (`Some`) or off (`None`).
    pub fn set_request_budget(&self, budget: Option<RequestBudget>) {
        self.shared.with(|inner, _| inner.arm.budget = budget);
    }

    /// How many ARM requests the request budget answered with `429`.
    pub fn throttled_by_budget(&self) -> usize {
        self.shared.with(|inner, _| inner.arm.throttled)
    }

    /// Adds a latency drawn uniformly from `range` to every ARM answer (not the admin API), or none.
    pub fn set_latency(&self, range: Option<std::ops::RangeInclusive<Duration>>) {
        self.shared.with(|inner, _| inner.arm.latency = range);
    }

    /// Opts a tenant in or out.
    pub fn set_tenant_opted_in(&self, tenant: &str, on: bool) {
        self.shared.with(|inner, _| inner.set_tenant(tenant, on));
    }

    /// Whether a tenant is opted in (unknown tenants are not).
    pub fn tenant_opted_in(&self, tenant: &str) -> bool {
        self.shared.with(|inner, _| inner.tenant(tenant))
    }

    /// The emulator clock: the real clock plus an adjustable offset.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.now()
    }

    /// Moves the emulator clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.with(|inner, _| {
            inner.clock_offset = inner.clock_offset.checked_add(&to_delta(by)).unwrap_or(inner.clock_offset);
        });
    }

    /// Sets the emulator clock to `at` (it keeps running from there).
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.shared.with(|inner, _| inner.clock_offset = at - Utc::now());
    }

    /// Requests received so far (admin `/_emulator/` calls excluded), oldest first; the latest 10,000 are kept.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.shared.with(|inner, _| inner.received.iter().cloned().collect())
    }

    /// How many ARM requests were received in all (admin calls excluded), including those no longer kept by
    /// [`received`](Self::received).
    pub fn requests_received(&self) -> usize {
        self.shared.with(|inner, _| inner.received_total)
    }

    /// Forgets the received requests.
    pub fn clear_received(&self) {
        self.shared.with(|inner, _| inner.received.clear());
    }

    /// Queues a fault; faults apply in queue order to the next matching requests.
    pub fn inject(&self, fault: Fault) {
        if fault.count > 0 {
            self.shared.with(|inner, _| inner.faults.push_back(fault));
        }
    }

    /// How many faulty responses were served (each use of a fault counts once).
    pub fn faults_injected(&self) -> usize {
        self.shared.with(|inner, _| inner.faults_injected)
    }

    /// Switches long-running-operation mode on (`Some`) or off (`None`) for subsequent POST actions.
    pub fn set_async_operations(&self, cfg: Option<AsyncOperations>) {
        self.shared.with(|inner, _| inner.async_cfg = cfg);
    }

    /// Gives decisions on one subscription their own mode: `Some` answers them `202 Accepted` with these
    /// settings, `None` answers them at once, whatever [`Emulator::set_async_operations`] says.
    pub fn set_async_operations_for(&self, subscription_id: &str, cfg: Option<AsyncOperations>) {
        self.shared.with(|inner, _| inner.async_by_subscription.insert(subscription_id.to_ascii_lowercase(), cfg));
    }

    /// ARM requests that arrived under another host name than the emulator's own (see
    /// [`FaultKind::ForeignPollingHost`]): a client that follows a foreign polling URL shows here.
    pub fn foreign_host_requests(&self) -> usize {
        self.shared.with(|inner, _| inner.foreign_host_requests)
    }

    /// Stops accepting connections and waits (up to a few seconds) for in-flight requests.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn seed_tenant(inner: &mut Inner, seed: &TenantSeed, now: DateTime<Utc>) -> Vec<String> {
    inner.arm.seeds += 1;
    let batch = inner.arm.seeds;
    let expiration = now.checked_add_signed(TimeDelta::days(4)).unwrap_or(now);
    let mut ids = Vec::with_capacity(seed.subscriptions);
    inner.requests.reserve(seed.subscriptions.saturating_mul(seed.requests_per_subscription));
    for i in 0..seed.subscriptions {
        let id = format!("5eed{:04x}-0000-4000-8000-{i:012x}", batch % 0x1_0000);
        let (state, access) = seed.layout(i);
        inner.arm.add(NewSubscription {
            subscription_id: id.clone(),
            display_name: Some(format!("Seeded subscription {i}")),
            state,
            access,
        });
        for n in 0..seed.requests_per_subscription {
            let new = NewLockboxRequest {
                justification: format!("Seeded request {n} of subscription {i}"),
                ..NewLockboxRequest::default()
            };
            inner.requests.push(StoredRequest::new(&id, None, "Pending", now, expiration, new));
        }
        ids.push(id);
    }
    ids
}

fn decision_posts(inner: &Inner) -> Vec<DecisionPosts> {
    inner
        .requests
        .iter()
        .filter(|r| r.posts.received > 0)
        .map(|r| DecisionPosts {
            subscription_id: r.subscription_id.clone(),
            request_id: r.request_id.clone(),
            received: r.posts.received,
            after_decision: r.posts.after_decision,
        })
        .collect()
}

fn create(shared: &Shared, subscription_id: &str, new: NewLockboxRequest) -> String {
    shared.with(|inner, now| {
        let expiration = now.checked_add_signed(to_delta(new.expires_in)).unwrap_or(now);
        let request = StoredRequest::new(subscription_id, None, "Pending", now, expiration, new);
        let id = request.request_id.clone();
        inner.requests.push(request);
        inner.arm.ensure(subscription_id);
        id
    })
}

/// Applies a seed; fails (applying nothing) if a request has an unknown status or a duplicate id.
/// The id of sample request `n` (1-based) on a subscription's first call to [`Emulator::sample_data`].
fn sample_id(n: usize) -> String {
    format!("5a3b0000-0c1d-4e2f-8a9b-{n:012}")
}

fn apply_seed(shared: &Shared, seed: Seed) -> Result<Vec<String>, String> {
    shared.with(|inner, now| {
        let mut prepared = Vec::with_capacity(seed.requests.len());
        for r in seed.requests {
            let status = match r.status.as_deref() {
                None => "Pending",
                Some(s) => canonical_status(s).ok_or_else(|| format!("unknown status '{s}'"))?,
            };
            if let Some(id) = &r.request_id
                && inner.find(&r.subscription_id, id).is_some()
            {
                return Err(format!("request '{id}' already exists"));
            }
            let created = r.created_date_time.unwrap_or(now);
            let expiration = r
                .expiration_date_time
                .unwrap_or_else(|| created.checked_add_signed(to_delta(r.request.expires_in)).unwrap_or(created));
            prepared.push(StoredRequest::new(&r.subscription_id, r.request_id, status, created, expiration, r.request));
        }
        for (tenant, on) in seed.tenants {
            inner.set_tenant(&tenant, on);
        }
        let ids = prepared.iter().map(|r| r.request_id.clone()).collect();
        inner.requests.extend(prepared);
        Ok(ids)
    })
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
