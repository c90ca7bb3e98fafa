//! Listings that change while they are paged (issue 32): the emulator's between-pages fault decides, expires or
//! creates a request (or a subscription) while a client is between the pages of a listing, as another principal
//! would, and the watches and the every-subscription listing report no false `Removed`, miss no new request and
//! show nothing twice.

use std::{collections::HashSet, time::Duration};

use crate::common::{SUB, client};
use azure_customer_lockbox::{
    RequestFilter, Watch, WatchEvent,
    every_subscription::{AllRequestsItem, AllRequestsWatchEvent},
    models::LockboxRequestStatus,
    options::{AllRequestsOptions, AllRequestsWatchOptions, WatchOptions},
};
use azure_customer_lockbox_emulator::{
    Emulator, EmulatorConfig, Fault, NewLockboxRequest, NewSubscription, Operation, PageChange, Seed, SeedRequest,
};

/// A guard against a hang, not a timing assertion: events come within a few 20 ms intervals.
const GUARD: Duration = Duration::from_secs(20);

/// The next event that is about a request (`New`, `StatusChanged`, `Removed`), or a failure, as `kind id`.
async fn next_change(watch: &mut Watch) -> String {
    loop {
        let next = tokio::time::timeout(GUARD, watch.try_next()).await.expect("an event in time");
        let event = match next {
            Ok(Some(event)) => event,
            Ok(None) => return "end".to_owned(),
            Err(error) => return format!("error {error}"),
        };
        match event {
            WatchEvent::New(request) => return format!("new {}", request.request_id().unwrap_or_default()),
            WatchEvent::StatusChanged { request, old, new } => {
                return format!("changed {} {old}->{new}", request.request_id().unwrap_or_default());
            }
            WatchEvent::Removed { request_id } => return format!("removed {request_id}"),
            _ => {}
        }
    }
}

/// An emulator answering pages of 2, with `count` pending requests in `SUB`, oldest first.
async fn emulator_with_pending(count: usize) -> (Emulator, Vec<String>) {
    let emulator = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let ids = (0..count).map(|_| emulator.create_request(SUB, NewLockboxRequest::default())).collect();
    (emulator, ids)
}

/// A watch of `SUB`'s pending requests every 20 ms, having reported the `existing` ones.
async fn pending_watch(emulator: &Emulator, existing: &[String]) -> Watch {
    let (client, _) = client(emulator.url().as_str());
    let options = WatchOptions {
        filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
        jitter: 0.0,
        ..WatchOptions::every(Duration::from_millis(20))
    };
    let mut watch = client.requests(SUB).unwrap().watch(Some(options)).unwrap();
    let mut seen = HashSet::new();
    for _ in existing {
        seen.insert(next_change(&mut watch).await);
    }
    assert_eq!(seen, existing.iter().map(|id| format!("new {id}")).collect());
    watch
}

/// Issue 32, finding 3: deciding (or expiring) a request the watch was already given, between two pages,
/// shifts the later offsets back: the listing skips a request that is still `Pending`. The watch reports the
/// decided one removed, and the skipped one not at all.
#[tokio::test]
async fn a_request_decided_or_expired_between_pages_is_the_only_one_removed() {
    for change in [PageChange::Decide, PageChange::Expire] {
        let (emulator, ids) = emulator_with_pending(6).await;
        let mut watch = pending_watch(&emulator, &ids).await;
        emulator.inject(Fault::between_pages(change).on(Operation::RequestsList));
        let changed = next_change(&mut watch).await;
        let records = emulator.page_changes();
        assert_eq!(records.len(), 1, "{change:?}: the fault took effect once");
        assert_eq!(changed, format!("removed {}", records[0].request_id), "{change:?}");
        // A marker created now is the next thing said: nothing was queued about the skipped request.
        let marker = emulator.create_request(SUB, NewLockboxRequest::default());
        assert_eq!(next_change(&mut watch).await, format!("new {marker}"), "{change:?}");
        emulator.shutdown().await;
    }
}

/// A request created between two pages and listed first shifts the later offsets forward: the listing shows a
/// request twice. The watch reports the new request once, and nothing else.
#[tokio::test]
async fn a_request_created_between_pages_is_new_once_and_nothing_repeats() {
    let (emulator, ids) = emulator_with_pending(6).await;
    let mut watch = pending_watch(&emulator, &ids).await;
    emulator.inject(Fault::between_pages(PageChange::Create).on(Operation::RequestsList).times(3));
    let mut created = HashSet::new();
    for _ in 0..3 {
        assert!(created.insert(next_change(&mut watch).await), "nothing twice: {created:?}");
    }
    let records: HashSet<String> =
        emulator.page_changes().into_iter().map(|r| format!("new {}", r.request_id)).collect();
    assert_eq!(created, records);
    let marker = emulator.create_request(SUB, NewLockboxRequest::default());
    assert_eq!(next_change(&mut watch).await, format!("new {marker}"));
    emulator.shutdown().await;
}

/// Issue 32, finding 5: a subscription created between two pages of `Subscriptions_List` and listed first makes
/// the listing name another subscription twice. The every-subscription listing lists it once.
#[tokio::test]
async fn the_every_subscription_listing_lists_a_subscription_named_twice_once() {
    let emulator = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let subscriptions: Vec<String> = (1..=5).map(|n| format!("aaaaaaaa-0000-4000-8000-00000000000{n}")).collect();
    let mut requests = HashSet::new();
    for subscription in &subscriptions {
        emulator.add_subscription(NewSubscription::new(subscription));
        requests.insert(emulator.create_request(subscription, NewLockboxRequest::default()));
    }
    // Also between the pages of one subscription's requests: a request created and listed first.
    let busy = &subscriptions[4];
    for _ in 0..3 {
        requests.insert(emulator.create_request(busy, NewLockboxRequest::default()));
    }
    emulator.inject(Fault::between_pages(PageChange::Create).on(Operation::SubscriptionsList));
    emulator.inject(Fault::between_pages(PageChange::Create).on(Operation::RequestsList));
    let (client, _) = client(emulator.url().as_str());
    let mut listing = client.all_requests(Some(AllRequestsOptions::default())).unwrap();
    let mut seen = Vec::new();
    while let Some(item) = tokio::time::timeout(GUARD, listing.try_next()).await.unwrap().unwrap() {
        match item {
            AllRequestsItem::Request(found) => seen.push(found.request.request_id().unwrap_or_default().to_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(emulator.page_changes().len(), 2, "both faults took effect");
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no request twice: {seen:?}");
    assert!(requests.is_subset(&unique), "every request there before the listing began is listed");
    emulator.shutdown().await;
}

/// The next event of a tenant watch, within the guard.
async fn next_tenant_event(
    watch: &mut azure_customer_lockbox::every_subscription::AllRequestsWatch,
) -> AllRequestsWatchEvent {
    let next = tokio::time::timeout(GUARD, watch.try_next()).await.expect("an event in time");
    next.expect("no failure").expect("a watch never ends")
}

/// Issue 32, finding 4: with `emit_existing: false`, a subscription that appears after the watch started
/// reports the requests created since the watch started (not the ones from before), whether it appears by
/// itself or between the pages of `Subscriptions_List`.
#[tokio::test]
async fn a_subscription_that_appears_later_reports_the_requests_created_since_the_watch_started() {
    let emulator = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let first = "aaaaaaaa-0000-4000-8000-000000000001";
    let late = "bbbbbbbb-0000-4000-8000-000000000002";
    let extra: Vec<String> = (3..=5).map(|n| format!("cccccccc-0000-4000-8000-00000000000{n}")).collect();
    emulator.add_subscription(NewSubscription::new(first));
    for subscription in &extra {
        emulator.add_subscription(NewSubscription::new(subscription));
    }
    emulator.create_request(first, NewLockboxRequest::default());
    let (client, _) = client(emulator.url().as_str());
    let options = AllRequestsWatchOptions {
        watch: WatchOptions { emit_existing: false, jitter: 0.0, ..WatchOptions::every(Duration::from_millis(20)) },
        refresh: Duration::from_millis(50),
    };
    let mut watch = client.watch_all_requests(Some(options)).unwrap();
    let mut added = HashSet::new();
    while added.len() < 4 {
        if let AllRequestsWatchEvent::SubscriptionAdded(id) = next_tenant_event(&mut watch).await {
            added.insert(id.to_string());
        }
    }
    // The late subscription holds a request from two days before the watch, and one created now.
    let old = "dddddddd-0000-4000-8000-000000000001";
    let two_days_ago = emulator.now() - chrono::TimeDelta::days(2);
    let seed = SeedRequest {
        subscription_id: late.into(),
        request_id: Some(old.into()),
        status: Some("Pending".into()),
        created_date_time: Some(two_days_ago),
        expiration_date_time: None,
        request: NewLockboxRequest::default(),
    };
    emulator.seed(Seed { requests: vec![seed], ..Seed::default() });
    let fresh = emulator.create_request(late, NewLockboxRequest::default());
    // And a subscription created between two pages of a later reading, with its own new request.
    emulator.inject(Fault::between_pages(PageChange::Create).on(Operation::SubscriptionsList));
    let mut expected: HashSet<String> = HashSet::from([fresh.clone()]);
    let mut reported = HashSet::new();
    while reported != expected {
        if let Some(record) = emulator.page_changes().first() {
            expected.insert(record.request_id.clone());
        }
        match next_tenant_event(&mut watch).await {
            AllRequestsWatchEvent::Request { event: WatchEvent::New(request), .. } => {
                let id = request.request_id().unwrap_or_default().to_owned();
                assert_ne!(id, old, "a request from before the watch is not new");
                assert!(reported.insert(id.clone()), "{id} reported twice");
            }
            AllRequestsWatchEvent::Failed(failure) => panic!("{}", failure.error),
            _ => {}
        }
    }
    emulator.shutdown().await;
}
