//! The `requests`, `tenant` and `operations` commands.

use std::{
    io::{IsTerminal, Write},
    process::Stdio,
    time::Duration,
};

use azure_customer_lockbox::{
    Error, MAX_REASON_LEN, PollerOptions, RequestFilter, WatchEvent, WatchOptions,
    models::{ApprovalDecision, Operation},
};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    EXIT_USAGE, Failure, Session,
    args::{Decision, RequestsCommand, TenantCommand},
    backend::{Coverage, Located, Recorded, RequestRef, Watched},
    output::{self, Format, RequestRow, Row},
    usage,
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
            while let Some(item) = listing.next().await {
                found.extend(coverage.take(item).filter(|located| {
                    status.is_empty() || located.request.status().is_some_and(|s| status.contains(s))
                }));
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
        RequestsCommand::Approve(decision) => return decide(session, decision, ApprovalDecision::Approve).await,
        RequestsCommand::Deny(decision) => return decide(session, decision, ApprovalDecision::Deny).await,
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
            loop {
                let watched = tokio::select! {
                    _ = &mut stop => break,
                    watched = events.next() => match watched {
                        Some(watched) => watched,
                        None => break,
                    },
                };
                let (subscription, event) = match watched {
                    Watched::Event { subscription, event: WatchEvent::Error(error) } => {
                        eprintln!(
                            "lockbox: listing subscription {subscription} failed, still watching: {}",
                            crate::one_line(&error)
                        );
                        continue;
                    }
                    Watched::Event { subscription, event } => (subscription, event),
                    Watched::Removed(subscription) => {
                        eprintln!("lockbox: subscription {subscription} is no longer active; stopped watching it");
                        continue;
                    }
                    Watched::NoSubscriptions => {
                        eprintln!(
                            "lockbox: this credential sees no active subscription; still watching for one to appear \
                             (the subscriptions are read again every {} s)",
                            azure_customer_lockbox::DEFAULT_SUBSCRIPTIONS_REFRESH.as_secs()
                        );
                        continue;
                    }
                    // Nothing to watch yet: the watch cannot start (no login, no right to list subscriptions, ...).
                    Watched::SubscriptionsFailed { error, watching: false } => return Err(error.into()),
                    Watched::SubscriptionsFailed { error, watching: true } => {
                        eprintln!(
                            "lockbox: cannot list the subscriptions, still watching those already known: {}",
                            crate::one_line(&error)
                        );
                        continue;
                    }
                };
                let row = EventRow { time: Utc::now(), subscription, event };
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
                if let Some(command) = &exec {
                    run_hook(command, &row).await;
                }
            }
        }
    }
    Ok(0)
}

/// Runs the `--exec` command with the event as JSON on its stdin; a failure is reported, not fatal.
async fn run_hook(command: &str, row: &EventRow) {
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
    match result {
        Ok(status) if status.success() => {}
        Ok(status) => {
            eprintln!("lockbox: --exec command failed for request {} ({status}); still watching", output::Shown(&id))
        }
        Err(error) => {
            eprintln!(
                "lockbox: --exec command could not run for request {} ({error}); still watching",
                output::Shown(&id)
            )
        }
    }
}

/// One watch event: a line for people, an object for scripts.
struct EventRow {
    time: chrono::DateTime<Utc>,
    subscription: String,
    event: WatchEvent,
}

impl EventRow {
    fn parts(&self) -> (&'static str, Option<&azure_customer_lockbox::models::LockboxRequestResponse>, Option<String>) {
        match &self.event {
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
                format!(
                    "{now} {sub} new      {} {} {} [{}] {why}",
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
            request.map_or("-".into(), output::resource_short_name),
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

/// Shows the request, asks (or takes --yes), decides once, and optionally waits for the final status.
async fn decide(session: &Session, args: Decision, decision: ApprovalDecision) -> Result<u8, Failure> {
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
    // The status as the service spells it, as everywhere else in the tool's output.
    let (verb, past) = match decision {
        ApprovalDecision::Approve => ("approve", "Approved"),
        _ => ("deny", "Denied"),
    };
    let reference = RequestRef::parse(&args.request)?;
    let backend = session.backend()?;
    let located = backend.find(&reference).await?;
    let id = located.request.request_id().unwrap_or(reference.id()).to_owned();
    eprintln!("{}\n", output::details(&located, Utc::now()));
    // Already decided (or expired): say so, without asking or sending a decision the service would refuse.
    if let Some(status) = located.request.status().filter(|s| !s.is_pending()) {
        eprintln!(
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
        eprintln!("lockbox: cancelled; nothing was sent");
        return Ok(EXIT_USAGE);
    }
    let recorded = backend.decide(&located.subscription, &id, decision, reason).await?;
    let mut status = past.to_owned();
    if args.wait {
        let requests = session.client.requests(&located.subscription)?;
        let options = PollerOptions { frequency: Duration::from_secs(1), timeout: Some(Duration::from_secs(600)) };
        let mut poller = requests.wait_for_decision(&id, Some(options))?;
        let tty = std::io::stderr().is_terminal();
        let spinner = ['|', '/', '-', '\\'];
        let mut ticks = 0usize;
        while let Some(seen) = poller.try_next().await? {
            if tty {
                eprint!(
                    "\r{} {}: {}   ",
                    spinner.get(ticks.checked_rem(spinner.len()).unwrap_or(0)).unwrap_or(&'-'),
                    output::Shown(&id),
                    output::Shown(&seen.to_string())
                );
                let _ = std::io::stderr().flush();
                ticks = ticks.wrapping_add(1);
            } else {
                eprintln!("{}: {}", output::Shown(&id), output::Shown(&seen.to_string()));
            }
        }
        if tty {
            eprintln!();
        }
        let request = poller.await?;
        status = request.status().map_or("Unknown".into(), ToString::to_string);
    }
    let row = DecisionRow { located, decision: verb, reason: reason.to_owned(), status: status.clone(), recorded };
    output::one(&session.output, &row, || format!("{id}: {status}"))?;
    Ok(0)
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Asks on stderr, reads stdin: true only for "y" or "yes".
fn confirm(question: &str) -> Result<bool, Failure> {
    eprint!("{question} [y/N] ");
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
                return Err(Error::InvalidArgument {
                    name: "tenant_id",
                    reason: "give a tenant id or set AZURE_TENANT_ID".into(),
                }
                .into());
            };
            let on = tenants.is_opted_in(&tenant).await?;
            let row = TenantRow { tenant: Some(tenant.clone()), on };
            output::one(out, &row, || format!("{tenant}: Customer Lockbox is {}", if on { "on" } else { "off" }))?;
        }
        TenantCommand::Enable { yes, .. } | TenantCommand::Disable { yes, .. }
            if !yes && !confirm("This changes Customer Lockbox for your whole tenant. Continue?")? =>
        {
            eprintln!("lockbox: cancelled");
            return Ok(EXIT_USAGE);
        }
        TenantCommand::Enable { .. } => {
            tenants.enable().await?;
            output::one(out, &TenantRow { tenant: None, on: true }, || {
                "Customer Lockbox is on for your tenant".into()
            })?;
        }
        TenantCommand::Disable { .. } => {
            tenants.disable().await?;
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
