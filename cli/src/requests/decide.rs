//! `lockbox requests approve` and `deny`: show the request, ask (or take `--yes`), decide once, and with
//! `--wait` wait until the status is final.

use std::{io::IsTerminal, time::Duration};

use azure_customer_lockbox::{
    Error,
    models::ApprovalDecision,
    options::{MAX_REASON_LEN, WaiterOptions},
};
use chrono::Utc;
use serde_json::{Value, json};

use super::rows::details;
use crate::{
    backend::{Backend, Located, Recorded, RequestRef},
    failure::{EXIT_ALREADY_DECIDED, EXIT_UNCONFIRMED, EXIT_USAGE, Failure, one_line, usage},
    options::Requested,
    output::{self, Row, stderr::confirm},
    session::Session,
};

// The arguments of `requests approve` and `deny` (their help is the variants' in `requests.rs`).
#[derive(clap::Args)]
pub struct Args {
    /// The request id (looked for in every subscription in scope), or its full resource id.
    pub request: String,
    /// Why; shown to the engineer and kept in the audit log.
    #[arg(long)]
    pub reason: String,
    /// Do not ask for confirmation (required when there is no terminal to ask on).
    #[arg(long, short)]
    pub yes: bool,
    /// Also wait (at most 10 minutes, decision included) until the request's status is final (Approved or
    /// Denied). If the decision was recorded but that status cannot be confirmed, the decision is still printed
    /// and the exit status is 9.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub on: Requested,
}

/// What a decision command prints: the request, the decision and what the service recorded.
struct DecisionRow {
    located: Located,
    decision: &'static str,
    reason: String,
    status: String,
    recorded: Recorded,
}

impl Row for DecisionRow {
    const COLUMNS: &'static [&'static str] = &["ID", "SUBSCRIPTION", "DECISION", "STATUS", "REASON"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.located.request.request_id().unwrap_or("-").to_owned(),
            self.located.subscription.clone(),
            self.decision.to_owned(),
            self.status.clone(),
            self.reason.clone(),
        ]
    }

    fn json(&self) -> Value {
        let mut value = json!({
            "request": self.located.request.request_id(),
            "subscription": self.located.subscription,
            "decision": self.decision,
            "reason": self.reason,
            "status": self.status,
        });
        if let (Value::Object(map), Value::Object(ids)) = (&mut value, json!(self.recorded)) {
            map.extend(ids);
        }
        value
    }
}

/// The two decisions the tool sends: a closed set, so that every mapping from one is exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Deny,
}

impl Verdict {
    /// The decision as the SDK sends it.
    fn decision(self) -> ApprovalDecision {
        match self {
            Self::Approve => ApprovalDecision::Approve,
            Self::Deny => ApprovalDecision::Deny,
        }
    }

    /// The command's verb.
    fn verb(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }

    /// The final status the decision leads to, as the service spells it.
    fn past(self) -> &'static str {
        match self {
            Self::Approve => "Approved",
            Self::Deny => "Denied",
        }
    }
}

/// How long `--wait` waits, the decision included, and how often it reads the request.
const WAIT: WaiterOptions =
    WaiterOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(600)) };

/// Shows the request, asks (or takes --yes), decides once, and with --wait has the SDK wait until the status is
/// final (`DecisionOptions::until_final`): a decision it recorded is printed whatever that wait came to.
pub async fn run(session: &Session, backend: &Backend, args: Args, verdict: Verdict) -> Result<u8, Failure> {
    let reason = args.reason.as_str();
    // The SDK checks the reason too, but only when sending; check it before the request is even read.
    if reason.trim().is_empty() {
        return Err(Error::InvalidArgument { name: "reason", reason: "must not be empty".into() }.into());
    }
    if reason.len() > MAX_REASON_LEN {
        return Err(Error::InvalidArgument {
            name: "reason",
            reason: format!("is longer than {MAX_REASON_LEN} bytes"),
        }
        .into());
    }
    let verb = verdict.verb();
    let reference = RequestRef::parse(&args.request)?;
    let located = backend.find(&reference).await?;
    let id = located.request.request_id().unwrap_or(reference.id()).to_owned();
    say!("{}\n", details(&located, Utc::now()));
    // Already decided (or expired): say so, without asking or sending a decision the service would refuse.
    if let Some(status) = located.request.status().filter(|s| !s.is_pending()) {
        say!(
            "lockbox: request {} is {}, not Pending: nothing to {verb}, nothing was sent",
            output::Shown(&id),
            output::Shown(&status.to_string())
        );
        return Ok(EXIT_ALREADY_DECIDED);
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !terminal {
        return Err(usage(format!(
            "refusing to {verb} without confirmation: there is no terminal to ask on; pass --yes to {verb} anyway"
        )));
    }
    if !args.yes
        && !confirm(&format!("{} request {id} with reason {reason:?}?", capitalise(verb)))
            .map_err(|e| usage(format!("cannot read stdin: {e}")))?
    {
        say!("lockbox: cancelled; nothing was sent");
        return Ok(EXIT_USAGE);
    }
    let (subscription, decision) = (&located.subscription, verdict.decision());
    let (recorded, status, code) = if args.wait {
        say!("lockbox: {verb} request {}, then wait until its status is final", output::Shown(&id));
        // A spinner on a terminal while the call waits (indicatif draws nothing elsewhere).
        let spinner = std::io::stderr().is_terminal().then(|| {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.set_message(format!("waiting for {}", output::Shown(&id)));
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        let decided = backend.decide_until_final(subscription, &id, decision, reason, WAIT).await;
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
        }
        let (recorded, decided) = decided?;
        match decided.until_final() {
            Some(Ok(request)) => (recorded, request.status().map_or("Unknown".into(), ToString::to_string), 0),
            // Recorded: printed on stdout as such; only its final status is not confirmed.
            Some(Err(error)) => {
                say!(
                    "lockbox: the {verb} decision was recorded, but its final status was not confirmed: {}",
                    one_line(error)
                );
                say!("lockbox: read the request (`lockbox requests show {}`); do not decide again", output::Shown(&id));
                (recorded, "Unconfirmed".to_owned(), EXIT_UNCONFIRMED)
            }
            None => (recorded, "Unconfirmed".to_owned(), EXIT_UNCONFIRMED),
        }
    } else {
        (backend.decide(subscription, &id, decision, reason).await?.into_recorded(), verdict.past().to_owned(), 0)
    };
    let row = DecisionRow { located, decision: verb, reason: reason.to_owned(), status: status.clone(), recorded };
    output::one(&session.output, &row, || format!("{id}: {status}"))?;
    Ok(code)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}
