//! `lockbox policy explain`: how a policy would decide one request now, and why; decides nothing.

use std::path::PathBuf;

use chrono::Utc;
use serde_json::json;

use crate::{
    backend::RequestRef,
    bot::AuditRow,
    failure::{Failure, usage},
    options::Requested,
    output::{self, terminal_safe},
    session::Connector,
};

// The arguments of `policy explain` (its help is the variant's in `policy.rs`).
#[derive(clap::Args)]
pub struct Args {
    /// The policy file (TOML).
    #[arg(long)]
    pub file: PathBuf,
    /// The request id (looked for in every subscription in scope), or its full resource id.
    pub request: String,
    #[command(flatten)]
    pub on: Requested,
}

/// Reads the policy (a bad file asks no service), then signs in, finds the request and prints the verdict with
/// its explanation: exit status 0.
pub async fn run(args: Args, connector: &Connector<'_>) -> Result<u8, Failure> {
    let policy = super::rules::Policy::load(&args.file).map_err(usage)?;
    let session = connector.session().await?;
    let reference = RequestRef::parse(&args.request)?;
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
    output::one(&session.output, &row, || {
        let mut text = vec![format!("request {id} in subscription {}", located.subscription)];
        text.extend(explanation.iter().map(|line| format!("  {line}")));
        text.push(format!("decision: {} by {:?}", verdict.action.name(), verdict.rule));
        text.iter().map(|l| terminal_safe(l)).collect::<Vec<_>>().join("\n")
    })?;
    Ok(0)
}
