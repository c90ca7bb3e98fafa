//! Polling headers, statuses and resume tokens.

use super::*;
use reqwest::header::{HeaderMap, HeaderValue};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (reqwest::header::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap()))
        .collect()
}

#[test]
fn statuses_parse_in_any_case() {
    assert_eq!(WaiterStatus::parse("SUCCEEDED"), WaiterStatus::Succeeded("SUCCEEDED".into()));
    assert_eq!(WaiterStatus::parse("failed"), WaiterStatus::Failed("failed".into()));
    assert_eq!(WaiterStatus::parse("Cancelled"), WaiterStatus::Canceled("Cancelled".into()));
    assert_eq!(WaiterStatus::parse("canceled"), WaiterStatus::Canceled("canceled".into()));
    let odd = WaiterStatus::parse("Warming");
    assert_eq!(odd, WaiterStatus::InProgress("Warming".into()));
    assert!(!odd.is_terminal());
    assert_eq!(odd.to_string(), "Warming");
    assert!(WaiterStatus::parse("").eq(&WaiterStatus::InProgress(String::new())));
}

#[test]
fn polling_header_preference() {
    let all = headers(&[
        ("location", "https://l"),
        ("operation-location", "https://o"),
        ("azure-asyncoperation", "https://a"),
    ]);
    assert_eq!(polling_header(&all), Some((Kind::AzureAsyncOperation, "https://a".into())));
    let two = headers(&[("location", "https://l"), ("operation-location", "https://o")]);
    assert_eq!(polling_header(&two), Some((Kind::OperationLocation, "https://o".into())));
    let blank = headers(&[("azure-asyncoperation", " "), ("location", "https://l")]);
    assert_eq!(polling_header(&blank), Some((Kind::Location, "https://l".into())));
    assert_eq!(polling_header(&HeaderMap::new()), None);
}

#[test]
fn target_round_trips_through_json() {
    let target = Target {
        kind: Kind::OperationLocation,
        poll: "https://h/op".into(),
        location: Some("https://h/result".into()),
        op: Operation::RequestsUpdateStatus,
        expect: Expect::BodyOr(serde_json::json!({"status": "Approve"})),
    };
    let json = serde_json::to_vec(&target).unwrap();
    assert_eq!(serde_json::from_slice::<Target>(&json).unwrap(), target);
    let unknown = String::from_utf8(json).unwrap().replace("requests_update_status", "format_disk");
    assert!(serde_json::from_str::<Target>(&unknown).is_err());
}

#[test]
fn default_options() {
    let options = WaiterOptions::default();
    assert_eq!(options.frequency, Duration::from_secs(30));
    assert_eq!(options.timeout, None);
}
