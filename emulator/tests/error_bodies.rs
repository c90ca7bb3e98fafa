//! Every error body the emulator can produce has the shape of the upstream reference spec's `ErrorResponse`
//! (`ErrorBody`, `ErrorAdditionalInfo`): only the members the schema declares, each of the declared type, and
//! absent members omitted (never `null`), as Resource Manager does.
//!
//! The schema is read from the upstream reference spec beside the repository
//! (`../shared/reference/customer-lockbox/customerlockbox.json`, or the file named by `LOCKBOX_REFERENCE_SPEC`).

use std::path::PathBuf;
use std::time::Duration;

use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, Fault, NewSubscription, Operation, RequestBudget, RetryAfterHeader,
    SubscriptionAccess,
};
use reqwest::Method;
use serde_json::{Value, json};

const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const API: &str = "api-version=2018-02-28-preview";
const REQUESTS: &str =
    "subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/providers/Microsoft.CustomerLockbox/requests";

fn reference_spec() -> Value {
    let path = std::env::var_os("LOCKBOX_REFERENCE_SPEC").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/customer-lockbox/customerlockbox.json")
    });
    let text = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("the upstream reference spec is needed at {} (or set LOCKBOX_REFERENCE_SPEC): {e}", path.display())
    });
    serde_json::from_slice(&text).expect("the reference spec is JSON")
}

/// Checks `value` against `schema` (the subset of Swagger 2.0 the error definitions use: `$ref`, `type`,
/// `properties`, `items`, `enum`). Objects may carry only declared members; no member may be `null`.
fn check(spec: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        return check(spec, &spec["definitions"][name], value, at, problems);
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("string") => value.is_string(),
        Some("array") => value.is_array(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("type {other} is not handled by this checker"),
        None => !value.is_null(),
    };
    if !ok {
        problems.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {schema}", schema = schema["enum"]));
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object()) {
        for (name, member) in object {
            match properties.get(name) {
                Some(member_schema) => check(spec, member_schema, member, &format!("{at}.{name}"), problems),
                None => problems.push(format!("{at}.{name}: not a member of the schema")),
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(spec, item_schema, item, &format!("{at}[{i}]"), problems);
        }
    }
}

fn problems_with(spec: &Value, definition: &str, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(spec, &json!({"$ref": format!("#/definitions/{definition}")}), value, "$", &mut problems);
    problems
}

/// A name, the request (method, path and query, whether to send a token, body) and the status expected.
type Case<'a> = (&'a str, Method, String, bool, Option<&'a [u8]>, u16);

/// One request to the emulator; returns the status and body of the answer.
async fn send(emu: &Emulator, method: Method, path: &str, auth: bool, body: Option<&[u8]>) -> (u16, Value) {
    let url = format!("{}{}", emu.url(), path.trim_start_matches('/'));
    let mut builder = reqwest::Client::new().request(method, url);
    if auth {
        builder = builder.bearer_auth("opaque-test-token");
    }
    if let Some(body) = body {
        builder = builder.header("content-type", "application/json").body(body.to_vec());
    }
    let response = builder.send().await.expect("the emulator answers");
    let status = response.status().as_u16();
    let text = response.bytes().await.expect("a whole body");
    let value = if text.is_empty() { Value::Null } else { serde_json::from_slice(&text).unwrap_or(Value::Null) };
    (status, value)
}

#[test]
fn the_checker_refuses_null_members_unknown_members_and_wrong_types() {
    let spec = reference_spec();
    let good = json!({"error": {"code": "C", "message": "m", "target": "t",
        "additionalInfo": [{"type": "LockboxRequestStatus", "info": {"currentStatus": "Approved"}}]}});
    assert_eq!(problems_with(&spec, "ErrorResponse", &good), Vec::<String>::new());
    for bad in [
        json!({"error": {"code": "C", "message": "m", "target": null}}),
        json!({"error": {"code": "C", "message": "m", "details": []}}),
        json!({"error": {"code": 5, "message": "m"}}),
        json!({"error": {"code": "C", "message": "m", "additionalInfo": [{"type": "T", "info": {"currentStatus": null}}]}}),
        json!({"error": {"code": "C", "message": "m", "additionalInfo": {}}}),
    ] {
        assert!(!problems_with(&spec, "ErrorResponse", &bad).is_empty(), "{bad} passed");
    }
}

#[tokio::test]
async fn every_error_body_has_the_upstream_error_shape() {
    let spec = reference_spec();
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let pending = emu.create_request(SUB, Default::default());
    let decided = emu.create_request(SUB, Default::default());
    emu.sample_data(SUB);
    let approve = br#"{"status":"Approve","reason":"ok"}"#;
    let (status, _) =
        send(&emu, Method::POST, &format!("{REQUESTS}/{decided}/updateApproval?{API}"), true, Some(approve)).await;
    assert_eq!(status, 200);

    let long_path = format!("{REQUESTS}/{}?{API}", "a".repeat(9000));
    let request = |id: &str| format!("{REQUESTS}/{id}?{API}");
    let update = |id: &str| format!("{REQUESTS}/{id}/updateApproval?{API}");
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("RequestNotFound", Method::GET, request("no-such-request"), true, None, 404),
        ("RequestNotPending", Method::POST, update(&decided), true, Some(approve), 409),
        ("NotFound (admin namespace)", Method::GET, "_emulator/nothing-here".into(), true, None, 404),
        ("RequestUriTooLong", Method::GET, long_path, true, None, 414),
        ("InvalidRequestUri", Method::GET, format!("{REQUESTS}/a%01b?{API}"), true, None, 400),
        ("AuthenticationFailed (no token)", Method::GET, request(&pending), false, None, 401),
        ("MissingApiVersionParameter", Method::GET, format!("{REQUESTS}/{pending}"), true, None, 400),
        ("InvalidApiVersionParameter", Method::GET, format!("{REQUESTS}/{pending}?api-version=2099-01-01"), true, None, 400),
        ("MethodNotAllowed", Method::DELETE, request(&pending), true, None, 405),
        ("InvalidResourceType (provider)", Method::GET, format!("providers/Microsoft.CustomerLockbox/nothing?{API}"), true, None, 404),
        ("InvalidResourceType (subscription)", Method::GET, format!("subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/nothing?{API}"), true, None, 404),
        ("NotFound (path)", Method::GET, format!("nothing/here?{API}"), true, None, 404),
        ("InvalidRequestContent (malformed)", Method::POST, update(&pending), true, Some(b"{not json"), 400),
        ("InvalidRequestContent (no status)", Method::POST, update(&pending), true, Some(b"{}"), 400),
        ("InvalidRequestContent (bad status)", Method::POST, update(&pending), true, Some(br#"{"status":"Maybe"}"#), 400),
        ("InvalidSkipToken", Method::GET, format!("{REQUESTS}?{API}&$skipToken=%%%"), true, None, 400),
        ("InvalidFilter", Method::GET, format!("{REQUESTS}?{API}&$filter=name%20eq%20'x'"), true, None, 400),
        ("OperationNotFound", Method::GET, format!("providers/Microsoft.CustomerLockbox/operationStatuses/nope?{API}"), true, None, 404),
        ("admin InvalidRequestContent (seed)", Method::POST, "_emulator/seed".into(), false, Some(b"[1,2"), 400),
        ("admin InvalidRequestContent (fault)", Method::POST, "_emulator/faults".into(), false, Some(br#"{"kind":"nonsense"}"#), 400),
        ("admin InvalidRequestContent (create)", Method::POST, "_emulator/requests".into(), false, Some(b"nope"), 400),
    ];
    let mut bodies = Vec::new();
    for (name, method, path, auth, body, expected) in cases {
        let (status, value) = send(&emu, method, &path, auth, body).await;
        assert_eq!(status, expected, "{name}: {value}");
        bodies.push((name.to_owned(), value));
    }

    // Subscriptions the caller cannot read, or where the provider is not registered; the request budget.
    let (forbidden, unregistered) = ("00000000-0000-0000-0000-0000000000f1", "00000000-0000-0000-0000-0000000000f2");
    emu.add_subscription(NewSubscription::new(forbidden).with_access(SubscriptionAccess::Forbidden));
    emu.add_subscription(NewSubscription::new(unregistered).with_access(SubscriptionAccess::Unregistered));
    for (name, sub, expected) in
        [("AuthorizationFailed", forbidden, 403), ("MissingSubscriptionRegistration", unregistered, 409)]
    {
        let path = format!("subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests?{API}");
        let (status, value) = send(&emu, Method::GET, &path, true, None).await;
        assert_eq!(status, expected, "{name}: {value}");
        bodies.push((name.into(), value));
    }
    let (status, value) = send(&emu, Method::GET, "subscriptions?api-version=2018-02-28-preview", true, None).await;
    assert_eq!(status, 400, "{value}");
    bodies.push(("InvalidApiVersionParameter (subscriptions)".into(), value));
    let budgeted = Emulator::start(EmulatorConfig {
        request_budget: Some(RequestBudget { requests: 1, per: Duration::from_secs(60) }),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let list = "subscriptions?api-version=2022-12-01";
    assert_eq!(send(&budgeted, Method::GET, list, true, None).await.0, 200);
    let (status, value) = send(&budgeted, Method::GET, list, true, None).await;
    assert_eq!(status, 429, "{value}");
    bodies.push(("TooManyRequests (budget)".into(), value));

    // A body over the size limit.
    let small = Emulator::start(EmulatorConfig { max_body_bytes: 64, ..EmulatorConfig::default() }).await.unwrap();
    let (status, value) = send(&small, Method::POST, &update("x"), true, Some(&[b' '; 200])).await;
    assert_eq!(status, 413, "{value}");
    bodies.push(("RequestEntityTooLarge".into(), value));

    // Injected faults with ARM bodies: throttling and each error status.
    for (i, status) in [500u16, 502, 503, 504, 408, 409, 418].into_iter().enumerate() {
        emu.inject(Fault::status(status).on(Operation::RequestsGet));
        let (got, value) = send(&emu, Method::GET, &request(&pending), true, None).await;
        assert_eq!(got, status, "fault {i}: {value}");
        bodies.push((format!("fault {status}"), value));
    }
    emu.inject(Fault::throttle(RetryAfterHeader::Seconds(1)).on(Operation::RequestsGet));
    let (got, value) = send(&emu, Method::GET, &request(&pending), true, None).await;
    assert_eq!(got, 429, "{value}");
    bodies.push(("TooManyRequests".into(), value));

    // A long-running decision that fails: the operation result is an ARM error, and the operation status
    // carries an ErrorBody in its `error` member.
    emu.set_async_operations(Some(AsyncOperations {
        duration: Duration::from_secs(1),
        fail_with: Some(("DecisionFailed".into(), "The decision could not be applied.".into())),
        ..AsyncOperations::default()
    }));
    let url = format!("{}{}", emu.url(), update(&pending));
    let accepted =
        reqwest::Client::new().post(url).bearer_auth("t").body(approve.to_vec()).send().await.expect("answered");
    assert_eq!(accepted.status().as_u16(), 202);
    let header = |name: &str| accepted.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status_url, result_url) = (header("azure-asyncoperation").unwrap(), header("location").unwrap());
    emu.advance_clock(Duration::from_secs(5));
    let poll = |url: String| async move {
        let response = reqwest::Client::new().get(url).bearer_auth("t").send().await.expect("answered");
        (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, operation) = poll(status_url).await;
    assert_eq!((status, operation["status"].as_str()), (200, Some("Failed")), "{operation}");
    let (status, result) = poll(result_url).await;
    assert!(status >= 400, "{status} {result}");
    bodies.push(("operation result".into(), result));

    let mut problems = Vec::new();
    for (name, body) in &bodies {
        for p in problems_with(&spec, "ErrorResponse", body) {
            problems.push(format!("{name}: {p} in {body}"));
        }
        if !body["error"]["code"].is_string() || !body["error"]["message"].is_string() {
            problems.push(format!("{name}: no code and message in {body}"));
        }
    }
    for p in problems_with(&spec, "ErrorBody", &operation["error"]) {
        problems.push(format!("operation status error: {p} in {operation}"));
    }
    assert!(!operation["error"].is_null(), "{operation}");
    let conflict = &bodies.iter().find(|(n, _)| n == "RequestNotPending").unwrap().1;
    assert_eq!(conflict["error"]["additionalInfo"][0]["info"]["currentStatus"], "Approved", "{conflict}");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
