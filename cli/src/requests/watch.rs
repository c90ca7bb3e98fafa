//! `lockbox requests watch`: each new or changed request of every subscription in scope as it happens, until
//! Ctrl-C; what it prints for each event, and the `--exec` hook it runs for each.
//!
//! The requests a subscription's first listing finds are `existing`, not `new`: an old decided request is
//! not news, and the hook runs only for the existing ones still `Pending` (someone has to act on those).
//! With `--only-changes` they are not shown, and a line on stderr says when each subscription's first
//! listing is done.

use std::{
    collections::{HashMap, HashSet},
    io::IsTerminal,
    process::Stdio,
    time::Duration,
};

use azure_customer_lockbox::{
    RequestFilter, WatchEvent,
    models::LockboxRequestStatus,
    options::{DEFAULT_SUBSCRIPTIONS_REFRESH, WatchOptions},
};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};

use super::rows::resource_short_name;
use crate::{
    backend::{Backend, Watched},
    failure::{Failure, one_line},
    output::{self, Format, Row},
    session::Session,
};

/// The options of `requests watch`.
pub struct Options {
    pub interval: Duration,
    pub status: Option<LockboxRequestStatus>,
    pub only_changes: bool,
    pub exec: Option<String>,
}

/// Watches until Ctrl-C, or until the reader of stdout goes away: exit status 0.
pub async fn run(session: &Session, backend: &Backend, options: Options) -> Result<u8, Failure> {
    let Options { interval, status, only_changes, exec } = options;
    let format =
        session.output.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Jsonl });
    let options = WatchOptions {
        interval,
        filter: status.map(RequestFilter::status),
        emit_existing: !only_changes,
        ..Default::default()
    };
    // Ctrl-C is the watch's own before anything is listed: see [`interrupted`].
    let stop = interrupted();
    tokio::pin!(stop);
    let mut events = backend.watch(options)?;
    // What was last said of each subscription's failing listing: the same failure, round after round of
    // the backoff (a 403 or 409 that lasts), is said once, until it changes or the listing recovers.
    let mut failing: HashMap<String, String> = HashMap::new();
    let mut hook = exec;
    let mut first_listings = FirstListings::default();
    loop {
        let watched = tokio::select! {
            _ = &mut stop => break,
            watched = events.next() => match watched {
                Some(watched) => watched,
                None => break,
            },
        };
        let (subscription, event) = match watched {
            Watched::Failed { subscription, error } => {
                let kind = format!("{:?} {:?} {:?}", error.status(), error.code(), error.transport_kind());
                if failing.get(&subscription) != Some(&kind) {
                    say!(
                        "lockbox: listing subscription {subscription} failed, still watching (said again only \
                         if it changes): {}",
                        one_line(&error)
                    );
                    failing.insert(subscription, kind);
                }
                continue;
            }
            Watched::Event { subscription, event } => {
                failing.remove(&subscription);
                (subscription, event)
            }
            Watched::Removed(subscription) => {
                say!("lockbox: subscription {subscription} is no longer active; stopped watching it");
                continue;
            }
            Watched::NoSubscriptions => {
                say!(
                    "lockbox: this credential sees no active subscription; still watching for one to appear \
                     (the subscriptions are read again every {} s)",
                    DEFAULT_SUBSCRIPTIONS_REFRESH.as_secs()
                );
                continue;
            }
            // Nothing to watch yet: the watch cannot start (no login, no right to list subscriptions, ...).
            Watched::SubscriptionsFailed { error, watching: false } => return Err(error.into()),
            Watched::SubscriptionsFailed { error, watching: true } => {
                say!(
                    "lockbox: cannot list the subscriptions, still watching those already known: {}",
                    one_line(&error)
                );
                continue;
            }
        };
        let existing = match first_listings.note(&subscription, &event, only_changes) {
            Ok(existing) => existing,
            Err(line) => {
                line.into_iter().for_each(|line| say!("{line}"));
                continue;
            }
        };
        let row = EventRow { time: Utc::now(), subscription, event, existing };
        let printed = output::streamed(format, &row, || row.text());
        // The reader is gone (`lockbox requests watch | head -1`): nobody is watching any more.
        if printed.is_err() {
            return Ok(0);
        }
        if let Some(command) = &hook
            && row.wants_hook()
            && !run_hook(command, &row).await
        {
            hook = None;
        }
    }
    Ok(0)
}

/// Resolves at the first Ctrl-C (SIGINT) after this call: its handler is installed now, not when the future is
/// first polled as `tokio::signal::ctrl_c()`'s is. With that one, a Ctrl-C that came after the first events were
/// printed but before the loop first polled it ended the tool by the default action instead of cleanly; and
/// where the parent ignores SIGINT (a shell's background job), it was lost and the watch never ended (a test
/// run waited 120 s for it). If no handler can be installed, this says so and never resolves.
fn interrupted() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let installed = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    #[cfg(windows)]
    let installed = tokio::signal::windows::ctrl_c();
    async move {
        match installed {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                say!("lockbox: cannot listen for Ctrl-C ({error}); the watch ends only when killed");
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Runs the `--exec` command with the event as JSON on its stdin; a failure is reported, not fatal. False when
/// the command cannot be run at all (no shell, or the shell finds no such command: exit status 126 or 127): that
/// is said once, and the watch goes on without it rather than failing the same way for every event.
async fn run_hook(command: &str, row: &EventRow) -> bool {
    let id = row.event.request_id().unwrap_or("-").to_owned();
    let mut shell =
        if cfg!(windows) { tokio::process::Command::new("cmd") } else { tokio::process::Command::new("sh") };
    shell.arg(if cfg!(windows) { "/C" } else { "-c" }).arg(command).stdin(Stdio::piped());
    let result = async {
        let mut child = shell.spawn()?;
        let mut stdin = child.stdin.take().expect("piped");
        let input = format!("{}\n", row.json());
        // A command that does not read its input must not fail the write for the ones that do.
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stdin, input.as_bytes()).await;
        drop(stdin);
        child.wait().await
    }
    .await;
    let missing = |why: String| {
        say!(
            "lockbox: the --exec command cannot be run ({why}): {}; the watch goes on without it",
            output::Shown(command)
        );
        false
    };
    match result {
        Ok(status) if status.success() => true,
        Ok(status) if !cfg!(windows) && matches!(status.code(), Some(126 | 127)) => {
            missing(format!("{status}: not found or not executable"))
        }
        Ok(status) => {
            say!("lockbox: --exec command failed for request {} ({status}); still watching", output::Shown(&id));
            true
        }
        Err(error) => missing(error.to_string()),
    }
}

/// The subscriptions whose first listing is done: a request reported before that is `existing`.
#[derive(Default)]
struct FirstListings {
    done: HashSet<String>,
}

impl FirstListings {
    /// Takes note of `event` of `subscription`. For the end of a first listing, the line to say on stderr
    /// (with `only_changes`, `None` without), and `Err` so that the caller shows nothing else of it; else
    /// whether the event is about a request that was there when the watch started.
    fn note(&mut self, subscription: &str, event: &WatchEvent, only_changes: bool) -> Result<bool, Option<String>> {
        match event {
            WatchEvent::InitDone { requests } => {
                self.done.insert(subscription.to_owned());
                Err(only_changes.then(|| {
                    format!(
                        "lockbox: subscription {subscription}: first listing done, {requests} request(s) there now; \
                         reporting changes from here"
                    )
                }))
            }
            WatchEvent::New(_) => Ok(!self.done.contains(subscription)),
            _ => Ok(false),
        }
    }
}

/// One watch event: a line for people, an object for scripts.
struct EventRow {
    time: chrono::DateTime<Utc>,
    subscription: String,
    event: WatchEvent,
    /// A request found by the subscription's first listing (`existing`, not `new`).
    existing: bool,
}

impl EventRow {
    /// Whether the `--exec` hook runs for this event: not for an existing request already decided.
    fn wants_hook(&self) -> bool {
        match &self.event {
            WatchEvent::New(request) if self.existing => request.status() == Some(&LockboxRequestStatus::Pending),
            _ => true,
        }
    }

    fn parts(&self) -> (&'static str, Option<&azure_customer_lockbox::models::LockboxRequestResponse>, Option<String>) {
        match &self.event {
            WatchEvent::New(request) if self.existing => ("existing", Some(request), None),
            WatchEvent::New(request) => ("new", Some(request), None),
            WatchEvent::StatusChanged { request, old, .. } => ("changed", Some(request), Some(old.to_string())),
            WatchEvent::Removed { .. } => ("removed", None, None),
            _ => ("other", None, None),
        }
    }

    fn text(&self) -> String {
        let now = self.time.format("%H:%M:%S");
        let id = self.event.request_id().unwrap_or("-");
        let sub = &self.subscription;
        match &self.event {
            WatchEvent::New(request) => {
                let p = request.properties.clone().unwrap_or_default();
                let mut why = output::terminal_safe(&p.justification.unwrap_or_default());
                if why.chars().count() > 60 {
                    why = why.chars().take(59).collect::<String>() + "…";
                }
                let kind = if self.existing { "existing" } else { "new     " };
                format!(
                    "{now} {sub} {kind} {} {} {} [{}] {why}",
                    output::Shown(id),
                    output::Shown(&request.status().map_or("-".into(), ToString::to_string)),
                    output::Shown(&p.resource_type.unwrap_or_default()),
                    output::Shown(&p.support_request.unwrap_or_default())
                )
            }
            WatchEvent::StatusChanged { old, new, .. } => format!(
                "{now} {sub} changed  {} {} -> {}",
                output::Shown(id),
                output::Shown(&old.to_string()),
                output::Shown(&new.to_string())
            ),
            WatchEvent::Removed { .. } => format!("{now} {sub} removed  {}", output::Shown(id)),
            other => format!("{now} {sub} {}", output::Shown(&format!("{other:?}"))),
        }
    }
}

impl Row for EventRow {
    const COLUMNS: &'static [&'static str] =
        &["TIME", "EVENT", "SUBSCRIPTION", "ID", "STATUS", "PREVIOUS STATUS", "RESOURCE", "SUPPORT TICKET"];

    fn cells(&self) -> Vec<String> {
        let (kind, request, old) = self.parts();
        let p = request.and_then(|r| r.properties.clone()).unwrap_or_default();
        vec![
            self.time.to_rfc3339(),
            kind.to_owned(),
            self.subscription.clone(),
            self.event.request_id().unwrap_or("-").to_owned(),
            p.status.map_or("-".into(), |s| s.to_string()),
            old.unwrap_or_else(|| "-".into()),
            request.map_or("-".into(), resource_short_name),
            p.support_request.unwrap_or_else(|| "-".into()),
        ]
    }

    fn json(&self) -> Value {
        let (kind, request, old) = self.parts();
        json!({
            "event": kind,
            "time": self.time.to_rfc3339(),
            "subscription": self.subscription,
            "requestId": self.event.request_id(),
            "status": request.and_then(|r| r.status()).map(ToString::to_string),
            "previousStatus": old,
            "request": request,
        })
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    /// The handler is installed when `interrupted()` is called, before its future is first polled: a SIGINT sent
    /// in between resolves it. (With `tokio::signal::ctrl_c()` that SIGINT ended the test process.)
    #[tokio::test]
    async fn a_ctrl_c_before_the_first_poll_is_taken() {
        let stop = super::interrupted();
        let pid = std::process::id().to_string();
        assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
        tokio::time::timeout(Duration::from_secs(60), stop).await.expect("the SIGINT sent before the first poll");
    }
}
