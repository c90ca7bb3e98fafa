//! Paging (`nextLink` guards, continuation, laziness, errors, filters on the wire) and watching, against
//! wiremock and the emulator.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::common;
use crate::common::*;
use azure_customer_lockbox::{
    ContinuationToken, CustomerLockboxClient, Error, RequestFilter, WatchEvent,
    models::LockboxRequestStatus,
    options::{ExponentialRetries, OperationsListOptions, RequestsListOptions, Retries, WatchOptions},
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};
use futures::StreamExt;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path, query_param, query_param_is_missing},
};

const API: &str = "2018-02-28-preview";
const SUB2: &str = "99999999-2222-3333-4444-555555555555";

fn list_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests")
}

fn page(ids: &[&str], next: Option<Value>) -> ResponseTemplate {
    let value: Vec<Value> = ids.iter().map(|id| request_json(SUB, id, "Pending")).collect();
    let mut body = json!({ "value": value });
    if let Some(next) = next {
        body["nextLink"] = next;
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// Mounts the first page (no `$skipToken`) and pages keyed by `$skipToken`.
async fn mount_pages(server: &MockServer, first: ResponseTemplate, rest: Vec<(&str, ResponseTemplate)>) {
    for (token, response) in rest {
        Mock::given(method("GET"))
            .and(path(list_path()))
            .and(query_param("$skipToken", token))
            .respond_with(response)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param_is_missing("$skipToken"))
        .respond_with(first)
        .mount(server)
        .await;
}

fn link(server: &MockServer, token: &str) -> Value {
    json!(format!("{}{}?api-version={API}&$skipToken={token}", server.uri(), list_path()))
}

fn names(items: &[azure_customer_lockbox::models::LockboxRequestResponse]) -> Vec<String> {
    items.iter().map(|r| r.request_id().unwrap_or_default().to_owned()).collect()
}

/// Reads `pager` until it fails: the items it yielded first, and the error. `what` names the case in the panic
/// when the listing ends without one.
async fn until_error(
    pager: &mut azure_customer_lockbox::Listing<azure_customer_lockbox::models::LockboxRequestResponse>,
    what: &str,
) -> (Vec<azure_customer_lockbox::models::LockboxRequestResponse>, Error) {
    let mut items = Vec::new();
    loop {
        match pager.try_next().await {
            Ok(Some(item)) => items.push(item),
            Ok(None) => panic!("{what}: the listing must end with an error, got {:?}", names(&items)),
            Err(error) => return (items, error),
        }
    }
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn api_versions(request: &Request) -> Vec<String> {
    request.url.query_pairs().filter(|(k, _)| k == "api-version").map(|(_, v)| v.into_owned()).collect()
}

fn header(request: &Request, name: &str) -> Option<String> {
    request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Serves `pages` pages of one item each, computing each page and its next link from `$skipToken`.
async fn computed_pages(pages: usize) -> MockServer {
    let server = mock_server().await;
    let base = format!("{}{}", server.uri(), list_path());
    Mock::given(method("GET"))
        .and(path(list_path()))
        .respond_with(move |request: &Request| {
            let k: usize = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "$skipToken")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = json!({ "value": [request_json(SUB, &format!("r{k}"), "Pending")] });
            if k + 1 < pages {
                body["nextLink"] = json!(format!("{base}?api-version={API}&$skipToken={}", k + 1));
            }
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------- following pages

#[tokio::test]
async fn three_pages_are_followed_in_order_each_as_its_own_call() {
    let server = mock_server().await;
    mount_pages(
        &server,
        page(&["a", "b"], Some(link(&server, "p2"))),
        vec![("p2", page(&["c"], Some(link(&server, "p3")))), ("p3", page(&["d", "e"], None))],
    )
    .await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a", "b", "c", "d", "e"]);
    let received = received(&server).await;
    assert_eq!(received.len(), 3);
    let mut ids = HashSet::new();
    for request in &received {
        assert_eq!(request.method.as_str(), "GET");
        assert_eq!(header(request, "authorization").unwrap(), format!("Bearer {TOKEN}"));
        assert!(header(request, "user-agent").unwrap().contains("azsdk-rust-azure_customer_lockbox/"));
        assert_eq!(api_versions(request), [API]);
        ids.insert(header(request, "x-ms-client-request-id").unwrap());
    }
    assert_eq!(ids.len(), 3, "each page has its own x-ms-client-request-id");
}

#[tokio::test]
async fn pages_stream_exposes_next_links_and_continuations() {
    let server = mock_server().await;
    mount_pages(&server, page(&["a"], Some(link(&server, "p2"))), vec![("p2", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let mut pages = client.requests(SUB).unwrap().list(None).into_pages();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(names(&first.items), ["a"]);
    assert!(first.continuation.is_none(), "the first page is fetched again by starting over");
    let next = first.next_continuation().unwrap();
    assert!(next.as_str().contains("$skipToken=p2"));
    let second = pages.try_next().await.unwrap().unwrap();
    assert_eq!(second.continuation.as_ref(), Some(&next));
    assert!(second.next_link.is_none() && second.next_continuation().is_none());
    assert!(pages.try_next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_thousand_pages_are_followed() {
    let server = computed_pages(1000).await;
    let (client, _) = client(&server.uri());
    let mut pager = client.requests(SUB).unwrap().list(None);
    let mut count = 0;
    while let Some(item) = pager.try_next().await.unwrap() {
        assert_eq!(item.request_id(), Some(format!("r{count}").as_str()));
        count += 1;
    }
    assert_eq!(count, 1000);
    assert_eq!(received(&server).await.len(), 1000);
}

#[tokio::test]
async fn the_emulator_pages_through_150_requests_one_at_a_time() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(1)).await.unwrap();
    let mut created: Vec<String> = (0..150).map(|_| emu.create_request(SUB, NewLockboxRequest::default())).collect();
    let (client, _) = client(emu.url().as_str());
    let mut listed = names(&client.requests(SUB).unwrap().list(None).try_collect().await.unwrap());
    created.sort();
    listed.sort();
    assert_eq!(listed, created);
    let pages = emu.received().iter().filter(|r| r.method == "GET" && r.path.ends_with("/requests")).count();
    assert_eq!(pages, 150, "one request per page");
}

#[tokio::test]
async fn an_empty_page_with_a_next_link_continues() {
    let server = mock_server().await;
    mount_pages(
        &server,
        page(&[], Some(link(&server, "p2"))),
        vec![("p2", page(&[], Some(link(&server, "p3")))), ("p3", page(&["a"], None))],
    )
    .await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a"]);
    assert_eq!(received(&server).await.len(), 3);
}

#[tokio::test]
async fn an_empty_null_or_absent_next_link_ends_the_listing() {
    for next in [Some(json!("")), Some(json!("   ")), Some(Value::Null), None] {
        let server = mock_server().await;
        mount_pages(&server, page(&["a"], next.clone()), vec![]).await;
        let (client, _) = client(&server.uri());
        let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
        assert_eq!(names(&items), ["a"], "{next:?}");
        assert_eq!(received(&server).await.len(), 1, "{next:?}");
    }
}

// ---------------------------------------------------------------- loops and foreign links

#[tokio::test]
async fn a_next_link_repeated_at_once_ends_with_a_paging_error() {
    let server = mock_server().await;
    mount_pages(
        &server,
        page(&["a"], Some(link(&server, "p2"))),
        vec![("p2", page(&["b"], Some(link(&server, "p2"))))],
    )
    .await;
    let (client, _) = client(&server.uri());
    let mut pager = client.requests(SUB).unwrap().list(None);
    assert_eq!(pager.try_next().await.unwrap().unwrap().request_id(), Some("a"));
    let (_, error) = until_error(&mut pager, "a page naming itself").await;
    assert!(matches!(error, Error::Paging(_)), "{error:?}");
    assert_eq!(received(&server).await.len(), 2);
    assert!(pager.try_next().await.unwrap().is_none(), "after an error the pager ends");
    assert_eq!(received(&server).await.len(), 2, "polling again sends nothing");
}

#[tokio::test]
async fn a_cycle_of_next_links_ends_with_a_paging_error() {
    let server = mock_server().await;
    mount_pages(
        &server,
        page(&["start"], Some(link(&server, "A"))),
        vec![("A", page(&["a"], Some(link(&server, "B")))), ("B", page(&["b"], Some(link(&server, "A"))))],
    )
    .await;
    let (client, _) = client(&server.uri());
    let mut pager = client.requests(SUB).unwrap().list(None);
    let (items, error) = until_error(&mut pager, "a cycle of links").await;
    assert!(matches!(error, Error::Paging(_)), "{error:?}");
    assert_eq!(names(&items), ["start", "a"], "page B, which names A again, is not yielded");
    assert_eq!(received(&server).await.len(), 3);
}

/// Page 2's `nextLink`, from the listing's base URL and how many times page 2 was served.
type Vary = fn(&str, usize) -> String;

/// Page 2 names itself again, each time as a different text for the same URL: another `api-version` (which we
/// replace by ours), a fragment (never sent), or its parameters in another order. After six pages it stops
/// naming a next page, so a pager that does not see the loop ends without an error instead of running forever.
async fn self_naming_page(vary: Vary) -> MockServer {
    let server = mock_server().await;
    let base = format!("{}{}", server.uri(), list_path());
    let served = Arc::new(AtomicUsize::new(0));
    let first = page(&["a"], Some(json!(format!("{base}?api-version={API}&$skipToken=p2&$top=5"))));
    let rest = move |_: &Request| {
        let n = served.fetch_add(1, Ordering::SeqCst) + 1;
        page(&[&format!("b{n}")], (n < 6).then(|| json!(vary(&base, n))))
    };
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skipToken", "p2"))
        .respond_with(rest)
        .mount(&server)
        .await;
    mount_pages(&server, first, vec![]).await;
    server
}

#[tokio::test]
async fn a_next_link_naming_the_same_url_in_other_words_ends_with_a_paging_error() {
    let variants: [(&str, Vary); 4] = [
        ("api-version", |base, n| format!("{base}?api-version=2015-0{n}-01&$skipToken=p2&$top=5")),
        ("no api-version", |base, _| format!("{base}?$skipToken=p2&$top=5")),
        ("fragment", |base, n| format!("{base}?api-version={API}&$skipToken=p2&$top=5#page{n}")),
        ("order", |base, n| {
            let orders = ["$top=5&$skipToken=p2", "$skipToken=p2&$top=5"];
            format!("{base}?{}&api-version={API}", orders[n % 2])
        }),
    ];
    for (name, vary) in variants {
        let server = self_naming_page(vary).await;
        let (client, _) = client(&server.uri());
        let mut pager = client.requests(SUB).unwrap().list(None);
        let (items, error) = until_error(&mut pager, name).await;
        assert!(matches!(error, Error::Paging(_)), "{name}: {error:?}");
        assert_eq!(names(&items), ["a"], "{name}: page 2, which names itself, is not yielded");
        assert_eq!(received(&server).await.len(), 2, "{name}: page 2 is fetched once");
    }
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused_and_nothing_is_sent_there() {
    let server = mock_server().await;
    let foreign = mock_server().await;
    Mock::given(method("GET")).respond_with(page(&["stolen"], None)).mount(&foreign).await;
    let evil = format!("{}{}?api-version={API}&$skipToken=p2", foreign.uri(), list_path());
    mount_pages(&server, page(&["a"], Some(json!(evil))), vec![]).await;
    let (client, _) = client(&server.uri());
    let mut pager = client.requests(SUB).unwrap().list(None);
    assert_eq!(pager.try_next().await.unwrap().unwrap().request_id(), Some("a"));
    let error = pager.try_next().await.unwrap_err();
    match &error {
        Error::UnsafeUrl { kind, url, .. } => {
            assert_eq!(*kind, "nextLink");
            assert_eq!(url, &evil);
        }
        other => panic!("expected UnsafeUrl, got {other:?}"),
    }
    assert!(pager.try_next().await.unwrap().is_none());
    assert!(received(&foreign).await.is_empty(), "the foreign host must receive nothing, no token");
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_next_link_changing_the_scheme_is_refused() {
    let server = mock_server().await;
    let https = server.uri().replacen("http://", "https://", 1);
    let next = format!("{https}{}?api-version={API}&$skipToken=p2", list_path());
    mount_pages(&server, page(&["a"], Some(json!(next))), vec![("p2", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let mut pager = client.requests(SUB).unwrap().list(None);
    assert!(pager.try_next().await.unwrap().is_some());
    assert!(matches!(pager.try_next().await, Err(Error::UnsafeUrl { .. })));
    assert_eq!(received(&server).await.len(), 1);
}

#[tokio::test]
async fn a_relative_next_link_is_resolved_against_the_endpoint() {
    let server = mock_server().await;
    let next = format!("{}?$skipToken=p2", list_path());
    mount_pages(&server, page(&["a"], Some(json!(next))), vec![("p2", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a", "b"]);
    let second = &received(&server).await[1];
    assert_eq!(second.url.path(), list_path());
    assert_eq!(api_versions(second), [API]);
    assert_eq!(header(second, "authorization").unwrap(), format!("Bearer {TOKEN}"));

    // A path-relative link resolves against the endpoint (here its root): it is sent there, and only there.
    let server = mock_server().await;
    mount_pages(&server, page(&["a"], Some(json!("requests?$skipToken=p2"))), vec![]).await;
    let (other, _) = common::client(&server.uri());
    assert!(other.requests(SUB).unwrap().list(None).try_collect().await.is_err(), "answered 404 by wiremock");
    let second = &received(&server).await[1];
    assert_eq!(second.url.path(), "/requests");
    assert_eq!(api_versions(second), [API]);
}

#[tokio::test]
async fn api_version_is_sent_exactly_once_with_our_value() {
    let server = mock_server().await;
    let next =
        format!("{}{}?api-version=2015-01-01&$skipToken=p2&$top=5&API-Version=1999-01-01", server.uri(), list_path());
    mount_pages(&server, page(&["a"], Some(json!(next))), vec![("p2", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a", "b"]);
    let second = &received(&server).await[1];
    let versions: Vec<_> =
        second.url.query_pairs().filter(|(k, _)| k.eq_ignore_ascii_case("api-version")).map(|(_, v)| v).collect();
    assert_eq!(versions, [API]);
    let pairs: Vec<_> = second.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert!(pairs.contains(&("$skipToken".into(), "p2".into())), "{pairs:?}");
    assert!(pairs.contains(&("$top".into(), "5".into())), "{pairs:?}");
}

#[tokio::test]
async fn a_next_link_with_unencoded_characters_is_sent_as_a_valid_url() {
    let server = mock_server().await;
    let next = format!(
        "{}{}?$filter=properties/status eq 'Pending'&$skipToken=a;b \"c\"&api-version={API}",
        server.uri(),
        list_path()
    );
    mount_pages(&server, page(&["a"], Some(json!(next))), vec![("a;b \"c\"", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a", "b"]);
    let second = &received(&server).await[1];
    let raw = second.url.query().unwrap();
    assert!(!raw.contains(' ') && !raw.contains('"'), "sent as a valid URL: {raw}");
    let filter = second.url.query_pairs().find(|(k, _)| k == "$filter").unwrap().1.into_owned();
    assert_eq!(filter, "properties/status eq 'Pending'");
    assert_eq!(api_versions(second), [API]);
}

// ---------------------------------------------------------------- resuming

#[tokio::test]
async fn a_listing_resumes_from_a_continuation_token_in_a_new_client() {
    let server = mock_server().await;
    mount_pages(
        &server,
        page(&["a", "b"], Some(link(&server, "p2"))),
        vec![("p2", page(&["c", "d"], Some(link(&server, "p3")))), ("p3", page(&["e"], None))],
    )
    .await;
    // Stop after the first page, keeping only the token text (as a process would store it).
    let saved: String = {
        let (client, _) = client(&server.uri());
        let mut pages = client.requests(SUB).unwrap().list(None).into_pages();
        let first = pages.try_next().await.unwrap().unwrap();
        assert_eq!(names(&first.items), ["a", "b"]);
        first.next_continuation().unwrap().to_string()
    };
    let (fresh, _) = common::client(&server.uri());
    let options = RequestsListOptions { continuation: Some(ContinuationToken::from(saved)), ..Default::default() };
    let items = fresh.requests(SUB).unwrap().list(Some(options)).try_collect().await.unwrap();
    assert_eq!(names(&items), ["c", "d", "e"]);

    // A token taken in the middle of a page replays that page: nothing is skipped.
    let mut pager = fresh.requests(SUB).unwrap().list(None);
    assert!(pager.continuation().is_none());
    for expected in ["a", "b", "c"] {
        assert_eq!(pager.try_next().await.unwrap().unwrap().request_id(), Some(expected));
    }
    let token = pager.continuation().cloned().unwrap();
    drop(pager);
    let options = RequestsListOptions { continuation: Some(token), ..Default::default() };
    let items = fresh.requests(SUB).unwrap().list(Some(options)).try_collect().await.unwrap();
    assert_eq!(names(&items), ["c", "d", "e"]);
}

#[tokio::test]
async fn a_continuation_token_naming_another_host_is_refused_without_sending() {
    let server = mock_server().await;
    let foreign = mock_server().await;
    Mock::given(method("GET")).respond_with(page(&["stolen"], None)).mount(&foreign).await;
    let (client, _) = client(&server.uri());
    let token = ContinuationToken::from(format!("{}{}?$skipToken=x", foreign.uri(), list_path()));
    let options = RequestsListOptions { continuation: Some(token), ..Default::default() };
    let mut pager = client.requests(SUB).unwrap().list(Some(options));
    assert!(matches!(pager.try_next().await, Err(Error::UnsafeUrl { .. })));
    assert!(received(&foreign).await.is_empty());
    assert!(received(&server).await.is_empty());
}

#[tokio::test]
async fn a_continuation_token_naming_another_path_is_refused_without_sending() {
    let server = mock_server().await;
    Mock::given(method("GET")).respond_with(page(&["stolen"], None)).mount(&server).await;
    let (client, _) = client(&server.uri());
    let uri = server.uri();
    let foreign = [
        format!("{uri}/subscriptions/OTHER/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01"),
        format!("{uri}/subscriptions/{}/providers/Microsoft.CustomerLockbox/requests?$skipToken=x", SUB2),
        format!("{uri}{}/extra?$skipToken=x", list_path()),
        format!("{uri}/providers/Microsoft.CustomerLockbox/operations?$skipToken=x"),
        format!("{uri}/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/../../../OTHER?$skipToken=x"),
        "/subscriptions/OTHER/providers/Microsoft.Compute/virtualMachines".to_owned(),
    ];
    for token in foreign {
        let options = RequestsListOptions { continuation: Some(token.clone().into()), ..Default::default() };
        let mut pager = client.requests(SUB).unwrap().list(Some(options));
        match pager.try_next().await {
            Err(Error::InvalidArgument { name, .. }) => assert_eq!(name, "continuation", "{token}"),
            other => panic!("{token}: expected InvalidArgument, got {other:?}"),
        }
        assert!(pager.try_next().await.unwrap().is_none(), "{token}: the pager ends after the refusal");
    }
    // The operations listing refuses a token of the requests listing.
    let token = ContinuationToken::from(format!("{uri}{}?$skipToken=x", list_path()));
    let options = OperationsListOptions { continuation: Some(token) };
    let refused = client.operations().list(Some(options)).try_collect().await;
    assert!(matches!(refused, Err(Error::InvalidArgument { name: "continuation", .. })), "{refused:?}");
    assert!(received(&server).await.is_empty(), "nothing is sent for a foreign token, no token");

    // The listing's own path is accepted whatever the letter case (Resource Manager's paths are case-insensitive)
    // and whether it is absolute or relative.
    let own = format!("{}?$skipToken=x", list_path().to_lowercase());
    for token in [format!("{uri}{own}"), own] {
        let options = RequestsListOptions { continuation: Some(token.into()), ..Default::default() };
        let items = client.requests(SUB).unwrap().list(Some(options)).try_collect().await.unwrap();
        assert_eq!(names(&items), ["stolen"]);
    }
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn operations_resume_from_a_continuation_token() {
    let server = mock_server().await;
    let ops = "/providers/Microsoft.CustomerLockbox/operations";
    Mock::given(method("GET"))
        .and(path(ops))
        .and(query_param("$skipToken", "o2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"name": "op2"}]})))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let token = ContinuationToken::from(format!("{}{ops}?$skipToken=o2", server.uri()));
    let options = OperationsListOptions { continuation: Some(token) };
    let items = client.operations().list(Some(options)).try_collect().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name.as_deref(), Some("op2"));
    assert_eq!(api_versions(&received(&server).await[0]), [API]);
}

// ---------------------------------------------------------------- laziness and errors

#[tokio::test]
async fn nothing_is_sent_before_the_pager_or_the_watch_is_polled() {
    let server = computed_pages(2).await;
    let (client, _) = client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    let mut pager = requests.list(Some(RequestsListOptions::pending()));
    let watch = requests.watch(Some(WatchOptions::every(Duration::from_millis(10)))).unwrap();
    let operations = client.operations().list(None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::task::yield_now().await;
    assert!(received(&server).await.is_empty(), "building a pager or a watch sends nothing");
    drop((watch, operations));
    assert!(pager.try_next().await.unwrap().is_some());
    assert_eq!(received(&server).await.len(), 1, "only the first page, on demand");
}

#[tokio::test]
async fn after_an_error_the_stream_yields_it_once_and_ends() {
    let server = mock_server().await;
    let bad = ResponseTemplate::new(400)
        .set_body_json(json!({"error": {"code": "InvalidSkipToken", "message": "The $skipToken is invalid."}}));
    mount_pages(&server, page(&["a"], Some(link(&server, "p2"))), vec![("p2", bad)]).await;
    let (client, _) = client(&server.uri());

    let mut pager = client.requests(SUB).unwrap().list(None);
    assert!(pager.try_next().await.unwrap().is_some());
    let error = pager.try_next().await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidSkipToken"));
    assert!(pager.try_next().await.unwrap().is_none());
    assert!(pager.next().await.is_none());
    assert_eq!(received(&server).await.len(), 2, "polling after the error sends nothing");

    let mut pages = client.requests(SUB).unwrap().list(None).into_pages();
    assert!(pages.try_next().await.unwrap().is_some());
    assert!(pages.try_next().await.is_err());
    assert!(pages.try_next().await.unwrap().is_none());
    assert_eq!(received(&server).await.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_third_page_is_retried_and_the_stream_continues() {
    let server = mock_server().await;
    let throttle = Arc::new(AtomicUsize::new(0));
    let calls = throttle.clone();
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skipToken", "p3"))
        .respond_with(move |_: &Request| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                ResponseTemplate::new(429).insert_header("retry-after", "2")
            } else {
                page(&["c"], None)
            }
        })
        .mount(&server)
        .await;
    let (p2, p3) = (link(&server, "p2"), link(&server, "p3"));
    mount_pages(&server, page(&["a"], Some(p2)), vec![("p2", page(&["b"], Some(p3)))]).await;
    let retry = Retries::Exponential(ExponentialRetries { jitter: false, ..Default::default() });
    let client = TestClient::new(server.uri()).retry(retry).per_try_timeout(None).paused_clock().build();
    let items = client.requests(SUB).unwrap().list(None).try_collect().await.unwrap();
    assert_eq!(names(&items), ["a", "b", "c"]);
    let received = received(&server).await;
    assert_eq!(received.len(), 4);
    let ids: Vec<_> = received.iter().map(|r| header(r, "x-ms-client-request-id").unwrap()).collect();
    assert_eq!(ids[2], ids[3], "the retry of page 3 keeps its call's id");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3, "each page has its own id");
    assert!(received.iter().all(|r| api_versions(r) == [API]));
}

// ---------------------------------------------------------------- filters on the wire

#[tokio::test]
async fn filters_are_encoded_on_the_first_request_and_kept_by_next_links() {
    let server = mock_server().await;
    let next = format!(
        "{}{}?api-version={API}&%24filter=properties%2Fstatus+eq+%27Pending%27&$skipToken=p2",
        server.uri(),
        list_path()
    );
    mount_pages(&server, page(&["a"], Some(json!(next))), vec![("p2", page(&["b"], None))]).await;
    let (client, _) = client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    assert_eq!(names(&requests.list(Some(RequestsListOptions::pending())).try_collect().await.unwrap()), ["a", "b"]);
    let filters: Vec<String> = received(&server)
        .await
        .iter()
        .map(|r| r.url.query_pairs().find(|(k, _)| k == "$filter").unwrap().1.into_owned())
        .collect();
    assert_eq!(filters, ["properties/status eq 'Pending'", "properties/status eq 'Pending'"]);

    assert_eq!(RequestFilter::status(LockboxRequestStatus::Expired).as_str(), "properties/status eq 'Expired'");
    let raw = RequestFilter::raw("properties/status eq 'Denied' or properties/status eq 'Expired'");
    let _ = requests.list(Some(RequestsListOptions::filter(raw))).try_next().await.unwrap();
    let last = received(&server).await.pop().unwrap();
    let sent = last.url.query_pairs().find(|(k, _)| k == "$filter").unwrap().1.into_owned();
    assert_eq!(sent, "properties/status eq 'Denied' or properties/status eq 'Expired'");
    assert!(!last.url.query().unwrap().contains(' '));
}

// ---------------------------------------------------------------- watch

/// A list endpoint whose content the test changes, and that fails while `failing` is set.
#[derive(Clone, Default)]
struct ScriptedListing {
    items: Arc<Mutex<Vec<(String, String)>>>,
    /// The status every listing fails with, if any.
    failing: Arc<Mutex<Option<u16>>>,
}

impl ScriptedListing {
    fn set(&self, items: &[(&str, &str)]) {
        *self.items.lock().unwrap() = items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    }
    fn fail(&self, on: bool) {
        self.fail_with(on.then_some(503));
    }
    fn fail_with(&self, status: Option<u16>) {
        *self.failing.lock().unwrap() = status;
    }
    async fn serve(&self) -> MockServer {
        let server = mock_server().await;
        let me = self.clone();
        Mock::given(method("GET"))
            .and(path(list_path()))
            .respond_with(move |_: &Request| {
                if let Some(status) = *me.failing.lock().unwrap() {
                    return ResponseTemplate::new(status);
                }
                let value: Vec<Value> =
                    me.items.lock().unwrap().iter().map(|(id, status)| request_json(SUB, id, status)).collect();
                ResponseTemplate::new(200).set_body_json(json!({ "value": value }))
            })
            .mount(&server)
            .await;
        server
    }
}

fn paused_client(server: &MockServer) -> CustomerLockboxClient {
    TestClient::new(server.uri()).per_try_timeout(None).paused_clock().build()
}

/// What a watch's `try_next` gave, in short: an event, an error with its status, or the end.
fn describe(next: &Result<Option<WatchEvent>, Error>) -> String {
    match next {
        Ok(Some(event)) => describe_event(event),
        Ok(None) => "end".to_owned(),
        Err(error) => format!("error {}", error.status().map_or(0, |s| s.as_u16())),
    }
}

fn describe_event(event: &WatchEvent) -> String {
    match event {
        WatchEvent::New(request) => format!("new {}", request.request_id().unwrap_or_default()),
        WatchEvent::StatusChanged { request, old, new } => {
            format!("changed {} {old}->{new}", request.request_id().unwrap_or_default())
        }
        WatchEvent::Removed { request_id } => format!("removed {request_id}"),
        other => format!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn watch_reports_new_changed_and_removed_requests_once() {
    let listing = ScriptedListing::default();
    listing.set(&[("a", "Pending"), ("b", "Pending")]);
    let server = listing.serve().await;
    let client = paused_client(&server);
    let mut watch = client.requests(SUB).unwrap().watch(Some(WatchOptions::every(Duration::from_secs(30)))).unwrap();
    assert_eq!(describe(&watch.try_next().await), "new a");
    assert_eq!(describe(&watch.try_next().await), "new b");
    // The first listing is complete, and the watch says so.
    assert_eq!(describe(&watch.try_next().await), "InitDone { requests: 2 }");

    listing.set(&[("a", "Approved"), ("c", "Pending"), ("c", "Pending")]);
    let started = tokio::time::Instant::now();
    let mut events = vec![describe(&watch.try_next().await)];
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(27) && waited <= Duration::from_secs(33), "{waited:?}");
    events.push(describe(&watch.try_next().await));
    events.push(describe(&watch.try_next().await));
    events.sort();
    assert_eq!(events, ["changed a Pending->Approved", "new c", "removed b"]);

    // Unchanged listings yield nothing; the next change does.
    let polls = received(&server).await.len();
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(received(&server).await.len(), polls, "the watch only polls while it is being polled");
    listing.set(&[("a", "Approved"), ("c", "Denied")]);
    assert_eq!(describe(&watch.try_next().await), "changed c Pending->Denied");
}

#[tokio::test(start_paused = true)]
async fn watch_backs_off_and_reports_an_error_only_after_consecutive_failures() {
    let listing = ScriptedListing::default();
    listing.set(&[("a", "Pending")]);
    listing.fail(true);
    let server = listing.serve().await;
    let client = paused_client(&server);
    let options = WatchOptions { jitter: 0.0, ..WatchOptions::every(Duration::from_secs(10)) };
    let mut watch = client.requests(SUB).unwrap().watch(Some(options)).unwrap();

    // Listings at 0 s, then 10 s and 20 s later (backoff 10 s, 20 s): the third failure is yielded.
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "error 503");
    assert_eq!(received(&server).await.len(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(30));

    // The watch goes on after the error; the next wait is 40 s (10 s doubled per failure, capped at 5 min).
    listing.fail(false);
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "new a");
    assert_eq!(started.elapsed(), Duration::from_secs(40));
    assert_eq!(received(&server).await.len(), 4);
    assert_eq!(describe(&watch.try_next().await), "InitDone { requests: 1 }");

    // Failing again: `Err` once more, and the watch still goes on.
    listing.fail(true);
    assert_eq!(watch.try_next().await.unwrap_err().status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test(start_paused = true)]
async fn watch_reports_a_failure_that_waiting_will_not_mend_at_once_and_goes_on() {
    let listing = ScriptedListing::default();
    listing.set(&[("a", "Pending")]);
    listing.fail_with(Some(403));
    let server = listing.serve().await;
    let client = paused_client(&server);
    let options = WatchOptions { jitter: 0.0, ..WatchOptions::every(Duration::from_secs(10)) };
    let mut watch = client.requests(SUB).unwrap().watch(Some(options)).unwrap();

    // The first listing's 403 is yielded straight away, not after three listings.
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "error 403");
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(received(&server).await.len(), 1);

    // Still failing: the next listing comes after the interval, the one after that after twice the interval.
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "error 403");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "error 403");
    assert_eq!(started.elapsed(), Duration::from_secs(20));
    assert_eq!(received(&server).await.len(), 3);

    // Once the rights are granted the watch carries on from where it was.
    listing.fail_with(None);
    let started = tokio::time::Instant::now();
    assert_eq!(describe(&watch.try_next().await), "new a");
    assert_eq!(started.elapsed(), Duration::from_secs(40));
}

#[tokio::test(start_paused = true)]
async fn watch_without_emit_existing_reports_only_later_changes() {
    let listing = ScriptedListing::default();
    listing.set(&[("a", "Pending"), ("b", "Pending")]);
    let server = listing.serve().await;
    let client = paused_client(&server);
    let options = WatchOptions { emit_existing: false, ..WatchOptions::every(Duration::from_secs(5)) };
    let mut watch = client.requests(SUB).unwrap().watch(Some(options)).unwrap();
    // The first listing reports nothing but that it is done, and how many requests it took as the baseline.
    assert_eq!(describe(&watch.try_next().await), "InitDone { requests: 2 }");
    let event = {
        let next = watch.try_next();
        tokio::pin!(next);
        // The first listing yields nothing, nor does a second, unchanged one. The paused clock jumps ahead
        // whenever the test waits on a socket, so progress is counted in listings served, not in time.
        while received(&server).await.len() < 2 {
            tokio::select! {
                event = &mut next => panic!("nothing changed, yet the watch said {}", describe(&event)),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        listing.set(&[("a", "Pending"), ("b", "Pending"), ("c", "Pending")]);
        loop {
            tokio::select! {
                event = &mut next => break event,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    // A guard against a watch that lists forever without reporting the change.
                    assert!(received(&server).await.len() < 10, "the change was not reported");
                }
            }
        }
    };
    assert_eq!(describe(&event), "new c");
    assert!(received(&server).await.len() >= 3);
}

async fn next_event(watch: &mut azure_customer_lockbox::Watch) -> WatchEvent {
    // A guard against a hang, not a timing assertion: events come within one 50 ms interval.
    let next = tokio::time::timeout(Duration::from_secs(20), watch.try_next()).await.expect("an event in time");
    next.expect("no failure").expect("a watch never ends")
}

#[tokio::test]
async fn watch_on_the_emulator_sees_create_approve_and_expire() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let mut existing = emu.sample_data(SUB);
    let (client, _) = client(emu.url().as_str());
    let requests = client.requests(SUB).unwrap();
    let mut watch = requests.watch(Some(WatchOptions::every(Duration::from_millis(50)))).unwrap();

    // The first listing reports every request present (emit_existing defaults to true), over three pages.
    let mut first = Vec::new();
    for _ in 0..existing.len() {
        match next_event(&mut watch).await {
            WatchEvent::New(request) => first.push(request.request_id().unwrap_or_default().to_owned()),
            other => panic!("expected new, got {}", describe_event(&other)),
        }
    }
    first.sort();
    existing.sort();
    assert_eq!(first, existing);
    assert_eq!(describe_event(&next_event(&mut watch).await), format!("InitDone {{ requests: {} }}", existing.len()));

    let id = emu.create_request(SUB, NewLockboxRequest::default());
    assert_eq!(describe_event(&next_event(&mut watch).await), format!("new {id}"));

    requests.approve(&id, "approved by the watch test", None).await.unwrap();
    match next_event(&mut watch).await {
        WatchEvent::StatusChanged { request, old: LockboxRequestStatus::Pending, new } => {
            assert_eq!(request.request_id(), Some(id.as_str()));
            assert!(matches!(new, LockboxRequestStatus::Approving | LockboxRequestStatus::Approved), "{new}")
        }
        other => panic!("expected a status change, got {}", describe_event(&other)),
    }

    let short = emu.create_request(
        SUB,
        NewLockboxRequest { expires_in: Duration::from_secs(3600), ..NewLockboxRequest::default() },
    );
    assert_eq!(describe_event(&next_event(&mut watch).await), format!("new {short}"));
    emu.advance_clock(Duration::from_secs(3601));
    // The sample requests expire days from now, so only the new one changes.
    assert_eq!(describe_event(&next_event(&mut watch).await), format!("changed {short} Pending->Expired"));

    // Dropping the watch stops it: no listing afterwards.
    drop(watch);
    let before = emu.received().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(emu.received().len(), before);
}

#[tokio::test]
async fn watch_is_a_stream_with_a_filter() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let pending = emu.create_request(SUB, NewLockboxRequest::default());
    let (client, _) = client(emu.url().as_str());
    let requests = client.requests(SUB).unwrap();
    let options = WatchOptions {
        filter: Some(RequestFilter::status(LockboxRequestStatus::Pending)),
        ..WatchOptions::every(Duration::from_millis(50))
    };
    let mut watch = requests.watch(Some(options)).unwrap();
    // As a `Stream` of `Result`s:
    let first = tokio::time::timeout(Duration::from_secs(20), watch.next()).await.unwrap().unwrap();
    assert_eq!(describe(&first.map(Some)), format!("new {pending}"));
    let done = tokio::time::timeout(Duration::from_secs(20), watch.next()).await.unwrap().unwrap();
    assert_eq!(describe(&done.map(Some)), "InitDone { requests: 1 }");
    requests.deny(&pending, "not now", None).await.unwrap();
    // With a status filter, a request leaving `Pending` leaves the listing.
    let gone = tokio::time::timeout(Duration::from_secs(20), watch.try_next()).await.unwrap();
    assert_eq!(describe(&gone), format!("removed {pending}"));
    let filters: HashSet<String> = emu
        .received()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/requests"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert!(!filters.is_empty());
    assert!(filters.iter().all(|q| q.contains("%24filter=properties%2Fstatus+eq+%27Pending%27")), "{filters:?}");
}
