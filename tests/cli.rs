//! The `lockbox` example, run as a user would: output and exit status of each command, against the embedded
//! emulator and against a standalone emulator that keeps state between commands.
//!
//! `cargo test` builds the examples before running tests; `cargo test --test cli` alone does not, so run
//! `cargo build --example lockbox` first in that case.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig};

const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";
const PENDING: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000004";
const APPROVED: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000003";

/// The example binary, built by `cargo test` next to the test binaries.
fn lockbox() -> Command {
    let mut path: PathBuf = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path.join("examples").join(format!("lockbox{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "build the example first: {}", binary.display());
    let mut command = Command::new(binary);
    command.env_remove("AZURE_SUBSCRIPTION_ID").env_remove("AZURE_TENANT_ID").env("COLUMNS", "200");
    command
}

fn run(args: &[&str]) -> Output {
    lockbox().args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn list_shows_the_sample_requests_as_a_table_and_says_it_uses_the_emulator() {
    let out = run(&["requests", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("SUPPORT TICKET"));
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(stdout.contains(PENDING) && stdout.contains("Pending") && stdout.contains("Key Vault"));
    assert!(text(&out.stderr).contains("using the embedded emulator"));
}

#[test]
fn list_filters_by_status_and_writes_json_lines() {
    let out = run(&["requests", "list", "--status", "PENDING", "--output", "json"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let statuses: Vec<String> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["properties"]["status"].to_string())
        .collect();
    assert_eq!(statuses, vec!["\"Pending\""; 3]);
}

#[test]
fn an_unknown_status_is_a_usage_error() {
    let out = run(&["requests", "list", "--status", "sleeping"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown status"));
}

#[test]
fn show_prints_the_request_and_missing_ones_exit_3() {
    let out = run(&["requests", "show", PENDING]);
    assert!(out.status.success());
    let request: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(request["name"], PENDING);
    let out = run(&["requests", "show", "no-such-request"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let line = stderr.lines().last().unwrap();
    assert!(line.starts_with("lockbox: error: 404 RequestNotFound: ") && line.contains("(request id "), "{line}");
}

#[test]
fn approve_with_wait_shows_progress_to_approved() {
    let out = run(&["requests", "approve", PENDING, "--reason", "read access for the case", "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("{PENDING}: Approved"));
    assert!(text(&out.stderr).contains(&format!("{PENDING}: Approving")));
}

#[test]
fn deciding_on_a_request_that_is_not_pending_exits_4_with_the_arm_code() {
    let out = run(&["requests", "deny", APPROVED, "--reason", "no"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("409 RequestNotPending"));
}

#[test]
fn bad_input_exits_2_before_anything_is_sent() {
    let out = run(&["requests", "approve", PENDING, "--reason", "   "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid argument `reason`"));
    let out = run(&["requests", "approve", PENDING]);
    assert_eq!(out.status.code(), Some(2), "clap: --reason is required");
    let out = run(&["--subscription", "not-a-guid", "--endpoint", "http://127.0.0.1:9/", "requests", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("subscription_id"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["requests", "--help"],
        vec!["requests", "list", "--help"],
        vec!["requests", "show", "--help"],
        vec!["requests", "approve", "--help"],
        vec!["requests", "deny", "--help"],
        vec!["requests", "watch", "--help"],
        vec!["tenant", "status", "--help"],
        vec!["tenant", "enable", "--help"],
        vec!["tenant", "disable", "--help"],
        vec!["operations", "list", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn tenant_commands_confirm_unless_yes() {
    let out = run(&["tenant", "status"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).ends_with("Customer Lockbox is on\n"));

    let mut child = lockbox()
        .args(["tenant", "disable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Continue? [y/N]") && text(&out.stderr).contains("cancelled"));

    let out = run(&["tenant", "disable", "--yes"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "Customer Lockbox is off for your tenant");
}

#[test]
fn operations_list_prints_the_catalogue() {
    let out = run(&["operations", "list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("Microsoft.CustomerLockbox/requests/read")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standalone_emulator_keeps_state_between_commands() {
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emulator.sample_data(SUB);
    let endpoint = emulator.url().to_string();
    let go = move |extra: &[&str]| {
        let mut args = vec!["--endpoint".to_owned(), endpoint.clone(), "--subscription".to_owned(), SUB.to_owned()];
        args.extend(extra.iter().map(|a| a.to_string()));
        lockbox().args(&args).stdin(Stdio::null()).output().unwrap()
    };
    let deny = go.clone();
    let out =
        tokio::task::spawn_blocking(move || deny(&["requests", "deny", PENDING, "--reason", "not during the freeze"]))
            .await
            .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("embedded emulator"));
    let out = tokio::task::spawn_blocking(move || go(&["requests", "list", "--status", "denied", "--output", "json"]))
        .await
        .unwrap();
    assert_eq!(text(&out.stdout).lines().count(), 2, "the sample's denied request and ours");
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].reason.as_deref(), Some("not during the freeze"));
    assert!(
        emulator.received().iter().all(|r| r.header("user-agent").is_some_and(|ua| ua.starts_with("lockbox-cli ")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_new_and_changed_requests_until_interrupted() {
    use std::io::{BufRead, BufReader};
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let existing = emulator.create_request(SUB, Default::default());
    let mut child = lockbox()
        .args(["--endpoint", emulator.url().as_str(), "--subscription", SUB])
        .args(["requests", "watch", "--interval", "100ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let lines_rx = std::sync::Arc::new(std::sync::Mutex::new(lines_rx));
    let next_line =
        move || lines_rx.lock().unwrap().recv_timeout(std::time::Duration::from_secs(20)).expect("a line in time");
    let first = tokio::task::spawn_blocking({
        let next_line = next_line.clone();
        move || next_line()
    })
    .await
    .unwrap();
    assert!(first.contains(&format!("new      {existing} Pending")), "{first}");
    let fresh = emulator.create_request(SUB, Default::default());
    let line = tokio::task::spawn_blocking({
        let next_line = next_line.clone();
        move || next_line()
    })
    .await
    .unwrap();
    assert!(line.contains(&format!("new      {fresh}")), "{line}");
    emulator.advance_clock(std::time::Duration::from_secs(30 * 24 * 3600));
    let mut changes: Vec<String> = tokio::task::spawn_blocking(move || vec![next_line(), next_line()]).await.unwrap();
    changes.sort();
    assert!(changes.iter().all(|l| l.contains("changed") && l.ends_with("Pending -> Expired")), "{changes:?}");
    // Ctrl-C ends the watch cleanly.
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}
