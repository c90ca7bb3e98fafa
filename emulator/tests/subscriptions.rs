//! Resource Manager around Lockbox: `GET /subscriptions` paged with states, forbidden and unregistered
//! subscriptions, the per-principal request budget, added latency, and bulk seeding (Rust and admin API).

use std::time::{Duration, Instant};

use azure_customer_lockbox_emulator::{
    Emulator, EmulatorConfig, NewSubscription, RequestBudget, SubscriptionAccess, SubscriptionState, TenantSeed,
};
use serde_json::{Value, json};

const LOCKBOX_API: &str = "api-version=2018-02-28-preview";

async fn get(url: &str, token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("answered");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn requests_url(emu: &Emulator, sub: &str) -> String {
    format!("{}subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests?{LOCKBOX_API}", emu.url())
}

/// Follows `nextLink` from `GET /subscriptions`; returns every subscription and the number of pages.
async fn all_subscriptions(emu: &Emulator) -> (Vec<Value>, usize) {
    let mut url = format!("{}subscriptions?api-version=2022-12-01", emu.url());
    let (mut items, mut pages) = (Vec::new(), 0);
    loop {
        let (status, _, body) = get(&url, "t").await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        match body["nextLink"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return (items, pages),
        }
    }
}

#[tokio::test]
async fn subscriptions_are_listed_in_pages_with_their_states() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let states = [
        SubscriptionState::Enabled,
        SubscriptionState::Warned,
        SubscriptionState::PastDue,
        SubscriptionState::Disabled,
        SubscriptionState::Deleted,
    ];
    for (i, state) in states.into_iter().enumerate() {
        emu.add_subscription(NewSubscription::new(format!("00000000-0000-0000-0000-00000000000{i}")).with_state(state));
    }
    let (items, pages) = all_subscriptions(&emu).await;
    assert_eq!(pages, 3);
    let seen: Vec<(&str, &str)> =
        items.iter().map(|s| (s["subscriptionId"].as_str().unwrap(), s["state"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        [
            ("00000000-0000-0000-0000-000000000000", "Enabled"),
            ("00000000-0000-0000-0000-000000000001", "Warned"),
            ("00000000-0000-0000-0000-000000000002", "PastDue"),
            ("00000000-0000-0000-0000-000000000003", "Disabled"),
            ("00000000-0000-0000-0000-000000000004", "Deleted"),
        ]
    );
    let first = &items[0];
    assert_eq!(first["id"], "/subscriptions/00000000-0000-0000-0000-000000000000");
    assert_eq!(first["tenantId"], emu.default_tenant_id());
    assert!(first["displayName"].is_string() && first["subscriptionPolicies"]["spendingLimit"].is_string());

    // The Lockbox api-version is not the Subscriptions one.
    let (status, _, body) = get(&format!("{}subscriptions?{LOCKBOX_API}", emu.url()), "t").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("InvalidApiVersionParameter")), "{body}");
    let (status, _, _) = reqwest::get(format!("{}subscriptions?api-version=2022-12-01", emu.url()))
        .await
        .map(|r| (r.status().as_u16(), (), ()))
        .unwrap();
    assert_eq!(status, 401, "a token is needed");
}

#[tokio::test]
async fn forbidden_and_unregistered_subscriptions_refuse_lockbox_calls_with_arm_errors() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let (ok, forbidden, unregistered) = (
        "00000000-0000-0000-0000-0000000000a1",
        "00000000-0000-0000-0000-0000000000a2",
        "00000000-0000-0000-0000-0000000000a3",
    );
    emu.add_subscription(NewSubscription::new(ok));
    emu.add_subscription(NewSubscription::new(forbidden).with_access(SubscriptionAccess::Forbidden));
    emu.add_subscription(NewSubscription::new(unregistered).with_access(SubscriptionAccess::Unregistered));
    let id = emu.create_request(forbidden, Default::default());

    let (status, _, body) = get(&requests_url(&emu, ok), "t").await;
    assert_eq!(status, 200, "{body}");
    let (status, headers, body) = get(&requests_url(&emu, forbidden), "t").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("AuthorizationFailed")), "{body}");
    assert_eq!(headers["x-ms-error-code"], "AuthorizationFailed");
    assert!(body["error"]["message"].as_str().unwrap().contains("Microsoft.CustomerLockbox/requests/read"));
    let one = format!(
        "{}subscriptions/{forbidden}/providers/Microsoft.CustomerLockbox/requests/{id}?{LOCKBOX_API}",
        emu.url()
    );
    assert_eq!(get(&one, "t").await.0, 403);
    let (status, _, body) = get(&requests_url(&emu, unregistered), "t").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("MissingSubscriptionRegistration")), "{body}");
    // The subscriptions themselves are still listed.
    assert_eq!(all_subscriptions(&emu).await.0.len(), 3);
}

#[tokio::test]
async fn the_request_budget_answers_429_with_retry_after_per_principal_and_is_off_by_default() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let list = format!("{}subscriptions?api-version=2022-12-01", emu.url());
    for _ in 0..20 {
        assert_eq!(get(&list, "a").await.0, 200, "no budget by default");
    }
    emu.set_request_budget(Some(RequestBudget { requests: 3, per: Duration::from_secs(60) }));
    for _ in 0..3 {
        assert_eq!(get(&list, "a").await.0, 200);
    }
    let (status, headers, body) = get(&list, "a").await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("TooManyRequests")), "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another principal has its own budget.
    assert_eq!(get(&list, "b").await.0, 200);
    // Lockbox calls are charged too.
    assert_eq!(get(&requests_url(&emu, "00000000-0000-0000-0000-000000000001"), "a").await.0, 429);
    assert_eq!(emu.throttled_by_budget(), 2);
    // Once the window has passed, the principal may call again.
    emu.advance_clock(Duration::from_secs(61));
    assert_eq!(get(&list, "a").await.0, 200);
    emu.set_request_budget(None);
    for _ in 0..5 {
        assert_eq!(get(&list, "a").await.0, 200);
    }
}

#[tokio::test]
async fn added_latency_delays_every_arm_answer_but_not_the_admin_api() {
    let emu = Emulator::start(EmulatorConfig {
        latency: Some(Duration::from_millis(40)..=Duration::from_millis(60)),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let list = format!("{}subscriptions?api-version=2022-12-01", emu.url());
    get(&list, "t").await; // connection set up
    for url in [
        list.clone(),
        requests_url(&emu, "00000000-0000-0000-0000-000000000001"),
        format!("{}nothing?{LOCKBOX_API}", emu.url()),
    ] {
        let started = Instant::now();
        get(&url, "t").await;
        assert!(started.elapsed() >= Duration::from_millis(40), "{url}: {:?}", started.elapsed());
    }

    // The other checks use a latency no busy machine can be mistaken for: 30 s. An ARM answer does not come
    // within 2 s, the admin API answers well within 10 s, and so does ARM once the latency is off. (Bounds on
    // elapsed time under the latency, not above it, so that other tests running beside this one cannot fail it.)
    emu.set_latency(Some(Duration::from_secs(30)..=Duration::from_secs(30)));
    let delayed = tokio::time::timeout(Duration::from_secs(2), get(&list, "t")).await;
    assert!(delayed.is_err(), "an ARM answer came within 2 s of a 30 s latency");
    let admin = format!("{}_emulator/clock", emu.url());
    let answer = tokio::time::timeout(Duration::from_secs(10), reqwest::get(&admin)).await;
    let answer = answer.expect("the admin API waited the latency").unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    emu.set_latency(None);
    let answer = tokio::time::timeout(Duration::from_secs(10), get(&list, "t")).await;
    assert_eq!(answer.expect("with the latency off, ARM still waited").0, 200);
}

#[tokio::test]
async fn a_tenant_is_seeded_in_one_call_from_rust_and_over_the_admin_api() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(100)).await.unwrap();
    let seed = TenantSeed {
        subscriptions: 1000,
        requests_per_subscription: 20,
        forbidden: 3,
        unregistered: 1,
        disabled: 5,
        deleted: 2,
        ..TenantSeed::default()
    };
    // One call seeds the whole tenant. How long it takes is measured by `examples/tenant_scale.rs`, not here:
    // a bound on time would fail on a busy machine.
    let ids = emu.seed_tenant(&seed);
    assert_eq!(ids.len(), 1000);
    let (items, _) = all_subscriptions(&emu).await;
    assert_eq!(items.len(), 1000);
    let count = |state: &str| items.iter().filter(|s| s["state"] == state).count();
    assert_eq!((count("Enabled"), count("Disabled"), count("Deleted")), (993, 5, 2));
    assert_eq!(get(&requests_url(&emu, &ids[0]), "t").await.0, 403);
    assert_eq!(get(&requests_url(&emu, &ids[3]), "t").await.0, 409);
    let (status, _, page) = get(&requests_url(&emu, &ids[999]), "t").await;
    assert_eq!(status, 200);
    assert_eq!(page["value"].as_array().unwrap().len(), 20);
    assert!(page["value"].as_array().unwrap().iter().all(|r| r["properties"]["status"] == "Pending"));

    // Over the admin API: new subscriptions, not the same ids again.
    let answer: Value = reqwest::Client::new()
        .post(format!("{}_emulator/seed-tenant", emu.url()))
        .json(&json!({"subscriptions": 4, "requestsPerSubscription": 2, "forbidden": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let more: Vec<&str> = answer["subscriptionIds"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(more.len(), 4);
    assert!(more.iter().all(|id| !ids.iter().any(|old| old == id)), "{more:?}");
    assert_eq!(get(&requests_url(&emu, more[0]), "t").await.0, 403);
    let (_, _, page) = get(&requests_url(&emu, more[1]), "t").await;
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let added = reqwest::Client::new()
        .post(format!("{}_emulator/subscriptions", emu.url()))
        .json(&json!({"subscriptionId": "00000000-0000-0000-0000-0000000000ff", "state": "Warned", "access": "Unregistered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 204);
    assert_eq!(all_subscriptions(&emu).await.0.len(), 1005);
    assert_eq!(get(&requests_url(&emu, "00000000-0000-0000-0000-0000000000ff"), "t").await.0, 409);
}

/// A request created in a subscription never added lists that subscription (as `Enabled`), so a tenant-wide
/// caller finds it; a subscription added before keeps its state.
#[tokio::test]
async fn creating_a_request_lists_its_subscription() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let fresh = "7d1c1f8e-0000-4000-8000-000000000001";
    let disabled = "7d1c1f8e-0000-4000-8000-000000000002";
    emu.add_subscription(NewSubscription { state: SubscriptionState::Disabled, ..NewSubscription::new(disabled) });
    emu.create_request(fresh, Default::default());
    emu.create_request(fresh, Default::default());
    emu.create_request(disabled, Default::default());
    let (listed, _) = all_subscriptions(&emu).await;
    let states: Vec<(&str, &str)> =
        listed.iter().map(|s| (s["subscriptionId"].as_str().unwrap(), s["state"].as_str().unwrap())).collect();
    assert_eq!(states, [(disabled, "Disabled"), (fresh, "Enabled")], "listed once each, the added one unchanged");
}
