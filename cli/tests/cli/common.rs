//! What every test of the `lockbox` tool shares: the sample ids, starting an emulator in this process, running
//! the binary (to its end, under a terminal, or in the background as [`Running`]) and reading what it printed.
//!
//! Every process a test starts is waited for at most [`RUN_LIMIT`] (a running one is killed when its test
//! ends, however it ends): a hung command fails its test with what it printed, it does not hang the binary.

use std::{
    io::{BufRead, BufReader, Read, Write},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Output, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest, TenantSeed};

pub const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

pub const SUB2: &str = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";

pub const PENDING: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000004";

pub const APPROVED: &str = "5a3b0000-0c1d-4e2f-8a9b-000000000003";

/// An emulator in this process, for commands run with `--emulator --endpoint <its url>`.
pub async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

pub fn lockbox() -> Command {
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
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// A pipe read to its end in a thread. What was read so far stays readable, even if the pipe never closes (a
/// grandchild may hold it open).
pub struct Drain {
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
pub fn wait_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
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
pub fn finish(mut child: Child, what: &str) -> Output {
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
pub fn output(command: &mut Command) -> Output {
    let what = format!("{command:?}");
    finish(command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap(), &what)
}

pub fn run(args: &[&str]) -> Output {
    output(lockbox().args(args))
}

/// The arguments that point the CLI at the emulator `emulator` in this process, narrowed to `subscriptions`
/// (none: tenant-wide).
pub fn emulator_args(emulator: &Emulator, subscriptions: &[&str]) -> Vec<String> {
    let mut all = vec!["--emulator".to_owned(), "--endpoint".to_owned(), emulator.url().to_string()];
    for sub in subscriptions {
        all.extend(["--subscription".to_owned(), (*sub).to_owned()]);
    }
    all
}

/// Runs against the emulator `emulator` in this process, off the async runtime.
pub async fn at(emulator: &Emulator, subscriptions: &[&str], args: &[&str]) -> Output {
    let mut all = emulator_args(emulator, subscriptions);
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || output(lockbox().args(&all))).await.unwrap()
}

/// Runs under a terminal (`script`), typing `input`; stdout and stderr both arrive on stdout. Within
/// [`RUN_LIMIT`]: past it, `script` is killed, which hangs up the terminal and so ends the command it runs
/// (SIGHUP), and the test fails with what was printed.
pub fn on_terminal(args: &[&str], input: &str, env: &[(&str, &str)]) -> Output {
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

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    text(bytes).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// A bot's audit lines without its intent lines (`"outcome": "sending"`, written before each decision is sent),
/// after checking that each outcome of a decision sent follows its intent.
pub fn outcomes(lines: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
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

pub fn pending_request(emulator: &Emulator, subscription: &str, new: NewLockboxRequest) -> String {
    emulator.create_request(subscription, new)
}

/// A fresh directory under the target dir, for files the CLI writes.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockbox-cli-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running `lockbox` whose stdout lines arrive on a channel; stopped with Ctrl-C (SIGINT). Killed if its
/// test ends (or fails) first.
pub struct Running {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    stderr: Option<Drain>,
}

impl Running {
    /// Runs against `emulator`, narrowed to subscription `SUB`.
    pub fn start(emulator: &Emulator, args: &[&str]) -> Self {
        Self::start_in(emulator, &[SUB], args)
    }

    /// Runs against `emulator`, narrowed to `subscriptions` (none: tenant-wide).
    pub fn start_in(emulator: &Emulator, subscriptions: &[&str], args: &[&str]) -> Self {
        let mut command = lockbox();
        command.args(emulator_args(emulator, subscriptions)).args(args);
        Self::spawn(command)
    }

    /// Runs `command` (a [`lockbox`] with its arguments).
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
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

    pub async fn next_line(&mut self) -> String {
        let line = tokio::task::block_in_place(|| self.lines.recv_timeout(RUN_LIMIT));
        line.unwrap_or_else(|_| {
            panic!("no line in time; stderr so far:\n{}", self.stderr.as_ref().map(Drain::so_far).unwrap_or_default())
        })
    }

    /// Waits (at most 20 s, as [`next_line`](Self::next_line)) until stderr so far contains `text`.
    pub async fn wait_for_stderr(&self, text: &str) {
        let stderr = self.stderr.as_ref().unwrap();
        let deadline = Instant::now() + RUN_LIMIT;
        while !stderr.so_far().contains(text) {
            assert!(Instant::now() < deadline, "{text:?} not on stderr in time; stderr so far:\n{}", stderr.so_far());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ctrl-C: the command ends cleanly, within [`RUN_LIMIT`]; gives its stderr.
    pub fn interrupt(mut self) -> String {
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

/// The path prefix of a subscription's Lockbox requests.
pub fn requests_path(subscription: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.CustomerLockbox/requests")
}

/// Seeds three subscriptions with `requests` pending requests each; the credential cannot read the first.
pub fn three_subscriptions_first_forbidden(emulator: &Emulator, requests: usize) -> Vec<String> {
    emulator.seed_tenant(&TenantSeed {
        subscriptions: 3,
        requests_per_subscription: requests,
        forbidden: 1,
        ..TenantSeed::default()
    })
}
