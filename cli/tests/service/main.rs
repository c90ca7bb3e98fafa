//! `lockbox policy run` as a service, run as a platform team would, against an emulator in this process:
//! its endpoints (`--listen`), its traces (to an OTLP collector in this process), its notifications of requests
//! left for a person (to a receiver on the loopback), and which credential it says it uses.
//!
//! Every process a test starts is killed when its test ends, however it ends, and waited for at most
//! [`RUN_LIMIT`]. Waits are for an event (a line on stderr, an answer), with a generous limit that only a
//! hung process reaches: no outcome depends on how fast anything runs.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use azure_customer_lockbox_emulator::{Emulator, EmulatorConfig, NewLockboxRequest};

mod collector;
mod credential;
mod deploy;
mod endpoints;
mod notify;
mod traces;

pub const SUB: &str = "6a1d3f1e-93b4-4c53-9a37-2f0c5d8e7b21";

/// The longest a run may take before its test kills it and fails.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The policy of these tests: storage reads are approved, memory dumps denied, key vaults left for a person.
pub const POLICY: &str = r#"
default = "leave"

[[rule]]
name = "storage reads"
action = "approve"
resource_types = ["Storage Account"]

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

pub async fn emulator() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

/// A fresh directory with the policy file in it.
pub fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lockbox-service-{name}-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    dir
}

/// A pending request of `kind` ("Storage Account", "Key Vault", ...) in [`SUB`].
pub fn pending(emulator: &Emulator, kind: &str, why: &str) -> String {
    emulator.create_request(
        SUB,
        NewLockboxRequest {
            resource_type: kind.into(),
            resource_ids: vec![format!("/subscriptions/{SUB}/resourceGroups/rg/providers/X/y/z")],
            duration_hours: 8,
            justification: why.into(),
            ..NewLockboxRequest::default()
        },
    )
}

/// `lockbox` pointed at `emulator`, narrowed to [`SUB`], with `policy run --file DIR/policy.toml` and `args`.
pub fn bot(emulator: &Emulator, dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lockbox"));
    for name in ["AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID", "LOCKBOX_OUTPUT", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
        command.env_remove(name);
    }
    command
        .args(["--emulator", "--endpoint", emulator.url().as_str(), "--subscription", SUB])
        .args(["policy", "run", "--file"])
        .arg(dir.join("policy.toml"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A pipe read to its end in a thread; what was read so far stays readable.
pub struct Drain {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Drain {
    pub fn start(pipe: Option<impl Read + Send + 'static>) -> Self {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let sink = bytes.clone();
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    sink.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            }
            let _ = tx.send(());
        });
        Self { bytes, done }
    }

    pub fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Everything, once the pipe has closed (at most [`RUN_LIMIT`]: a grandchild may hold it open).
    fn all(&self) -> String {
        let _ = self.done.recv_timeout(RUN_LIMIT);
        self.so_far()
    }
}

/// A running bot, killed when dropped.
pub struct Running {
    child: Child,
    pub stderr: Drain,
    pub stdout: Drain,
}

impl Running {
    pub fn start(mut command: Command) -> Self {
        let mut child = command.spawn().unwrap();
        let stderr = Drain::start(child.stderr.take());
        let stdout = Drain::start(child.stdout.take());
        Self { child, stderr, stdout }
    }

    /// Waits until stderr holds a line containing `text`; gives that line.
    pub async fn line_with(&self, text: &str) -> String {
        let limit = Instant::now() + RUN_LIMIT;
        loop {
            if let Some(line) = self.stderr.so_far().lines().find(|l| l.contains(text)) {
                return line.to_owned();
            }
            assert!(Instant::now() < limit, "{text:?} never on stderr:\n{}", self.stderr.so_far());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The address the endpoints are served on, as the bot said it.
    pub async fn endpoints(&self) -> String {
        let line = self.line_with("serving /healthz, /readyz, /metrics on ").await;
        line.rsplit(' ').next().unwrap().to_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command` to its end, off the async runtime, within [`RUN_LIMIT`].
pub async fn finish(command: Command) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut running = Running::start(command);
        let limit = Instant::now() + RUN_LIMIT;
        let status = loop {
            if let Some(status) = running.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < limit, "did not end in time:\n{}", running.stderr.so_far());
            std::thread::sleep(Duration::from_millis(10));
        };
        Output { status, stdout: running.stdout.all().into_bytes(), stderr: running.stderr.all().into_bytes() }
    })
    .await
    .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
