//! `lockbox policy explain` and `policy run --explain`: which condition of each rule held, and which rule decided.

use std::path::{Path, PathBuf};

use azure_customer_lockbox_emulator::NewLockboxRequest;

use super::common::*;

/// A policy whose one approve rule has a working-hours window an hour from now (at +01:00), so "now" is outside.
fn explained_policy(dir: &Path) -> (PathBuf, String) {
    let offset = chrono::FixedOffset::east_opt(3600).unwrap();
    let now = chrono::Utc::now().with_timezone(&offset);
    let hhmm = |t: chrono::DateTime<chrono::FixedOffset>| t.format("%H:%M").to_string();
    let window = format!("{}-{}", hhmm(now + chrono::TimeDelta::hours(1)), hhmm(now + chrono::TimeDelta::hours(2)));
    let (start, end) = window.split_once('-').unwrap();
    let path = dir.join("explained.toml");
    std::fs::write(
        &path,
        format!(
            "[[rule]]\nname = \"storage reads in working hours\"\naction = \"approve\"\naccess_levels = [\"Read\"]\n\
             justification = \"(?i)diagnostic\"\n\
             working_hours = {{ start = \"{start}\", end = \"{end}\", utc_offset = \"+01:00\" }}\n\n\
             [[rule]]\nname = \"no writes\"\naction = \"deny\"\nreason = \"no writes\"\naccess_levels = [\"Write\"]\n"
        ),
    )
    .unwrap();
    (path, window)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_explains_which_condition_of_each_rule_failed_and_which_rule_matched() {
    let emulator = emulator().await;
    let dir = tempdir("explain");
    let (policy, window) = explained_policy(&dir);
    let policy = policy.display().to_string();
    // The justification carries an escape sequence (erase the line): explained, it reaches stderr escaped.
    let read = pending_request(
        &emulator,
        SUB,
        NewLockboxRequest { justification: "Read diagnostic logs\u{1b}[2K".into(), ..NewLockboxRequest::default() },
    );
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "--explain"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let offset = chrono::FixedOffset::east_opt(3600).unwrap();
    let at_time = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&offset).format("%H:%M").to_string();
    let before = chrono::Utc::now();
    let expected = |at: &str| {
        format!(
            "lockbox: explain: request {read} in subscription {SUB}\n  rule 1 'storage reads in working hours': \
             outside working hours {window} +01:00 (request at {at})\n  rule 2 'no writes': access level 'Read' is \
             not one of Write\n  no rule matched: the default: leave\n"
        )
    };
    // The minute may have turned between the run and this test reading the clock.
    let times = [at_time(before - chrono::TimeDelta::minutes(1)), at_time(before)];
    assert!(times.iter().any(|t| stderr.contains(&expected(t))), "{stderr}");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["explanation"][2], "no rule matched: the default: leave");
    assert_eq!((lines[0]["decision"].as_str(), lines[0]["rule"].as_str()), (Some("leave"), Some("default")));

    // A write request: the first rule fails on its access level and its justification, the second matches.
    let write = pending_request(
        &emulator,
        SUB,
        NewLockboxRequest {
            access_level: "Write".into(),
            justification: "Rotate keys\u{1b}[2K".into(),
            ..NewLockboxRequest::default()
        },
    );
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "--explain"]).await;
    let stderr = text(&out.stderr);
    let explained = format!(
        "lockbox: explain: request {write} in subscription {SUB}\n  rule 1 'storage reads in working hours': access \
         level 'Write' is not one of Read; justification 'Rotate keys\\u{{1b}}[2K' does not match (?i)diagnostic; \
         outside working hours {window} +01:00 (request at "
    );
    assert!(stderr.contains(&explained), "{stderr}");
    assert!(stderr.contains("\n  rule 2 'no writes': matched: deny\n"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no raw escape reaches stderr: {stderr:?}");
    assert!(emulator.decisions().is_empty(), "a dry run decides nothing");
    // Without --explain, nothing of it.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run"]).await;
    assert!(!text(&out.stderr).contains("explain") && !text(&out.stdout).contains("explanation"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_explain_says_how_one_request_would_be_decided_and_decides_nothing() {
    let emulator = emulator().await;
    let dir = tempdir("policy-explain");
    let (policy, window) = explained_policy(&dir);
    let policy = policy.display().to_string();
    let write =
        pending_request(&emulator, SUB, NewLockboxRequest { access_level: "Write".into(), ..Default::default() });
    let out = at(&emulator, &[SUB], &["policy", "explain", "--file", &policy, &write]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!(
        "request {write} in subscription {SUB}\n  rule 1 'storage reads in working hours': access level 'Write' is not \
         one of Read; outside working hours {window} +01:00 (request at "
    )), "{stdout}");
    assert!(stdout.ends_with("\n  rule 2 'no writes': matched: deny\ndecision: deny by \"no writes\"\n"), "{stdout}");
    let out = at(&emulator, &[SUB], &["policy", "explain", "--file", &policy, &write, "-o", "json"]).await;
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((verdict["decision"].as_str(), verdict["rule"].as_str()), (Some("deny"), Some("no writes")));
    assert_eq!(verdict["explanation"].as_array().unwrap().len(), 2);
    let out = at(&emulator, &[SUB], &["policy", "explain", "--file", &policy, "no-such-request"]).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(emulator.decisions().is_empty());
    std::fs::remove_dir_all(dir).ok();
}
