//! The between-pages fault ([`FaultKind::BetweenPages`](crate::FaultKind::BetweenPages)): another principal
//! changes what a listing holds while a client is between its pages.
//!
//! Pages are cut by offset (`$skipToken` holds the offset of the next page), as many real listings are: a
//! request that leaves the listing before the offset shifts every later one back, and the client skips one;
//! a request that enters before the offset shifts them forward, and the client sees one twice. The fault makes
//! exactly that happen, on the next continuation page a client asks for, so that a client's paging can be
//! tested against it:
//!
//! - [`PageChange::Decide`]: approves, as another approver would, the first `Pending` request the client
//!   was already given (else the first `Pending` one); with a `Pending` filter the later requests shift back.
//! - [`PageChange::Expire`]: the same request expires instead.
//! - [`PageChange::Create`]: a new `Pending` request, created now, listed first (as a listing newest first
//!   would place it); the later requests shift forward. On `GET /subscriptions`, a new `Enabled` subscription
//!   listed first, holding one new `Pending` request.
//!
//! What each fault did is kept, for tests: [`Emulator::page_changes`](crate::Emulator::page_changes).

use chrono::{DateTime, TimeDelta, Utc};

use super::arm::query_param;
use super::listing::{page_offset, parse_filter};
use super::model::NewLockboxRequest;
use super::request::{Decision, StoredRequest};
use super::state::{Inner, Shared};
use super::subscriptions::NewSubscription;

/// What another principal does while a client is between the pages of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PageChange {
    /// Approve a `Pending` request the client was already given.
    Decide,
    /// Create a request (on the subscriptions listing: a subscription with one request) listed first.
    Create,
    /// Expire a `Pending` request the client was already given.
    Expire,
}

/// What one between-pages fault did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageChangeRecord {
    /// The change made.
    pub change: PageChange,
    /// The subscription of the request changed or created (for a created subscription, the new one).
    pub subscription_id: String,
    /// The request decided, expired or created.
    pub request_id: String,
}

/// Makes `change` to the listing a client asks the next page of (`query` its query): the requests of `sub`,
/// or with `None` the subscriptions.
pub(crate) fn change(shared: &Shared, sub: Option<&str>, query: &[(String, String)], change: PageChange) {
    let paged = match sub {
        None => Paged::Subscriptions,
        Some(subscription_id) => {
            let status = match query_param(query, "$filter") {
                Some(filter) if !filter.trim().is_empty() => parse_filter(filter).ok(),
                _ => None,
            };
            let offset = page_offset(query, status.unwrap_or("*")).unwrap_or(0);
            Paged::Requests { subscription_id, status, offset }
        }
    };
    shared.with(|inner, now| inner.change_between_pages(change, paged, now));
}

/// The listing a client is between the pages of: a subscription's requests (with the status it filters on)
/// at `offset`, or the subscriptions.
pub(crate) enum Paged<'a> {
    Requests { subscription_id: &'a str, status: Option<&'a str>, offset: usize },
    Subscriptions,
}

impl Inner {
    /// Makes `change` to the listing `paged`, as another principal would, and records it. Nothing is recorded
    /// when there is nothing to change (no `Pending` request to decide or expire).
    pub(crate) fn change_between_pages(&mut self, change: PageChange, paged: Paged<'_>, now: DateTime<Utc>) {
        let record = match paged {
            Paged::Subscriptions => {
                let subscription_id = uuid::Uuid::new_v4().to_string();
                self.arm.add_first(NewSubscription::new(&subscription_id));
                let request_id = self.create_first(&subscription_id, now);
                Some(PageChangeRecord { change: PageChange::Create, subscription_id, request_id })
            }
            Paged::Requests { subscription_id, status, offset } => match change {
                PageChange::Create => {
                    let request_id = self.create_first(subscription_id, now);
                    Some(PageChangeRecord { change, subscription_id: subscription_id.to_owned(), request_id })
                }
                PageChange::Decide | PageChange::Expire => {
                    self.pending_given(subscription_id, status, offset, now).map(|request_id| {
                        if change == PageChange::Decide {
                            let reason = Some("decided by another principal (emulator: between pages)");
                            // Checked Pending just above: the decision is accepted.
                            let _ = self.decide(subscription_id, &request_id, Decision::Approve, reason, now);
                        } else if let Some(request) = self.requests.find_mut(subscription_id, &request_id) {
                            request.expiration = now.checked_sub_signed(TimeDelta::seconds(1)).unwrap_or(now);
                        }
                        PageChangeRecord { change, subscription_id: subscription_id.to_owned(), request_id }
                    })
                }
            },
        };
        if let Some(record) = record {
            tracing::debug!(?record, "emulator: a listing changed between its pages");
            self.page_changes.push(record);
        }
    }

    /// The first `Pending` request among those the client was given (listed before `offset`, under the
    /// listing's status filter), else the first `Pending` one.
    fn pending_given(&self, sub: &str, status: Option<&str>, offset: usize, now: DateTime<Utc>) -> Option<String> {
        let listed =
            || self.requests.of(sub).filter(|r| status.is_none_or(|s| r.status_at(now).eq_ignore_ascii_case(s)));
        let pending = |r: &&StoredRequest| r.status_at(now) == "Pending";
        listed().take(offset).find(pending).or_else(|| listed().find(pending)).map(|r| r.request_id.clone())
    }

    /// A new `Pending` request in `sub`, created now, listed first.
    fn create_first(&mut self, sub: &str, now: DateTime<Utc>) -> String {
        let new = NewLockboxRequest::default();
        let expiration = now.checked_add_signed(super::request::to_delta(new.expires_in)).unwrap_or(now);
        let request = StoredRequest::new(sub, None, "Pending", now, expiration, new);
        let id = request.request_id.clone();
        self.requests.push_first(request);
        self.arm.ensure(sub);
        id
    }
}

impl crate::Emulator {
    /// What the between-pages faults ([`FaultKind::BetweenPages`](crate::FaultKind::BetweenPages)) did so far,
    /// in order.
    pub fn page_changes(&self) -> Vec<PageChangeRecord> {
        self.shared.with(|inner, _| inner.page_changes.clone())
    }
}
