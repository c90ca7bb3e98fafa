//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, a span per pass and per decision reaches the collector, with the
//! request's ids.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::{common::v1::any_value::Value, trace::v1::Span};

use crate::{bot, collector::Collector, emulator, finish, pending, text, workdir};

fn attributes(span: &Span) -> BTreeMap<String, String> {
    span.attributes
        .iter()
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some((kv.key.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pass_and_each_decision_reach_the_collector_as_spans_with_the_request_ids() {
    let emulator = emulator().await;
    let dir = workdir("traces");
    let approved = pending(&emulator, "Storage Account", "read the logs");
    let left = pending(&emulator, "Key Vault", "read the metadata");
    let (collector, endpoint) = Collector::start().await;
    let audit = dir.join("audit.jsonl");
    let mut command = bot(&emulator, &dir, &["--once", "--audit", &audit.display().to_string()]);
    command.env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint).env("OTEL_SERVICE_NAME", "lockbox-test");
    let out = finish(command).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("traces go out through OpenTelemetry"), "{}", text(&out.stderr));

    // The last traces are sent before the process ends.
    let spans = collector.spans();
    let passes: Vec<&Span> = spans.iter().filter(|s| s.name == "policy pass").collect();
    assert_eq!(passes.len(), 1, "{spans:#?}");
    let decisions: Vec<&Span> = spans.iter().filter(|s| s.name == "policy decision").collect();
    assert_eq!(decisions.len(), 2, "{spans:#?}");
    for decision in &decisions {
        assert_eq!(decision.trace_id, passes[0].trace_id, "a decision is in its pass's trace");
        assert_eq!(decision.parent_span_id, passes[0].span_id, "a decision's parent is its pass");
    }
    let by_request: BTreeMap<String, BTreeMap<String, String>> = decisions
        .iter()
        .map(|span| {
            let attributes = attributes(span);
            (attributes["lockbox.request_id"].clone(), attributes)
        })
        .collect();
    let approval = &by_request[&approved];
    assert_eq!(approval["lockbox.outcome"], "approved");
    assert_eq!(approval["lockbox.rule"], "storage reads");
    assert_eq!(approval["lockbox.subscription"], crate::SUB);
    // The same service ids as the audit's outcome line.
    let audit = std::fs::read_to_string(&audit).unwrap();
    let line: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["request"] == approved.as_str() && l["outcome"] == "approved")
        .unwrap();
    let service_id = line["serviceRequestId"].as_str().expect("the emulator gives an x-ms-request-id");
    assert_eq!(approval["az.service_request_id"], service_id);
    assert_eq!(approval["az.correlation_request_id"], line["correlationRequestId"].as_str().unwrap());
    let leaving = &by_request[&left];
    assert_eq!(leaving["lockbox.outcome"], "left for a human");
    assert_eq!(leaving["lockbox.rule"], "key vaults need a human");
    assert!(!leaving.contains_key("az.service_request_id"), "nothing was sent for it");
}
