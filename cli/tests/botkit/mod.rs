//! What the bot's service tests share: running `lockbox policy run` against an emulator in the test's process,
//! reading its audit trail, and checking the trail against the emulator's record.

#![allow(dead_code)] // each test binary uses its own part of the kit

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use azure_customer_lockbox_emulator::{DecisionRecord, Emulator, NewLockboxRequest};
use serde_json::Value;

pub const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";
pub const SUB2: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

/// The longest a run may take before its test gives up on it: far above what a run takes, for a loaded machine.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A policy that approves requests whose justification says `approve-me`, denies those that say `deny-me`,
/// and leaves the rest to a person; `tag` ends each reason (which the emulator records with the decision, so a
/// test can tell which bot's call it was).
pub fn policy(dir: &Path, tag: &str) -> PathBuf {
    let path = dir.join(format!("policy-{tag}.toml"));
    let text = format!(
        "[[rule]]\nname = \"approve\"\naction = \"approve\"\nreason = \"ok by {tag}\"\njustification = \"approve-me\"\n\n\
         [[rule]]\nname = \"deny\"\naction = \"deny\"\nreason = \"no by {tag}\"\njustification = \"deny-me\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A pending request whose justification says what the policy does with it: `approve-me`, `deny-me` or
/// anything else (left for a person).
pub fn request(emulator: &Emulator, subscription: &str, what: &str) -> String {
    let new = NewLockboxRequest { justification: format!("case {what}"), ..NewLockboxRequest::default() };
    emulator.create_request(subscription, new)
}

/// `count` requests in `subscription`: 4 of 10 to approve, 4 to deny, 2 to leave.
pub fn requests(emulator: &Emulator, subscription: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|n| request(emulator, subscription, ["approve-me", "deny-me", "leave"][[0, 1, 0, 1, 2][n % 5]]))
        .collect()
}

/// A fresh directory for a test's files.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockbox-bot-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `lockbox policy run` against `emulator`, narrowed to `subscriptions`, with `policy` and `audit`, plus `args`;
/// stdout and stdin closed, stderr to `stderr` (appended).
pub fn bot(
    emulator: &Emulator,
    subscriptions: &[&str],
    policy: &Path,
    audit: &Path,
    stderr: &Path,
    args: &[&str],
) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    command.env_remove("AZURE_SUBSCRIPTION_ID").env_remove("AZURE_TENANT_ID").env_remove("LOCKBOX_OUTPUT");
    command.args(["--emulator", "--endpoint", emulator.url().as_str()]);
    for subscription in subscriptions {
        command.args(["--subscription", subscription]);
    }
    command.args(["policy", "run", "--file", policy.to_str().unwrap(), "--audit", audit.to_str().unwrap()]);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(stderr).unwrap();
    command.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().unwrap()
}

/// Waits for `child` at most [`RUN_LIMIT`]; past it, kills it and fails.
pub fn wait(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` (`TERM`, `INT`) to `child`.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

/// The audit trail's lines, as JSON (a torn last line, from a kill, is left out).
pub fn trail(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        file.read_to_string(&mut text).unwrap();
    }
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// Waits (at most [`RUN_LIMIT`]) until the trail holds `lines` lines or `child` ended.
pub fn wait_for_lines(path: &Path, lines: usize, child: &mut Child) {
    let deadline = Instant::now() + RUN_LIMIT;
    while trail(path).len() < lines && child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "{lines} audit lines not written in time");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Outcomes that end an intent (all but `sending`, `outcome unknown` and the lines of requests left alone).
pub fn settles(outcome: &str) -> bool {
    !matches!(outcome, "sending" | "outcome unknown" | "left for a human" | "not decided (dry run)")
}

/// What a trail says: its intents, and for each the outcome lines that settle it.
#[derive(Default, Debug)]
pub struct Paired {
    /// Intent id -> (request, decision, settling outcome lines).
    pub intents: BTreeMap<String, (String, String, Vec<Value>)>,
    /// Settling outcome lines that name no intent written before them.
    pub orphans: Vec<Value>,
}

impl Paired {
    pub fn of(lines: &[Value]) -> Self {
        let mut paired = Self::default();
        for line in lines {
            let outcome = line["outcome"].as_str().unwrap();
            let intent = line["intent"].as_str();
            match (outcome, intent) {
                ("sending", Some(id)) => {
                    let entry = (
                        line["request"].as_str().unwrap().to_owned(),
                        line["decision"].as_str().unwrap().to_owned(),
                        Vec::new(),
                    );
                    assert!(paired.intents.insert(id.to_owned(), entry).is_none(), "intent id {id} written twice");
                }
                (outcome, Some(id)) if settles(outcome) => match paired.intents.get_mut(id) {
                    Some((.., outcomes)) => outcomes.push(line.clone()),
                    None => paired.orphans.push(line.clone()),
                },
                (outcome, None) if settles(outcome) => paired.orphans.push(line.clone()),
                _ => {}
            }
        }
        paired
    }

    /// Intents with no settling outcome.
    pub fn open(&self) -> usize {
        self.intents.values().filter(|(.., outcomes)| outcomes.is_empty()).count()
    }

    /// Intents with more than one settling outcome.
    pub fn settled_twice(&self) -> usize {
        self.intents.values().filter(|(.., outcomes)| outcomes.len() > 1).count()
    }

    /// The settling outcome of each intent (for those settled once), with its request and decision.
    pub fn outcomes(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.intents
            .values()
            .filter(|(.., outcomes)| outcomes.len() == 1)
            .map(|(request, decision, outcomes)| (request.as_str(), decision.as_str(), &outcomes[0]))
    }
}

/// The emulator's record (what `GET /_emulator/decisions` serves): request id -> its decisions.
pub fn recorded(emulator: &Emulator) -> BTreeMap<String, Vec<DecisionRecord>> {
    let mut by_request: BTreeMap<String, Vec<DecisionRecord>> = BTreeMap::new();
    for decision in emulator.decisions() {
        by_request.entry(decision.request_id.clone()).or_default().push(decision);
    }
    by_request
}

/// Requests with more than one decision recorded.
pub fn double_decisions(emulator: &Emulator) -> usize {
    recorded(emulator).values().filter(|d| d.len() > 1).count()
}

/// Decision POSTs that reached the emulator after the request's decision was recorded (what
/// `GET /_emulator/decision-posts` calls `duplicateDecisions`): refused by the service, so harmless, but each is
/// a bot that sent a decision it need not have.
pub fn late_posts(emulator: &Emulator) -> u64 {
    emulator.decision_posts().iter().map(|p| p.after_decision).sum()
}

/// Whether an outcome line agrees with the emulator's record for its request: a claim (`approved`, `denied`)
/// and `decided, by this bot or another` need that decision recorded; `decided by another` some decision
/// recorded; `not sent` and `expired` are checked by the tests that expect them.
pub fn agrees(line: &Value, decision: &str, record: Option<&Vec<DecisionRecord>>) -> bool {
    let recorded = record.and_then(|r| r.first()).map(|r| r.decision.as_str());
    let wanted = if decision == "deny" { "Deny" } else { "Approve" };
    match line["outcome"].as_str().unwrap() {
        "approved" => recorded == Some("Approve") && decision == "approve",
        "denied" => recorded == Some("Deny") && decision == "deny",
        "decided, by this bot or another" => recorded == Some(wanted),
        "decided by another" => recorded.is_some(),
        "not sent" | "expired" => true,
        _ => false,
    }
}

/// The set of the request ids in `ids`.
pub fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}
