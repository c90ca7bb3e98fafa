//! Running a policy (`lockbox policy run`): passes over the pending requests, decisions through the backend,
//! one typed JSON audit line ([`AuditRecord`]) per intent and per outcome. The rules themselves are in
//! `policy/rules.rs`; the command that starts the bot is `policy/run.rs`.
//!
//! The parts:
//! - this file: the loop of passes, and how it ends (`--once`, a signal, an audit trail that cannot be written);
//! - `pass.rs`: one pass: settle what is open, take the whole pending listing, decide each request once;
//! - `recover.rs`: intents with no outcome (a kill, a second signal, an outcome unknown), settled by reading the
//!   request before any new decision;
//! - `record.rs`: the audit record and its outcomes; `audit.rs`: where the lines go;
//! - `stop.rs`: SIGTERM and SIGINT; `explain.rs`: `policy explain` and `--explain`.
//!
//! - `service.rs`: the [`Observer`] the loop tells what it does: the endpoints of
//!   `--listen`, the metrics, the traces and the notifications.
//!
//! Where the observer is told: a pass starts and ends in `Bot::pass` (`pass.rs`); a request is left for a
//! person in `Bot::leave_for_person`; every outcome line (a decision's, a settled intent's, a left request's) is
//! written, and counted (in the summary and the metrics, its span ended), in `Bot::write_outcome`, and nowhere
//! else. A signal makes it `stopping` at once; every way the loop ends waits for `stopped`.

use std::{collections::HashSet, time::Duration};

use crate::{backend::Backend, policy::rules::Policy};

mod audit;
mod explain;
mod pass;
mod record;
mod recover;
pub mod service;
mod stop;
#[cfg(test)]
mod tests;

pub use audit::{Audit, AuditFailed, AuditRow};
pub use record::{AuditRecord, Outcome, VERSION};
use service::Observer;
pub use stop::Stop;

/// How a run goes: from `policy run`'s options.
pub struct RunOptions {
    pub dry_run: bool,
    /// Say, for each request, why each rule tried did not match, and which did.
    pub explain: bool,
    pub once: bool,
    pub interval: Duration,
}

/// What a run of the bot came to, said on stderr when it ends. Each count is of lines written to the audit
/// trail: a line that could not be written is not counted.
#[derive(Default)]
struct Summary {
    /// Approved or denied by this bot (the service's answer to its own call said so).
    decided: usize,
    /// Left for a person, or not decided in a dry run.
    left: usize,
    /// Decided by someone else, expired, or decided with no way to tell by whom (settled intents included).
    others: usize,
    /// Failed, or with an outcome unknown.
    failed: usize,
    /// Intents of an earlier run (or of an outcome unknown) settled by reading the request.
    settled: usize,
}

impl Summary {
    fn say(&self) {
        say!(
            "lockbox: policy run: {} decided, {} left for a human (or not decided in a dry run), {} failed, {} \
             decided by others, expired or not known whose, {} open intents settled",
            self.decided,
            self.left,
            self.failed,
            self.others,
            self.settled
        );
    }

    /// Counts an outcome line that was written (an intent settled is counted apart, as settled).
    fn count(&mut self, outcome: Outcome) {
        let count = match outcome {
            Outcome::Approved | Outcome::Denied => &mut self.decided,
            Outcome::LeftForAHuman | Outcome::NotDecidedDryRun => &mut self.left,
            Outcome::Failed | Outcome::Unknown => &mut self.failed,
            Outcome::DecidedByAnother | Outcome::DecidedUnattributed | Outcome::Expired => &mut self.others,
            Outcome::Sending | Outcome::NotSent => return,
        };
        *count = count.saturating_add(1);
    }
}

/// A request as the bot tells requests apart: its subscription and id, in lower case (the service's GUIDs
/// compare without regard to case).
type Key = (String, String);

fn key(subscription: &str, request: &str) -> Key {
    (subscription.to_ascii_lowercase(), request.to_ascii_lowercase())
}

/// The bot while it runs: what it works with, and what it has done.
struct Bot<'a> {
    backend: &'a Backend,
    policy: &'a Policy,
    audit: &'a mut Audit,
    options: &'a RunOptions,
    stop: Stop,
    /// Told of passes, outcomes, requests left and errors.
    observer: &'a Observer,
    summary: Summary,
    /// Requests already said to be left for a person by this process: said once each.
    reported: HashSet<Key>,
    /// Intents with no settling outcome yet: read back from the trail at start, and any whose outcome came out
    /// unknown since. Settled at the start of each pass, before any new decision.
    open: Vec<AuditRecord>,
}

/// Runs the policy: one pass over the pending requests (`--once`) or a pass every interval, until SIGTERM or
/// SIGINT (see `stop.rs`). Returns the exit code: 0 after a signal; otherwise 0, or the worst failure of the
/// last pass (a request already decided by someone else is not a failure; some subscriptions not listed while
/// others were is 1); 8 when the audit trail cannot be written. Whatever way it ends, `observer` is told
/// [`stopped`](Observer::stopped) (its notifications and traces flushed) before this returns.
pub async fn run(
    backend: &Backend,
    policy: &Policy,
    audit: &mut Audit,
    options: RunOptions,
    observer: &Observer,
    stop: Stop,
) -> u8 {
    // The first signal makes the observer `stopping` (not ready) at once, even in the middle of a decision.
    let told = tokio::spawn({
        let (stop, observer) = (stop.clone(), observer.clone());
        async move {
            stop.wait().await;
            observer.stopping();
        }
    });
    let code = run_until_stopped(backend, policy, audit, &options, stop, observer).await;
    told.abort();
    observer.stopped().await;
    code
}

async fn run_until_stopped(
    backend: &Backend,
    policy: &Policy,
    audit: &mut Audit,
    options: &RunOptions,
    stop: Stop,
    observer: &Observer,
) -> u8 {
    let open = match recover::open_in(audit, options.dry_run) {
        Ok(open) => open,
        Err(message) => {
            say!("lockbox: {message}");
            observer.error(service::ErrorKind::Audit);
            return crate::failure::EXIT_AUDIT;
        }
    };
    let mut bot = Bot {
        backend,
        policy,
        audit,
        options,
        stop,
        observer,
        summary: Summary::default(),
        reported: HashSet::new(),
        open,
    };
    let mut first = true;
    loop {
        let passed = bot.pass(first).await;
        bot.audit.end_pass();
        let code = match passed {
            Ok(code) => code,
            Err(AuditFailed { line, error }) => {
                observer.stopping();
                say!(
                    "lockbox: cannot write the audit trail ({error}); deciding nothing more. The line not written: {}",
                    crate::output::terminal_safe(&line)
                );
                bot.summary.say();
                return crate::failure::EXIT_AUDIT;
            }
        };
        first = false;
        if bot.stop.asked() {
            bot.summary.say();
            return 0;
        }
        if options.once {
            bot.summary.say();
            return code;
        }
        tokio::select! {
            () = bot.stop.wait() => {
                bot.summary.say();
                return 0;
            }
            () = tokio::time::sleep(options.interval) => {}
        }
    }
}
