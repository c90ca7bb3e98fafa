//! Property-based fuzzing on stable Rust (`proptest`): JSON-shaped values (whole, cut short, with a byte
//! changed) and arbitrary JSON into every response decoder, which must read back what they write; known and
//! arbitrary strings into the extensible enums, arbitrary `nextLink`s through the pager (the public
//! path to the nextLink check), and arbitrary request ids through the emulator. Nothing may panic; every
//! outcome must be a value or a typed error. Case counts are bounded so this runs within `cargo test`.

use crate::common::*;
use azure_customer_lockbox::{
    Error,
    models::{
        Approval, ApprovalDecision, ArmErrorDetail, LockboxRequestResponse, LockboxRequestStatus, Operation,
        OperationListResult, RequestListResult, TenantOptInResponse,
    },
};
use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, KNOWN_STATUSES};
use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use wiremock::{Mock, ResponseTemplate};

const API: &str = "2018-02-28-preview";

/// Decodes, and when that succeeds, re-encodes and decodes again: what the SDK accepts it can also write, and
/// the value read back is the value written (compared as the JSON each encodes to, so that types without
/// `PartialEq` are covered too).
fn round_trip<T: DeserializeOwned + Serialize>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        let written = serde_json::to_value(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again: T = serde_json::from_value(written.clone())
            .map_err(|e| TestCaseError::fail(format!("{written} does not decode again: {e}")))?;
        let rewritten = serde_json::to_value(&again).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&rewritten, &written, "{}", String::from_utf8_lossy(bytes));
    }
    Ok(())
}

fn decode_everything(bytes: &[u8]) -> Result<(), TestCaseError> {
    round_trip::<LockboxRequestResponse>(bytes)?;
    round_trip::<RequestListResult>(bytes)?;
    round_trip::<Operation>(bytes)?;
    round_trip::<OperationListResult>(bytes)?;
    round_trip::<TenantOptInResponse>(bytes)?;
    round_trip::<Approval>(bytes)?;
    round_trip::<ArmErrorDetail>(bytes)?;
    round_trip::<LockboxRequestStatus>(bytes)?;
    round_trip::<ApprovalDecision>(bytes)?;
    if let Some(detail) = ArmErrorDetail::from_body(bytes) {
        let _ = detail.current_status();
        let _ = format!("{detail:?}");
    }
    Ok(())
}

fn key() -> impl Strategy<Value = String> {
    const KNOWN: &[&str] = &[
        "value",
        "nextLink",
        "properties",
        "status",
        "name",
        "id",
        "type",
        "error",
        "code",
        "message",
        "target",
        "details",
        "additionalInfo",
        "info",
        "currentStatus",
        "isOptedIn",
        "display",
        "createdDateTime",
        "expirationDateTime",
        "requestId",
        "reason",
        "justification",
        "resourceIds",
        "isDataAction",
        "origin",
    ];
    prop_oneof![3 => prop::sample::select(KNOWN).prop_map(String::from), 1 => "\\PC{0,8}"]
}

fn leaf() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        prop::sample::select(&["Pending", "approved", "Deny", "", "2026-11-28T10:00:00Z", "not-a-date"][..])
            .prop_map(String::from),
        "\\PC{0,16}",
    ];
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text.prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_shaped_and_damaged_bytes_never_panic_a_decoder(bytes in json_shaped_bytes()) {
        decode_everything(&bytes)?;
    }

    #[test]
    fn arbitrary_json_never_panics_a_decoder(value in arb_json()) {
        for wrapped in [
            value.clone(),
            json!({"value": [value.clone()], "nextLink": null}),
            json!({"properties": value.clone(), "name": "r"}),
            json!({"error": value.clone()}),
            json!({"error": {"code": "X", "additionalInfo": [{"type": "LockboxRequestStatus", "info": value}]}}),
        ] {
            decode_everything(&serde_json::to_vec(&wrapped).unwrap())?;
        }
    }

    #[test]
    fn extensible_enums_keep_any_value(text in enum_text()) {
        let status = LockboxRequestStatus::parse(&text);
        match &status {
            LockboxRequestStatus::Other(kept) => prop_assert_eq!(kept, &text),
            known => prop_assert!(known.as_str().eq_ignore_ascii_case(&text)),
        }
        let decoded: LockboxRequestStatus = serde_json::from_value(Value::String(text.clone())).unwrap();
        prop_assert_eq!(&decoded, &status);
        let decision: ApprovalDecision = serde_json::from_value(Value::String(text.clone())).unwrap();
        prop_assert_eq!(serde_json::to_value(&decision).unwrap(), Value::String(decision.as_str().to_owned()));
        if let ApprovalDecision::Other(kept) = &decision {
            prop_assert_eq!(kept, &text);
        }
    }
}

/// The wire values the SDK knows (in their own case, or another), beside arbitrary text.
fn enum_text() -> impl Strategy<Value = String> {
    let known = prop::sample::select(known_enum_values()).prop_map(String::from);
    prop_oneof![
        2 => known.clone(),
        1 => (known, any::<u64>()).prop_map(|(text, mask)| {
            text.chars().enumerate().map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
        }),
        2 => "\\PC{0,24}",
    ]
}

/// Every value the SDK's enums know: the service's request statuses (the emulator's list) and the two decisions.
fn known_enum_values() -> Vec<&'static str> {
    KNOWN_STATUSES.iter().copied().chain(["Approve", "Deny"]).collect()
}

/// Mostly JSON (as the decoders get it), some of it damaged (cut short, a byte changed), some plain bytes.
fn json_shaped_bytes() -> impl Strategy<Value = Vec<u8>> {
    let json = || arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap());
    prop_oneof![
        3 => json(),
        1 => (json(), any::<prop::sample::Index>()).prop_map(|(bytes, at)| {
            let cut = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            bytes[..cut].to_vec()
        }),
        1 => (json(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut bytes, at, byte)| {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The strategies above reach what they are for: most generated bytes are JSON, and every known enum value
/// comes up (a strategy of random text alone would almost never produce `Approved`).
#[test]
fn the_generators_reach_json_and_every_known_enum_value() {
    let mut runner = TestRunner::deterministic();
    let bytes = json_shaped_bytes();
    let parsed = (0..400)
        .filter(|_| {
            let sample = bytes.new_tree(&mut runner).unwrap().current();
            serde_json::from_slice::<Value>(&sample).is_ok()
        })
        .count();
    assert!(parsed >= 200, "only {parsed} of 400 generated inputs were JSON");
    let texts = enum_text();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        seen.insert(texts.new_tree(&mut runner).unwrap().current());
    }
    for known in known_enum_values() {
        assert!(seen.contains(known), "{known} never generated");
        let status = LockboxRequestStatus::parse(known);
        let decision: ApprovalDecision = serde_json::from_value(json!(known)).unwrap();
        assert!(
            !matches!(status, LockboxRequestStatus::Other(_)) || !matches!(decision, ApprovalDecision::Other(_)),
            "{known} is known to neither enum"
        );
    }
}

/// nextLink templates: `{base}` is the endpoint (no trailing slash), `{foreign}` another local server.
const TRICKY_NEXT_LINKS: &[&str] = &[
    "//{foreign_host}/x",
    "{foreign}/steal?api-version=1",
    "{base}@{foreign_host}/x",
    "{base}.evil.example/x",
    "HTTP://{base_host}/x?API-VERSION=1&api%2Dversion=2&Api-Version=3",
    "/x?api-version=1&api-version=2",
    "?api-version=",
    "/x#?api-version=9",
    " {base}/x",
    "\\\\{foreign_host}\\x",
    "https://{base_host}/x",
    "{base}/x?api-version=1999-01-01&$skipToken=a%26b",
    "javascript:alert(1)",
    "data:text/plain,x",
    "file:///etc/passwd",
    "{base}/%2e%2e/%2e%2e/x",
];

/// Random nextLink templates (the tricky ones are all checked on every run besides).
fn next_link() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => "\\PC{0,40}",
        1 => "/[a-zA-Z0-9/._%?&=#+-]{0,40}",
        1 => "[a-zA-Z0-9/._%?&=#+-]{0,40}".prop_map(|rest| format!("{{base}}/{rest}")),
        1 => "(https?|ftp)://[a-z0-9.:@-]{1,20}/[a-z?=&]{0,10}",
    ]
}

#[test]
fn arbitrary_next_links_reach_only_the_endpoint_with_one_api_version() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, foreign) = rt.block_on(async { (mock_server().await, mock_server().await) });
    rt.block_on(
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
            .mount(&foreign),
    );
    let base = server.uri();
    let base_host = base.trim_start_matches("http://").to_owned();
    let foreign_host = foreign.uri().trim_start_matches("http://").to_owned();
    let check = |template: String| {
        let link = template
            .replace("{base}", &base)
            .replace("{base_host}", &base_host)
            .replace("{foreign}", &foreign.uri())
            .replace("{foreign_host}", &foreign_host);
        rt.block_on(async {
            server.reset().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Sequence::new(vec![
                    ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": link})),
                    ResponseTemplate::new(200).set_body_json(json!({"value": []})),
                ]))
                .mount(&server)
                .await;
            let (client, _) = client(&base);
            let listed = client.requests(SUB).unwrap().list(None).try_collect().await;
            match &listed {
                Ok(_) | Err(Error::UnsafeUrl { .. } | Error::Paging(_) | Error::Service(_) | Error::Decode { .. }) => {}
                Err(other) => prop_assert!(false, "{link:?}: unexpected {other:?}"),
            }
            let received = server.received_requests().await.unwrap_or_default();
            prop_assert!(!received.is_empty() && received.len() <= 2, "{link:?}: {} requests", received.len());
            for request in &received {
                let versions: Vec<String> = request
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("api-version"))
                    .map(|(_, v)| v.into_owned())
                    .collect();
                prop_assert_eq!(versions, vec![API.to_owned()], "{:?} -> {}", link, request.url);
            }
            let stolen = foreign.received_requests().await.unwrap_or_default();
            prop_assert!(stolen.is_empty(), "{link:?} reached another server");
            Ok(())
        })
    };
    // Every tricky template, every run; then random ones.
    for template in TRICKY_NEXT_LINKS {
        check((*template).to_owned()).unwrap_or_else(|e| panic!("{template}: {e}"));
    }
    let mut runner = TestRunner::new(ProptestConfig::with_cases(48));
    runner.run(&next_link(), check).unwrap();
}

fn request_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9/.%?#\\\\ +&;=~é日🔒-]{0,12}",
        2 => "\\PC{0,12}",
        1 => "[\\x00-\\x1f\\x7f]{1,3}",
    ]
}

#[test]
fn arbitrary_request_ids_are_refused_or_sent_as_one_path_segment() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = rt.block_on(Emulator::start(EmulatorConfig::default())).unwrap();
    let (client, _) = client(emulator.url().as_str());
    let requests = client.requests(SUB).unwrap();
    let prefix = format!("/subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/");
    let mut runner = TestRunner::new(ProptestConfig::with_cases(64));
    let result = runner.run(&request_id(), |id| {
        emulator.clear_received();
        let got = rt.block_on(requests.get(&id, None));
        let received = emulator.received();
        match got {
            Err(Error::InvalidArgument { name: "request_id", .. }) => {
                prop_assert!(received.is_empty(), "{id:?} was refused but sent");
            }
            Err(Error::Service(e)) => {
                prop_assert_eq!(e.status.as_u16(), 404, "{:?}", id);
                prop_assert!(e.call.service_request_id.is_some());
                prop_assert_eq!(received.len(), 1);
                let segment = received[0].path.strip_prefix(&prefix).unwrap_or("/");
                prop_assert!(!segment.contains('/'), "{:?} -> {}", id, received[0].path);
                let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                prop_assert_eq!(decoded.as_ref(), id.as_str());
            }
            other => prop_assert!(false, "{id:?}: {other:?}"),
        }
        Ok(())
    });
    result.unwrap();
}
