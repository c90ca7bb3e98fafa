//! Settling intents that have no outcome: a bot killed (or stopped by a second signal) between an intent line
//! and its outcome line, or a decision whose outcome came out unknown. Before any new decision, each such
//! intent's request is read, and an outcome line with `"reconciled": true` says what became of it:
//!
//! | The request reads | Outcome |
//! |---|---|
//! | `Pending`, twice, [`SETTLE`] apart | `not sent`: nothing took effect; the pass decides it afresh |
//! | the intent's decision (`Approving`, `Approved`, ... for an approval) | `decided, by this bot or another`: the answer to the bot's call was lost, and the service does not say who decided |
//! | the other decision | `decided by another` |
//! | `Expired` | `expired` |
//! | not found | `failed` |
//!
//! A request that cannot be read (or reads as in flight, `Initializing`) stays open: it is not decided in this
//! pass, and is read again at the next.

use std::collections::HashSet;

use azure_customer_lockbox::{
    CallIds,
    models::{ApprovalDecision, LockboxRequestStatus},
};
use chrono::Utc;

use super::{Audit, AuditFailed, AuditRecord, Bot, Key, Outcome, key};

/// How long after a first read that shows an open intent's request `Pending` it is read again: as long as the
/// SDK waits before it resends a decision that may have been taken (its poller's shortest interval).
const SETTLE: std::time::Duration = std::time::Duration::from_secs(1);
use crate::backend::RequestRef;

/// The intents of the trail that no outcome settled, in the order they were written; or why the trail cannot
/// be read. Empty when the trail is stdout (it cannot be read back) or in a dry run, which settles nothing: it
/// says how many it leaves to the next run that decides.
pub(super) fn open_in(audit: &Audit, dry_run: bool) -> Result<Vec<AuditRecord>, String> {
    let Some(lines) = audit.read_back() else { return Ok(Vec::new()) };
    let lines = lines.map_err(|e| format!("cannot read the audit file back to settle its open intents: {e}"))?;
    let mut records = Vec::new();
    for line in lines {
        match line {
            Ok(record) => records.push(record),
            Err(text) => say!(
                "lockbox: skipping an audit line that is not a record (a line torn by a kill is never followed by \
                 its decision): {}",
                crate::output::terminal_safe(&text)
            ),
        }
    }
    let open = open_intents(records);
    if dry_run && !open.is_empty() {
        say!(
            "lockbox: policy run: {} intents in the audit trail have no outcome; a dry run leaves them to the next \
             run that decides",
            open.len()
        );
        return Ok(Vec::new());
    }
    Ok(open)
}

/// The intents among `records` that no later outcome settles (see [`Outcome::settles`]). An outcome names its
/// intent by the `intent` id; one without (a line of version 0) settles the last open intent without an id for
/// the same request.
pub(super) fn open_intents(records: Vec<AuditRecord>) -> Vec<AuditRecord> {
    let mut open: Vec<AuditRecord> = Vec::new();
    for record in records {
        if record.outcome == Outcome::Sending {
            open.push(record);
            continue;
        }
        if !record.outcome.settles() {
            continue;
        }
        let same = |intent: &AuditRecord| match (&record.intent, &intent.intent) {
            (Some(a), Some(b)) => a == b,
            (None, None) => key(&intent.subscription, &intent.request) == key(&record.subscription, &record.request),
            _ => false,
        };
        if let Some(index) = open.iter().rposition(same) {
            open.remove(index);
        }
    }
    open
}

impl Bot<'_> {
    /// Settles the open intents (see the module's table), writing one outcome line for each it can. Gives the
    /// requests it could not settle: the pass leaves them alone.
    pub(super) async fn settle_open(&mut self) -> Result<HashSet<Key>, AuditFailed> {
        if self.open.is_empty() {
            return Ok(HashSet::new());
        }
        // Read each request; one that reads `Pending` is read again after `SETTLE` (once for all of them): a
        // call sent just before a kill may still be on its way, and a read proves only that it has not landed yet.
        let mut pending = Vec::new();
        for intent in std::mem::take(&mut self.open) {
            match self.read(&intent).await {
                Read::Settled(outcome, status, error) => self.write_settled(intent, outcome, status, error)?,
                Read::Pending => pending.push(intent),
                Read::Open => self.open.push(intent),
            }
        }
        if !pending.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(SETTLE) => {}
                () = self.stop.wait() => {}
            }
        }
        for intent in pending {
            match self.read(&intent).await {
                Read::Settled(outcome, status, error) => self.write_settled(intent, outcome, status, error)?,
                Read::Pending => {
                    let status = Some(LockboxRequestStatus::Pending.to_string());
                    self.write_settled(intent, Outcome::NotSent, status, None)?;
                }
                Read::Open => self.open.push(intent),
            }
        }
        Ok(self.open.iter().map(|intent| key(&intent.subscription, &intent.request)).collect())
    }

    /// Reads an open intent's request: what settles it, or that it is pending, or that it stays open (the
    /// request cannot be read now, reads as in flight, or the bot is stopping: a read still out
    /// [`GRACE`](super::stop::GRACE) after a stop was asked is given up).
    async fn read(&self, intent: &AuditRecord) -> Read {
        if self.stop.asked() {
            return Read::Open;
        }
        let reference = RequestRef::Arm { subscription: intent.subscription.clone(), id: intent.request.clone() };
        let found = tokio::select! {
            found = self.backend.find(&reference) => found,
            () = self.stop.grace_over() => return Read::Open,
        };
        match found {
            Ok(found) => match found.request.status() {
                Some(LockboxRequestStatus::Pending) => Read::Pending,
                Some(status) => settled(intent, status),
                None => Read::Open,
            },
            Err(crate::failure::Failure::Sdk(error)) if error.status().is_some_and(|s| s.as_u16() == 404) => {
                Read::Settled(Outcome::Failed, None, Some(crate::failure::one_line_raw(&error)))
            }
            Err(failure) => {
                say!(
                    "lockbox: cannot read request {} to settle its open intent; it is left alone until it can be \
                     read: {}",
                    crate::output::Shown(&intent.request),
                    match &failure {
                        crate::failure::Failure::Sdk(error) => crate::failure::one_line(error),
                        crate::failure::Failure::Usage(text) | crate::failure::Failure::NotFound(text) =>
                            crate::output::terminal_safe(text),
                    }
                );
                Read::Open
            }
        }
    }

    /// Writes the outcome that settles `intent`, read from its request (`"reconciled": true`).
    fn write_settled(
        &mut self,
        intent: AuditRecord,
        outcome: Outcome,
        current_status: Option<String>,
        error: Option<String>,
    ) -> Result<(), AuditFailed> {
        let record = AuditRecord {
            time: Utc::now(),
            outcome,
            reconciled: true,
            current_status,
            error,
            call: CallIds::default(),
            ..intent
        };
        let traced = self.observer.decision(&record.subscription, &record.request);
        self.write_outcome(&record, traced)?;
        self.observer.settled(&record.outcome.label());
        self.summary.settled = self.summary.settled.saturating_add(1);
        Ok(())
    }
}

/// What reading an open intent's request came to.
enum Read {
    /// An outcome that settles it, the status to cite, and an error to cite.
    Settled(Outcome, Option<String>, Option<String>),
    /// The request is still pending.
    Pending,
    /// It stays open for now.
    Open,
}

/// What settles an intent whose request reads `status` (not `Pending`): its outcome, or, while the request is in
/// flight (`Initializing`, or a status this tool does not know), nothing yet.
fn settled(intent: &AuditRecord, status: &LockboxRequestStatus) -> Read {
    let decision = match intent.decision.as_str() {
        "deny" => ApprovalDecision::Deny,
        _ => ApprovalDecision::Approve,
    };
    let other = if decision == ApprovalDecision::Deny { ApprovalDecision::Approve } else { ApprovalDecision::Deny };
    let outcome = match status {
        LockboxRequestStatus::Expired => Outcome::Expired,
        status if status.reflects(&decision) => Outcome::DecidedUnattributed,
        status if status.reflects(&other) => Outcome::DecidedByAnother,
        _ => return Read::Open,
    };
    Read::Settled(outcome, Some(status.to_string()), None)
}
