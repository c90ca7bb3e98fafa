//! Each command's `--help` lists every exit status it can return. The statuses are not taken from a list kept
//! beside the code: each command that asks the service is run against each kind of answer that decides an exit
//! status (a healthy emulator, a `404`, a `403` and a `409` on every call, a connection refused, an argument
//! refused before sending), and every status it returned must be in its `--help`.
//!
//! Every process is waited for at most [`common::RUN_LIMIT`], then killed: a hung command fails the test.

#[path = "cli/common.rs"]
#[allow(dead_code)] // each test binary uses a part of the shared helpers
mod common;

use std::collections::{BTreeMap, BTreeSet};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, Fault, NewSubscription};
// `PENDING` is a pending sample request of `SUB`.
use common::{PENDING, SUB, lockbox, output};

/// The statuses `lockbox <command> --help` lists under "Exit status:".
fn listed(command: &[&str]) -> BTreeSet<i32> {
    let out = output(lockbox().args(command).arg("--help"));
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let (_, statuses) = help.split_once("Exit status:").unwrap_or_else(|| panic!("{command:?}: {help}"));
    statuses.lines().filter_map(|l| l.split_whitespace().next()?.parse().ok()).collect()
}

/// What the service (or what stands for it) does in one run.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Healthy,
    /// Every call answered with this status and an ARM error body.
    Status(u16),
    /// Nothing listens at the endpoint.
    Refused,
    /// An argument the tool refuses before sending: a subscription that is not a GUID.
    BadArgument,
}

/// The commands that ask the service, with their arguments. `policy.toml` approves nothing it is shown.
fn commands(policy: &str) -> Vec<Vec<String>> {
    let at_sub = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(["--subscription".to_owned(), SUB.to_owned()]);
        all
    };
    let tenant_wide = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    vec![
        at_sub(&["requests", "list"]),
        tenant_wide(&["requests", "list"]),
        at_sub(&["requests", "show", PENDING]),
        tenant_wide(&["requests", "show", PENDING]),
        at_sub(&["requests", "approve", PENDING, "--reason", "r", "--yes"]),
        tenant_wide(&["requests", "deny", PENDING, "--reason", "r", "--yes"]),
        // A watch runs until stopped: only its failures to start end it (tenant-wide, the subscriptions listing).
        tenant_wide(&["requests", "watch"]),
        tenant_wide(&["tenant", "status", "00000000-0000-0000-0000-000000000001"]),
        tenant_wide(&["tenant", "enable", "--yes"]),
        tenant_wide(&["tenant", "disable", "--yes"]),
        tenant_wide(&["operations", "list"]),
        at_sub(&["policy", "run", "--file", policy, "--once"]),
        tenant_wide(&["policy", "run", "--file", policy, "--once"]),
        at_sub(&["policy", "explain", "--file", policy, PENDING]),
    ]
}

/// Runs `command` once against `answer`; `None` for a run that would not end (a healthy watch).
async fn status_of(command: &[String], answer: Answer) -> Option<i32> {
    let watch = command.iter().any(|a| a == "watch");
    if watch && matches!(answer, Answer::Healthy) {
        return None;
    }
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.sample_data(SUB);
    emulator.add_subscription(NewSubscription::new(SUB));
    let mut endpoint = emulator.url().to_string();
    match answer {
        Answer::Healthy | Answer::BadArgument => {}
        Answer::Status(status) => emulator.inject(Fault::status(status).times(10_000)),
        Answer::Refused => {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            endpoint = format!("http://127.0.0.1:{port}/");
        }
    }
    let mut args = vec!["--emulator".to_owned(), "--endpoint".to_owned(), endpoint];
    args.extend(command.iter().cloned());
    if matches!(answer, Answer::BadArgument) {
        args.extend(["--subscription".to_owned(), "not-a-guid".to_owned()]);
        if command.iter().any(|a| a == "tenant" || a == "operations") {
            // No subscription option there: a bad --query is their argument refused before sending.
            args.extend(["--query".to_owned(), "[".to_owned()]);
            args.retain(|a| a != "--subscription" && a != "not-a-guid");
        }
    }
    let out = tokio::task::spawn_blocking(move || output(lockbox().args(&args))).await.unwrap();
    drop(emulator);
    Some(out.status.code().expect("an exit status, not a signal"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_status_a_command_returns_is_listed_in_its_help() {
    let dir = std::env::temp_dir().join(format!("lockbox-exit-statuses-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"never\"\naction = \"approve\"\naccess_levels = [\"Owner\"]\n").unwrap();
    let answers = [Answer::Healthy, Answer::Status(404), Answer::Status(403), Answer::Status(409), Answer::Refused];
    let mut missing: BTreeMap<String, Vec<(i32, String)>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for command in commands(policy.to_str().unwrap()) {
        let name: Vec<&str> = command.iter().take(2).map(String::as_str).collect();
        let help = listed(&name);
        for answer in answers.into_iter().chain([Answer::BadArgument]) {
            let Some(status) = status_of(&command, answer).await else { continue };
            seen.insert(status);
            if !help.contains(&status) {
                missing.entry(name.join(" ")).or_default().push((status, format!("{answer:?} for {command:?}")));
            }
        }
    }
    assert!(missing.is_empty(), "statuses returned but not listed in --help: {missing:#?}");
    // The runs reached the statuses they are meant to: success, not found, refused, no connection, usage.
    for status in [0, 2, 3, 4, 5] {
        assert!(seen.contains(&status), "no run returned {status}: {seen:?}");
    }
}
