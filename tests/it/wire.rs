//! What goes over the wire for each of the seven operations, and what comes back, against wiremock.

use crate::common::*;
use azure_customer_lockbox::{
    CustomerLockboxClient, CustomerLockboxClientOptions, Error, RequestFilter,
    models::{ApprovalDecision, LockboxRequestStatus},
    options::RequestsListOptions,
};
use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_json, header, method, path, query_param},
};

const API: &str = "2018-02-28-preview";

/// Asserts the headers every request must carry.
fn assert_common_headers(request: &Request) {
    let h = &request.headers;
    assert_eq!(h.get("authorization").unwrap().to_str().unwrap(), format!("Bearer {TOKEN}"));
    let ua = h.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("azsdk-rust-azure_customer_lockbox/0.1.0 ("), "{ua}");
    assert!(ua.ends_with(&format!("; {}; {})", std::env::consts::OS, std::env::consts::ARCH)), "{ua}");
    let id = h.get("x-ms-client-request-id").unwrap().to_str().unwrap();
    // A random (version 4) UUID, written as azure_core writes it: lowercase, hyphenated.
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(uuid.get_version(), Some(uuid::Version::Random), "{id}");
    assert_eq!(id, uuid.hyphenated().to_string(), "{id}");
    assert!(h.get("api-version").is_none(), "progenitor's api-version header must be stripped");
    let api_versions: Vec<_> = request.url.query_pairs().filter(|(k, _)| k == "api-version").collect();
    assert_eq!(api_versions.len(), 1, "{}", request.url);
    assert_eq!(api_versions[0].1, API);
}

async fn only_request(server: &MockServer) -> Request {
    let mut received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "expected exactly one request");
    received.remove(0)
}

#[tokio::test]
async fn operations_list_follows_pages() {
    let server = mock_server().await;
    let next =
        format!("{}/providers/Microsoft.CustomerLockbox/operations?api-version={API}&$skipToken=abc", server.uri());
    Mock::given(method("GET"))
        .and(path("/providers/Microsoft.CustomerLockbox/operations"))
        .and(query_param("$skipToken", "abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"name": "op2"}]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/providers/Microsoft.CustomerLockbox/operations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"name": "Microsoft.CustomerLockbox/requests/read", "isDataAction": "false",
                       "display": {"provider": "Customer Lockbox", "operation": "Read"}, "origin": "user"}],
            "nextLink": next
        })))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let ops = client.operations().list(None).try_collect().await.unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0].name.as_deref(), Some("Microsoft.CustomerLockbox/requests/read"));
    assert_eq!(ops[0].display.as_ref().unwrap().provider.as_deref(), Some("Customer Lockbox"));
    assert_eq!(ops[1].name.as_deref(), Some("op2"));
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.method.as_str(), "GET");
        assert_common_headers(r);
    }
    assert_eq!(received[1].url.query_pairs().find(|(k, _)| k == "$skipToken").unwrap().1, "abc");
}

#[tokio::test]
async fn tenant_opt_in_get_reads_state() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/{TENANT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"isOptedIn": true})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    assert!(client.tenant().is_opted_in(TENANT, None).await.unwrap());
    assert_common_headers(&only_request(&server).await);
}

#[tokio::test]
async fn enable_and_disable_post_without_body() {
    for (name, call) in [("enableLockbox", true), ("disableLockbox", false)] {
        let server = mock_server().await;
        Mock::given(method("POST"))
            .and(path(format!("/providers/Microsoft.CustomerLockbox/{name}")))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let (client, _) = client(&server.uri());
        if call {
            client.tenant().enable(None).await.unwrap()
        } else {
            client.tenant().disable(None).await.unwrap()
        }
        let request = only_request(&server).await;
        assert_common_headers(&request);
        assert!(request.body.is_empty(), "{name} sends no body");
    }
}

#[tokio::test]
async fn requests_get_decodes_the_request() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(request_json(SUB, "req-1", "Pending")))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let request = client.requests(SUB).unwrap().get("req-1", None).await.unwrap();
    assert_eq!(request.status(), Some(&LockboxRequestStatus::Pending));
    assert_eq!(request.request_id(), Some("req-1"));
    let props = request.properties.unwrap();
    assert_eq!(props.duration.as_deref(), Some("8"));
    assert_eq!(props.created_date_time.unwrap().to_rfc3339(), "2026-11-28T10:00:00+00:00");
    assert_common_headers(&only_request(&server).await);
}

#[tokio::test]
async fn requests_list_sends_the_filter_encoded() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests")))
        .and(query_param("$filter", "properties/status eq 'Pending'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [request_json(SUB, "a", "Pending")]})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let items = client.requests(SUB).unwrap().list(Some(RequestsListOptions::pending())).try_collect().await.unwrap();
    assert_eq!(items.len(), 1);
    let request = only_request(&server).await;
    assert_common_headers(&request);
    let raw = request.url.query().unwrap();
    assert!(raw.contains("%24filter=properties%2Fstatus+eq+%27Pending%27"), "{raw}");
}

#[tokio::test]
async fn raw_filter_with_quotes_is_escaped_on_the_wire() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let filter = RequestFilter::status(LockboxRequestStatus::Other("O'Neil & co".into()));
    assert_eq!(filter.as_str(), "properties/status eq 'O''Neil & co'");
    let items =
        client.requests(SUB).unwrap().list(Some(RequestsListOptions::filter(filter))).try_collect().await.unwrap();
    assert!(items.is_empty());
    let request = only_request(&server).await;
    let (_, value) = request.url.query_pairs().find(|(k, _)| k == "$filter").unwrap();
    assert_eq!(value, "properties/status eq 'O''Neil & co'");
    assert_eq!(request.url.query_pairs().count(), 2, "the & inside the value must not split the query");
}

#[tokio::test]
async fn update_status_posts_the_decision() {
    let server = mock_server().await;
    Mock::given(method("POST"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/req-2/updateApproval")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"status": "Deny", "reason": "not during the freeze"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": "Deny", "reason": "not during the freeze"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let approval = client.requests(SUB).unwrap().deny("req-2", "not during the freeze", None).await.unwrap();
    assert_eq!(approval.decision(), &ApprovalDecision::Deny);
    assert_common_headers(&only_request(&server).await);
}

#[tokio::test]
async fn arm_error_body_and_headers_are_decoded() {
    let server = mock_server().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(409)
                .insert_header("x-ms-request-id", "rid-409")
                .insert_header("x-ms-correlation-request-id", "cid-409")
                .set_body_json(json!({"error": {
                    "code": "RequestNotPending", "message": "The request is not pending.", "target": "requestId",
                    "details": [{"code": "Inner", "message": "inner"}],
                    "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": "Expired"}}]}})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    // A 409 that is not a decision's (a decision's is `Error::DecisionConflict`, see tests/it/decision_wait.rs).
    let error = client.tenant().enable(None).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(409));
    assert_eq!(error.code(), Some("RequestNotPending"));
    assert_eq!(error.request_id(), Some("rid-409"));
    assert_eq!(error.current_status(), Some(LockboxRequestStatus::Expired));
    let service = error.service_error().unwrap();
    assert_eq!(service.call.correlation_request_id.as_deref(), Some("cid-409"));
    let detail = service.error.as_ref().unwrap();
    assert_eq!(detail.target.as_deref(), Some("requestId"));
    assert_eq!(detail.details[0].code.as_deref(), Some("Inner"));
    assert!(!error.is_retryable());
    let text = error.to_string();
    assert!(text.contains("409") && text.contains("RequestNotPending") && text.contains("rid-409"), "{text}");
}

#[tokio::test]
async fn error_code_header_wins_and_html_bodies_still_give_useful_errors() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/html")))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("x-ms-request-id", "rid-502")
                .set_body_raw("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-ms-error-code", "FromHeader")
                .set_body_json(json!({"error": {"code": "FromBody", "message": "gone"}})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    let error = requests.get("html", None).await.unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 502);
    assert_eq!(error.request_id(), Some("rid-502"));
    assert!(error.code().is_none());
    assert!(error.to_string().contains("502 Bad Gateway"), "{error}");
    assert!(error.is_retryable());
    let error = requests.get("missing", None).await.unwrap_err();
    assert_eq!(error.code(), Some("FromHeader"));
    assert_eq!(error.service_error().unwrap().error.as_ref().unwrap().code.as_deref(), Some("FromBody"));
}

#[tokio::test]
async fn unknown_enum_values_and_fields_do_not_fail_the_response() {
    let server = mock_server().await;
    let mut body = request_json(SUB, "x", "BrandNewState");
    body["properties"]["somethingNew"] = json!({"nested": [1, 2]});
    body["extra"] = json!(true);
    body["properties"].as_object_mut().unwrap().remove("duration");
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(body)).mount(&server).await;
    let (client, _) = client(&server.uri());
    let request = client.requests(SUB).unwrap().get("x", None).await.unwrap();
    assert_eq!(request.status(), Some(&LockboxRequestStatus::Other("BrandNewState".into())));
    assert_eq!(request.properties.as_ref().unwrap().duration, None);
    let back = serde_json::to_value(&request).unwrap();
    assert_eq!(back["properties"]["status"], "BrandNewState");
}

#[tokio::test]
async fn credential_is_asked_once_for_many_concurrent_calls() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"isOptedIn": false})))
        .mount(&server)
        .await;
    let credential =
        std::sync::Arc::new(CountingCredential { delay_ms: 50, lifetime_secs: 3600, ..Default::default() });
    let client = TestClient::new(server.uri()).counting(credential.clone()).build();
    let calls = (0..100).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.tenant().is_opted_in(TENANT, None).await })
    });
    for call in futures::future::join_all(calls).await {
        assert!(!call.unwrap().unwrap());
    }
    assert_eq!(credential.calls(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 100);
}

#[tokio::test]
async fn token_near_expiry_is_refreshed_and_401_drops_it() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .and(path(format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/{TENANT}")))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", "Bearer error=\"invalid_token\""))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    // Tokens that expire as they are handed out are past any refresh margin: every call refreshes. (A token
    // living less than the five-minute margin is used for half its life: see tests/it/auth.rs.)
    let short = std::sync::Arc::new(CountingCredential { lifetime_secs: 0, ..Default::default() });
    let client = TestClient::new(server.uri()).counting(short.clone()).build();
    client.tenant().enable(None).await.unwrap();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(short.calls(), 2);

    let (client, credential) = client_for(&server);
    client.tenant().enable(None).await.unwrap();
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 1);
    let error = client.tenant().is_opted_in(TENANT, None).await.unwrap_err();
    assert_eq!(error.status().unwrap().as_u16(), 401);
    client.tenant().enable(None).await.unwrap();
    assert_eq!(credential.calls(), 2, "a 401 drops the cached token");
}

/// Two clients on one thread, and a client created where another was dropped, each send their own token.
#[tokio::test]
async fn clients_on_one_thread_each_send_their_own_token() {
    let server = mock_server().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let client_with = |token: &str| {
        TestClient::new(server.uri()).credential(azure_customer_lockbox::StaticTokenCredential::new(token)).build()
    };
    let (a, b) = (client_with("token-a"), client_with("token-b"));
    for client in [&a, &b, &a, &b] {
        client.tenant().enable(None).await.unwrap();
    }
    drop(a);
    client_with("token-c").tenant().enable(None).await.unwrap();
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers.get("authorization").unwrap().to_str().unwrap().to_owned())
        .collect();
    let expected = ["token-a", "token-b", "token-a", "token-b", "token-c"].map(|t| format!("Bearer {t}"));
    assert_eq!(sent, expected);
}

fn client_for(server: &MockServer) -> (CustomerLockboxClient, std::sync::Arc<CountingCredential>) {
    client(&server.uri())
}

#[tokio::test]
async fn bad_ids_are_rejected_before_sending() {
    let server = mock_server().await;
    let (client, credential) = client(&server.uri());
    for bad in ["", "not-a-guid", "11111111-2222-3333-4444-55555555555Z", &"1".repeat(10_000), "ünï-cödé"] {
        match client.requests(bad) {
            Err(Error::InvalidArgument { name: "subscription_id", .. }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
        match client.tenant().get_opt_in_status(bad, None).await {
            Err(Error::InvalidArgument { name: "tenant_id", .. }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    let requests = client.requests(SUB).unwrap();
    for bad in ["", "..", ".", "a\u{7}b", &"r".repeat(300)] {
        assert!(
            matches!(requests.get(bad, None).await, Err(Error::InvalidArgument { name: "request_id", .. })),
            "{bad:?}"
        );
    }
    for bad in ["", "   ", &"x".repeat(10_000), "a\u{0}b"] {
        assert!(
            matches!(requests.approve("r", bad, None).await, Err(Error::InvalidArgument { name: "reason", .. })),
            "{bad:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(credential.calls(), 0);
}

#[tokio::test]
async fn odd_request_ids_stay_one_path_segment() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "RequestNotFound", "message": "no"}})),
        )
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    let requests = client.requests(SUB).unwrap();
    let prefix = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/");
    for (id, wire) in [
        ("../../x", "..%2F..%2Fx"),
        ("a/b", "a%2Fb"),
        ("%2F", "%252F"),
        ("a?b#c", "a%3Fb%23c"),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
    ] {
        server.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "RequestNotFound"}})))
            .mount(&server)
            .await;
        let error = requests.get(id, None).await.unwrap_err();
        assert_eq!(error.code(), Some("RequestNotFound"));
        let request = only_request(&server).await;
        assert_eq!(request.url.path(), format!("{prefix}{wire}"), "{id:?}");
    }
}

#[test]
fn plain_http_is_refused_for_remote_hosts() {
    let remote = "http://management.example.com/";
    let error = TestClient::new(remote).try_build().unwrap_err();
    assert!(matches!(error, Error::Configuration(_)), "{error:?}");
    assert!(TestClient::new(remote).with(|o| o.allow_insecure_http = true).try_build().is_ok());
    for ok in ["http://127.0.0.1:1/", "http://localhost:1/", "http://[::1]:1/", "https://management.azure.com/"] {
        assert!(TestClient::new(ok).try_build().is_ok(), "{ok}");
    }
}

#[tokio::test]
async fn application_id_prefixes_the_user_agent_and_is_validated() {
    let server = mock_server().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let client = TestClient::new(server.uri()).with(|o| o.application_id = Some("lockbox-bot".into())).build();
    client.tenant().enable(None).await.unwrap();
    let ua = only_request(&server).await.headers.get("user-agent").unwrap().to_str().unwrap().to_owned();
    assert!(ua.starts_with("lockbox-bot azsdk-rust-azure_customer_lockbox/"), "{ua}");
    for bad in ["has space", "this-application-id-is-too-long", ""] {
        let built = TestClient::new(server.uri()).with(|o| o.application_id = Some(bad.into())).try_build();
        assert!(built.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn tokens_never_show_in_debug_or_errors() {
    let server = mock_server().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("echo: Bearer {TOKEN}")))
        .mount(&server)
        .await;
    let (client, _) = client(&server.uri());
    client.tenant().enable(None).await.ok();
    let error = client.tenant().get_opt_in_status(TENANT, None).await.unwrap_err();
    let static_credential = azure_customer_lockbox::StaticTokenCredential::new(TOKEN);
    let shown = format!("{client:?} {:?} {static_credential:?} {error} {error:?}", options(&server.uri()));
    assert!(!shown.contains("c2VjcmV0LXRva2Vu"), "{shown}");
    assert!(shown.contains("token_cached: true"), "{shown}");
}

#[test]
fn clouds_set_their_resource_manager_endpoint() {
    // The scope each cloud asks for is asserted in tests/it/ecosystem.rs, against a local HTTPS server.
    use azure_core::cloud::CloudConfiguration as C;
    for (cloud, endpoint) in [
        (C::AzurePublic, "https://management.azure.com/"),
        (C::AzureChina, "https://management.chinacloudapi.cn/"),
        (C::AzureGovernment, "https://management.usgovcloudapi.net/"),
    ] {
        let options = CustomerLockboxClientOptions { cloud, ..Default::default() };
        let client = CustomerLockboxClient::new(CountingCredential::new(), Some(options)).unwrap();
        assert_eq!(client.endpoint().as_str(), endpoint);
    }
}

#[test]
fn clients_are_send_sync_and_clone_and_their_futures_are_send() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn sendable<T: Send>(_: &T) {}
    shareable::<CustomerLockboxClient>();
    shareable::<azure_customer_lockbox::RequestsClient>();
    shareable::<azure_customer_lockbox::TenantClient>();
    shareable::<azure_customer_lockbox::OperationsClient>();
    let client = TestClient::new("http://127.0.0.1:1/").build();
    let requests = client.requests(SUB).unwrap();
    sendable(&requests.get("x", None));
    sendable(&requests.approve("x", "y", None));
    sendable(&requests.list(None));
    sendable(&client.tenant().enable(None));
    sendable(&client.operations().list(None));
}
