//! `lockbox requests list`: the requests of every subscription in scope, sorted by time left before expiry.

use std::collections::BTreeSet;

use azure_customer_lockbox::{RequestFilter, models::LockboxRequestStatus};
use chrono::Utc;
use futures::StreamExt;

use super::rows::{RequestRow, sort_by_time_left};
use crate::{
    backend::{Backend, Coverage, Listed, Located, guid_key},
    failure::Failure,
    output,
    session::Session,
};

/// Lists, prints, and gives the exit status the listing's coverage earns (1 when some subscriptions could not
/// be listed and others were).
pub async fn run(session: &Session, backend: &Backend, status: &[LockboxRequestStatus]) -> Result<u8, Failure> {
    // One status is filtered by the service; several, here (the service's filter takes one).
    let filter = match status {
        [one] => Some(RequestFilter::status(one.clone())),
        _ => None,
    };
    let mut listing = backend.list(filter)?;
    let (mut found, mut coverage) = (Vec::new(), Coverage::new(true, backend.endpoint()));
    // The subscriptions that answered with a request, or failed: those that said nothing are checked.
    let mut heard = BTreeSet::new();
    while let Some(item) = listing.next().await {
        if let Listed::Request(Located { subscription, .. }) | Listed::Failed { subscription, .. } = &item {
            heard.insert(guid_key(subscription));
        }
        found.extend(
            coverage
                .take(item)
                .filter(|located| status.is_empty() || located.request.status().is_some_and(|s| status.contains(s))),
        );
    }
    // A subscription given that the credential cannot see is not an empty queue.
    let quiet = if coverage.ended() { backend.given_without(&heard) } else { Vec::new() };
    for subscription in backend.not_visible(&quiet).await {
        coverage.not_visible(&subscription);
    }
    sort_by_time_left(&mut found);
    let now = Utc::now();
    if coverage.listed_any() {
        output::list(&session.output, &found.iter().map(|l| RequestRow(l, now)).collect::<Vec<_>>())?;
    }
    Ok(coverage.exit_code())
}
