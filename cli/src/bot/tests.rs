//! Unit tests of the audit record and of finding the intents left open.

use azure_customer_lockbox::CallIds;
use chrono::Utc;

use super::{AuditRecord, Outcome, VERSION, recover::open_intents};

fn line(intent: Option<&str>, request: &str, outcome: Outcome) -> AuditRecord {
    AuditRecord {
        version: VERSION,
        time: Utc::now(),
        intent: intent.map(str::to_owned),
        request: request.to_owned(),
        subscription: "6A1D3F1E-93B4-4C53-9A37-2F0C5D8E7B21".to_owned(),
        rule: Some("all".to_owned()),
        decision: "approve".to_owned(),
        reason: "ok".to_owned(),
        dry_run: false,
        outcome,
        reconciled: false,
        call: CallIds::default(),
        current_status: None,
        error: None,
        explanation: None,
    }
}

#[test]
fn a_record_has_one_spelling_per_field_and_reads_back_as_written() {
    let record = line(Some("i-1"), "r-1", Outcome::DecidedByAnother);
    let text = record.to_line();
    for field in ["\"version\":1", "\"intent\":\"i-1\"", "\"attempts\":0", "\"dryRun\":false"] {
        assert!(text.contains(field), "{field} in {text}");
    }
    assert!(text.contains("\"outcome\":\"decided by another\""), "{text}");
    assert!(!text.contains("service_request_id") && !text.contains("explanation"), "{text}");
    assert_eq!(serde_json::from_str::<AuditRecord>(&text).unwrap(), record);
    // The call's identity is the SDK's CallIds, serialized as it is: the same spelling as the SDK's.
    let mut with_ids = record.clone();
    with_ids.call.service_request_id = Some("svc-1".to_owned());
    with_ids.call.correlation_request_id = Some("corr-1".to_owned());
    with_ids.call.attempts = 2;
    let text = with_ids.to_line();
    let sdk = serde_json::to_value(&with_ids.call).unwrap();
    let line: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (key, value) in sdk.as_object().unwrap() {
        assert_eq!(&line[key], value, "{key} in {text}");
    }
    assert!(
        text.contains("\"serviceRequestId\":\"svc-1\"") && text.contains("\"correlationRequestId\":\"corr-1\""),
        "{text}"
    );
    assert_eq!(serde_json::from_str::<AuditRecord>(&text).unwrap(), with_ids);
}

#[test]
fn a_line_of_version_0_reads_as_a_record() {
    let old = r#"{"time":"2026-01-02T03:04:05+00:00","request":"r","subscription":"s","rule":"all","decision":"approve","reason":"ok","dryRun":false,"outcome":"already decided","serviceRequestId":"x","correlationId":null,"attempts":1,"reconciled":null,"currentStatus":"Approved","error":"409"}"#;
    let record: AuditRecord = serde_json::from_str(old).unwrap();
    assert_eq!((record.version, record.outcome, record.reconciled), (0, Outcome::DecidedByAnother, false));
}

#[test]
fn open_intents_are_those_no_settling_outcome_follows() {
    let records = vec![
        line(Some("a"), "r-a", Outcome::Sending),
        line(Some("b"), "r-b", Outcome::Sending),
        line(Some("a"), "r-a", Outcome::Approved),
        line(None, "r-left", Outcome::LeftForAHuman),
        line(Some("c"), "r-c", Outcome::Sending),
        line(Some("c"), "r-c", Outcome::Unknown),
        // Version 0: no intent ids; the outcome settles the last open intent of its request.
        line(None, "r-d", Outcome::Sending),
        line(None, "R-D", Outcome::DecidedByAnother),
        line(None, "r-e", Outcome::Sending),
        // An outcome of another intent does not settle this one.
        line(Some("z"), "r-b", Outcome::Denied),
    ];
    let open: Vec<String> = open_intents(records).into_iter().map(|r| r.request).collect();
    assert_eq!(open, ["r-b", "r-c", "r-e"]);
}

#[test]
fn outcomes_are_spelled_as_the_readme_lists_them() {
    let spelled: Vec<String> = [
        Outcome::Sending,
        Outcome::Approved,
        Outcome::Denied,
        Outcome::DecidedByAnother,
        Outcome::DecidedUnattributed,
        Outcome::NotSent,
        Outcome::Expired,
        Outcome::LeftForAHuman,
        Outcome::NotDecidedDryRun,
        Outcome::Failed,
        Outcome::Unknown,
    ]
    .iter()
    .map(|o| {
        let spelled = serde_json::to_string(o).unwrap();
        // The metrics' `outcome` label is the same spelling.
        assert_eq!(format!("\"{}\"", o.label()), spelled);
        spelled
    })
    .collect();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for name in spelled {
        assert!(readme.contains(&format!("`{}`", name.trim_matches('"'))), "{name} is not in the README");
    }
}

#[test]
fn the_help_states_the_stop_bound_the_bot_keeps() {
    use clap::CommandFactory;
    let mut command = crate::cli::Cli::command();
    let policy = command.find_subcommand_mut("policy").unwrap();
    let help = policy.find_subcommand_mut("run").unwrap().render_long_help().to_string();
    let (grace, bound) = (super::stop::GRACE.as_secs(), super::stop::BOUND.as_secs());
    assert!(help.contains(&format!("after {grace}s without an answer")), "{help}");
    assert!(help.contains(&format!("within {bound}s of the signal")), "{help}");
    assert!(help.contains("A second signal exits at once"), "{help}");
    // Then the notifications in flight and the last traces: the total the deploy recipes must allow.
    let (notify, traces) = (super::service::NOTIFY_STOP_BOUND.as_secs(), super::service::EXPORT_LIMIT.as_secs());
    assert!(help.contains(&format!("at most {notify}s for the notifications")), "{help}");
    assert!(help.contains(&format!("last traces (at most {traces}s)")), "{help}");
    assert_eq!(super::stop::AFTER_THE_LOOP.as_secs(), notify + traces);
    assert!(help.contains(&format!("within {}s in all", bound + notify + traces)), "{help}");
}
