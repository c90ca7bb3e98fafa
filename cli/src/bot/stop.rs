//! Stopping the bot on a signal: the first SIGTERM or SIGINT (Ctrl-C) asks it to stop, the decision in flight
//! is given [`GRACE`] to finish and write its outcome, and the bot exits 0; a second signal ends the process at
//! once (what it cut is settled at the next start).

use std::time::Duration;

use tokio::sync::watch;

/// How long the decision in flight may still take after the first signal. Past it, its outcome is written as
/// `outcome unknown` (settled at the next start) and the loop ends. With the audit line's write, the loop ends
/// within [`BOUND`] of the first signal (then [`AFTER_THE_LOOP`] at most, for notifications and traces).
pub const GRACE: Duration = Duration::from_secs(20);

/// Within how long of the first signal the loop ends, as `--help` and the README state it.
pub const BOUND: Duration = Duration::from_secs(25);

/// How long the bot may still take after its loop ends: the notifications in flight, then the last traces.
/// The whole stop takes at most [`BOUND`] plus this, the time a service manager must allow.
pub const AFTER_THE_LOOP: Duration = super::service::NOTIFY_STOP_BOUND.saturating_add(super::service::EXPORT_LIMIT);

/// The exit status after a second signal: 128 plus the signal's number, as a shell reports a process killed by it.
const SECOND_SIGINT: i32 = 130;
#[cfg(unix)]
const SECOND_SIGTERM: i32 = 143;

/// Whether the bot was asked to stop. Cloned freely; every clone sees the same request.
#[derive(Clone)]
pub struct Stop {
    asked: watch::Receiver<bool>,
}

impl Stop {
    /// Listens for SIGTERM and SIGINT from now on: the first asks the bot to stop, the second exits the
    /// process at once.
    ///
    /// The handlers are installed before this returns, not when the listening task first runs: from here on a
    /// signal is the bot's to handle, never the default action that ends the process at once. `policy run`
    /// calls this first, before it signs in or opens its audit trail.
    pub fn on_signals() -> Self {
        let (sender, asked) = watch::channel(false);
        tokio::spawn(listen(sender, installed()));
        Self { asked }
    }

    /// Whether a stop was asked.
    pub fn asked(&self) -> bool {
        *self.asked.borrow()
    }

    /// Resolves once a stop is asked (at once if it was already).
    pub async fn wait(&self) {
        let mut asked = self.asked.clone();
        // An error means the sender is gone: the listener ended without a signal, so never resolve.
        if asked.wait_for(|asked| *asked).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Resolves [`GRACE`] after a stop was asked: the end of the time the decision in flight is given.
    pub async fn grace_over(&self) {
        self.wait().await;
        tokio::time::sleep(GRACE).await;
    }
}

/// SIGTERM's and SIGINT's handlers, installed now.
#[cfg(unix)]
type Installed = std::io::Result<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>;

#[cfg(unix)]
fn installed() -> Installed {
    use tokio::signal::unix::{SignalKind, signal};
    Ok((signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?))
}

#[cfg(unix)]
async fn listen(sender: watch::Sender<bool>, installed: Installed) {
    let Ok((mut term, mut int)) = installed else {
        say!("lockbox: cannot listen for SIGTERM and SIGINT; the bot stops only when killed");
        return std::future::pending().await;
    };
    let mut first = true;
    loop {
        let code = tokio::select! {
            _ = term.recv() => SECOND_SIGTERM,
            _ = int.recv() => SECOND_SIGINT,
        };
        if !first {
            say!("lockbox: policy run: a second signal: stopping now (the next start settles what this cut)");
            std::process::exit(code);
        }
        first = false;
        say!(
            "lockbox: policy run: stopping: taking no new request; the decision in flight, if any, finishes \
             (at most {}s), then the loop ends (within {}s) and the bot exits once the notifications and traces in flight \
             are sent (at most {}s more); a second signal stops it at once",
            GRACE.as_secs(),
            BOUND.as_secs(),
            AFTER_THE_LOOP.as_secs()
        );
        let _ = sender.send(true);
    }
}

#[cfg(not(unix))]
type Installed = ();

#[cfg(not(unix))]
fn installed() -> Installed {}

#[cfg(not(unix))]
#[allow(
    clippy::disallowed_methods,
    reason = "off unix only Ctrl-C is listened for, from the bot's first step; not built on the platforms CI lints"
)]
async fn listen(sender: watch::Sender<bool>, _installed: Installed) {
    let mut first = true;
    loop {
        if tokio::signal::ctrl_c().await.is_err() {
            return std::future::pending().await;
        }
        if !first {
            say!("lockbox: policy run: a second Ctrl-C: stopping now (the next start settles what this cut)");
            std::process::exit(SECOND_SIGINT);
        }
        first = false;
        say!(
            "lockbox: policy run: stopping: taking no new request; the decision in flight, if any, finishes \
             (at most {}s), then the loop ends (within {}s) and the bot exits once the notifications and traces in flight \
             are sent (at most {}s more); a second Ctrl-C stops it at once",
            GRACE.as_secs(),
            BOUND.as_secs(),
            AFTER_THE_LOOP.as_secs()
        );
        let _ = sender.send(true);
    }
}
