//! Why a policy decides a request as it does: `policy explain` for one request, and `policy run --explain`'s
//! lines on stderr.

use chrono::Utc;
use serde_json::json;

use super::AuditRow;
use crate::policy::Policy;

/// The explanation of one request's verdict, on stderr (stdout is the audit trail), terminal-safe.
pub(super) fn explain(id: &str, subscription: &str, lines: &[String]) {
    use crate::output::Shown;
    say!("lockbox: explain: request {} in subscription {}", Shown(id), Shown(subscription));
    for line in lines {
        say!("  {}", Shown(line));
    }
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
