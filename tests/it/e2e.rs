//! Every SDK operation end to end against the emulator: state changes made through the SDK are visible in
//! later calls and in the emulator, and the emulator's faults are absorbed by the SDK's retry policy.

use std::time::Duration;

use crate::common::{SUB, TestClient};
use azure_customer_lockbox::{
    CustomerLockboxClient, Error, RequestFilter, StaticTokenCredential, Waiter,
    models::{ApprovalDecision, LockboxRequestStatus},
    options::{DecisionOptions, ExponentialRetries, RequestsListOptions, Retries, WaiterOptions},
};
use azure_customer_lockbox_emulator::{
    AsyncOperations, Emulator, EmulatorConfig, Fault, NewLockboxRequest, Operation, RetryAfterHeader,
};

async fn start(config: EmulatorConfig) -> (Emulator, CustomerLockboxClient) {
    let emulator = Emulator::start(config).await.unwrap();
    let retry = ExponentialRetries { initial_delay: Duration::from_millis(5), ..Default::default() };
    let client = TestClient::new(emulator.url())
        .retry(Retries::Exponential(retry))
        .credential(StaticTokenCredential::new("e2e-token"))
        .build();
    (emulator, client)
}

fn new_request(justification: &str) -> NewLockboxRequest {
    NewLockboxRequest { justification: justification.into(), ..Default::default() }
}

#[tokio::test]
async fn operations_catalogue_is_listed_across_pages() {
    let (emulator, client) = start(EmulatorConfig::default().with_page_size(2)).await;
    let operations = client.operations().list(None).try_collect().await.unwrap();
    assert!(operations.len() >= 4, "{operations:?}");
    assert!(operations.iter().all(|o| o.name.as_deref().is_some_and(|n| n.starts_with("Microsoft.CustomerLockbox/"))));
    let pages = emulator.received().len();
    assert_eq!(pages, operations.len().div_ceil(2));
    for r in emulator.received() {
        assert_eq!(
            r.query.as_deref().unwrap_or_default().matches("api-version=2018-02-28-preview").count(),
            1,
            "{r:?}"
        );
        assert_eq!(r.header("authorization"), Some("<redacted>"));
        assert!(r.header("x-ms-client-request-id").is_some());
        assert!(r.header("api-version").is_none());
    }
}

#[tokio::test]
async fn tenant_opt_in_follows_enable_and_disable() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let tenant = emulator.default_tenant_id().to_owned();
    let tenants = client.tenant();
    assert!(!tenants.is_opted_in(&tenant, None).await.unwrap());
    tenants.enable(None).await.unwrap();
    assert!(tenants.is_opted_in(&tenant, None).await.unwrap());
    assert!(emulator.tenant_opted_in(&tenant));
    tenants.enable(None).await.unwrap();
    assert!(tenants.is_opted_in(&tenant, None).await.unwrap(), "enabling twice leaves it on");
    tenants.disable(None).await.unwrap();
    assert!(!tenants.is_opted_in(&tenant, None).await.unwrap());
    assert!(!emulator.tenant_opted_in(&tenant));
    let other = "00000000-0000-0000-0000-0000000000aa";
    assert_eq!(tenants.get_opt_in_status(other, None).await.unwrap().is_opted_in, Some(false));
}

#[tokio::test]
async fn get_and_list_read_what_the_engineer_created() {
    let (emulator, client) = start(EmulatorConfig::default().with_page_size(3)).await;
    let ids: Vec<String> = (0..7).map(|i| emulator.create_request(SUB, new_request(&format!("case {i}")))).collect();
    emulator.create_request("99999999-2222-3333-4444-555555555555", new_request("other subscription"));
    let requests = client.requests(SUB).unwrap();
    let one = requests.get(&ids[4], None).await.unwrap();
    assert_eq!(one.request_id(), Some(ids[4].as_str()));
    assert_eq!(one.status(), Some(&LockboxRequestStatus::Pending));
    let props = one.properties.unwrap();
    assert_eq!(props.justification.as_deref(), Some("case 4"));
    assert_eq!(props.subscription_id.as_deref(), Some(SUB));
    assert!(props.expiration_date_time.unwrap() > props.created_date_time.unwrap());

    let all = requests.list(None).try_collect().await.unwrap();
    let mut listed: Vec<String> = all.iter().map(|r| r.request_id().unwrap().to_owned()).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected, "the other subscription's request is not listed");
    let list_calls = emulator.received().iter().filter(|r| r.path.ends_with("/requests")).count();
    assert_eq!(list_calls, 3, "7 requests in pages of 3");

    let missing = requests.get("no-such-request", None).await.unwrap_err();
    assert_eq!(missing.status().unwrap().as_u16(), 404);
    assert!(missing.request_id().is_some());
    assert!(missing.code().is_some());
}

#[tokio::test]
async fn decisions_move_through_the_status_machine_and_show_in_lists() {
    let (emulator, client) = start(EmulatorConfig::default().with_transition_delay(Duration::from_secs(3600))).await;
    let approve = emulator.create_request(SUB, new_request("approve me"));
    let deny = emulator.create_request(SUB, new_request("deny me"));
    let keep = emulator.create_request(SUB, new_request("leave me"));
    let requests = client.requests(SUB).unwrap();

    let approval = requests.approve(&approve, "go ahead", None).await.unwrap();
    assert_eq!(approval.decision(), &ApprovalDecision::Approve);
    requests.deny(&deny, "not now", None).await.unwrap();
    assert_eq!(requests.get(&approve, None).await.unwrap().status(), Some(&LockboxRequestStatus::Approving));
    assert_eq!(requests.get(&deny, None).await.unwrap().status(), Some(&LockboxRequestStatus::Denying));

    emulator.advance_clock(Duration::from_secs(3601));
    assert_eq!(requests.get(&approve, None).await.unwrap().status(), Some(&LockboxRequestStatus::Approved));
    assert_eq!(requests.get(&deny, None).await.unwrap().status(), Some(&LockboxRequestStatus::Denied));

    let pending: Vec<String> = requests
        .list(Some(RequestsListOptions::pending()))
        .try_collect()
        .await
        .unwrap()
        .iter()
        .map(|r| r.request_id().unwrap().to_owned())
        .collect();
    assert_eq!(pending, vec![keep.clone()]);
    let approved = requests
        .list(Some(RequestsListOptions::filter(RequestFilter::status(LockboxRequestStatus::Approved))))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].request_id(), Some(approve.as_str()));

    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 2);
    assert!(
        decisions
            .iter()
            .any(|d| d.request_id == approve && d.decision == "Approve" && d.reason.as_deref() == Some("go ahead"))
    );
    assert!(decisions.iter().any(|d| d.request_id == deny && d.decision == "Deny"));

    let error = requests.deny(&approve, "too late", None).await.unwrap_err();
    assert!(matches!(error, Error::DecisionConflict { .. }), "already decided: {error:?}");
    assert_eq!(error.current_status(), Some(LockboxRequestStatus::Approved));
    assert_eq!(emulator.decisions().len(), 2, "a refused decision is not recorded");
}

#[tokio::test]
async fn pending_requests_expire_and_cannot_be_decided() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = emulator
        .create_request(SUB, NewLockboxRequest { expires_in: Duration::from_secs(600), ..new_request("short-lived") });
    let requests = client.requests(SUB).unwrap();
    emulator.advance_clock(Duration::from_secs(601));
    assert_eq!(requests.get(&id, None).await.unwrap().status(), Some(&LockboxRequestStatus::Expired));
    let error = requests.approve(&id, "too late", None).await.unwrap_err();
    assert_eq!(error.current_status(), Some(LockboxRequestStatus::Expired));
    assert!(emulator.decisions().is_empty());
}

#[tokio::test]
async fn throttling_in_every_header_form_is_absorbed() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = emulator.create_request(SUB, new_request("throttled"));
    let requests = client.requests(SUB).unwrap();
    for hint in [
        RetryAfterHeader::Millis(20),
        RetryAfterHeader::XMsMillis(20),
        RetryAfterHeader::Seconds(0),
        RetryAfterHeader::HttpDate(std::time::SystemTime::now()),
        RetryAfterHeader::None,
    ] {
        emulator.inject(Fault::throttle(hint).times(2).on(Operation::RequestsGet));
        assert_eq!(requests.get(&id, None).await.unwrap().request_id(), Some(id.as_str()));
    }
    assert_eq!(emulator.faults_injected(), 10);
}

#[tokio::test]
async fn gateway_errors_and_dropped_connections_are_absorbed_for_reads() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    emulator.inject(Fault::html(502).on(Operation::GetTenantOptedIn));
    emulator.inject(Fault::drop_connection().on(Operation::GetTenantOptedIn));
    emulator.inject(Fault::status(503).on(Operation::GetTenantOptedIn));
    let tenant = emulator.default_tenant_id().to_owned();
    assert!(!client.tenant().is_opted_in(&tenant, None).await.unwrap());
    assert_eq!(emulator.faults_injected(), 3);
}

#[tokio::test]
async fn an_approval_whose_reply_was_lost_is_recorded_exactly_once() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let requests = client.requests(SUB).unwrap();
    for fault in [
        Fault::status(500),
        Fault::status_without_body(502),
        Fault::status(504),
        Fault::html(502),
        Fault::drop_connection(),
        Fault::cut_body(),
    ] {
        let id = emulator.create_request(SUB, new_request("lost reply"));
        emulator.inject(fault.clone().after_commit().on(Operation::RequestsUpdateStatus));
        requests.approve(&id, "approved once", None).await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        let count = emulator.decisions().iter().filter(|d| d.request_id == id).count();
        assert_eq!(count, 1, "{fault:?}");
        let posts = emulator.received().iter().filter(|r| r.method == "POST" && r.path.contains(&id)).count();
        assert_eq!(posts, 1, "{fault:?}: the decision was not sent again");
    }
}

/// Client-request-id → how many requests the emulator received with it, for the requests received so far.
fn sends_per_call(emulator: &Emulator) -> Vec<(String, usize)> {
    let mut calls: Vec<(String, usize)> = Vec::new();
    for request in emulator.received() {
        let id = request.header("x-ms-client-request-id").expect("every request carries one").to_owned();
        match calls.iter_mut().find(|(seen, _)| *seen == id) {
            Some((_, sends)) => *sends += 1,
            None => calls.push((id, 1)),
        }
    }
    calls
}

#[tokio::test]
async fn a_read_whose_answer_is_cut_mid_body_is_sent_again_within_the_same_call() {
    let (emulator, client) = start(EmulatorConfig::default().with_page_size(2)).await;
    let tenant = emulator.default_tenant_id().to_owned();
    let ids: Vec<String> = (0..3).map(|i| emulator.create_request(SUB, new_request(&format!("cut {i}")))).collect();
    let requests = client.requests(SUB).unwrap();
    emulator.clear_received();

    emulator.inject(Fault::cut_body().on(Operation::RequestsGet));
    assert_eq!(requests.get(&ids[0], None).await.unwrap().request_id(), Some(ids[0].as_str()));
    emulator.inject(Fault::cut_body().on(Operation::GetTenantOptedIn));
    assert!(!client.tenant().is_opted_in(&tenant, None).await.unwrap());
    emulator.inject(Fault::cut_body().on(Operation::OperationsList));
    assert!(!client.operations().list(None).try_collect().await.unwrap().is_empty());
    // A listing whose first page arrives whole and whose next page (a nextLink) is cut.
    let mut pager = requests.list(None);
    let mut listed = vec![pager.try_next().await.unwrap().unwrap(), pager.try_next().await.unwrap().unwrap()];
    emulator.inject(Fault::cut_body().on(Operation::RequestsList));
    while let Some(request) = pager.try_next().await.unwrap() {
        listed.push(request);
    }
    let mut listed: Vec<String> = listed.iter().map(|r| r.request_id().unwrap().to_owned()).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected, "every request once, none lost to the cut page");
    // A poll of a decision.
    requests.approve(&ids[1], "ok", None).await.unwrap();
    emulator.inject(Fault::cut_body().on(Operation::RequestsGet));
    let decided = requests.wait_for_decision(&ids[1], None).unwrap().await.unwrap();
    assert_eq!(decided.status(), Some(&LockboxRequestStatus::Approved));
    assert_eq!(emulator.faults_injected(), 5);

    // Each cut answer was followed by one more send of the same call: same client-request-id, same URL.
    let calls = sends_per_call(&emulator);
    assert_eq!(calls.iter().filter(|(_, sends)| *sends == 2).count(), 5, "{calls:?}");
    assert!(calls.iter().all(|(_, sends)| *sends <= 2), "{calls:?}");
    for (id, _) in calls.iter().filter(|(_, sends)| *sends == 2) {
        let sends: Vec<_> =
            emulator.received().into_iter().filter(|r| r.header("x-ms-client-request-id") == Some(id)).collect();
        assert_eq!((&sends[0].path, &sends[0].query), (&sends[1].path, &sends[1].query));
    }
}

#[tokio::test]
async fn resends_after_a_cut_body_come_out_of_the_same_retry_policy() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let client_with = |max_retries| {
        let retry = ExponentialRetries { max_retries, initial_delay: Duration::from_millis(5), ..Default::default() };
        TestClient::new(emulator.url())
            .retry(Retries::Exponential(retry))
            .credential(StaticTokenCredential::new("e2e-token"))
            .build()
    };
    let id = emulator.create_request(SUB, new_request("cut then busy"));

    // Cut, then 503, then a whole answer: three attempts, within a policy of two retries.
    emulator.inject(Fault::cut_body().on(Operation::RequestsGet));
    emulator.inject(Fault::status(503).on(Operation::RequestsGet));
    client_with(2).requests(SUB).unwrap().get(&id, None).await.unwrap();
    assert_eq!(sends_per_call(&emulator).iter().map(|(_, n)| *n).collect::<Vec<_>>(), [3]);

    // With one retry, the resend after the cut is the last attempt: its 503 is the answer.
    emulator.clear_received();
    emulator.inject(Fault::cut_body().on(Operation::RequestsGet));
    emulator.inject(Fault::status(503).on(Operation::RequestsGet));
    let error = client_with(1).requests(SUB).unwrap().get(&id, None).await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(error.attempts(), Some(2));
    assert_eq!(sends_per_call(&emulator).iter().map(|(_, n)| *n).collect::<Vec<_>>(), [2]);

    // Cut every time: the last cut is reported, as a transport failure of the 200 it came with.
    emulator.clear_received();
    emulator.inject(Fault::cut_body().times(5).on(Operation::RequestsGet));
    match client_with(1).requests(SUB).unwrap().get(&id, None).await.unwrap_err() {
        Error::Transport { attempts, status, .. } => {
            assert_eq!(attempts, 2);
            assert_eq!(status.map(|s| s.as_u16()), Some(200));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sends_per_call(&emulator).iter().map(|(_, n)| *n).collect::<Vec<_>>(), [2]);
}

#[tokio::test]
async fn an_approval_that_failed_before_committing_is_sent_again() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = emulator.create_request(SUB, new_request("failed before commit"));
    emulator.inject(Fault::status(500).on(Operation::RequestsUpdateStatus));
    client.requests(SUB).unwrap().deny(&id, "no", None).await.unwrap();
    assert_eq!(emulator.decisions().iter().filter(|d| d.request_id == id).count(), 1);
    let posts = emulator.received().iter().filter(|r| r.method == "POST" && r.path.contains(&id)).count();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn service_errors_surface_with_arm_details() {
    let (emulator, client) = start(EmulatorConfig::default()).await;
    let id = emulator.create_request(SUB, new_request("x"));
    emulator.inject(Fault::status(400).on(Operation::RequestsGet));
    let error = client.requests(SUB).unwrap().get(&id, None).await.unwrap_err();
    assert!(matches!(error, Error::Service(_)));
    assert_eq!(error.status().unwrap().as_u16(), 400);
    assert_eq!(error.attempts(), Some(1));
    assert!(error.request_id().is_some());
}

// ---- the emulator's asynchronous mode: actions answer 202 Accepted and finish later ----

fn async_mode(fail: bool) -> EmulatorConfig {
    EmulatorConfig::default().with_async_operations(Some(AsyncOperations {
        duration: Duration::from_millis(500),
        retry_after_secs: 1,
        fail_with: fail.then(|| ("LockboxBackendUnavailable".to_owned(), "The Lockbox backend failed.".to_owned())),
        ..AsyncOperations::default()
    }))
}

#[tokio::test]
async fn actions_answering_202_are_awaited_transparently() {
    let (emulator, client) = start(async_mode(false)).await;
    let tenant = emulator.default_tenant_id().to_owned();
    client.tenant().enable(None).await.unwrap();
    assert!(emulator.tenant_opted_in(&tenant), "the effect is applied when the operation succeeds");
    let id = emulator.create_request(SUB, new_request("async approval"));
    let approval = client.requests(SUB).unwrap().approve(&id, "fine", None).await.unwrap();
    assert_eq!(approval.decision(), &ApprovalDecision::Approve);
    assert_eq!(emulator.decisions().len(), 1);
    let polls = emulator.received().iter().filter(|r| r.path.contains("/operationStatuses/")).count();
    assert!(polls >= 2, "both actions were polled: {polls}");
}

/// `begin_enable` is lazy (azure_core's style): nothing is sent until the poller is polled. Once the operation
/// was accepted and seen running, its resume token lets another client finish the wait.
#[tokio::test]
async fn a_begin_poller_sends_nothing_until_polled_then_resumes_from_a_token() {
    let config = EmulatorConfig::default().with_async_operations(Some(AsyncOperations {
        duration: Duration::from_secs(4),
        retry_after_secs: 1,
        ..AsyncOperations::default()
    }));
    let (emulator, client) = start(config).await;
    let mut poller = client.tenant().begin_enable(None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(emulator.received().is_empty(), "sent before it was polled: {:?}", emulator.received());
    assert!(poller.continuation().is_none(), "nothing to resume before it started");
    let first = poller.try_next().await.unwrap().expect("a first status");
    assert!(!first.is_terminal(), "still running after the first poll: {first}");
    let token = poller.continuation().expect("an accepted, running operation can be resumed");
    drop(poller);
    // Another client (as another process would) picks the wait up from the token.
    let other = TestClient::new(emulator.url())
        .retry(Retries::default())
        .credential(StaticTokenCredential::new("other"))
        .build();
    let mut resumed = Waiter::<()>::resume(&other, &token, None).unwrap();
    let mut seen = Vec::new();
    while let Some(status) = resumed.try_next().await.unwrap() {
        seen.push(status.to_string());
    }
    assert_eq!(seen.last().map(String::as_str), Some("Succeeded"), "{seen:?}");
    resumed.await.unwrap();
    assert!(emulator.tenant_opted_in(emulator.default_tenant_id()));
    let enables = emulator.received().iter().filter(|r| r.method == "POST").count();
    assert_eq!(enables, 1, "one POST, by the first client");
}

#[tokio::test]
async fn a_failed_operation_carries_the_arm_error() {
    let (emulator, client) = start(async_mode(true)).await;
    match client.tenant().enable(None).await.unwrap_err() {
        Error::OperationFailed { status, error } => {
            assert_eq!(status, "Failed");
            assert_eq!(error.unwrap().code.as_deref(), Some("LockboxBackendUnavailable"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!emulator.tenant_opted_in(emulator.default_tenant_id()), "a failed operation has no effect");
}

#[tokio::test]
async fn a_decision_until_final_follows_it_to_approved() {
    let (emulator, client) = start(EmulatorConfig::default().with_transition_delay(Duration::from_millis(300))).await;
    let id = emulator.create_request(SUB, new_request("wait for me"));
    let options = WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(30)) };
    let until_final = DecisionOptions { until_final: Some(options), ..Default::default() };
    let decision = client.requests(SUB).unwrap().approve(&id, "ok", Some(until_final)).await.unwrap();
    assert_eq!(decision.request().and_then(|r| r.status()), Some(&LockboxRequestStatus::Approved));
}
