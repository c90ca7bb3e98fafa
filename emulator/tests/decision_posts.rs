//! The emulator counts every decision POST per request, so a client that resends a decision blindly is seen:
//! [`Emulator::duplicate_decisions`] (the count the SDK's soak reports) goes above 0.

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, Fault, Operation};
use serde_json::Value;

const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const API: &str = "api-version=2018-02-28-preview";

async fn post_decision(emu: &Emulator, id: &str) -> u16 {
    let url = format!(
        "{}subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/{id}/updateApproval?{API}",
        emu.url()
    );
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(r#"{"status":"Approve","reason":"resent blindly"}"#)
        .send()
        .await
        .expect("answered");
    response.status().as_u16()
}

#[tokio::test]
async fn a_client_that_resends_a_taken_decision_blindly_is_counted() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let once = emu.create_request(SUB, Default::default());
    let twice = emu.create_request(SUB, Default::default());
    let untouched = emu.create_request(SUB, Default::default());

    // A correct client: one POST, even though the reply was lost after the decision was recorded.
    emu.inject(Fault::status(500).after_commit().on(Operation::RequestsUpdateStatus));
    assert_eq!(post_decision(&emu, &once).await, 500);
    // A broken client: the same lost reply, then two blind resends (each refused with 409, so none adds a
    // decision record: only the POST counts can see them).
    emu.inject(Fault::status(500).after_commit().on(Operation::RequestsUpdateStatus));
    assert_eq!(post_decision(&emu, &twice).await, 500);
    assert_eq!(post_decision(&emu, &twice).await, 409);
    assert_eq!(post_decision(&emu, &twice).await, 409);

    assert_eq!(emu.decisions().len(), 2, "one record per request");
    assert_eq!(emu.duplicate_decisions(), 2);
    let posts = emu.decision_posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let of = |id: &str| posts.iter().find(|p| p.request_id == id).map(|p| (p.received, p.after_decision));
    assert_eq!(of(&once), Some((1, 0)));
    assert_eq!(of(&twice), Some((3, 2)));
    assert_eq!(of(&untouched), None);

    // The admin API says the same.
    let admin: Value =
        reqwest::get(format!("{}_emulator/decision-posts", emu.url())).await.unwrap().json().await.unwrap();
    assert_eq!(admin["duplicateDecisions"], 2, "{admin}");
    assert_eq!(admin["requests"].as_array().map(Vec::len), Some(2), "{admin}");
    let twice_json = admin["requests"].as_array().unwrap().iter().find(|r| r["requestId"] == twice.as_str()).unwrap();
    assert_eq!((twice_json["received"].as_u64(), twice_json["afterDecision"].as_u64()), (Some(3), Some(2)));
}

#[tokio::test]
async fn posts_before_the_decision_is_recorded_are_not_duplicates() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let id = emu.create_request(SUB, Default::default());
    // Refused before the effect: the resend that follows is the first that can take, not a duplicate.
    emu.inject(Fault::status(503).on(Operation::RequestsUpdateStatus));
    assert_eq!(post_decision(&emu, &id).await, 503);
    assert_eq!(post_decision(&emu, &id).await, 200);
    assert_eq!(emu.duplicate_decisions(), 0);
    assert_eq!(emu.decision_posts()[0].received, 2);
}

// ---- 202 mode per subscription, poll faults, foreign polling hosts ----

const ASYNC_SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb92720202a0";

async fn post_on(emu: &Emulator, sub: &str, id: &str) -> reqwest::Response {
    let url = format!(
        "{}subscriptions/{sub}/providers/Microsoft.CustomerLockbox/requests/{id}/updateApproval?{API}",
        emu.url()
    );
    reqwest::Client::new()
        .post(url)
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(r#"{"status":"Deny","reason":"r"}"#)
        .send()
        .await
        .expect("answered")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn one_subscription_in_202_mode_leaves_the_others_answered_at_once() {
    use azure_customer_lockbox_emulator::{AsyncOperations, WhileRunning};
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    // The request stays Pending while the operation runs, so a resend is accepted too.
    let pending = AsyncOperations { while_running: WhileRunning::Pending, ..AsyncOperations::default() };
    emu.set_async_operations_for(ASYNC_SUB, Some(pending));
    let sync_id = emu.create_request(SUB, Default::default());
    let async_id = emu.create_request(ASYNC_SUB, Default::default());
    assert_eq!(post_on(&emu, SUB, &sync_id).await.status().as_u16(), 200);
    let accepted = post_on(&emu, ASYNC_SUB, &async_id).await;
    assert_eq!(accepted.status().as_u16(), 202);
    assert!(header(&accepted, "azure-asyncoperation").contains("/operationStatuses/"));
    assert_eq!(emu.request_status(ASYNC_SUB, &async_id).as_deref(), Some("Pending"), "not decided before it ends");
    // A resend while the accepted decision runs is a duplicate, although nothing is recorded yet.
    assert_eq!(post_on(&emu, ASYNC_SUB, &async_id).await.status().as_u16(), 202);
    assert_eq!(emu.duplicate_decisions(), 1);
    // `None` for the subscription overrides an emulator-wide 202 mode.
    emu.set_async_operations(Some(AsyncOperations::default()));
    emu.set_async_operations_for(SUB, None);
    let other = emu.create_request(SUB, Default::default());
    assert_eq!(post_on(&emu, SUB, &other).await.status().as_u16(), 200);
}

#[tokio::test]
async fn poll_faults_hit_only_polls_and_a_foreign_polling_host_is_named_and_counted() {
    use azure_customer_lockbox_emulator::AsyncOperations;
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.set_async_operations(Some(AsyncOperations::default()));
    let id = emu.create_request(SUB, Default::default());
    emu.inject(Fault::status(503).on(Operation::AsyncOperationPoll));
    emu.inject(Fault::foreign_polling_host().on(Operation::RequestsUpdateStatus));
    // The POST passes the poll fault by and takes the foreign-host one.
    let accepted = post_on(&emu, SUB, &id).await;
    assert_eq!(accepted.status().as_u16(), 202);
    let status_url = url::Url::parse(&header(&accepted, "azure-asyncoperation")).unwrap();
    let result_url = url::Url::parse(&header(&accepted, "location")).unwrap();
    assert_eq!(status_url.host_str(), Some("localhost"), "{status_url}");
    assert_eq!(result_url.host_str(), Some("localhost"), "{result_url}");
    assert_eq!(status_url.port(), emu.url().port());
    assert_eq!(emu.faults_injected(), 1);
    assert_eq!(emu.foreign_host_requests(), 0);
    // Following it reaches the emulator under a foreign name: counted. The first poll gets the poll fault.
    let poll = reqwest::Client::new().get(status_url.clone()).bearer_auth("t").send().await.unwrap();
    assert_eq!(poll.status().as_u16(), 503);
    assert_eq!(emu.faults_injected(), 2);
    let poll = reqwest::Client::new().get(status_url).bearer_auth("t").send().await.unwrap();
    assert_eq!(poll.status().as_u16(), 200);
    assert_eq!(emu.foreign_host_requests(), 2);
    // A poll fault by the JSON admin name, too.
    let spec: azure_customer_lockbox_emulator::FaultSpec =
        serde_json::from_value(serde_json::json!({"kind": "foreignPollingHost", "operation": "AsyncOperationPoll"}))
            .unwrap();
    let fault = spec.into_fault().unwrap();
    assert_eq!(fault, Fault::foreign_polling_host().on(Operation::AsyncOperationPoll));
}

/// The default `202` mode ([`WhileRunning::Interim`]): an accepted decision moves the request to `Denying` at
/// once, a second decision while it runs is refused with the status it is in, and the decision is recorded once,
/// when its operation ends. An operation that fails returns the request to `Pending` and records nothing.
#[tokio::test]
async fn an_accepted_decision_moves_the_request_on_and_a_second_one_is_refused() {
    use azure_customer_lockbox_emulator::{AsyncOperations, WhileRunning};
    use std::time::Duration;
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let mode = AsyncOperations { duration: Duration::from_secs(5), ..AsyncOperations::default() };
    assert_eq!(mode.while_running, WhileRunning::Interim, "the default");
    emu.set_async_operations(Some(mode.clone()));
    let id = emu.create_request(SUB, Default::default());
    assert_eq!(post_on(&emu, SUB, &id).await.status().as_u16(), 202);
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Denying"), "moved on as it was accepted");
    let second = post_on(&emu, SUB, &id).await;
    assert_eq!(second.status().as_u16(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RequestNotPending");
    assert_eq!(body["error"]["additionalInfo"][0]["info"]["currentStatus"], "Denying");
    assert!(emu.decisions().is_empty(), "recorded when its operation ends");
    emu.advance_clock(Duration::from_secs(6));
    assert_eq!(emu.request_status(SUB, &id).as_deref(), Some("Denied"));
    let decisions = emu.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!((decisions[0].request_id.as_str(), decisions[0].decision.as_str()), (id.as_str(), "Deny"));
    assert_eq!(emu.duplicate_decisions(), 1, "the refused second decision is counted");

    // An operation that fails: back to Pending, nothing recorded, and a new decision can be made.
    let failing = AsyncOperations { fail_with: Some(("Boom".into(), "failed".into())), ..mode };
    emu.set_async_operations(Some(failing));
    let other = emu.create_request(SUB, Default::default());
    assert_eq!(post_on(&emu, SUB, &other).await.status().as_u16(), 202);
    assert_eq!(emu.request_status(SUB, &other).as_deref(), Some("Denying"));
    emu.advance_clock(Duration::from_secs(6));
    assert_eq!(emu.request_status(SUB, &other).as_deref(), Some("Pending"));
    assert_eq!(emu.decisions().len(), 1);
}
