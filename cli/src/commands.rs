//! The `requests`, `tenant` and `operations` commands.

use std::{
    io::{IsTerminal, Write},
    time::Duration,
};

use azure_customer_lockbox::{
    Error, RequestFilter,
    models::{ApprovalDecision, Operation},
    options::{MAX_REASON_LEN, WaiterOptions, WatchOptions},
};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    EXIT_USAGE, Failure, Session,
    args::{Decision, RequestsCommand, TenantCommand},
    backend::{Coverage, Listed, Located, Recorded, RequestRef, Watched, guid_key},
    output::{self, Format, RequestRow, Row},
    usage,
    watch::{EventRow, run_hook},
};

pub async fn requests(session: &Session, command: RequestsCommand) -> Result<u8, Failure> {
    let backend = session.backend()?;
    match command {
        RequestsCommand::List { status, .. } => {
            // One status is filtered by the service; several, here (the service's filter takes one).
            let filter = match status.as_slice() {
                [one] => Some(RequestFilter::status(one.clone())),
                _ => None,
            };
            let mut listing = backend.list(filter)?;
            let (mut found, mut coverage) = (Vec::new(), Coverage::new(true));
            // The subscriptions that answered with a request, or failed: those that said nothing are checked.
            let mut heard = std::collections::BTreeSet::new();
            while let Some(item) = listing.next().await {
                if let Listed::Request(Located { subscription, .. }) | Listed::Failed { subscription, .. } = &item {
                    heard.insert(guid_key(subscription));
                }
                found.extend(coverage.take(item).filter(|located| {
                    status.is_empty() || located.request.status().is_some_and(|s| status.contains(s))
                }));
            }
            // A subscription given that the credential cannot see is not an empty queue.
            let quiet = if coverage.ended() { backend.given_without(&heard) } else { Vec::new() };
            for subscription in backend.not_visible(&quiet).await {
                coverage.not_visible(&subscription);
            }
            output::sort_by_time_left(&mut found);
            let now = Utc::now();
            if coverage.listed_any() {
                output::list(&session.output, &found.iter().map(|l| RequestRow(l, now)).collect::<Vec<_>>())?;
            }
            return Ok(coverage.exit_code());
        }
        RequestsCommand::Show { request, .. } => {
            let located = backend.find(&RequestRef::parse(&request)?).await?;
            let now = Utc::now();
            output::one(&session.output, &RequestRow(&located, now), || output::details(&located, now))?;
        }
        RequestsCommand::Approve(decision) => return decide(session, decision, Verdict::Approve).await,
        RequestsCommand::Deny(decision) => return decide(session, decision, Verdict::Deny).await,
        RequestsCommand::Watch { interval, status, only_changes, exec, .. } => {
            let format = session.output.format.unwrap_or(if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            });
            let options = WatchOptions {
                interval,
                filter: status.map(RequestFilter::status),
                emit_existing: !only_changes,
                ..Default::default()
            };
            let mut events = backend.watch(options)?;
            let stop = tokio::signal::ctrl_c();
            tokio::pin!(stop);
            // What was last said of each subscription's failing listing: the same failure, round after round of
            // the backoff (a 403 or 409 that lasts), is said once, until it changes or the listing recovers.
            let mut failing: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            let mut hook = exec;
            let mut first_listings = crate::watch::FirstListings::default();
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
                                crate::one_line(&error)
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
                            azure_customer_lockbox::options::DEFAULT_SUBSCRIPTIONS_REFRESH.as_secs()
                        );
                        continue;
                    }
                    // Nothing to watch yet: the watch cannot start (no login, no right to list subscriptions, ...).
                    Watched::SubscriptionsFailed { error, watching: false } => return Err(error.into()),
                    Watched::SubscriptionsFailed { error, watching: true } => {
                        say!(
                            "lockbox: cannot list the subscriptions, still watching those already known: {}",
                            crate::one_line(&error)
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
                let printed = match format {
                    Format::Table | Format::Wide => output::line(row.text()),
                    Format::Json | Format::Jsonl => output::line(row.json()),
                    Format::Yaml => output::line(format!("---\n{}", crate::render::yaml(&row.json()).trim_end())),
                    Format::Tsv => output::line(output::tsv_line(&row.cells())),
                    Format::None => Ok(()),
                };
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
        }
    }
    Ok(0)
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
enum Verdict {
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
async fn decide(session: &Session, args: Decision, verdict: Verdict) -> Result<u8, Failure> {
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
    let backend = session.backend()?;
    let located = backend.find(&reference).await?;
    let id = located.request.request_id().unwrap_or(reference.id()).to_owned();
    say!("{}\n", output::details(&located, Utc::now()));
    // Already decided (or expired): say so, without asking or sending a decision the service would refuse.
    if let Some(status) = located.request.status().filter(|s| !s.is_pending()) {
        say!(
            "lockbox: request {} is {}, not Pending: nothing to {verb}, nothing was sent",
            output::Shown(&id),
            output::Shown(&status.to_string())
        );
        return Ok(crate::EXIT_ALREADY_DECIDED);
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !terminal {
        return Err(usage(format!(
            "refusing to {verb} without confirmation: there is no terminal to ask on; pass --yes to {verb} anyway"
        )));
    }
    if !args.yes && !confirm(&format!("{} request {id} with reason {reason:?}?", capitalise(verb)))? {
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
                    crate::one_line(error)
                );
                say!("lockbox: read the request (`lockbox requests show {}`); do not decide again", output::Shown(&id));
                (recorded, "Unconfirmed".to_owned(), crate::EXIT_UNCONFIRMED)
            }
            None => (recorded, "Unconfirmed".to_owned(), crate::EXIT_UNCONFIRMED),
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

/// Asks on stderr, reads stdin: true only for "y" or "yes".
fn confirm(question: &str) -> Result<bool, Failure> {
    ask!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| usage(format!("cannot read stdin: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

struct TenantRow {
    tenant: Option<String>,
    on: bool,
}

impl Row for TenantRow {
    const COLUMNS: &'static [&'static str] = &["TENANT", "CUSTOMER LOCKBOX"];

    fn cells(&self) -> Vec<String> {
        vec![self.tenant.clone().unwrap_or_else(|| "-".into()), if self.on { "on" } else { "off" }.into()]
    }

    fn json(&self) -> Value {
        json!({ "tenantId": self.tenant, "customerLockbox": if self.on { "on" } else { "off" }, "optedIn": self.on })
    }
}

pub async fn tenant(session: &Session, command: TenantCommand) -> Result<u8, Failure> {
    let tenants = session.client.tenant();
    let out = &session.output;
    match command {
        TenantCommand::Status { tenant_id, .. } => {
            let Some(tenant) = tenant_id.or_else(|| session.default_tenant.clone()) else {
                return Err(usage(
                    "give the tenant id (`lockbox tenant status <TENANT-ID>`) or set AZURE_TENANT_ID; a standalone \
                     emulator prints its tenant when it starts (\"Default tenant: ...\")"
                        .into(),
                ));
            };
            let on = tenants.is_opted_in(&tenant, None).await?;
            let row = TenantRow { tenant: Some(tenant.clone()), on };
            output::one(out, &row, || format!("{tenant}: Customer Lockbox is {}", if on { "on" } else { "off" }))?;
        }
        TenantCommand::Enable { yes: false, .. } | TenantCommand::Disable { yes: false, .. } => {
            let on = matches!(command, TenantCommand::Enable { .. });
            let (verb, state) = if on { ("turn on", "on") } else { ("turn off", "off") };
            // The service changes the tenant the credential signs in to; name it when it is known.
            let tenant = match &session.default_tenant {
                Some(tenant) => format!("tenant {tenant}"),
                None => "the tenant your credential signs in to (set AZURE_TENANT_ID to see its id here)".into(),
            };
            if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
                return Err(usage(format!(
                    "refusing to {verb} Customer Lockbox without confirmation: there is no terminal to ask on; pass \
                     --yes to {verb} Customer Lockbox anyway"
                )));
            }
            let question = format!("Turn Customer Lockbox {state} for {tenant}, for all of its subscriptions?");
            if !confirm(&output::terminal_safe(&question))? {
                say!("lockbox: cancelled; nothing was sent");
                return Ok(EXIT_USAGE);
            }
            let row = TenantRow { tenant: None, on };
            if on {
                tenants.enable(None).await?
            } else {
                tenants.disable(None).await?
            }
            output::one(out, &row, || format!("Customer Lockbox is {state} for your tenant"))?;
        }
        TenantCommand::Enable { .. } => {
            tenants.enable(None).await?;
            output::one(out, &TenantRow { tenant: None, on: true }, || {
                "Customer Lockbox is on for your tenant".into()
            })?;
        }
        TenantCommand::Disable { .. } => {
            tenants.disable(None).await?;
            output::one(out, &TenantRow { tenant: None, on: false }, || {
                "Customer Lockbox is off for your tenant".into()
            })?;
        }
    }
    Ok(0)
}

struct OperationRow(Operation);

impl Row for OperationRow {
    const COLUMNS: &'static [&'static str] = &["OPERATION", "DESCRIPTION"];

    fn cells(&self) -> Vec<String> {
        let display = self.0.display.clone().unwrap_or_default();
        vec![self.0.name.clone().unwrap_or_default(), display.description.or(display.operation).unwrap_or_default()]
    }

    fn json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

pub async fn operations(session: &Session) -> Result<u8, Failure> {
    let mut pager = session.client.operations().list(None);
    let mut rows = Vec::new();
    while let Some(operation) = pager.try_next().await? {
        rows.push(OperationRow(operation));
    }
    output::list(&session.output, &rows)?;
    Ok(0)
}
