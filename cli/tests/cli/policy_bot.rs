//! `lockbox policy run` as a bot: two bots on one tenant, a running bot, and a bot that cannot write its audit.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use azure_customer_lockbox_emulator::{Fault, NewLockboxRequest, Operation};

use super::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_bots_on_one_tenant_record_exactly_one_decision_per_request() {
    let emulator = emulator().await;
    let dir = tempdir("bots");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"all\"\naction = \"approve\"\nreason = \"bot\"\nunconditional = true\n")
        .unwrap();
    let ids: BTreeSet<String> =
        (0..10).map(|_| pending_request(&emulator, SUB, NewLockboxRequest::default())).collect();
    // The first decision each bot sends waits 2 s before the service looks at it, so both bots have listed
    // every request as pending before either decision lands: they race on every request.
    emulator.inject(Fault::delay(Duration::from_secs(2)).on(Operation::RequestsUpdateStatus).times(2));
    let url = emulator.url().to_string();
    let bot = |name: &str| {
        let audit = dir.join(format!("{name}.jsonl"));
        lockbox()
            .args(["--emulator", "--endpoint", &url, "--subscription", SUB, "policy", "run", "--once"])
            .args(["--file", policy.to_str().unwrap(), "--audit", audit.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (bot("a"), bot("b"));
    let outs = tokio::task::spawn_blocking(move || [finish(a, "bot a"), finish(b, "bot b")]).await.unwrap();
    for out in &outs {
        assert!(out.status.success(), "the loser is not an error: {}", text(&out.stderr));
    }
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), ids.len());
    assert_eq!(decisions.iter().map(|d| d.request_id.clone()).collect::<BTreeSet<_>>(), ids);
    let mut lines = outcomes(json_lines(&std::fs::read(dir.join("a.jsonl")).unwrap_or_default()));
    lines.extend(outcomes(json_lines(&std::fs::read(dir.join("b.jsonl")).unwrap_or_default())));
    for id in &ids {
        let outcomes: Vec<&str> =
            lines.iter().filter(|l| l["request"] == id.as_str()).map(|l| l["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes.iter().filter(|o| **o == "approved").count(), 1, "{id}: {outcomes:?}");
        assert!(outcomes.iter().all(|o| *o == "approved" || *o == "decided by another"), "{id}: {outcomes:?}");
    }
    let lost: Vec<&serde_json::Value> = lines.iter().filter(|l| l["outcome"] == "decided by another").collect();
    assert!(!lost.is_empty(), "the bots raced");
    assert!(lost.iter().all(|l| l["currentStatus"].is_string() && l["serviceRequestId"].is_string()));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_policy_bot_decides_requests_as_they_arrive_until_interrupted() {
    let emulator = emulator().await;
    let dir = tempdir("bot");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"deny all\"\naction = \"deny\"\nreason = \"no access this week\"\n")
        .unwrap();
    let early = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let mut bot =
        Running::start(&emulator, &["policy", "run", "--file", policy.to_str().unwrap(), "--interval", "100ms"]);
    let intent: serde_json::Value = serde_json::from_str(&bot.next_line().await).unwrap();
    assert_eq!((intent["request"].as_str(), intent["outcome"].as_str()), (Some(early.as_str()), Some("sending")));
    let first: serde_json::Value = serde_json::from_str(&bot.next_line().await).unwrap();
    assert_eq!((first["request"].as_str(), first["outcome"].as_str()), (Some(early.as_str()), Some("denied")));
    let late = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let intent: serde_json::Value = serde_json::from_str(&bot.next_line().await).unwrap();
    assert_eq!(intent["outcome"], "sending");
    let second: serde_json::Value = serde_json::from_str(&bot.next_line().await).unwrap();
    assert_eq!((second["request"].as_str(), second["outcome"].as_str()), (Some(late.as_str()), Some("denied")));
    assert_eq!(second["reason"], "no access this week");
    assert_eq!(second["rule"], "deny all");
    bot.interrupt();
    let recorded: Vec<(String, String)> =
        emulator.decisions().into_iter().map(|d| (d.request_id, d.decision)).collect();
    assert_eq!(recorded, [(early, "Deny".to_owned()), (late, "Deny".to_owned())]);
    std::fs::remove_dir_all(dir).ok();
}

/// A policy that approves every pending request of `SUB`.
fn approve_all(dir: &Path) -> PathBuf {
    let path = dir.join("approve-all.toml");
    std::fs::write(&path, format!("[[rule]]\nname = \"all\"\naction = \"approve\"\nsubscriptions = [\"{SUB}\"]\n"))
        .unwrap();
    path
}

/// Audit or nothing: with an audit file that cannot be written (`/dev/full`), the bot sends no decision at all
/// (its intent line comes first and fails), says why, and exits 8.
#[tokio::test(flavor = "multi_thread")]
async fn a_bot_that_cannot_write_its_audit_file_decides_nothing_and_exits_8() {
    let emulator = emulator().await;
    for _ in 0..5 {
        pending_request(&emulator, SUB, NewLockboxRequest::default());
    }
    let dir = tempdir("audit-full");
    let policy = approve_all(&dir);
    let out =
        at(&emulator, &[SUB], &["policy", "run", "--file", policy.to_str().unwrap(), "--once", "--audit", "/dev/full"])
            .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("cannot write the audit trail") && stderr.contains("deciding nothing more"), "{stderr}");
    assert!(emulator.decisions().is_empty(), "no decision without its audit line: {:?}", emulator.decisions());
}

/// The same rule with stdout as the audit, and stdout a pipe whose reader is gone before the bot starts (as
/// after `| head -0`): the first write, the intent of the first decision, fails, so nothing is decided; exit 8,
/// no panic. (The pipe is closed before the bot runs, so no timing can let a write through first.)
#[tokio::test(flavor = "multi_thread")]
async fn a_bot_whose_stdout_audit_is_a_closed_pipe_decides_nothing() {
    let emulator = emulator().await;
    for _ in 0..5 {
        pending_request(&emulator, SUB, NewLockboxRequest::default());
    }
    let dir = tempdir("audit-pipe");
    let policy = approve_all(&dir);
    let mut args = emulator_args(&emulator, &[SUB]);
    args.extend(["policy", "run", "--file", policy.to_str().unwrap(), "--once"].map(str::to_owned));
    let out = tokio::task::spawn_blocking(move || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = lockbox().args(&args).stdin(Stdio::null()).stdout(writer).stderr(Stdio::piped()).spawn().unwrap();
        finish(child, "policy run > closed pipe")
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(!stderr.contains("panicked") && stderr.contains("cannot write the audit trail"), "{stderr}");
    assert!(emulator.decisions().is_empty(), "nothing decided: {:?}", emulator.decisions());
}
