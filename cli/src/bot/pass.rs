//! One pass of the bot: settle the intents left open, take the whole listing of pending requests (each once),
//! then decide each.
//!
//! Deciding while paging a `Pending` listing would move the offsets its skip tokens count from (each request
//! decided leaves the listing, and the next page starts past a request never shown), so a pass lists first and
//! decides after. A listing can still repeat a request, or a subscription, across pages while others change it:
//! the pass keeps each request once, by subscription and id. And since others (a person, another replica) may
//! decide while it lists, the pass lists again after deciding, and decides what it had not seen, up to
//! [`LISTINGS`] listings a pass.

use std::collections::HashSet;

use azure_customer_lockbox::{
    CallIds, Error, RequestFilter,
    models::{ApprovalDecision, LockboxRequestStatus},
};
use chrono::Utc;
use futures::StreamExt;

use super::{
    AuditFailed, AuditRecord, Bot, Key, Outcome, VERSION,
    explain::explain,
    key,
    service::{Decision, ErrorKind, Left, ServiceIds},
};
use crate::{
    backend::{Backend, Coverage, Decided, Located, Recorded},
    policy::rules::Action,
};

/// How many listings a pass takes at most: the first, and more while each still shows requests the pass had
/// not seen.
pub(super) const LISTINGS: usize = 3;

/// The `rule` label of an outcome whose line names no rule (a settled intent written before lines had one).
const NO_RULE: &str = "(none)";

impl Bot<'_> {
    /// One pass. Returns the worst exit status of its failures (0 when none), or the audit line that could not
    /// be written. A stop asked during the pass ends it before the next request. The observer is told when it
    /// starts and how it ended (a pass with a failure, or whose audit line could not be written, failed).
    pub(super) async fn pass(&mut self, first: bool) -> Result<u8, AuditFailed> {
        self.observer.pass_started();
        let passed = self.pass_over(first).await;
        match &passed {
            Ok(0) => self.observer.pass_finished(None),
            Ok(code) => self.observer.pass_finished(Some(&format!("exit status {code}"))),
            Err(_) => {
                self.observer.error(ErrorKind::Audit);
                self.observer.pass_finished(Some("cannot write the audit trail"));
            }
        }
        passed
    }

    async fn pass_over(&mut self, first: bool) -> Result<u8, AuditFailed> {
        // What is open is settled before anything new is decided.
        let unsettled = self.settle_open().await?;
        let mut seen: HashSet<Key> = HashSet::new();
        let mut worst = 0;
        for listing in 0..LISTINGS {
            let (fresh, code) = match snapshot(self.backend, &mut seen, first && listing == 0, &self.stop).await {
                Ok(found) => found,
                Err(error) => {
                    self.observer.error(ErrorKind::List);
                    say!("lockbox: error: {}", crate::failure::one_line(&error));
                    return Ok(worst.max(crate::failure::hint(&error, self.backend.endpoint())));
                }
            };
            if code != 0 {
                self.observer.error(ErrorKind::List);
            }
            worst = worst.max(code);
            if fresh.is_empty() {
                break;
            }
            for located in fresh {
                if self.stop.asked() {
                    return Ok(worst);
                }
                let id = located.request.request_id().unwrap_or_default().to_owned();
                if unsettled.contains(&key(&located.subscription, &id)) {
                    continue;
                }
                worst = worst.max(self.consider(&located, id).await?);
            }
        }
        Ok(worst)
    }

    /// Decides one pending request by the policy, or leaves it; returns the exit status of a failure (or 0).
    async fn consider(&mut self, located: &Located, id: String) -> Result<u8, AuditFailed> {
        let (verdict, explanation) = self.policy.explain(located, Utc::now());
        if self.options.explain {
            explain(&id, &located.subscription, &explanation);
        }
        let record = AuditRecord {
            version: VERSION,
            time: Utc::now(),
            intent: None,
            request: id,
            subscription: located.subscription.clone(),
            rule: Some(verdict.rule.to_owned()),
            decision: verdict.action.name().to_owned(),
            reason: verdict.reason.to_owned(),
            dry_run: self.options.dry_run,
            outcome: Outcome::Sending,
            reconciled: false,
            call: CallIds::default(),
            current_status: None,
            error: None,
            explanation: self.options.explain.then_some(explanation),
        };
        let decision = match (verdict.action, self.options.dry_run) {
            (Action::Leave, _) => return self.leave_for_person(record, Outcome::LeftForAHuman).map(|()| 0),
            (_, true) => return self.leave_for_person(record, Outcome::NotDecidedDryRun).map(|()| 0),
            (Action::Approve, false) => ApprovalDecision::Approve,
            (Action::Deny, false) => ApprovalDecision::Deny,
        };
        self.decide(record, decision).await
    }

    /// A request no rule decides (or a dry run's): its line is written once per request and process. A request
    /// left for a person (not a dry run's) is then announced through the observer's hook, once its line is
    /// written.
    fn leave_for_person(&mut self, mut record: AuditRecord, outcome: Outcome) -> Result<(), AuditFailed> {
        if self.reported.insert(key(&record.subscription, &record.request)) {
            record.outcome = outcome;
            let traced = self.observer.decision(&record.subscription, &record.request);
            self.write_outcome(&record, traced)?;
            if outcome == Outcome::LeftForAHuman {
                self.observer.left_for_person(Left {
                    subscription: record.subscription,
                    request: record.request,
                    rule: record.rule.unwrap_or_default(),
                    reason: record.reason,
                });
            }
        }
        Ok(())
    }

    /// Sends one decision: its intent line first (a trail that cannot be written sends nothing), then the call,
    /// then its outcome line. A stop asked meanwhile lets the call finish for [`GRACE`](super::stop::GRACE); past
    /// that, the outcome is written as unknown, to be settled at the next start.
    async fn decide(&mut self, mut record: AuditRecord, decision: ApprovalDecision) -> Result<u8, AuditFailed> {
        record.intent = Some(uuid::Uuid::new_v4().to_string());
        self.audit.intent(&record)?;
        let traced = self.observer.decision(&record.subscription, &record.request);
        let call = self.backend.decide(&record.subscription, &record.request, decision.clone(), &record.reason);
        let answer = tokio::select! {
            answer = call => Some(answer),
            () = self.stop.grace_over() => None,
        };
        let code = match answer {
            Some(answer) => outcome_of(&mut record, &decision, answer),
            None => {
                record.outcome = Outcome::Unknown;
                record.error = Some("the bot was stopped before the service answered".to_owned());
                0
            }
        };
        if code != 0 {
            say!(
                "lockbox: cannot decide request {}: {}",
                crate::output::Shown(&record.request),
                crate::output::Shown(record.error.as_deref().unwrap_or_default())
            );
        }
        record.time = Utc::now();
        self.write_outcome(&record, traced)?;
        Ok(code)
    }

    /// Writes one outcome line, and only once it is written counts it, in the summary and the metrics (by its
    /// outcome and rule; a failure or an outcome unknown also as an error), and ends its span (`traced`, started
    /// when the work on it began). An intent whose outcome is unknown is kept, to settle it later.
    pub(super) fn write_outcome(&mut self, record: &AuditRecord, traced: Decision) -> Result<(), AuditFailed> {
        self.audit.outcome(record)?;
        self.summary.count(record.outcome);
        match record.outcome {
            Outcome::Failed => self.observer.error(ErrorKind::Decide),
            Outcome::Unknown => self.observer.error(ErrorKind::OutcomeUnknown),
            _ => {}
        }
        let ids = ServiceIds {
            service_request_id: record.call.service_request_id.as_deref(),
            correlation_id: record.call.correlation_request_id.as_deref(),
            error: record.error.as_deref(),
        };
        traced.finished(&record.outcome.label(), record.rule.as_deref().unwrap_or(NO_RULE), &ids);
        if record.outcome == Outcome::Unknown {
            self.open.push(AuditRecord { outcome: Outcome::Sending, ..record.clone() });
        }
        Ok(())
    }
}

/// Fills in the outcome of a decision's call; gives the exit status it earns (0 when it is not a failure).
fn outcome_of(record: &mut AuditRecord, decision: &ApprovalDecision, answer: Result<Decided, Error>) -> u8 {
    let (outcome, recorded, code) = match answer {
        Ok(Decided::Answered(recorded)) => {
            let outcome = if *decision == ApprovalDecision::Deny { Outcome::Denied } else { Outcome::Approved };
            (outcome, recorded, 0)
        }
        Ok(Decided::Read(recorded)) => (Outcome::DecidedUnattributed, recorded, 0),
        Err(error) => {
            // A refusal's own ids; for any other failure, the attempts it took.
            let call = error.call_ids().cloned().unwrap_or_else(|| {
                let mut call = CallIds::default();
                call.attempts = error.attempts().unwrap_or_default();
                call
            });
            let recorded = Recorded { call, reconciled: None };
            record.current_status = error.current_status().map(|s| s.to_string());
            record.error = Some(crate::failure::one_line_raw(&error));
            let code = crate::failure::exit_code(&error);
            let outcome = match error.current_status() {
                _ if !crate::failure::already_decided(&error) && code == crate::failure::EXIT_OUTCOME_UNKNOWN => {
                    Outcome::Unknown
                }
                _ if !crate::failure::already_decided(&error) => Outcome::Failed,
                Some(LockboxRequestStatus::Expired) => Outcome::Expired,
                _ => Outcome::DecidedByAnother,
            };
            let code = if crate::failure::already_decided(&error) { 0 } else { code };
            (outcome, recorded, code)
        }
    };
    record.outcome = outcome;
    record.reconciled = recorded.reconciled.unwrap_or(false);
    record.call = recorded.call;
    code
}

/// The pending requests in scope that `seen` does not hold yet, each once (and added to `seen`), with the exit
/// status of the listing's coverage; what it could not list is said on stderr (the notes on skipped or missing
/// subscriptions only when `notes`). A stop asked while listing ends it with what was listed so far.
async fn snapshot(
    backend: &Backend,
    seen: &mut HashSet<Key>,
    notes: bool,
    stop: &super::Stop,
) -> Result<(Vec<Located>, u8), Error> {
    let mut coverage = Coverage::new(notes, backend.endpoint());
    let mut listing = backend.list(Some(RequestFilter::status(LockboxRequestStatus::Pending)))?;
    let mut fresh = Vec::new();
    loop {
        let item = tokio::select! {
            item = listing.next() => item,
            () = stop.wait() => break,
        };
        let Some(item) = item else { break };
        let Some(located) = coverage.take(item) else { continue };
        if !located.request.status().is_some_and(LockboxRequestStatus::is_pending) {
            continue;
        }
        let id = located.request.request_id().unwrap_or_default();
        if seen.insert(key(&located.subscription, id)) {
            fresh.push(located);
        }
    }
    Ok((fresh, coverage.exit_code()))
}
