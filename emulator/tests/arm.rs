//! Black-box tests of the Customer Lockbox ARM emulator over HTTP (reqwest only, no SDK client).

use std::time::{Duration, SystemTime};

use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, Fault, NewLockboxRequest, Operation, RetryAfterHeader, Seed,
    SeedRequest, WhileRunning,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const OTHER_SUB: &str = "9e2c8a4b-7777-4f1e-8c3d-000000000002";
const API: &str = "api-version=2018-02-28-preview";
const TOKEN: &str = "opaque-test-token";
/// A JWT (unsigned) whose payload is `{"tid": JWT_TENANT, "oid": "abc"}`.
const JWT: &str = "eyJhbGciOiAibm9uZSIsICJ0eXAiOiAiSldUIn0.eyJ0aWQiOiAiMTExMTExMTEtMjIyMi0zMzMzLTQ0NDQtNTU1NTU1NTU1NTU1IiwgIm9pZCI6ICJhYmMifQ.c2ln";
const JWT_TENANT: &str = "11111111-2222-3333-4444-555555555555";

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn start(config: EmulatorConfig) -> Emulator {
    Emulator::start(config).await.expect("emulator starts")
}

fn url(emu: &Emulator, path_and_query: &str) -> String {
    let sep = if path_and_query.contains('?') { '&' } else { '?' };
    format!("{}{}{sep}{API}", emu.url(), path_and_query.trim_start_matches('/'))
}

fn requests_path(sub: &str) -> String {
    format!("subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests")
}

fn request_path(sub: &str, id: &str) -> String {
    format!("{}/{id}", requests_path(sub))
}

async fn call(emu: &Emulator, method: Method, path: &str, body: Option<Value>) -> reqwest::Result<reqwest::Response> {
    let mut builder = reqwest::Client::new().request(method, url(emu, path)).bearer_auth(TOKEN);
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    builder.send().await
}

async fn get(emu: &Emulator, path: &str) -> reqwest::Response {
    call(emu, Method::GET, path, None).await.expect("GET sent")
}

async fn decide(emu: &Emulator, sub: &str, id: &str, status: &str) -> reqwest::Response {
    let path = format!("{}/updateApproval", request_path(sub, id));
    call(emu, Method::POST, &path, Some(json!({"status": status, "reason": "Looks legitimate"})))
        .await
        .expect("POST sent")
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// Asserts an ARM error: status, code in body and `x-ms-error-code`, request id header.
async fn assert_arm_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status);
    let headers = response.headers().clone();
    assert_eq!(headers["x-ms-error-code"], code);
    assert!(headers.contains_key("x-ms-request-id"));
    assert!(headers["content-type"].to_str().is_ok_and(|c| c.starts_with("application/json")));
    let body = json_of(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string());
    // The upstream ErrorBody has no `details`, and absent members are omitted, never `null` (issue 14 G).
    assert!(body["error"].get("details").is_none() && body["error"].get("target").is_none(), "{body}");
    body
}

/// Sends raw HTTP/1.1 bytes (for paths a URL library would normalise); returns the status code.
async fn raw_status(emu: &Emulator, target: &str) -> u16 {
    let port = emu.url().port().expect("port");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response);
    assert!(text.contains("\"error\""), "ARM error body expected: {text}");
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line")
}

// ---------------------------------------------------------------- operations & tenant opt-in

#[tokio::test]
async fn operations_list_returns_the_provider_catalogue() {
    let emu = start(EmulatorConfig::default()).await;
    let response = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = json_of(response).await;
    let ops = body["value"].as_array().expect("value");
    assert!(ops.len() >= 6);
    assert!(body.get("nextLink").is_none());
    let read = ops.iter().find(|o| o["name"] == "Microsoft.CustomerLockbox/requests/read").expect("requests/read");
    assert_eq!(read["isDataAction"], "false");
    assert_eq!(read["display"]["provider"], "Microsoft Customer Lockbox");
    assert_eq!(read["origin"], "user,system");
    assert!(ops.iter().any(|o| o["name"] == "Microsoft.CustomerLockbox/requests/updateApproval/action"));
}

#[tokio::test]
async fn operations_list_is_pageable_with_next_links() {
    let emu = start(EmulatorConfig::default().with_page_size(3)).await;
    let client = reqwest::Client::new();
    let mut next = Some(url(&emu, "providers/Microsoft.CustomerLockbox/operations"));
    let (mut pages, mut names) = (0, Vec::new());
    while let Some(link) = next {
        let body: Value = client.get(&link).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
        pages += 1;
        names.extend(body["value"].as_array().expect("value").iter().map(|o| o["name"].clone()));
        next = body["nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 7);
}

#[tokio::test]
async fn tenant_opted_in_is_false_for_unknown_tenants_and_follows_state() {
    let emu = start(EmulatorConfig::default()).await;
    let path = "providers/Microsoft.CustomerLockbox/tenantOptedIn/4f0b8b5e-0000-4000-8000-00000000abcd";
    assert_eq!(json_of(get(&emu, path).await).await, json!({"isOptedIn": false}));
    emu.set_tenant_opted_in("4F0B8B5E-0000-4000-8000-00000000ABCD", true);
    assert_eq!(json_of(get(&emu, path).await).await, json!({"isOptedIn": true}));
}

#[tokio::test]
async fn enable_and_disable_lockbox_act_on_the_jwt_tenant() {
    let emu = start(EmulatorConfig::default()).await;
    let client = reqwest::Client::new();
    let enable = url(&emu, "providers/Microsoft.CustomerLockbox/enableLockbox");
    let response = client.post(&enable).bearer_auth(JWT).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.expect("body").is_empty());
    assert!(emu.tenant_opted_in(JWT_TENANT));
    assert!(!emu.tenant_opted_in(emu.default_tenant_id()));
    let path = format!("providers/Microsoft.CustomerLockbox/tenantOptedIn/{JWT_TENANT}");
    assert_eq!(json_of(get(&emu, &path).await).await["isOptedIn"], true);

    let disable = url(&emu, "providers/Microsoft.CustomerLockbox/disableLockbox");
    let response = client.post(&disable).bearer_auth(JWT).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!emu.tenant_opted_in(JWT_TENANT));
}

#[tokio::test]
async fn enable_lockbox_with_an_opaque_token_uses_the_default_tenant() {
    let emu = start(EmulatorConfig::default().with_default_tenant_id("aaaaaaaa-0000-0000-0000-000000000001")).await;
    let response =
        call(&emu, Method::POST, "providers/Microsoft.CustomerLockbox/enableLockbox", None).await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(emu.tenant_opted_in("aaaaaaaa-0000-0000-0000-000000000001"));
}

// ---------------------------------------------------------------- requests: get, list, filter, paging

#[tokio::test]
async fn get_request_returns_the_lockbox_request_response() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest { duration_hours: 4, ..Default::default() });
    let response = get(&emu, &request_path(SUB, &id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-ms-request-id"));
    let body = json_of(response).await;
    assert_eq!(body["id"], format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/{id}"));
    assert_eq!(body["name"], id.as_str());
    assert_eq!(body["type"], "requests");
    let p = &body["properties"];
    assert_eq!(p["requestId"], id.as_str());
    assert_eq!(p["status"], "Pending");
    assert_eq!(p["duration"], "4");
    assert_eq!(p["subscriptionId"], SUB);
    assert_eq!(p["accessLevel"], "Read");
    assert_eq!(p["workitemsource"], "SupportRequest");
    let ticket = p["supportRequest"].as_str().expect("ticket");
    assert_eq!(ticket.len(), 16);
    assert!(p["supportCaseUrl"].as_str().expect("url").ends_with(ticket));
    for field in ["createdDateTime", "expirationDateTime"] {
        let text = p[field].as_str().expect("time");
        assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z'));
    }
}

#[tokio::test]
async fn get_unknown_or_foreign_request_is_404_request_not_found() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    let unknown = request_path(SUB, "00000000-0000-0000-0000-00000000dead");
    assert_arm_error(get(&emu, &unknown).await, 404, "RequestNotFound").await;
    assert_arm_error(get(&emu, &request_path(OTHER_SUB, &id)).await, 404, "RequestNotFound").await;
}

#[tokio::test]
async fn list_filters_by_status_case_insensitively() {
    let emu = start(EmulatorConfig::default()).await;
    let ids = emu.sample_data(SUB);
    assert_eq!(ids.len(), 6);
    emu.create_request(OTHER_SUB, NewLockboxRequest::default());
    let all = json_of(get(&emu, &requests_path(SUB)).await).await;
    assert_eq!(all["value"].as_array().expect("value").len(), 6);
    for filter in
        ["properties/status eq 'Pending'", "properties/status eq 'pending'", "  Properties/Status   EQ   'PENDING' "]
    {
        let path = format!("{}?$filter={}", requests_path(SUB), filter.replace(' ', "%20").replace('\'', "%27"));
        let body = json_of(get(&emu, &path).await).await;
        let value = body["value"].as_array().expect("value");
        assert_eq!(value.len(), 3, "{filter}");
        assert!(value.iter().all(|r| r["properties"]["status"] == "Pending"));
    }
    let expired = format!("{}?$filter=properties/status%20eq%20'Expired'", requests_path(SUB));
    assert_eq!(json_of(get(&emu, &expired).await).await["value"].as_array().expect("v").len(), 1);
}

#[tokio::test]
async fn list_rejects_unsupported_filters_with_400() {
    let emu = start(EmulatorConfig::default()).await;
    for filter in [
        "name eq 'x'",
        "properties/status eq 'Bogus'",
        "properties/status ne 'Pending'",
        "properties/status eq Pending",
        "properties/statuseq 'Pending'",
    ] {
        let path = format!("{}?$filter={}", requests_path(SUB), filter.replace(' ', "%20"));
        assert_arm_error(get(&emu, &path).await, 400, "InvalidFilter").await;
    }
}

#[tokio::test]
async fn list_pages_with_absolute_next_links_until_the_last_page() {
    let emu = start(EmulatorConfig::default().with_page_size(2)).await;
    let mut created: Vec<String> = (0..5).map(|_| emu.create_request(SUB, NewLockboxRequest::default())).collect();
    let client = reqwest::Client::new();
    let mut next = Some(url(&emu, &requests_path(SUB)));
    let (mut sizes, mut seen) = (Vec::new(), Vec::new());
    while let Some(link) = next.take() {
        let body: Value = client.get(&link).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
        let value = body["value"].as_array().expect("value");
        sizes.push(value.len());
        seen.extend(value.iter().map(|r| r["name"].as_str().expect("name").to_owned()));
        if let Some(link) = body["nextLink"].as_str() {
            let parsed = url::Url::parse(link).expect("absolute nextLink");
            assert_eq!(parsed.origin(), emu.url().origin());
            assert!(parsed.query_pairs().any(|(k, v)| k == "api-version" && v == "2018-02-28-preview"));
            assert!(parsed.query_pairs().any(|(k, _)| k == "$skipToken"));
            next = Some(link.to_owned());
        }
    }
    assert_eq!(sizes, [2, 2, 1]);
    created.sort();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    assert_eq!(sorted_seen, created, "every request exactly once");
}

#[tokio::test]
async fn filtered_paging_keeps_the_filter_and_rejects_bad_skip_tokens() {
    let emu = start(EmulatorConfig::default().with_page_size(2)).await;
    emu.sample_data(SUB);
    let path = format!("{}?$filter=properties/status%20eq%20'pending'", requests_path(SUB));
    let body = json_of(get(&emu, &path).await).await;
    let link = body["nextLink"].as_str().expect("nextLink");
    assert!(link.contains("$filter=properties%2Fstatus%20eq%20%27Pending%27"), "{link}");
    let second: Value =
        reqwest::Client::new().get(link).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(second["value"].as_array().expect("value").len(), 1);
    assert!(second.get("nextLink").is_none());

    let bad = format!("{}?$skipToken=not-a-token", requests_path(SUB));
    assert_arm_error(get(&emu, &bad).await, 400, "InvalidSkipToken").await;
    // A token from the filtered query does not fit the unfiltered one.
    let token = url::Url::parse(link)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "$skipToken")
        .expect("token")
        .1
        .into_owned();
    let mismatched = format!("{}?$skipToken={token}", requests_path(SUB));
    assert_arm_error(get(&emu, &mismatched).await, 400, "InvalidSkipToken").await;
}

// ---------------------------------------------------------------- decisions & the status machine

#[tokio::test]
async fn approval_echoes_the_body_and_goes_approving_then_approved() {
    let emu = start(EmulatorConfig::default().with_transition_delay(Duration::from_secs(60))).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    let response = decide(&emu, SUB, &id, "Approve").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await, json!({"status": "Approve", "reason": "Looks legitimate"}));
    let read = json_of(get(&emu, &request_path(SUB, &id)).await).await;
    assert_eq!(read["properties"]["status"], "Approving");
    emu.advance_clock(Duration::from_secs(61));
    let read = json_of(get(&emu, &request_path(SUB, &id)).await).await;
    assert_eq!(read["properties"]["status"], "Approved");
    let decisions = emu.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!((decisions[0].request_id.as_str(), decisions[0].decision.as_str()), (id.as_str(), "Approve"));
    assert_eq!(decisions[0].reason.as_deref(), Some("Looks legitimate"));
}

#[tokio::test]
async fn denial_with_zero_delay_reads_denied_immediately() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    assert_eq!(decide(&emu, SUB, &id, "Deny").await.status(), StatusCode::OK);
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Denied"));
}

#[tokio::test]
async fn deciding_a_request_that_is_not_pending_is_409_with_current_status() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    assert_eq!(decide(&emu, SUB, &id, "Approve").await.status(), StatusCode::OK);
    let body = assert_arm_error(decide(&emu, SUB, &id, "Deny").await, 409, "RequestNotPending").await;
    assert_eq!(
        body["error"]["additionalInfo"],
        json!([{"type": "LockboxRequestStatus", "info": {"currentStatus": "Approved"}}])
    );
    assert_eq!(emu.decisions().len(), 1);
}

#[tokio::test]
async fn pending_request_expires_with_the_clock_and_cannot_be_decided() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest { expires_in: Duration::from_secs(3600), ..Default::default() });
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Pending"));
    emu.advance_clock(Duration::from_secs(3601));
    let read = json_of(get(&emu, &request_path(SUB, &id)).await).await;
    assert_eq!(read["properties"]["status"], "Expired");
    let body = assert_arm_error(decide(&emu, SUB, &id, "Approve").await, 409, "RequestNotPending").await;
    assert_eq!(body["error"]["additionalInfo"][0]["info"]["currentStatus"], "Expired");
    assert!(emu.decisions().is_empty());
}

#[tokio::test]
async fn invalid_approval_bodies_are_400_invalid_request_content() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    let target = url(&emu, &format!("{}/updateApproval", request_path(SUB, &id)));
    for body in ["{not json", "{}", r#"{"status":"Maybe"}"#, r#"{"status":1}"#, ""] {
        let response = reqwest::Client::new()
            .post(&target)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("send");
        assert_arm_error(response, 400, "InvalidRequestContent").await;
    }
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Pending"));
}

// ---------------------------------------------------------------- ARM cross-cutting behaviour

#[tokio::test]
async fn missing_or_malformed_bearer_token_is_401_with_www_authenticate() {
    let emu = start(EmulatorConfig::default()).await;
    let target = url(&emu, "providers/Microsoft.CustomerLockbox/operations");
    let client = reqwest::Client::new();
    let cases: [(Option<&str>, &str); 5] = [
        (None, "AuthenticationFailed"),
        (Some("Basic dXNlcjpwYXNz"), "InvalidAuthenticationToken"),
        (Some("Bearer "), "InvalidAuthenticationToken"),
        (Some("Bearer two words"), "InvalidAuthenticationToken"),
        (Some("Bearer a=b"), "InvalidAuthenticationToken"),
    ];
    for (authorization, code) in cases {
        let mut request = client.get(&target);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("send");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\""
        );
        assert_arm_error(response, 401, code).await;
    }
}

#[tokio::test]
async fn missing_or_unsupported_api_version_is_400_after_auth() {
    let emu = start(EmulatorConfig::default()).await;
    let base = format!("{}providers/Microsoft.CustomerLockbox/operations", emu.url());
    let client = reqwest::Client::new();
    let response = client.get(&base).bearer_auth(TOKEN).send().await.expect("send");
    assert_arm_error(response, 400, "MissingApiVersionParameter").await;
    let response = client.get(format!("{base}?api-version=2099-01-01")).bearer_auth(TOKEN).send().await.expect("send");
    let body = assert_arm_error(response, 400, "InvalidApiVersionParameter").await;
    assert!(body["error"]["message"].as_str().expect("message").contains("2018-02-28-preview"));
    // Authentication is checked first.
    let response = client.get(&base).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn request_ids_and_correlation_ids_are_returned() {
    let emu = start(EmulatorConfig::default()).await;
    let target = url(&emu, "providers/Microsoft.CustomerLockbox/operations");
    let client = reqwest::Client::new();
    let response = client
        .get(&target)
        .bearer_auth(TOKEN)
        .header("x-ms-correlation-request-id", "corr-123")
        .header("x-ms-client-request-id", "client-456")
        .header("x-ms-return-client-request-id", "true")
        .send()
        .await
        .expect("send");
    let headers = response.headers();
    assert_eq!(headers["x-ms-correlation-request-id"], "corr-123");
    assert_eq!(headers["x-ms-client-request-id"], "client-456");
    let first_id = headers["x-ms-request-id"].to_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&first_id).is_ok());

    let response = client
        .get(&target)
        .bearer_auth(TOKEN)
        .header("x-ms-client-request-id", "client-456")
        .send()
        .await
        .expect("send");
    let headers = response.headers();
    assert!(!headers.contains_key("x-ms-client-request-id"));
    assert_ne!(headers["x-ms-request-id"].to_str().expect("id"), first_id);
    assert!(uuid::Uuid::parse_str(headers["x-ms-correlation-request-id"].to_str().expect("corr")).is_ok());
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let emu = start(EmulatorConfig::default()).await;
    assert_arm_error(get(&emu, "providers/Microsoft.CustomerLockbox/widgets").await, 404, "InvalidResourceType").await;
    assert_arm_error(get(&emu, "nothing/here").await, 404, "NotFound").await;
    let response = call(&emu, Method::DELETE, &requests_path(SUB), None).await.expect("send");
    assert_eq!(response.headers()["allow"], "GET");
    assert_arm_error(response, 405, "MethodNotAllowed").await;
    let response =
        call(&emu, Method::GET, "providers/Microsoft.CustomerLockbox/enableLockbox", None).await.expect("send");
    assert_arm_error(response, 405, "MethodNotAllowed").await;
}

#[tokio::test]
async fn odd_paths_and_huge_bodies_get_arm_errors() {
    let emu = start(EmulatorConfig::default()).await;
    let q = format!("?{API}");
    assert_eq!(
        raw_status(&emu, &format!("/providers/../providers/Microsoft.CustomerLockbox/operations{q}")).await,
        400
    );
    assert_eq!(raw_status(&emu, &format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/a%00b{q}")).await, 400);
    assert_eq!(raw_status(&emu, &format!("/providers/Microsoft.CustomerLockbox/tenantOptedIn/%FF{q}")).await, 400);
    assert_eq!(raw_status(&emu, &format!("/{}{q}", "a".repeat(5000))).await, 414);

    let id = emu.create_request(SUB, NewLockboxRequest::default());
    let response = reqwest::Client::new()
        .post(url(&emu, &format!("{}/updateApproval", request_path(SUB, &id))))
        .bearer_auth(TOKEN)
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("send");
    assert_arm_error(response, 413, "RequestEntityTooLarge").await;
    // Still serving.
    assert_eq!(get(&emu, &request_path(SUB, &id)).await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn throttle_faults_send_429_with_each_retry_hint_form() {
    let emu = start(EmulatorConfig::default()).await;
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let cases = [
        (RetryAfterHeader::Seconds(7), Some(("retry-after", "7".to_owned()))),
        (RetryAfterHeader::Millis(250), Some(("retry-after-ms", "250".to_owned()))),
        (RetryAfterHeader::XMsMillis(300), Some(("x-ms-retry-after-ms", "300".to_owned()))),
        (RetryAfterHeader::HttpDate(date), Some(("retry-after", "Fri, 15 Jan 2027 08:00:00 GMT".to_owned()))),
        (RetryAfterHeader::None, None),
    ];
    for (hint, expected) in cases {
        emu.inject(Fault::throttle(hint));
        let response = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await;
        let headers = response.headers().clone();
        assert_arm_error(response, 429, "TooManyRequests").await;
        match expected {
            Some((name, value)) => assert_eq!(headers[name], value.as_str()),
            None => {
                for name in ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"] {
                    assert!(!headers.contains_key(name));
                }
            }
        }
    }
    assert_eq!(get(&emu, "providers/Microsoft.CustomerLockbox/operations").await.status(), StatusCode::OK);
    assert_eq!(emu.faults_injected(), 5);
}

#[tokio::test]
async fn status_faults_answer_with_or_without_an_arm_body() {
    let emu = start(EmulatorConfig::default()).await;
    emu.inject(Fault::status(500).times(2));
    emu.inject(Fault::status_without_body(503));
    let path = "providers/Microsoft.CustomerLockbox/operations";
    assert_arm_error(get(&emu, path).await, 500, "InternalServerError").await;
    assert_arm_error(get(&emu, path).await, 500, "InternalServerError").await;
    let response = get(&emu, path).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("x-ms-request-id"));
    assert!(response.bytes().await.expect("body").is_empty());
    assert_eq!(get(&emu, path).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn html_fault_answers_a_gateway_page() {
    let emu = start(EmulatorConfig::default()).await;
    emu.inject(Fault::html(502));
    let response = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.headers()["content-type"].to_str().expect("ct").starts_with("text/html"));
    assert_eq!(response.text().await.expect("text"), "<html><body><h1>502 Bad Gateway</h1></body></html>");
}

#[tokio::test]
async fn drop_connection_fault_fails_send_without_a_response() {
    let emu = start(EmulatorConfig::default()).await;
    emu.inject(Fault::drop_connection());
    let error = call(&emu, Method::GET, "providers/Microsoft.CustomerLockbox/operations", None)
        .await
        .expect_err("the connection is dropped");
    assert!(!error.is_body() && !error.is_decode() && !error.is_status(), "{error:?}");
    assert_eq!(emu.faults_injected(), 1);
    assert_eq!(get(&emu, "providers/Microsoft.CustomerLockbox/operations").await.status(), StatusCode::OK);

    // On a pooled keep-alive connection, too: the request is not silently retried.
    let client = reqwest::Client::new();
    let target = url(&emu, "providers/Microsoft.CustomerLockbox/operations");
    let ok = client.get(&target).bearer_auth(TOKEN).send().await.expect("send");
    assert_eq!(ok.status(), StatusCode::OK);
    ok.bytes().await.expect("body");
    emu.clear_received();
    emu.inject(Fault::drop_connection().on(Operation::OperationsList));
    assert!(client.get(&target).bearer_auth(TOKEN).send().await.is_err());
    assert_eq!(emu.received().len(), 1, "sent once, not retried");
    let again = client.get(&target).bearer_auth(TOKEN).send().await.expect("send");
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn cut_body_fault_takes_effect_and_closes_the_connection_before_the_body_ends() {
    let emu = start(EmulatorConfig::default()).await;
    let whole = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await.bytes().await.expect("body");
    emu.inject(Fault::cut_body().on(Operation::OperationsList));
    let response = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(whole.len() as u64), "the head promises the whole body");
    let error = response.bytes().await.expect_err("the body is cut");
    let mut cause: Option<&dyn std::error::Error> = Some(&error);
    let mut eof = false;
    while let Some(e) = cause {
        eof |= e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof);
        cause = e.source();
    }
    assert!(eof, "the body ends before its content-length: {error:?}");
    assert_eq!(emu.faults_injected(), 1);

    // The operation itself took effect: a cut answer to a decision still records it, once.
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    emu.inject(Fault::cut_body().on(Operation::RequestsUpdateStatus));
    let response = decide(&emu, SUB, &id, "Deny").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.is_err());
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Denied"));
    assert_eq!(emu.decisions().iter().filter(|d| d.request_id == id).count(), 1);
}

#[tokio::test]
async fn delay_fault_answers_normally_after_the_delay() {
    let emu = start(EmulatorConfig::default()).await;
    emu.inject(Fault::delay(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let response = get(&emu, "providers/Microsoft.CustomerLockbox/operations").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn after_commit_faults_record_the_approval_but_fail_the_reply() {
    let emu = start(EmulatorConfig::default()).await;
    let first = emu.create_request(SUB, NewLockboxRequest::default());
    let second = emu.create_request(SUB, NewLockboxRequest::default());
    emu.inject(Fault::status(500).on(Operation::RequestsUpdateStatus).after_commit());
    assert_arm_error(decide(&emu, SUB, &first, "Approve").await, 500, "InternalServerError").await;
    assert_eq!(emu.request_status(SUB, &first).as_deref(), Some("Approved"));

    emu.inject(Fault::drop_connection().on(Operation::RequestsUpdateStatus).after_commit());
    let path = format!("{}/updateApproval", request_path(SUB, &second));
    assert!(call(&emu, Method::POST, &path, Some(json!({"status": "Approve"}))).await.is_err());
    assert_eq!(emu.request_status(SUB, &second).as_deref(), Some("Approved"));

    // A retry of the lost approval is a conflict, and nothing is recorded twice.
    assert_arm_error(decide(&emu, SUB, &first, "Approve").await, 409, "RequestNotPending").await;
    let decisions = emu.decisions();
    assert_eq!(decisions.iter().filter(|d| d.request_id == first).count(), 1);
    assert_eq!(decisions.iter().filter(|d| d.request_id == second).count(), 1);
}

#[tokio::test]
async fn before_commit_faults_leave_state_untouched() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    emu.inject(Fault::status(504).on(Operation::RequestsUpdateStatus));
    assert_arm_error(decide(&emu, SUB, &id, "Approve").await, 504, "GatewayTimeout").await;
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Pending"));
    assert!(emu.decisions().is_empty());
}

#[tokio::test]
async fn operation_scoped_faults_only_hit_that_operation() {
    let emu = start(EmulatorConfig::default()).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    emu.inject(Fault::throttle(RetryAfterHeader::Seconds(1)).times(2).on(Operation::RequestsGet));
    assert_eq!(get(&emu, &requests_path(SUB)).await.status(), StatusCode::OK);
    assert_eq!(get(&emu, "providers/Microsoft.CustomerLockbox/operations").await.status(), StatusCode::OK);
    assert_eq!(get(&emu, &request_path(SUB, &id)).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get(&emu, &request_path(SUB, &id)).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get(&emu, &request_path(SUB, &id)).await.status(), StatusCode::OK);
    assert_eq!(emu.faults_injected(), 2);
}

// ---------------------------------------------------------------- long-running operations

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().expect("header").to_owned()
}

#[tokio::test]
async fn async_approval_is_202_then_succeeds_after_the_clock_advances() {
    let config = EmulatorConfig::default().with_async_operations(Some(AsyncOperations {
        duration: Duration::from_secs(30),
        retry_after_secs: 2,
        fail_with: None,
        // The request stays Pending until the operation ends (the other mode is tested below).
        while_running: WhileRunning::Pending,
    }));
    let emu = start(config).await;
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    let response = decide(&emu, SUB, &id, "Approve").await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&response, "retry-after"), "2");
    let status_url = header(&response, "azure-asyncoperation");
    let result_url = header(&response, "location");
    assert!(status_url.starts_with(&format!("{}providers/Microsoft.CustomerLockbox/operationStatuses/", emu.url())));
    assert!(result_url.starts_with(&format!("{}providers/Microsoft.CustomerLockbox/operationResults/", emu.url())));
    assert!(status_url.ends_with(API) && result_url.ends_with(API));
    assert!(response.bytes().await.expect("body").is_empty());

    let client = reqwest::Client::new();
    let poll = |u: String| {
        let client = client.clone();
        async move { client.get(u).bearer_auth(TOKEN).send().await.expect("send") }
    };
    let in_progress = poll(status_url.clone()).await;
    assert_eq!(header(&in_progress, "retry-after"), "2");
    let status: Value = in_progress.json().await.expect("json");
    assert_eq!(status["status"], "InProgress");
    assert!(status.get("endTime").is_none());
    let pending = poll(result_url.clone()).await;
    assert_eq!(pending.status(), StatusCode::ACCEPTED);
    assert!(pending.headers().contains_key("location"));
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Pending"));
    assert!(emu.decisions().is_empty());

    emu.advance_clock(Duration::from_secs(31));
    let status: Value = poll(status_url).await.json().await.expect("json");
    assert_eq!(status["status"], "Succeeded");
    assert!(status["endTime"].is_string() && status["startTime"].is_string());
    let done = poll(result_url).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert_eq!(json_of(done).await, json!({"status": "Approve", "reason": "Looks legitimate"}));
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Approved"));
    assert_eq!(emu.decisions().len(), 1);
}

#[tokio::test]
async fn async_operations_can_fail_and_be_switched_off_at_runtime() {
    let emu = start(EmulatorConfig::default()).await;
    emu.set_async_operations(Some(AsyncOperations {
        duration: Duration::from_secs(5),
        retry_after_secs: 1,
        fail_with: Some(("LockboxBackendFailure".into(), "The backend failed.".into())),
        ..AsyncOperations::default()
    }));
    let response =
        call(&emu, Method::POST, "providers/Microsoft.CustomerLockbox/enableLockbox", None).await.expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (status_url, result_url) = (header(&response, "azure-asyncoperation"), header(&response, "location"));
    emu.advance_clock(Duration::from_secs(6));
    let client = reqwest::Client::new();
    let status: Value =
        client.get(&status_url).bearer_auth(TOKEN).send().await.expect("send").json().await.expect("json");
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["code"], "LockboxBackendFailure");
    let result = client.get(&result_url).bearer_auth(TOKEN).send().await.expect("send");
    assert_arm_error(result, 500, "LockboxBackendFailure").await;
    assert!(!emu.tenant_opted_in(emu.default_tenant_id()));

    emu.set_async_operations(None);
    let response =
        call(&emu, Method::POST, "providers/Microsoft.CustomerLockbox/enableLockbox", None).await.expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(emu.tenant_opted_in(emu.default_tenant_id()));
}

#[tokio::test]
async fn async_enable_lockbox_applies_when_the_operation_succeeds() {
    let emu = start(EmulatorConfig::default().with_async_operations(Some(AsyncOperations::default()))).await;
    let response = reqwest::Client::new()
        .post(url(&emu, "providers/Microsoft.CustomerLockbox/enableLockbox"))
        .bearer_auth(JWT)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(!emu.tenant_opted_in(JWT_TENANT));
    emu.advance_clock(Duration::from_secs(60));
    assert!(emu.tenant_opted_in(JWT_TENANT));
    let result =
        get(&emu, &header(&response, "location").replace(emu.url().as_str(), "").replace(&format!("?{API}"), "")).await;
    assert_eq!(result.status(), StatusCode::OK);
}

// ---------------------------------------------------------------- inspection & admin

#[tokio::test]
async fn received_log_keeps_raw_paths_and_redacts_authorization() {
    let emu = start(EmulatorConfig::default()).await;
    let path = format!("{}?$filter=properties/status%20eq%20'Pending'", requests_path(SUB));
    get(&emu, &path).await;
    let received = emu.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, format!("/{}", requests_path(SUB)));
    assert!(r.query.as_deref().expect("query").contains("%20eq%20"));
    assert_eq!(r.header("Authorization"), Some("<redacted>"));
    assert!(!format!("{received:?}").contains(TOKEN));
    assert_eq!(r.body_len, 0);
    let id = emu.create_request(SUB, NewLockboxRequest::default());
    decide(&emu, SUB, &id, "Approve").await;
    let post = emu.received().pop().expect("POST recorded");
    assert_eq!(post.method, "POST");
    assert_eq!(post.body_len, json!({"status": "Approve", "reason": "Looks legitimate"}).to_string().len());
    emu.clear_received();
    assert!(emu.received().is_empty());
}

#[tokio::test]
async fn admin_http_api_drives_the_emulator() -> TestResult {
    let emu = start(EmulatorConfig::default()).await;
    let client = reqwest::Client::new();
    let admin = |p: &str| format!("{}_emulator/{p}", emu.url());

    let created: Value = client
        .post(admin("requests"))
        .json(&json!({"subscriptionId": SUB, "justification": "Admin-created", "expiresInSeconds": 600}))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Pending"));

    let seed = json!({"tenants": {JWT_TENANT: true}, "requests": [{"subscriptionId": SUB, "requestId": "5e0c2a9e-1d7b-4b59-9f3a-7c1e2d3f4a5b", "justification": "Seeded", "status": "approved"}]});
    assert_eq!(client.post(admin("seed")).json(&seed).send().await?.status(), StatusCode::OK);
    assert!(emu.tenant_opted_in(JWT_TENANT));
    assert_eq!(emu.request_status(SUB, "5e0c2a9e-1d7b-4b59-9f3a-7c1e2d3f4a5b").as_deref(), Some("Approved"));
    let bad_seed = json!({"requests": [{"subscriptionId": SUB, "status": "Sideways"}]});
    assert_eq!(client.post(admin("seed")).json(&bad_seed).send().await?.status(), StatusCode::BAD_REQUEST);

    let fault = json!({"kind": "throttle", "retryAfterSeconds": 3, "operation": "RequestsGet"});
    assert_eq!(client.post(admin("faults")).json(&fault).send().await?.status(), StatusCode::NO_CONTENT);
    let throttled = get(&emu, &request_path(SUB, &id)).await;
    assert_eq!(
        (throttled.status(), header(&throttled, "retry-after")),
        (StatusCode::TOO_MANY_REQUESTS, "3".to_owned())
    );

    let advanced = client.post(admin("clock/advance")).json(&json!({"seconds": 601})).send().await?;
    assert_eq!(advanced.status(), StatusCode::OK);
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Expired"));

    let other = emu.create_request(SUB, NewLockboxRequest::default());
    assert_eq!(decide(&emu, SUB, &other, "Deny").await.status(), StatusCode::OK);
    let decisions: Value = client.get(admin("decisions")).send().await?.json().await?;
    assert_eq!(decisions[0]["requestId"], other.as_str());
    assert_eq!(decisions[0]["decision"], "Deny");

    let received: Value = client.get(admin("received")).send().await?.json().await?;
    let received = received.as_array().expect("array");
    assert_eq!(received.len(), 2, "admin calls are not recorded");
    assert_eq!(received[0]["headers"]["authorization"], "<redacted>");
    Ok(())
}

#[tokio::test]
async fn seed_file_and_sample_data_load_realistic_state() -> TestResult {
    let emu = start(EmulatorConfig::default()).await;
    let seed = Seed {
        tenants: [(JWT_TENANT.to_owned(), true)].into(),
        requests: vec![SeedRequest {
            subscription_id: OTHER_SUB.into(),
            request_id: Some("7a1b2c3d-0000-4000-8000-000000000001".into()),
            status: Some("Denied".into()),
            created_date_time: None,
            expiration_date_time: None,
            request: NewLockboxRequest::default(),
        }],
    };
    let file = std::env::temp_dir().join(format!("lockbox-seed-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, serde_json::to_vec(&seed)?)?;
    emu.seed_from_file(&file)?;
    std::fs::remove_file(&file)?;
    assert!(emu.tenant_opted_in(JWT_TENANT));
    assert_eq!(emu.request_status(OTHER_SUB, "7a1b2c3d-0000-4000-8000-000000000001").as_deref(), Some("Denied"));

    let ids = emu.sample_data(SUB);
    let statuses: Vec<String> = ids.iter().filter_map(|id| emu.request_status(SUB, id)).collect();
    for status in ["Pending", "Approved", "Denied", "Expired"] {
        assert!(statuses.iter().any(|s| s == status), "{statuses:?}");
    }
    emu.seed(Seed::default());
    Ok(())
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = start(EmulatorConfig::default()).await;
    let target = url(&emu, "providers/Microsoft.CustomerLockbox/operations");
    emu.shutdown().await;
    assert!(reqwest::Client::new().get(target).bearer_auth(TOKEN).send().await.is_err());
}

// ---------------------------------------------------------------- concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_clients_decide_each_request_at_most_once() {
    let emu = std::sync::Arc::new(start(EmulatorConfig::default().with_page_size(3)).await);
    let ids: Vec<String> = (0..10).map(|_| emu.create_request(SUB, NewLockboxRequest::default())).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for client_no in 0..50usize {
        let (emu, ids) = (emu.clone(), ids.clone());
        tasks.spawn(async move {
            // One HTTP client (and connection pool) per simulated client.
            let client = reqwest::Client::new();
            let send = |method: Method, path: String, body: Option<Value>| {
                let mut request = client.request(method, url(&emu, &path)).bearer_auth(TOKEN);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                request.send()
            };
            let mut wins = Vec::new();
            for round in 0..4usize {
                let id = &ids[(client_no + round * 7) % ids.len()];
                let list = send(Method::GET, requests_path(SUB), None).await.expect("list");
                assert_eq!(list.status(), StatusCode::OK);
                let page = list.json::<Value>().await.expect("json");
                assert_eq!(page["value"].as_array().map(Vec::len), Some(3));
                let read = send(Method::GET, request_path(SUB, id), None).await.expect("get");
                assert_eq!(read.status(), StatusCode::OK);
                let verdict = if client_no % 2 == 0 { "Approve" } else { "Deny" };
                let path = format!("{}/updateApproval", request_path(SUB, id));
                let response = send(Method::POST, path, Some(json!({"status": verdict}))).await.expect("decide");
                match response.status().as_u16() {
                    200 => wins.push(id.clone()),
                    409 => {}
                    other => panic!("unexpected status {other}"),
                }
            }
            wins
        });
    }
    let mut wins = Vec::new();
    while let Some(result) = tasks.join_next().await {
        wins.extend(result.expect("client task"));
    }
    let decisions = emu.decisions();
    assert_eq!(decisions.len(), wins.len());
    for id in &ids {
        assert_eq!(decisions.iter().filter(|d| &d.request_id == id).count(), 1, "{id}");
        assert_eq!(wins.iter().filter(|w| *w == id).count(), 1);
        let status = emu.request_status(SUB, id).expect("exists");
        assert!(status == "Approved" || status == "Denied", "{status}");
    }
}
