//! The stored Lockbox requests, in the order they were added, with an index by subscription.
//!
//! Every Lockbox call names a subscription, so a listing or a lookup only needs that subscription's
//! requests. The index (lower-case subscription id -> positions) makes a listing cost the subscription's own
//! requests instead of a scan of every stored request under the state's lock: with 1,000 subscriptions of 20
//! requests (`examples/tenant_scale.rs`), a tenant-wide listing was 1,000 scans of 20,000 requests, and the
//! emulator's CPU, not its added latency, set the pace. Requests are never removed, so positions stay valid.
//!
//! Each subscription's positions are kept in listing order (creation time, then id), so that a page is read
//! off in order without sorting the subscription's requests again for every page.

use std::collections::HashMap;

use super::request::StoredRequest;

/// The stored requests: see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct RequestStore {
    /// Every request, in the order added.
    all: Vec<StoredRequest>,
    /// Lower-case subscription id -> positions in `all` of its requests, in listing order.
    by_subscription: HashMap<String, Vec<usize>>,
}

impl RequestStore {
    /// Adds a request, in its place in its subscription's listing order.
    pub fn push(&mut self, request: StoredRequest) {
        let key = request.subscription_id.to_ascii_lowercase();
        let positions = self.by_subscription.entry(key).or_default();
        let all = &self.all;
        // After every request that lists before it or at the same place: requests usually come in order, so
        // this is the end of the list.
        let at = positions.partition_point(|&i| listing_key(&all[i]) <= listing_key(&request));
        positions.insert(at, all.len());
        self.all.push(request);
    }

    /// Adds a request listed first in its subscription, whatever its creation time (the between-pages fault:
    /// a new request listed where it shifts every later offset, as a listing newest first would place it).
    pub fn push_first(&mut self, request: StoredRequest) {
        let key = request.subscription_id.to_ascii_lowercase();
        self.by_subscription.entry(key).or_default().insert(0, self.all.len());
        self.all.push(request);
    }

    /// Makes room for `additional` more requests.
    pub fn reserve(&mut self, additional: usize) {
        self.all.reserve(additional);
    }

    /// Every request, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &StoredRequest> {
        self.all.iter()
    }

    /// The requests of a subscription (matched without regard to ASCII case), in listing order: by creation
    /// time, then by id.
    pub fn of(&self, subscription_id: &str) -> impl Iterator<Item = &StoredRequest> {
        self.positions(subscription_id).iter().map(|&i| &self.all[i])
    }

    /// The request `request_id` of a subscription (both matched without regard to ASCII case).
    pub fn find(&self, subscription_id: &str, request_id: &str) -> Option<&StoredRequest> {
        self.of(subscription_id).find(|r| r.request_id.eq_ignore_ascii_case(request_id))
    }

    /// As [`find`](Self::find), to change it.
    pub fn find_mut(&mut self, subscription_id: &str, request_id: &str) -> Option<&mut StoredRequest> {
        let all = &self.all;
        let position = self
            .by_subscription
            .get(&subscription_id.to_ascii_lowercase())?
            .iter()
            .copied()
            .find(|&i| all[i].request_id.eq_ignore_ascii_case(request_id))?;
        self.all.get_mut(position)
    }

    fn positions(&self, subscription_id: &str) -> &[usize] {
        self.by_subscription.get(&subscription_id.to_ascii_lowercase()).map_or(&[], Vec::as_slice)
    }
}

/// Where a request lists within its subscription: by creation time, then by id.
fn listing_key(request: &StoredRequest) -> (chrono::DateTime<chrono::Utc>, &str) {
    (request.created, &request.request_id)
}

impl Extend<StoredRequest> for RequestStore {
    fn extend<I: IntoIterator<Item = StoredRequest>>(&mut self, requests: I) {
        for request in requests {
            self.push(request);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::*;
    use crate::model::NewLockboxRequest;

    fn request(subscription_id: &str, request_id: &str) -> StoredRequest {
        let now = Utc::now();
        let expiration = now + TimeDelta::days(1);
        StoredRequest::new(
            subscription_id,
            Some(request_id.into()),
            "Pending",
            now,
            expiration,
            NewLockboxRequest::default(),
        )
    }

    #[test]
    fn a_subscription_gives_its_own_requests_whatever_the_case_of_its_id() {
        let mut store = RequestStore::default();
        store.extend([request("AAAA", "r1"), request("bbbb", "r2"), request("aaaa", "r3")]);
        let ids = |sub: &str| store.of(sub).map(|r| r.request_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids("aaaa"), ["r1", "r3"]);
        assert_eq!(ids("AaAa"), ["r1", "r3"]);
        assert_eq!(ids("BBBB"), ["r2"]);
        assert!(ids("cccc").is_empty());
        let all: Vec<_> = store.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(all, ["r1", "r2", "r3"]);
    }

    #[test]
    fn a_subscription_lists_by_creation_time_then_id_whatever_the_order_added() {
        let mut store = RequestStore::default();
        let at = |request: StoredRequest, minutes: i64| StoredRequest {
            created: chrono::DateTime::UNIX_EPOCH + TimeDelta::minutes(minutes),
            ..request
        };
        store.extend([
            at(request("aaaa", "r-late"), 30),
            at(request("aaaa", "r-b"), 10),
            at(request("bbbb", "other"), 0),
            at(request("aaaa", "r-a"), 10),
            at(request("aaaa", "r-early"), 0),
        ]);
        let ids: Vec<_> = store.of("aaaa").map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, ["r-early", "r-a", "r-b", "r-late"]);
        let added: Vec<_> = store.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(added, ["r-late", "r-b", "other", "r-a", "r-early"]);
    }

    #[test]
    fn find_matches_the_subscription_and_the_id_and_find_mut_changes_the_stored_request() {
        let mut store = RequestStore::default();
        store.extend([request("aaaa", "r1"), request("bbbb", "r1")]);
        assert_eq!(store.find("BBBB", "R1").map(|r| r.subscription_id.as_str()), Some("bbbb"));
        assert!(store.find("aaaa", "r2").is_none());
        assert!(store.find("cccc", "r1").is_none());
        store.find_mut("Bbbb", "r1").expect("stored").status = "Denied".into();
        assert_eq!(store.find("bbbb", "r1").map(|r| r.status.as_str()), Some("Denied"));
        assert_eq!(store.find("aaaa", "r1").map(|r| r.status.as_str()), Some("Pending"));
    }
}
