//! The request model decodes both the current and the older shapes of an answer, and its helpers.

use std::time::Duration;

use azure_customer_lockbox::models::{AccessDuration, LockboxRequestResponse, LockboxRequestStatus};
use chrono::{DateTime, Utc};
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn request(properties: serde_json::Value) -> LockboxRequestResponse {
    serde_json::from_value(json!({"id": "/subscriptions/s/providers/Microsoft.CustomerLockbox/requests/r",
        "name": "r", "type": "requests", "properties": properties}))
    .unwrap()
}

#[test]
fn current_shape_string_duration_and_lowercase_workitemsource() {
    let r = request(json!({"duration": "8", "workitemsource": "SupportRequest", "status": "Pending"}));
    let p = r.properties.as_ref().unwrap();
    assert_eq!(p.duration.as_deref(), Some("8"));
    assert_eq!(p.duration.as_ref().unwrap().hours(), Some(8));
    assert_eq!(p.workitemsource.as_deref(), Some("SupportRequest"));
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(back["properties"]["duration"], "8");
    assert_eq!(back["properties"]["workitemsource"], "SupportRequest");
}

#[test]
fn older_shape_numeric_duration_and_camel_case_workitemsource() {
    let r = request(json!({"duration": 8, "workItemSource": "SupportRequest"}));
    let p = r.properties.as_ref().unwrap();
    assert_eq!(p.duration, Some(AccessDuration::new("8")));
    assert_eq!(p.duration.as_ref().unwrap().hours(), Some(8));
    assert_eq!(p.workitemsource.as_deref(), Some("SupportRequest"));
    // Written back in the current shape.
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(back["properties"]["duration"], "8");
    assert_eq!(back["properties"]["workitemsource"], "SupportRequest");
    assert!(back["properties"].get("workItemSource").is_none());
}

#[test]
fn free_text_duration_is_kept_and_has_no_hours() {
    let r = request(json!({"duration": "Support request lifetime"}));
    let d = r.properties.unwrap().duration.unwrap();
    assert_eq!(d.as_str(), "Support request lifetime");
    assert_eq!(d.hours(), None);
    assert!(serde_json::from_value::<AccessDuration>(json!(true)).is_err());
}

#[test]
fn resource_ids_split_into_arm_ids() {
    let a = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a";
    let b = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/b";
    assert_eq!(request(json!({"resourceIds": format!("{a},{b}")})).resource_ids(), [a, b]);
    assert_eq!(request(json!({"resourceIds": format!(" {a} , ,{b},")})).resource_ids(), [a, b]);
    assert_eq!(request(json!({"resourceIds": a})).resource_ids(), [a]);
    assert!(request(json!({})).resource_ids().is_empty());
}

#[test]
fn time_left_and_whether_it_can_still_be_decided() {
    let r = request(json!({"status": "Pending", "expirationDateTime": "2026-12-02T10:00:00Z"}));
    assert_eq!(r.time_left(at("2026-12-01T10:00:00Z")), Some(Duration::from_secs(24 * 3600)));
    assert_eq!(r.time_left(at("2026-12-03T10:00:00Z")), Some(Duration::ZERO));
    assert!(r.can_be_decided(at("2026-12-01T10:00:00Z")));
    assert!(!r.can_be_decided(at("2026-12-02T10:00:00Z")), "not at or after expiry");
    assert!(!r.is_final());

    let approved = request(json!({"status": "Approved", "expirationDateTime": "2026-12-02T10:00:00Z"}));
    assert!(!approved.can_be_decided(at("2026-12-01T10:00:00Z")));
    assert!(approved.is_final());
    assert!(request(json!({"status": "Expired"})).is_final());
    assert!(!request(json!({"status": "Approving"})).is_final());
    assert!(!request(json!({"status": "SomethingNew"})).is_final());
    assert!(request(json!({"status": "Pending"})).can_be_decided(at("2030-01-01T00:00:00Z")), "no expiry given");
    assert_eq!(request(json!({})).time_left(at("2026-12-01T10:00:00Z")), None);
    assert!(!request(json!({})).can_be_decided(at("2026-12-01T10:00:00Z")));
    assert!(LockboxRequestStatus::Denied.is_final());
}
