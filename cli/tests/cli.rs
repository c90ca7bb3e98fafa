//! The `lockbox` tool, run as a user would (the binary Cargo built for this package): output, exit status and
//! effect of each command, against the embedded emulator (`--emulator`) and against an emulator in this process
//! that keeps state between commands and records every decision. The confirmation tests use `script`
//! (util-linux) for a terminal.
//!
//! Every process a test starts is waited for at most [`RUN_LIMIT`] (a running one is killed when its test
//! ends, however it ends): a hung command fails its test with what it printed, it does not hang the binary.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, Fault, NewLockboxRequest, Operation, TenantSeed};

const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";
const SUB2: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
const PENDING: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000004";
const APPROVED: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000003";

/// An emulator in this process, for commands run with `--emulator --endpoint <its url>`.
async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn lockbox() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    command
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("LOCKBOX_OUTPUT")
        .env_remove("NO_COLOR")
        .env("COLUMNS", "200");
    command
}

/// The longest one run of a command may take before its test kills it and fails: far above the second or so
/// a run takes, for a machine loaded with other builds and tests.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A pipe read to its end in a thread. What was read so far stays readable, even if the pipe never closes (a
/// grandchild may hold it open).
struct Drain {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Drain {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Self {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = bytes.clone();
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
            let _ = tx.send(());
        });
        Self { bytes, done }
    }

    fn so_far(&self) -> String {
        text(&self.bytes.lock().unwrap())
    }

    /// Everything read, once the pipe ended or `grace` went by.
    fn finish(self, grace: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(grace);
        std::mem::take(&mut *self.bytes.lock().unwrap())
    }
}

/// Waits for `child` at most `limit`; past it, kills it and gives `None`.
fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The output of `child` (stdout and stderr piped), within [`RUN_LIMIT`]: past it, the child is killed and the
/// test fails with what it printed so far.
fn finish(mut child: Child, what: &str) -> Output {
    let stdout = Drain::start(child.stdout.take());
    let stderr = Drain::start(child.stderr.take());
    let status = wait_within(&mut child, RUN_LIMIT);
    let grace = Duration::from_secs(5);
    let (stdout, stderr) = (stdout.finish(grace), stderr.finish(grace));
    match status {
        Some(status) => Output { status, stdout, stderr },
        None => panic!(
            "{what} did not end within {RUN_LIMIT:?} and was killed\n--- stdout:\n{}\n--- stderr:\n{}",
            text(&stdout),
            text(&stderr)
        ),
    }
}

/// Runs `command` to its end (stdin from /dev/null), within [`RUN_LIMIT`].
fn output(command: &mut Command) -> Output {
    let what = format!("{command:?}");
    finish(command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), &what)
}

fn run(args: &[&str]) -> Output {
    output(lockbox().args(args))
}

/// The arguments that point the CLI at the emulator `emulator` in this process, narrowed to `subscriptions`
/// (none: tenant-wide).
fn emulator_args(emulator: &Emulator, subscriptions: &[&str]) -> Vec<String> {
    let mut all = vec!["--emulator".to_owned(), "--endpoint".to_owned(), emulator.url().to_string()];
    for sub in subscriptions {
        all.extend(["--subscription".to_owned(), (*sub).to_owned()]);
    }
    all
}

/// Runs against the emulator `emulator` in this process, off the async runtime.
async fn at(emulator: &Emulator, subscriptions: &[&str], args: &[&str]) -> Output {
    let mut all = emulator_args(emulator, subscriptions);
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || output(lockbox().args(&all))).await.unwrap()
}

/// Runs under a terminal (`script`), typing `input`; stdout and stderr both arrive on stdout. Within
/// [`RUN_LIMIT`]: past it, `script` is killed, which hangs up the terminal and so ends the command it runs
/// (SIGHUP), and the test fails with what was printed.
fn on_terminal(args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_lockbox").to_owned())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let mut command = Command::new("script");
    command.args(["-qec", &quoted.join(" "), "/dev/null"]).env_remove("NO_COLOR").env("COLUMNS", "200");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Written, then closed; small enough for the pipe's buffer, so this cannot block on a child that hangs.
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    finish(child, &format!("script {args:?}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    text(bytes).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// A bot's audit lines without its intent lines (`"outcome": "sending"`, written before each decision is sent),
/// after checking that each outcome of a decision sent follows its intent.
fn outcomes(lines: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    let mut intents: Vec<serde_json::Value> = Vec::new();
    let mut kept = Vec::new();
    for line in lines {
        if line["outcome"] == "sending" {
            intents.push(line);
            continue;
        }
        let sent = !matches!(line["outcome"].as_str(), Some("left for a human" | "not decided (dry run)"));
        if sent {
            let had = intents.iter().position(|i| i["request"] == line["request"]);
            assert!(had.is_some(), "an outcome with no intent line before it: {line}");
            intents.remove(had.unwrap_or_default());
        }
        kept.push(line);
    }
    kept
}

fn pending_request(emulator: &Emulator, subscription: &str, new: NewLockboxRequest) -> String {
    emulator.create_request(subscription, new)
}

#[test]
fn list_shows_the_sample_requests_as_a_table_and_says_it_uses_the_emulator() {
    let out = run(&["--emulator", "requests", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID") && lines[0].contains("STATUS") && lines[0].contains("SUPPORT TICKET"));
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(stdout.contains(PENDING) && stdout.contains("Pending") && stdout.contains("Key Vault"));
    assert!(text(&out.stderr).contains("using the embedded emulator"));
    // The reviewer's columns, and the pending requests first, the one expiring soonest on top.
    for column in ["SUBSCRIPTION", "TIME LEFT", "ACCESS", "RESOURCE", "JUSTIFICATION"] {
        assert!(lines[0].contains(column), "{column}: {}", lines[0]);
    }
    assert!(
        lines[1].starts_with(PENDING) && lines[1].contains(SUB) && lines[1].contains("contosologs (Storage Account)")
    );
    assert!(lines[1..4].iter().all(|l| l.contains("Pending") && l.contains(" 3d ")), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when stdout is not a terminal");
}

#[test]
fn list_filters_by_status_and_writes_json_lines() {
    let out = run(&["--emulator", "requests", "list", "--status", "PENDING", "--output", "jsonl"]);
    assert!(out.status.success());
    let statuses: Vec<String> =
        json_lines(&out.stdout).iter().map(|line| line["properties"]["status"].to_string()).collect();
    assert_eq!(statuses, vec!["\"Pending\""; 3]);
}

#[test]
fn list_json_is_one_array_and_tsv_has_raw_values_and_no_header_and_the_env_sets_the_default() {
    let out = run(&["--emulator", "-o", "json", "requests", "list", "--status", "pending"]);
    assert!(out.status.success());
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|r| r["subscription"] == SUB && r["properties"]["status"] == "Pending"));

    let out = output(lockbox().args(["--emulator", "requests", "list"]).env("LOCKBOX_OUTPUT", "tsv"));
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    // No header, as `az -o tsv`: the columns of `-o wide`, raw.
    assert_eq!(rows.len(), 6, "{stdout}");
    assert!(rows.iter().all(|r| r.len() == 12 && r[1] == SUB), "{stdout}");
    // ID, SUBSCRIPTION, STATUS, TIME LEFT (s, pending only), EXPIRES, CREATED (ISO 8601), ACCESS, DURATION (s),
    // RESOURCE TYPE, RESOURCES, SUPPORT CASE, JUSTIFICATION.
    let approved = rows.iter().find(|r| r[0] == APPROVED).unwrap();
    assert_eq!((approved[2], approved[3], approved[6], approved[7]), ("Approved", "", "Read", "28800"));
    let pending = rows.iter().find(|r| r[0] == PENDING).unwrap();
    let left: i64 = pending[3].parse().unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(pending[4]).unwrap();
    let expected = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((expected - 1..=expected + 5).contains(&left), "{left} s left, {expected} s to {expires}");
    assert!(pending[4].ends_with('Z') && pending[5].ends_with('Z') && pending[4].len() == 20, "{pending:?}");
    assert!(pending[9].starts_with(&format!("/subscriptions/{SUB}/resourceGroups/")), "{pending:?}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let out = on_terminal(&["--emulator", "requests", "list"], "", &[]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("\x1b[33mPending"), "{}", text(&out.stdout));
    let out = on_terminal(&["--emulator", "requests", "list"], "", &[("NO_COLOR", "1")]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Pending") && !text(&out.stdout).contains("\x1b["));
}

#[test]
fn an_unknown_status_is_a_usage_error() {
    let out = run(&["requests", "list", "--status", "sleeping"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown status"));
}

#[test]
fn show_prints_the_request_and_missing_ones_exit_3() {
    let out = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    assert!(out.status.success());
    let request: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(request["name"], PENDING);
    let out = run(&["--emulator", "requests", "show", "no-such-request"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let line = stderr.lines().last().unwrap();
    assert!(line.starts_with("lockbox: error: 404 RequestNotFound: ") && line.contains("(request id "), "{line}");
}

#[test]
fn show_in_every_format() {
    let out = run(&["--emulator", "requests", "show", PENDING]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for field in [
        "Request           5a3b0000",
        "Subscription      6a1d",
        "Status            Pending",
        "Time left ",
        "Access level      Read",
        "Support case ",
        "Justification     Customer reports",
    ] {
        assert!(stdout.contains(field), "{field}: {stdout}");
    }
    let out = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    assert!(out.status.success());
    let one: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(one["name"], PENDING, "one object for one item: {one}");
    assert_eq!(one["properties"]["status"], "Pending");
    let out = run(&["--emulator", "-o", "jsonl", "requests", "show", PENDING]);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["name"], PENDING);
    let out = run(&["--emulator", "-o", "tsv", "requests", "show", PENDING]);
    let stdout = text(&out.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].starts_with(&format!("{PENDING}\t{SUB}\tPending\t")), "{stdout}");
}

#[test]
fn approve_with_wait_waits_until_approved() {
    let out =
        run(&["--emulator", "requests", "approve", PENDING, "--reason", "read access for the case", "--wait", "--yes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("{PENDING}: Approved"));
    let stderr = text(&out.stderr);
    // The SDK waits (`until_final`), not the tool: see tests/wait.rs for the seams.
    assert!(stderr.contains("then wait until its status is final"), "{stderr}");
    // What is being decided is shown first.
    assert!(stderr.contains("Justification     Customer reports missing diagnostics data"), "{stderr}");
    assert!(
        stderr.contains("Support case ") && stderr.contains("Time left ") && stderr.contains("Access level      Read")
    );
}

/// A request that is no longer pending is shown, and reported as such: no question, no decision sent (it was
/// shown, asked about, sent, and refused with a 409).
#[tokio::test(flavor = "multi_thread")]
async fn deciding_on_a_request_that_is_not_pending_exits_6_without_asking_or_sending() {
    let out = run(&["--emulator", "requests", "deny", APPROVED, "--reason", "no", "--yes"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out.stderr).contains("is Approved, not Pending: nothing to deny, nothing was sent"),
        "{}",
        text(&out.stderr)
    );
    // Against an emulator that records every decision POST: none arrives, and no terminal is asked either.
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    assert!(at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok", "--yes"]).await.status.success());
    let out = at(&emulator, &[SUB], &["requests", "deny", &id, "--reason", "too late"]).await;
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let posts = emulator.decision_posts().into_iter().find(|p| p.request_id == id).unwrap();
    assert_eq!(posts.received, 1, "only the approval was sent");
}

#[test]
fn bad_input_exits_2_before_anything_is_sent() {
    let out = run(&["--emulator", "requests", "approve", PENDING, "--reason", "   "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid argument `reason`"));
    let out = run(&["--emulator", "requests", "approve", PENDING]);
    assert_eq!(out.status.code(), Some(2), "clap: --reason is required");
    let out =
        run(&["--emulator", "--subscription", "not-a-guid", "--endpoint", "http://127.0.0.1:9/", "requests", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("subscription_id"));
    let out = run(&["--emulator", "requests", "show", "/subscriptions/x/providers/Microsoft.Other/requests/y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a request id nor a resource id"));
}

#[test]
fn without_emulator_it_goes_to_azure_and_says_how_to_sign_in() {
    // No Azure CLI / azd login available (no tools on PATH): a clear error with the command to fix it, for a
    // subscription given and tenant-wide alike, and never a fallback to sample data: nothing is approved.
    let empty = tempdir("no-tools");
    for args in [
        &["--subscription", SUB, "requests", "list"][..],
        &["requests", "list"],
        &["requests", "approve", PENDING, "--reason", "r", "--yes"],
        &["requests", "watch"],
    ] {
        let out = output(lockbox().env("PATH", &empty).args(args));
        assert_eq!(out.status.code(), Some(5), "{args:?}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("run `az login`") && stderr.contains("--managed-identity"), "{args:?}: {stderr}");
        assert!(!stderr.contains("embedded emulator"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    std::fs::remove_dir_all(empty).ok();
}

#[test]
fn every_command_has_help_and_the_exit_codes_are_listed() {
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
        vec!["policy", "run", "--help"],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{args:?}");
    }
    let help = text(&run(&["--help"]).stdout);
    for code in [
        "  0  success",
        "  1  some subscriptions",
        "  2  usage error",
        "  3  not found",
        "  4  refused",
        "  5  could not reach",
        "  6  already decided or expired",
        "  7  outcome unknown",
    ] {
        assert!(help.contains(code), "{code}: {help}");
    }
    assert!(help.contains("--output") && help.contains("LOCKBOX_OUTPUT"));
}

#[test]
fn tenant_commands_confirm_unless_yes() {
    let out = run(&["--emulator", "tenant", "status"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).ends_with("Customer Lockbox is on\n"));

    // No terminal and no --yes: refused before asking, as approve refuses.
    let mut child = lockbox()
        .args(["--emulator", "tenant", "disable"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\n").unwrap();
    let out = finish(child, "tenant disable");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.ends_with(
            "lockbox: error: refusing to turn off Customer Lockbox without confirmation: there is no terminal to ask \
             on; pass --yes to turn off Customer Lockbox anyway\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("[y/N]"), "no question printed: {stderr}");
    // On a terminal: the question names the tenant; "n" sends nothing.
    let out = on_terminal(&["--emulator", "tenant", "disable"], "n\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "Turn Customer Lockbox off for tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, for all of its subscriptions? \
             [y/N]"
        ),
        "{said}"
    );
    assert!(said.contains("lockbox: cancelled; nothing was sent"), "{said}");

    let out = run(&["--emulator", "tenant", "disable", "--yes"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "Customer Lockbox is off for your tenant");
}

#[test]
fn tenant_status_in_every_format() {
    let out = run(&["--emulator", "-o", "json", "tenant", "status"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((status["customerLockbox"].as_str(), status["optedIn"].as_bool()), (Some("on"), Some(true)));
    let tenant = status["tenantId"].as_str().unwrap().to_owned();
    let out = run(&["--emulator", "-o", "jsonl", "tenant", "status"]);
    assert_eq!(json_lines(&out.stdout), vec![status.clone()]);
    let out = run(&["--emulator", "-o", "tsv", "tenant", "status"]);
    assert_eq!(text(&out.stdout), format!("{tenant}\ton\n"));
    let out = run(&["--emulator", "-o", "table", "tenant", "status"]);
    assert_eq!(text(&out.stdout), format!("{tenant}: Customer Lockbox is on\n"));
}

#[test]
fn operations_list_prints_the_catalogue() {
    let out = run(&["--emulator", "operations", "list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).lines().any(|l| l.starts_with("Microsoft.CustomerLockbox/requests/read")));
}

#[test]
fn operations_list_in_every_format() {
    let out = run(&["--emulator", "-o", "json", "operations", "list"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = all.as_array().unwrap().iter().filter_map(|o| o["name"].as_str()).collect();
    assert!(names.contains(&"Microsoft.CustomerLockbox/requests/read"), "{names:?}");
    let out = run(&["--emulator", "-o", "jsonl", "operations", "list"]);
    assert_eq!(json_lines(&out.stdout).len(), names.len());
    let out = run(&["--emulator", "-o", "tsv", "operations", "list"]);
    let stdout = text(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("Microsoft.CustomerLockbox/requests/read\t")), "{stdout}");
    assert_eq!(stdout.lines().count(), names.len(), "no header");
    let out = run(&["--emulator", "-o", "table", "operations", "list"]);
    let stdout = text(&out.stdout);
    for name in &names {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name}: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standalone_emulator_keeps_state_between_commands() {
    let emulator = emulator().await;
    emulator.sample_data(SUB);
    let out = at(&emulator, &[SUB], &["requests", "deny", PENDING, "--reason", "not during the freeze", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("embedded emulator"));
    let out = at(&emulator, &[SUB], &["requests", "list", "--status", "denied", "--output", "jsonl"]).await;
    assert_eq!(text(&out.stdout).lines().count(), 2, "the sample's denied request and ours");
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].reason.as_deref(), Some("not during the freeze"));
    assert!(
        emulator.received().iter().all(|r| r.header("user-agent").is_some_and(|ua| ua.starts_with("lockbox-cli ")))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_and_deny_need_a_terminal_or_yes() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // No terminal, no --yes: refused before anything is decided (the request is read, to say whether it is
    // still pending at all).
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no terminal to ask on; pass --yes"), "{}", text(&out.stderr));
    assert!(emulator.received().iter().all(|r| r.method == "GET"), "nothing but reads");

    let args = |answer: &str| {
        let url = emulator.url().to_string();
        let id = id.clone();
        let answer = answer.to_owned();
        move || {
            let args = [
                "--emulator",
                "--endpoint",
                &url,
                "--subscription",
                SUB,
                "requests",
                "deny",
                &id,
                "--reason",
                "not now",
            ];
            on_terminal(&args, &answer, &[])
        }
    };
    // On a terminal: the request is shown, and "n" decides nothing.
    let out = tokio::task::spawn_blocking(args("n\n")).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let shown = text(&out.stdout);
    assert!(shown.contains(&format!("Request           {id}")) && shown.contains("Storage Account"), "{shown}");
    assert!(
        shown.contains(&format!("Deny request {id} with reason \"not now\"? [y/N]")) && shown.contains("cancelled")
    );
    assert!(emulator.decisions().is_empty());
    // "y" decides, once.
    let out = tokio::task::spawn_blocking(args("y\n")).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains(&format!("{id}: Denied")));
    let decisions = emulator.decisions();
    assert_eq!((decisions.len(), decisions[0].decision.as_str()), (1, "Deny"));
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_are_addressed_by_arm_id_or_found_across_subscriptions() {
    let emulator = emulator().await;
    let other = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    let arm = format!("/subscriptions/{SUB2}/providers/Microsoft.CustomerLockbox/requests/{other}");
    // The ARM id names its subscription, whatever --subscription says.
    let out = at(&emulator, &[SUB], &["-o", "json", "requests", "show", &arm]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((shown["name"].as_str(), shown["subscription"].as_str()), (Some(other.as_str()), Some(SUB2)));
    // A bare id is looked up in each subscription given.
    let out = at(&emulator, &[SUB, SUB2], &["-o", "json", "requests", "show", &other]).await;
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["subscription"], SUB2);
    let out = at(&emulator, &[SUB], &["requests", "show", &other]).await;
    assert_eq!(out.status.code(), Some(3), "not in the only subscription given");
    // Deciding by ARM id, with the audit record in JSON.
    let out = at(&emulator, &[], &["-o", "json", "requests", "approve", &arm, "--reason", "by arm id", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["request"], other.as_str());
    assert_eq!(record["subscription"], SUB2);
    assert_eq!(record["decision"], "approve");
    assert!(
        record.as_object().unwrap().contains_key("serviceRequestId")
            && record.as_object().unwrap().contains_key("reconciled")
    );
    let decisions = emulator.decisions();
    assert_eq!(decisions.len(), 1);
    assert_eq!((decisions[0].subscription_id.as_str(), decisions[0].request_id.as_str()), (SUB2, other.as_str()));
    // Deny in TSV: one row, no header.
    let second = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB2], &["-o", "tsv", "requests", "deny", &second, "--reason", "no", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{second}\t{SUB2}\tdeny\tDenied\tno\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn outcome_unknown_exits_7_and_a_failed_subscription_is_reported() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // The first read (to show the request) passes; the decision's connection drops after it was recorded,
    // and the read that would reconcile it is refused.
    emulator.inject(Fault::delay(Duration::from_millis(1)).on(Operation::RequestsGet));
    emulator.inject(Fault::drop_connection().after_commit().on(Operation::RequestsUpdateStatus));
    emulator.inject(Fault::status(403).on(Operation::RequestsGet).times(5));
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "ok", "--yes"]).await;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is unknown") && text(&out.stderr).contains("before deciding again"));
    assert_eq!(emulator.decisions().len(), 1, "the service did record it");

    // One of two subscriptions cannot be listed: the other is, and the exit status says so.
    let emulator = self::emulator().await;
    let listed = pending_request(&emulator, SUB2, NewLockboxRequest::default());
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let out = at(&emulator, &[SUB, SUB2], &["-o", "jsonl", "requests", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("cannot list subscription {SUB}: 403 InjectedFault")),
        "{}",
        text(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!((lines.len(), lines[0]["name"].as_str()), (1, Some(listed.as_str())));
    // Only one subscription, and it fails: the failure's own exit status.
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let out = at(&emulator, &[SUB], &["requests", "list"]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
}

/// A fresh directory under the target dir, for files the CLI writes.
fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockbox-cli-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `lockbox` whose stdout lines arrive on a channel; stopped with Ctrl-C (SIGINT). Killed if its
/// test ends (or fails) first.
struct Running {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    stderr: Option<Drain>,
}

impl Running {
    /// Runs against `emulator`, narrowed to subscription `SUB`.
    fn start(emulator: &Emulator, args: &[&str]) -> Self {
        Self::start_in(emulator, &[SUB], args)
    }

    /// Runs against `emulator`, narrowed to `subscriptions` (none: tenant-wide).
    fn start_in(emulator: &Emulator, subscriptions: &[&str], args: &[&str]) -> Self {
        let mut child = lockbox()
            .args(emulator_args(emulator, subscriptions))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Some(Drain::start(child.stderr.take()));
        Self { child: Some(child), lines, stderr }
    }

    async fn next_line(&mut self) -> String {
        let line = tokio::task::block_in_place(|| self.lines.recv_timeout(RUN_LIMIT));
        line.unwrap_or_else(|_| {
            panic!("no line in time; stderr so far:\n{}", self.stderr.as_ref().map(Drain::so_far).unwrap_or_default())
        })
    }

    /// Waits (at most 20 s, as [`next_line`](Self::next_line)) until stderr so far contains `text`.
    async fn wait_for_stderr(&self, text: &str) {
        let stderr = self.stderr.as_ref().unwrap();
        let deadline = Instant::now() + RUN_LIMIT;
        while !stderr.so_far().contains(text) {
            assert!(Instant::now() < deadline, "{text:?} not on stderr in time; stderr so far:\n{}", stderr.so_far());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ctrl-C: the command ends cleanly, within [`RUN_LIMIT`]; gives its stderr.
    fn interrupt(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let status = wait_within(&mut child, RUN_LIMIT);
        let stderr = text(&self.stderr.take().unwrap().finish(Duration::from_secs(5)));
        let status = status.unwrap_or_else(|| panic!("not ended by Ctrl-C within {RUN_LIMIT:?}; killed: {stderr}"));
        assert!(status.success(), "{stderr}");
        stderr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_prints_new_and_changed_requests_until_interrupted() {
    let emulator = emulator().await;
    let existing = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["-o", "table", "requests", "watch", "--interval", "100ms"]);
    let first = watch.next_line().await;
    // A request there before the watch is `existing`, not `new`.
    assert!(first.contains(&format!("existing {existing} Pending")), "{first}");
    let fresh = emulator.create_request(SUB, Default::default());
    let line = watch.next_line().await;
    assert!(line.contains(&format!("new      {fresh}")), "{line}");
    emulator.advance_clock(Duration::from_secs(30 * 24 * 3600));
    let mut changes = vec![watch.next_line().await, watch.next_line().await];
    changes.sort();
    assert!(changes.iter().all(|l| l.contains("changed") && l.ends_with("Pending -> Expired")), "{changes:?}");
    // Ctrl-C ends the watch cleanly.
    watch.interrupt();
}

/// Issue 31: with `--only-changes`, the watch says on stderr when the first listing is done.
#[tokio::test(flavor = "multi_thread")]
async fn watch_only_changes_says_when_the_first_listing_is_done() {
    let emulator = emulator().await;
    emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--only-changes"]);
    watch
        .wait_for_stderr(&format!(
            "lockbox: subscription {SUB}: first listing done, 1 request(s) there now; reporting changes from here"
        ))
        .await;
    let fresh = emulator.create_request(SUB, Default::default());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!((event["event"].as_str(), event["requestId"].as_str()), (Some("new"), Some(fresh.as_str())));
    watch.interrupt();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_writes_json_lines_when_piped_and_tsv_when_asked() {
    let emulator = emulator().await;
    let existing = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms"]);
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(event["event"], "existing");
    assert_eq!(event["requestId"], existing.as_str());
    assert_eq!(event["subscription"], SUB);
    assert_eq!(event["status"], "Pending");
    assert_eq!(event["request"]["properties"]["status"], "Pending");
    let out = at(&emulator, &[SUB], &["requests", "deny", &existing, "--reason", "no", "--yes"]).await;
    assert!(out.status.success());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!((event["event"].as_str(), event["previousStatus"].as_str()), (Some("changed"), Some("Pending")));
    assert_eq!(event["status"], "Denied");
    watch.interrupt();

    for format in ["tsv", "json"] {
        let mut watch = Running::start(&emulator, &["-o", format, "requests", "watch", "--interval", "100ms"]);
        let first = watch.next_line().await;
        if format == "tsv" {
            // No header: the first line is the first event.
            let row: Vec<String> = first.split('\t').map(str::to_owned).collect();
            assert_eq!(
                (row[1].as_str(), row[2].as_str(), row[3].as_str(), row[4].as_str()),
                ("existing", SUB, existing.as_str(), "Denied")
            );
        } else {
            let event: serde_json::Value = serde_json::from_str(&first).unwrap();
            assert_eq!(event["requestId"], existing.as_str());
        }
        watch.interrupt();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_exec_runs_a_command_per_event_and_keeps_watching_when_it_fails() {
    let emulator = emulator().await;
    let dir = tempdir("exec");
    let events = dir.join("events.jsonl");
    let hook = format!("cat >> '{}'; exit 3", events.display());
    // Issue 31: an old, decided request is shown as existing, and the hook does not run for it.
    let decided = emulator.create_request(SUB, Default::default());
    let out = at(&emulator, &[SUB], &["requests", "deny", &decided, "--reason", "no", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = emulator.create_request(SUB, Default::default());
    let mut watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--exec", &hook]);
    let mut existing = vec![watch.next_line().await, watch.next_line().await];
    existing.sort();
    assert!(existing.iter().all(|l| l.contains("\"event\":\"existing\"")), "{existing:?}");
    let second = emulator.create_request(SUB, Default::default());
    let line = watch.next_line().await;
    assert!(line.contains(&second), "{line}");
    // The hook of the second event has run once its line is out and the next listing went by.
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    let seen = loop {
        let seen: Vec<serde_json::Value> = std::fs::read(&events).map(|b| json_lines(&b)).unwrap_or_default();
        if seen.len() >= 2 || std::time::Instant::now() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ids: Vec<&str> = seen.iter().filter_map(|e| e["requestId"].as_str()).collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let kinds: Vec<&str> = seen.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(kinds, ["existing", "new"]);
    assert!(seen.iter().all(|e| e["subscription"] == SUB));
    let stderr = watch.interrupt();
    assert!(
        stderr.contains(&format!("--exec command failed for request {first} (exit status: 3); still watching")),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

const POLICY: &str = r#"
# Ordered rules; the first match decides.
default = "leave"

[[rule]]
name = "never outside the window"
action = "deny"
reason = "outside the approval window"
justification = "(?i)night job"
working_hours = { start = "WINDOW_START", end = "WINDOW_END", utc_offset = "+00:00" }

[[rule]]
name = "storage reads"
action = "approve"
reason = "routine storage diagnostics"
resource_types = ["Microsoft.Storage/storageAccounts"]
resource_id_prefixes = ["/subscriptions/SUB/resourceGroups/contoso-rg/"]
access_levels = ["read"]
max_duration_hours = 8
support_case = true
justification = "(?i)diagnostic"

[[rule]]
name = "no memory dumps"
action = "deny"
reason = "memory dumps need a change request"
justification = "(?i)memory dump"

[[rule]]
name = "key vaults need a human"
action = "leave"
resource_types = ["Key Vault"]
"#;

/// The policy above, with a working-hours window that starts an hour from now (so "now" is outside it).
fn policy_file(dir: &Path) -> PathBuf {
    let now = chrono::Utc::now();
    let start = now + chrono::TimeDelta::hours(1);
    let end = now + chrono::TimeDelta::hours(2);
    let text = POLICY
        .replace("WINDOW_START", &start.format("%H:%M").to_string())
        .replace("WINDOW_END", &end.format("%H:%M").to_string())
        .replace("SUB", SUB);
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn request(kind: &str, resource: &str, hours: u32, why: &str) -> NewLockboxRequest {
    NewLockboxRequest {
        resource_type: kind.into(),
        resource_ids: vec![format!("/subscriptions/{SUB}/resourceGroups/{resource}")],
        duration_hours: hours,
        justification: why.into(),
        ..NewLockboxRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_run_decides_by_rules_and_its_audit_lines_match_the_service_record() {
    let emulator = emulator().await;
    let dir = tempdir("policy");
    let policy = policy_file(&dir);
    let storage = "contoso-rg/providers/Microsoft.Storage/storageAccounts/logs";
    let approve = pending_request(&emulator, SUB, request("Storage Account", storage, 8, "Read diagnostic logs"));
    let too_long = pending_request(&emulator, SUB, request("Storage Account", storage, 24, "Read diagnostic logs"));
    let other_rg = pending_request(
        &emulator,
        SUB,
        request("Storage Account", "other-rg/providers/Microsoft.Storage/storageAccounts/x", 8, "diagnostic"),
    );
    let deny = pending_request(
        &emulator,
        SUB,
        request("Virtual Machine", "batch/providers/Microsoft.Compute/virtualMachines/w", 8, "Collect a memory dump"),
    );
    let vault = pending_request(
        &emulator,
        SUB,
        request("Key Vault", "sec/providers/Microsoft.KeyVault/vaults/kv", 8, "Read diagnostic metadata"),
    );
    let night = pending_request(&emulator, SUB, request("Storage Account", storage, 8, "Night job diagnostic"));
    let pending = [&approve, &too_long, &other_rg, &deny, &vault, &night];
    let audit = dir.join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let policy_arg = policy.display().to_string();

    // Dry run: a line per pending request, nothing decided.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--dry-run"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dry = json_lines(&out.stdout);
    assert_eq!(dry.len(), pending.len());
    assert!(dry.iter().all(|l| l["dryRun"] == true && l["subscription"] == SUB));
    assert!(emulator.decisions().is_empty());
    let by_id = |lines: &[serde_json::Value]| -> BTreeMap<String, serde_json::Value> {
        lines.iter().map(|l| (l["request"].as_str().unwrap().to_owned(), l.clone())).collect()
    };
    let dry = by_id(&dry);
    let verdict =
        |id: &str| (dry[id]["decision"].as_str().unwrap().to_owned(), dry[id]["rule"].as_str().unwrap().to_owned());
    assert_eq!(verdict(&approve), ("approve".into(), "storage reads".into()));
    assert_eq!(verdict(&too_long), ("leave".into(), "default".into()), "duration over 8 hours");
    assert_eq!(verdict(&other_rg), ("leave".into(), "default".into()), "outside the resource id prefix");
    assert_eq!(verdict(&deny), ("deny".into(), "no memory dumps".into()));
    assert_eq!(verdict(&vault), ("leave".into(), "key vaults need a human".into()));
    assert_eq!(verdict(&night), ("approve".into(), "storage reads".into()), "the window rule does not apply now");

    // The real run, to the audit file.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--audit", &audit_arg]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "audit lines go to the file");
    let summary = format!("lockbox: policy run: 3 decided, {} left for a human", pending.len() - 3);
    assert!(text(&out.stderr).contains(&summary), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(", 0 failed"), "{}", text(&out.stderr));
    let lines = outcomes(json_lines(&std::fs::read(&audit).unwrap()));
    assert_eq!(lines.len(), pending.len());
    for line in &lines {
        for field in ["request", "subscription", "rule", "decision", "reason", "outcome", "attempts", "reconciled"] {
            assert!(line.as_object().unwrap().contains_key(field), "{field}: {line}");
        }
        // The ids of the service's call are on every line a call is known from, and only there.
        let called = line["attempts"].as_u64().unwrap() > 0;
        for field in ["serviceRequestId", "correlationRequestId"] {
            assert_eq!(line.as_object().unwrap().contains_key(field), called, "{field}: {line}");
        }
    }
    let decided: BTreeSet<(String, String, String)> = lines
        .iter()
        .filter(|l| l["outcome"] == "approved" || l["outcome"] == "denied")
        .map(|l| {
            let decision = if l["decision"] == "approve" { "Approve" } else { "Deny" };
            (l["request"].as_str().unwrap().to_owned(), decision.to_owned(), l["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    let recorded: BTreeSet<(String, String, String)> =
        emulator.decisions().into_iter().map(|d| (d.request_id, d.decision, d.reason.unwrap_or_default())).collect();
    assert_eq!(decided, recorded);
    assert_eq!(recorded.len(), 3, "approve, night and deny");
    assert!(lines.iter().filter(|l| l["decision"] == "leave").all(|l| l["outcome"] == "left for a human"));
    for id in [&too_long, &other_rg, &vault] {
        assert_eq!(emulator.request_status(SUB, id).as_deref(), Some("Pending"));
    }

    // Restarted: nothing is decided twice; the requests left alone are logged again, appended.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy_arg, "--once", "--audit", &audit_arg]).await;
    assert!(out.status.success());
    let lines = outcomes(json_lines(&std::fs::read(&audit).unwrap()));
    assert_eq!(lines.len(), pending.len() + 3);
    assert!(lines[pending.len()..].iter().all(|l| l["outcome"] == "left for a human"));
    assert_eq!(emulator.decisions().len(), 3);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_policy_file_is_a_usage_error_naming_the_line() {
    let emulator = emulator().await;
    let dir = tempdir("bad-policy");
    for (policy, expected) in [
        ("[[rule]]\naction = \"approve\"\nbogus = 1\n", "line 3: unknown field `bogus`"),
        ("[[rule]]\naction = \"maybe\"\n", "line 2: unknown variant `maybe`"),
        (
            "[[rule]]\nname = \"a\"\naction = \"approve\"\nunconditional = true\n\n[[rule]]\nname = \"b\"\naction = \"deny\"\n",
            "line 6: b: a deny rule needs a reason",
        ),
        (
            "[[rule]]\naction = \"leave\"\njustification = \"(\"\n",
            "line 3: rule 1: justification \"(\" is not a regular expression: unclosed group",
        ),
        (
            "[[rule]]\nname = \"all\"\naction = \"approve\"\n",
            "line 1: all: an approve rule with no condition approves every request",
        ),
        (
            "[[rule]]\nname = \"sub\"\naction = \"approve\"\nsubscriptions = [\"6a1d3f1e\"]\n",
            "line 1: sub: subscription \"6a1d3f1e\" is not a subscription id",
        ),
        (
            "[[rule]]\naction = \"leave\"\nworking_hours = { start = \"8am\", end = \"18:00\" }\n",
            "line 3: rule 1: working_hours: \"8am\" is not HH:MM",
        ),
        ("default = \"approve\"\n", "line 1: the default may be"),
    ] {
        let path = dir.join("policy.toml");
        std::fs::write(&path, policy).unwrap();
        let out = at(&emulator, &[SUB], &["policy", "run", "--file", path.to_str().unwrap(), "--once"]).await;
        assert_eq!(out.status.code(), Some(2), "{policy}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("policy.toml {expected}")), "{expected}: {stderr}");
    }
    assert_eq!(emulator.requests_received(), 0);
    std::fs::remove_dir_all(dir).ok();
}

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
async fn working_hours_match_by_time_of_day_and_day_of_week_at_a_fixed_offset() {
    let emulator = emulator().await;
    let dir = tempdir("hours");
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    // Now, seen at UTC+05:30: the rule's window is built around it, or away from it.
    let offset = chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    let now = chrono::Utc::now().with_timezone(&offset);
    let hhmm = |t: chrono::DateTime<chrono::FixedOffset>| t.format("%H:%M").to_string();
    // The window starts an hour ago: it belongs to that day, which is yesterday just after midnight.
    let today = (now - chrono::TimeDelta::hours(1)).format("%a").to_string().to_lowercase();
    let tomorrow =
        (now - chrono::TimeDelta::hours(1) + chrono::TimeDelta::days(1)).format("%a").to_string().to_lowercase();
    let around = (hhmm(now - chrono::TimeDelta::hours(1)), hhmm(now + chrono::TimeDelta::hours(1)));
    let away = (hhmm(now + chrono::TimeDelta::hours(2)), hhmm(now + chrono::TimeDelta::hours(3)));
    for ((start, end), day, matches) in
        [(around.clone(), today.clone(), true), (around, tomorrow, false), (away, today, false)]
    {
        let policy = dir.join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "[[rule]]\nname = \"in hours\"\naction = \"approve\"\n\
                 working_hours = {{ days = [\"{day}\"], start = \"{start}\", end = \"{end}\", utc_offset = \"+05:30\" }}\n"
            ),
        )
        .unwrap();
        let out =
            at(&emulator, &[SUB], &["policy", "run", "--file", policy.to_str().unwrap(), "--once", "--dry-run"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["request"], id.as_str());
        let expected = if matches { ("in hours", "approve") } else { ("default", "leave") };
        assert_eq!(
            (lines[0]["rule"].as_str().unwrap(), lines[0]["decision"].as_str().unwrap()),
            expected,
            "{day} {start}-{end}"
        );
    }
    assert!(emulator.decisions().is_empty(), "dry runs decide nothing");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_and_tenant_changes_in_every_format() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB], &["-o", "jsonl", "requests", "approve", &id, "--reason", "ok", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!((lines[0]["request"].as_str(), lines[0]["status"].as_str()), (Some(id.as_str()), Some("Approved")));
    let id = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = at(&emulator, &[SUB], &["requests", "deny", &id, "--reason", "no", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{id}: Denied\n"));
    assert_eq!(emulator.decisions().len(), 2);

    let tenant = emulator.default_tenant_id().to_owned();
    let out = at(&emulator, &[], &["-o", "json", "tenant", "enable", "--yes"]).await;
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((state["customerLockbox"].as_str(), state["optedIn"].as_bool()), (Some("on"), Some(true)));
    assert!(emulator.tenant_opted_in(&tenant));
    let out = at(&emulator, &[], &["-o", "tsv", "tenant", "disable", "--yes"]).await;
    assert_eq!(text(&out.stdout), "-\toff\n");
    assert!(!emulator.tenant_opted_in(&tenant));
    let out = at(&emulator, &[], &["-o", "jsonl", "tenant", "status", &tenant]).await;
    assert_eq!(json_lines(&out.stdout)[0]["customerLockbox"], "off");
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

/// The path prefix of a subscription's Lockbox requests.
fn requests_path(subscription: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests")
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_wide_list_covers_every_visible_subscription_and_names_the_failed_ones_exit_1() {
    let emulator = emulator().await;
    let subs = emulator.seed_tenant(&TenantSeed {
        subscriptions: 5,
        requests_per_subscription: 2,
        forbidden: 1,
        unregistered: 1,
        disabled: 1,
        ..TenantSeed::default()
    });
    let (forbidden, unregistered, disabled, readable) =
        (subs[0].as_str(), subs[1].as_str(), subs[2].as_str(), &subs[3..]);

    // No --subscription: every subscription the credential can see.
    let out = at(&emulator, &[], &["-o", "jsonl", "requests", "list"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot list subscription {forbidden}: 403 AuthorizationFailed")), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot list subscription {unregistered}: 409 MissingSubscriptionRegistration")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("skipped subscriptions that are not active: {disabled} (Disabled)")), "{stderr}");
    let lines = json_lines(&out.stdout);
    let mut per_subscription: BTreeMap<String, usize> = BTreeMap::new();
    for line in &lines {
        let subscription = line["subscription"].as_str().unwrap();
        assert!(line["id"].as_str().unwrap().starts_with(&requests_path(subscription)), "{line}");
        *per_subscription.entry(subscription.to_owned()).or_default() += 1;
    }
    assert_eq!(per_subscription, readable.iter().map(|s| (s.clone(), 2)).collect::<BTreeMap<_, _>>());
    // The subscriptions were listed once; the disabled one was not asked for its requests.
    let received = emulator.received();
    let asked = |prefix: &str| received.iter().filter(|r| r.method == "GET" && r.path.starts_with(prefix)).count();
    assert_eq!(received.iter().filter(|r| r.path == "/subscriptions").count(), 1);
    assert_eq!(asked(&requests_path(disabled)), 0);
    assert_eq!((asked(&requests_path(forbidden)), asked(&requests_path(unregistered))), (1, 1));
    assert!(readable.iter().all(|s| asked(&requests_path(s)) == 1));

    // The table: the readable subscriptions' requests, and the same exit status.
    let out = at(&emulator, &[], &["requests", "list"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1 + 4, "{stdout}");
    assert!(stdout.lines().skip(1).all(|l| readable.iter().any(|s| l.contains(s.as_str()))), "{stdout}");

    // --subscription narrows the scope: the subscriptions are not listed, and nothing failed.
    emulator.clear_received();
    let out = at(&emulator, &[&readable[0]], &["-o", "jsonl", "requests", "list"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["subscription"] == readable[0].as_str()));
    assert!(emulator.received().iter().all(|r| r.path.starts_with(&requests_path(&readable[0]))));
    assert!(!text(&out.stderr).contains("AZURE_SUBSCRIPTION_ID"), "the flag is no surprise: no note");

    // AZURE_SUBSCRIPTION_ID (azd sets it) narrows the scope the same way, and says so on stderr.
    emulator.clear_received();
    let mut command = lockbox();
    command.env("AZURE_SUBSCRIPTION_ID", &readable[1]).args(emulator_args(&emulator, &[]));
    command.args(["-o", "jsonl", "requests", "list"]);
    let out = tokio::task::spawn_blocking(move || output(&mut command)).await.unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("note: AZURE_SUBSCRIPTION_ID narrows the scope to {}", readable[1])), "{stderr}");
    assert!(json_lines(&out.stdout).iter().all(|l| l["subscription"] == readable[1].as_str()));
    assert!(emulator.received().iter().all(|r| r.path.starts_with(&requests_path(&readable[1]))));

    // A policy run goes tenant-wide too, with the same report and exit status.
    let dir = tempdir("tenant-policy");
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[[rule]]\nname = \"all\"\naction = \"approve\"\nunconditional = true\n").unwrap();
    let out = at(&emulator, &[], &["policy", "run", "--file", policy.to_str().unwrap(), "--once", "--dry-run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("cannot list subscription {forbidden}: 403 AuthorizationFailed")));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| readable.iter().any(|s| l["subscription"] == s.as_str()) && l["dryRun"] == true));
    assert!(emulator.decisions().is_empty());
    std::fs::remove_dir_all(dir).ok();
}

/// Seeds three subscriptions with `requests` pending requests each; the credential cannot read the first.
fn three_subscriptions_first_forbidden(emulator: &Emulator, requests: usize) -> Vec<String> {
    emulator.seed_tenant(&TenantSeed {
        subscriptions: 3,
        requests_per_subscription: requests,
        forbidden: 1,
        ..TenantSeed::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_id_is_found_tenant_wide_and_decided_once_in_its_subscription() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 1);
    let target = pending_request(&emulator, &subs[2], NewLockboxRequest::default());
    let other = pending_request(&emulator, &subs[1], NewLockboxRequest::default());

    let out = at(&emulator, &[], &["-o", "json", "requests", "show", &target]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (shown["name"].as_str(), shown["subscription"].as_str()),
        (Some(target.as_str()), Some(subs[2].as_str()))
    );

    let out =
        at(&emulator, &[], &["-o", "json", "requests", "approve", &target, "--reason", "found tenant-wide", "--yes"])
            .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (record["request"].as_str(), record["subscription"].as_str()),
        (Some(target.as_str()), Some(subs[2].as_str()))
    );
    let out = at(&emulator, &[], &["requests", "deny", &other, "--reason", "not this one", "--yes"]).await;
    assert_eq!(text(&out.stdout), format!("{other}: Denied\n"), "{}", text(&out.stderr));

    // Each decision landed once, on the request in its own subscription.
    let decisions: Vec<(String, String, String, Option<String>)> =
        emulator.decisions().into_iter().map(|d| (d.subscription_id, d.request_id, d.decision, d.reason)).collect();
    assert_eq!(
        decisions,
        [
            (subs[2].clone(), target.clone(), "Approve".to_owned(), Some("found tenant-wide".to_owned())),
            (subs[1].clone(), other.clone(), "Deny".to_owned(), Some("not this one".to_owned())),
        ]
    );
    let posts: Vec<(String, String, u64)> =
        emulator.decision_posts().into_iter().map(|p| (p.subscription_id, p.request_id, p.received)).collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(
        posts.contains(&(subs[2].clone(), target.clone(), 1)) && posts.contains(&(subs[1].clone(), other.clone(), 1))
    );
    assert_eq!(emulator.duplicate_decisions(), 0);
    assert_eq!(emulator.request_status(&subs[2], &target).as_deref(), Some("Approved"));
    assert_eq!(emulator.request_status(&subs[1], &other).as_deref(), Some("Denied"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_id_in_no_readable_subscription_exits_3_and_decides_nothing() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 1);
    // One id that is nowhere, and one in the subscription the credential cannot read.
    let hidden = pending_request(&emulator, &subs[0], NewLockboxRequest::default());
    for id in ["0f0e0d0c-0b0a-4909-8807-060504030201", hidden.as_str()] {
        let out = at(&emulator, &[], &["requests", "show", id]).await;
        assert_eq!(out.status.code(), Some(3), "{id}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains(&format!("request {id} is in no subscription this credential can read")),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        let out = at(&emulator, &[], &["requests", "approve", id, "--reason", "ok", "--yes"]).await;
        assert_eq!(out.status.code(), Some(3), "{id}: {}", text(&out.stderr));
    }
    assert!(emulator.received().iter().all(|r| r.method == "GET"), "no decision was sent");
    assert!(emulator.decisions().is_empty());
    assert_eq!(emulator.request_status(&subs[0], &hidden).as_deref(), Some("Pending"));
    // Its full resource id names the subscription, and says why it cannot be read.
    let arm = format!("{}/{hidden}", requests_path(&subs[0]));
    let out = at(&emulator, &[], &["requests", "show", &arm]).await;
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("403 AuthorizationFailed"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_tenant_wide_sees_new_requests_in_every_readable_subscription() {
    let emulator = emulator().await;
    let subs = three_subscriptions_first_forbidden(&emulator, 0);
    let existing = emulator.create_request(&subs[1], Default::default());
    let mut watch = Running::start_in(&emulator, &[], &["requests", "watch", "--interval", "100ms"]);
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(
        (event["event"].as_str(), event["requestId"].as_str(), event["subscription"].as_str()),
        (Some("existing"), Some(existing.as_str()), Some(subs[1].as_str()))
    );
    let fresh = emulator.create_request(&subs[2], Default::default());
    let event: serde_json::Value = serde_json::from_str(&watch.next_line().await).unwrap();
    assert_eq!(
        (event["event"].as_str(), event["requestId"].as_str(), event["subscription"].as_str()),
        (Some("new"), Some(fresh.as_str()), Some(subs[2].as_str()))
    );
    let stderr = watch.interrupt();
    assert!(
        stderr.contains(&format!(
            "listing subscription {} failed, still watching (said again only if it changes): 403 AuthorizationFailed",
            subs[0]
        )),
        "{stderr}"
    );
    // A tenant-wide watch that cannot list the subscriptions at its start has nothing to watch: it ends with
    // the failure's exit status.
    emulator.inject(Fault::status(403).on(Operation::SubscriptionsList));
    let out = at(&emulator, &[], &["requests", "watch", "--interval", "100ms"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("lockbox: error: 403 InjectedFault"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_watch_that_sees_no_subscription_says_so_and_keeps_watching() {
    // An emulator with no subscription at all: the credential sees nothing to watch.
    let emulator = emulator().await;
    let watch = Running::start_in(&emulator, &[], &["requests", "watch", "--interval", "100ms"]);
    let note = "this credential sees no active subscription; still watching for one to appear";
    watch.wait_for_stderr(note).await;
    let listed = emulator.received().into_iter().filter(|r| r.method == "GET" && r.path == "/subscriptions").count();
    assert_eq!(listed, 1);
    // Still running: the watch does not end for lack of subscriptions, and Ctrl-C ends it cleanly.
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches(note).count(), 1, "{stderr}");
}

/// `lockbox --version` names the tool and its version, as `cargo install` users expect.
#[test]
fn version_is_printed() {
    let output = lockbox().arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), format!("lockbox {}", env!("CARGO_PKG_VERSION")));
}

/// A policy that approves every pending request of `SUB`.
fn approve_all(dir: &Path) -> PathBuf {
    let path = dir.join("approve-all.toml");
    std::fs::write(&path, format!("[[rule]]\nname = \"all\"\naction = \"approve\"\nsubscriptions = [\"{SUB}\"]\n"))
        .unwrap();
    path
}

/// Starts `lockbox` with `args`, reads the first line of its stdout, and closes the pipe, as `| head -1` does.
fn first_line_then_hang_up(args: &[String]) -> (Child, String) {
    let mut child =
        lockbox().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    (child, first)
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

/// Every text the requester chose reaches a terminal neutralised: escape sequences shown escaped, and a newline
/// in the support case never starts a line that reads as the tool's (`Access level  Read` under the real one).
#[tokio::test(flavor = "multi_thread")]
async fn requester_text_cannot_forge_the_block_shown_before_a_decision() {
    let emulator = emulator().await;
    let forged = NewLockboxRequest {
        justification: "Routine check\u{1b}[1A\u{1b}[2K\u{1b}[32mApproved by security\u{1b}[0m".into(),
        support_request: "120112345678\nAccess level     Read".into(),
        access_level: "Write".into(),
        ..NewLockboxRequest::default()
    };
    let id = pending_request(&emulator, SUB, forged);
    for args in [vec!["requests", "show", id.as_str()], vec!["requests", "list"]] {
        let out = at(&emulator, &[SUB], &args).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'), "{args:?}: an escape reached the terminal");
        assert!(stdout.contains("\\u{1b}[1A"), "{args:?}: shown escaped: {stdout}");
        let forged_lines = stdout.lines().filter(|l| l.trim_start().starts_with("Access level") && l.contains("Read"));
        assert_eq!(forged_lines.count(), 0, "{args:?}: a forged line: {stdout}");
    }
    // JSON stays exact.
    let out = at(&emulator, &[SUB], &["-o", "json", "requests", "show", &id]).await;
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["properties"]["supportRequest"], "120112345678\nAccess level     Read");
}

/// `lockbox requests watch | head -1`: the reader goes away; at the next event the watch ends quietly (exit 0),
/// with no panic (it exited 101 with "failed printing to stdout: Broken pipe").
#[tokio::test(flavor = "multi_thread")]
async fn a_watch_whose_reader_goes_away_ends_without_a_panic() {
    let emulator = emulator().await;
    pending_request(&emulator, SUB, NewLockboxRequest::default());
    let mut args = emulator_args(&emulator, &[SUB]);
    args.extend(["-o", "jsonl", "requests", "watch", "--interval", "1s"].map(str::to_owned));
    let child = tokio::task::spawn_blocking(move || {
        let (child, first) = first_line_then_hang_up(&args);
        assert!(!first.is_empty());
        child
    })
    .await
    .unwrap();
    // The next event is written to a pipe nobody reads.
    pending_request(&emulator, SUB, NewLockboxRequest::default());
    let out = tokio::task::spawn_blocking(move || finish(child, "requests watch | head -1")).await.unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Numbers that overflow are usage errors, never a panic or a wrapped value: an interval of
/// 9999999999999999 hours, a working-hours start of `99999999:00`, a huge `utc_offset`.
#[test]
fn overflowing_durations_hours_and_offsets_are_refused() {
    let out = run(&["--emulator", "requests", "watch", "--interval", "9999999999999999h"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("longer than any interval"), "{stderr}");
    let dir = tempdir("overflow");
    for (field, value) in [("start", "99999999:00"), ("utc_offset", "+99999999:00")] {
        let mut rule = String::from("[[rule]]\nname = \"hours\"\naction = \"approve\"\naccess_level = \"Read\"\n");
        rule.push_str("[rule.hours]\nstart = \"09:00\"\nend = \"17:00\"\n");
        rule = rule.replace(&format!("{field} = \"09:00\""), &format!("{field} = \"{value}\""));
        if field == "utc_offset" {
            rule.push_str(&format!("utc_offset = \"{value}\"\n"));
        }
        let path = dir.join(format!("{field}.toml"));
        std::fs::write(&path, rule).unwrap();
        let out = run(&["--emulator", "policy", "run", "--file", path.to_str().unwrap(), "--once", "--dry-run"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {stderr}");
        assert!(!stderr.contains("panicked"), "{field}: {stderr}");
    }
}

/// `lockbox policy test` runs the README's sample policy (kept as `cli/examples/policy.toml`, equal to the
/// README's block) against the cases kept beside it: every case passes, every rule decides one, every condition
/// fails in one. A case expecting the wrong action fails (exit 1) and says which condition did not hold.
#[test]
fn policy_test_runs_the_readme_policy_against_its_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = &readme[readme.find("### Policy mode").unwrap()..];
    let block = &section[section.find("```toml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let policy = root.join("examples/policy.toml");
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), block, "the README's policy and examples/policy.toml");
    let cases = root.join("examples/policy-cases.toml");
    let out = run(&[
        "policy",
        "test",
        "--file",
        policy.to_str().unwrap(),
        "--cases",
        cases.to_str().unwrap(),
        "--require-coverage",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("13 cases, 0 failed; rules never deciding a case: none; conditions never failing: none"),
        "{stdout}"
    );

    let dir = tempdir("policy-test");
    let wrong = dir.join("wrong.toml");
    let text_of_cases = std::fs::read_to_string(&cases).unwrap();
    std::fs::write(
        &wrong,
        text_of_cases.replacen("expect = \"leave\"\nrule = \"default\"", "expect = \"approve\"\nrule = \"default\"", 1),
    )
    .unwrap();
    let out = run(&["policy", "test", "--file", policy.to_str().unwrap(), "--cases", wrong.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL another subscription")
            && stdout.contains("not matched: storage reads in working hours: subscriptions"),
        "{stdout}"
    );
}

/// `lockbox completions <shell>` prints a completion script that knows the subcommands.
#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("lockbox") && script.contains("requests") && script.contains("policy"), "{shell}");
    }
}

/// `--status` repeats (or takes commas): requests in any of the statuses, and only those.
#[tokio::test(flavor = "multi_thread")]
async fn list_takes_several_statuses() {
    let emulator = emulator().await;
    let approved = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let denied = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let pending = pending_request(&emulator, SUB, NewLockboxRequest::default());
    assert!(
        at(&emulator, &[SUB], &["requests", "approve", &approved, "--reason", "ok", "--yes"]).await.status.success()
    );
    assert!(at(&emulator, &[SUB], &["requests", "deny", &denied, "--reason", "no", "--yes"]).await.status.success());
    for args in [
        vec!["-o", "jsonl", "requests", "list", "--status", "approved", "--status", "denied"],
        vec!["-o", "jsonl", "requests", "list", "--status", "Approved,Denied"],
    ] {
        let out = at(&emulator, &[SUB], &args).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let ids: BTreeSet<String> =
            json_lines(&out.stdout).iter().map(|l| l["properties"]["requestId"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, BTreeSet::from([approved.clone(), denied.clone()]), "{args:?}");
        assert!(!ids.contains(&pending));
    }
}

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
async fn query_is_applied_to_the_json_of_any_listing_and_a_bad_one_sends_nothing() {
    let emulator = emulator().await;
    let id = pending_request(&emulator, SUB, NewLockboxRequest { access_level: "Write".into(), ..Default::default() });
    let query = "[?properties.accessLevel=='Write'].{id: name, level: properties.accessLevel}";
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query, "-o", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(found, serde_json::json!([{ "id": id, "level": "Write" }]));
    // TSV of a query: raw values, no header; a table: the keys as columns.
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query, "-o", "tsv"]).await;
    assert_eq!(text(&out.stdout), format!("{id}\tWrite\n"));
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", query]).await;
    assert_eq!(text(&out.stdout), format!("id{}  level\n{id}  Write\n", " ".repeat(id.len() - 2)));
    // Given before the command, on a show, a tenant status and the operations.
    let out = at(&emulator, &[SUB], &["--query", "properties.status", "requests", "show", &id]).await;
    assert_eq!(text(&out.stdout), "Pending\n");
    let tenant = emulator.default_tenant_id().to_owned();
    let out = at(&emulator, &[], &["tenant", "status", "--query", "optedIn", "-o", "json", &tenant]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(matches!(text(&out.stdout).as_str(), "true\n" | "false\n"), "{}", text(&out.stdout));
    let out = at(&emulator, &[], &["operations", "list", "--query", "length(@)", "-o", "tsv"]).await;
    assert!(text(&out.stdout).trim().parse::<u32>().unwrap() > 0);

    // A query that is not JMESPath: a usage error, before anything is sent.
    let received = emulator.requests_received();
    let out = at(&emulator, &[SUB], &["requests", "list", "--query", "[?bad"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "lockbox: error: --query \"[?bad\" is not a JMESPath expression: Parse error: Expected ']' -- found Eof (at \
         column 5)\n"
    );
    let out = at(&emulator, &[SUB], &["requests", "approve", &id, "--reason", "r", "--yes", "--query", "[?"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(emulator.requests_received(), received, "nothing was sent");
    assert!(emulator.decisions().is_empty());
    // --query does not apply to a stream.
    let out = at(&emulator, &[SUB], &["requests", "watch", "--query", "name"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = at(&emulator, &[SUB], &["--query", "name", "requests", "watch"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--query does not apply to `lockbox requests watch`"), "{}", text(&out.stderr));
}

#[test]
fn yaml_none_and_wide_outputs() {
    let out = run(&["--emulator", "-o", "yaml", "requests", "show", PENDING]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(&format!("id: /subscriptions/{SUB}/providers/Microsoft.CustomerLockbox/requests/")));
    assert!(
        stdout.contains("\nproperties:\n  accessLevel: Read\n") && stdout.contains(&format!("\nsubscription: {SUB}\n"))
    );
    let out = run(&["--emulator", "-o", "yaml", "requests", "list", "--status", "pending"]);
    assert_eq!(text(&out.stdout).matches("\n- id: ").count() + usize::from(text(&out.stdout).starts_with("- id: ")), 3);

    let out = run(&["--emulator", "-o", "none", "requests", "list"]);
    assert!(out.status.success() && out.stdout.is_empty());

    let out = run(&["--emulator", "-o", "wide", "requests", "list"]);
    let stdout = text(&out.stdout);
    let header: Vec<&str> =
        stdout.lines().next().unwrap().split("  ").filter(|c| !c.is_empty()).map(str::trim).collect();
    assert_eq!(
        header,
        [
            "ID",
            "SUBSCRIPTION",
            "STATUS",
            "TIME LEFT",
            "EXPIRES",
            "CREATED",
            "ACCESS",
            "DURATION",
            "RESOURCE TYPE",
            "RESOURCES",
            "SUPPORT CASE",
            "JUSTIFICATION"
        ]
    );
    let row = stdout.lines().find(|l| l.starts_with(PENDING)).unwrap();
    assert!(row.contains(&format!("/subscriptions/{SUB}/resourceGroups/contoso-rg/providers/")), "full ids: {row}");
    assert!(row.contains(" 8 h ") && row.contains("Z  "), "{row}");
}

#[test]
fn each_command_shows_only_its_options_and_its_exit_codes() {
    let help = |args: &[&str]| text(&run(args).stdout);
    let enable = help(&["tenant", "enable", "--help"]);
    assert!(!enable.contains("--subscription") && !enable.contains("--interval"), "{enable}");
    assert!(enable.contains("--emulator") && enable.contains("--yes") && enable.contains("--query"));
    assert!(enable.ends_with(
        "Exit status:\n  0  success\n  2  usage error: bad arguments, input or policy file; no terminal to confirm on \
         and no --yes; cancelled\n  3  not found: the service answered 404, a subscription given is not among those \
         the credential can see,\n     or a bare id is in no subscription the credential can read\n  4  refused by \
         the service (forbidden, throttled, server error, ...)\n  5  could \
         not reach the service or authenticate (run `az login`, or use --managed-identity)\n"
    ));
    let approve = help(&["requests", "approve", "--help"]);
    assert!(
        approve.contains("--subscription")
            && approve.contains("  6  already decided")
            && approve.contains("  7  outcome")
    );
    let test = help(&["policy", "test", "--help"]);
    assert!(!test.contains("--emulator") && !test.contains("--output") && !test.contains("--subscription"), "{test}");
    assert!(test.contains("  1  a case did not get the action it expects"), "{test}");
    let run_help = help(&["policy", "run", "--help"]);
    assert!(run_help.contains("  8  policy run: the audit trail") && !run_help.contains("--query"), "{run_help}");
    let watch = help(&["requests", "watch", "--help"]);
    assert!(watch.contains("--subscription") && !watch.contains("--query") && !watch.contains("  6  "));
    // Before the command, an option that does not apply to it is refused, not ignored.
    let out = run(&["--subscription", SUB, "tenant", "enable", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "lockbox: error: --subscription does not apply to `lockbox tenant enable` (see `lockbox tenant enable --help`)\n"
    );
    let out = run(&["tenant", "enable", "--subscription", SUB]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unexpected argument '--subscription'"));
    let out = run(&["--emulator", "policy", "test", "--file", "x", "--cases", "y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--emulator does not apply to `lockbox policy test`"));
    // Before or after the command, the same.
    let before = run(&["--emulator", "-o", "json", "requests", "show", PENDING]);
    let after = run(&["requests", "show", PENDING, "--emulator", "-o", "json"]);
    assert!(after.status.success());
    let name = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["name"].clone();
    assert_eq!(name(&before), name(&after));
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_run_shows_its_decisions_in_the_output_format_beside_the_audit_file() {
    let emulator = emulator().await;
    let dir = tempdir("policy-output");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"writes\"\naction = \"deny\"\nreason = \"no writes\"\naccess_levels = [\"Write\"]\n",
    )
    .unwrap();
    let policy = policy.display().to_string();
    let write =
        pending_request(&emulator, SUB, NewLockboxRequest { access_level: "Write".into(), ..Default::default() });
    let read = pending_request(&emulator, SUB, NewLockboxRequest::default());
    let audit = dir.join("audit.jsonl").display().to_string();

    // A dry run in a table: no audit needed (nothing is decided), the summary on stderr.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "-o", "table"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("REQUEST") && lines[0].ends_with("OUTCOME"), "{stdout}");
    assert!(
        lines.iter().any(|l| l.starts_with(&write) && l.contains("writes") && l.ends_with("not decided (dry run)"))
    );
    assert!(lines.iter().any(|l| l.starts_with(&read) && l.contains("default") && l.ends_with("left for a human")));
    assert!(text(&out.stderr).contains("lockbox: policy run: 0 decided, 2 left"), "{}", text(&out.stderr));

    // A real run with no audit file and a format other than JSON lines: refused, nothing decided.
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "-o", "tsv"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("without --audit FILE, stdout is the audit trail, in JSON lines"));
    assert!(emulator.decisions().is_empty());

    // A real run: the audit to the file, each decision on stdout in TSV (no header, raw values).
    let out =
        at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--audit", &audit, "-o", "tsv"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    let denied = rows.iter().find(|r| r[1] == write).unwrap();
    assert_eq!(&denied[1..8], [write.as_str(), SUB, "writes", "deny", "denied", "false", "no writes"]);
    assert_eq!(outcomes(json_lines(&std::fs::read(&audit).unwrap())).len(), 2);
    assert_eq!(emulator.decisions().len(), 1);
    assert!(text(&out.stderr).contains("lockbox: policy run: 1 decided, 1 left"), "{}", text(&out.stderr));

    // JSON lines beside the file; YAML documents.
    let out =
        at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--audit", &audit, "-o", "jsonl"]).await;
    assert_eq!(json_lines(&out.stdout).len(), 1, "the read is left, and said again");
    let out = at(&emulator, &[SUB], &["policy", "run", "--file", &policy, "--once", "--dry-run", "-o", "yaml"]).await;
    assert!(text(&out.stdout).starts_with("---\nattempts: 0\n"), "{}", text(&out.stdout));
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

#[tokio::test(flavor = "multi_thread")]
async fn tenant_status_on_a_standalone_emulator_needs_no_tenant_id() {
    let emulator = emulator().await;
    let tenant = emulator.default_tenant_id().to_owned();
    emulator.set_tenant_opted_in(&tenant, true);
    let out = at(&emulator, &[], &["tenant", "status"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{tenant}: Customer Lockbox is on\n"));
}

#[test]
fn an_unreachable_emulator_says_connection_refused_and_asks_if_it_is_running() {
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}/");
    let out = run(&["--emulator", "--endpoint", &endpoint, "--subscription", SUB, "requests", "list"]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("connection refused"), "{stderr}");
    assert!(
        stderr.ends_with(&format!(
            "lockbox: connection refused at {endpoint}: is the emulator running? (start it with `cargo run -p \
             azure_customer_lockbox_emulator -- --port {port}`)\n"
        )),
        "{stderr}"
    );
}

#[test]
fn with_subscriptions_given_and_no_credential_it_does_not_claim_to_list_subscriptions() {
    let empty = tempdir("no-tools-given");
    let out = output(lockbox().env("PATH", &empty).args(["--subscription", SUB, "requests", "list"]));
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with(&format!("lockbox: cannot list the requests of subscription {SUB}: ")), "{stderr}");
    assert!(!stderr.contains("cannot list the subscriptions"), "{stderr}");
    std::fs::remove_dir_all(empty).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_says_a_lasting_refusal_once_and_a_missing_hook_once() {
    let emulator = emulator().await;
    emulator.inject(Fault::status(403).on(Operation::RequestsList));
    let watch = Running::start(&emulator, &["requests", "watch", "--interval", "100ms"]);
    watch.wait_for_stderr(&format!("lockbox: listing subscription {SUB} failed")).await;
    // Several rounds of the backoff go by (counted, not timed: a loaded machine takes longer); the same 403 is
    // not said again.
    let listings = || emulator.received().iter().filter(|r| r.path.ends_with("/requests")).count();
    while listings() < 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches("failed, still watching").count(), 1, "{stderr}");

    let emulator = self::emulator().await;
    emulator.create_request(SUB, Default::default());
    let mut watch =
        Running::start(&emulator, &["requests", "watch", "--interval", "100ms", "--exec", "./no-such-hook.sh"]);
    watch.next_line().await;
    emulator.create_request(SUB, Default::default());
    watch.next_line().await;
    emulator.create_request(SUB, Default::default());
    watch.next_line().await;
    let stderr = watch.interrupt();
    assert_eq!(stderr.matches("the --exec command cannot be run").count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "lockbox: the --exec command cannot be run (exit status: 127: not found or not executable): \
             ./no-such-hook.sh; the watch goes on without it"
        ),
        "{stderr}"
    );
}
