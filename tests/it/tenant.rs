//! Tenant-wide review (issue 16): `Subscriptions_List`, the tenant-wide listing with its failure items,
//! skipping by state and shared throttling, `find_request`, and the tenant-wide watch. Against the emulator,
//! and against wiremock where exact answers or timings are needed.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::common;
use crate::common::{TestClient, client, mock_server, request_json};
use azure_customer_lockbox::{
    Error, RequestFilter, WatchEvent,
    every_subscription::{AllRequestsItem, AllRequestsWatchEvent, FailureKind},
    models::{LockboxRequestStatus, SubscriptionState},
    options::{AllRequestsOptions, AllRequestsWatchOptions, Retries, WatchOptions},
};
use azure_customer_lockbox_emulator::{
    Emulator, EmulatorConfig, NewLockboxRequest, NewSubscription, SubscriptionAccess, SubscriptionState as EmuState,
    TenantSeed,
};
use serde_json::json;
use wiremock::{
    Mock, Respond, ResponseTemplate,
    matchers::{method, path, query_param},
};

const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

/// A client of `endpoint` that retries by `retry` (the shared `common::client` does not retry).
fn client_retrying(endpoint: &str, retry: Retries) -> azure_customer_lockbox::CustomerLockboxClient {
    TestClient::new(endpoint).retry(retry).build()
}

/// `max_retries` retries, 1 ms apart.
fn fast_retries(max_retries: u32) -> Retries {
    Retries::Fixed(azure_customer_lockbox::options::FixedRetries {
        delay: Duration::from_millis(1),
        max_retries,
        ..Default::default()
    })
}

async fn emulator(page_size: usize) -> Emulator {
    Emulator::start(EmulatorConfig { page_size, ..Default::default() }).await.unwrap()
}

#[tokio::test]
async fn subscriptions_list_sends_its_own_api_version_on_every_page_and_decodes_states() {
    let server = mock_server().await;
    let page = |state: &str, id: &str, next: serde_json::Value| {
        json!({"value": [{"id": format!("/subscriptions/{id}"), "subscriptionId": id, "displayName": "x",
            "state": state, "tenantId": common::TENANT}], "nextLink": next})
    };
    Mock::given(method("GET"))
        .and(path("/subscriptions"))
        .and(query_param("api-version", "2022-12-01"))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("SomethingNew", B, serde_json::Value::Null)))
        .expect(1)
        .mount(&server)
        .await;
    let next = format!("{}/subscriptions?api-version=2016-06-01&$skiptoken=p2", server.uri());
    Mock::given(method("GET"))
        .and(path("/subscriptions"))
        .and(query_param("api-version", "2022-12-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page("PastDue", A, json!(next))))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let subscriptions = client.subscriptions().list(None).try_collect().await.unwrap();
    let states: Vec<_> = subscriptions.iter().map(|s| (s.subscription_id.clone().unwrap(), s.state.clone())).collect();
    assert_eq!(
        states,
        [
            (A.to_owned(), Some(SubscriptionState::PastDue)),
            (B.to_owned(), Some(SubscriptionState::Other("SomethingNew".into())))
        ]
    );
    // Only the subscriptions call uses 2022-12-01: a Lockbox call keeps the client's api-version.
    for request in server.received_requests().await.unwrap() {
        let versions: Vec<_> = request.url.query_pairs().filter(|(k, _)| k == "api-version").collect();
        assert_eq!(versions.len(), 1, "{}", request.url);
        assert_eq!(versions[0].1, "2022-12-01");
    }
}

#[tokio::test]
async fn tenant_listing_yields_every_readable_request_once_skips_by_state_and_reports_failures() {
    let emulator = emulator(2).await;
    let seed = TenantSeed {
        subscriptions: 12,
        requests_per_subscription: 3,
        forbidden: 2,
        unregistered: 1,
        disabled: 2,
        deleted: 1,
        warned: 1,
        past_due: 1,
    };
    let ids = emulator.seed_tenant(&seed);
    // One request no longer pending in a readable subscription: the filter must leave it out.
    let approved = emulator.create_request(&ids[7], NewLockboxRequest::default());
    let (client, _) = client(emulator.url().as_str());
    let options = AllRequestsOptions {
        concurrency: 3,
        ..AllRequestsOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending))
    };
    let (client_for_decision, _) = common::client(emulator.url().as_str());
    client_for_decision.requests(&ids[7]).unwrap().approve(&approved, "ok", None).await.unwrap();

    let mut stream = client.all_requests(Some(options)).unwrap();
    let mut seen = HashSet::new();
    let mut failures = Vec::new();
    while let Some(item) = stream.try_next().await.unwrap() {
        match item {
            AllRequestsItem::Request(found) => {
                let name = found.request.name.clone().unwrap();
                assert_eq!(found.request.status(), Some(&LockboxRequestStatus::Pending));
                assert!(seen.insert((found.subscription_id.to_string(), name)), "listed twice");
            }
            AllRequestsItem::Failed(failure) => failures.push((failure.subscription_id.to_string(), failure.kind)),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Readable and active: ids[6..] (warned, past-due, enabled), 3 requests each.
    let readable: HashSet<&str> = ids[6..].iter().map(String::as_str).collect();
    assert_eq!(seen.len(), 6 * 3);
    assert!(seen.iter().all(|(sub, _)| readable.contains(sub.as_str())));
    failures.sort();
    let mut expected = vec![
        (ids[0].clone(), FailureKind::Forbidden),
        (ids[1].clone(), FailureKind::Forbidden),
        (ids[2].clone(), FailureKind::NotRegistered),
    ];
    expected.sort();
    assert_eq!(failures, expected);
    let summary = stream.summary();
    assert_eq!(summary.listed, 6);
    assert_eq!(summary.requests, 18);
    let mut failed = summary.failed.clone();
    failed.sort();
    assert_eq!(failed, expected);
    let mut skipped = summary.skipped.clone();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            (ids[3].clone(), SubscriptionState::Disabled),
            (ids[4].clone(), SubscriptionState::Disabled),
            (ids[5].clone(), SubscriptionState::Deleted)
        ]
    );
    // Skipped subscriptions were never asked for their requests; every listing carried the filter.
    for received in emulator.received() {
        if received.path.contains("Microsoft.CustomerLockbox/requests") && received.method == "GET" {
            assert!(!ids[3..6].iter().any(|id| received.path.contains(id.as_str())), "{}", received.path);
            if !received.query.as_deref().unwrap_or_default().contains("skip") {
                assert!(received.query.as_deref().unwrap_or_default().contains("filter"), "{:?}", received.query);
            }
        }
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_next_page_of_subscriptions_is_asked_for_while_the_current_pages_subscriptions_are_listed() {
    // Pages of 4 subscriptions, 2 listings at a time, 20 ms per answer: the third subscription's listing
    // can only start once a first one ended (about 20 ms after page 1). Reading ahead, the second page is
    // asked for as soon as page 1 arrives, so it reaches the emulator before that listing.
    let emulator = emulator(4).await;
    let ids =
        emulator.seed_tenant(&TenantSeed { subscriptions: 8, requests_per_subscription: 1, ..Default::default() });
    emulator.set_latency(Some(Duration::from_millis(20)..=Duration::from_millis(20)));
    let (client, _) = client(emulator.url().as_str());
    let mut stream = client.all_requests(Some(AllRequestsOptions { concurrency: 2, ..Default::default() })).unwrap();
    let mut listed = 0;
    while let Some(item) = stream.try_next().await.unwrap() {
        assert!(matches!(item, AllRequestsItem::Request(_)), "{item:?}");
        listed += 1;
    }
    assert_eq!(listed, 8);

    let received = emulator.received();
    let page_2 = received
        .iter()
        .position(|r| r.path == "/subscriptions" && r.query.as_deref().is_some_and(|q| q.contains("skipToken")))
        .expect("page 2 of the subscriptions was asked for");
    let third_listing = format!("/subscriptions/{}/", ids[2]);
    let third =
        received.iter().position(|r| r.path.starts_with(&third_listing)).expect("the third subscription was listed");
    assert!(page_2 < third, "page 2 asked at {page_2}, after the third listing at {third}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_given_subscription_that_is_not_a_guid_is_refused_before_sending() {
    let server = mock_server().await;
    let (client, _) = client(&server.uri());
    let options = AllRequestsOptions { subscriptions: Some(vec![A.into(), "not-a-guid".into()]), ..Default::default() };
    let error = client.all_requests(Some(options)).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    let error = client.find_request("", None).await.unwrap_err();
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn find_request_takes_the_listing_options_and_refuses_a_filter_before_sending() {
    let server = mock_server().await;
    let (client, _) = client(&server.uri());
    // One options type for the tenant-wide listing and the lookup: a lookup reads each request by id, so a
    // filter has nothing to narrow, and is refused rather than ignored.
    let pending = AllRequestsOptions::filter(RequestFilter::status(LockboxRequestStatus::Pending));
    let error = client.find_request("LB-1", Some(pending)).await.unwrap_err();
    match error {
        Error::InvalidArgument { name, .. } => assert_eq!(name, "filter"),
        other => panic!("{other:?}"),
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn not_found_and_spent_retries_are_failure_items_and_the_rest_goes_on() {
    let server = mock_server().await;
    let list_path = |sub: &str| format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests");
    const C: &str = "cccccccc-0000-4000-8000-000000000003";
    Mock::given(method("GET"))
        .and(path(list_path(A)))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "SubscriptionNotFound", "message": "gone"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path(C)))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": {"code": "ServerBusy", "message": "x"}})),
        )
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path(B)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(B, "r1", "Pending")]})))
        .mount(&server)
        .await;
    let client = client_retrying(&server.uri(), fast_retries(2));
    let options = AllRequestsOptions { subscriptions: Some(vec![A.into(), B.into(), C.into()]), ..Default::default() };
    let mut stream = client.all_requests(Some(options)).unwrap();
    let (mut requests, mut failures) = (Vec::new(), Vec::new());
    while let Some(item) = stream.try_next().await.unwrap() {
        match item {
            AllRequestsItem::Request(r) => {
                requests.push((r.subscription_id.to_string(), r.request.name.clone().unwrap()))
            }
            AllRequestsItem::Failed(f) => {
                failures.push((f.subscription_id.to_string(), f.kind, f.error.status().map(|s| s.as_u16())))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(requests, [(B.to_owned(), "r1".to_owned())]);
    failures.sort();
    assert_eq!(
        failures,
        [(A.to_owned(), FailureKind::NotFound, Some(404)), (C.to_owned(), FailureKind::Other, Some(503))]
    );
    assert_eq!(stream.summary().listed, 1);
}

#[tokio::test]
async fn find_request_is_not_found_only_when_every_subscription_answered() {
    let server = mock_server().await;
    let get_path = |sub: &str| format!("/subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{ID}");
    const ID: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";
    const C: &str = "cccccccc-0000-4000-8000-000000000003";
    let refuse = |status: u16, code: &str| {
        ResponseTemplate::new(status).set_body_json(json!({"error": {"code": code, "message": "x"}}))
    };
    Mock::given(method("GET")).and(path(get_path(A))).respond_with(refuse(404, "RequestNotFound")).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(get_path(B)))
        .respond_with(refuse(403, "AuthorizationFailed"))
        .mount(&server)
        .await;
    // C never answers in a way that tells: 503 past the retries.
    Mock::given(method("GET")).and(path(get_path(C))).respond_with(refuse(503, "ServerBusy")).mount(&server).await;
    let client = client_retrying(&server.uri(), fast_retries(1));

    // A 404 and a 403 are answers: with only those, the request is nowhere the caller can read.
    let answered = AllRequestsOptions { subscriptions: Some(vec![A.into(), B.into()]), ..Default::default() };
    assert!(client.find_request(ID, Some(answered)).await.unwrap().is_none());

    // With C unreadable for now, "not found" would not be the truth: C's error is returned.
    let all = AllRequestsOptions { subscriptions: Some(vec![A.into(), B.into(), C.into()]), ..Default::default() };
    let error = client.find_request(ID, Some(all)).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503), "{error}");
    assert_eq!(error.code(), Some("ServerBusy"));
    let asked_c = server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == get_path(C)).count();
    assert_eq!(asked_c, 2, "one try and one retry");
}

/// Answers a request, given how many times its URL was asked before.
type Answer = Box<dyn Fn(&wiremock::Request, usize) -> ResponseTemplate + Send + Sync>;

/// Records when each request arrived, and answers per path.
struct Timed {
    log: Arc<Mutex<Vec<(String, Instant)>>>,
    answer: Answer,
}

impl Respond for Timed {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut log = self.log.lock().unwrap();
        let n = log.iter().filter(|(p, _)| *p == request.url.to_string()).count();
        log.push((request.url.to_string(), Instant::now()));
        (self.answer)(request, n)
    }
}

#[tokio::test]
async fn a_429_on_one_listing_holds_back_the_others_until_the_hinted_time() {
    let server = mock_server().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let uri = server.uri();
    let answer = move |request: &wiremock::Request, n: usize| {
        let url = request.url.to_string();
        if url.contains(A) {
            // A: throttled once, asking for 400 ms.
            if n == 0 {
                ResponseTemplate::new(429).insert_header("retry-after-ms", "400")
            } else {
                ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(A, "a1", "Pending")]}))
            }
        } else if url.contains("page2") {
            ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(B, "b2", "Pending")]}))
        } else {
            // B's first page arrives after A was throttled, and points to a second page.
            let next = format!("{uri}/subscriptions/{B}/providers/Microsoft.CustomerLockbox/requests?page2=1");
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(100))
                .set_body_json(json!({"value": [request_json(B, "b1", "Pending")], "nextLink": next}))
        }
    };
    Mock::given(method("GET")).respond_with(Timed { log: log.clone(), answer: Box::new(answer) }).mount(&server).await;
    let client = client_retrying(&server.uri(), Retries::default());
    let options = AllRequestsOptions { subscriptions: Some(vec![A.into(), B.into()]), ..Default::default() };
    let mut stream = client.all_requests(Some(options)).unwrap();
    let mut names = Vec::new();
    while let Some(item) = stream.try_next().await.unwrap() {
        let AllRequestsItem::Request(r) = item else { panic!("no failure expected") };
        names.push(r.request.name.clone().unwrap());
    }
    names.sort();
    assert_eq!(names, ["a1", "b1", "b2"]);
    assert_eq!(stream.summary().throttled, 1);
    let log = log.lock().unwrap();
    let throttled_at = log.iter().find(|(u, _)| u.contains(A)).unwrap().1;
    let b_page2_at = log.iter().find(|(u, _)| u.contains("page2")).unwrap().1;
    // B's second page was due ~100 ms after A's 429, but waited for the 400 ms A was asked to wait.
    assert!(
        b_page2_at.duration_since(throttled_at) >= Duration::from_millis(390),
        "B sent {:?} after the 429",
        b_page2_at.duration_since(throttled_at)
    );
}

#[tokio::test]
async fn find_request_returns_the_subscription_and_stops_once_found() {
    let emulator = emulator(50).await;
    let ids =
        emulator.seed_tenant(&TenantSeed { subscriptions: 40, requests_per_subscription: 1, ..Default::default() });
    let target = emulator.create_request(&ids[10], NewLockboxRequest::default());
    emulator.set_latency(Some(Duration::from_millis(20)..=Duration::from_millis(20)));
    let (client, _) = client(emulator.url().as_str());
    let concurrency = 4;
    let options = AllRequestsOptions { concurrency, ..Default::default() };
    let found = client.find_request(&target, Some(options)).await.unwrap().expect("found");
    assert_eq!(&*found.subscription_id, ids[10].as_str());
    assert_eq!(found.request.name.as_deref(), Some(target.as_str()));

    let gets: Vec<String> = emulator
        .received()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/requests/"))
        .map(|r| r.path)
        .collect();
    let hit = gets.iter().position(|p| p.contains(ids[10].as_str())).expect("the hit was asked");
    assert!(gets.len() - hit - 1 <= concurrency, "{} subscriptions asked after the hit", gets.len() - hit - 1);
    assert!(gets.len() < 40, "the search went on: {} asked", gets.len());

    // A request nobody has: every subscription is asked, and the answer is None.
    emulator.set_latency(None);
    let nobody = "00000000-dead-beef-0000-000000000000";
    let missing = client.find_request(nobody, None).await.unwrap();
    assert!(missing.is_none());
    let asked: Vec<String> = emulator
        .received()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&format!("/requests/{nobody}")))
        .map(|r| r.path)
        .collect();
    assert_eq!(asked.len(), 40, "{asked:?}");
    assert_eq!(asked.iter().collect::<HashSet<_>>().len(), 40, "every subscription was asked once: {asked:?}");
    emulator.shutdown().await;
}

async fn next_event(watch: &mut azure_customer_lockbox::every_subscription::AllRequestsWatch) -> AllRequestsWatchEvent {
    let next = tokio::time::timeout(Duration::from_secs(20), watch.try_next()).await.expect("an event in time");
    next.expect("no failure").expect("a watch never ends")
}

/// Takes the event that says `subscription`'s first listing is complete.
async fn init_done(
    watch: &mut azure_customer_lockbox::every_subscription::AllRequestsWatch,
    subscription: &str,
    requests: usize,
) {
    match next_event(watch).await {
        AllRequestsWatchEvent::Request { subscription_id, event: WatchEvent::InitDone { requests: n } } => {
            assert_eq!((&*subscription_id, n), (subscription, requests));
        }
        other => panic!("expected the end of {subscription}'s first listing, got {other:?}"),
    }
}

#[tokio::test]
async fn tenant_watch_picks_up_a_new_subscription_and_a_new_request_and_ends_a_removed_one_quietly() {
    let emulator = emulator(50).await;
    emulator.add_subscription(NewSubscription::new(A));
    let first = emulator.create_request(A, NewLockboxRequest::default());
    let (client, _) = client(emulator.url().as_str());
    let options = AllRequestsWatchOptions {
        watch: WatchOptions { interval: Duration::from_millis(50), jitter: 0.0, ..Default::default() },
        refresh: Duration::from_millis(100),
    };
    let mut watch = client.watch_all_requests(Some(options)).unwrap();
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::SubscriptionAdded(id) if &*id == A));
    match next_event(&mut watch).await {
        AllRequestsWatchEvent::Request { subscription_id, event: WatchEvent::New(request) } => {
            assert_eq!(&*subscription_id, A);
            assert_eq!(request.name.as_deref(), Some(first.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    init_done(&mut watch, A, 1).await;

    // A new subscription, with a request, and a forbidden one that must not end the watch.
    emulator.add_subscription(NewSubscription::new(B));
    let in_b = emulator.create_request(B, NewLockboxRequest::default());
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::SubscriptionAdded(id) if &*id == B));
    match next_event(&mut watch).await {
        AllRequestsWatchEvent::Request { subscription_id, event: WatchEvent::New(request) } => {
            assert_eq!(&*subscription_id, B);
            assert_eq!(request.name.as_deref(), Some(in_b.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    init_done(&mut watch, B, 1).await;

    // A new request in the first subscription.
    let second = emulator.create_request(A, NewLockboxRequest::default());
    match next_event(&mut watch).await {
        AllRequestsWatchEvent::Request { subscription_id, event: WatchEvent::New(request) } => {
            assert_eq!(&*subscription_id, A);
            assert_eq!(request.name.as_deref(), Some(second.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }

    // A disabled subscription's watch ends, quietly: no error, just the removal.
    emulator.add_subscription(NewSubscription::new(A).with_state(EmuState::Disabled));
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::SubscriptionRemoved(id) if &*id == A));
    assert_eq!(watch.subscriptions(), [Arc::from(B)]);
    emulator.add_subscription(NewSubscription::new(B).with_access(SubscriptionAccess::Readable));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_tenant_watch_over_no_subscription_says_so_at_every_reading_until_one_appears() {
    let emulator = emulator(50).await;
    let (client, _) = client(emulator.url().as_str());
    let options = AllRequestsWatchOptions {
        watch: WatchOptions { interval: Duration::from_millis(50), jitter: 0.0, ..Default::default() },
        refresh: Duration::from_millis(100),
    };
    let mut watch = client.watch_all_requests(Some(options)).unwrap();
    // Nothing to watch is said at the first reading, and again at the next one.
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::NoSubscriptions));
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::NoSubscriptions));
    let readings = |emulator: &Emulator| {
        emulator.received().into_iter().filter(|r| r.method == "GET" && r.path == "/subscriptions").count()
    };
    assert_eq!(readings(&emulator), 2);

    // A subscription appears: its watch starts and its request comes; no more NoSubscriptions while it is there.
    emulator.add_subscription(NewSubscription::new(A));
    let request = emulator.create_request(A, NewLockboxRequest::default());
    let mut events = Vec::new();
    loop {
        match next_event(&mut watch).await {
            AllRequestsWatchEvent::Request { subscription_id, event: WatchEvent::New(new) } => {
                assert_eq!(&*subscription_id, A);
                assert_eq!(new.name.as_deref(), Some(request.as_str()));
                break;
            }
            other => events.push(format!("{other:?}")),
        }
    }
    assert_eq!(events.iter().filter(|e| e.starts_with("NoSubscriptions")).count(), events.len() - 1, "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some(format!("SubscriptionAdded({A:?})").as_str()), "{events:?}");
    init_done(&mut watch, A, 1).await;

    // The only subscription is disabled: its watch ends, and the watch says again that there is nothing to watch.
    emulator.add_subscription(NewSubscription::new(A).with_state(EmuState::Disabled));
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::SubscriptionRemoved(id) if &*id == A));
    assert!(matches!(next_event(&mut watch).await, AllRequestsWatchEvent::NoSubscriptions));
    assert!(watch.subscriptions().is_empty());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_429_on_one_subscription_holds_back_the_tenant_watch_of_the_others_until_the_hinted_time() {
    let server = mock_server().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let answer = move |request: &wiremock::Request, n: usize| {
        let url = request.url.to_string();
        if request.url.path() == "/subscriptions" {
            let subscription = |id: &str| {
                json!({"id": format!("/subscriptions/{id}"), "subscriptionId": id, "displayName": "x",
                    "state": "Enabled", "tenantId": common::TENANT})
            };
            ResponseTemplate::new(200).set_body_json(json!({"value": [subscription(A), subscription(B)]}))
        } else if url.contains(A) && n == 0 {
            // A's first listing is throttled, asking for 400 ms.
            ResponseTemplate::new(429).insert_header("retry-after-ms", "400")
        } else if url.contains(A) {
            ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(A, "a1", "Pending")]}))
        } else {
            // B's first answer takes 150 ms, so its second listing is due about 250 ms after the start: well
            // after A's 429, and well inside the 400 ms A was asked to wait.
            let b = ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(B, "b1", "Pending")]}));
            if n == 0 { b.set_delay(Duration::from_millis(150)) } else { b }
        }
    };
    Mock::given(method("GET")).respond_with(Timed { log: log.clone(), answer: Box::new(answer) }).mount(&server).await;
    let client = client_retrying(&server.uri(), Retries::default());
    // B's watch lists every 100 ms, so several of its listings fall inside the 400 ms A was asked to wait.
    let options = AllRequestsWatchOptions {
        watch: WatchOptions { interval: Duration::from_millis(100), jitter: 0.0, ..Default::default() },
        refresh: Duration::from_secs(600),
    };
    let mut watch = client.watch_all_requests(Some(options)).unwrap();
    let mut new = HashSet::new();
    while new.len() < 2 {
        if let AllRequestsWatchEvent::Request { event: WatchEvent::New(request), .. } = next_event(&mut watch).await {
            new.insert(request.name.clone().unwrap());
        }
    }
    // A little longer, for B's listings after the wait.
    let _ = tokio::time::timeout(Duration::from_millis(300), watch.try_next()).await;
    assert_eq!(new, HashSet::from(["a1".to_owned(), "b1".to_owned()]));

    let log = log.lock().unwrap();
    let b_listings = |log: &[(String, Instant)]| -> Vec<Instant> {
        log.iter().filter(|(u, _)| u.contains(B) && u.contains("/requests")).map(|(_, at)| *at).collect()
    };
    let throttled_at = log.iter().find(|(u, _)| u.contains(A) && u.contains("/requests")).unwrap().1;
    // Both watches start together, so B's first listing may be on its way when A's 429 comes back. Every later
    // one waited for the 400 ms A was asked to wait.
    let b = b_listings(&log);
    let later: Vec<Duration> = b[1..].iter().map(|at| at.saturating_duration_since(throttled_at)).collect();
    assert!(!later.is_empty(), "B went on listing after the wait");
    assert!(later.iter().all(|d| *d >= Duration::from_millis(390)), "B listed {later:?} after A's 429");
}

/// 40 subscriptions with a request each, a client whose credential gives no token, and options over those
/// subscriptions, 4 at a time.
async fn tenant_without_a_token()
-> (Emulator, azure_customer_lockbox::CustomerLockboxClient, Arc<common::CountingCredential>, AllRequestsOptions) {
    let emulator = emulator(50).await;
    let ids =
        emulator.seed_tenant(&TenantSeed { subscriptions: 40, requests_per_subscription: 1, ..Default::default() });
    let (client, credential) =
        TestClient::new(emulator.url()).counting(common::CountingCredential::failing()).build_counted();
    let options = AllRequestsOptions { subscriptions: Some(ids), concurrency: 4, ..Default::default() };
    (emulator, client, credential, options)
}

#[tokio::test]
async fn a_credential_that_gives_no_token_ends_the_tenant_listing_with_one_error_not_a_failure_per_subscription() {
    let (emulator, client, credential, options) = tenant_without_a_token().await;
    let mut stream = client.all_requests(Some(options)).unwrap();
    let error = stream.try_next().await.expect_err("the stream's own error");
    assert!(matches!(error, Error::Credential(_)), "{error:?}");
    // It ended: nothing more is yielded, and no further subscription's listing asks the credential.
    assert!(stream.try_next().await.unwrap().is_none());
    assert!(stream.try_next().await.unwrap().is_none());
    assert!(credential.calls() <= 4, "asked {} times", credential.calls());
    assert!(stream.summary().failed.is_empty(), "{:?}", stream.summary());
    assert!(emulator.received().is_empty(), "nothing was sent without a token");
    emulator.shutdown().await;
}

#[tokio::test]
async fn find_request_ends_at_the_first_lookup_that_gets_no_token() {
    let (emulator, client, credential, options) = tenant_without_a_token().await;
    let error = client.find_request("00000000-dead-beef-0000-000000000000", Some(options)).await.unwrap_err();
    assert!(matches!(error, Error::Credential(_)), "{error:?}");
    assert!(credential.calls() <= 4, "asked {} times", credential.calls());
    assert!(emulator.received().is_empty(), "nothing was sent without a token");
    emulator.shutdown().await;
}
