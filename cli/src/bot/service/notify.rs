//! A request left for a person reaches a person: for each, a hook (`--notify-command CMD` or `--notify-url URL`)
//! gets a JSON body, retried with backoff, with an idempotency key that is the same from every replica and
//! after every restart, so that a receiver can drop the repeats.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use serde::Serialize;
use tokio::{io::AsyncWriteExt, task::JoinSet};

use super::metrics::Metrics;

/// Where a request left for a person is announced.
#[derive(Debug, Clone)]
pub enum Hook {
    /// A shell command, with the JSON body on its standard input and the key in `LOCKBOX_IDEMPOTENCY_KEY`;
    /// delivered when it exits 0. Its standard output goes to the bot's standard error (stdout may be the
    /// audit trail).
    Command(String),
    /// A URL that gets the JSON body by POST, with the key in an `Idempotency-Key` header; delivered on a 2xx
    /// answer. Its path may hold a token (chat webhooks do): only its host is ever said.
    Webhook(url::Url),
}

impl Hook {
    /// What may be said about the hook at start.
    pub fn describe(&self) -> String {
        match self {
            Self::Command(_) => "a command (--notify-command)".into(),
            Self::Webhook(url) => format!("a webhook on {}", url.host_str().unwrap_or("?")),
        }
    }
}

/// A request left for a person, as the hook's body says it.
#[derive(Debug, Clone, Serialize)]
pub struct Left {
    pub subscription: String,
    pub request: String,
    /// The rule that left it, and why.
    pub rule: String,
    pub reason: String,
}

/// The body sent for a request left.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    /// Always `"left-for-person"`.
    event: &'static str,
    idempotency_key: &'a str,
    /// When this bot left it (RFC 3339).
    time: String,
    #[serde(flatten)]
    left: &'a Left,
}

/// The key a receiver drops repeats by: the subscription and the request id (the service's ids, the same from
/// every replica and after a restart), in lower case.
pub fn idempotency_key(subscription: &str, request: &str) -> String {
    format!("lockbox-left-for-person:{}:{}", subscription.to_ascii_lowercase(), request.to_ascii_lowercase())
}

/// How often and how long a notification is tried: 6 retries after the first try, from 0.5 s doubling to at
/// most 30 s, with jitter (about 30 s in all).
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(30))
        .with_max_times(6)
        .with_jitter()
}

/// The longest one try may take.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(30);

/// Sends the notifications, each in a task of its own, so that a slow receiver does not hold up the pass.
pub struct Notifier {
    hook: Hook,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    tasks: Mutex<JoinSet<()>>,
}

/// Why one try failed, and whether another may succeed.
#[derive(Debug)]
enum Failed {
    Again(String),
    Never(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Again(why) | Self::Never(why) => f.write_str(why),
        }
    }
}

impl Notifier {
    pub fn new(hook: Hook, metrics: Arc<Metrics>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_LIMIT)
            .build()
            .map_err(|e| format!("cannot make the webhook's HTTP client: {e}"))?;
        Ok(Self { hook, client, metrics, tasks: Mutex::new(JoinSet::new()) })
    }

    /// What may be said about the hook.
    pub fn describe(&self) -> String {
        self.hook.describe()
    }

    /// Starts notifying of `left`; it goes on while the pass does.
    pub fn notify(&self, left: Left) {
        let (hook, client, metrics) = (self.hook.clone(), self.client.clone(), self.metrics.clone());
        let mut tasks = self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Finished tasks are dropped as new ones come, so the set holds only those in flight.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            let key = idempotency_key(&left.subscription, &left.request);
            let body = Body {
                event: "left-for-person",
                idempotency_key: &key,
                time: chrono::Utc::now().to_rfc3339(),
                left: &left,
            };
            let body = serde_json::to_string(&body).unwrap_or_default();
            let shown = crate::output::Shown(&left.request).to_string();
            let sent = (|| deliver(&hook, &client, &body, &key))
                .retry(backoff())
                .sleep(tokio::time::sleep)
                .when(|failed| matches!(failed, Failed::Again(_)))
                .notify(|failed, after| {
                    say!(
                        "lockbox: notifying of request {shown} failed ({failed}); trying again in {} ms",
                        after.as_millis()
                    );
                })
                .await;
            metrics.notified(sent.is_ok());
            if let Err(failed) = sent {
                say!("lockbox: cannot notify of request {shown}, giving up: {failed}");
            }
        });
    }

    /// Waits for the notifications in flight, at most `bound`; those cut off are said, and are sent again (same
    /// key) by the next start, which finds their requests still pending.
    pub async fn finish(&self, bound: Duration) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(bound, all).await.is_err() {
            say!(
                "lockbox: {} notification(s) not delivered before stopping; the next start sends them again",
                tasks.len()
            );
            tasks.abort_all();
        }
    }
}

/// One try.
async fn deliver(hook: &Hook, client: &reqwest::Client, body: &str, key: &str) -> Result<(), Failed> {
    match hook {
        Hook::Webhook(url) => {
            let sent = client
                .post(url.clone())
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(body.to_owned())
                .send()
                .await
                // The URL may hold a token: the error must not say it.
                .map_err(|e| Failed::Again(e.without_url().to_string()))?;
            let status = sent.status();
            match status.as_u16() {
                200..=299 => Ok(()),
                408 | 429 | 500..=599 => Err(Failed::Again(format!("the webhook answered {status}"))),
                _ => Err(Failed::Never(format!("the webhook answered {status}"))),
            }
        }
        Hook::Command(command) => {
            let mut shell =
                if cfg!(windows) { tokio::process::Command::new("cmd") } else { tokio::process::Command::new("sh") };
            shell.arg(if cfg!(windows) { "/C" } else { "-c" }).arg(command);
            shell.env("LOCKBOX_IDEMPOTENCY_KEY", key).stdin(Stdio::piped()).kill_on_drop(true);
            shell.stdout(to_stderr());
            let mut child = shell.spawn().map_err(|e| Failed::Never(format!("cannot run the command: {e}")))?;
            if let Some(mut stdin) = child.stdin.take() {
                // A command that does not read its input is not a failure.
                let _ = stdin.write_all(body.as_bytes()).await;
            }
            let status = tokio::time::timeout(ATTEMPT_LIMIT, child.wait())
                .await
                .map_err(|_| Failed::Again(format!("the command ran longer than {} s", ATTEMPT_LIMIT.as_secs())))?
                .map_err(|e| Failed::Again(format!("cannot wait for the command: {e}")))?;
            if status.success() { Ok(()) } else { Err(Failed::Again(format!("the command {status}"))) }
        }
    }
}

/// The bot's standard error, for a hook's standard output (stdout may be the audit trail).
#[cfg(unix)]
fn to_stderr() -> Stdio {
    use std::os::fd::AsFd;
    std::io::stderr().as_fd().try_clone_to_owned().map_or_else(|_| Stdio::null(), Stdio::from)
}

#[cfg(not(unix))]
fn to_stderr() -> Stdio {
    Stdio::null()
}
