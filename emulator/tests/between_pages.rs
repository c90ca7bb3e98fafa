//! The between-pages fault over HTTP: a listing changed while a client is between its pages, as another
//! principal would change it, and what that does to offset-based pages.

use azure_customer_lockbox_emulator::{
    Emulator, EmulatorConfig, Fault, FaultSpec, NewLockboxRequest, NewSubscription, Operation, PageChange,
};
use serde_json::Value;

const SUB: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const TOKEN: &str = "opaque-test-token";

/// Every page of `first` (a path and query under the emulator), following `nextLink`: the ids of each page.
async fn pages(emu: &Emulator, first: &str) -> Vec<Vec<String>> {
    let client = reqwest::Client::new();
    let mut next = Some(format!("{}{first}", emu.url()));
    let mut pages = Vec::new();
    while let Some(url) = next {
        let page: Value = client.get(&url).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
        let ids = page["value"].as_array().unwrap().iter();
        pages.push(ids.map(|v| v["name"].as_str().or(v["subscriptionId"].as_str()).unwrap().to_owned()).collect());
        next = page["nextLink"].as_str().map(str::to_owned);
    }
    pages
}

const PENDING: &str = "subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/providers/Microsoft.CustomerLockbox/requests\
                       ?api-version=2018-02-28-preview&$filter=properties/status%20eq%20'Pending'";

#[tokio::test]
async fn deciding_a_request_already_given_skips_one_and_creating_one_listed_first_repeats_one() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let ids: Vec<String> = (0..5).map(|_| emu.create_request(SUB, NewLockboxRequest::default())).collect();
    // A first page is not "between pages": the fault waits for the next page asked for.
    emu.inject(Fault::between_pages(PageChange::Decide).on(Operation::RequestsList));
    let listed = pages(&emu, PENDING).await;
    let changes = emu.page_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].change, changes[0].request_id.as_str()), (PageChange::Decide, ids[0].as_str()));
    assert_eq!(emu.request_status(SUB, &ids[0]).as_deref(), Some("Approved"));
    // ids[0] left the Pending listing after page 1: every later request moved back a place, and ids[2] was skipped.
    assert_eq!(listed, [vec![ids[0].clone(), ids[1].clone()], vec![ids[3].clone(), ids[4].clone()]]);
    assert_eq!(emu.decisions().len(), 1, "another principal's decision is recorded");

    emu.inject(Fault::between_pages(PageChange::Create).on(Operation::RequestsList));
    let listed = pages(&emu, PENDING).await;
    let created = emu.page_changes()[1].request_id.clone();
    // Listed first: the later requests moved forward a place, and ids[2] shows on two pages.
    assert_eq!(listed[0], [ids[1].clone(), ids[2].clone()]);
    assert_eq!(listed[1], [ids[2].clone(), ids[3].clone()]);
    assert!(!listed.concat().contains(&created), "created after page 1, before where the client reads on");

    emu.inject(Fault::between_pages(PageChange::Expire).on(Operation::RequestsList));
    pages(&emu, PENDING).await;
    let expired = emu.page_changes()[2].request_id.clone();
    assert_eq!(emu.request_status(SUB, &expired).as_deref(), Some("Expired"));
}

#[tokio::test]
async fn a_subscription_created_between_pages_is_listed_first_with_a_request() {
    let emu = Emulator::start(EmulatorConfig::default().with_page_size(2)).await.unwrap();
    let subs: Vec<String> = (1..=3).map(|n| format!("aaaaaaaa-0000-4000-8000-00000000000{n}")).collect();
    for sub in &subs {
        emu.add_subscription(NewSubscription::new(sub));
    }
    // Only Create applies to the subscriptions listing; the JSON form names the change.
    let spec: FaultSpec =
        serde_json::from_str(r#"{"kind":"betweenPages","change":"create","operation":"SubscriptionsList"}"#).unwrap();
    emu.inject(spec.into_fault().unwrap());
    let listed = pages(&emu, "subscriptions?api-version=2022-12-01").await;
    let change = emu.page_changes().remove(0);
    assert_eq!(listed, [vec![subs[0].clone(), subs[1].clone()], vec![subs[1].clone(), subs[2].clone()]]);
    assert_eq!(emu.request_status(&change.subscription_id, &change.request_id).as_deref(), Some("Pending"));
    assert!(serde_json::from_str::<FaultSpec>(r#"{"kind":"betweenPages"}"#).unwrap().into_fault().is_err());
}
