//! The emulated service's state: requests, tenants, decisions, the clock, faults and the received log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use url::Url;

use super::arm::ArmError;
use super::asyncops::{OpEffect, Ops};
use super::between::PageChangeRecord;
use super::faults::{Fault, Operation};
use super::model::{AsyncOperations, DecisionRecord, ReceivedRequest, WhileRunning};
use super::request::{Decision, StoredRequest, to_delta};
use super::store::RequestStore;
use super::subscriptions::Arm;

/// Received requests kept at most (oldest dropped first).
const RECEIVED_CAP: usize = 10_000;

/// Mutable state behind one lock; never held across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub clock_offset: TimeDelta,
    pub transition_delay: Duration,
    /// Every request, indexed by subscription (see `store.rs`).
    pub requests: RequestStore,
    /// Lower-case tenant id → opted in.
    pub tenants: HashMap<String, bool>,
    pub decisions: Vec<DecisionRecord>,
    pub received: VecDeque<ReceivedRequest>,
    pub faults: VecDeque<Fault>,
    pub faults_injected: usize,
    /// Every ARM request received, including those no longer kept in `received`.
    pub received_total: usize,
    pub async_cfg: Option<AsyncOperations>,
    /// Lower-case subscription id -> its own async mode for decisions (`None`: answered at once).
    pub async_by_subscription: HashMap<String, Option<AsyncOperations>>,
    /// ARM requests whose `Host` was not the emulator's own host (e.g. a foreign polling URL followed).
    pub foreign_host_requests: usize,
    pub ops: Ops,
    /// Subscriptions, the request budget and added latency.
    pub arm: Arm,
    /// What the between-pages faults did (`between.rs`).
    pub page_changes: Vec<PageChangeRecord>,
}

impl Inner {
    /// The async-mode settings for decisions on this subscription: its own, else the emulator's.
    pub fn async_cfg_for(&self, sub: &str) -> Option<&AsyncOperations> {
        match self.async_by_subscription.get(&sub.to_ascii_lowercase()) {
            Some(own) => own.as_ref(),
            None => self.async_cfg.as_ref(),
        }
    }

    /// How a decision on this subscription is answered: `None` at once, else `202` with this request state
    /// while its operation runs.
    pub fn decision_mode(&self, sub: &str) -> Option<WhileRunning> {
        self.async_cfg_for(sub).map(|cfg| cfg.while_running)
    }

    /// Starts an operation if async mode is on for it: its id, and the `Retry-After` of its `202`.
    pub fn start_op(&mut self, effect: OpEffect, now: DateTime<Utc>) -> Option<(String, u64)> {
        let cfg = match &effect {
            OpEffect::Decide { sub, .. } => self.async_cfg_for(sub),
            OpEffect::Tenant { .. } => self.async_cfg.as_ref(),
        }
        .cloned()?;
        Some(self.ops.start(&cfg, effect, now))
    }

    /// Finishes every operation due by `now`, in the order they end, applying their effects.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        for op in self.ops.due(now) {
            let failed =
                op.fail_with.map(|(code, message)| ArmError::new(StatusCode::INTERNAL_SERVER_ERROR, &code, message));
            let outcome = match (failed, op.effect) {
                (Some(error), OpEffect::Decide { sub, rid, decision, reason, begun: true }) => {
                    self.end_decision(&sub, &rid, decision, reason.as_deref(), op.end, false);
                    Err(error)
                }
                (Some(error), _) => Err(error),
                (None, OpEffect::Decide { sub, rid, decision, reason, begun: true }) => {
                    self.end_decision(&sub, &rid, decision, reason.as_deref(), op.end, true);
                    Ok(Some(decision.echo(reason.as_deref())))
                }
                (None, OpEffect::Decide { sub, rid, decision, reason, begun: false }) => self
                    .decide(&sub, &rid, decision, reason.as_deref(), op.end)
                    .map(|()| Some(decision.echo(reason.as_deref()))),
                (None, OpEffect::Tenant { tenant, on }) => {
                    self.set_tenant(&tenant, on);
                    Ok(None)
                }
            };
            self.ops.finish(&op.id, outcome);
        }
    }

    /// `GET .../operationStatuses/{id}`.
    pub fn op_status(&self, id: &str) -> Result<Response, ArmError> {
        self.ops.status(id, self.async_cfg.as_ref().map(|cfg| cfg.retry_after_secs))
    }

    /// `GET .../operationResults/{id}`.
    pub fn op_result(&self, id: &str, base: &Url) -> Result<Response, ArmError> {
        self.ops.result(id, base, self.async_cfg.as_ref().map_or(1, |cfg| cfg.retry_after_secs))
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().checked_add_signed(self.clock_offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Counts a decision POST that reached the emulator for the request (if it exists), before anything else
    /// happens to it (an injected fault, a refusal or the decision itself).
    pub fn count_decision_post(&mut self, sub: &str, rid: &str) {
        if let Some(request) = self.find_mut(sub, rid) {
            request.posts.received += 1;
            if request.posts.decided {
                request.posts.after_decision += 1;
            }
        }
    }

    /// From now on, a decision POST for this request counts as a duplicate (its decision was accepted).
    pub fn mark_decided(&mut self, sub: &str, rid: &str) {
        if let Some(request) = self.find_mut(sub, rid) {
            request.posts.decided = true;
        }
    }

    pub fn find(&self, sub: &str, rid: &str) -> Option<&StoredRequest> {
        self.requests.find(sub, rid)
    }

    fn find_mut(&mut self, sub: &str, rid: &str) -> Option<&mut StoredRequest> {
        self.requests.find_mut(sub, rid)
    }

    /// Whether a decision on this request would be accepted at `now`.
    pub fn check_decidable(&self, sub: &str, rid: &str, now: DateTime<Utc>) -> Result<(), ArmError> {
        let request = self.find(sub, rid).ok_or_else(|| not_found(sub, rid))?;
        match request.status_at(now) {
            "Pending" => Ok(()),
            current => Err(ArmError::new(
                StatusCode::CONFLICT,
                "RequestNotPending",
                format!(
                    "The Lockbox request '{rid}' is in status '{current}'; only Pending requests can be approved or denied."
                ),
            )
            .with_info(json!({"type": "LockboxRequestStatus", "info": {"currentStatus": current}}))),
        }
    }

    /// Atomically checks and applies a decision taking effect at `at`, recording it.
    pub fn decide(
        &mut self,
        sub: &str,
        rid: &str,
        decision: Decision,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), ArmError> {
        self.begin_decision(sub, rid, decision, at)?;
        self.end_decision(sub, rid, decision, reason, at, true);
        Ok(())
    }

    /// Checks that a decision can be made at `at` and moves the request to `Approving` or `Denying`, without
    /// recording it yet ([`Self::end_decision`] does). From here a second decision is refused.
    pub fn begin_decision(
        &mut self,
        sub: &str,
        rid: &str,
        decision: Decision,
        at: DateTime<Utc>,
    ) -> Result<(), ArmError> {
        self.check_decidable(sub, rid, at)?;
        let request = self.find_mut(sub, rid).ok_or_else(|| not_found(sub, rid))?;
        request.status = decision.interim().to_owned();
        request.transition = None;
        request.posts.decided = true;
        Ok(())
    }

    /// Ends a decision begun with [`Self::begin_decision`]: when it `took`, records it and moves the request
    /// to its final status after the transition delay; otherwise the request is `Pending` again.
    pub fn end_decision(
        &mut self,
        sub: &str,
        rid: &str,
        decision: Decision,
        reason: Option<&str>,
        at: DateTime<Utc>,
        took: bool,
    ) {
        let delay = to_delta(self.transition_delay);
        let Some(request) = self.find_mut(sub, rid) else { return };
        if !took {
            request.status = "Pending".to_owned();
            return;
        }
        request.transition = Some((at.checked_add_signed(delay).unwrap_or(at), decision.settled()));
        let record = DecisionRecord {
            subscription_id: request.subscription_id.clone(),
            request_id: request.request_id.clone(),
            decision: decision.as_str().to_owned(),
            reason: reason.map(str::to_owned),
            at,
        };
        self.decisions.push(record);
    }

    /// One page of a subscription's requests (optionally only one status), in listing order (creation time,
    /// then id; the store keeps them so): the JSON of the `limit` requests from `offset`, and how many match in
    /// all. Only the page's requests are turned into JSON, and nothing is sorted per page, so a page costs a pass
    /// over the subscription's requests and the JSON of its own. (With the JSON of every request built for every
    /// page, and the requests sorted for every page, listing one subscription of 20,000 requests in pages of 50
    /// took 176x as long as the same pages from 400 small subscriptions; now 0.8x. See
    /// `examples/big_subscription.rs`.)
    pub fn list_page(
        &self,
        sub: &str,
        status: Option<&str>,
        now: DateTime<Utc>,
        offset: usize,
        limit: usize,
    ) -> (Vec<Value>, usize) {
        let matching =
            self.requests.of(sub).filter(|r| status.is_none_or(|s| r.status_at(now).eq_ignore_ascii_case(s)));
        let (mut page, mut total) = (Vec::new(), 0);
        for request in matching {
            if total >= offset && page.len() < limit {
                page.push(request.to_json(now));
            }
            total += 1;
        }
        (page, total)
    }

    pub fn set_tenant(&mut self, tenant: &str, on: bool) {
        self.tenants.insert(tenant.to_ascii_lowercase(), on);
    }

    pub fn tenant(&self, tenant: &str) -> bool {
        self.tenants.get(&tenant.to_ascii_lowercase()).copied().unwrap_or(false)
    }

    pub fn record(&mut self, request: ReceivedRequest) {
        self.received_total += 1;
        if self.received.len() >= RECEIVED_CAP {
            self.received.pop_front();
        }
        self.received.push_back(request);
    }

    /// Takes one use of the first queued fault matching the operation; `continuation` says whether the call
    /// asks for a listing's next page (only those take a between-pages fault).
    pub fn take_fault(&mut self, operation: Option<Operation>, continuation: bool) -> Option<Fault> {
        let index = self.faults.iter().position(|f| f.matches(operation, continuation))?;
        let fault = self.faults.get_mut(index)?;
        fault.count = fault.count.saturating_sub(1);
        let taken = fault.clone();
        if fault.count == 0 {
            self.faults.remove(index);
        }
        self.faults_injected += 1;
        Some(taken)
    }
}

pub(crate) fn not_found(sub: &str, rid: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "RequestNotFound",
        format!("The Lockbox request '{rid}' was not found in subscription '{sub}'."),
    )
}

/// State shared by the server and the [`Emulator`](super::Emulator) handle.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub page_size: usize,
    pub default_tenant_id: String,
    pub base_url: Url,
    pub max_body_bytes: usize,
}

impl Shared {
    pub fn new(
        inner: Inner,
        page_size: usize,
        default_tenant_id: String,
        base_url: Url,
        max_body_bytes: usize,
    ) -> Self {
        Self { inner: Mutex::new(inner), page_size: page_size.max(1), default_tenant_id, base_url, max_body_bytes }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the state at the current emulator time, after finishing due async operations.
    pub fn with<R>(&self, f: impl FnOnce(&mut Inner, DateTime<Utc>) -> R) -> R {
        let mut inner = self.lock();
        let now = inner.now();
        inner.settle(now);
        f(&mut inner, now)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    pub fn record(&self, request: ReceivedRequest) {
        self.lock().record(request);
    }
}
