//! Running a policy: passes over the pending requests, decisions through the backend, one JSON audit line per
//! request decided or left alone. The rules themselves are in `policy.rs`.

use std::{collections::HashSet, time::Duration};

use azure_customer_lockbox::{
    Error, RequestFilter,
    models::{ApprovalDecision, LockboxRequestStatus},
};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    backend::{Backend, Coverage, Recorded},
    policy::{Action, Policy},
};

mod audit;
pub use audit::{Audit, AuditFailed, AuditRow};

/// What a run of the bot came to, said on stderr when it ends.
#[derive(Default)]
struct Summary {
    decided: usize,
    left: usize,
    failed: usize,
}

impl Summary {
    fn say(&self) {
        eprintln!(
            "lockbox: policy run: {} decided, {} left for a human (or not decided in a dry run), {} failed",
            self.decided, self.left, self.failed
        );
    }
}

pub struct RunOptions {
    pub dry_run: bool,
    /// Say, for each request, why each rule tried did not match, and which did.
    pub explain: bool,
    pub once: bool,
    pub interval: Duration,
}

/// Runs the policy: one pass over the pending requests (`--once`) or a pass every interval until Ctrl-C.
/// Returns the exit code: 0, or the worst failure of the last pass (a request already decided by someone
/// else is not a failure; some subscriptions not listed while others were is 1).
pub async fn run(backend: &Backend, policy: &Policy, audit: &mut Audit, options: RunOptions) -> u8 {
    let mut reported: HashSet<(String, String)> = HashSet::new();
    let mut first = true;
    let mut interrupted = ctrl_c_from_now_on();
    let mut summary = Summary::default();
    loop {
        let passed = pass(backend, policy, audit, &options, &mut reported, first, &mut summary).await;
        audit.end_pass();
        let code = match passed {
            Ok(code) => code,
            Err(AuditFailed { line, error }) => {
                eprintln!(
                    "lockbox: cannot write the audit trail ({error}); deciding nothing more. The line not written: {}",
                    crate::output::terminal_safe(&line)
                );
                summary.say();
                return crate::EXIT_AUDIT;
            }
        };
        first = false;
        if options.once {
            summary.say();
            return code;
        }
        tokio::select! {
            _ = &mut interrupted => {
                summary.say();
                return code;
            }
            () = tokio::time::sleep(options.interval) => {}
        }
    }
}

/// Resolves on the first Ctrl-C from now on. A `tokio::signal::ctrl_c()` future listens only from its first
/// poll, so one made anew after each pass would miss a Ctrl-C that came during the pass; this listens from the
/// start, and the bot ends after the pass in progress (a decision is never cut half way).
fn ctrl_c_from_now_on() -> tokio::sync::oneshot::Receiver<()> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => drop(sender.send(())),
            // No signal handling here: never resolve (dropping the sender would read as an interrupt).
            Err(_) => std::future::pending::<()>().await,
        }
    });
    receiver
}

async fn pass(
    backend: &Backend,
    policy: &Policy,
    audit: &mut Audit,
    options: &RunOptions,
    reported: &mut HashSet<(String, String)>,
    first: bool,
    summary: &mut Summary,
) -> Result<u8, AuditFailed> {
    let mut worst = 0;
    // Which subscriptions were skipped, or that none is visible, is said on the first pass only.
    let mut coverage = Coverage::new(first);
    let mut listing = match backend.list(Some(RequestFilter::status(LockboxRequestStatus::Pending))) {
        Ok(listing) => listing,
        Err(error) => {
            eprintln!("lockbox: error: {}", crate::one_line(&error));
            return Ok(crate::hint(&error));
        }
    };
    while let Some(item) = listing.next().await {
        let Some(located) = coverage.take(item) else { continue };
        if !located.request.status().is_some_and(LockboxRequestStatus::is_pending) {
            continue;
        }
        let id = located.request.request_id().unwrap_or_default().to_owned();
        let (verdict, explanation) = policy.explain(&located, Utc::now());
        if options.explain {
            explain(&id, &located.subscription, &explanation);
        }
        let mut line = json!({
            "time": Utc::now().to_rfc3339(),
            "request": id,
            "subscription": located.subscription,
            "rule": verdict.rule,
            "decision": verdict.action.name(),
            "reason": verdict.reason,
            "dryRun": options.dry_run,
        });
        if let (true, Value::Object(map)) = (options.explain, &mut line) {
            map.insert("explanation".into(), json!(explanation));
        }
        let decision = match verdict.action {
            Action::Leave => None,
            Action::Approve => Some(ApprovalDecision::Approve),
            Action::Deny => Some(ApprovalDecision::Deny),
        };
        let decision = match decision {
            Some(decision) if !options.dry_run => decision,
            _ => {
                // Left alone (or not decided in a dry run): say so once per request and process.
                if reported.insert((located.subscription.clone(), id)) {
                    summary.left = summary.left.saturating_add(1);
                    let outcome =
                        if verdict.action == Action::Leave { "left for a human" } else { "not decided (dry run)" };
                    finish(&mut line, outcome, &Recorded::default(), None);
                    audit.outcome(&line)?;
                }
                continue;
            }
        };
        // The intent, on record before the decision is sent: a trail that cannot be written sends nothing.
        let mut intent = line.clone();
        if let Value::Object(map) = &mut intent {
            map.insert("outcome".into(), json!("sending"));
        }
        audit.intent(&intent)?;
        match backend.decide(&located.subscription, &id, decision, verdict.reason).await {
            Ok(recorded) => {
                summary.decided = summary.decided.saturating_add(1);
                let outcome = if verdict.action == Action::Approve { "approved" } else { "denied" };
                finish(&mut line, outcome, &recorded, None);
            }
            Err(error) => {
                let service = error.service_error();
                let recorded = Recorded {
                    service_request_id: service.and_then(|s| s.call.service_request_id.clone()),
                    correlation_id: service.and_then(|s| s.call.correlation_request_id.clone()),
                    attempts: error.attempts(),
                    reconciled: None,
                };
                let outcome = if crate::already_decided(&error) {
                    "already decided"
                } else {
                    summary.failed = summary.failed.saturating_add(1);
                    let code = crate::exit_code(&error);
                    worst = worst.max(code);
                    eprintln!(
                        "lockbox: cannot decide request {}: {}",
                        crate::output::Shown(&id),
                        crate::one_line(&error)
                    );
                    if code == crate::EXIT_OUTCOME_UNKNOWN { "outcome unknown" } else { "failed" }
                };
                finish(&mut line, outcome, &recorded, Some(&error));
            }
        }
        audit.outcome(&line)?;
    }
    Ok(worst.max(coverage.exit_code()))
}

/// The explanation of one request's verdict, on stderr (stdout is the audit trail), terminal-safe.
fn explain(id: &str, subscription: &str, lines: &[String]) {
    use crate::output::Shown;
    eprintln!("lockbox: explain: request {} in subscription {}", Shown(id), Shown(subscription));
    for line in lines {
        eprintln!("  {}", Shown(line));
    }
}

fn finish(line: &mut Value, outcome: &str, recorded: &Recorded, error: Option<&Error>) {
    let Value::Object(map) = line else { return };
    map.insert("outcome".into(), json!(outcome));
    if let Value::Object(ids) = json!(recorded) {
        map.extend(ids);
    }
    map.insert("currentStatus".into(), json!(error.and_then(Error::current_status).map(|s| s.to_string())));
    map.insert("error".into(), json!(error.map(crate::one_line_raw)));
}

/// `policy explain`: how the policy would decide one request now, and why; decides nothing.
pub async fn explain_one(session: &crate::Session, policy: &Policy, request: &str) -> Result<u8, crate::Failure> {
    let reference = crate::backend::RequestRef::parse(request)?;
    let located = session.backend()?.find(&reference).await?;
    let id = located.request.request_id().unwrap_or(reference.id()).to_owned();
    let (verdict, explanation) = policy.explain(&located, Utc::now());
    let row = AuditRow(json!({
            "request": id,
            "subscription": located.subscription,
            "rule": verdict.rule,
            "decision": verdict.action.name(),
            "reason": verdict.reason,
            "explanation": explanation,
    }));
    crate::output::one(&session.output, &row, || {
        let mut text = vec![format!("request {id} in subscription {}", located.subscription)];
        text.extend(explanation.iter().map(|line| format!("  {line}")));
        text.push(format!("decision: {} by {:?}", verdict.action.name(), verdict.rule));
        text.iter().map(|l| crate::output::terminal_safe(l)).collect::<Vec<_>>().join("\n")
    })?;
    Ok(0)
}
