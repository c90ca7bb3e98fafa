//! Resource Manager around the Lockbox API: `GET /subscriptions` (api-version `2022-12-01`), subscriptions a
//! caller may not read (`403 AuthorizationFailed`) or where the provider is not registered
//! (`409 MissingSubscriptionRegistration`), a per-principal request budget (`429` with `Retry-After`), added
//! latency, and seeding many subscriptions with many requests at once.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::RangeInclusive;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::arm::ArmError;

/// The api-version of Resource Manager's `Subscriptions_List`.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";

/// A subscription's state, as `Subscriptions_List` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SubscriptionState {
    /// Active.
    #[default]
    Enabled,
    /// Active, with a billing warning.
    Warned,
    /// Active, payment overdue.
    PastDue,
    /// Read-only: no new work.
    Disabled,
    /// Gone (still listed for a while).
    Deleted,
}

impl SubscriptionState {
    /// The wire name (`Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Warned => "Warned",
            Self::PastDue => "PastDue",
            Self::Disabled => "Disabled",
            Self::Deleted => "Deleted",
        }
    }
}

/// What a caller may do with a subscription's Lockbox requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SubscriptionAccess {
    /// Listing, reading and deciding work.
    #[default]
    Readable,
    /// The caller sees the subscription but has no Lockbox rights on it: Lockbox calls answer
    /// `403 AuthorizationFailed`.
    Forbidden,
    /// `Microsoft.CustomerLockbox` is not registered on it: Lockbox calls answer
    /// `409 MissingSubscriptionRegistration`.
    Unregistered,
}

/// A subscription to add with [`Emulator::add_subscription`](crate::Emulator::add_subscription) (admin:
/// `POST /_emulator/subscriptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    /// The subscription GUID.
    pub subscription_id: String,
    /// Its display name (defaults to `Subscription <id>`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its state (default `Enabled`).
    #[serde(default)]
    pub state: SubscriptionState,
    /// What callers may do with its Lockbox requests (default `Readable`).
    #[serde(default)]
    pub access: SubscriptionAccess,
}

impl NewSubscription {
    /// An `Enabled`, readable subscription.
    pub fn new(subscription_id: impl Into<String>) -> Self {
        Self {
            subscription_id: subscription_id.into(),
            display_name: None,
            state: SubscriptionState::Enabled,
            access: SubscriptionAccess::Readable,
        }
    }

    /// Sets [`NewSubscription::state`].
    #[must_use]
    pub fn with_state(mut self, state: SubscriptionState) -> Self {
        self.state = state;
        self
    }

    /// Sets [`NewSubscription::access`].
    #[must_use]
    pub fn with_access(mut self, access: SubscriptionAccess) -> Self {
        self.access = access;
        self
    }
}

/// Many subscriptions with many requests, created in one step by
/// [`Emulator::seed_tenant`](crate::Emulator::seed_tenant) (admin: `POST /_emulator/seed-tenant`; standalone
/// server: `--seed-subscriptions N --requests-per-subscription M`).
///
/// Subscriptions are laid out in order: first `forbidden` ones, then `unregistered`, `disabled`, `deleted`,
/// `warned` and `past_due` ones, the rest `Enabled` and readable. Every subscription gets
/// `requests_per_subscription` `Pending` requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSeed {
    /// How many subscriptions.
    pub subscriptions: usize,
    /// `Pending` requests in each.
    pub requests_per_subscription: usize,
    /// Subscriptions with [`SubscriptionAccess::Forbidden`].
    pub forbidden: usize,
    /// Subscriptions with [`SubscriptionAccess::Unregistered`].
    pub unregistered: usize,
    /// `Disabled` subscriptions.
    pub disabled: usize,
    /// `Deleted` subscriptions.
    pub deleted: usize,
    /// `Warned` subscriptions.
    pub warned: usize,
    /// `PastDue` subscriptions.
    pub past_due: usize,
}

impl TenantSeed {
    /// The state and access of subscription `i` of the seed.
    pub(crate) fn layout(&self, i: usize) -> (SubscriptionState, SubscriptionAccess) {
        let bounds = [self.forbidden, self.unregistered, self.disabled, self.deleted, self.warned, self.past_due];
        let mut start = 0;
        for (k, n) in bounds.into_iter().enumerate() {
            if i < start + n {
                return match k {
                    0 => (SubscriptionState::Enabled, SubscriptionAccess::Forbidden),
                    1 => (SubscriptionState::Enabled, SubscriptionAccess::Unregistered),
                    2 => (SubscriptionState::Disabled, SubscriptionAccess::Readable),
                    3 => (SubscriptionState::Deleted, SubscriptionAccess::Readable),
                    4 => (SubscriptionState::Warned, SubscriptionAccess::Readable),
                    _ => (SubscriptionState::PastDue, SubscriptionAccess::Readable),
                };
            }
            start += n;
        }
        (SubscriptionState::Enabled, SubscriptionAccess::Readable)
    }
}

/// A per-principal budget of ARM requests: at most `requests` in each window of `per` (emulator clock). A
/// request over it answers `429 TooManyRequests` with `Retry-After` (whole seconds until the window ends, at
/// least 1). The principal is the `oid` claim of a JWT bearer token, else the token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBudget {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredSubscription {
    pub id: String,
    pub display_name: String,
    pub state: SubscriptionState,
    pub access: SubscriptionAccess,
}

impl StoredSubscription {
    pub fn to_json(&self, tenant_id: &str) -> Value {
        json!({
            "id": format!("/subscriptions/{}", self.id),
            "subscriptionId": self.id,
            "displayName": self.display_name,
            "tenantId": tenant_id,
            "state": self.state.as_str(),
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off"
            },
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "tags": {}
        })
    }
}

/// Subscriptions, budgets and latency: the Resource Manager part of the state.
#[derive(Debug, Default)]
pub(crate) struct Arm {
    subscriptions: Vec<StoredSubscription>,
    /// Lower-case subscription id → index in `subscriptions`.
    index: HashMap<String, usize>,
    pub budget: Option<RequestBudget>,
    /// Principal (hashed) → (window start, requests in it).
    windows: HashMap<u64, (DateTime<Utc>, u32)>,
    pub throttled: usize,
    pub latency: Option<RangeInclusive<Duration>>,
    pub seeds: usize,
}

impl Arm {
    /// Adds the subscription, or replaces the one with the same id.
    pub fn add(&mut self, new: NewSubscription) {
        let key = new.subscription_id.to_ascii_lowercase();
        let stored = StoredSubscription {
            display_name: new.display_name.unwrap_or_else(|| format!("Subscription {}", new.subscription_id)),
            id: new.subscription_id,
            state: new.state,
            access: new.access,
        };
        match self.index.get(&key) {
            Some(&i) => self.subscriptions[i] = stored,
            None => {
                self.index.insert(key, self.subscriptions.len());
                self.subscriptions.push(stored);
            }
        }
    }

    /// Adds a new subscription listed first (the between-pages fault); one with the same id is replaced.
    pub fn add_first(&mut self, new: NewSubscription) {
        let existed = self.index.contains_key(&new.subscription_id.to_ascii_lowercase());
        self.add(new);
        if !existed && let Some(last) = self.subscriptions.pop() {
            self.subscriptions.insert(0, last);
            self.index = self.subscriptions.iter().enumerate().map(|(i, s)| (s.id.to_ascii_lowercase(), i)).collect();
        }
    }

    /// Adds the subscription as `Enabled` and readable, unless it is there already (as it was added).
    pub fn ensure(&mut self, subscription_id: &str) {
        if !self.index.contains_key(&subscription_id.to_ascii_lowercase()) {
            self.add(NewSubscription::new(subscription_id));
        }
    }

    pub fn list(&self) -> &[StoredSubscription] {
        &self.subscriptions
    }

    /// The refusal for a Lockbox call on `sub` (`action` names the ARM permission), if the caller may not make it.
    /// Subscriptions never added are readable.
    pub fn refusal(&self, sub: &str, action: &str) -> Option<ArmError> {
        let found = self.index.get(&sub.to_ascii_lowercase()).map(|&i| &self.subscriptions[i])?;
        match found.access {
            SubscriptionAccess::Readable => None,
            SubscriptionAccess::Forbidden => Some(ArmError::new(
                StatusCode::FORBIDDEN,
                "AuthorizationFailed",
                format!(
                    "The client does not have authorization to perform action '{action}' over scope \
                     '/subscriptions/{}' or the scope is invalid.",
                    found.id
                ),
            )),
            SubscriptionAccess::Unregistered => Some(ArmError::new(
                StatusCode::CONFLICT,
                "MissingSubscriptionRegistration",
                "The subscription is not registered to use namespace 'Microsoft.CustomerLockbox'. See \
                 https://aka.ms/rps-not-found for how to register subscriptions.",
            )),
        }
    }

    /// Charges one request to the principal's budget; the `429` to answer when it is spent.
    pub fn charge(&mut self, principal: &str, now: DateTime<Utc>) -> Result<(), ArmError> {
        let Some(budget) = self.budget else { return Ok(()) };
        let mut hasher = DefaultHasher::new();
        principal.hash(&mut hasher);
        let window = self.windows.entry(hasher.finish()).or_insert((now, 0));
        let per = chrono::TimeDelta::from_std(budget.per).unwrap_or(chrono::TimeDelta::MAX);
        let ends = window.0.checked_add_signed(per).unwrap_or(DateTime::<Utc>::MAX_UTC);
        if now >= ends {
            *window = (now, 0);
        }
        if window.1 < budget.requests {
            window.1 += 1;
            return Ok(());
        }
        self.throttled += 1;
        let ends = window.0.checked_add_signed(per).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let wait = ((ends - now).num_milliseconds().max(0) as u64).div_ceil(1000).max(1);
        Err(ArmError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "The request is being throttled: the principal's budget of {} requests per {} s is spent. \
                 Please retry after {wait} seconds.",
                budget.requests,
                budget.per.as_secs()
            ),
        )
        .with_header("retry-after", wait.to_string()))
    }

    /// The latency to add to the next answer.
    pub fn latency(&self) -> Option<Duration> {
        let range = self.latency.as_ref()?;
        let (lo, hi) = (range.start().as_micros() as u64, range.end().as_micros() as u64);
        Some(Duration::from_micros(if hi > lo { fastrand::u64(lo..=hi) } else { lo }))
    }
}

/// The principal a bearer token stands for: its `oid` claim when it is a JWT, else the token itself.
pub(crate) fn principal(token: &str) -> String {
    super::arm::claim(token, "oid").unwrap_or_else(|| token.to_owned())
}
