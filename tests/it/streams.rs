//! Issue 31: one `try_next` contract for every stream of the crate (stated once, in the crate documentation under
//! "Listings and watches"), and the floor of a watch's interval.
//!
//! The same generic driver takes each of the five streams (a listing, a page stream, the tenant-wide listing,
//! a watch, the tenant-wide watch) through one failure, against the emulator, and checks the contract on what
//! their `try_next` gave: `Ok(None)` only at the end and for good, one `Err` per failure, and after it either
//! the next item (a stream that goes on) or the end (one that cannot).

use std::time::Duration;

use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, Listing, PageStream, StaticTokenCredential, Watch,
    every_subscription::{AllRequests, AllRequestsWatch},
    models::LockboxRequestResponse,
    options::{AllRequestsOptions, AllRequestsWatchOptions, MIN_WATCH_INTERVAL, RequestsListOptions, WatchOptions},
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, Fault, NewLockboxRequest, NewSubscription, Operation};
use futures::Stream;

use crate::common::client;

const SUB: &str = "0a0a0a0a-0000-4000-8000-000000000001";

/// A guard against a hang, not a timing assertion: every answer comes within a few 20 ms intervals.
const GUARD: Duration = Duration::from_secs(20);

/// The `try_next` of each stream, so that one generic driver takes them all. Each impl only forwards to the
/// stream's own (inherent) `try_next`, the one a caller uses without imports.
trait TryNext {
    type Item;
    async fn try_next(&mut self) -> Result<Option<Self::Item>, Error>;
}

macro_rules! forward_try_next {
    ($($stream:ty => $item:ty),* $(,)?) => {$(
        impl TryNext for $stream {
            type Item = $item;
            async fn try_next(&mut self) -> Result<Option<$item>, Error> {
                <$stream>::try_next(self).await
            }
        }
    )*};
}

forward_try_next! {
    Listing<LockboxRequestResponse> => LockboxRequestResponse,
    PageStream<LockboxRequestResponse> => azure_customer_lockbox::Page<LockboxRequestResponse>,
    AllRequests => azure_customer_lockbox::every_subscription::AllRequestsItem,
    Watch => azure_customer_lockbox::WatchEvent,
    AllRequestsWatch => azure_customer_lockbox::every_subscription::AllRequestsWatchEvent,
}

/// Every one of them is also a `futures::Stream` of `Result`s with the same items (the contract's other face).
fn is_a_stream_of_results<S: TryNext + Stream<Item = Result<<S as TryNext>::Item, Error>>>(_: &S) {}

/// What one call of `try_next` gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    Item,
    End,
    Failed,
}

/// Calls `try_next` until it has given one `Err`, then `after` more times; returns what each call gave, having
/// checked the contract's rules that hold for every stream: `Ok(None)`, once given, is given by every later call.
async fn through_one_failure<S: TryNext>(stream: &mut S, after: usize) -> Vec<Got> {
    let mut got = Vec::new();
    let mut left = None;
    while left != Some(0) {
        let next = tokio::time::timeout(GUARD, stream.try_next()).await.expect("an answer in time");
        let this = match next {
            Ok(Some(_)) => Got::Item,
            Ok(None) => Got::End,
            Err(_) => Got::Failed,
        };
        if got.last() == Some(&Got::End) {
            assert_eq!(this, Got::End, "Ok(None) is the end, for good: {got:?} then {this:?}");
        }
        got.push(this);
        left = match (left, this) {
            (None, Got::Failed) => Some(after),
            (None, _) => None,
            (Some(n), _) => Some(n - 1),
        };
        assert!(got.len() < 100, "no failure came: {got:?}");
    }
    got
}

/// What a stream that cannot go on gives after its failure: the end, for good.
fn ends_after_the_failure(got: &[Got]) {
    let failed = got.iter().position(|g| *g == Got::Failed).unwrap();
    assert!(got[failed + 1..].iter().all(|g| *g == Got::End), "{got:?}");
    assert!(got[..failed].iter().all(|g| *g == Got::Item), "{got:?}");
}

/// What a stream that goes on gives after its failure: its next item, and never the end.
fn goes_on_after_the_failure(got: &[Got]) {
    let failed = got.iter().position(|g| *g == Got::Failed).unwrap();
    assert_eq!(got.get(failed + 1), Some(&Got::Item), "{got:?}");
    assert!(!got.contains(&Got::End), "a watch never ends: {got:?}");
}

async fn emulator_with_requests() -> Emulator {
    let emulator = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    emulator.add_subscription(NewSubscription::new(SUB));
    for _ in 0..3 {
        emulator.create_request(SUB, NewLockboxRequest::default());
    }
    emulator
}

/// A fault that fails the next `operation` with a 403, which no retry mends and a watch reports at once.
fn forbidden(operation: Operation) -> Fault {
    Fault::status(403).on(operation).times(1)
}

fn fast_watch() -> WatchOptions {
    WatchOptions { jitter: 0.0, ..WatchOptions::every(Duration::from_millis(20)) }
}

#[tokio::test]
async fn every_stream_keeps_one_try_next_contract_through_a_failure() {
    let emulator = emulator_with_requests().await;
    let (client, _) = client(emulator.url().as_str());
    let requests = client.requests(SUB).unwrap();

    // A listing: its second page fails; it cannot go on, so it ends.
    let mut listing = requests.list(None);
    is_a_stream_of_results(&listing);
    assert!(listing.try_next().await.unwrap().is_some());
    emulator.inject(forbidden(Operation::RequestsList));
    ends_after_the_failure(&through_one_failure(&mut listing, 3).await);

    // Its pages, the same.
    let mut pages = requests.list(None).into_pages();
    is_a_stream_of_results(&pages);
    emulator.inject(forbidden(Operation::RequestsList));
    ends_after_the_failure(&through_one_failure(&mut pages, 3).await);

    // The tenant-wide listing: the subscriptions cannot be listed; nothing can go on.
    let mut all = client.all_requests(None).unwrap();
    is_a_stream_of_results(&all);
    emulator.inject(forbidden(Operation::SubscriptionsList));
    ends_after_the_failure(&through_one_failure(&mut all, 3).await);

    // A watch: a listing fails; the next one (after the interval) goes on.
    let mut watch = requests.watch(Some(fast_watch())).unwrap();
    is_a_stream_of_results(&watch);
    emulator.inject(forbidden(Operation::RequestsList));
    goes_on_after_the_failure(&through_one_failure(&mut watch, 3).await);

    // The tenant-wide watch: the subscriptions cannot be listed; the next reading goes on.
    let options = AllRequestsWatchOptions { watch: fast_watch(), refresh: Duration::from_millis(20) };
    let mut tenant_watch = client.watch_all_requests(Some(options)).unwrap();
    is_a_stream_of_results(&tenant_watch);
    emulator.inject(forbidden(Operation::SubscriptionsList));
    goes_on_after_the_failure(&through_one_failure(&mut tenant_watch, 3).await);
    emulator.shutdown().await;
}

/// A client of Resource Manager itself (nothing is sent by these tests: the watch is refused when made).
fn arm_client() -> CustomerLockboxClient {
    CustomerLockboxClient::new(StaticTokenCredential::new("unused"), None).unwrap()
}

#[test]
fn a_watch_of_resource_manager_refuses_an_interval_below_the_floor_before_any_request() {
    assert!(MIN_WATCH_INTERVAL >= Duration::from_secs(1), "{MIN_WATCH_INTERVAL:?}");
    let client = arm_client();
    let requests = client.requests(SUB).unwrap();
    let short = MIN_WATCH_INTERVAL - Duration::from_millis(1);
    for interval in [Duration::ZERO, Duration::from_millis(1), short] {
        match requests.watch(Some(WatchOptions::every(interval))) {
            Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, "interval"),
            other => panic!("{interval:?}: {other:?}"),
        }
        let options = AllRequestsWatchOptions { watch: WatchOptions::every(interval), ..Default::default() };
        match client.watch_all_requests(Some(options)) {
            Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, "interval"),
            other => panic!("{interval:?}: {other:?}"),
        }
        let options = AllRequestsWatchOptions { refresh: interval, ..Default::default() };
        match client.watch_all_requests(Some(options)) {
            Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, "refresh"),
            other => panic!("{interval:?}: {other:?}"),
        }
    }
    // The floor itself, and the defaults, are taken.
    requests.watch(Some(WatchOptions::every(MIN_WATCH_INTERVAL))).unwrap();
    requests.watch(None).unwrap();
    client.watch_all_requests(None).unwrap();
}

#[test]
fn only_a_loopback_endpoint_takes_a_shorter_interval() {
    let short = Some(WatchOptions::every(Duration::from_millis(1)));
    for endpoint in ["http://127.0.0.1:9", "http://[::1]:9", "http://localhost:9"] {
        let options = CustomerLockboxClientOptions::for_endpoint(endpoint).unwrap();
        let client = CustomerLockboxClient::new(StaticTokenCredential::new("unused"), Some(options)).unwrap();
        client.requests(SUB).unwrap().watch(short.clone()).unwrap();
    }
    // Any other host is Resource Manager as far as the floor goes: a proxy, a sovereign cloud, a typo.
    for endpoint in ["https://management.usgovcloudapi.net", "https://127.0.0.1.example.com"] {
        let options = CustomerLockboxClientOptions::for_endpoint(endpoint).unwrap();
        let client = CustomerLockboxClient::new(StaticTokenCredential::new("unused"), Some(options)).unwrap();
        let refused = client.requests(SUB).unwrap().watch(short.clone());
        assert!(matches!(refused, Err(Error::InvalidArgument { .. })), "{endpoint}: {refused:?}");
    }
}

#[tokio::test]
async fn a_listing_given_options_still_keeps_the_contract() {
    // The contract does not depend on the options: a filtered listing ends for good at its end.
    let emulator = emulator_with_requests().await;
    let (client, _) = client(emulator.url().as_str());
    let mut pending = client.requests(SUB).unwrap().list(Some(RequestsListOptions::pending()));
    let mut got = Vec::new();
    for _ in 0..8 {
        got.push(match pending.try_next().await {
            Ok(Some(_)) => Got::Item,
            Ok(None) => Got::End,
            Err(error) => panic!("{error}"),
        });
    }
    assert_eq!(got, [Got::Item, Got::Item, Got::Item, Got::End, Got::End, Got::End, Got::End, Got::End]);
    let mut all = client.all_requests(Some(AllRequestsOptions::default())).unwrap();
    let mut items = 0;
    while all.try_next().await.unwrap().is_some() {
        items += 1;
    }
    assert_eq!(items, 3);
    assert!(all.try_next().await.unwrap().is_none(), "the end, for good");
    emulator.shutdown().await;
}
